//! shoal's runtime: the query [`Engine`], and what it stands on — the
//! inventory, the user's ssh_config, each host's route, the SSH executor
//! with its connection pool — plus the in-process demo fleet.
//!
//! # Embedding shoal
//!
//! An [`Engine`] runs shoal queries from any Rust program and returns
//! each result as a polars `DataFrame`, one row per host (or per group,
//! after `count by`). It is synchronous: it owns its tokio runtime and
//! each call blocks until the query is done, so the caller needs no async
//! code. Here against the 30-host demo fleet, which runs in-process and
//! needs no root, sshd or network:
//!
//! ```
//! use shoal_runtime::Engine;
//! use shoal_runtime::demo::DemoFleet;
//!
//! let demo = DemoFleet::start_blocking()?;
//! let mut engine = Engine::open(demo.inventory_path())?;
//! let frame = engine.query("hosts | run \"cat etc/app/health\" as health | count by health")?;
//! println!("{frame}");
//! assert_eq!(frame.height(), 2); // OK and FAIL
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For a real fleet, [`Engine::open`] takes the path of an inventory in
//! any format shoal reads, and [`Engine::new`] takes an inventory and an
//! ssh_config loaded by the caller. A query that does not parse, or a
//! statement that fails, is an [`Error::Query`]; its `render(source,
//! color)` shows the message with a caret under the place in the query.
//! Hosts that fail or cannot be reached are not errors but rows, with
//! their `status`.
pub mod checks;
pub mod daemon;
pub mod demo;
pub mod engine;
pub mod inventory;
pub mod ssh;
pub mod ssh_config;
pub mod store;
pub mod targets;

pub use engine::{Engine, Error, Interrupts, Outcome};
/// Parses and plans query text with every stage shoal has.
pub use shoal_stdlib::compile;
