//! The `act` benchmark: `act` with `batch=100%` and no verify against `run` of the same
//! command, warm, interleaved in one process on a fleet of real sshd servers: what the
//! waves' bookkeeping costs when there is one wave.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/act.sh`, never asserting on a
//! time; it fails only when a host is missing from a result.
//!
//! Settings: `HOSTS` (200), `RUNS` (7), `BENCH_OUT` (a file for the Markdown report).

use std::fmt::Write as _;
use std::fs;
use std::time::{Duration, Instant};

use shoal_runtime::Engine;
use shoal_runtime::inventory::{Inventory, Overrides};
use shoal_runtime::ssh_config::SshConfig;
use shoal_stdlib::safety::Safety;

use crate::support::{FleetSpec, SshdFleet};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[test]
#[ignore = "a benchmark: run it with bench/act.sh"]
fn act_in_one_wave_against_run() {
    let number = |name: &str, default: usize| {
        std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
    };
    let (hosts, runs) = (number("HOSTS", 200), number("RUNS", 7).max(1));
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("1.{i}\n"))]),
        ..FleetSpec::new(hosts)
    });
    let path = fleet.dir().join("act-bench.toml");
    fs::write(&path, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let inventory = Inventory::load(&path, &Overrides::default()).unwrap();
    let mut engine = Engine::new(inventory, &SshConfig::default()).unwrap();
    engine.set_safety(Safety {
        yes: true,
        all_hosts: true,
        ..Safety::default()
    });
    let queries = [
        ("run", r#"hosts | run "cat /etc/app/version""#),
        (
            "act batch=100%",
            r#"hosts | act "cat /etc/app/version" batch=100%"#,
        ),
    ];
    for (_, query) in queries {
        assert_eq!(engine.query(query).unwrap().height(), hosts, "warm-up");
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, (_, query)) in queries.iter().enumerate() {
            let started = Instant::now();
            let frame = engine.query(query).unwrap();
            times[i].push(started.elapsed());
            let ok = frame.column("status").unwrap().str().unwrap();
            assert_eq!(ok.iter().filter(|s| *s == Some("ok")).count(), hosts);
        }
    }
    let [run, act] = times.map(median);
    let mut report = String::new();
    writeln!(
        report,
        "## act against run ({hosts} hosts, warm, median of {runs}, interleaved)\n"
    )
    .unwrap();
    writeln!(report, "| query | median ms | ratio |\n|---|---|---|").unwrap();
    for ((label, _), time) in queries.iter().zip([run, act]) {
        writeln!(
            report,
            "| {label} | {:.1} | {:.3} |",
            time.as_secs_f64() * 1000.0,
            time.as_secs_f64() / run.as_secs_f64()
        )
        .unwrap();
    }
    print!("{report}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        fs::write(out, &report).unwrap();
    }
}
