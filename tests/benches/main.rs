//! shoal's benchmarks, one test binary that plain `cargo test` neither builds nor runs: it
//! needs the `bench` feature (root Cargo.toml), and each benchmark is `#[ignore]`d. The
//! scripts in bench/ build shoal in release, set the environment and run them, e.g.
//! `cargo test --release --features bench --test benches fanout:: -- --ignored --nocapture`;
//! docs/BENCHMARKS.md says how to run each and records their results.

// The same sshd fleet harness as the integration tests, compiled a second time here (only
// with `--features bench`). The benchmarks use a few of its items (fleets, `measure`); the
// rest, which the integration tests use, would warn as unused in this binary alone.
#[path = "../support/mod.rs"]
#[allow(
    dead_code,
    unused_imports,
    reason = "the integration tests use what the benchmarks leave unused"
)]
mod support;

mod act;
mod checks;
mod daemon_soak;
mod facts;
mod fanout;
mod jump;
mod latency;
mod load;
mod scale;
mod store;
mod warm;
