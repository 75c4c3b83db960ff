//! The jump host benchmark: `hosts from ssh_config | run "hostname"` twice in one shoal
//! process on `HOSTS` (200) real sshd targets, first connecting directly, then through one
//! jump host (`ProxyJump`) with the targets reachable only through it, `RUNS` (5) processes
//! each. Prints the median cold and warm times of both, the ratio, and the jump host's
//! connections per process.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/jump.sh`; it never asserts on a
//! time. It fails when a host is missing or answered wrongly.

use std::fmt::Write as _;

use crate::support::{JumpFleet, run_shoal};

const QUERY: &str = r#"hosts from ssh_config | filter host ~ /^web/ | run "hostname""#;

/// The cold and warm times of one process (its two summary lines), after checking that
/// every row is `ok` and that there are `hosts` of them per query.
fn run_once(fleet: &JumpFleet, jumps: &str, hosts: usize) -> (f64, f64) {
    let config = fleet.ssh_config("", jumps);
    let output = run_shoal(&config, &format!("{QUERY}\n{QUERY}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rows: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&output.stdout)
        .into_iter::<Vec<serde_json::Value>>()
        .flat_map(|rows| rows.expect("JSON rows"))
        .collect();
    let ok = rows.iter().filter(|r| r["status"] == "ok").count();
    assert_eq!(ok, 2 * hosts, "{ok} of {} rows ok\n{stderr}", 2 * hosts);
    // "200 hosts: 200 ok · 0.52 s"
    let times: Vec<f64> = stderr
        .lines()
        .filter(|l| l.contains("hosts:"))
        .filter_map(|l| l.rsplit(" · ").next()?.strip_suffix(" s")?.parse().ok())
        .collect();
    assert_eq!(times.len(), 2, "two summary lines expected:\n{stderr}");
    (times[0], times[1])
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[test]
#[ignore = "a benchmark: run it with bench/jump.sh"]
fn through_one_jump_host_against_direct() {
    let hosts: usize =
        std::env::var("HOSTS").map_or(200, |v| v.parse().expect("HOSTS is a number"));
    let runs: usize = std::env::var("RUNS").map_or(5, |v| v.parse().expect("RUNS is a number"));
    let mut fleet = JumpFleet::start(hosts);

    fleet.isolate(false);
    let direct: Vec<(f64, f64)> = (0..runs).map(|_| run_once(&fleet, "none", hosts)).collect();
    fleet.isolate(true);
    let before = fleet.jumps.accepted_connections(0);
    let jumped: Vec<(f64, f64)> = (0..runs)
        .map(|_| run_once(&fleet, "jump001", hosts))
        .collect();
    let per_process = (fleet.jumps.accepted_connections(0) - before) as f64 / runs as f64;

    let cold = |r: &[(f64, f64)]| median(r.iter().map(|t| t.0).collect());
    let warm = |r: &[(f64, f64)]| median(r.iter().map(|t| t.1).collect());
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{hosts} targets, median of {runs} processes (two queries each)\n"
    );
    let _ = writeln!(report, "| route | cold | warm |\n|---|---|---|");
    let _ = writeln!(
        report,
        "| direct | {:.2} s | {:.3} s |",
        cold(&direct),
        warm(&direct)
    );
    let _ = writeln!(
        report,
        "| through one jump host | {:.2} s | {:.3} s |",
        cold(&jumped),
        warm(&jumped)
    );
    let _ = writeln!(
        report,
        "\nwarm ratio, jump / direct: {:.2}×; jump host connections per shoal process: {per_process}",
        warm(&jumped) / warm(&direct)
    );
    println!("{report}");
}
