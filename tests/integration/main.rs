//! shoal's integration tests, in one test binary: each file here is a module, and the sshd
//! fleet harness (tests/support) is compiled once for all of them rather than once per file.
//!
//! Most of them start real OpenSSH servers and need root; `.ci/setup-sshd.sh` installs what
//! they use. Run them with `cargo test --test integration` (add a name to pick some, e.g.
//! `cargo test --test integration faults::`). The benchmarks are a separate target that
//! plain `cargo test` does not build: see tests/benches/main.rs.

#[path = "../support/mod.rs"]
mod support;

mod act;
mod agent_auth;
mod check_first;
mod checks;
mod cli;
mod daemon;
mod delay_proxy;
mod diagnosis;
mod embed_example;
mod facts_fleet;
mod faults;
mod fleet_harness;
mod fused;
mod host_selection;
mod inventories;
mod job_store;
mod output;
mod own_hosts;
mod population_fleet;
mod repl;
mod runtime_fleet;
mod ssh_config;
mod ssh_config_parity;
