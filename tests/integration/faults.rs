//! Faults between shoal and real OpenSSH servers (issue 6, "Faults"): a host that is a black
//! hole, before and after its connection is pooled; hosts behind latency and packet loss;
//! sshd killed under a running command; a host key changed between two queries of one
//! session; a server that allows one session per connection; and one host printing 200 MB
//! through the real `shoal` binary.
//!
//! Faults already covered elsewhere are not repeated here: runtime_fleet.rs has sshd
//! restarted between two runs (a_stopped_host_is_unreachable_and_a_restarted_one_reconnects)
//! and a timed-out `sleep` ended on the host (a_timeout_ends_the_remote_command_…); repl.rs
//! and cli.rs have Ctrl-C.
//!
//! Network faults are nftables rules on a host's loopback address ([`NftTable`]) and a
//! delaying TCP proxy in front of its sshd ([`DelayProxy`]). Every test asserts what shoal
//! did, never how fast: the times are printed (`--nocapture`) for the record. A test that
//! could hang runs under a [`HangGuard`], which fails the binary loudly instead.

use std::fs;
use std::net::SocketAddrV4;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use shoal_runtime::inventory::Overrides;
use shoal_stdlib::{DataFrame, Session};

use crate::support::{
    self, Client, DelayProxy, FleetSpec, NftTable, SshdFleet, host_name, remote_sleeps,
};

/// How long to wait for something a host is about to do (a command starting, a killed one
/// being reaped). Each takes milliseconds; only a failing test waits this long.
const SETTLE: Duration = Duration::from_secs(20);

/// A client with `defaults` (TOML lines, or "") added to the inventory's `[defaults]`.
fn client(fleet: &SshdFleet, defaults: &str) -> Client {
    Client::new(fleet, defaults, &Overrides::default())
}

impl Client {
    /// [`Client::query`], its rows read by column.
    fn rows(&self, session: &mut Session, query: &str) -> Rows {
        Rows(self.query(session, query))
    }
}

/// A query's result, read by column.
struct Rows(DataFrame);

impl Rows {
    /// A column as text, null as "".
    fn text(&self, name: &str) -> Vec<String> {
        let column = self
            .0
            .column(name)
            .unwrap_or_else(|e| panic!("no column {name}: {e}"));
        shoal_stdlib::frame::texts(column)
            .expect("the column converts to text")
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect()
    }

    fn durations_ms(&self) -> Vec<u64> {
        self.text("duration_ms")
            .iter()
            .map(|ms| ms.parse().expect("duration_ms is a number"))
            .collect()
    }

    /// Prints every host's status, duration and error, for the record.
    fn print(&self, label: &str) {
        let (hosts, statuses) = (self.text("host"), self.text("status"));
        let (errors, ms) = (self.text("error"), self.durations_ms());
        for i in 0..hosts.len() {
            eprintln!(
                "{label}: {} {} {} ms {}",
                hosts[i], statuses[i], ms[i], errors[i]
            );
        }
    }

    /// Asserts every host is `ok` and printed its own name (the query's last `run` must be
    /// `hostname`).
    fn assert_all_ok_with_own_name(&self, label: &str) {
        let (statuses, stdout) = (self.text("status"), self.text("stdout"));
        for i in 0..statuses.len() {
            assert_eq!(
                (statuses[i].as_str(), stdout[i].as_str()),
                ("ok", host_name(i).as_str()),
                "{label}: host {i}, error {:?}",
                self.text("error")[i]
            );
        }
    }
}

/// Waits for a host to do something it is about to do; see [`SETTLE`].
fn wait_for_host(what: &str, done: impl FnMut() -> bool) {
    support::wait_for(what, SETTLE, done);
}

/// Fails the whole test binary if it is still alive `limit` from now: a hang in shoal would
/// otherwise hang `cargo test` instead of failing it. The limit is a generous bound on
/// something that should take seconds, never a speed test. Exiting skips every drop, so
/// the guard deletes this process's nftables tables itself: a black hole left behind would
/// swallow the address for whichever fleet leases it next.
struct HangGuard {
    done: mpsc::Sender<()>,
}

