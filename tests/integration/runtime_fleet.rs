//! The SSH executor against real OpenSSH servers (tests/support): every row status, pooled
//! connections reused across stages and queries, the persistent shell on each connection
//! (framing, isolation between commands, giving it up on timeout, falling back to a channel
//! per command), sshd's MaxSessions, the fan-out window, a 100-host run, cancellation,
//! reconnects and host keys.
//!
//! Tests that check one host's row drive `SshExecutor` directly; tests that check the path
//! from a query to its rows compile the query and evaluate it with `Session::eval`, as the
//! REPL does. Claims about the servers are checked on the servers: logins in sshd's logs,
//! leftover processes with `pgrep` inside the host, files a command leaves behind. Nothing
//! asserts on how long something took, except one loose hang guard on cancellation; the
//! fan-out window is read from the timestamps the hosts themselves print.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use shoal_runtime::inventory::Overrides;
use shoal_stdlib::DataFrame;
use shoal_stdlib::executor::{Executor, HostOutcome, RunRequest, Status};

use crate::support::{self, Client, FleetSpec, SshdFleet, host_name, remote_sleeps};

/// How long to wait for something a host is about to do (a remote command starting, a
/// killed one being reaped) before failing. Each takes milliseconds; the margin is for a
/// 2-core machine that is also compiling. Only the failure path ever waits this long.
const SETTLE: Duration = Duration::from_secs(10);

/// A client with `defaults` and `overrides`; see [`Client::new`].
fn client(fleet: &SshdFleet, defaults: &str, overrides: &Overrides) -> Client {
    Client::new(fleet, defaults, overrides)
}

/// A client with the inventory as the fleet writes it: strict host-key checking.
fn strict_client(fleet: &SshdFleet) -> Client {
    client(fleet, "", &Overrides::default())
}

// Inherent methods on the shared client, for the tests here that drive the executor
// directly rather than through a query.
impl Client {
    /// Every host of the inventory, in inventory order.
    fn hosts(&self) -> Vec<String> {
        self.inventory
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .collect()
    }

    /// Runs `command` on every host with the default timeout.
    fn run_all(&self, command: &str) -> Vec<HostOutcome> {
        self.run(&self.hosts(), command, None)
    }

    /// Runs `command` on `hosts` and returns each host's one outcome, in the order given.
    /// Uses the executor's current query token, so a test can cancel it.
    fn run(&self, hosts: &[String], command: &str, timeout: Option<Duration>) -> Vec<HostOutcome> {
        let request = RunRequest {
            command: command.to_owned(),
            per_host: Vec::new(),
            timeout,
        };
        let mut outcomes: Vec<Option<HostOutcome>> = vec![None; hosts.len()];
        self.executor.run(hosts, &request, &mut |index, outcome| {
            assert!(
                outcomes[index].is_none(),
                "host {} was reported twice",
                hosts[index]
            );
            outcomes[index] = Some(outcome);
        });
        outcomes
            .into_iter()
            .zip(hosts)
            .map(|(outcome, host)| outcome.unwrap_or_else(|| panic!("host {host} not reported")))
            .collect()
    }
}

/// Waits for a host to do something it is about to do; see [`SETTLE`].
fn wait_for_host(what: &str, done: impl FnMut() -> bool) {
    support::wait_for(what, SETTLE, done);
}

/// A column of a result as text (numbers as they print), null as `None`.
fn column(rows: &DataFrame, name: &str) -> Vec<Option<String>> {
    let column = rows
        .column(name)
        .unwrap_or_else(|e| panic!("no column {name}: {e}"));
    shoal_stdlib::frame::texts(column).expect("the column converts to text")
}

/// A directory every host's commands can write to (`touch DIR/$(hostname)`), so a test can
/// tell afterwards which hosts really ran a command.
fn marker_dir(fleet: &SshdFleet) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = fleet.dir().join("ran");
    fs::create_dir(&dir).expect("create the marker directory");
    // Sticky and world-writable, like /tmp: the commands run as the test user, not root.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).expect("chmod");
    dir
}

/// The fleet's known_hosts line for host `i` (port 22, so the bare address).
fn known_hosts_line(known_hosts: &str, fleet: &SshdFleet, i: usize) -> String {
    let prefix = format!("{} ", fleet.hosts()[i].addr);
    known_hosts
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {prefix}in:\n{known_hosts}"))
        .to_owned()
}

