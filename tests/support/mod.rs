//! Test support shared by shoal's integration tests: a fleet of real OpenSSH `sshd` servers.
//!
//! Two test targets compile it, each once: the integration tests (tests/integration) and
//! the benchmarks (tests/benches), as `#[path = "../support/mod.rs"] mod support;`. Their
//! modules use what they need:
//!
//! ```ignore
//! // web001..web005 on 127.0.1.1..5:22 (or the next free addresses), where
//! // `cat /etc/app/version` prints 1.0 to 1.4.
//! let fleet = support::SshdFleet::start(support::FleetSpec {
//!     files: Box::new(|i| vec![("version".into(), format!("1.{i}\n"))]),
//!     ..support::FleetSpec::new(5)
//! });
//! let inventory = fleet.inventory_toml(|i| vec![("role".into(), format!("r{i}"))]);
//! // ...run shoal against `inventory`; the servers stop when `fleet` drops.
//! ```
//!
//! For faults between shoal and a host, [`NftTable`] drops some or all of its packets and
//! [`DelayProxy`] (with [`SshdFleet::route_through`]) adds latency.
//!
//! The servers need root, OpenSSH's `sshd`, and util-linux's `unshare`/`nsenter`;
//! `.ci/setup-sshd.sh` installs them (and `nft`). When a server cannot start the harness
//! panics with its log: a test that needs sshd fails, it never skips.

mod addresses;
mod binary;
mod client;
mod delay_proxy;
mod jump_fleet;
mod measure;
mod nft;
mod procfs;
mod sshd_fleet;
mod test_user;

pub use binary::{describe, shoal_command};
pub use client::{Client, host_name, remote_sleeps, wait_for, write_inventory};
pub use delay_proxy::DelayProxy;
// A proxy's traces: tests/benches/latency.rs reads them; the integration tests, which
// compile this module too, name only `Direction` (tests/integration/delay_proxy.rs).
#[allow(unused_imports, reason = "`Trace` is named only by tests/benches")]
pub use delay_proxy::{Direction, Trace};
pub use jump_fleet::{CHAIN, JumpFleet, run_shoal};
pub use measure::measure;
// Named only by the benchmarks (tests/benches/fanout.rs); the integration tests compile this
// module too, and there the re-export is unused.
#[allow(unused_imports, reason = "named only by tests/benches")]
pub use measure::Finished;
pub use nft::NftTable;
pub use sshd_fleet::{FleetSpec, SshdFleet};
pub use test_user::{TEST_USER, test_user_uid};
