//! The warm-path benchmark: where a warm `hosts | run "cat /etc/app/version"` on real sshd
//! hosts spends its time, client against servers, so that the warm floor is measured rather
//! than guessed (issue 19, item 6).
//!
//! One `shoal -c` process runs the query `1 + RUNS` times: the first is cold, the rest warm
//! over pooled connections and persistent shells. A second process runs it once. The
//! difference between the two processes is the warm queries': the client's CPU (wait4's
//! rusage) and the servers' (the sshd listeners' reaped children, read once each process
//! has exited and its connections are gone), each divided by the warm queries and the
//! hosts. Warm wall times come from shoal's summary lines. With `PERF=1` the first process
//! also runs under `perf record -g`, and the report lists the client's hottest symbols.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/warm.sh`, never asserting on a time.
//! Settings: `HOSTS` (200), `RUNS` (20), `SHOAL_BIN`, `SHOAL_REV`, `BENCH_OUT`, `PERF`.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::fanout::{Servers, busy_percent, excerpt, first_line, median, when_and_machine};
use crate::support::{self, FleetSpec, SshdFleet};

const QUERY: &str = r#"hosts | run "cat /etc/app/version""#;

fn number(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
}

/// The times on shoal's summary lines (`200 hosts: 200 ok · 0.18 s`), in order.
fn summary_times(stderr: &str) -> Vec<f64> {
    stderr
        .lines()
        .filter_map(|line| {
            let (_, time) = line.rsplit_once('·')?;
            time.trim().strip_suffix(" s")?.trim().parse().ok()
        })
        .collect()
}

#[test]
#[ignore = "a benchmark: run it with bench/warm.sh"]
fn where_a_warm_query_spends_its_time() {
    let (hosts, runs) = (number("HOSTS", 200), number("RUNS", 20).max(1));
    let perf = std::env::var("PERF").is_ok_and(|v| v == "1");
    let shoal_bin = std::env::var_os("SHOAL_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_shoal")), PathBuf::from);
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("1.{i}\n"))]),
        ..FleetSpec::new(hosts)
    });
    let inventory = fleet.dir().join("warm-bench.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let servers = Servers::find(&fleet);
    let started_at = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let busy = busy_percent();
    let shoal = |queries: usize, perf_data: Option<&PathBuf>| {
        let script = vec![QUERY; queries].join("; ");
        let mut command = match perf_data {
            Some(data) => {
                let mut c = Command::new("perf");
                c.args(["record", "-g", "-F", "2000", "-o"])
                    .arg(data)
                    .arg("--")
                    .arg(&shoal_bin);
                c
            }
            None => Command::new(&shoal_bin),
        };
        command
            .arg("--inventory")
            .arg(&inventory)
            .args(["--no-store", "--format", "json", "-c", &script])
            .env("NO_COLOR", "1")
            .current_dir(fleet.dir());
        let before = servers.cpu_seconds();
        let finished = support::measure(&mut command, fleet.dir(), Duration::from_secs(600));
        assert!(servers.settle(), "the servers' connections did not close");
        let server = servers.cpu_seconds() - before;
        let rows = finished.stdout.lines().count();
        assert_eq!(
            rows,
            queries,
            "expected {queries} results: {}",
            excerpt(&finished.stderr)
        );
        assert!(
            finished
                .stdout
                .lines()
                .all(|l| l.matches("\"ok\"").count() == hosts),
            "a host was not ok: {}",
            excerpt(&finished.stderr)
        );
        (finished, server)
    };
    let perf_data = fleet.dir().join("perf.data");
    let (many, many_server) = shoal(1 + runs, perf.then_some(&perf_data));
    let (one, one_server) = shoal(1, None);

    let warm_times: Vec<f64> = summary_times(&many.stderr).into_iter().skip(1).collect();
    let per = |total: f64| total / runs as f64;
    let client_ms = per((many.cpu.as_secs_f64() - one.cpu.as_secs_f64()) * 1000.0);
    let server_ms = per((many_server - one_server) * 1000.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mut report = String::new();
    let revision = std::env::var("SHOAL_REV").unwrap_or_else(|_| "unknown".into());
    let _ = writeln!(
        report,
        "### Warm path: {hosts} hosts, {runs} warm queries\n\n{}- perf: {}\n",
        when_and_machine(&started_at, &revision, &busy),
        if perf { "on (client only)" } else { "off" },
    );
    let _ = writeln!(report, "| measurement | value |\n|---|---|");
    let min = warm_times.iter().copied().fold(f64::INFINITY, f64::min);
    let rows = [
        (
            "warm query, median wall (summary line)".to_string(),
            format!("{:.3} s", median(&warm_times).unwrap_or(f64::NAN)),
        ),
        ("warm query, min wall".into(), format!("{min:.3} s")),
        (
            "client CPU per warm query".into(),
            format!(
                "{client_ms:.1} ms ({:.0} µs a host)",
                client_ms * 1000.0 / hosts as f64
            ),
        ),
        (
            "servers' CPU per warm query".into(),
            format!(
                "{server_ms:.1} ms ({:.0} µs a host)",
                server_ms * 1000.0 / hosts as f64
            ),
        ),
        (
            format!("CPU floor: (client + servers) / {cores} cores"),
            format!("{:.3} s", (client_ms + server_ms) / 1000.0 / cores),
        ),
    ];
    for (what, value) in rows {
        let _ = writeln!(report, "| {what} | {value} |");
    }
    if perf {
        let top = Command::new("perf")
            .args(["report", "--stdio", "--no-children", "--sort", "dso,symbol"])
            .args(["--percent-limit", "1.5", "-g", "none", "-i"])
            .arg(&perf_data)
            .output()
            .expect("perf report runs");
        let text = String::from_utf8_lossy(&top.stdout);
        let _ = writeln!(
            report,
            "\nThe client's hottest symbols (perf, cold query included):\n"
        );
        let _ = writeln!(report, "```");
        for line in text
            .lines()
            .filter(|l| l.contains('%') && !l.starts_with('#'))
        {
            let _ = writeln!(report, "{}", line.trim_end());
        }
        let _ = writeln!(report, "```");
    }
    println!("{report}");
    if let Some(out) = std::env::var_os("BENCH_OUT") {
        fs::write(out, &report).expect("write the report");
    }
}
