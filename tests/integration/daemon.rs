//! `shoal daemon`, `shoal bots` and `shoal watch` against real OpenSSH hosts and the real
//! binary: hysteresis with a flapping host beside a steadily failing one, an unreachable
//! host that is unknown and never ok, a bot whose action never fixes its host acting
//! exactly N times and no more after a SIGKILL and a restart (which resumes the alarm's
//! state), the correlation on firing naming a seeded cause, /metrics in Prometheus text,
//! and `--dry-run` touching no host. What the daemon did is read from its job store with
//! SQLite, and what it did on hosts from marker files. Intervals are a few hundred
//! milliseconds, and every wait polls up to a generous deadline.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

/// How long any one wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(90);

/// A fleet of `hosts` with `files` in each /etc/app, which the login user may write.
fn fleet(hosts: usize, files: impl Fn(usize) -> Vec<(String, String)> + 'static) -> SshdFleet {
    let mut spec = FleetSpec::new(hosts);
    spec.files = Box::new(files);
    let fleet = SshdFleet::start(spec);
    for node in fleet.hosts() {
        fs::set_permissions(&node.data_dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    fs::write(
        fleet.dir().join("shoal.toml"),
        fleet.inventory_toml(|_| Vec::new()),
    )
    .unwrap();
    fleet
}

fn store(fleet: &SshdFleet) -> PathBuf {
    fleet.dir().join(".shoal/shoal.db")
}

/// A daemon on `config` with its stderr in `log`, the fleet's inventory and job store.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn start(fleet: &SshdFleet, config: &Path, args: &[&str]) -> Running {
        let log = fleet.dir().join(format!("daemon-{}.log", next_log()));
        let child = shoal_command(fleet.dir())
            .arg("--inventory")
            .arg(fleet.dir().join("shoal.toml"))
            .arg("daemon")
            .arg(config)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Running { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: i32) {
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// SIGTERM, and the exit code once it has stopped.
    fn stop(mut self) -> Option<i32> {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "SIGTERM did not stop the daemon:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A log file name of its own for each daemon a test starts.
fn next_log() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// Polls `check` until it is true, failing with `what` and the log after [`DEADLINE`].
fn wait_for(what: &str, daemon: &Running, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what}: never happened\n--- daemon log\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The store's events of `kind`, oldest first, as JSON.
fn events(fleet: &SshdFleet, kind: &str) -> Vec<serde_json::Value> {
    let Ok(connection) = rusqlite::Connection::open(store(fleet)) else {
        return Vec::new();
    };
    let Ok(mut statement) =
        connection.prepare("SELECT body FROM daemon_events WHERE kind = ?1 ORDER BY id")
    else {
        return Vec::new();
    };
    statement
        .query_map([kind], |row| row.get::<_, String>(0))
        .map(|rows| {
            rows.flatten()
                .map(|body| serde_json::from_str(&body).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// One number from the store, 0 while it cannot be read yet.
fn count(fleet: &SshdFleet, sql: &str) -> i64 {
    rusqlite::Connection::open(store(fleet))
        .and_then(|c| c.query_row(sql, [], |row| row.get(0)))
        .unwrap_or(0)
}

/// Each host's stored state for `alarm`, by host name.
fn states(fleet: &SshdFleet, alarm: &str) -> Vec<(String, String)> {
    let connection = rusqlite::Connection::open(store(fleet)).unwrap();
    let mut statement = connection
        .prepare("SELECT host, state FROM alarm_hosts WHERE alarm = ?1 ORDER BY host")
        .unwrap();
    statement
        .query_map([alarm], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .flatten()
        .collect()
}

fn hosts_of(event: &serde_json::Value) -> Vec<String> {
    event["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect()
}

fn write_config(fleet: &SshdFleet, name: &str, text: &str) -> PathBuf {
    let path = fleet.dir().join(name);
    fs::write(&path, text).unwrap();
    path
}

/// A check whose answer alternates FAIL, OK, FAIL… from one call to the next.
const FLAPPING: &str = "n=$(cat /etc/app/n 2>/dev/null || echo 0); echo $((n + 1)) > /etc/app/n\nif [ $((n % 2)) -eq 0 ]; then echo FAIL; else echo OK; fi\n";

#[test]
fn a_flapping_host_does_not_fire_a_steady_one_does_and_an_unreachable_one_is_unknown() {
    let mut fleet = fleet(4, |i| {
        let check = match i {
            0 => FLAPPING.to_string(),
            1 => "echo FAIL\n".into(),
            _ => "echo OK\n".into(),
        };
        vec![("check.sh".into(), check)]
    });
    fleet.stop_host(3);
    let config = write_config(
        &fleet,
        "health.shoal",
        "alarm health every 300ms fire_after=3 clear_after=2 unknown_after=2\n  query hosts | run \"sh /etc/app/check.sh\" as health\n  when health != OK\n",
    );
    let daemon = Running::start(&fleet, &config, &[]);
    let flapped = |fleet: &SshdFleet| {
        fs::read_to_string(fleet.hosts()[0].data_dir.join("n"))
            .ok()
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    wait_for("ten ticks on the flapping host", &daemon, || {
        flapped(&fleet) >= 10
    });
    wait_for("the unknown alert", &daemon, || {
        !events(&fleet, "unknown").is_empty()
    });
    assert_eq!(daemon.stop(), Some(0));

    let firing = events(&fleet, "firing");
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(hosts_of(&firing[0]), ["web002"]);
    assert_eq!(hosts_of(&events(&fleet, "unknown")[0]), ["web004"]);
    let states = states(&fleet, "health");
    assert!(
        states.contains(&("web002".into(), "firing".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("web004".into(), "unknown".into())),
        "{states:?}"
    );
    let flapping = states
        .iter()
        .find(|(h, _)| h == "web001")
        .map(|(_, s)| s.as_str());
    assert!(matches!(flapping, Some("ok" | "pending")), "{states:?}");
    // The unreachable host was never stored as anything but unknown.
    assert_eq!(
        count(
            &fleet,
            "SELECT count(*) FROM alarm_hosts WHERE host = 'web004' AND state != 'unknown'"
        ),
        0
    );
}

/// Three hosts, the first of which fails its health check.
fn first_host_failing() -> SshdFleet {
    fleet(3, |i| {
        vec![("health".into(), if i == 0 { "FAIL" } else { "OK" }.into())]
    })
}

/// How many times a bot's `echo x >> /etc/app/acted` ran on the first host.
fn actions_on_first_host(fleet: &SshdFleet) -> usize {
    fs::read_to_string(fleet.hosts()[0].data_dir.join("acted"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_bot_acts_n_times_then_its_breaker_holds_across_a_sigkill_and_a_restart() {
    let fleet = first_host_failing();
    let actions = || actions_on_first_host(&fleet);
    let config = write_config(
        &fleet,
        "bot.shoal",
        "alarm app every 300ms\n  query hosts | run \"cat /etc/app/health\" as health\n  when health != OK\n\nbot fixer on app\n  act \"echo x >> /etc/app/acted\" batch=1\n  limit 2 per 1h\n",
    );
    let daemon = Running::start(&fleet, &config, &[]);
    wait_for("the breaker tripping", &daemon, || {
        !events(&fleet, "breaker_tripped").is_empty()
    });
    // A few more ticks: the breaker holds.
    let ticks = count(&fleet, "SELECT count(*) FROM daemon_ticks");
    wait_for("five more ticks", &daemon, || {
        count(&fleet, "SELECT count(*) FROM daemon_ticks") >= ticks + 5
    });
    assert_eq!(actions(), 2, "{}", daemon.log());
    daemon.kill();

    let daemon = Running::start(&fleet, &config, &[]);
    let ticks = count(&fleet, "SELECT count(*) FROM daemon_ticks");
    wait_for("five ticks after the restart", &daemon, || {
        count(&fleet, "SELECT count(*) FROM daemon_ticks") >= ticks + 5
    });
    assert_eq!(
        actions(),
        2,
        "a SIGKILL reset the breaker:\n{}",
        daemon.log()
    );
    // The restart resumed the alarm: web001 was still firing, so it did not fire again.
    assert_eq!(events(&fleet, "firing").len(), 1);
    assert!(
        daemon.log().contains("resumed the states of"),
        "{}",
        daemon.log()
    );
    assert_eq!(events(&fleet, "breaker_tripped").len(), 1);

    // `shoal bots` shows it, and a reset lets the bot act again.
    let args = ["bots", "--format", "json"];
    let out = shoal_command(fleet.dir()).args(args).output().unwrap();
    let bots: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&args, &out)));
    assert_eq!(bots[0]["bot"], "fixer");
    assert_eq!(bots[0]["tripped"], "web001");
    assert_eq!(bots[0]["acted"], "2");
    let args = ["bots", "reset", "fixer"];
    let out = shoal_command(fleet.dir()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    wait_for("an action after the reset", &daemon, || actions() >= 3);
    let args = ["bots", "pause", "fixr"];
    let out = shoal_command(fleet.dir()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 'fixer'?"));
    assert_eq!(daemon.stop(), Some(0));
    assert_eq!(events(&fleet, "bot_reset").len(), 1, "the reset is audited");
}

#[test]
fn sigterm_lets_the_wave_in_flight_finish_and_starts_no_other() {
    let fleet = fleet(6, |i| {
        vec![("health".into(), if i < 3 { "FAIL" } else { "OK" }.into())]
    });
    let marked = |fleet: &SshdFleet| {
        (0..6)
            .filter(|&i| fleet.hosts()[i].data_dir.join("marker").exists())
            .count()
    };
    let config = write_config(
        &fleet,
        "waves.shoal",
        "alarm app every 300ms\n  query hosts | run \"cat /etc/app/health\" as health\n  when health != OK\n\nbot fixer on app\n  act \"touch /etc/app/marker\" batch=1 pause=3s\n  limit 1 per 1h\n",
    );
    let daemon = Running::start(&fleet, &config, &[]);
    wait_for("the canary", &daemon, || marked(&fleet) == 1);
    let log = daemon.log.clone();
    assert_eq!(daemon.stop(), Some(0));
    let log = fs::read_to_string(log).unwrap();
    assert_eq!(marked(&fleet), 1, "a wave started after SIGTERM:\n{log}");
    assert!(
        log.contains("stopping after the tick in flight") && log.contains("stopped"),
        "{log}"
    );
}

#[test]
fn a_store_that_cannot_be_written_stops_the_bots_but_not_the_alarms() {
    let fleet = first_host_failing();
    let actions = || actions_on_first_host(&fleet);
    let config = write_config(
        &fleet,
        "bot.shoal",
        "alarm app every 300ms\n  query hosts | run \"cat /etc/app/health\" as health\n  when health != OK\n\nbot fixer on app\n  act \"echo x >> /etc/app/acted\"\n  limit 1000 per 1h\n",
    );
    let daemon = Running::start(&fleet, &config, &[]);
    wait_for("a first action", &daemon, || actions() >= 1);
    // The ticks' table gone: every tick's write fails from now on.
    rusqlite::Connection::open(store(&fleet))
        .unwrap()
        .execute_batch("DROP TABLE daemon_ticks")
        .unwrap();
    wait_for("the failed write", &daemon, || {
        daemon.log().contains("the job store failed")
    });
    let before = actions();
    wait_for("five refusals", &daemon, || {
        daemon
            .log()
            .matches("not acting on web001: the job store cannot be written")
            .count()
            >= 5
    });
    assert_eq!(
        actions(),
        before,
        "a bot acted with a broken store:\n{}",
        daemon.log()
    );
    // The alarm still ran and said so, on every tick.
    assert!(!events(&fleet, "bot_refused").is_empty());
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn a_firing_names_what_sets_the_hosts_apart_notifies_and_shows_in_metrics() {
    // web001 and web002 run BIOS 2.1.7 and fail; the other six run 2.3.0 and pass.
    let fleet = fleet(8, |i| {
        let (bios, health) = if i < 2 {
            ("2.1.7", "FAIL")
        } else {
            ("2.3.0", "OK")
        };
        vec![
            ("bios".into(), bios.into()),
            ("health".into(), health.into()),
        ]
    });
    let notified = fleet.dir().join("notified.jsonl");
    let config = write_config(
        &fleet,
        "bios.shoal",
        &format!(
            "alarm app every 300ms severity=page\n  query hosts | run \"cat /etc/app/bios\" as bios | run \"cat /etc/app/health\" as health\n  when health != OK\n  notify \"cat >> {}\"\n",
            notified.display()
        ),
    );
    let daemon = Running::start(&fleet, &config, &["--metrics", "127.0.0.1:0"]);
    wait_for("the firing", &daemon, || {
        !events(&fleet, "firing").is_empty()
    });
    let firing = &events(&fleet, "firing")[0];
    assert_eq!(hosts_of(firing), ["web001", "web002"]);
    let features = firing["correlation"].as_array().unwrap();
    assert!(
        features
            .iter()
            .all(|f| !f["feature"].as_str().unwrap().contains("FAIL")),
        "the condition's own column, or a copy of it, explained the firing: {firing}"
    );
    let top = &features[0];
    assert_eq!(top["feature"], "bios = 2.1.7", "{firing}");
    assert_eq!(
        (top["firing"].as_str(), top["rest"].as_str()),
        (Some("2/2"), Some("0/6"))
    );
    assert!(
        daemon
            .log()
            .contains("bios = 2.1.7, 2/2 of firing, 0/6 of the rest"),
        "{}",
        daemon.log()
    );
    // notify got the same event, one JSON object a line.
    wait_for("the notify command", &daemon, || notified.exists());
    let line = fs::read_to_string(&notified).unwrap();
    let sent: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(
        (sent["kind"].as_str(), sent["severity"].as_str()),
        (Some("firing"), Some("page"))
    );
    assert_eq!(sent["correlation"][0]["feature"], "bios = 2.1.7");

    let log = daemon.log();
    let address = log
        .split("metrics on http://")
        .nth(1)
        .and_then(|rest| rest.split("/metrics").next())
        .unwrap_or_else(|| panic!("no metrics address in the log:\n{log}"))
        .to_string();
    let text = scrape(&address);
    let samples = parse_prometheus_text(&text);
    let value = |name: &str, labels: &str| {
        samples
            .iter()
            .find(|(n, l, _)| n == name && l == labels)
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("no {name}{{{labels}}} in:\n{text}"))
    };
    assert!(value("shoal_alarm_ticks_total", "alarm=\"app\"") >= 1.0);
    assert!(value("shoal_alarm_query_duration_seconds_count", "alarm=\"app\"") >= 1.0);
    assert_eq!(
        value("shoal_alarm_hosts", "alarm=\"app\",state=\"firing\""),
        2.0
    );
    assert_eq!(
        value("shoal_alarm_query_hosts", "alarm=\"app\",status=\"ok\""),
        8.0
    );
    assert_eq!(value("shoal_store_write_errors_total", ""), 0.0);
    assert_eq!(daemon.stop(), Some(0));
}

/// GET /metrics, the body.
fn scrape(address: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: shoal\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// The Prometheus text exposition format (0.0.4), checked line by line as Prometheus reads
/// it: `# HELP name text`, `# TYPE name type` before the family's samples, and samples
/// `name{label="value",...} number`, names `[a-zA-Z_:][a-zA-Z0-9_:]*`. Panics on a line that
/// breaks it; returns each sample as (name, labels, value).
fn parse_prometheus_text(text: &str) -> Vec<(String, String, f64)> {
    let valid_name = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut typed: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), Some(_)) => assert!(valid_name(name), "{line}"),
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(valid_name(name), "{line}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{line}"
                    );
                    typed.push(name.to_string());
                }
                _ => panic!("a comment Prometheus does not read: {line}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (
                name,
                rest.strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}")),
            ),
            None => (series, ""),
        };
        assert!(valid_name(name), "{line}");
        for label in labels.split(',').filter(|l| !l.is_empty()) {
            let (key, quoted) = label
                .split_once('=')
                .unwrap_or_else(|| panic!("bad label: {line}"));
            assert!(
                valid_name(key) && quoted.starts_with('"') && quoted.ends_with('"'),
                "{line}"
            );
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| typed.iter().any(|t| t == f))
            })
            .unwrap_or(name);
        assert!(
            typed.iter().any(|t| t == family),
            "a sample before its TYPE: {line}"
        );
        samples.push((name.to_string(), labels.to_string(), value));
    }
    samples
}

#[test]
fn dry_run_touches_no_host_bad_files_are_rejected_and_sighup_reloads() {
    let fleet = first_host_failing();
    let dir = fleet.dir().join("alarms");
    fs::create_dir(&dir).unwrap();
    let notified = fleet.dir().join("notified");
    fs::write(
        dir.join("app.shoal"),
        format!(
            "alarm app every 300ms\n  query hosts | run \"cat /etc/app/health\" as health\n  when health != OK\n  notify \"touch {}\"\n\nbot fixer on app\n  act \"touch /etc/app/marker\"\n  limit 5 per 1h\n",
            notified.display()
        ),
    )
    .unwrap();
    // A typo in a second file: rejected with its line and caret, and the first runs.
    fs::write(
        dir.join("typo.shoal"),
        "alarm disk every 1s\n  query hosts | run \"df -P /\" | colums\n  when use_pct > 90\n",
    )
    .unwrap();
    let daemon = Running::start(&fleet, &dir, &["--dry-run"]);
    wait_for("a dry-run action", &daemon, || {
        daemon.log().contains("would act on web001")
    });
    let log = daemon.log();
    assert!(log.contains("typo.shoal:2:33"), "{log}");
    assert!(log.contains("did you mean 'columns'?"), "{log}");

    // SIGHUP: a file that now does not parse keeps its old version; a new file loads.
    fs::write(
        dir.join("app.shoal"),
        "alarm app every 300ms\n  query hosts |\n",
    )
    .unwrap();
    fs::write(
        dir.join("more.shoal"),
        "alarm more every 300ms\n  query hosts | run \"cat /etc/app/health\" as health\n  when health = FAIL\n",
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    wait_for("the new alarm ticking", &daemon, || {
        count(
            &fleet,
            "SELECT count(*) FROM daemon_ticks WHERE alarm = 'more'",
        ) >= 2
    });
    let log = daemon.log();
    assert!(
        log.contains("the version that loaded before keeps running"),
        "{log}"
    );
    let ticks = count(
        &fleet,
        "SELECT count(*) FROM daemon_ticks WHERE alarm = 'app'",
    );
    wait_for("the old alarm still ticking", &daemon, || {
        count(
            &fleet,
            "SELECT count(*) FROM daemon_ticks WHERE alarm = 'app'",
        ) >= ticks + 2
    });
    assert_eq!(daemon.stop(), Some(0));

    for node in fleet.hosts() {
        assert!(
            !node.data_dir.join("marker").exists(),
            "{} was changed",
            node.name
        );
    }
    assert!(!notified.exists(), "a dry run called notify");
    let acted = events(&fleet, "acted");
    assert!(
        !acted.is_empty() && acted.iter().all(|e| e["dry_run"] == true),
        "{acted:?}"
    );
    assert_eq!(
        count(&fleet, "SELECT count(*) FROM bot_actions WHERE dry_run = 0"),
        0
    );
}

#[test]
fn watch_runs_the_query_again_and_marks_what_changed_until_ctrl_c() {
    let fleet = fleet(2, |_| vec![("health".into(), "OK".into())]);
    let out = fleet.dir().join("watch.out");
    let mut child = shoal_command(fleet.dir())
        .arg("--inventory")
        .arg(fleet.dir().join("shoal.toml"))
        .args(["watch", "--every", "200ms", "-c"])
        .arg("hosts | run \"cat /etc/app/health\" as health | select host, health")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = || fs::read_to_string(&out).unwrap_or_default();
    let deadline = Instant::now() + DEADLINE;
    while !printed().contains("tick 2 ") {
        assert!(Instant::now() < deadline, "no second tick:\n{}", printed());
        std::thread::sleep(Duration::from_millis(50));
    }
    fs::write(fleet.hosts()[1].data_dir.join("health"), "FAIL").unwrap();
    while !printed().contains("changed") {
        assert!(
            Instant::now() < deadline,
            "the change was never marked:\n{}",
            printed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let text = printed();
    assert_eq!(status.code(), Some(0), "{text}");
    let changed = text.lines().find(|l| l.contains("changed")).unwrap();
    assert!(
        changed.contains("web002") && changed.contains("FAIL"),
        "{text}"
    );
    // Each tick is a block of its own when stdout is not a terminal, on one pooled
    // connection per host.
    assert!(text.matches("--- every 200ms").count() >= 3, "{text}");
    assert_eq!(fleet.accepted_connections(0), 1);
}
