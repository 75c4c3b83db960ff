//! shoal's language: grammar, AST, errors and typed plan. No I/O.
//!
//! A query flows through three stages, each a public function:
//!
//! ```text
//!   "hosts @web | run \"uptime\" | count by status"
//!        │
//!        ▼  parse()      pest grammar (grammar.pest) → ast::Program, spans on every node
//!        │
//!        ▼  plan()       checks arguments, resolves durations → plan::Plan (one Op per stage)
//!        │
//!        ▼  (shoal-stdlib evaluates the Plan against DataFrames; shoal-runtime runs SSH)
//! ```
//!
//! Every failure along the way is an [`Error`]: a reason, a [`Span`] and
//! hints, rendered once with a caret by [`Error::render`].

pub mod ast;
mod display;
mod duration;
mod error;
mod nodes;
mod parser;
mod pattern;
pub mod plan;
mod shell;
mod span;
mod suggest;

pub use display::selection_text;
pub use duration::parse_duration;
pub use error::{Error, Result};
pub use nodes::{NodeSet, fold_hosts, parse_nodeset};
pub use parser::{STAGE_NAMES, parse};
pub use plan::{Plan, plan};
pub use shell::{render_command, shell_quote};
pub use span::Span;
pub use suggest::did_you_mean;

/// Parses and plans in one step: what callers that only want a Plan use.
pub fn compile(source: &str) -> Result<Plan> {
    plan(&parse(source)?)
}
