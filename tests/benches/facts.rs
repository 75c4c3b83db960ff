//! The `facts` benchmark: `hosts | facts` (every family) on warm real sshd hosts, beside a
//! plain `run` of the very command `facts` sends, interleaved in one engine, with the bytes
//! each host returns. What `facts` adds to the probes is the parsing into columns; what the
//! probes cost is the hosts' own CPU, which on this machine all hosts share.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/facts.sh`, never asserting on a
//! time; it fails only when a host is missing or not ok.
//!
//! Settings: `HOSTS` (200), `RUNS` (3), `BENCH_OUT` (a file for the Markdown report).

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
#[ignore = "a benchmark: run it with bench/facts.sh"]
fn facts_against_a_run_of_its_probes() {
    let number = |name: &str, default: usize| {
        std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
    };
    let (hosts, runs) = (number("HOSTS", 200), number("RUNS", 3).max(1));
    let fleet = SshdFleet::start(FleetSpec::new(hosts));
    let path = fleet.dir().join("facts-bench.toml");
    fs::write(&path, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let inventory = Inventory::load(&path, &Overrides::default()).unwrap();
    let mut engine = Engine::new(inventory, &SshConfig::default()).unwrap();
    // The probe script redirects stderr; the seatbelt would take that for a write.
    engine.set_safety(Safety {
        force_run: true,
        ..Safety::default()
    });
    // As `run` text: braces doubled (no placeholders), then quoted.
    let probe = shoal_stdlib::ops::facts_probe()
        .replace('{', "{{")
        .replace('}', "}}")
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let queries = [
        (
            "hosts | facts timeout=30s".to_string(),
            "`facts` (every family)",
        ),
        (
            format!("hosts | run \"{probe}\" timeout=30s"),
            "`run` of the same command",
        ),
    ];
    let mut bytes = 0;
    for (query, _) in &queries {
        let frame = engine.query(query).unwrap();
        assert_eq!(frame.height(), hosts, "warm-up of {query}");
        if let Ok(stdout) = frame.column("stdout") {
            bytes = stdout
                .str()
                .unwrap()
                .iter()
                .flatten()
                .map(str::len)
                .sum::<usize>()
                / hosts;
        }
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, (query, _)) in queries.iter().enumerate() {
            let started = Instant::now();
            let frame = engine.query(query).unwrap();
            times[i].push(started.elapsed());
            let status = frame.column("status").unwrap().str().unwrap();
            assert_eq!(
                status.iter().filter(|s| *s == Some("ok")).count(),
                hosts,
                "{query}"
            );
        }
    }
    let [facts, run] = times.map(median);
    let mut report = String::new();
    writeln!(report, "## facts against a run of its probes ({hosts} hosts, warm, median of {runs}, interleaved)\n").unwrap();
    writeln!(report, "| query | median s | ratio to run |\n|---|---|---|").unwrap();
    for ((_, label), time) in queries.iter().zip([facts, run]) {
        writeln!(
            report,
            "| {label} | {:.2} | {:.2} |",
            time.as_secs_f64(),
            time.as_secs_f64() / run.as_secs_f64()
        )
        .unwrap();
    }
    writeln!(report, "\nBytes a host returns: {bytes}.").unwrap();
    print!("{report}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        fs::write(out, &report).unwrap();
    }
}
