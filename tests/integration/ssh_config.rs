//! The user's own SSH setup, against real sshd: an ssh_config that alone (no inventory)
//! names user, port, key, known_hosts and a chain of two jump hosts, with the targets
//! reachable only through the jump hosts (nftables); one connection per jump host however
//! many targets sit behind it; a jump host that fails makes every host behind it
//! `unreachable`, naming it; and a setting shoal cannot follow stops that host. And, with no
//! server at all, `shoal hosts --explain HOST` and the shell's `:explain HOST`.

use std::io::Write as _;
use std::process::{Output, Stdio};

use crate::support::{CHAIN, JumpFleet, describe, run_shoal, shoal_command};

fn rows(output: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "shoal printed no JSON ({e})\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn an_ssh_config_alone_reaches_targets_through_a_chain_of_two_jump_hosts() {
    let setup = JumpFleet::start(4);
    let config = setup.ssh_config("", CHAIN);
    let output = run_shoal(
        &config,
        r#"hosts from ssh_config | filter host ~ /^web/ | run "hostname""#,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rows = rows(&output);
    assert_eq!(rows.len(), 4, "{rows:?}\n{stderr}");
    for (row, node) in rows.iter().zip(setup.targets.hosts()) {
        assert_eq!(row["host"], node.name.as_str(), "{row}");
        assert_eq!(row["status"], "ok", "{row}\n{stderr}");
        assert_eq!(row["stdout"], node.name.as_str(), "{row}");
        // The addr column is where shoal connected: ssh_config's HostName.
        assert_eq!(row["addr"], node.addr.to_string(), "{row}");
    }
    // Every target went through one connection to each jump host.
    assert_eq!(setup.jumps.accepted_connections(0), 1);
    assert_eq!(setup.jumps.accepted_connections(1), 1);
    // The settings it does not use are named once, in one warning.
    assert_eq!(
        stderr
            .matches("warning: shoal does not use these settings")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("ControlMaster, ControlPersist"), "{stderr}");
}

#[test]
fn a_jump_host_that_fails_makes_every_host_behind_it_unreachable_naming_it() {
    let mut setup = JumpFleet::start(3);
    setup.jumps.stop_host(0);
    let config = setup.ssh_config("", CHAIN);
    let output = run_shoal(
        &config,
        r#"hosts from ssh_config | filter host ~ /^web/ | run "true""#,
    );
    let rows = rows(&output);
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        assert_eq!(row["status"], "unreachable", "{row}");
        assert_eq!(
            row["error"], "via jump host jump001: connection refused",
            "{row}"
        );
    }
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_proxycommand_stops_its_host_rather_than_connecting_around_it() {
    let setup = JumpFleet::start(2);
    let target = &setup.targets.hosts()[0];
    let config = setup.ssh_config(
        &format!("Host {}\n  ProxyCommand nc %h %p\n", target.name),
        CHAIN,
    );
    let output = run_shoal(
        &config,
        r#"hosts from ssh_config | filter host ~ /^web/ | run "hostname""#,
    );
    let rows = rows(&output);
    assert_eq!(rows[0]["status"], "error", "{:?}", rows[0]);
    let error = rows[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(" sets `ProxyCommand nc %h %p` for this host, and ssh would run that"),
        "{error}"
    );
    // The other host is unaffected.
    assert_eq!(rows[1]["status"], "ok", "{:?}", rows[1]);
}

#[test]
fn two_hundred_hosts_behind_one_jump_host_share_its_one_connection() {
    let setup = JumpFleet::start(200);
    let config = setup.ssh_config("", "jump001");
    let query = r#"hosts from ssh_config | filter host ~ /^web/ | run "hostname""#;
    // Twice in one process: the second query reuses every connection, the jump host's too.
    let output = run_shoal(&config, &format!("{query}\n{query}"));
    let rows: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter::<Vec<serde_json::Value>>()
        .flat_map(|rows| rows.expect("JSON rows"))
        .collect();
    assert_eq!(rows.len(), 400);
    let names = setup.targets.hosts().iter().chain(setup.targets.hosts());
    for (row, node) in rows.iter().zip(names) {
        assert_eq!(
            (row["status"].as_str(), row["stdout"].as_str()),
            (Some("ok"), Some(node.name.as_str())),
            "{row}"
        );
    }
    assert_eq!(setup.jumps.accepted_connections(0), 1);
    assert_eq!(setup.jumps.accepted_connections(1), 0);
}

#[test]
fn hosts_explain_prints_each_setting_with_the_line_it_came_from_as_the_shell_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ssh_config");
    std::fs::write(
        &config,
        "Host web1\n  HostName 10.9.0.1\n  ProxyJump ops@gw\nHost gw\n  Port 2222\n\
         Match host db* exec \"test -e /etc/vpn\"\n  User dba\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let explain = |host: &str| {
        let args = ["-F", config, "hosts", "--explain", host];
        let out = shoal_command(dir.path()).args(args).output().unwrap();
        (describe(&args, &out), out)
    };
    let (described, out) = explain("web1");
    assert_eq!(out.status.code(), Some(0), "{described}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let has = |start: &str, source: &str| {
        stdout
            .lines()
            .any(|line| line.starts_with(start) && line.ends_with(&format!("  # {source}")))
    };
    assert!(
        stdout.starts_with("# web1: not in the inventory"),
        "{described}"
    );
    assert!(
        has("hostname 10.9.0.1 ", &format!("{config} line 2")),
        "{described}"
    );
    assert!(has("port 22 ", "default"), "{described}");
    assert!(
        has(
            "proxyjump ops@gw ",
            "each hop resolved below, outermost first"
        ),
        "{described}"
    );
    assert!(
        stdout.contains("\n# jump host 1 of 1: ops@gw\n"),
        "{described}"
    );
    assert!(
        has("user ops ", &format!("ProxyJump at {config} line 3")),
        "{described}"
    );
    assert!(
        has("port 2222 ", &format!("{config} line 5")),
        "{described}"
    );

    // A host a `Match exec` would decide: shoal says which line, and why not.
    let (described, out) = explain("db1");
    assert_eq!(out.status.code(), Some(2), "{described}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: db1: ssh_config {config} line 6: `Match exec` decides this host's settings"
        )),
        "{described}"
    );

    // Without --explain, `shoal hosts` says how to use it.
    let args = ["-F", config, "hosts", "web1"];
    let out = shoal_command(dir.path()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shoal hosts --explain web1"),
        "{}",
        describe(&args, &out)
    );

    // The shell's `:explain` prints the same.
    let mut child = shoal_command(dir.path())
        .args(["-F", config])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b":explain web1\n")
        .unwrap();
    let shell = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&shell.stdout), stdout);
}