/// The `SHA256:…` fingerprint of the key on a known_hosts line, as `ssh-keygen -l` prints it.
fn fingerprint(known_hosts_line: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("known_hosts");
    fs::write(&file, format!("{known_hosts_line}\n")).expect("write the key");
    let output = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&file)
        .output()
        .expect("run ssh-keygen");
    assert!(output.status.success(), "ssh-keygen -l: {output:?}");
    // "256 SHA256:… 127.0.1.2 (ED25519)"
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let fingerprint = text.split_whitespace().nth(1).expect("a fingerprint field");
    assert!(fingerprint.starts_with("SHA256:"), "{text}");
    fingerprint.to_owned()
}

/// Writes a new ed25519 key pair at `path` with `passphrase` ("" for none).
fn keygen(path: &Path, passphrase: &str) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "not-the-fleet-key",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen for {}", path.display());
}

#[test]
fn ok_and_failed_rows_carry_output_exit_code_and_reason() {
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("1.{i}\n"))]),
        ..FleetSpec::new(5)
    });
    let client = strict_client(&fleet);

    let rows = client.run_all("cat /etc/app/version");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.status, Status::Ok, "{row:?}");
        assert_eq!(row.stdout, format!("1.{i}"), "trailing newline removed");
        assert_eq!((row.stderr.as_str(), row.exit), ("", Some(0)));
        assert_eq!(row.error, None);
    }

    let rows = client.run_all("echo out; echo err >&2; exit 3");
    for row in &rows {
        assert_eq!(row.status, Status::Failed, "{row:?}");
        assert_eq!((row.stdout.as_str(), row.stderr.as_str()), ("out", "err"));
        assert_eq!(row.exit, Some(3));
        assert_eq!(row.error.as_deref(), Some("exit 3"));
    }

    // The command sees the shell a plain `ssh host CMD` gives it, not shoal's wrapper.
    let rows = client.run_all("hostname; echo \"$0 $SHELL\"; false; echo $?");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.stdout, format!("{}\nsh /bin/sh\n1", host_name(i)));
    }

    // Output is bounded, and the command still runs to its end.
    let first = &client.hosts()[..1];
    let rows = client.run(first, "head -c 3000000 /dev/zero; echo done >&2", None);
    assert_eq!(rows[0].status, Status::Ok, "{:?}", rows[0].error);
    assert_eq!(rows[0].stdout.len(), 1024 * 1024);
    assert_eq!(rows[0].stderr, "done");
    assert_eq!(
        rows[0].error.as_deref(),
        Some("stdout truncated at 1 MiB (1951424 bytes discarded)")
    );

    // A host the inventory does not have still gets its row.
    let rows = client.run(&["nope".to_owned()], "true", None);
    assert_eq!(rows[0].status, Status::Error);
    assert_eq!(
        rows[0].error.as_deref(),
        Some("host \"nope\" is not in the inventory")
    );

    // Each host's persistent shell ran all of its commands: one channel per host, where a
    // channel per command would have opened 16.
    let stats = client.executor.stats();
    assert_eq!(stats.connections_opened, 5, "{stats:?}");
    assert_eq!(stats.channels_opened, 5, "{stats:?}");
    for i in 0..5 {
        assert_eq!(
            fleet.accepted_connections(i),
            1,
            "logins on {}",
            host_name(i)
        );
    }
}

#[test]
fn a_timeout_ends_the_remote_command_and_keeps_its_partial_output() {
    let fleet = SshdFleet::start(FleetSpec::new(2));
    let client = strict_client(&fleet);
    let hosts = client.hosts();
    for cmd in [
        "echo started; sleep 600",
        // Ignores the TERM that `signal` delivers, so only the KILL that follows ends it.
        "echo started; trap '' TERM; sleep 600; sleep 600",
        // A child that outlives its parent shell, in the background.
        "echo started; sh -c 'trap \"\" TERM; sleep 600' & wait",
    ] {
        let rows = client.run(&hosts, cmd, Some(Duration::from_secs(1)));
        for row in &rows {
            assert_eq!(row.status, Status::Timeout, "{cmd}: {row:?}");
            let error = row.error.as_deref().unwrap_or_default();
            assert!(error.starts_with("timed out after 1s"), "{cmd}: {error}");
            assert_eq!(row.exit, None, "{cmd}");
            assert_eq!(row.stdout, "started", "{cmd}: partial output is kept");
        }
        // `sleep 600` would outlive the test by minutes unless shoal ended it; the
        // connection stays pooled meanwhile, so nothing else closes the session.
        for i in 0..hosts.len() {
            wait_for_host(&format!("{cmd}: sleep left on {}", host_name(i)), || {
                remote_sleeps(&fleet, i).is_empty()
            });
        }
    }
    assert_eq!(client.executor.stats().connections_opened, 2);
}

