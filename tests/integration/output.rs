//! What the `shoal` binary prints, against real sshd: JSON Lines and CSV blocks a script
//! can read, keys and columns in `select` order, one test per exit code, warnings printed
//! once and never under `--quiet`, and output from hosts that tries to drive the terminal
//! (clear the screen, set the title, write the clipboard, overwrite a row) shown as
//! escapes in tables, `gather`, error messages and CSV on a terminal, while JSON and CSV to
//! a pipe keep its bytes exact.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

/// Runs shoal in `dir` with `args`, stdin empty.
fn shoal_in(dir: &Path, args: &[&str]) -> Output {
    shoal_command(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the shoal binary runs")
}

/// Runs shoal and checks its exit code; returns stdout and stderr.
fn expect(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = shoal_in(dir, args);
    assert_eq!(out.status.code(), Some(code), "{}", describe(args, &out));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fleet of `n` hosts and its inventory, written in `dir`, with an `az` tag.
fn fleet_with_inventory(spec: FleetSpec, dir: &Path) -> (SshdFleet, String) {
    let fleet = SshdFleet::start(spec);
    let azs = ["us-east-1a", "us-east-1b"];
    let toml = fleet.inventory_toml(|i| vec![("az".into(), azs[i % 2].into())]);
    let path = dir.join("shoal.toml");
    std::fs::write(&path, toml).unwrap();
    (fleet, path.to_str().unwrap().to_string())
}

#[test]
fn json_is_one_line_per_result_with_keys_in_column_order() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, inventory) = fleet_with_inventory(FleetSpec::new(3), dir.path());
    let query = "hosts | run \"printf 'a\\nb'\" | select status, host, stdout; \
                 let saved = hosts; \
                 hosts | count by az; \
                 hosts | filter az = nowhere | select host";
    let (stdout, _) = expect(
        dir.path(),
        &["--inventory", &inventory, "--format", "json", "-c", query],
        0,
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "one line per printed result:\n{stdout}");
    // Each line is a whole JSON document on its own (what `jq -c .` and Python's
    // `json.loads` per line need).
    let results: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).expect("each line parses alone"))
        .collect();
    let first = fleet.hosts()[0].name.as_str();
    // Keys in `select` order, not alphabetical; a newline in a value stays escaped.
    assert!(
        lines[0].starts_with(&format!(
            r#"[{{"status":"ok","host":"{first}","stdout":"a\nb"}},"#
        )),
        "{}",
        lines[0]
    );
    assert_eq!(results[0].as_array().unwrap().len(), 3);
    assert!(
        lines[1].starts_with(r#"[{"az":"us-east-1a","count":2},"#),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "[]", "an empty result is an empty array");
}

#[test]
fn csv_results_are_blocks_with_their_own_header_separated_by_an_empty_line() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, inventory) = fleet_with_inventory(FleetSpec::new(3), dir.path());
    let query = "hosts | run \"hostname\" | select status, host; hosts | count by az";
    let (stdout, _) = expect(
        dir.path(),
        &["--inventory", &inventory, "--format", "csv", "-c", query],
        0,
    );
    let blocks: Vec<&str> = stdout.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{stdout:?}");
    let names: Vec<String> = fleet
        .hosts()
        .iter()
        .map(|h| format!("ok,{}", h.name))
        .collect();
    let mut expected = vec!["status,host".to_string()];
    expected.extend(names);
    assert_eq!(blocks[0].lines().collect::<Vec<_>>(), expected);
    assert_eq!(
        blocks[1].lines().collect::<Vec<_>>(),
        ["az,count", "us-east-1a,2", "us-east-1b,1"]
    );
    assert!(stdout.ends_with("us-east-1b,1\n"), "{stdout:?}");
}

#[test]
fn exit_0_when_every_host_ended_ok() {
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, inventory) = fleet_with_inventory(FleetSpec::new(2), dir.path());
    let (_, stderr) = expect(
        dir.path(),
        &["--inventory", &inventory, "-c", "hosts | run \"true\""],
        0,
    );
    assert!(stderr.contains("2 hosts: 2 ok"), "{stderr}");
}

#[test]
fn exit_1_when_some_host_did_not_end_ok_and_every_row_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, inventory) = fleet_with_inventory(FleetSpec::new(3), dir.path());
    let query = format!(
        "hosts | run \"test $(hostname) = {}\" | select host, status",
        fleet.hosts()[0].name
    );
    let (stdout, stderr) = expect(
        dir.path(),
        &["--inventory", &inventory, "--format", "csv", "-c", &query],
        1,
    );
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(stderr.contains("3 hosts: 1 ok, 2 failed"), "{stderr}");
}

