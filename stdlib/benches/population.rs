//! `diff` and `gather` over 10,000 synthetic hosts with 30 text columns and
//! 100-line outputs: the size of fleet the issue sets as the bar (diff under
//! 500 ms, gather under 100 ms, in release).
//!
//! The data has a planted cause (hosts with BIOS 2.1.7 have `max_conns=64`
//! and fail their health check), decoys, lines that differ only in numbers
//! (timestamps, PIDs), and lines unique to each host.
//!
//! Also `diff` over a `facts`-sized fingerprint (issue 23's bar: about 1,000
//! features over 200 hosts in under 300 ms): 700 `packages` lines and 300
//! `sysctl` lines per host, a few of which vary, one package planted.

use criterion::{Criterion, criterion_group, criterion_main};
use polars::prelude::*;
use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};
use shoal_stdlib::{Quiet, Session};

const HOSTS: usize = 10_000;
const TEXT_COLUMNS: usize = 30;
const LINES: usize = 100;

fn synthetic() -> DataFrame {
    let bad = |i: usize| i % 20 == 3;
    let mut columns = vec![Column::new(
        "host".into(),
        (0..HOSTS)
            .map(|i| format!("host{i:05}"))
            .collect::<Vec<_>>(),
    )];
    for c in 0..TEXT_COLUMNS {
        // Column c has c % 7 + 2 values; column 0 is the BIOS, the cause.
        let values: Vec<String> = (0..HOSTS)
            .map(|i| match c {
                0 if bad(i) => "2.1.7".to_string(),
                0 => "2.1.0".to_string(),
                _ => format!("v{}", (i * (c + 1) / 3) % (c % 7 + 2)),
            })
            .collect();
        columns.push(Column::new(format!("tag{c:02}").into(), values));
    }
    let stdout: Vec<String> = (0..HOSTS)
        .map(|i| {
            let mut lines: Vec<String> = (0..LINES - 4)
                .map(|l| format!("setting_{l}=value_{}", if l % 10 == 0 { i % 3 } else { 0 }))
                .collect();
            lines.push(format!("max_conns={}", if bad(i) { 64 } else { 256 }));
            lines.push(format!(
                "started=2026-11-{:02}T{:02}:00:00Z",
                i % 28 + 1,
                i % 24
            ));
            lines.push(format!("pid={}", 1000 + i * 7));
            lines.push(format!("host_id=host{i:05}"));
            lines.join("\n")
        })
        .collect();
    columns.push(Column::new("stdout".into(), stdout));
    columns.push(Column::new("stderr".into(), vec![""; HOSTS]));
    columns.push(Column::new("status".into(), vec!["ok"; HOSTS]));
    columns.push(Column::new(
        "health".into(),
        (0..HOSTS)
            .map(|i| if bad(i) { "FAIL" } else { "OK" })
            .collect::<Vec<_>>(),
    ));
    DataFrame::new(HOSTS, columns).expect("columns have one length")
}

fn bench(c: &mut Criterion, name: &str, query: &str, check: impl Fn(&DataFrame)) {
    let mut session = Session::new(fleet());
    session.vars.insert("fleet".into(), synthetic());
    let plan = shoal_stdlib::compile(query).expect("query compiles");
    let statement = &plan.statements[0];
    let result = session
        .eval(statement, &ScriptedExecutor, &mut Quiet)
        .expect("query runs");
    check(&result);
    c.bench_function(name, |b| {
        b.iter(|| {
            session
                .eval(statement, &ScriptedExecutor, &mut Quiet)
                .unwrap()
        })
    });
}

fn diff(c: &mut Criterion) {
    bench(
        c,
        "diff where, 10k hosts x 30 columns x 100 lines",
        "$fleet | diff where health = FAIL",
        |result| {
            let first = result.column("feature").unwrap().str().unwrap().get(0);
            assert!(
                matches!(
                    first,
                    Some("tag00 = 2.1.7") | Some("stdout has \"max_conns=64\"")
                ),
                "the planted cause should rank first, got {first:?}"
            );
        },
    );
}

/// 200 hosts' fingerprints: `packages` and `sysctl` as `facts` makes them
/// (one sorted `key=value` a line), volatile scalars, and a health column;
/// the failing tenth run libfoo 1.2.3 where the rest run 1.2.5.
fn fingerprint() -> DataFrame {
    const FLEET: usize = 200;
    let bad = |i: usize| i % 10 == 4;
    let packages: Vec<String> = (0..FLEET)
        .map(|i| {
            let mut lines: Vec<String> = (0..700)
                .map(|p| {
                    format!(
                        "pkg{p:03}={}.{}",
                        p % 5,
                        if p % 50 == 0 { i % 3 } else { 0 }
                    )
                })
                .collect();
            lines.push(format!("libfoo={}", if bad(i) { "1.2.3" } else { "1.2.5" }));
            lines.sort();
            lines.join("\n")
        })
        .collect();
    let sysctl: Vec<String> = (0..FLEET)
        .map(|i| {
            (0..300)
                .map(|k| format!("net.core.k{k:03}={}", if k % 30 == 0 { i % 4 } else { k }))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let columns = vec![
        Column::new(
            "host".into(),
            (0..FLEET)
                .map(|i| format!("host{i:03}"))
                .collect::<Vec<_>>(),
        ),
        Column::new("packages".into(), packages),
        Column::new("sysctl".into(), sysctl),
        Column::new(
            "uptime_s".into(),
            (0..FLEET)
                .map(|i| (86_400 + i * 37) as i64)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "load1".into(),
            (0..FLEET)
                .map(|i| (i % 17) as f64 / 10.0)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "health".into(),
            (0..FLEET)
                .map(|i| if bad(i) { "FAIL" } else { "OK" })
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(FLEET, columns).expect("columns have one length")
}

fn diff_fingerprint(c: &mut Criterion) {
    let mut session = Session::new(fleet());
    session.vars.insert("fleet".into(), fingerprint());
    let plan = shoal_stdlib::compile("$fleet | diff where health = FAIL").expect("compiles");
    let statement = &plan.statements[0];
    let result = session
        .eval(statement, &ScriptedExecutor, &mut Quiet)
        .expect("query runs");
    let first = result.column("feature").unwrap().str().unwrap().get(0);
    assert_eq!(
        first,
        Some("packages has \"libfoo=1.2.3\""),
        "the planted package ranks first"
    );
    c.bench_function("diff where, fingerprint 200 hosts x ~1,000 features", |b| {
        b.iter(|| {
            session
                .eval(statement, &ScriptedExecutor, &mut Quiet)
                .unwrap()
        })
    });
}

fn gather(c: &mut Criterion) {
    bench(
        c,
        "gather, 10k hosts x 100-line outputs",
        "$fleet | gather",
        // Every output has a line unique to its host: 10,000 groups, the
        // most work gather can be given.
        |result| assert_eq!(result.height(), HOSTS),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = diff, diff_fingerprint, gather
}
criterion_main!(benches);