/// Runs `command` on the client's only host and returns its row.
fn run_one(client: &Client, command: &str, timeout: Option<Duration>) -> HostOutcome {
    client.run(&client.hosts(), command, timeout).remove(0)
}

/// Long enough for any of these commands; a command that waited for input would hit it
/// and fail its test as `timeout` rather than hang it.
const PATIENCE: Option<Duration> = Some(Duration::from_secs(30));

#[test]
fn commands_on_one_persistent_shell_keep_exact_output_and_stay_apart() {
    let fleet = SshdFleet::start(FleetSpec::new(1));
    let client = strict_client(&fleet);
    // Where a command starts, and its umask.
    let start = run_one(&client, "pwd; umask", PATIENCE);
    assert_eq!(start.status, Status::Ok, "{start:?}");

    // Output without a final newline, on both streams, comes back byte for byte; only
    // trailing newlines go, as with `$(...)`.
    let row = run_one(&client, "printf 'a\\n\\nb '; printf ' err' >&2", PATIENCE);
    assert_eq!(
        (row.stdout.as_str(), row.stderr.as_str()),
        ("a\n\nb ", " err")
    );
    assert_eq!((row.status, row.exit), (Status::Ok, Some(0)));
    let row = run_one(
        &client,
        "printf out; printf '\\n\\n'; printf err >&2",
        PATIENCE,
    );
    assert_eq!((row.stdout.as_str(), row.stderr.as_str()), ("out", "err"));

    // A command that reads stdin gets end of input at once.
    let row = run_one(&client, "cat; wc -c; echo read all", PATIENCE);
    assert_eq!(row.status, Status::Ok, "{row:?}");
    assert_eq!(row.stdout, "0\nread all");

    // Exit codes, and the shell still answers after a failure and a syntax error.
    let row = run_one(&client, "echo out; echo err >&2; exit 3", PATIENCE);
    assert_eq!((row.status, row.exit), (Status::Failed, Some(3)));
    assert_eq!((row.stdout.as_str(), row.stderr.as_str()), ("out", "err"));
    let row = run_one(&client, "if then", PATIENCE);
    assert_eq!((row.status, row.exit), (Status::Failed, Some(2)), "{row:?}");
    let row = run_one(&client, "true", PATIENCE);
    assert_eq!((row.status, row.exit), (Status::Ok, Some(0)));

    // Nothing one command changes in its shell reaches the next.
    let row = run_one(
        &client,
        "cd /tmp && export SHOAL_X=1 && SHOAL_Y=2 && umask 077 && exec 4>/dev/null && pwd",
        PATIENCE,
    );
    assert_eq!(row.stdout, "/tmp", "{row:?}");
    let row = run_one(
        &client,
        "pwd; umask; echo \"[${SHOAL_X-}] [${SHOAL_Y-}]\"; \
         if [ -e /dev/fd/4 ]; then echo fd 4 open; fi",
        PATIENCE,
    );
    assert_eq!(row.stdout, format!("{}\n[] []", start.stdout), "{row:?}");

    // Every command ran on one connection and one shell: one login, one channel.
    let stats = client.executor.stats();
    assert_eq!((stats.connections_opened, stats.channels_opened), (1, 1));
    assert_eq!(fleet.accepted_connections(0), 1);
}

#[test]
fn output_that_looks_like_a_frame_end_is_output() {
    let fleet = SshdFleet::start(FleetSpec::new(1));
    let client = strict_client(&fleet);
    // The shell ends each command's output with a newline, a marker and (on stdout) the
    // exit status. The real marker is random per command; these are lines of the same form.
    let fake = "shoal-00112233445566778899aabbccddeeff";
    let command = format!(
        "printf '\\n%s 0\\n%s\\n' {fake} {fake}; printf '\\n%s\\n' {fake} >&2; \
         echo after; echo after >&2; exit 3"
    );
    for round in 0..2 {
        let row = run_one(&client, &command, PATIENCE);
        assert_eq!(
            (row.status, row.exit),
            (Status::Failed, Some(3)),
            "{round}: {row:?}"
        );
        assert_eq!(row.stdout, format!("\n{fake} 0\n{fake}\nafter"), "{round}");
        assert_eq!(row.stderr, format!("\n{fake}\nafter"), "{round}");
    }
    let row = run_one(&client, "echo next", PATIENCE);
    assert_eq!((row.status, row.stdout.as_str()), (Status::Ok, "next"));
    assert_eq!(
        client.executor.stats().channels_opened,
        1,
        "one shell throughout"
    );
}