#[test]
fn exit_2_for_usage_parse_inventory_and_evaluation_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, inventory) = fleet_with_inventory(FleetSpec::new(1), dir.path());
    let inv = ["--inventory", inventory.as_str()];
    // Usage: a flag value that does not exist.
    let (_, stderr) = expect(dir.path(), &["--format", "xml", "-c", "hosts"], 2);
    assert!(stderr.contains("xml"), "{stderr}");
    // Parse: an unknown stage.
    let (_, stderr) = expect(
        dir.path(),
        &[&inv[..], &["-c", "hosts | cuont"]].concat(),
        2,
    );
    assert!(stderr.contains("unknown stage `cuont`"), "{stderr}");
    // Inventory: a file that is not there.
    expect(
        dir.path(),
        &["--inventory", "/nonexistent.toml", "-c", "hosts"],
        2,
    );
    // Evaluation: the first result prints, then a statement fails on what the hosts said.
    let query = "hosts | count; hosts | run \"echo text\" | stats stdout";
    let (stdout, stderr) = expect(dir.path(), &[&inv[..], &["-c", query]].concat(), 2);
    assert!(stdout.contains("│ count │"), "{stdout}");
    assert!(stderr.contains("`stats` needs numbers"), "{stderr}");
}

// Exit code 130 (Ctrl-C) is cli::sigint_during_a_run_prints_what_finished_and_the_cancelled_rows_and_exits_130.

#[test]
fn help_lists_the_exit_codes_and_output_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, _) = expect(dir.path(), &["help"], 0);
    for line in [
        "  0    the query ran and every host ended `ok`",
        "  1    the query ran, but some host did not end `ok`",
        "  2    usage, parse, inventory or evaluation error",
        "  130  Ctrl-C stopped the query; what had finished was printed first",
        "  json   JSON Lines: each result is one line",
        "  csv    each result is a CSV block with its own header row",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
}

/// An ssh_config with settings shoal does not use (one of them twice), and a `Match` block that
/// applies to no host here.
fn ssh_config_with_unused_settings(dir: &Path) -> String {
    let path = dir.join("ssh_config");
    std::fs::write(
        &path,
        "Host *\n  ControlMaster auto\n  ControlPersist 10m\n\
         Host web*\n  ControlMaster no\n\
         Match host nothing\n  User nobody\n",
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn ssh_config_warnings_print_once_per_process_and_never_under_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, inventory) = fleet_with_inventory(FleetSpec::new(2), dir.path());
    let config = ssh_config_with_unused_settings(dir.path());
    let base = ["--inventory", inventory.as_str(), "-F", config.as_str()];
    let unused = "warning: shoal does not use these settings of";

    // Three statements, two of them runs: each warning once, each setting named once.
    let query = "hosts | run \"true\"; hosts | run \"true\"; hosts | count";
    let (_, stderr) = expect(dir.path(), &[&base[..], &["-c", query]].concat(), 0);
    assert_eq!(stderr.matches(unused).count(), 1, "{stderr}");
    assert_eq!(stderr.matches("ControlMaster").count(), 1, "{stderr}");
    assert!(
        stderr.contains(": ControlMaster, ControlPersist\n"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("2 hosts: 2 ok").count(), 2, "{stderr}");

    // The shell: three queries, the warnings still once.
    let mut child = shoal_command(dir.path())
        .args(base)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the shoal binary runs");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hosts | run \"true\"\nhosts | run \"true\"\nhosts | count\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches(unused).count(), 1, "{stderr}");
    assert_eq!(stderr.matches("2 hosts: 2 ok").count(), 2, "{stderr}");

    // --quiet: no warning, no summary; the results still print, and errors too.
    for quiet in ["--quiet", "-q"] {
        let (stdout, stderr) = expect(
            dir.path(),
            &[&base[..], &[quiet, "--format", "csv", "-c", query]].concat(),
            0,
        );
        assert_eq!(stderr, "", "{quiet}");
        assert!(stdout.ends_with("count\n2\n"), "{stdout}");
    }
    let (_, stderr) = expect(
        dir.path(),
        &[&base[..], &["-q", "-c", "hosts | cuont"]].concat(),
        2,
    );
    assert!(
        stderr.starts_with("error: unknown stage `cuont`"),
        "{stderr}"
    );
}

/// What hosts 1 and 2 print: a clear-screen, a window title, an OSC 52 clipboard write,
/// a carriage return over the row, a C1 CSI, a backspace and DEL. Nothing in it may reach
/// the terminal as a control character.
const HOSTILE: &str = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07ok\rFAKE\u{9b}31m\x08\x7f";

/// How [`HOSTILE`] reads once made visible.
const SHOWN: &[&str] = &[
    "\\e[2J",
    "\\e]0;pwned\\x07",
    "\\e]52;c;ZXZpbA==\\x07",
    "ok\\rFAKE",
    "\\u{9b}31m\\x08\\x7f",
];

/// Fails if `bytes` hold a control character other than a newline: ESC, BEL, CR,
/// backspace, DEL or a C1 control (UTF-8 `C2 80`–`C2 9F`).
fn assert_no_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let found: Vec<char> = text
        .chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect();
    assert!(
        found.is_empty(),
        "{what} holds control characters {found:?}:\n{text}"
    );
}

fn assert_shown(what: &str, text: &str) {
    for shown in SHOWN {
        assert!(text.contains(shown), "{what}: {shown} missing in\n{text}");
    }
}

