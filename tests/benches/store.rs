//! The job store benchmark: what recording every host's row costs a warm run, paired with
//! the same engine without a store in the same run, and how fast `jobs | head 20` answers
//! from a store of 10,000 jobs, paired with the bare SQL query it stands on.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/store.sh`, and it never asserts on
//! a time. It fails when a run loses a host or the store loses a row, because timings of
//! a run that did not record would flatter the store.
//!
//! Settings: `HOSTS` (200), `RUNS` (7), `JOBS` (10000), `BENCH_OUT` (a file for the
//! Markdown report, besides stdout).

use std::fmt::Write as _;
use std::fs;
use std::time::{Duration, Instant};

use shoal_runtime::Engine;
use shoal_runtime::inventory::{Inventory, Overrides};
use shoal_runtime::ssh_config::SshConfig;
use shoal_runtime::store::{HostInfo, Retention, Store};
use shoal_stdlib::executor::{HostOutcome, Status};

use crate::support::{FleetSpec, SshdFleet};

const QUERY: &str = r#"hosts | run "cat /etc/app/version""#;

fn number(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| v.parse().expect("a number"))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[test]
#[ignore = "a benchmark: run it with bench/store.sh"]
fn recording_cost_and_history_queries() {
    let (hosts, runs, jobs) = (
        number("HOSTS", 200),
        number("RUNS", 7).max(1),
        number("JOBS", 10_000),
    );
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("1.{i}\n"))]),
        ..FleetSpec::new(hosts)
    });
    let inventory_path = fleet.dir().join("store-bench.toml");
    fs::write(&inventory_path, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let engine = || {
        let inventory = Inventory::load(&inventory_path, &Overrides::default()).unwrap();
        Engine::new(inventory, &SshConfig::default()).unwrap()
    };
    let store_path = fleet.dir().join("bench.db");
    let mut with_store =
        engine().with_store(Store::open(&store_path, &Retention::default()).unwrap());
    let mut without = engine();
    // Cold runs first: every later run is warm, over pooled connections.
    for engine in [&mut with_store, &mut without] {
        assert_eq!(engine.query(QUERY).unwrap().height(), hosts);
    }
    // Interleaved, so that whatever else the machine does falls on both alike.
    let (mut stored, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for (engine, times) in [(&mut without, &mut bare), (&mut with_store, &mut stored)] {
            let started = Instant::now();
            let frame = engine.query(QUERY).unwrap();
            times.push(started.elapsed());
            assert_eq!(frame.height(), hosts);
        }
    }
    let recorded = with_store
        .query("job last | filter status = ok | count")
        .unwrap();
    assert_eq!(
        recorded.column("count").unwrap().u64().unwrap().get(0),
        Some(hosts as u64)
    );
    let (stored, bare) = (median(stored), median(bare));

    // A store of `jobs` jobs of 10 hosts each, then `jobs | head 20` against the bare
    // SELECT it runs, each timed 20 times.
    let big = fleet.dir().join("big.db");
    let store = Store::open(&big, &Retention::default()).unwrap();
    let outcome = HostOutcome {
        stdout: "1.0".into(),
        stderr: String::new(),
        exit: Some(0),
        status: Status::Ok,
        error: None,
        duration: Duration::from_millis(5),
        exchange: None,
    };
    for job in 0..jobs {
        store.begin_statement(&format!("hosts | run \"echo {job}\""));
        store.run_started("echo");
        for host in 0..10 {
            store.host_finished(&format!("h{host}"), &HostInfo::default(), &outcome);
        }
        store.end_statement(false);
    }
    drop(store);
    let mut history = Engine::new(
        Inventory::from_toml("", "(none)".as_ref(), &Overrides::default()).unwrap(),
        &SshConfig::default(),
    )
    .unwrap()
    .with_store(Store::open(&big, &Retention::default()).unwrap());
    let raw = rusqlite::Connection::open(&big).unwrap();
    let (mut listed, mut selected) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(history.query("jobs | head 20").unwrap().height(), 20);
        listed.push(started.elapsed());
        let started = Instant::now();
        let mut statement = raw
            .prepare("SELECT id, started_ms, user, query, hosts, ok, failed, ended_ms - started_ms, status, parent FROM jobs ORDER BY id DESC LIMIT 20")
            .unwrap();
        let n = statement.query_map([], |_| Ok(())).unwrap().count();
        selected.push(started.elapsed());
        assert_eq!(n, 20);
    }
    let (listed, selected) = (median(listed), median(selected));
    let size = fs::metadata(&big).unwrap().len();

    let mut report = String::new();
    writeln!(
        report,
        "## Job store ({hosts} hosts, median of {runs} warm runs each, interleaved)\n"
    )
    .unwrap();
    writeln!(report, "| what | median ms | ratio |").unwrap();
    writeln!(report, "|---|---|---|").unwrap();
    writeln!(
        report,
        "| warm `{QUERY}`, --no-store | {} | 1.00 |",
        ms(bare)
    )
    .unwrap();
    writeln!(
        report,
        "| warm `{QUERY}`, recorded | {} | {:.3} |",
        ms(stored),
        stored.as_secs_f64() / bare.as_secs_f64()
    )
    .unwrap();
    writeln!(
        report,
        "| bare SELECT of 20 jobs ({jobs} jobs, {} MiB) | {} | 1.00 |",
        size >> 20,
        ms(selected)
    )
    .unwrap();
    writeln!(
        report,
        "| `jobs \\| head 20` ({jobs} jobs) | {} | {:.1} |",
        ms(listed),
        listed.as_secs_f64() / selected.as_secs_f64()
    )
    .unwrap();
    print!("{report}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        fs::write(out, &report).unwrap();
    }
}
