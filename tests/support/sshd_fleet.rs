//! [`SshdFleet`]: starts N real OpenSSH `sshd` servers on loopback addresses, each with its
//! own host key, hostname and `/etc/app`, and stops them (sessions included) on drop.
//!
//! One host is one `sshd -D` in its own UTS, mount and PID namespaces, started as
//! `unshare --uts --mount --pid --fork --kill-child --mount-proc -- sh -c 'hostname NAME &&
//! mount --bind DATA /etc/app && exec sshd …'`:
//! - util-linux's `unshare` makes the new mount namespace's propagation private, so the bind
//!   mount is seen only by that sshd and the sessions it forks.
//! - sshd is PID 1 of its PID namespace, so killing it makes the kernel kill every session
//!   and command of that host too (per-connection sshd children call setsid, so killing the
//!   listener's process group would miss them), and `ps`/`pgrep` run through
//!   [`SshdFleet::run_on_host`] see only that host's processes.
//!
//! Everything a fleet writes lives
//! in one temporary directory (`/tmp/shoal-fleet-XXXX`). Each listener's command line names
//! its `<dir>/hosts/NAME/sshd_config`, so `pgrep -f <dir>/hosts/` finds a fleet's listeners.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::addresses::{self, AddressLease};
use super::procfs;
use super::test_user::{TEST_USER, ensure_test_user};

/// Absolute, because sshd re-executes itself for every connection and refuses to run
/// from a relative path.
const SSHD: &str = "/usr/sbin/sshd";

/// The mount point each host's data directory is bound over.
const APP_DIR: &str = "/etc/app";

/// How long one sshd gets to start listening. Starting takes milliseconds; 10 s leaves room
/// for a 2-core machine starting hundreds of them while other tests run.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How often startup re-reads /proc/net/tcp while waiting for listeners.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Runs inside the new namespaces, as `sh -c SCRIPT sh NAME DATA APP_DIR SSHD CONFIG LOG
/// SYS_CLASS OVERLAYS`. `exec` keeps sshd at PID 1 of the namespace, where `unshare --fork` started
/// the shell. A non-empty SYS_CLASS is mounted over `/sys/class`, so the host has the DMI
/// files (`/sys/class/dmi/id/bios_version`) its spec gives it, as real hardware would.
/// A non-empty OVERLAYS (`$8`) is a file of `SOURCE TARGET` lines, each bound over a file of
/// the machine in the host's namespace only (see [`FleetSpec::overlays`]).
const NAMESPACE_SCRIPT: &str = r#"hostname "$1" && mount --bind "$2" "$3" && { [ -z "$7" ] || mount --bind "$7" /sys/class; } && { [ -z "$8" ] || while read -r s t; do mount --bind "$s" "$t" || exit 1; done <"$8"; } && exec "$4" -D -f "$5" -E "$6""#;

/// What to start: how many hosts and how each one looks.
pub struct FleetSpec {
    /// How many hosts.
    pub hosts: usize,
    /// Host names are this plus a 1-based number padded to 3 digits: "web" → web001, web002.
    pub name_prefix: String,
    /// The port every host listens on (each host has its own address, so they share it).
    pub port: u16,
    /// sshd's `MaxSessions`: how many channels one connection may have open at once.
    pub max_sessions: u32,
    /// sshd's `ForceCommand`, run by the user's shell instead of what the client asked for
    /// (which it finds in `$SSH_ORIGINAL_COMMAND`); `None` runs what the client asked.
    pub force_command: Option<String>,
    /// Lines added to every host's sshd_config, e.g. `TrustedUserCAKeys /path/ca.pub`.
    pub extra_config: String,
    /// The files of host `i` (0-based), as (path relative to `/etc/app`, contents).
    pub files: Box<dyn Fn(usize) -> Vec<(String, String)>>,
    /// Host `i`'s DMI files, as (name in `/sys/class/dmi/id`, contents). A host with any
    /// sees its own `/sys/class` holding only those; one with none sees the machine's.
    pub dmi: Box<dyn Fn(usize) -> Vec<(String, String)>>,
    /// Host `i`'s own versions of files of the machine, as (absolute path of an existing
    /// file, contents), bound over it in the host's mount namespace and executable: a `date`
    /// that runs ahead, a `dpkg-query` that hangs. `{original}` in the contents is a copy of
    /// the file it hides, so a wrapper can call the real program.
    pub overlays: Box<dyn Fn(usize) -> Vec<(String, String)>>,
}

