use std::path::Path;

use super::*;
use crate::inventory::Overrides;

/// An inventory read from `toml`, with `overrides` as the command line.
fn inventory(dir: &Path, toml: &str, overrides: &Overrides) -> Inventory {
    Inventory::from_toml(toml, &dir.join("shoal.toml"), overrides).unwrap()
}

fn ssh_config(dir: &Path, text: &str) -> SshConfig {
    let path = dir.join("ssh_config");
    std::fs::write(&path, text).unwrap();
    SshConfig::load(Some(&path), Some(dir)).unwrap()
}

fn route<'a>(routes: &'a Routes, name: &str) -> &'a Route {
    &routes.routes.iter().find(|(n, _)| n == name).unwrap().1
}

const INVENTORY: &str = r#"
[defaults]
user = "fromdefaults"
port = 2000

[[hosts]]
name = "own"
addr = "10.0.0.1"
port = 2001
user = "fromhost"

[[hosts]]
name = "plain"
"#;

const CONFIG: &str = "Host *\n  HostName 10.9.9.9\n  User fromssh\n  Port 2222\n  \
                      ConnectTimeout 3\n  UserKnownHostsFile /ssh/known\n";

#[test]
fn an_inventory_host_s_own_settings_beat_ssh_config_which_beats_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let routes = Routes::resolve(&inventory, &ssh_config(dir.path(), CONFIG));

    let own = &route(&routes, "own").target;
    assert_eq!(
        (own.addr.as_str(), own.port, own.user.as_str()),
        ("10.0.0.1", 2001, "fromhost")
    );
    let plain = route(&routes, "plain");
    assert_eq!(
        (
            plain.target.addr.as_str(),
            plain.target.port,
            plain.target.user.as_str()
        ),
        ("10.9.9.9", 2222, "fromssh")
    );
    assert_eq!(plain.connect_timeout, Duration::from_secs(3));
    assert_eq!(plain.target.known_hosts, PathBuf::from("/ssh/known"));
    assert_eq!(plain.target.host_keys, HostKeyPolicy::Strict);

    // Without ssh_config, the defaults.
    let routes = Routes::resolve(&inventory, &SshConfig::default());
    let plain = &route(&routes, "plain").target;
    assert_eq!(
        (plain.addr.as_str(), plain.port, plain.user.as_str()),
        ("plain", 2000, "fromdefaults")
    );
}

#[test]
fn command_line_flags_beat_everything() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "").unwrap();
    let flags = Overrides {
        user: Some("fromflag".into()),
        identity_files: vec![key.clone()],
        known_hosts: Some(dir.path().join("flag_known")),
        connect_timeout: Some(Duration::from_secs(9)),
        accept_new: true,
        ..Overrides::default()
    };
    let inventory = inventory(dir.path(), INVENTORY, &flags);
    let config = ssh_config(
        dir.path(),
        &format!("{CONFIG}  IdentityFile /ssh/key\n  StrictHostKeyChecking yes\n"),
    );
    let routes = Routes::resolve(&inventory, &config);
    for name in ["own", "plain"] {
        let route = route(&routes, name);
        assert_eq!(route.target.user, "fromflag");
        assert_eq!(route.target.identity_files, std::slice::from_ref(&key));
        assert_eq!(route.target.known_hosts, dir.path().join("flag_known"));
        assert_eq!(route.target.host_keys, HostKeyPolicy::AcceptNew);
        assert_eq!(route.connect_timeout, Duration::from_secs(9));
    }
}

#[test]
fn ssh_config_hosts_join_the_routes_and_jumps_resolve_through_ssh_config() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(
        dir.path(),
        "Host b1\n  HostName 192.0.2.1\n  User jumper\n\
         Host db1\n  HostName 10.2.0.1\n  ProxyJump b1,admin@b2:2022\n\
         Host plain\n  ProxyJump b1\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    let names: Vec<&str> = routes.routes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["own", "plain", "b1", "db1"]);

    let db1 = route(&routes, "db1");
    assert_eq!(db1.target.addr, "10.2.0.1");
    let hops: Vec<(&str, &str, &str, u16)> = db1
        .jumps
        .iter()
        .map(|j| (j.label.as_str(), j.addr.as_str(), j.user.as_str(), j.port))
        .collect();
    assert_eq!(
        hops,
        [
            ("b1", "192.0.2.1", "jumper", 2000),
            ("admin@b2:2022", "b2", "admin", 2022)
        ]
    );
    assert_eq!(route(&routes, "plain").jumps.len(), 1);
    assert!(route(&routes, "own").jumps.is_empty());
}