impl HangGuard {
    fn new(what: &'static str, limit: Duration) -> HangGuard {
        let (done, finished) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                eprintln!("HANG: {what} did not finish within {limit:?}");
                NftTable::delete_all_of_this_process();
                std::process::exit(101);
            }
        });
        HangGuard { done }
    }
}

impl Drop for HangGuard {
    fn drop(&mut self) {
        let _ = self.done.send(());
    }
}

#[test]
fn a_black_holed_host_is_unreachable_after_the_connect_timeout_and_delays_no_other() {
    const HOSTS: usize = 10;
    const DARK: usize = 3;
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let client = client(&fleet, "connect_timeout = \"2s\"\n");
    let mut session = client.session();
    let hole = NftTable::new();
    hole.drop_all(fleet.hosts()[DARK].addr);

    let _guard = HangGuard::new("the black-hole queries", Duration::from_secs(120));
    let started = Instant::now();
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    eprintln!("black hole: query took {:?}", started.elapsed());
    rows.print("black hole");
    let (statuses, errors, ms) = (rows.text("status"), rows.text("error"), rows.durations_ms());
    assert_eq!(statuses[DARK], "unreachable", "{}", errors[DARK]);
    assert_eq!(errors[DARK], "connect timed out after 2s");
    assert_eq!(rows.text("stdout")[DARK], "");
    assert_eq!(fleet.accepted_connections(DARK), 0);
    for i in (0..HOSTS).filter(|&i| i != DARK) {
        assert_eq!(
            (statuses[i].as_str(), rows.text("stdout")[i].as_str()),
            ("ok", host_name(i).as_str()),
            "host {i}: {}",
            errors[i]
        );
        // Each host has its own task: none waited for the dark one's connect.
        assert!(
            ms[i] < ms[DARK],
            "host {i} took {} ms, the black hole {} ms",
            ms[i],
            ms[DARK]
        );
    }

    // Once the network heals, the same session reaches it.
    drop(hole);
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.print("healed");
    rows.assert_all_ok_with_own_name("healed");
}

#[test]
fn a_pooled_connection_found_dead_only_on_use_is_replaced_not_reported_lost() {
    const HOSTS: usize = 3;
    const REBOOTED: usize = 1;
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let client = client(&fleet, "");
    let mut session = client.session();
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.assert_all_ok_with_own_name("before");

    // The host's side of the pooled connection is gone, but no packet says so until
    // shoal writes the next command to its idle shell. The shell never printed that
    // command's start line, so the command is tried on a new connection (refused here),
    // not reported as "lost while the command ran".
    let reset = NftTable::new();
    reset.reset_tcp(fleet.hosts()[REBOOTED].addr);
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.print("reset");
    let (statuses, errors) = (rows.text("status"), rows.text("error"));
    assert_eq!(
        (statuses[REBOOTED].as_str(), errors[REBOOTED].as_str()),
        ("unreachable", "connection refused")
    );
    for i in (0..HOSTS).filter(|&i| i != REBOOTED) {
        assert_eq!(statuses[i], "ok", "host {i}: {}", errors[i]);
    }

    drop(reset);
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.assert_all_ok_with_own_name("after");
}

