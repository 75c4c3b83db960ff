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
        "Host own\n  ProxyCommand ssh -W %h:%p gw\nHost plain\n  ProxyJump gw\n\
         Host gw\n  ProxyCommand nc %h %p\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    let own = route(&routes, "own").refused.as_deref().unwrap();
    assert_eq!(
        own,
        format!(
            "ssh_config {} line 2 sets `ProxyCommand ssh -W %h:%p gw` for this host, and ssh \
             would run that command and speak SSH over its input and output; shoal cannot \
             follow that, and will not connect this host another way (use ProxyJump, or -F \
             with a config without it)",
            dir.path().join("ssh_config").display()
        )
    );
    assert_eq!(
        route(&routes, "plain").refused.as_deref(),
        Some(
            format!(
                "ssh_config {} line 6 sets `ProxyCommand nc %h %p` for jump host gw, and ssh \
                 would run that command and speak SSH over its input and output; shoal cannot \
                 follow that",
                dir.path().join("ssh_config").display()
            )
            .as_str()
        )
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
fn match_user_sees_the_user_the_flags_or_the_inventory_give() {
    let dir = tempfile::tempdir().unwrap();
    let config = ssh_config(
        dir.path(),
        "Match user fromhost\n  IdentityFile /k/fromhost\nMatch user fromflag\n  \
         IdentityFile /k/fromflag\nMatch user fromdefaults\n  IdentityFile /k/fromdefaults\n",
    );
    let keys = |routes: &Routes, name: &str| route(routes, name).target.identity_files.clone();
    let routes = Routes::resolve(
        &inventory(dir.path(), INVENTORY, &Overrides::default()),
        &config,
    );
    // The host's own user, which ssh_config cannot change, as with `ssh -l`.
    assert_eq!(keys(&routes, "own"), [PathBuf::from("/k/fromhost")]);
    // With no user of its own, the inventory's default is whom it logs in as.
    assert_eq!(keys(&routes, "plain"), [PathBuf::from("/k/fromdefaults")]);
    let flags = Overrides {
        user: Some("fromflag".into()),
        ..Overrides::default()
    };
    let routes = Routes::resolve(&inventory(dir.path(), INVENTORY, &flags), &config);
    assert_eq!(keys(&routes, "plain"), [PathBuf::from("/k/fromflag")]);
}

#[test]
fn percent_tokens_in_ssh_config_paths_are_expanded_per_host() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(
        dir.path(),
        "Host plain\n  HostName 10.0.0.9\n  IdentityFile /keys/%n-%r@%h:%p\n  \
         UserKnownHostsFile /kh/%h_100%%\n  CertificateFile /certs/%n-%u\n\
         Host own\n  IdentityFile /keys/%x\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    let plain = &route(&routes, "plain").target;
    assert_eq!(
        plain.identity_files,
        [PathBuf::from("/keys/plain-fromdefaults@10.0.0.9:2000")]
    );
    assert_eq!(plain.known_hosts, PathBuf::from("/kh/10.0.0.9_100%"));
    let local_user = crate::inventory::paths::Env::from_process().user.unwrap();
    assert_eq!(
        plain.certificate_file,
        Some(PathBuf::from(format!("/certs/plain-{local_user}")))
    );
    // A token ssh does not know stops the host, as it stops ssh.
    assert_eq!(
        route(&routes, "own").refused.as_deref(),
        Some(
            format!(
                "ssh_config {} line 7: `/keys/%x`: `%x` is not a token it accepts (it accepts \
                 %%, %C, %d, %h, %i, %k, %L, %l, %n, %p, %r and %u)",
                dir.path().join("ssh_config").display()
            )
            .as_str()
        )
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

fn hops(route: &Route) -> Vec<String> {
    route
        .jumps
        .iter()
        .map(|j| format!("{}={}@{}:{}", j.label, j.user, j.addr, j.port))
        .collect()
}

#[test]
fn a_jump_host_s_own_proxy_jump_is_followed_and_written_chains_are_not_reopened() {
    // Issue 20: a jump host's own ProxyJump was not followed. ssh reaches
    // `ProxyJump a,b` by `ssh -J a b`: b's own ProxyJump gives way to `-J a`,
    // while a's own is followed, recursively.
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(
        dir.path(),
        "Host plain\n  ProxyJump a,ops@b:2202\nHost own\n  ProxyJump gw-%h\n\
         Host a\n  HostName 192.0.2.1\n  ProxyJump c\nHost b\n  ProxyJump d\n  User bee\n\
         Host c\n  User sea\n  ProxyJump none\nHost gw-*\n  User gate\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    assert_eq!(
        hops(route(&routes, "plain")),
        [
            "c=sea@c:2000",
            "a=fromdefaults@192.0.2.1:2000",
            "ops@b:2202=ops@b:2202"
        ]
    );
    // `%h` in ProxyJump is the host name of the host behind it.
    assert_eq!(
        hops(route(&routes, "own")),
        ["gw-10.0.0.1=gate@gw-10.0.0.1:2000"]
    );
}

#[test]
fn a_proxy_jump_loop_refuses_the_host_naming_the_way_round() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(
        dir.path(),
        "Host plain\n  ProxyJump a\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n\
         Host own\n  ProxyJump own\n",
    );
    let routes = Routes::resolve(&inventory, &config);
    let file = dir.path().join("ssh_config").display().to_string();
    assert_eq!(
        route(&routes, "plain").refused.as_deref(),
        Some(
            format!(
                "ProxyJump loop: plain → a → b → a (ssh_config {file} line 6); ssh would start \
                 ssh for each hop again and again until something gives out"
            )
            .as_str()
        )
    );
    assert!(route(&routes, "plain").jumps.is_empty());
    // A host that is its own jump host (ssh: "jumphost loop via own").
    let own = route(&routes, "own").refused.clone().unwrap();
    assert!(own.starts_with("ProxyJump loop: own → own"), "{own}");

    // Hops whose names grow at each step never loop, but never end either.
    let config = ssh_config(dir.path(), "Host *\n  ProxyJump %h-gw\n");
    let routes = Routes::resolve(&inventory, &config);
    let plain = route(&routes, "plain").refused.clone().unwrap();
    assert!(
        plain.starts_with("ProxyJump chain of more than 8 hosts"),
        "{plain}"
    );
}

#[test]
fn explain_says_where_every_setting_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("flag.key");
    std::fs::write(&key, "").unwrap();
    let flags = Overrides {
        identity_files: vec![key.clone()],
        ..Overrides::default()
    };
    let inventory = inventory(dir.path(), INVENTORY, &flags);
    let config = ssh_config(
        dir.path(),
        "Host plain\n  HostName 10.0.0.9\n  ProxyJump admin@b1\n  UserKnownHostsFile /k/1 /k/2\n\
         Host b1\n  Port 2201\n",
    );
    let at = |line: usize| crate::ssh_config::Origin {
        file: dir.path().join("ssh_config").into(),
        line,
    };
    let explained = Routes::explain(&inventory, &config, "plain");
    assert!(explained.in_inventory);
    let resolved = explained.resolved.unwrap();
    let target = &resolved.target;
    assert_eq!(
        target.addr,
        Sourced::new("10.0.0.9".to_string(), Source::SshConfig(at(2)))
    );
    assert_eq!(
        target.user,
        Sourced::new("fromdefaults".to_string(), Source::Default)
    );
    assert_eq!(target.port, Sourced::new(2000, Source::Default));
    assert_eq!(
        target.identity_files,
        [Sourced::new(key, Source::Flag("--identity"))]
    );
    assert_eq!(
        target.known_hosts,
        Sourced::new(PathBuf::from("/k/1"), Source::SshConfig(at(4)))
    );
    assert_eq!(target.unread_known_hosts, [PathBuf::from("/k/2")]);
    let hop = &resolved.jumps[0];
    assert_eq!(
        hop.user,
        Sourced::new("admin".to_string(), Source::ProxyJump(at(3)))
    );
    assert_eq!(hop.port, Sourced::new(2201, Source::SshConfig(at(6))));
    assert_eq!(hop.addr, Sourced::new("b1".to_string(), Source::Default));
    // A name the inventory does not list is explained as `-w NAME` would be.
    let other = Routes::explain(&inventory, &config, "b1");
    assert!(!other.in_inventory);
    assert_eq!(other.resolved.unwrap().target.port.value, 2201);
}

#[test]
fn user_known_hosts_file_none_refuses_the_host_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory(dir.path(), INVENTORY, &Overrides::default());
    let config = ssh_config(dir.path(), "Host plain\n  UserKnownHostsFile none\n");
    let explained = Routes::explain(&inventory, &config, "plain");
    let reason = explained.resolved.unwrap_err();
    assert!(
        reason.starts_with(&format!(
            "ssh_config {} line 2 sets UserKnownHostsFile none",
            dir.path().join("ssh_config").display()
        )),
        "{reason}"
    );
    let routes = Routes::resolve(&inventory, &config);
    assert_eq!(
        route(&routes, "plain").refused.as_deref(),
        Some(reason.as_str())
    );
}
