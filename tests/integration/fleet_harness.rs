//! Smoke test of the sshd fleet harness in tests/support, driven by the system `ssh` client.

use std::collections::HashSet;
use std::fs;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, SshdFleet};

/// `ssh` to host `host` with the fleet's key and strict host-key checking.
fn ssh_command(fleet: &SshdFleet, host: usize, remote: &str) -> Command {
    let node = &fleet.hosts()[host];
    let mut ssh = Command::new("ssh");
    ssh.arg("-i")
        .arg(fleet.client_key())
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            fleet.known_hosts().display()
        ))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        // Keep ssh away from ~/.ssh/config and the global known_hosts.
        .args(["-F", "/dev/null", "-o", "GlobalKnownHostsFile=/dev/null"])
        .args(["-o", "ConnectTimeout=5", "-p", &node.port.to_string()])
        .args(["-l", fleet.user(), &node.addr.to_string(), remote])
        .stdin(Stdio::null());
    ssh
}

fn ssh(fleet: &SshdFleet, host: usize, remote: &str) -> Output {
    ssh_command(fleet, host, remote).output().expect("run ssh")
}

/// `ssh` that must succeed; returns its stdout.
fn ssh_ok(fleet: &SshdFleet, host: usize, remote: &str) -> String {
    let output = ssh(fleet, host, remote);
    assert!(
        output.status.success(),
        "ssh to {} failed ({}): {}",
        fleet.hosts()[host].name,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn five_hosts_with_versions() -> FleetSpec {
    FleetSpec {
        files: Box::new(|i| {
            vec![
                ("version".to_owned(), format!("1.{i}.0\n")),
                ("conf/role".to_owned(), format!("role-{}\n", i % 2)),
            ]
        }),
        ..FleetSpec::new(5)
    }
}

#[test]
fn each_host_answers_with_its_own_name_files_and_key() {
    let fleet = SshdFleet::start(five_hosts_with_versions());
    assert_eq!(fleet.hosts().len(), 5);

    for (i, node) in fleet.hosts().iter().enumerate() {
        assert_eq!(node.name, format!("web{:03}", i + 1));
        let out = ssh_ok(
            &fleet,
            i,
            "hostname; cat /etc/app/version /etc/app/conf/role",
        );
        assert_eq!(out, format!("{}\n1.{i}.0\nrole-{}\n", node.name, i % 2));
        assert_eq!(
            fleet.accepted_connections(i),
            1,
            "one login on {}",
            node.name
        );
    }
    ssh_ok(&fleet, 0, "true");
    assert_eq!(fleet.accepted_connections(0), 2);

    // Every host has its own key, listed under its own address.
    let known_hosts = fs::read_to_string(fleet.known_hosts()).unwrap();
    let keys: HashSet<&str> = known_hosts
        .lines()
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(keys.len(), 5, "distinct host keys:\n{known_hosts}");
    assert!(known_hosts.starts_with(&format!("{} ssh-ed25519 ", fleet.hosts()[0].addr)));

    // The namespaces are the host's, seen from the outside too.
    assert_eq!(
        fleet.run_on_host(2, "hostname; cat /etc/app/version"),
        "web003\n1.2.0\n"
    );

    let inventory = fleet.inventory_toml(|i| vec![("role".to_owned(), format!("r{i}"))]);
    let parsed: toml::Table = toml::from_str(&inventory).expect("inventory is TOML");
    let hosts = parsed["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 5);
    assert_eq!(hosts[4]["name"].as_str(), Some("web005"));
    assert_eq!(hosts[4]["tags"]["role"].as_str(), Some("r4"));
    assert_eq!(parsed["defaults"]["user"].as_str(), Some("shoaltest"));
}

#[test]
fn hosts_stop_restart_and_change_keys() {
    // A port other than 22 also checks the `[addr]:port` known_hosts form.
    let mut fleet = SshdFleet::start(FleetSpec {
        port: 2222,
        ..five_hosts_with_versions()
    });
    assert!(
        fs::read_to_string(fleet.known_hosts())
            .unwrap()
            .starts_with('[')
    );
    assert_eq!(ssh_ok(&fleet, 1, "cat /etc/app/version"), "1.1.0\n");

    fleet.stop_host(1);
    let down = ssh(&fleet, 1, "true");
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(!down.status.success());
    assert!(
        stderr.contains("Connection refused"),
        "stopped host: {stderr}"
    );
    // Other hosts are unaffected.
    assert_eq!(ssh_ok(&fleet, 0, "hostname"), "web001\n");

    fleet.start_host(1);
    assert_eq!(
        ssh_ok(&fleet, 1, "hostname; cat /etc/app/version"),
        "web002\n1.1.0\n"
    );

    fleet.regenerate_host_key(3);
    let changed = ssh(&fleet, 3, "true");
    let stderr = String::from_utf8_lossy(&changed.stderr);
    assert!(!changed.status.success());
    assert!(
        stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "new key: {stderr}"
    );
    fleet.refresh_known_hosts();
    assert_eq!(ssh_ok(&fleet, 3, "hostname"), "web004\n");
}

#[test]
fn drop_kills_listeners_and_sessions() {
    let fleet = SshdFleet::start(five_hosts_with_versions());
    let dir = fleet.dir().to_owned();
    // sshd's command line, `sshd: /usr/sbin/sshd -D -f <dir>/hosts/NAME/sshd_config …`.
    let listeners = format!("sshd -D -f {}", dir.join("hosts").display());
    // A remote command that never writes, so closing the channel would not end it. The odd
    // duration tells it apart from other tests' processes when looking from outside.
    let remote_sleep = "sleep 1000.123";
    let mut client = ssh_command(&fleet, 0, remote_sleep)
        .spawn()
        .expect("run ssh");
    let deadline = Instant::now() + Duration::from_secs(10);
    while fleet
        .run_on_host(0, "pgrep -u shoaltest -x sleep")
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the remote sleep never started");
        thread::sleep(Duration::from_millis(20));
    }
    // Each host sees only its own processes.
    assert_eq!(fleet.run_on_host(1, "pgrep -u shoaltest -x sleep"), "");
    assert_eq!(
        pgrep(&listeners).lines().count(),
        5,
        "one listener per host"
    );
    assert_eq!(pgrep_exact(remote_sleep).lines().count(), 1);

    drop(fleet);

    assert_eq!(pgrep_exact(remote_sleep), "", "the remote sleep survived");
    // The client sees its connection die rather than hanging.
    assert!(!client.wait().unwrap().success());
    // No listener, `unshare` or client is left that names the fleet's directory.
    assert_eq!(
        pgrep(&dir.display().to_string()),
        "",
        "processes left behind"
    );
    assert!(!dir.exists(), "fleet directory removed");
}

/// `pgrep -f pattern` on the whole machine: the matching process ids, one a line.
fn pgrep(pattern: &str) -> String {
    run_pgrep(&["-f", pattern])
}

/// The processes whose whole command line is `command` (not, say, an `ssh` running it).
fn pgrep_exact(command: &str) -> String {
    run_pgrep(&["-x", "-f", command])
}

fn run_pgrep(args: &[&str]) -> String {
    let output = Command::new("pgrep")
        .args(args)
        .output()
        .expect("run pgrep");
    String::from_utf8(output.stdout).unwrap()
}