#[test]
fn a_route_shoal_cannot_follow_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(
        dir.path(),
        "Host own\n  ProxyCommand ssh -W %h:%p gw\nHost plain\n  ProxyJump gw:notaport\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    let own = route(&routes, "own").refused.as_deref().unwrap();
    assert!(
        own.starts_with("ssh_config sets ProxyCommand ssh -W %h:%p gw for this host"),
        "{own}"
    );
    assert_eq!(
        route(&routes, "plain").refused.as_deref(),
        Some("ProxyJump `gw:notaport`: `notaport` is not a port")
    );
}

#[test]
fn unsupported_settings_make_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(
        dir.path(),
        "Host *\n  ServerAliveInterval 30\n  ControlPath ~/.ssh/cm-%r@%h:%p\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    assert_eq!(
        routes.warnings,
        [format!(
            "warning: shoal does not use these settings of {}: ControlPath, ServerAliveInterval",
            dir.path().join("ssh_config").display()
        )]
    );
}

#[test]
fn match_blocks_are_named_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(dir.path(), "Host a\n  User x\nMatch user root\n  Port 1\n");
    let routes = Routes::resolve(&inventory, &config);
    assert_eq!(
        routes.warnings,
        [format!(
            "warning: shoal does not evaluate `Match` blocks ({} line 3): their settings apply \
             to no host",
            dir.path().join("ssh_config").display()
        )]
    );
    assert_eq!(route(&routes, "plain").target.port, 2000);
}

#[test]
fn percent_tokens_in_ssh_config_paths_are_expanded_per_host() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(
        dir.path(),
        "Host plain\n  HostName 10.0.0.9\n  IdentityFile /keys/%n-%r@%h:%p\n  \
         UserKnownHostsFile /kh/%h_100%%\n  CertificateFile /certs/%n-%x\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    let plain = &route(&routes, "plain").target;
    assert_eq!(
        plain.identity_files,
        [PathBuf::from("/keys/plain-fromdefaults@10.0.0.9:2000")]
    );
    assert_eq!(plain.known_hosts, PathBuf::from("/kh/10.0.0.9_100%"));
    // Tokens shoal does not know are left as written.
    assert_eq!(
        plain.certificate_file,
        Some(PathBuf::from("/certs/plain-%x"))
    );
}

#[test]
fn an_ansible_hosts_own_key_beats_ssh_config_and_an_all_key_ranks_with_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    for key in ["own.key", "group.key", "all.key", "flag.key"] {
        std::fs::write(dir.path().join(key), "").unwrap();
    }
    let ini = format!(
        "web1 ansible_ssh_private_key_file={dir}/own.key\nweb2\ndb1\n\
         [web]\nweb1\nweb2\n[web:vars]\nansible_private_key_file={dir}/group.key\n\
         [all:vars]\nansible_ssh_private_key_file={dir}/all.key\n",
        dir = dir.path().display()
    );
    let path = dir.path().join("hosts.ini");
    let load = |flags: &Overrides| Inventory::from_text(&ini, &path, flags).unwrap();
    let key = |name: &str| vec![dir.path().join(name)];
    let keys = |routes: &Routes, name: &str| route(routes, name).target.identity_files.clone();

    let inventory = load(&Overrides::default());
    let config = ssh_config(dir.path(), "Host *\n  IdentityFile /ssh/key\n");
    let routes = Routes::resolve(&inventory, &config);
    assert_eq!(keys(&routes, "web1"), key("own.key"), "the host's own var");
    assert_eq!(keys(&routes, "web2"), key("group.key"), "its group's");
    assert_eq!(
        keys(&routes, "db1"),
        [PathBuf::from("/ssh/key")],
        "ssh_config over all's"
    );
    let routes = Routes::resolve(&inventory, &SshConfig::default());
    assert_eq!(
        keys(&routes, "db1"),
        key("all.key"),
        "all's over shoal's defaults"
    );

    let flags = Overrides {
        identity_files: key("flag.key"),
        ..Overrides::default()
    };
    let routes = Routes::resolve(&load(&flags), &config);
    for host in ["web1", "web2", "db1"] {
        assert_eq!(keys(&routes, host), key("flag.key"), "--identity over all");
    }
}