/// `shoal args` with stdout on a pseudo-terminal (util-linux `script`), stderr to a file;
/// returns what the terminal received, its `\r\n` line ends made `\n` again.
fn on_a_terminal(dir: &Path, args: &[&str]) -> Vec<u8> {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_shoal"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let command = format!("{} 2>{}", quoted.join(" "), dir.join("stderr").display());
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("SHOAL_INVENTORY")
        .env_remove("ANSIBLE_INVENTORY")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs");
    assert_eq!(out.status.code(), Some(0), "{}", describe(args, &out));
    let mut bytes = Vec::with_capacity(out.stdout.len());
    let mut rest = &out.stdout[..];
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\r' && tail.first() == Some(&b'\n') {
            rest = tail;
            continue;
        }
        bytes.push(b);
        rest = tail;
    }
    bytes
}

#[test]
fn output_from_hosts_never_drives_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, inventory) = fleet_with_inventory(
        FleetSpec {
            files: Box::new(|i| {
                let text = if i < 2 { HOSTILE } else { "clean" };
                vec![("hostile".into(), text.into())]
            }),
            ..FleetSpec::new(3)
        },
        dir.path(),
    );
    let inv = ["--inventory", inventory.as_str()];
    // --full: the escapes make the text longer than a cell's 60 columns.
    let run = |query: &str, code: i32| {
        let args = [&inv[..], &["--full", "-c", query]].concat();
        let out = shoal_in(dir.path(), &args);
        assert_eq!(out.status.code(), Some(code), "{}", describe(&args, &out));
        out
    };

    // A table, stdout and stderr columns alike.
    let out = run(
        "hosts | run \"cat /etc/app/hostile; cat /etc/app/hostile >&2\" | select host, stdout, stderr",
        0,
    );
    assert_no_controls("the table", &out.stdout);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_shown("the table", &table);
    assert_eq!(table.matches("\\e]52;").count(), 4, "{table}");

    // gather folds the two hosts that printed it.
    let out = run("hosts | run \"cat /etc/app/hostile\" | gather", 0);
    assert_no_controls("gather", &out.stdout);
    let gathered = String::from_utf8_lossy(&out.stdout);
    assert_shown("gather", &gathered);
    let pair = format!("{},{}", fleet.hosts()[0].name, fleet.hosts()[1].name);
    let folded = shoal_lang::fold_hosts(&pair.split(',').collect::<Vec<_>>());
    assert!(gathered.contains(&folded), "{folded} in\n{gathered}");

    // An error message quoting what a host printed.
    let out = run("hosts | run \"cat /etc/app/hostile\" | stats stdout", 2);
    assert_no_controls("the error", &out.stderr);
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("such as `\\e[2J\\e]0;pwned\\x07"), "{error}");

    // JSON escapes them and decodes to exactly what the host printed.
    let args = [
        &inv[..],
        &[
            "--format",
            "json",
            "-c",
            "hosts | run \"cat /etc/app/hostile\"",
        ],
    ]
    .concat();
    let out = shoal_in(dir.path(), &args);
    assert_no_controls("JSON", &out.stdout);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["stdout"], HOSTILE);
    assert_eq!(rows[1]["stdout"], HOSTILE);
    assert_eq!(rows[2]["stdout"], "clean");

    // CSV into a pipe keeps the bytes exact...
    let query = "hosts | run \"cat /etc/app/hostile\" | select host, stdout";
    let args = [&inv[..], &["--format", "csv", "-c", query]].concat();
    let out = shoal_in(dir.path(), &args);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.contains(&format!("{},\"{HOSTILE}\"\n", fleet.hosts()[0].name)),
        "{csv:?}"
    );
    // ...and on a terminal shows them.
    let shown = on_a_terminal(dir.path(), &args);
    assert_no_controls("CSV on a terminal", &shown);
    assert_shown("CSV on a terminal", &String::from_utf8_lossy(&shown));

    // So does a table on a terminal.
    let shown = on_a_terminal(dir.path(), &[&inv[..], &["--full", "-c", query]].concat());
    assert_no_controls("a table on a terminal", &shown);
    assert_shown("a table on a terminal", &String::from_utf8_lossy(&shown));
}

#[test]
fn bytes_that_are_not_utf8_show_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (_fleet, inventory) = fleet_with_inventory(FleetSpec::new(1), dir.path());
    let query = r#"hosts | run 'printf "caf\351 \377\033[2J"' | select stdout"#;
    let (stdout, _) = expect(dir.path(), &["--inventory", &inventory, "-c", query], 0);
    assert!(stdout.contains(r"caf\xe9 \xff\e[2J"), "{stdout}");
    // JSON carries the same text: each byte that is not UTF-8 as `\xNN`.
    let json = ["--inventory", &inventory, "--format", "json", "-c", query];
    let (stdout, _) = expect(dir.path(), &json, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(rows[0]["stdout"], "caf\\xe9 \\xff\u{1b}[2J");
}
