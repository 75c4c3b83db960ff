//! Embedding shoal in a Rust program: start the 30-host demo fleet inside
//! this process, ask it one question, and print the answer.
//!
//!     cargo run --example embed
//!
//! For a real fleet, open an inventory file instead: `Engine::open("fleet.toml")`.

use std::io::Write;

use shoal_runtime::{Engine, demo::DemoFleet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    health(&mut std::io::stdout())
}

/// Writes how many demo hosts answer each health value (OK or FAIL).
pub fn health(out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    // SSH servers on 127.0.0.1 until `demo` is dropped; no root or sshd needed.
    let demo = DemoFleet::start_blocking()?;
    let mut engine = Engine::open(demo.inventory_path())?;
    // A polars DataFrame: one row per health value, with its `count`.
    let frame = engine.query("hosts | run \"cat etc/app/health\" as health | count by health")?;
    let health = frame.column("health")?.str()?;
    for (health, count) in health.iter().zip(frame.column("count")?.u64()?.iter()) {
        writeln!(out, "{:>4} {}", health.unwrap_or("?"), count.unwrap_or(0))?;
    }
    Ok(())
}