impl FleetSpec {
    /// `hosts` hosts named web001…, on port 22, with `MaxSessions 64` and no files.
    ///
    /// 64 rather than sshd's default 10 so that a client opening many channels per
    /// connection is not throttled unless a test asks for a low limit on purpose.
    pub fn new(hosts: usize) -> FleetSpec {
        FleetSpec {
            hosts,
            name_prefix: "web".to_owned(),
            port: 22,
            max_sessions: 64,
            force_command: None,
            extra_config: String::new(),
            files: Box::new(|_| Vec::new()),
            dmi: Box::new(|_| Vec::new()),
            overlays: Box::new(|_| Vec::new()),
        }
    }
}

/// One host of a fleet, as a client sees it.
#[derive(Debug, Clone)]
pub struct FleetNode {
    /// The hostname `hostname` prints on this host, e.g. `web001`.
    pub name: String,
    pub addr: Ipv4Addr,
    pub port: u16,
    /// Bound over `/etc/app` on this host; writes here show up there.
    pub data_dir: PathBuf,
    /// sshd's log (`-E`), kept across restarts.
    pub log: PathBuf,
}

/// The server side of one host: its files and, while it runs, its process.
struct Server {
    config: PathBuf,
    host_key: PathBuf,
    /// Mounted over `/sys/class` in the host's namespace, when the spec gives DMI files.
    sys_class: Option<PathBuf>,
    /// The host's list of overlays to bind, when the spec gives any.
    overlays: Option<PathBuf>,
    /// The `unshare` process whose child is sshd; it exits once everything in the host's
    /// namespaces has exited.
    child: Option<Child>,
}

/// A running fleet of sshd servers. Dropping it kills every process of every host, even when
/// the test panicked, then deletes the fleet's directory.
///
/// Drop does not run for statics, so keep a fleet in a local variable of the test, not in a
/// `static`/`LazyLock` shared between tests: its servers would outlive the test binary.
pub struct SshdFleet {
    nodes: Vec<FleetNode>,
    servers: Vec<Server>,
    client_key: PathBuf,
    known_hosts: PathBuf,
    /// Where clients reach each host, when not at its own address: see [`Self::route_through`].
    routes: Vec<Option<SocketAddrV4>>,
    /// Held so no other fleet takes these addresses while this one lives.
    _addresses: AddressLease,
    /// Declared last: fields drop in order, so the directory goes after the rest.
    dir: TempDir,
}

impl SshdFleet {
    /// Starts every host and returns once each one is listening.
    ///
    /// Panics, with the reason and the host's log, when anything is missing or a host does
    /// not listen within 10 s. Tests that need sshd fail; they never skip.
    pub fn start(spec: FleetSpec) -> SshdFleet {
        preflight();
        let dir = tempfile::Builder::new()
            .prefix("shoal-fleet-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create the fleet directory: {e}"));
        // sshd reads AuthorizedKeysFile as the test user, who must be able to reach it.
        set_mode(dir.path(), 0o755);
        let addresses = addresses::lease(spec.hosts, spec.port);