#[test]
fn a_host_that_goes_dark_under_its_pooled_connection_ends_its_rows_and_recovers() {
    const HOSTS: usize = 4;
    const DARK: usize = 1;
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let client = client(&fleet, "connect_timeout = \"2s\"\n");
    let mut session = client.session();
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.assert_all_ok_with_own_name("before");

    let hole = NftTable::new();
    hole.drop_all(fleet.hosts()[DARK].addr);
    let _guard = HangGuard::new("the dark-host queries", Duration::from_secs(120));
    // The pooled shell takes the command into the socket's buffer and nothing comes back:
    // only the command's timeout ends it. The server cannot confirm the command ended.
    let started = Instant::now();
    let rows = client.rows(&mut session, r#"hosts | run "hostname" timeout=3s"#);
    eprintln!("dark, pooled: query took {:?}", started.elapsed());
    rows.print("dark, pooled");
    let (statuses, errors) = (rows.text("status"), rows.text("error"));
    assert_eq!(statuses[DARK], "timeout", "{}", errors[DARK]);
    assert_eq!(
        errors[DARK],
        "timed out after 3s; the server did not confirm that the command ended"
    );
    for i in (0..HOSTS).filter(|&i| i != DARK) {
        assert_eq!(statuses[i], "ok", "host {i}: {}", errors[i]);
    }

    // The next query gives up the silent connection and tries a new one, which cannot
    // connect either.
    let started = Instant::now();
    let rows = client.rows(&mut session, r#"hosts | run "hostname" timeout=3s"#);
    eprintln!("dark, next query: query took {:?}", started.elapsed());
    rows.print("dark, next query");
    let (statuses, errors) = (rows.text("status"), rows.text("error"));
    assert_eq!(statuses[DARK], "unreachable", "{}", errors[DARK]);
    assert_eq!(errors[DARK], "connect timed out after 2s");
    for i in (0..HOSTS).filter(|&i| i != DARK) {
        assert_eq!(statuses[i], "ok", "host {i}: {}", errors[i]);
    }

    drop(hole);
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.print("healed");
    rows.assert_all_ok_with_own_name("healed");
}

#[test]
fn hosts_behind_latency_and_packet_loss_still_answer_correctly() {
    const HOSTS: usize = 20;
    const LATENCY: Duration = Duration::from_millis(200);
    const LOSS_PERCENT: u32 = 5;
    let slow = |i: usize| i.is_multiple_of(4);
    let mut fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("4.{i}\n"))]),
        ..FleetSpec::new(HOSTS)
    });
    let loss = NftTable::new();
    let mut proxies = Vec::new();
    for i in (0..HOSTS).filter(|&i| slow(i)) {
        let node = fleet.hosts()[i].clone();
        // On the host's own address, so the loss rule on that address covers both legs:
        // shoal to the proxy, and the proxy to sshd.
        let proxy = DelayProxy::start(
            SocketAddrV4::new(node.addr, 0),
            SocketAddrV4::new(node.addr, node.port),
            LATENCY,
        );
        fleet.route_through(i, proxy.addr());
        loss.drop_percent(node.addr, LOSS_PERCENT);
        proxies.push(proxy);
    }
    // A handshake is about seven round trips of 400 ms through the proxy, and a lost SYN
    // is resent after a second; the default 10 s is too tight for that on a loaded machine.
    let client = client(&fleet, "connect_timeout = \"60s\"\n");
    let mut session = client.session();
    let _guard = HangGuard::new("the latency and loss queries", Duration::from_secs(300));

    for round in ["cold", "warm"] {
        let started = Instant::now();
        let rows = client.rows(
            &mut session,
            r#"hosts | run "cat /etc/app/version" as version | run "hostname""#,
        );
        let wall = started.elapsed();
        rows.print(round);
        rows.assert_all_ok_with_own_name(round);
        let versions = rows.text("version");
        for (i, version) in versions.iter().enumerate() {
            assert_eq!(*version, format!("4.{i}"), "{round}: host {i}");
        }
        let ms = rows.durations_ms();
        let slowest = |pick: bool| (0..HOSTS).filter(|&i| slow(i) == pick).map(|i| ms[i]).max();
        eprintln!(
            "{round}: wall {wall:?} for both stages; last stage: slowest delayed host {:?} ms, \
             slowest direct host {:?} ms",
            slowest(true),
            slowest(false)
        );
    }
}