#[test]
fn after_a_timeout_the_host_runs_its_next_command_on_a_new_shell() {
    let fleet = SshdFleet::start(FleetSpec::new(2));
    let client = strict_client(&fleet);
    let rows = client.run_all("echo before");
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");

    // web001 times out; web002, in the same run, finishes and keeps its shell.
    let rows = client.run(
        &client.hosts(),
        "if [ $(hostname) = web001 ]; then echo started; sleep 600; fi; echo done",
        Some(Duration::from_secs(1)),
    );
    assert_eq!(rows[0].status, Status::Timeout, "{:?}", rows[0]);
    assert_eq!(rows[0].stdout, "started");
    assert_eq!(
        (rows[1].status, rows[1].stdout.as_str()),
        (Status::Ok, "done")
    );
    wait_for_host("sleep left on web001", || {
        remote_sleeps(&fleet, 0).is_empty()
    });

    let rows = client.run_all("hostname");
    assert_eq!(
        rows.iter()
            .map(|r| (r.status, r.stdout.as_str()))
            .collect::<Vec<_>>(),
        [(Status::Ok, "web001"), (Status::Ok, "web002")]
    );
    // Two connections; a shell for each host, and a new one for web001 after its timeout.
    let stats = client.executor.stats();
    assert_eq!((stats.connections_opened, stats.channels_opened), (2, 3));
    assert_eq!(fleet.accepted_connections(0), 1);
}

#[test]
fn a_host_that_cannot_start_a_shell_runs_each_command_on_a_channel_of_its_own() {
    // A server that runs commands but not shoal's persistent shell, as a forced command
    // might: the exec that starts the shell fails, anything else runs.
    let fleet = SshdFleet::start(FleetSpec {
        force_command: Some(
            "case \"$SSH_ORIGINAL_COMMAND\" in \"exec sh -s\") exit 1;; \
             *) eval \"$SSH_ORIGINAL_COMMAND\";; esac"
                .to_owned(),
        ),
        ..FleetSpec::new(1)
    });
    let client = strict_client(&fleet);
    for round in 0..3 {
        let row = run_one(
            &client,
            &format!("echo round {round}; exit {round}"),
            PATIENCE,
        );
        assert_eq!(row.stdout, format!("round {round}"), "{row:?}");
        assert_eq!(row.exit, Some(round));
    }
    // The shell was tried once; then each command had a channel.
    let stats = client.executor.stats();
    assert_eq!((stats.connections_opened, stats.channels_opened), (1, 4));
}

#[test]
fn a_shell_that_answers_its_probe_too_late_is_not_sent_the_command_twice() {
    // The persistent shell starts only after 3 s, past the 1 s connect timeout; whatever was
    // written to it meanwhile (the probe, and the first command behind it) it still runs.
    let fleet = SshdFleet::start(FleetSpec {
        force_command: Some(
            "case \"$SSH_ORIGINAL_COMMAND\" in \"exec sh -s\") sleep 3; exec sh -s;; \
             *) eval \"$SSH_ORIGINAL_COMMAND\";; esac"
                .to_owned(),
        ),
        ..FleetSpec::new(1)
    });
    fs::set_permissions(
        &fleet.hosts()[0].data_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let overrides = Overrides {
        connect_timeout: Some(Duration::from_secs(1)),
        ..Overrides::default()
    };
    let client = client(&fleet, "", &overrides);
    let row = run_one(&client, "echo ran >> /etc/app/runs", PATIENCE);
    assert_eq!(row.status, Status::Error, "{row:?}");
    assert!(
        row.error
            .as_deref()
            .is_some_and(|e| e.contains("not run again")),
        "{row:?}"
    );
    // The late shell may or may not still run it; shoal never ran it a second time.
    thread::sleep(Duration::from_secs(4));
    let runs = fs::read_to_string(fleet.hosts()[0].data_dir.join("runs")).unwrap_or_default();
    assert!(
        runs.lines().count() <= 1,
        "ran {} times",
        runs.lines().count()
    );
    // The host's next commands each get a channel of their own, and run.
    let row = run_one(&client, "echo next", PATIENCE);
    assert_eq!(
        (row.status, row.stdout.as_str()),
        (Status::Ok, "next"),
        "{row:?}"
    );
}

#[test]
fn a_stopped_host_is_unreachable_and_a_restarted_one_reconnects() {
    let mut fleet = SshdFleet::start(FleetSpec::new(2));
    let client = strict_client(&fleet);
    let rows = client.run_all("hostname");
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");

    fleet.stop_host(1);
    let rows = client.run_all("hostname");
    assert_eq!(
        (rows[0].status, rows[0].stdout.as_str()),
        (Status::Ok, "web001")
    );
    assert_eq!(rows[1].status, Status::Unreachable, "{:?}", rows[1]);
    assert_eq!(rows[1].error.as_deref(), Some("connection refused"));
    assert_eq!((rows[1].stdout.as_str(), rows[1].exit), ("", None));

    fleet.start_host(1);
    let rows = client.run_all("hostname");
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");
    assert_eq!(rows[1].stdout, "web002");

    // A host restarted while its connection sits in the pool: the dead connection is
    // replaced on next use, without the user seeing an error.
    fleet.stop_host(0);
    fleet.start_host(0);
    let rows = client.run_all("hostname");
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");
    assert_eq!(rows[0].stdout, "web001");

    // Each host: its first connection, and one more after its restart.
    assert_eq!(client.executor.stats().connections_opened, 4);
    assert_eq!(fleet.accepted_connections(0), 2);
    assert_eq!(fleet.accepted_connections(1), 2);
}

#[test]
fn a_wrong_key_is_auth_failed_and_says_which_keys_were_tried() {
    let fleet = SshdFleet::start(FleetSpec::new(1));
    let keys = tempfile::tempdir().expect("a temporary directory");
    let wrong = keys.path().join("wrong");
    keygen(&wrong, "");
    let locked = keys.path().join("locked");
    keygen(&locked, "a passphrase");
    let overrides = Overrides {
        identity_files: vec![wrong.clone(), locked.clone()],
        ..Overrides::default()
    };
    let client = client(&fleet, "", &overrides);

    let rows = client.run_all("true");
    assert_eq!(rows[0].status, Status::AuthFailed, "{:?}", rows[0]);
    let error = rows[0].error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("the server refused every key for user shoaltest"),
        "{error}"
    );
    assert!(
        error.contains(&format!("tried {}", wrong.display())),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "key {} is encrypted; add it to ssh-agent",
            locked.display()
        )),
        "{error}"
    );
    assert_eq!((rows[0].stdout.as_str(), rows[0].exit), ("", None));
    assert_eq!(fleet.accepted_connections(0), 0, "no login happened");
    assert_eq!(client.executor.stats().connections_opened, 0);
}