        let mut nodes = Vec::with_capacity(spec.hosts);
        let mut servers = Vec::with_capacity(spec.hosts);
        for (i, &addr) in addresses.addrs.iter().enumerate() {
            let name = format!("{}{:03}", spec.name_prefix, i + 1);
            let host_dir = dir.path().join("hosts").join(&name);
            let data_dir = host_dir.join("app");
            create_dir(&data_dir);
            set_mode(&host_dir, 0o755);
            for (path, contents) in (spec.files)(i) {
                write_data_file(&data_dir, &path, &contents);
            }
            let dmi = (spec.dmi)(i);
            let sys_class = (!dmi.is_empty()).then(|| host_dir.join("sys_class"));
            if let Some(sys_class) = &sys_class {
                for (name, contents) in dmi {
                    write_data_file(sys_class, &format!("dmi/id/{name}"), &contents);
                }
            }
            let overlays = write_overlays(&host_dir, (spec.overlays)(i));
            let server = Server {
                config: host_dir.join("sshd_config"),
                host_key: host_dir.join("host_key"),
                sys_class,
                overlays,
                child: None,
            };
            let log = host_dir.join("sshd.log");
            let mut config = sshd_config(
                addr,
                spec.port,
                &server.host_key,
                dir.path(),
                spec.max_sessions,
                spec.force_command.as_deref(),
            );
            config.push_str(&spec.extra_config);
            write(&server.config, &config);
            nodes.push(FleetNode {
                name,
                addr,
                port: spec.port,
                data_dir,
                log,
            });
            servers.push(server);
        }

        let client_key = dir.path().join("client_key");
        let mut keys: Vec<(&Path, &str)> = vec![(&client_key, "shoal-fleet-client")];
        keys.extend(
            servers
                .iter()
                .zip(&nodes)
                .map(|(s, n)| (s.host_key.as_path(), n.name.as_str())),
        );
        generate_keys(&keys);
        let authorized_keys = dir.path().join("authorized_keys");
        write(&authorized_keys, &read(&client_key.with_extension("pub")));
        set_mode(&authorized_keys, 0o644);

