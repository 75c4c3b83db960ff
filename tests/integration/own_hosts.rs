//! Bringing your own hosts, as the peers allow, against real OpenSSH servers and through the
//! built `shoal` binary: `-w NODESET` as pdsh and clush take it (with the login flags, with
//! ssh_config, and picking hosts of an inventory); a CSV inventory whose tag columns filter;
//! an Ansible inventory whose only key is `ansible_ssh_private_key_file`; an Ansible checkout
//! whose ansible.cfg gives the user, the key and an inventory directory; and the errors of a
//! missing `--inventory` path and a malformed nodeset.
//!
//! Each run has HOME in a directory of the test's own (no ~/.ssh, no ~/.ansible.cfg), no
//! SSH_AUTH_SOCK and no inventory variables, so a key or a host can only come from where the
//! test put it. Every host a query names must answer `ok` as itself: `hostname` prints the
//! name the fleet gave it, so a host reached at the wrong address would print another name.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

/// Runs shoal in `dir` with `args`, HOME in `home`, and nothing from the environment that
/// could log in or name an inventory.
fn shoal_in(dir: &Path, home: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = shoal_command(dir);
    command
        .args(args)
        .env("HOME", home)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("ANSIBLE_CONFIG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the shoal binary runs")
}

fn shoal(dir: &Path, args: &[&str]) -> Output {
    shoal_in(dir, dir, args, &[])
}

/// The JSON rows shoal printed, checking its exit code.
fn rows(args: &[&str], out: &Output, code: i32) -> Vec<serde_json::Value> {
    assert_eq!(out.status.code(), Some(code), "{}", describe(args, out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(args, out)))
}

/// Each row's host, status and stdout.
fn answers(rows: &[serde_json::Value]) -> Vec<(String, String, String)> {
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    rows.iter()
        .map(|row| {
            (
                text(&row["host"]),
                text(&row["status"]),
                text(&row["stdout"]),
            )
        })
        .collect()
}

/// `(host, "ok", hostname)` for fleet hosts `indexes`, named as the fleet names them.
fn ok_as_themselves(fleet: &SshdFleet, indexes: &[usize]) -> Vec<(String, String, String)> {
    indexes
        .iter()
        .map(|&i| {
            let name = fleet.hosts()[i].name.clone();
            (name.clone(), "ok".into(), name)
        })
        .collect()
}

/// How a user without an inventory's login settings reaches the fleet: its
/// user, key and known_hosts as flags, and JSON rows to check.
fn login_flags(fleet: &SshdFleet) -> [&str; 8] {
    [
        "--user",
        fleet.user(),
        "--identity",
        text(fleet.client_key()),
        "--known-hosts",
        text(fleet.known_hosts()),
        "--format",
        "json",
    ]
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A copy of the fleet's client key at `dir/relative`, the only key a run will have.
fn copy_key(fleet: &SshdFleet, dir: &Path, relative: &str) {
    let key = dir.join(relative);
    std::fs::create_dir_all(key.parent().expect("a parent")).expect("the key's directory");
    std::fs::copy(fleet.client_key(), &key).expect("copy the client key");
}

/// One `NAME ansible_host=ADDR` line per host.
fn ini_addresses(fleet: &SshdFleet) -> String {
    let mut lines = String::new();
    for node in fleet.hosts() {
        let _ = writeln!(lines, "{} ansible_host={}", node.name, node.addr);
    }
    lines
}

#[test]
fn w_alone_reaches_its_hosts_with_the_login_flags() {
    let fleet = SshdFleet::start(FleetSpec::new(3));
    let dir = tempfile::tempdir().expect("a directory");
    // The nodeset's names are the addresses: without an inventory, a name is where to go.
    let addrs: Vec<String> = fleet.hosts().iter().map(|n| n.addr.to_string()).collect();
    let nodeset = addrs.join(",");
    let args = ["-w", &nodeset, "-c", "hosts | run \"hostname\""];
    let args = [&login_flags(&fleet)[..], &args].concat();
    let out = shoal(dir.path(), &args);
    let rows = rows(&args, &out, 0);
    let want: Vec<(String, String, String)> = fleet
        .hosts()
        .iter()
        .map(|n| (n.addr.to_string(), "ok".into(), n.name.clone()))
        .collect();
    assert_eq!(answers(&rows), want);
    for row in &rows {
        assert_eq!(row["addr"], row["host"], "addr = name: {row}");
        assert_eq!(row["groups"], "", "no groups: {row}");
    }
}

#[test]
fn w_names_are_resolved_by_ssh_config_and_pick_hosts_of_an_inventory() {
    let fleet = SshdFleet::start(FleetSpec::new(4));
    let dir = tempfile::tempdir().expect("a directory");
    // ssh_config alone says where each name is, as whom, with which key and known_hosts.
    let mut config = String::new();
    for node in fleet.hosts() {
        let _ = writeln!(config, "Host {}\n  HostName {}", node.name, node.addr);
    }
    let _ = writeln!(
        config,
        "Host *\n  User {}\n  Port {}\n  IdentityFile {}\n  UserKnownHostsFile {}",
        fleet.user(),
        fleet.hosts()[0].port,
        fleet.client_key().display(),
        fleet.known_hosts().display()
    );
    let config_path = dir.path().join("ssh_config");
    std::fs::write(&config_path, config).expect("write the ssh_config");
    let config_path = text(&config_path);

    let args = [
        "-w",
        "web[001-002]",
        "-w",
        "web004",
        "-F",
        config_path,
        "--format",
        "json",
        "-c",
        "hosts | run \"hostname\"",
    ];
    let out = shoal(dir.path(), &args);
    assert_eq!(
        answers(&rows(&args, &out, 0)),
        ok_as_themselves(&fleet, &[0, 1, 3])
    );

    // With an inventory, -w picks among its hosts (here one whose groups say more).
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        format!("{}[web]\nweb[001:004]\n", ini_addresses(&fleet)),
    )
    .expect("write the inventory");
    let inventory = text(&inventory);
    let args = [
        "--inventory",
        inventory,
        "-w",
        "web[002-003]",
        "-F",
        config_path,
        "--format",
        "json",
        "-c",
        "hosts @web | run \"hostname\"",
    ];
    let out = shoal(dir.path(), &args);
    assert_eq!(
        answers(&rows(&args, &out, 0)),
        ok_as_themselves(&fleet, &[1, 2])
    );

    let args = [
        "--inventory",
        inventory,
        "-w",
        "web[004-005]",
        "-c",
        "hosts",
    ];
    let out = shoal(dir.path(), &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: -w: host web005 is not in the inventory {inventory}: with an inventory, -w \
             picks among its hosts"
        )),
        "{stderr}"
    );
}