#[test]
fn an_unknown_host_key_is_refused_with_its_fingerprint_and_a_hint() {
    let fleet = SshdFleet::start(FleetSpec::new(2));
    let marks = marker_dir(&fleet);
    // A known_hosts that knows web001 but not web002.
    let known_hosts = fs::read_to_string(fleet.known_hosts()).expect("read known_hosts");
    let web002_key = fingerprint(&known_hosts_line(&known_hosts, &fleet, 1));
    fs::write(
        fleet.known_hosts(),
        format!("{}\n", known_hosts_line(&known_hosts, &fleet, 0)),
    )
    .expect("write known_hosts");
    let client = strict_client(&fleet);

    let rows = client.run_all(&format!("touch {}/$(hostname)", marks.display()));
    assert_eq!(rows[0].status, Status::Ok, "{:?}", rows[0]);
    assert_eq!(rows[1].status, Status::HostkeyUnknown, "{:?}", rows[1]);
    let error = rows[1].error.as_deref().unwrap_or_default();
    let addr = fleet.hosts()[1].addr;
    let file = fleet.known_hosts().display();
    assert_eq!(
        error,
        format!(
            "host key for {addr} is not in {file} (the server offers ssh-ed25519 {web002_key}); \
             trust it on first use with --accept-new, or add it with: \
             ssh-keyscan {addr} >> {file}"
        )
    );

    web001_ran_and_web002_did_not(&fleet, &rows, &marks);
    // Nothing was added to known_hosts without --accept-new.
    assert_eq!(
        fs::read_to_string(fleet.known_hosts()).expect("read known_hosts"),
        format!("{}\n", known_hosts_line(&known_hosts, &fleet, 0))
    );
}

/// After `touch MARKS/$(hostname)` on web001 and web002: web001 ran it, and
/// web002 ran nothing at all: no login in its sshd log, no file, no output.
fn web001_ran_and_web002_did_not(fleet: &SshdFleet, rows: &[HostOutcome], marks: &Path) {
    assert_eq!((rows[1].stdout.as_str(), rows[1].exit), ("", None));
    assert_eq!(fleet.accepted_connections(1), 0);
    assert!(marks.join("web001").exists());
    assert!(!marks.join("web002").exists());
}