#[test]
fn a_host_whose_sshd_dies_mid_command_gets_a_row_and_the_next_query_reconnects() {
    const HOSTS: usize = 3;
    const KILLED: usize = 1;
    let mut fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let client = client(&fleet, "");
    let mut session = client.session();
    let _guard = HangGuard::new("the query under a dying sshd", Duration::from_secs(120));

    // The timeout is far above the sleep and below the keepalives' minute, so a row that
    // ended only by timing out would show that shoal missed the connection closing.
    let query = r#"hosts | run "sleep 5; hostname" timeout=30s"#;
    let started = Instant::now();
    let (rows, killed_at) = thread::scope(|scope| {
        let session = &mut session;
        let client = &client;
        let running = scope.spawn(move || client.rows(session, query));
        wait_for_host("the sleep to start on the host to kill", || {
            !remote_sleeps(&fleet, KILLED).is_empty()
        });
        // sshd, its sessions and the command all die, as when a host goes down.
        fleet.stop_host(KILLED);
        let killed_at = started.elapsed();
        (running.join().expect("the query thread"), killed_at)
    });
    eprintln!(
        "sshd killed {killed_at:?} into the query, which took {:?}",
        started.elapsed()
    );
    rows.print("killed");
    let (statuses, errors) = (rows.text("status"), rows.text("error"));
    assert!(
        ["error", "unreachable"].contains(&statuses[KILLED].as_str()),
        "{}: {}",
        statuses[KILLED],
        errors[KILLED]
    );
    assert_eq!(
        errors[KILLED],
        "connection lost while the command ran: the connection closed"
    );
    assert_eq!(rows.text("stdout")[KILLED], "");
    for i in (0..HOSTS).filter(|&i| i != KILLED) {
        assert_eq!(statuses[i], "ok", "host {i}: {}", errors[i]);
    }

    fleet.start_host(KILLED);
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.print("restarted");
    rows.assert_all_ok_with_own_name("restarted");
    assert_eq!(fleet.accepted_connections(KILLED), 2, "it logged in again");
}

