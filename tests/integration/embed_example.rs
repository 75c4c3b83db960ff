//! `examples/embed.rs`, the README's "Embedding shoal" program, really
//! compiles and answers: its code is compiled into this test as a module
//! and run against the in-process demo fleet (no root or sshd needed).

use std::collections::BTreeMap;

#[allow(dead_code)] // its `main`, which only passes stdout to `health`
#[path = "../../examples/embed.rs"]
mod embed;

#[test]
fn the_embedding_example_counts_the_demo_fleets_health() {
    let mut out = Vec::new();
    embed::health(&mut out).unwrap_or_else(|error| panic!("the example failed: {error}"));
    let out = String::from_utf8(out).expect("the example writes text");
    let counts: BTreeMap<&str, u64> = out
        .lines()
        .map(|line| {
            let (health, count) = line.trim().split_once(' ').expect("`HEALTH COUNT` lines");
            (health, count.parse().expect("a count"))
        })
        .collect();
    // Seven demo hosts fail their health check (runtime/src/demo/data.rs).
    assert_eq!(counts, BTreeMap::from([("FAIL", 7), ("OK", 23)]), "{out}");
}

/// The README promises an embedding in at most 15 lines of code.
#[test]
fn the_embedding_example_stays_short() {
    let source = include_str!("../../examples/embed.rs");
    let code = source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .count();
    assert!(code <= 15, "examples/embed.rs has {code} lines of code");
}