#[test]
fn a_csv_inventory_reaches_its_hosts_and_its_tag_columns_filter() {
    let fleet = SshdFleet::start(FleetSpec::new(4));
    let dir = tempfile::tempdir().expect("a directory");
    let mut csv = String::from("name,addr,port,az,role\n");
    for (i, node) in fleet.hosts().iter().enumerate() {
        let az = if i % 2 == 0 {
            "us-east-1a"
        } else {
            "us-east-1b"
        };
        let _ = writeln!(
            csv,
            "{},{},{},{az},\"web,canary\"",
            node.name, node.addr, node.port
        );
    }
    // No `.csv` in the name: the header row is what tells it from a list of hosts.
    let path = dir.path().join("fleet");
    std::fs::write(&path, csv).expect("write the inventory");
    let args = [
        "--inventory",
        text(&path),
        "-c",
        "hosts | filter az = \"us-east-1a\" | run \"hostname\"",
    ];
    let args = [&login_flags(&fleet)[..], &args].concat();
    let out = shoal(dir.path(), &args);
    let rows = rows(&args, &out, 0);
    assert_eq!(answers(&rows), ok_as_themselves(&fleet, &[0, 2]));
    for row in &rows {
        assert_eq!(row["role"], "web,canary", "{row}");
        assert_eq!(row["az"], "us-east-1a", "{row}");
    }
}

#[test]
fn an_ansible_inventory_whose_only_key_is_its_private_key_var_reaches_its_hosts() {
    let fleet = SshdFleet::start(FleetSpec::new(3));
    let dir = tempfile::tempdir().expect("a directory");
    copy_key(&fleet, dir.path(), "keys/deploy");
    copy_key(&fleet, dir.path(), "home/group-key");
    // web001's key is its own var, relative to the working directory as Ansible's ssh takes
    // it; web002's comes from its group, under ~; web003 names none, and nothing else holds
    // a key: no agent, no ~/.ssh, no ssh_config, no --identity.
    let ini = format!(
        "{addresses}web001 ansible_ssh_private_key_file=keys/deploy\n\
         [web]\nweb002\n[web:vars]\nansible_private_key_file=~/group-key\n\
         [all:vars]\nansible_user={user}\nansible_port={port}\n",
        addresses = ini_addresses(&fleet),
        user = fleet.user(),
        port = fleet.hosts()[0].port,
    );
    let path = dir.path().join("hosts");
    std::fs::write(&path, ini).expect("write the inventory");
    let args = [
        "--inventory",
        text(&path),
        "--known-hosts",
        text(fleet.known_hosts()),
        "--format",
        "json",
        "-c",
        "hosts | run \"hostname\"",
    ];
    let out = shoal_in(dir.path(), &dir.path().join("home"), &args, &[]);
    let rows = rows(&args, &out, 1);
    let got = answers(&rows);
    assert_eq!(got[..2], ok_as_themselves(&fleet, &[0, 1]));
    assert_eq!(
        (got[2].0.as_str(), got[2].1.as_str()),
        ("web003", "auth_failed"),
        "the host without the var has no key at all: {rows:?}"
    );
}