#[test]
fn a_host_key_changed_between_two_queries_of_one_session_is_a_mismatch_and_nothing_runs() {
    let mut fleet = SshdFleet::start(FleetSpec::new(2));
    let marks = fleet.dir().join("ran");
    fs::create_dir(&marks).expect("create the marker directory");
    // Sticky and world-writable, like /tmp: the commands run as the test user.
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&marks, fs::Permissions::from_mode(0o1777)).expect("chmod");
    }
    let client = client(&fleet, "");
    let mut session = client.session();
    let rows = client.rows(&mut session, r#"hosts | run "hostname""#);
    rows.assert_all_ok_with_own_name("before");

    // The host is rebuilt under the session's pooled connection: a new key, and
    // known_hosts still records the old one.
    fleet.regenerate_host_key(1);
    let rows = client.rows(
        &mut session,
        &format!(r#"hosts | run "touch {}/$(hostname)""#, marks.display()),
    );
    rows.print("rebuilt");
    let (statuses, errors) = (rows.text("status"), rows.text("error"));
    assert_eq!(statuses[0], "ok", "{}", errors[0]);
    assert_eq!(statuses[1], "hostkey_mismatch", "{}", errors[1]);
    assert!(
        errors[1].starts_with(&format!("HOST KEY CHANGED for {}", fleet.hosts()[1].addr)),
        "{}",
        errors[1]
    );
    assert!(marks.join("web001").exists());
    assert!(
        !marks.join("web002").exists(),
        "the command ran on the host with the changed key"
    );
    assert_eq!(
        fleet.accepted_connections(1),
        1,
        "only the first query logged in"
    );
}

#[test]
fn twenty_queries_in_one_session_fit_in_max_sessions_one() {
    let fleet = SshdFleet::start(FleetSpec {
        max_sessions: 1,
        ..FleetSpec::new(1)
    });
    let client = client(&fleet, "");
    let mut session = client.session();
    for round in 0..20 {
        let rows = client.rows(
            &mut session,
            &format!(r#"hosts | run "echo {round}" as round | run "hostname""#),
        );
        rows.assert_all_ok_with_own_name(&format!("round {round}"));
        assert_eq!(rows.text("round"), [round.to_string()]);
        if round == 9 {
            // A timeout halfway gives up the one session the host allows; the next round
            // needs it closed before it can start a shell. This is also `timeout=` from
            // the query text ending the remote command.
            let rows = client.rows(
                &mut session,
                r#"hosts | run "echo started; sleep 600" timeout=1s"#,
            );
            assert_eq!(rows.text("status"), ["timeout"], "{:?}", rows.text("error"));
            assert_eq!(rows.text("stdout"), ["started"]);
            wait_for_host("the timed-out sleep to end on the host", || {
                remote_sleeps(&fleet, 0).is_empty()
            });
        }
    }
    let stats = client.executor.stats();
    eprintln!("max sessions 1: {stats:?}");
    assert_eq!(stats.connections_opened, 1, "{stats:?}");
    assert_eq!(fleet.accepted_connections(0), 1);
}

/// What one host prints in the chatty-output test: well past the 1 MiB kept per stream.
const CHATTY_BYTES: u64 = 200_000_000;

/// The most the `shoal` process may grow to while one host prints [`CHATTY_BYTES`]: output
/// past the cap is counted and dropped, so this is far above its steady size (tens of MB)
/// and far below what keeping the output would take.
const CHATTY_RSS_LIMIT_KIB: u64 = 300 * 1024;

#[test]
fn two_hundred_megabytes_from_one_host_keep_shoal_small_and_the_row_says_truncated() {
    let fleet = SshdFleet::start(FleetSpec::new(3));
    let inventory = support::write_inventory(&fleet, "");
    let dir = tempfile::tempdir().expect("a temporary directory");
    // `yes | head` writes "y\n" pairs; single quotes in shoal are raw, so the shell's
    // double quotes pass through untouched.
    let query = format!(
        "hosts | run 'if [ \"$(hostname)\" = web002 ]; then yes | head -c {CHATTY_BYTES}; \
         else hostname; fi' timeout=10m"
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_shoal"));
    command
        .arg("--inventory")
        .arg(&inventory)
        .args(["--format", "json", "-c", &query])
        .env("NO_COLOR", "1");
    // A hang guard: a run that has not ended by then is killed and fails below.
    let finished = support::measure(&mut command, dir.path(), Duration::from_secs(900));
    eprintln!(
        "200 MB from one host: wall {:?}, CPU {:?}, peak RSS {} KiB ({:.1} MiB), {}",
        finished.wall,
        finished.cpu,
        finished.peak_rss_kib,
        finished.peak_rss_kib as f64 / 1024.0,
        finished.status
    );
    assert_eq!(
        finished.status.code(),
        Some(0),
        "stderr:\n{}",
        finished.stderr
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&finished.stdout).expect("a JSON array of rows");
    assert_eq!(rows.len(), 3);
    for i in [0, 2] {
        assert_eq!(rows[i]["status"], "ok", "{}", rows[i]);
        assert_eq!(rows[i]["stdout"], host_name(i).as_str());
    }
    let chatty = &rows[1];
    assert_eq!(chatty["status"], "ok", "{}", chatty["error"]);
    let kept = 1024 * 1024;
    assert_eq!(
        chatty["error"],
        format!(
            "stdout truncated at 1 MiB ({} bytes discarded)",
            CHATTY_BYTES - kept
        )
        .as_str()
    );
    // The kept MiB, "y\n" repeated, less the final newline.
    let stdout = chatty["stdout"].as_str().expect("stdout is text");
    assert_eq!(stdout.len() as u64, kept - 1);
    assert!(stdout.bytes().step_by(2).all(|b| b == b'y'));
    assert!(
        finished.peak_rss_kib < CHATTY_RSS_LIMIT_KIB,
        "shoal's peak RSS was {} KiB",
        finished.peak_rss_kib
    );
}