#[test]
fn a_changed_host_key_is_a_mismatch_and_nothing_runs_there() {
    let mut fleet = SshdFleet::start(FleetSpec::new(2));
    let marks = marker_dir(&fleet);
    let trusted = fs::read_to_string(fleet.known_hosts()).expect("read known_hosts");
    fleet.regenerate_host_key(1);
    // Learn the new key's fingerprint, then put back the known_hosts that trusts the old one.
    fleet.refresh_known_hosts();
    let refreshed = fs::read_to_string(fleet.known_hosts()).expect("read known_hosts");
    let new_key = fingerprint(&known_hosts_line(&refreshed, &fleet, 1));
    assert_ne!(new_key, fingerprint(&known_hosts_line(&trusted, &fleet, 1)));
    fs::write(fleet.known_hosts(), &trusted).expect("write known_hosts");
    let client = strict_client(&fleet);

    let rows = client.run_all(&format!("touch {}/$(hostname)", marks.display()));
    assert_eq!(rows[0].status, Status::Ok, "{:?}", rows[0]);
    assert_eq!(rows[1].status, Status::HostkeyMismatch, "{:?}", rows[1]);
    let error = rows[1].error.as_deref().unwrap_or_default();
    let addr = fleet.hosts()[1].addr;
    let file = fleet.known_hosts().display();
    assert!(
        error.starts_with(&format!(
            "HOST KEY CHANGED for {addr}: the server offers ssh-ed25519 {new_key}, but {file}:2 \
             records a different key; refusing to connect"
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!("ssh-keygen -R '{addr}' -f {file}")),
        "{error}"
    );

    web001_ran_and_web002_did_not(&fleet, &rows, &marks);
    // The known_hosts entry is left as it was.
    assert_eq!(
        fs::read_to_string(fleet.known_hosts()).expect("read known_hosts"),
        trusted
    );
}

#[test]
fn accept_new_records_unknown_keys_but_still_refuses_changed_ones() {
    let mut fleet = SshdFleet::start(FleetSpec::new(2));
    let trusted = fs::read_to_string(fleet.known_hosts()).expect("read known_hosts");
    fs::write(fleet.known_hosts(), "").expect("empty known_hosts");
    let strict = strict_client(&fleet);
    let rows = strict.run_all("true");
    assert!(
        rows.iter().all(|r| r.status == Status::HostkeyUnknown),
        "{rows:?}"
    );

    let accept_new = Overrides {
        accept_new: true,
        ..Overrides::default()
    };
    let trusting = client(&fleet, "", &accept_new);
    let rows = trusting.run_all("hostname");
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");
    // The keys recorded are the hosts' own (comments aside).
    let recorded = fs::read_to_string(fleet.known_hosts()).expect("read known_hosts");
    for i in 0..2 {
        assert_eq!(
            fingerprint(&known_hosts_line(&recorded, &fleet, i)),
            fingerprint(&known_hosts_line(&trusted, &fleet, i))
        );
    }
    // The strict executor reads the file again and now trusts them too.
    let rows = strict.run_all("true");
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");

    // A changed key is refused even with --accept-new, and not written over.
    fleet.regenerate_host_key(1);
    let trusting = client(&fleet, "", &accept_new);
    let rows = trusting.run_all("true");
    assert_eq!(rows[0].status, Status::Ok, "{:?}", rows[0]);
    assert_eq!(rows[1].status, Status::HostkeyMismatch, "{:?}", rows[1]);
    assert_eq!(
        fs::read_to_string(fleet.known_hosts()).expect("read known_hosts"),
        recorded
    );
}

#[test]
fn two_runs_and_two_queries_share_one_connection_per_host() {
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("1.{i}\n"))]),
        ..FleetSpec::new(3)
    });
    let client = strict_client(&fleet);
    let mut session = client.session();

    let rows = client.query(
        &mut session,
        r#"hosts | run "hostname" as name | run "cat /etc/app/version" as version"#,
    );
    let names: Vec<Option<String>> = (0..3).map(|i| Some(host_name(i))).collect();
    assert_eq!(column(&rows, "host"), names);
    assert_eq!(column(&rows, "name"), names, "the first stage's output");
    assert_eq!(
        column(&rows, "version"),
        ["1.0", "1.1", "1.2"].map(|v| Some(v.to_owned()))
    );
    assert_eq!(column(&rows, "status"), vec![Some("ok".to_owned()); 3]);
    let stats = client.executor.stats();
    assert_eq!(
        (stats.connections_opened, stats.channels_opened),
        (3, 3),
        "two stages, one connection and one persistent shell per host"
    );
    for i in 0..3 {
        assert_eq!(
            fleet.accepted_connections(i),
            1,
            "logins on {}",
            host_name(i)
        );
    }

    // The next query, in the same session: a saved result, then a run on part of it.
    let rows = client.query(
        &mut session,
        "let v = hosts | run \"cat /etc/app/version\"\n\
         $v | filter stdout = 1.1 | run \"hostname\"",
    );
    assert_eq!(column(&rows, "host"), [Some("web002".to_owned())]);
    assert_eq!(column(&rows, "stdout"), [Some("web002".to_owned())]);
    assert_eq!(column(&rows, "status"), [Some("ok".to_owned())]);
    let stats = client.executor.stats();
    assert_eq!(
        (stats.connections_opened, stats.channels_opened),
        (3, 3),
        "the second query reused the first one's connections and shells"
    );
    for i in 0..3 {
        assert_eq!(
            fleet.accepted_connections(i),
            1,
            "logins on {}",
            host_name(i)
        );
    }
}