#[test]
fn an_ansible_checkout_gives_the_user_the_key_and_an_inventory_directory_in_ansible_cfg() {
    let fleet = SshdFleet::start(FleetSpec::new(4));
    let checkout = tempfile::tempdir().expect("a checkout");
    let root = checkout.path();
    copy_key(&fleet, root, "keys/deploy");
    let write = |relative: &str, contents: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(path, contents).expect("write a checkout file");
    };
    write(
        "ansible.cfg",
        &format!(
            "[defaults]\ninventory = inventory, extra.ini\nremote_user = {}\nremote_port = {}\n\
             private_key_file = keys/deploy\nhost_key_checking = False\nforks = 20\n",
            fleet.user(),
            fleet.hosts()[0].port
        ),
    );
    write("inventory/01-hosts", &ini_addresses(&fleet));
    // Groups in a file of their own, over hosts that another file of the directory
    // defines; the list's second source adds a group of its own.
    write(
        "inventory/02-groups.yml",
        "web:\n  hosts:\n    web[001:003]:\nwebservers:\n  children:\n    web:\n",
    );
    write("extra.ini", "[db]\nweb004\n");
    // What Ansible skips in an inventory directory, and the directory's group_vars/, whose
    // variables every host gets (issue 20).
    write("inventory/README.md", "# not [an inventory\n");
    write("inventory/01-hosts.bak", "stale [copy\n");
    write("inventory/group_vars/all.yml", "ntp: pool.example.com\n");

    let args = [
        "--known-hosts",
        text(fleet.known_hosts()),
        "--format",
        "json",
        "-c",
        "hosts @webservers | run \"hostname\"; hosts @db | run \"hostname\"",
    ];
    let out = shoal(root, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    let both: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Vec<serde_json::Value>>()
        .flat_map(|rows| rows.expect("JSON rows"))
        .collect();
    assert_eq!(answers(&both), ok_as_themselves(&fleet, &[0, 1, 2, 3]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches(
                "warning: shoal does not apply these settings of ./ansible.cfg: \
                      host_key_checking = False"
            )
            .count(),
        1,
        "named once: {stderr}"
    );
    assert!(
        both.iter().all(|row| row["ntp"] == "pool.example.com"),
        "{both:?}"
    );
    assert!(!stderr.contains("forks"), "{stderr}");

    // $ANSIBLE_CONFIG from elsewhere: its paths are relative to it, not to where shoal runs.
    let elsewhere = tempfile::tempdir().expect("another directory");
    let config = root.join("ansible.cfg");
    let args = [
        "--known-hosts",
        text(fleet.known_hosts()),
        "--format",
        "json",
        "-c",
        "hosts @db | run \"hostname\"",
    ];
    let out = shoal_in(
        elsewhere.path(),
        elsewhere.path(),
        &args,
        &[("ANSIBLE_CONFIG", &config)],
    );
    assert_eq!(
        answers(&rows(&args, &out, 0)),
        ok_as_themselves(&fleet, &[3])
    );
}

#[test]
fn a_missing_inventory_path_says_so_even_with_an_ssh_config_to_fall_back_on() {
    let dir = tempfile::tempdir().expect("a directory");
    std::fs::create_dir_all(dir.path().join(".ssh")).expect("~/.ssh");
    std::fs::write(
        dir.path().join(".ssh/config"),
        "Host db1\n  HostName 10.0.0.1\n",
    )
    .expect("write an ssh_config");
    std::fs::write(dir.path().join("hosts.ini"), "web1\n").expect("write a neighbour");
    let missing = dir.path().join("hosts");
    let args = ["--inventory", text(&missing), "-c", "hosts"];
    let out = shoal(dir.path(), &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: inventory file `{}` does not exist\n  = hint: did you mean `{}`?",
            missing.display(),
            dir.path().join("hosts.ini").display()
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");

    let args = ["-w", "web[01-", "-c", "hosts"];
    let out = shoal(dir.path(), &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: -w: \"web[01-\" is not a valid nodeset"),
        "{stderr}"
    );
}
