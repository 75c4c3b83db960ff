//! Drives the built `shoal` binary: exit codes, error rendering, --explain,
//! help, JSON/CSV output of a real run against OpenSSH servers, and SIGINT
//! during a run.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

/// Runs shoal with `args`; on a failed expectation the caller prints [`describe`].
fn shoal(args: &[&str]) -> Output {
    shoal_command(&std::env::temp_dir())
        .args(args)
        .output()
        .expect("the shoal binary runs")
}

fn expect(args: &[&str], code: i32) -> (String, String) {
    let out = shoal(args);
    assert_eq!(out.status.code(), Some(code), "{}", describe(args, &out));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_typo_in_a_stage_exits_2_with_a_caret_and_a_suggestion() {
    let (_, stderr) = expect(&["-c", "hosts | filtr az=x"], 2);
    assert!(stderr.contains("error: unknown stage `filtr`"), "{stderr}");
    assert!(stderr.contains(" --> 1:9"), "{stderr}");
    assert!(stderr.contains("  |         ^^^^^"), "{stderr}");
    assert!(stderr.contains("did you mean 'filter'?"), "{stderr}");
}

#[test]
fn explain_prints_the_plan_as_json_without_an_inventory() {
    let (stdout, _) = expect(
        &[
            "--explain",
            "-c",
            "hosts @web | run \"uptime\" timeout=5s as up",
        ],
        0,
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let op = &plan["statements"][0]["ops"][0];
    assert_eq!(op["op"], "run");
    assert_eq!(op["timeout_ms"], 5000);
    assert_eq!(op["name"], "up");
    assert!(
        plan["statements"][0].get("fused_stages").is_none(),
        "one run fuses with nothing"
    );

    let (stdout, _) = expect(
        &[
            "--explain",
            "-c",
            "hosts | run \"a\" | facts | filter status = ok | run \"b\" as v | run \"echo {v}\"",
        ],
        0,
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        plan["statements"][0]["fused_stages"],
        serde_json::json!([[0, 1]])
    );
}

#[test]
fn help_comes_from_the_registry() {
    let (stdout, _) = expect(&["help"], 0);
    for stage in [
        "filter", "run", "select", "sort", "head", "count", "distinct",
    ] {
        assert!(stdout.contains(stage), "{stdout}");
    }
    let (stdout, _) = expect(&["help", "count"], 0);
    assert!(stdout.contains("count [by COL, ...]"), "{stdout}");
    let (_, stderr) = expect(&["help", "cuont"], 2);
    assert!(stderr.contains("did you mean 'count'?"), "{stderr}");
}

#[test]
fn a_missing_or_broken_inventory_exits_2_before_anything_runs() {
    let (_, stderr) = expect(
        &["-c", "hosts", "--inventory", "/nonexistent/shoal.toml"],
        2,
    );
    assert!(stderr.contains("/nonexistent/shoal.toml"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shoal.toml");
    std::fs::write(&path, "[[hosts]]\nname = \"a\"\nnmae = \"typo\"\n").unwrap();
    let (_, stderr) = expect(&["-c", "hosts", "--inventory", path.to_str().unwrap()], 2);
    assert!(
        stderr.contains("shoal.toml:3"),
        "the error names the line: {stderr}"
    );
    assert!(
        stderr.contains("nmae"),
        "the error names the field: {stderr}"
    );
}

fn fleet_inventory(fleet: &SshdFleet, dir: &Path) -> String {
    let toml = fleet.inventory_toml(|i| {
        vec![
            (
                "az".into(),
                if i % 2 == 0 {
                    "us-east-1a"
                } else {
                    "us-east-1b"
                }
                .into(),
            ),
            ("role".into(), "web".into()),
        ]
    });
    let path = dir.join("shoal.toml");
    std::fs::write(&path, toml).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_real_run_prints_json_and_csv_rows_and_exit_codes_follow_host_status() {
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("2.{}.0\n", i % 2))]),
        ..FleetSpec::new(5)
    });
    let dir = tempfile::tempdir().unwrap();
    let inventory = fleet_inventory(&fleet, dir.path());
    let inv = ["--inventory", inventory.as_str()];

    let args = [
        &inv[..],
        &[
            "--format",
            "json",
            "-c",
            "hosts | run \"cat /etc/app/version; hostname\" as out",
        ],
    ]
    .concat();
    let (stdout, stderr) = expect(&args, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("a JSON array of rows");
    assert_eq!(rows.len(), 5, "{stdout}");
    for (i, row) in rows.iter().enumerate() {
        let name = &fleet.hosts()[i].name;
        assert_eq!(row["host"], name.as_str(), "inventory order");
        assert_eq!(row["status"], "ok", "{row}");
        assert_eq!(row["exit"], 0, "exit is a JSON number");
        // Each host's own file and its own hostname (UTS namespace).
        assert_eq!(row["stdout"], format!("2.{}.0\n{name}", i % 2), "{row}");
        assert_eq!(row["out"], row["stdout"]);
    }
    assert!(stderr.contains("5 hosts: 5 ok"), "summary line: {stderr}");

    let args = [
        &inv[..],
        &[
            "--format",
            "csv",
            "-c",
            "hosts | run \"exit 3\" | select host, exit, status",
        ],
    ]
    .concat();
    let (stdout, stderr) = expect(&args, 1);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("host,exit,status"));
    assert_eq!(
        lines.next(),
        Some(format!("{},3,failed", fleet.hosts()[0].name).as_str())
    );
    assert!(stderr.contains("5 hosts: 5 failed"), "{stderr}");

    let args = [
        &inv[..],
        &[
            "-c",
            "hosts | run \"cat /etc/app/version\" | count by az, stdout",
        ],
    ]
    .concat();
    let (stdout, _) = expect(&args, 0);
    assert!(
        stdout.contains("us-east-1a") && stdout.contains("│ 3 "),
        "{stdout}"
    );
}

