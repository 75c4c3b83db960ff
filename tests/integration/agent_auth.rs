//! Authentication as a fleet's users have it set up, against real sshd: keys held only by
//! an ssh-agent the test starts, and OpenSSH user certificates (beside their key file, or
//! in the agent) for hosts that trust a user CA rather than listing keys.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, SshdFleet, TEST_USER};

/// Runs `ssh-keygen` with `args`; panics with its output when it fails.
fn ssh_keygen(args: &[&str]) {
    let output = Command::new("ssh-keygen").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "ssh-keygen {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A user CA and a key it certified for [`TEST_USER`] (`user` and `user-cert.pub`), which
/// no host lists in authorized_keys: only the certificate gets it in.
struct Certified {
    dir: tempfile::TempDir,
}

impl Certified {
    fn new() -> Certified {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        for name in ["ca", "user"] {
            ssh_keygen(&[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                name,
                "-f",
                &path(name),
            ]);
        }
        ssh_keygen(&[
            "-q",
            "-s",
            &path("ca"),
            "-I",
            "shoal-test",
            "-n",
            TEST_USER,
            "-V",
            "-5m:+1h",
            &path("user.pub"),
        ]);
        assert!(dir.path().join("user-cert.pub").is_file());
        Certified { dir }
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("user")
    }

    /// Three hosts that trust the CA (and list only the fleet's own key).
    fn trusting_fleet(&self) -> SshdFleet {
        SshdFleet::start(FleetSpec {
            extra_config: format!(
                "TrustedUserCAKeys {}\n",
                self.dir.path().join("ca.pub").display()
            ),
            ..FleetSpec::new(3)
        })
    }
}

/// An ssh-agent of the test's own, on a socket in a temporary directory; killed on drop.
struct Agent {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ssh-agent (run .ci/setup-sshd.sh): {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Agent {
            child,
            socket,
            _dir: dir,
        }
    }

    /// `ssh-add KEY`: the key, and its certificate when `KEY-cert.pub` exists.
    fn add(&self, key: &Path) {
        let output = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fleet's inventory with `identity_files` as given instead of the fleet's own key.
fn inventory(fleet: &SshdFleet, identity_files: &[&Path]) -> PathBuf {
    let listed: Vec<String> = identity_files
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let toml: String = fleet
        .inventory_toml(|_| Vec::new())
        .lines()
        .map(|line| {
            if line.starts_with("identity_files") {
                format!("identity_files = [{}]\n", listed.join(", "))
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let path = fleet.dir().join("auth.toml");
    fs::write(&path, toml).unwrap();
    path
}

/// `hosts | run "whoami"` with an empty home (no default keys, no ssh_config) and the
/// agent at `agent`, if any.
fn whoami(inventory: &Path, agent: Option<&Agent>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_shoal"));
    command
        .arg("--inventory")
        .arg(inventory)
        .args(["--format", "json", "-c", r#"hosts | run "whoami""#])
        .env("HOME", home.path())
        .env_remove("SSH_AUTH_SOCK")
        .current_dir(home.path());
    if let Some(agent) = agent {
        command.env("SSH_AUTH_SOCK", &agent.socket);
    }
    command.output().expect("the shoal binary runs")
}

/// Each row's status, and the first error.
fn statuses(output: &Output) -> (Vec<String>, Option<String>) {
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr)));
    let error = rows
        .iter()
        .find_map(|r| r["error"].as_str().map(str::to_string));
    for row in &rows {
        if row["status"] == "ok" {
            assert_eq!(row["stdout"], TEST_USER, "{row}");
        }
    }
    (
        rows.iter()
            .map(|r| r["status"].as_str().unwrap_or("?").to_string())
            .collect(),
        error,
    )
}

#[test]
fn keys_held_only_by_an_agent_log_in() {
    let fleet = SshdFleet::start(FleetSpec::new(6));
    let inventory = inventory(&fleet, &[]);

    // Without the agent, no key at all: the rows say so.
    let (without, error) = statuses(&whoami(&inventory, None));
    assert_eq!(without, ["auth_failed"; 6], "{error:?}");

    let agent = Agent::start();
    agent.add(fleet.client_key());
    let (with, error) = statuses(&whoami(&inventory, Some(&agent)));
    assert_eq!(with, ["ok"; 6], "{error:?}");
}

#[test]
fn a_certificate_beside_its_key_logs_in_where_only_the_ca_is_trusted() {
    let certified = Certified::new();
    let fleet = certified.trusting_fleet();
    let inventory = inventory(&fleet, &[&certified.key()]);
    let (with, error) = statuses(&whoami(&inventory, None));
    assert_eq!(with, ["ok"; 3], "{error:?}");

    // The key alone is not authorized anywhere: the certificate is what let it in.
    fs::remove_file(certified.dir.path().join("user-cert.pub")).unwrap();
    let (without, error) = statuses(&whoami(&inventory, None));
    assert_eq!(without, ["auth_failed"; 3], "{error:?}");
}

#[test]
fn a_certificate_in_the_agent_logs_in() {
    let certified = Certified::new();
    let fleet = certified.trusting_fleet();
    let agent = Agent::start();
    agent.add(&certified.key());
    let (statuses, error) = statuses(&whoami(&inventory(&fleet, &[]), Some(&agent)));
    assert_eq!(statuses, ["ok"; 3], "{error:?}");
}
