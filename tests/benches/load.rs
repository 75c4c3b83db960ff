//! The load benchmark: `hosts | run "cat /etc/app/version"` twice in one shoal process on
//! 1,000 real sshd servers (tests/support), reporting cold and warm time, shoal's peak RSS
//! and its peak open file descriptors, and checking that every host answered as itself.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/load.sh`, and it never asserts on
//! a time or a size. It fails when a host is missing or answered wrongly, because figures
//! from a run that lost hosts would mean nothing.
//!
//! Settings: `HOSTS` (1000), `SHOAL_BIN` (default: the binary cargo built with this test),
//! `BENCH_OUT` (a file for the Markdown report, besides stdout).

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support::{self, FleetSpec, SshdFleet};

/// Kills shoal if it has not finished: 1,000 hosts take seconds, so this only fires on a hang.
const DEADLINE: Duration = Duration::from_secs(300);

const QUERY: &str = r#"hosts | run "cat /etc/app/version""#;

fn version(i: usize) -> String {
    format!("1.{i}")
}

#[test]
#[ignore = "a benchmark: run it with bench/load.sh"]
fn one_thousand_hosts() {
    let hosts: usize =
        std::env::var("HOSTS").map_or(1000, |v| v.parse().expect("HOSTS is a number"));
    let shoal = std::env::var_os("SHOAL_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_shoal")), PathBuf::from);
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("{}\n", version(i)))]),
        ..FleetSpec::new(hosts)
    });
    let inventory = fleet.dir().join("load.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).expect("write the inventory");

    // One process, two queries: the first is cold (connect, authenticate, exec on every
    // host), the second warm, over the first one's pooled connections.
    let mut command = Command::new(&shoal);
    command
        .arg("--inventory")
        .arg(&inventory)
        // The default fan-out (256), as a user would run it: letting all 1,000 handshakes
        // start at once only makes them share the servers' CPU until some pass the
        // connect timeout.
        .args(["--format", "json", "-c"])
        .arg(format!("{QUERY}\n{QUERY}"));
    let finished = support::measure(&mut command, fleet.dir(), DEADLINE);

    // Every host, twice, answered with its own version.
    // One JSON array per query, one after the other.
    let rows: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&finished.stdout)
        .into_iter::<Vec<serde_json::Value>>()
        .flat_map(|rows| {
            rows.unwrap_or_else(|e| panic!("shoal printed something that is not JSON rows: {e}"))
        })
        .collect();
    let wrong: Vec<String> = rows
        .iter()
        .filter(|row| {
            let host = row["host"].as_str().unwrap_or("");
            let index = fleet.hosts().iter().position(|h| h.name == host);
            row["status"] != "ok" || index.is_none_or(|i| row["stdout"] != version(i).as_str())
        })
        .map(|row| row.to_string())
        .collect();
    assert!(
        rows.len() == 2 * hosts && wrong.is_empty(),
        "expected {} ok rows, got {} with {} wrong, e.g. {:?}\nstderr:\n{}",
        2 * hosts,
        rows.len(),
        wrong.len(),
        wrong.first(),
        finished.stderr
    );

    // shoal's own summary lines: "1000 hosts: 1000 ok · 9.80 s".
    let times: Vec<&str> = finished
        .stderr
        .lines()
        .filter_map(|l| l.rsplit(" · ").next().filter(|_| l.contains("hosts:")))
        .collect();
    let mut report = String::new();
    let _ = writeln!(report, "| measurement | value |\n|---|---|");
    let _ = writeln!(
        report,
        "| hosts | {hosts}, all answered as themselves, twice |"
    );
    let _ = writeln!(
        report,
        "| cold query (1st summary line) | {} |",
        times.first().unwrap_or(&"?")
    );
    let _ = writeln!(
        report,
        "| warm query (2nd summary line) | {} |",
        times.get(1).unwrap_or(&"?")
    );
    let _ = writeln!(
        report,
        "| process wall time, both queries | {:.2} s |",
        finished.wall.as_secs_f64()
    );
    let _ = writeln!(
        report,
        "| shoal CPU (user+sys) | {:.2} s |",
        finished.cpu.as_secs_f64()
    );
    let _ = writeln!(
        report,
        "| peak RSS | {} MiB |",
        finished.peak_rss_kib / 1024
    );
    let _ = writeln!(
        report,
        "| peak open file descriptors | {} |",
        finished.peak_fds
    );
    println!("{report}");
    if let Some(out) = std::env::var_os("BENCH_OUT") {
        fs::write(&out, &report).expect("write the report");
    }
}