#[test]
fn twelve_runs_on_one_host_fit_in_max_sessions_two() {
    let fleet = SshdFleet::start(FleetSpec {
        max_sessions: 2,
        ..FleetSpec::new(1)
    });
    let client = strict_client(&fleet);
    // The runs share the host's persistent shell, one channel. Each timeout gives that shell
    // up and the next run starts another on the one pooled connection; a shell's channel
    // left open would use up sshd's two and the third start would be refused.
    for round in 0..12 {
        let rows = client.run_all(&format!("echo round {round}"));
        assert_eq!(rows[0].status, Status::Ok, "round {round}: {:?}", rows[0]);
        assert_eq!(rows[0].stdout, format!("round {round}"));
    }
    // A timed-out command's channel is closed too.
    for round in 0..4 {
        let rows = client.run(
            &client.hosts(),
            "sleep 600",
            Some(Duration::from_millis(200)),
        );
        assert_eq!(
            rows[0].status,
            Status::Timeout,
            "round {round}: {:?}",
            rows[0]
        );
    }
    let rows = client.run_all("echo after");
    assert_eq!(
        (rows[0].status, rows[0].stdout.as_str()),
        (Status::Ok, "after")
    );

    // One shell for the echoes and the first timeout, one for each later timeout, one for
    // "after".
    let stats = client.executor.stats();
    assert_eq!((stats.connections_opened, stats.channels_opened), (1, 5));
    assert_eq!(fleet.accepted_connections(0), 1);
}

/// Prints when the command started and ended, in nanoseconds since the epoch. The hosts
/// share the test machine's clock, so the intervals of different hosts compare.
const INTERVAL_COMMAND: &str = "date +%s%N; sleep 0.5; date +%s%N";

/// The most intervals that contain one instant. An interval that ends exactly when
/// another starts does not overlap it.
fn max_overlap(intervals: &[(u128, u128)]) -> usize {
    // At equal times ends (false) sort before starts (true).
    let mut events: Vec<(u128, bool)> = intervals
        .iter()
        .flat_map(|&(start, end)| [(start, true), (end, false)])
        .collect();
    events.sort_unstable();
    let (mut open, mut most) = (0usize, 0usize);
    for (_, starts) in events {
        if starts {
            open += 1;
            most = most.max(open);
        } else {
            open -= 1;
        }
    }
    most
}

#[test]
fn no_more_hosts_run_at_once_than_the_fanout() {
    let fleet = SshdFleet::start(FleetSpec::new(12));
    let client = client(&fleet, "fanout = 3\n", &Overrides::default());
    assert_eq!(client.inventory.settings.fanout, 3);
    // Cold (connecting inside the window), then warm (pooled connections).
    for round in ["cold", "warm"] {
        let rows = client.run_all(INTERVAL_COMMAND);
        let intervals: Vec<(u128, u128)> = rows
            .iter()
            .map(|row| {
                assert_eq!(row.status, Status::Ok, "{round}: {row:?}");
                let stamps: Vec<u128> = row
                    .stdout
                    .lines()
                    .map(|l| l.parse().expect("a date +%s%N timestamp"))
                    .collect();
                assert_eq!(stamps.len(), 2, "{round}: {row:?}");
                (stamps[0], stamps[1])
            })
            .collect();
        let most = max_overlap(&intervals);
        eprintln!("{round}: at most {most} of 12 hosts ran at once with fanout 3");
        assert!(
            most <= 3,
            "{round}: {most} hosts ran at once: {intervals:?}"
        );
        assert!(
            most >= 2,
            "{round}: the hosts ran one by one: {intervals:?}"
        );
    }
    assert_eq!(client.executor.stats().connections_opened, 12);
}

#[test]
fn overlap_counting_matches_hand_worked_cases() {
    assert_eq!(max_overlap(&[]), 0);
    assert_eq!(max_overlap(&[(0, 10), (10, 20), (20, 30)]), 1, "touching");
    assert_eq!(max_overlap(&[(0, 10), (5, 15), (9, 20), (16, 30)]), 3);
    assert_eq!(max_overlap(&[(0, 100), (10, 20), (30, 40), (50, 60)]), 2);
}

