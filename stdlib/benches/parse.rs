//! Parse + plan of a 20-stage pipeline: the cost paid on every REPL line.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// Twenty stages exercising every stage kind and predicate form.
const PIPELINE: &str = "hosts web[001-200] \
    | filter az = us-east-1a and not (role in (db, cache) or exists maintenance) \
    | run \"cat /etc/app/version\" timeout=5s as version \
    | where status = ok \
    | filter version ~ /^2\\.1\\./ and version !~ /rc/ \
    | run \"cat /proc/loadavg\" as load \
    | filter load > 0.5 and load <= 32 \
    | sort load desc, host \
    | head 100 \
    | select host, az, version, load, status \
    | filter host != web001 \
    | distinct az, version \
    | sort az \
    | head 50 \
    | filter exists az \
    | select az, version \
    | count by az, version \
    | filter count >= 1 \
    | sort count desc \
    | head 10 \
    | select az, count";

fn parse_and_plan(c: &mut Criterion) {
    assert_eq!(
        shoal_stdlib::compile(PIPELINE).unwrap().statements[0]
            .ops
            .len(),
        20
    );
    c.bench_function("parse+plan 20-stage pipeline", |b| {
        b.iter(|| shoal_stdlib::compile(black_box(PIPELINE)).unwrap())
    });
}

criterion_group!(benches, parse_and_plan);
criterion_main!(benches);
