//! The checks benchmark (issue 17): `shoal check local` on warm hosts, every check's
//! command fused into one per host, against a plain run of the same pipelines one after
//! another, as `shoal -c` would run them; both on one engine with a job store, interleaved.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/checks.sh`, and it never asserts on
//! a time. It fails when a check run loses a (check, host) row, since timings of a run that
//! judged fewer hosts would flatter it.
//!
//! Settings: `HOSTS` (200), `RUNS` (5), `BENCH_OUT` (a file for the Markdown report).

use std::fmt::Write as _;
use std::fs;
use std::time::{Duration, Instant};

use shoal_runtime::Engine;
use shoal_runtime::inventory::{Inventory, Overrides};
use shoal_runtime::ssh_config::SshConfig;
use shoal_runtime::store::{Retention, Store};
use shoal_stdlib::Quiet;
use shoal_stdlib::checks::Catalog;

use crate::support::{FleetSpec, SshdFleet};

fn number(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore = "a benchmark: run it with bench/checks.sh"]
fn check_local_fused_against_one_run_per_check() {
    let (hosts, runs) = (number("HOSTS", 200), number("RUNS", 5).max(1));
    let fleet = SshdFleet::start(FleetSpec::new(hosts));
    let path = fleet.dir().join("checks-bench.toml");
    fs::write(&path, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let engine = |hosts: &[String]| {
        let inventory = Inventory::load(&path, &Overrides::default())
            .and_then(|inventory| inventory.restrict(hosts))
            .unwrap();
        let store = Store::open(&fleet.dir().join("bench.db"), &Retention::default()).unwrap();
        Engine::new(inventory, &SshConfig::default())
            .unwrap()
            .with_store(store)
    };
    let mut fleet_engine = engine(&[]);
    // The same checks on one host alone: the work each host does, which is the floor of
    // the wall time wherever hosts have CPUs of their own rather than sharing this machine's.
    let mut one_engine = engine(&[fleet.hosts()[0].name.clone()]);
    let local = Catalog::builtin().select(&["local".into()]).unwrap();
    let sources: Vec<String> = local.iter().map(|c| c.source(&[]).unwrap()).collect();

    // Cold: connects to every host.
    let started = Instant::now();
    let cold = fleet_engine.run_checks(&local, &[], &mut Quiet);
    let cold_time = started.elapsed();
    assert!(cold.broken.is_empty(), "{:?}", cold.broken);
    assert_eq!(cold.rows.len(), local.len() * hosts);
    one_engine.run_checks(&local, &[], &mut Quiet);

    let (mut fused, mut round_trips, mut plain, mut one) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        let run = fleet_engine.run_checks(&local, &[], &mut Quiet);
        fused.push(started.elapsed());
        round_trips.push(run.round_trip);
        assert_eq!(run.rows.len(), local.len() * hosts);
        let started = Instant::now();
        for source in &sources {
            // A failing assert is an answer, not a lost run: every host ran.
            let _ = fleet_engine.query(source);
        }
        plain.push(started.elapsed());
        let started = Instant::now();
        one_engine.run_checks(&local, &[], &mut Quiet);
        one.push(started.elapsed());
    }
    let (fused, round_trip, plain, one) = (
        median(fused),
        median(round_trips),
        median(plain),
        median(one),
    );

    let mut report = String::new();
    writeln!(
        report,
        "## Checks ({hosts} hosts, `shoal check local`: {} checks, median of {runs} warm runs each, interleaved, job store on)\n",
        local.len()
    )
    .unwrap();
    writeln!(report, "| what | median ms |").unwrap();
    writeln!(report, "|---|---|").unwrap();
    let mut row = |what: String, time: Duration| {
        writeln!(report, "| {what} | {} |", ms(time)).unwrap();
    };
    row("`shoal check local`, cold (connecting)".into(), cold_time);
    row("`shoal check local`, warm".into(), fused);
    row("… of which the fused round trip".into(), round_trip);
    row(
        "… of which the rest: the clock check's own run (`facts` is never fused), judging, recording".into(),
        fused.saturating_sub(round_trip),
    );
    row(
        format!("the same {} pipelines, warm, one `run` each", local.len()),
        plain,
    );
    row("`shoal check local` on one host alone, warm".into(), one);
    print!("{report}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        fs::write(out, &report).unwrap();
    }
}