#[test]
fn scripts_take_parameters_and_name_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check.shoal");
    std::fs::write(
        &script,
        "# which hosts\nhosts @{{group}} | filter az = {{az}}\n",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let (_, stderr) = expect(&["run", script, "--param", "group=web"], 2);
    assert!(
        stderr.contains("`az`") && stderr.contains("--param az="),
        "{stderr}"
    );
    let (stdout, _) = expect(
        &[
            "--explain",
            "run",
            script,
            "--param",
            "group=web",
            "--param",
            "az=us-east-1a",
        ],
        0,
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["statements"][0]["source"]["name"], "web");
    assert_eq!(
        plan["statements"][0]["ops"][0]["predicate"]["value"]["text"],
        "us-east-1a"
    );
}

#[test]
fn hostile_script_parameters_reach_the_host_as_one_literal_argument() {
    let fleet = SshdFleet::start(FleetSpec::new(1));
    let dir = tempfile::tempdir().unwrap();
    let inventory = fleet_inventory(&fleet, dir.path());
    let marker = dir.path().join("pwned");
    let script = dir.path().join("echo.shoal");
    std::fs::write(&script, "hosts | run \"printf %s {{v}}\" | select stdout\n").unwrap();
    let touch = format!("touch {}", marker.display());
    for evil in [
        format!("x; {touch}"),
        format!("$({touch})"),
        format!("`{touch}`"),
        format!("a'b\"c; {touch}"),
        format!("line\n{touch}"),
    ] {
        let param = format!("v={evil}");
        let args = [
            "--inventory",
            inventory.as_str(),
            "--format",
            "json",
            "run",
            script.to_str().unwrap(),
            "--param",
            &param,
        ];
        let (stdout, _) = expect(&args, 0);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            rows[0]["stdout"],
            evil.as_str(),
            "the host printed the value literally"
        );
        assert!(!marker.exists(), "the value {evil:?} was executed");
    }
}

/// More hosts than the open-file limit has room for: the pool closes the least recently
/// used idle connections to make room, so every host answers, twice in one process, and
/// none ends `unreachable` for lack of file descriptors.
#[test]
fn a_fleet_larger_than_the_open_file_limit_is_reached_whole() {
    let fleet = SshdFleet::start(FleetSpec::new(80));
    let dir = tempfile::tempdir().unwrap();
    let inventory = fleet_inventory(&fleet, dir.path());
    // 100 open files, 64 kept back: room for 36 connections, fewer than half the hosts.
    let out = Command::new("prlimit")
        .arg("--nofile=100:100")
        .arg(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "--inventory",
            &inventory,
            "--no-store",
            "--format",
            "json",
            "-c",
        ])
        .arg("hosts | run \"hostname\"; hosts | run \"hostname\"")
        .env("NO_COLOR", "1")
        .output()
        .expect("prlimit (util-linux) runs shoal");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the least recently used idle ones are closed"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        let rows: Vec<serde_json::Value> = serde_json::from_str(line).unwrap();
        assert_eq!(rows.len(), 80);
        for row in &rows {
            assert_eq!(row["status"], "ok", "{row}");
            assert_eq!(row["stdout"], row["host"], "{row}");
        }
    }
}

