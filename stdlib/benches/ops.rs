//! filter + sort + `count by` over 100,000 host rows: the shape of a typical
//! incident query once the fleet has answered.

use criterion::{Criterion, criterion_group, criterion_main};
use indexmap::IndexMap;
use shoal_stdlib::example_fleet::ScriptedExecutor;
use shoal_stdlib::fleet::{Fleet, FleetHost};
use shoal_stdlib::{Quiet, Session};

const HOSTS: usize = 100_000;

fn fleet() -> Fleet {
    let azs = ["us-east-1a", "us-east-1b", "us-east-1c", "eu-west-1a"];
    let roles = ["web", "db", "cache", "batch", "queue"];
    let hosts = (0..HOSTS)
        .map(|i| FleetHost {
            name: format!("host{i:06}"),
            addr: format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            tags: IndexMap::from([
                ("az".to_string(), azs[i % azs.len()].to_string()),
                ("role".to_string(), roles[(i / 7) % roles.len()].to_string()),
                ("version".to_string(), format!("2.{}.{}", i % 3, i % 11)),
                (
                    "load".to_string(),
                    format!("{:.2}", (i % 1000) as f64 / 100.0),
                ),
            ]),
        })
        .collect();
    Fleet {
        hosts,
        groups: IndexMap::new(),
        ssh_config: Vec::new(),
    }
}

fn filter_sort_count(c: &mut Criterion) {
    let mut session = Session::new(fleet());
    // Build the 100,000-row frame once, as a saved result, so the benchmark
    // measures the operators and not the making of the host table.
    let setup = shoal_stdlib::compile("let all = hosts").unwrap();
    session
        .eval(&setup.statements[0], &ScriptedExecutor, &mut Quiet)
        .unwrap();
    let plan = shoal_stdlib::compile(
        "$all | filter role != batch and load > 1.5 | sort az, load desc | count by az, version",
    )
    .unwrap();
    let statement = &plan.statements[0];
    let groups = session
        .eval(statement, &ScriptedExecutor, &mut Quiet)
        .unwrap();
    assert_eq!(groups.width(), 3);
    c.bench_function("filter+sort+count by, 100k rows", |b| {
        b.iter(|| {
            session
                .eval(statement, &ScriptedExecutor, &mut Quiet)
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = filter_sort_count
}
criterion_main!(benches);
