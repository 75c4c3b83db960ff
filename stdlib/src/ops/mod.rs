//! The operator registry: one file per pipeline stage, each implementing
//! [`Operator`], all listed once in [`REGISTRY`].
//!
//! `help`, REPL completion and the README's language reference are all
//! generated from this registry, and every operator's examples run as tests
//! (see `tests/examples.rs`), so the documentation cannot drift from the code.

mod columns;
mod count;
mod diff;
mod distinct;
mod extract;
mod facts;
mod filter;
mod gather;
mod head;
mod json;
mod kv;
mod lines;
mod outliers;
mod parse;
mod rare;
mod run;
mod select;
mod sort;
mod stats;
mod top;

use polars::prelude::DataFrame;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use crate::eval::EvalContext;

/// An example query over the sample fleet (`crate::sample`) and the exact
/// table it prints.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub description: &'static str,
    pub query: &'static str,
    /// The result as rendered by `frame::to_text`.
    pub output: &'static str,
}

/// One pipeline stage.
pub trait Operator: Sync {
    /// The stage name as typed.
    fn name(&self) -> &'static str;
    /// Other names that mean the same stage.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// The syntax, e.g. `head N`.
    fn usage(&self) -> &'static str;
    /// What it does, in one line.
    fn description(&self) -> &'static str;
    fn examples(&self) -> &'static [Example];
    /// Applies the stage to `input`. `op` is always this operator's variant.
    fn eval(&self, op: &Op, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame>;
}

/// Every operator, in the order `help` lists them.
pub static REGISTRY: &[&dyn Operator] = &[
    &filter::Filter,
    &run::Run,
    &select::Select,
    &sort::Sort,
    &head::Head,
    &count::Count,
    &distinct::Distinct,
    &diff::Diff,
    &gather::Gather,
    &lines::Lines,
    &extract::Extract,
    &parse::Parse,
    &columns::Columns,
    &kv::Kv,
    &json::Json,
    &facts::Facts,
    &stats::Stats,
    &top::Top,
    &rare::Rare,
    &outliers::Outliers,
];

/// The operator for a stage name or alias.
pub fn find(name: &str) -> Option<&'static dyn Operator> {
    REGISTRY
        .iter()
        .copied()
        .find(|op| op.name() == name || op.aliases().contains(&name))
}

/// Reports that an operator was handed another operator's plan: a bug in
/// the evaluator's dispatch, surfaced as an error rather than a panic.
fn wrong_op(expected: &str, op: &Op) -> shoal_lang::Error {
    shoal_lang::Error::new(
        format!(
            "internal error: `{expected}` was given a `{}` stage",
            op.name()
        ),
        None,
    )
}
