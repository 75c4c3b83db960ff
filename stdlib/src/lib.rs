//! shoal's standard library: the pipeline operators on polars DataFrames, the
//! evaluator that applies a Plan, and the [`executor::Executor`] seam through
//! which `run` reaches hosts.
//!
//! A result is a DataFrame with one row per host: `host`, `addr`, `groups`,
//! one text column per inventory tag and, after `run`, `stdout`, `stderr`,
//! `exit`, `status`, `error` and `duration_ms`. A host that fails keeps its
//! row.

mod eval;
pub mod executor;
pub mod fleet;
pub mod frame;
mod hostset;
pub mod ops;
mod predicate;
pub mod sample;
pub mod typed;

pub use eval::{EvalContext, Quiet, RunObserver, Session, expand_nodeset};
pub use polars::prelude::DataFrame;