#[test]
fn a_hundred_hosts_each_answer_for_themselves_in_inventory_order() {
    const HOSTS: usize = 100;
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("3.{}.{}\n", i / 10, i % 10))]),
        ..FleetSpec::new(HOSTS)
    });
    // 100 handshakes at once on a 2-core machine that may also be compiling or running other
    // fleets can take longer than the 10 s default; the test is about answers, not speed.
    let overrides = Overrides {
        connect_timeout: Some(Duration::from_secs(60)),
        ..Overrides::default()
    };
    let client = client(&fleet, "", &overrides);
    let mut session = client.session();

    let rows = client.query(
        &mut session,
        r#"hosts | run "hostname" as name | run "cat /etc/app/version" as version"#,
    );
    assert_eq!(rows.height(), HOSTS);
    let (hosts, names) = (column(&rows, "host"), column(&rows, "name"));
    let (versions, statuses) = (column(&rows, "version"), column(&rows, "status"));
    let errors = column(&rows, "error");
    for i in 0..HOSTS {
        let row = format!("row {i}: {:?} {:?} {:?}", hosts[i], statuses[i], errors[i]);
        assert_eq!(hosts[i].as_deref(), Some(host_name(i).as_str()), "{row}");
        assert_eq!(names[i].as_deref(), Some(host_name(i).as_str()), "{row}");
        let version = format!("3.{}.{}", i / 10, i % 10);
        assert_eq!(versions[i].as_deref(), Some(version.as_str()), "{row}");
        assert_eq!(statuses[i].as_deref(), Some("ok"), "{row}");
        assert_eq!(errors[i], None, "{row}");
    }
    let stats = client.executor.stats();
    assert_eq!(
        (stats.connections_opened, stats.channels_opened),
        (100, 100),
        "both stages ran on each host's one persistent shell"
    );
    for i in 0..HOSTS {
        assert_eq!(
            fleet.accepted_connections(i),
            1,
            "logins on {}",
            host_name(i)
        );
    }
}

#[test]
fn cancelling_a_query_ends_its_commands_and_reports_every_host_cancelled() {
    let fleet = SshdFleet::start(FleetSpec::new(3));
    let overrides = Overrides {
        fanout: Some(2),
        ..Overrides::default()
    };
    let client = client(&fleet, "", &overrides);
    let hosts = client.hosts();

    // web001 and web002 take the two places in the window and never finish on their own;
    // web003 waits. Cancel once both sleeps are seen running on their hosts.
    let token = client.executor.begin_query();
    let fleet = &fleet;
    let (rows, returned_after_cancel) = thread::scope(|scope| {
        let canceller = scope.spawn(move || {
            for i in 0..2 {
                wait_for_host(&format!("the sleep to start on {}", host_name(i)), || {
                    !remote_sleeps(fleet, i).is_empty()
                });
            }
            let cancelled_at = Instant::now();
            token.cancel();
            cancelled_at
        });
        let rows = client.run(&hosts, "trap '' TERM; sleep 600", None);
        let returned = Instant::now();
        let cancelled_at = canceller.join().expect("the canceller thread");
        (rows, returned.duration_since(cancelled_at))
    });
    eprintln!("run returned {returned_after_cancel:?} after the cancel");
    // A hang guard, not a speed test: the executor documents one second; a run that
    // waited for its commands (600 s) or their timeout (60 s) fails here.
    assert!(
        returned_after_cancel < Duration::from_secs(5),
        "{returned_after_cancel:?}"
    );
    for row in &rows[..2] {
        assert_eq!(row.status, Status::Cancelled, "{row:?}");
        assert_eq!(row.error.as_deref(), Some("cancelled"));
    }
    assert_eq!(rows[2].status, Status::Cancelled, "{:?}", rows[2]);
    assert_eq!(
        rows[2].error.as_deref(),
        Some("cancelled before the command started")
    );
    assert_eq!(
        fleet.accepted_connections(2),
        0,
        "web003 never even connected"
    );
    for i in 0..2 {
        wait_for_host(&format!("sleep left on {}", host_name(i)), || {
            remote_sleeps(fleet, i).is_empty()
        });
    }

    // The token stays cancelled until the next query begins.
    let rows = client.run_all("true");
    assert!(
        rows.iter().all(|r| r.status == Status::Cancelled),
        "{rows:?}"
    );
    client.executor.begin_query();
    let rows = client.run_all("hostname");
    assert!(rows.iter().all(|r| r.status == Status::Ok), "{rows:?}");
    assert_eq!(rows[2].stdout, "web003");
}
