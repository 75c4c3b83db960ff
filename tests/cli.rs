//! Drives the built `shoal` binary: exit codes, error rendering, --explain,
//! help, and JSON/CSV output of a real run against OpenSSH servers.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{FleetSpec, SshdFleet};

/// Runs shoal with `args`; on a failed expectation the caller prints this.
fn shoal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("SHOAL_INVENTORY")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the shoal binary runs")
}

fn describe(args: &[&str], out: &Output) -> String {
    format!(
        "shoal {args:?}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
