//! shoal's standard library: the pipeline operators on polars DataFrames, the
//! evaluator that applies a Plan, and the [`executor::Executor`] seam through
//! which `run` reaches hosts.
//!
//! A result is a DataFrame with one row per host: `host`, `addr`, `groups`,
//! one text column per inventory tag and, after `run`, `stdout`, `stderr`,
//! `exit`, `status`, `error` and `duration_ms`. A host that fails keeps its
//! row.

pub mod catalog;
pub mod checks;
mod context;
mod dry_run;
mod eval;
pub mod example_fleet;
pub mod executor;
pub mod fleet;
pub mod frame;
pub mod fuse;
pub mod fused_stages;
pub mod history;
mod hostset;
mod names;
pub mod ops;
pub mod predicate;
pub mod runbook;
pub mod safety;
mod seatbelt;
pub mod typed;

pub use context::{EvalContext, Quiet, RunObserver};
pub use eval::Session;
pub use names::expand_nodeset;
pub use ops::{Op, Registry, Step};
pub use polars::prelude::DataFrame;

/// A plan whose stages are this library's operators.
pub type Plan = shoal_lang::Plan<Step>;
/// One statement of a [`Plan`].
pub type PlannedStatement = shoal_lang::plan::PlannedStatement<Step>;

/// Parses and plans `source` with every stage of the registry: the entry
/// point for anything that runs shoal's language.
pub fn compile(source: &str) -> shoal_lang::Result<Plan> {
    shoal_lang::compile(source, &Registry)
}

/// Parses and plans an alarm and bot file (`shoal daemon`) with every stage
/// of the registry.
pub fn compile_rules(source: &str) -> shoal_lang::Result<shoal_lang::rules::Rules<Step>> {
    shoal_lang::compile_rules(source, &Registry)
}