        let mut fleet = SshdFleet {
            routes: vec![None; nodes.len()],
            nodes,
            servers,
            known_hosts: dir.path().join("known_hosts"),
            client_key,
            _addresses: addresses,
            dir,
        };
        fleet.refresh_known_hosts();
        // From here on a panic drops `fleet`, which kills whatever has started.
        let all: Vec<usize> = (0..spec.hosts).collect();
        for &host in &all {
            fleet.spawn(host);
        }
        fleet.wait_until_listening(&all);
        fleet
    }

    /// The hosts, in order: index `i` is named with number `i + 1`.
    pub fn hosts(&self) -> &[FleetNode] {
        &self.nodes
    }

    /// The private key (ed25519, no passphrase) every host accepts for [`Self::user`].
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// A `known_hosts` file with every host's key: `127.0.1.N` on port 22, `[127.0.1.N]:PORT`
    /// otherwise (the address and port of [`Self::route_through`] for a routed host).
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The account to log in as.
    pub fn user(&self) -> &str {
        TEST_USER
    }

    /// The fleet's temporary directory; it appears in every listener's command line.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The fleet as a shoal inventory, with `tags(i)` as host `i`'s tags.
    pub fn inventory_toml(&self, tags: impl Fn(usize) -> Vec<(String, String)>) -> String {
        let mut toml = String::new();
        let _ = writeln!(toml, "[defaults]");
        let _ = writeln!(toml, "user = {}", toml_string(TEST_USER));
        let _ = writeln!(toml, "identity_files = [{}]", toml_path(&self.client_key));
        let _ = writeln!(toml, "known_hosts = {}", toml_path(&self.known_hosts));
        for (i, node) in self.nodes.iter().enumerate() {
            let tags: Vec<String> = tags(i)
                .iter()
                .map(|(key, value)| format!("{} = {}", toml_key(key), toml_string(value)))
                .collect();
            let reached_at = self.reached_at(i);
            let _ = writeln!(toml, "\n[[hosts]]");
            let _ = writeln!(toml, "name = {}", toml_string(&node.name));
            let _ = writeln!(toml, "addr = \"{}\"", reached_at.ip());
            let _ = writeln!(toml, "port = {}", reached_at.port());
            let _ = writeln!(toml, "tags = {{ {} }}", tags.join(", "));
        }
        toml
    }

    /// Makes clients reach host `host` at `via` (a proxy in front of it, say) from now on:
    /// [`Self::inventory_toml`] gives that address and port, and [`Self::known_hosts`] records
    /// the host's key under it, as it would for a host behind a port forward.
    pub fn route_through(&mut self, host: usize, via: SocketAddrV4) {
        self.routes[host] = Some(via);
        self.refresh_known_hosts();
    }

    /// Where clients reach host `host`: its own address, or where it was routed through.
    fn reached_at(&self, host: usize) -> SocketAddrV4 {
        let node = &self.nodes[host];
        self.routes[host].unwrap_or(SocketAddrV4::new(node.addr, node.port))
    }

    /// How many logins (`Accepted publickey` lines) host `host` has logged since the fleet
    /// started, restarts included.
    pub fn accepted_connections(&self, host: usize) -> usize {
        read(&self.nodes[host].log)
            .lines()
            .filter(|l| l.starts_with("Accepted publickey for "))
            .count()
    }

    /// Stops host `host` as if it went down: its listener and every session die, and its
    /// port refuses connections once this returns. Panics if it is already stopped.
    pub fn stop_host(&mut self, host: usize) {
        assert!(
            self.servers[host].child.is_some(),
            "host {} is already stopped",
            self.nodes[host].name
        );
        self.kill(&[host]);
    }

    /// Starts host `host` again, with the same key and data, and waits until it listens.
    /// Panics if it is running.
    pub fn start_host(&mut self, host: usize) {
        assert!(
            self.servers[host].child.is_none(),
            "host {} is already running",
            self.nodes[host].name
        );
        self.spawn(host);
        self.wait_until_listening(&[host]);
    }

    /// Gives host `host` a new host key and (re)starts it with that key.
    ///
    /// [`Self::known_hosts`] keeps the old key, so a strict client now sees a changed host
    /// key; call [`Self::refresh_known_hosts`] to trust the new one.
    pub fn regenerate_host_key(&mut self, host: usize) {
        if self.servers[host].child.is_some() {
            self.kill(&[host]);
        }
        let key = &self.servers[host].host_key;
        for path in [key.clone(), key.with_extension("pub")] {
            fs::remove_file(&path)
                .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
        }
        generate_keys(&[(key, &self.nodes[host].name)]);
        self.start_host(host);
    }

    /// Rewrites [`Self::known_hosts`] from the hosts' current keys.
    pub fn refresh_known_hosts(&self) {
        let mut known_hosts = String::new();
        for (i, server) in self.servers.iter().enumerate() {
            let public = read(&server.host_key.with_extension("pub"));
            // "ssh-ed25519 AAAA… comment": keep the type and key, drop the comment.
            let key: Vec<&str> = public.split_whitespace().take(2).collect();
            let reached_at = self.reached_at(i);
            let pattern = match reached_at.port() {
                22 => reached_at.ip().to_string(),
                port => format!("[{}]:{port}", reached_at.ip()),
            };
            let _ = writeln!(known_hosts, "{pattern} {}", key.join(" "));
        }
        write(&self.known_hosts, &known_hosts);
    }

    /// Runs `cmd` with `sh -c` as root inside host `host`'s namespaces (its hostname, its
    /// `/etc/app` and its processes only) and returns its stdout, e.g. to check
    /// `pgrep -u shoaltest sleep` on that host.
    ///
    /// The exit status is not checked, since commands like `pgrep` exit 1 to say "none";
    /// stderr goes to the test's stderr. Panics if the host is stopped.
    pub fn run_on_host(&self, host: usize, cmd: &str) -> String {
        let sshd = self
            .sshd_pid(host)
            .unwrap_or_else(|| panic!("host {} is stopped", self.nodes[host].name));
        let output = Command::new("nsenter")
            .args([
                "-t",
                &sshd.to_string(),
                "-u",
                "-m",
                "-p",
                "--",
                "sh",
                "-c",
                cmd,
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run nsenter: {e}"));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The process id (as the test sees it) of host `host`'s sshd, PID 1 of its namespace:
    /// the one child of `unshare --fork`. `None` while stopped or not yet forked.
    fn sshd_pid(&self, host: usize) -> Option<u32> {
        let unshare = self.servers[host].child.as_ref()?;
        procfs::children(unshare.id()).first().copied()
    }

    /// Starts host `host`'s sshd without waiting for it to listen.
    fn spawn(&mut self, host: usize) {
        let node = &self.nodes[host];
        let server = &mut self.servers[host];
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", node.log.display()));
        // Errors from before sshd opens its log (unshare, mount, a bad config) land in the
        // same file, so a failed start always has its reason there.
        let stderr = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let child = Command::new("unshare")
            // --kill-child: if `unshare` itself is killed, its child (sshd) gets SIGKILL too.
            .args([
                "--uts",
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
            ])
            .args(["--", "sh", "-c", NAMESPACE_SCRIPT, "sh", &node.name])
            .args([
                &node.data_dir,
                Path::new(APP_DIR),
                Path::new(SSHD),
                &server.config,
            ])
            .arg(&node.log)
            .arg(server.sys_class.as_deref().unwrap_or(Path::new("")))
            .arg(server.overlays.as_deref().unwrap_or(Path::new("")))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare (run .ci/setup-sshd.sh): {e}"));
        server.child = Some(child);
    }

    /// Waits until every host in `hosts` listens; panics with the logs of the hosts that
    /// exited or did not come up in time.
    fn wait_until_listening(&mut self, hosts: &[usize]) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut pending = hosts.to_vec();
        while !pending.is_empty() {
            let listening = procfs::listening_sockets();
            let mut still_pending = Vec::new();
            for host in pending {
                let node = &self.nodes[host];
                let server = &mut self.servers[host];
                let child = server.child.as_mut().expect("a spawned host has a child");
                if let Ok(Some(status)) = child.try_wait() {
                    server.child = None;
                    panic!(
                        "sshd for {} ({}:{}) exited during startup with {status}; its log {}:\n{}",
                        node.name,
                        node.addr,
                        node.port,
                        node.log.display(),
                        read(&node.log)
                    );
                }
                if !listening.contains(&SocketAddrV4::new(node.addr, node.port)) {
                    still_pending.push(host);
                }
            }
            pending = still_pending;
            if !pending.is_empty() && Instant::now() > deadline {
                let first = &self.nodes[pending[0]];
                let names: Vec<&str> = pending
                    .iter()
                    .map(|&h| self.nodes[h].name.as_str())
                    .collect();
                panic!(
                    "{} sshd server(s) did not listen within {START_TIMEOUT:?}: {}; \
                     the log of {} ({}):\n{}",
                    pending.len(),
                    names.join(", "),
                    first.name,
                    first.log.display(),
                    read(&first.log)
                );
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Kills every process of the given hosts and waits until they are gone.
    ///
    /// Killing sshd, PID 1 of its host's PID namespace, makes the kernel kill everything
    /// else in that namespace, and `unshare` exits only after all of it has exited, so once
    /// `unshare` is reaped the host's port is closed and no session of it remains.
    fn kill(&mut self, hosts: &[usize]) {
        for &host in hosts {
            let sshd = self.sshd_pid(host);
            let Some(unshare) = &mut self.servers[host].child else {
                continue;
            };
            match sshd {
                Some(sshd) => procfs::kill(sshd),
                // Not forked yet: killing `unshare` means it never will.
                None => {
                    let _ = unshare.kill();
                }
            }
        }
        // Signal every host first, then wait, so a fleet's hosts die in parallel.
        for &host in hosts {
            if let Some(mut unshare) = self.servers[host].child.take() {
                let _ = unshare.wait();
            }
        }
    }
}

impl Drop for SshdFleet {
    fn drop(&mut self) {
        let all: Vec<usize> = (0..self.servers.len()).collect();
        self.kill(&all);
    }
}

/// Checks what every fleet needs from the machine, with the fix in each message.
fn preflight() {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} is missing: the sshd fleet needs OpenSSH's server; run .ci/setup-sshd.sh"
    );
    // sshd's privilege-separation directory; /run is often a tmpfs emptied at boot.
    create_dir(Path::new("/run/sshd"));
    // An empty directory on the real root, used only as the bind-mount point.
    create_dir(Path::new(APP_DIR));
    ensure_test_user();
}

/// One host's `sshd_config`. Options not set keep OpenSSH's defaults.
fn sshd_config(
    addr: Ipv4Addr,
    port: u16,
    host_key: &Path,
    fleet_dir: &Path,
    max_sessions: u32,
    force_command: Option<&str>,
) -> String {
    // sshd takes the rest of the line as the command, quotes and all.
    let force_command = force_command.map_or(String::new(), |c| format!("ForceCommand {c}\n"));
    format!(
        "\
# Written by tests/support/sshd_fleet.rs for one test host.
ListenAddress {addr}:{port}
HostKey {host_key}
AuthorizedKeysFile {authorized_keys}
# No PAM: its session modules (motd, mail, limits) cost time on every login, and keys are
# all the tests use.
UsePAM no
# The keys live in a temporary directory that sshd's ownership checks would reject.
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
# Fan-out tests open hundreds of connections at once; the default (10:30:100) drops them.
MaxStartups 2000:30:4000
MaxSessions {max_sessions}
# Nothing printed at login, and no lastlog lookups slowing every session.
PrintMotd no
PrintLastLog no
# VERBOSE logs 'Accepted publickey' per login, which accepted_connections counts.
LogLevel VERBOSE
# The harness holds the process itself; several servers must not share a pid file.
PidFile none
{force_command}",
        host_key = host_key.display(),
        authorized_keys = fleet_dir.join("authorized_keys").display(),
    )
}

/// Generates ed25519 key pairs (`path`, `path.pub`) with no passphrase, all at once: one
/// `ssh-keygen` process each, run in parallel: 200 keys take about a second on 2 cores.
fn generate_keys(keys: &[(&Path, &str)]) {
    let children: Vec<(&Path, Child)> = keys
        .iter()
        .map(|&(path, comment)| {
            let child = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run ssh-keygen (run .ci/setup-sshd.sh): {e}"));
            (path, child)
        })
        .collect();
    for (path, child) in children {
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("ssh-keygen: {e}"));
        assert!(
            output.status.success(),
            "ssh-keygen for {} failed with {}: {}",
            path.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Writes one of a host's data files, refusing paths that would land outside its directory.
fn write_data_file(data_dir: &Path, relative: &str, contents: &str) {
    let path = Path::new(relative);
    assert!(
        path.components().all(|c| matches!(c, Component::Normal(_))),
        "fleet data file {relative:?} must be a relative path without `..`"
    );
    let path = data_dir.join(path);
    if let Some(parent) = path.parent() {
        create_dir(parent);
    }
    write(&path, contents);
    // Readable by the test user, whatever the test process's umask.
    set_mode(&path, 0o644);
}

/// Writes a host's overlays (and a copy of each file they hide) under `host_dir`, and the list
/// the namespace script binds them from; `None` when there are none.
fn write_overlays(host_dir: &Path, overlays: Vec<(String, String)>) -> Option<PathBuf> {
    if overlays.is_empty() {
        return None;
    }
    let dir = host_dir.join("overlays");
    create_dir(&dir);
    let mut list = String::new();
    for (n, (target, contents)) in overlays.into_iter().enumerate() {
        assert!(
            target.starts_with('/') && !target.contains(char::is_whitespace),
            "overlay target {target:?} must be an absolute path without blanks"
        );
        let original = dir.join(format!("{n}.original"));
        fs::copy(&target, &original)
            .unwrap_or_else(|e| panic!("cannot copy {target} for an overlay: {e}"));
        set_mode(&original, 0o755);
        let source = dir.join(n.to_string());
        write(
            &source,
            &contents.replace("{original}", original.to_str().expect("UTF-8 paths")),
        );
        set_mode(&source, 0o755);
        let _ = writeln!(list, "{} {target}", source.display());
    }
    let path = dir.join("list");
    write(&path, &list);
    Some(path)
}

fn toml_path(path: &Path) -> String {
    toml_string(path.to_str().expect("fleet paths are UTF-8"))
}

/// A TOML basic string: quoted, with quotes, backslashes and control characters escaped.
fn toml_string(value: &str) -> String {
    let mut quoted = String::from('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A TOML key: bare when TOML allows it, quoted otherwise.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

fn create_dir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    set_mode(path, 0o755);
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

fn write(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
