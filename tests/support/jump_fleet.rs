//! [`JumpFleet`]: two jump hosts (`jump001`, `jump002`) and a fleet of targets (`web001`...)
//! that nftables makes reachable only through the jump hosts, and an ssh_config that alone
//! (no inventory) says how to reach them all; [`run_shoal`] runs the binary with it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{FleetSpec, NftTable, SshdFleet, TEST_USER, test_user_uid};

/// A port other than 22, so a config that forgot `Port` cannot work by chance.
const PORT: u16 = 2222;

/// Both jump hosts, in order: `jump002` is reachable only through `jump001`.
pub const CHAIN: &str = "jump001,jump002";

/// Two jump hosts, `jump001` and `jump002`, and `targets` hosts `web001`..., each fleet
/// with its own client key.
pub struct JumpFleet {
    pub jumps: SshdFleet,
    pub targets: SshdFleet,
    /// Both fleets' host keys in one file, as a user's known_hosts would hold them.
    known_hosts: PathBuf,
    /// Makes the targets and `jump002` reachable only from the test user's processes, that
    /// is from a jump host's forwarding, not from shoal.
    firewall: Option<NftTable>,
}

impl JumpFleet {
    pub fn start(targets: usize) -> JumpFleet {
        let jumps = SshdFleet::start(FleetSpec {
            name_prefix: "jump".into(),
            port: PORT,
            ..FleetSpec::new(2)
        });
        let targets = SshdFleet::start(FleetSpec {
            port: PORT,
            ..FleetSpec::new(targets)
        });
        let known_hosts = targets.dir().join("all_known_hosts");
        let mut both = fs::read_to_string(jumps.known_hosts()).unwrap();
        both.push_str(&fs::read_to_string(targets.known_hosts()).unwrap());
        fs::write(&known_hosts, both).unwrap();
        let mut fleet = JumpFleet {
            jumps,
            targets,
            known_hosts,
            firewall: None,
        };
        fleet.isolate(true);
        fleet
    }

    /// With `true` (as started), the targets and `jump002` are reachable only through the
    /// jump hosts; with `false`, directly too.
    pub fn isolate(&mut self, isolated: bool) {
        self.firewall = isolated.then(|| {
            let firewall = NftTable::new();
            let uid = test_user_uid();
            firewall.only_from_uid(self.jumps.hosts()[1].addr, uid);
            for node in self.targets.hosts() {
                firewall.only_from_uid(node.addr, uid);
            }
            firewall
        });
    }

    /// An ssh_config in which every target goes through the `ProxyJump` chain `jumps`, and
    /// which sets user, port, keys and known_hosts for all of them; `extra` goes first.
    pub fn ssh_config(&self, extra: &str, jumps: &str) -> PathBuf {
        let mut config = String::from(extra);
        let jump_hosts = self.jumps.hosts();
        let _ = writeln!(config, "Host jump001\n  HostName {}", jump_hosts[0].addr);
        let _ = writeln!(config, "Host jump002\n  HostName {}", jump_hosts[1].addr);
        let _ = writeln!(
            config,
            "Host jump*\n  IdentityFile {}",
            self.jumps.client_key().display()
        );
        for node in self.targets.hosts() {
            let _ = writeln!(config, "Host {}\n  HostName {}", node.name, node.addr);
        }
        let _ = writeln!(
            config,
            "Host web*\n  ProxyJump {jumps}\n  IdentityFile {}",
            self.targets.client_key().display()
        );
        let _ = writeln!(
            config,
            "Host *\n  User {TEST_USER}\n  Port {PORT}\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n  ControlMaster auto\n  \
             ControlPersist 10m",
            self.known_hosts.display()
        );
        let path = self.targets.dir().join("ssh_config");
        fs::write(&path, config).unwrap();
        path
    }
}

/// Runs shoal with `-F config` in an empty directory with an empty home: no inventory
/// file and no ssh_config but this one.
pub fn run_shoal(config: &Path, query: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("-F")
        .arg(config)
        .args(["--format", "json", "-c", query])
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .env_remove("SHOAL_INVENTORY")
        .env_remove("SSH_AUTH_SOCK")
        .current_dir(home.path())
        .output()
        .expect("the shoal binary runs")
}