#[test]
fn max_connections_keeps_fewer_connections_open_and_every_host_still_answers() {
    let fleet = SshdFleet::start(FleetSpec::new(20));
    let dir = tempfile::tempdir().unwrap();
    let inventory = fleet_inventory(&fleet, dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args([
            "--inventory",
            &inventory,
            "--no-store",
            "--max-connections",
            "5",
        ])
        .args(["--format", "json", "-c"])
        .arg("hosts | run \"hostname\"; hosts | run \"hostname\"")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        let rows: Vec<serde_json::Value> = serde_json::from_str(line).unwrap();
        assert_eq!(rows.len(), 20);
        assert!(
            rows.iter().all(|row| row["stdout"] == row["host"]),
            "{line}"
        );
    }
    // With room for 5, at most 5 of the first query's connections outlive it: the second
    // query reconnects at least 15 hosts (without the cap it would reuse all 20).
    let logins: usize = (0..20).map(|i| fleet.accepted_connections(i)).sum();
    assert!((35..=40).contains(&logins), "{logins} logins");
}

/// Column values interpolated into a command (`{tag}`) reach the host as
/// literal arguments: each prints exactly, and none runs.
#[test]
fn a_fan_out_the_open_file_limit_cannot_hold_is_capped_with_a_warning() {
    let fleet = SshdFleet::start(FleetSpec::new(3));
    let dir = tempfile::tempdir().unwrap();
    let inventory = fleet_inventory(&fleet, dir.path());
    // A hard limit of 200 open files: shoal raises its soft limit to that, keeps 64 back,
    // and can have 136 hosts in flight, not the 256 asked for.
    let out = Command::new("prlimit")
        .arg("--nofile=200:200")
        .arg(env!("CARGO_BIN_EXE_shoal"))
        .args(["--inventory", &inventory, "--fanout", "256"])
        .args(["--format", "json", "-c", r#"hosts | run "true""#])
        .env("NO_COLOR", "1")
        .output()
        .expect("prlimit (util-linux) runs shoal");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.starts_with(
            "warning: fan-out capped at 136 hosts in flight (asked for 256) by the open-file \
             limit (RLIMIT_NOFILE soft 200, hard 200"
        ),
        "{stderr}"
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows.iter().all(|r| r["status"] == "ok"), "{rows:?}");

    // Without the low limit, nothing to say.
    let (_, stderr) = expect(
        &[
            "--inventory",
            &inventory,
            "--fanout",
            "256",
            "-c",
            r#"hosts | run "true""#,
        ],
        0,
    );
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn hostile_column_values_reach_the_host_as_one_literal_argument() {
    let fleet = SshdFleet::start(FleetSpec::new(1));
    let dir = tempfile::tempdir().unwrap();
    // On the host, in a directory its user may write to, so that a value
    // that did run would leave it behind.
    let canary = format!("/tmp/shoal-canary-{}", std::process::id());
    let touch = format!("touch {canary}");
    let values = [
        format!("x; {touch}"),
        format!("$({touch})"),
        format!("`{touch}`"),
        format!("a'b\"c'; {touch}; '"),
        format!("line\n{touch}"),
        String::new(),
    ];
    let tags: Vec<(String, String)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("t{i}"), v.clone()))
        .collect();
    let inventory = dir.path().join("shoal.toml");
    std::fs::write(&inventory, fleet.inventory_toml(|_| tags.clone())).unwrap();
    let placeholders: Vec<String> = (0..values.len()).map(|i| format!("{{t{i}}}")).collect();
    let query = format!(
        "hosts | run \"printf '[%s]' {}\" | select stdout, status",
        placeholders.join(" ")
    );
    let inv = ["--inventory", inventory.to_str().unwrap()];
    let (stdout, _) = expect(&[&inv[..], &["--format", "json", "-c", &query]].concat(), 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let printed: String = values.iter().map(|v| format!("[{v}]")).collect();
    assert_eq!(rows[0]["stdout"], printed.as_str(), "printed literally");
    let exists = format!("test -e {canary} && echo exists");
    assert_eq!(fleet.run_on_host(0, &exists), "", "a value was executed");

    // The check can see a file the command does make.
    let control = format!("hosts | run \"{touch}\"");
    expect(&[&inv[..], &["-c", &control]].concat(), 0);
    assert_eq!(fleet.run_on_host(0, &exists), "exists\n");
    fleet.run_on_host(0, &format!("rm -f {canary}"));
}

#[test]
fn the_demo_fleet_answers_as_thirty_real_ssh_hosts() {
    let (stdout, _) = expect(
        &["demo", "--format", "json", "-c", "hosts | count by az"],
        0,
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let total: i64 = rows.iter().map(|r| r["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 30, "{stdout}");
    assert_eq!(rows.len(), 3, "three AZs: {stdout}");
    // The seeded incident is there, over real SSH.
    let query = "hosts | run \"cat etc/app/health\" as health | run \"grep max_conns etc/app/app.conf\" as conf | count by health, conf";
    let (stdout, stderr) = expect(&["demo", "--format", "csv", "-c", query], 0);
    assert!(stdout.contains("FAIL,max_conns=64,7"), "{stdout}");
    assert!(stdout.contains("OK,max_conns=1024,23"), "{stdout}");
    assert!(stderr.contains("30 hosts: 30 ok"), "{stderr}");
}

/// How long a host may take to start or end a command before a test gives up on it.
const SETTLE: Duration = Duration::from_secs(20);

/// Waits until `done` holds, checking every 20 ms; fails after [`SETTLE`] saying `what`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !done() {
        assert!(Instant::now() < deadline, "{what} (waited {SETTLE:?})");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The test user's `sleep` processes on host `i`, as `pgrep -a` lists them (empty: none).
fn remote_sleeps(fleet: &SshdFleet, i: usize) -> String {
    fleet.run_on_host(i, "pgrep -a -u shoaltest -x sleep")
}

#[test]
fn sigint_during_a_run_prints_what_finished_and_the_cancelled_rows_and_exits_130() {
    const HOSTS: usize = 4;
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let dir = tempfile::tempdir().unwrap();
    let inventory = fleet_inventory(&fleet, dir.path());
    // web001 answers at once; the others sleep until the interrupt.
    let query = r#"hosts | run 'case "$(hostname)" in web001) hostname;; *) sleep 30;; esac'"#;
    let args = ["--inventory", &inventory, "--format", "json", "-c", query];
    let child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the shoal binary runs");
    let pid = libc::pid_t::try_from(child.id()).expect("pids fit in pid_t");
    // A hang guard: if shoal ignores the interrupt, kill it so the test fails on its exit
    // code instead of waiting for ever.
    let (exited, watch) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watch.recv_timeout(Duration::from_secs(60)).is_err() {
            // SAFETY: kill(2) takes plain integers; the child is reaped only after `exited`.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    for i in 1..HOSTS {
        wait_for(&format!("the sleep to start on host {i}"), || {
            !remote_sleeps(&fleet, i).is_empty()
        });
    }

    let sent = Instant::now();
    // SAFETY: kill(2) takes plain integers; the child is not reaped yet.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let out = child.wait_with_output().expect("wait for shoal");
    let took = sent.elapsed();
    let _ = exited.send(());
    let _ = watchdog.join();
    eprintln!("shoal exited {took:?} after SIGINT");
    assert_eq!(out.status.code(), Some(130), "{}", describe(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("a JSON array");
    assert_eq!(rows.len(), HOSTS, "every host keeps its row: {stdout}");
    assert_eq!(
        (&rows[0]["status"], &rows[0]["stdout"]),
        (&"ok".into(), &"web001".into()),
        "the row that finished: {}",
        rows[0]
    );
    for row in &rows[1..] {
        assert_eq!(row["status"], "cancelled", "{row}");
        assert_eq!(row["error"], "cancelled", "{row}");
    }
    assert!(
        stderr.contains("cancelled: the rows above are what finished before Ctrl-C"),
        "{stderr}"
    );
    for i in 1..HOSTS {
        wait_for(&format!("sleep left on host {i}"), || {
            remote_sleeps(&fleet, i).is_empty()
        });
    }
}

#[test]
fn with_only_an_ssh_config_the_shell_counts_and_lists_its_hosts() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ssh_config");
    std::fs::write(
        &config,
        "Host web1 web2 db-1\n  User x\nHost *.internal\n  Port 2200\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .arg("-F")
        .arg(&config)
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .env_remove("SHOAL_INVENTORY")
        .env_remove("ANSIBLE_INVENTORY")
        .current_dir(home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the shoal binary runs");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b":hosts\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stderr.starts_with("shoal: 0 hosts (and 3 in ssh_config)."),
        "{stderr}"
    );
    assert!(
        stdout.contains("ssh_config: 3 hosts (db-1,web[1-2]): `hosts from ssh_config`"),
        "{stdout}"
    );
}
