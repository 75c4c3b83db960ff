//! shoal's language: grammar, AST, errors and typed plan. No I/O.
//!
//! A query flows through three stages, each a public function:
//!
//! ```text
//!   "hosts @web | run \"uptime\" | count by status"
//!        │
//!        ▼  parse()      pest grammar (grammar.pest) → ast::Program: sources, and each
//!        │               stage as its name and its text; spans on every node
//!        ▼  plan()       planner.rs resolves sources; for each stage, the Catalog's
//!        │               Signature checks its text (bind.rs) into typed Args, which
//!        │               the stage turns into its typed operator → plan::Plan<Op>
//!        ▼  (shoal-stdlib's registry is the Catalog and evaluates the Plan against
//!            DataFrames; shoal-runtime runs SSH)
//! ```
//!
//! The modules depend on each other one way: `ast`, `span`, `error`,
//! `signature` and the `plan` model at the bottom; `parser` on the AST;
//! `shell` and `pattern` on the model; `check` on the AST and the model;
//! `bind` on `check` and the parser; `planner` on `bind`.
//!
//! Alarm and bot files (`shoal daemon`) go through the same grammar and
//! catalog: [`compile_rules`] (rules.rs) plans each query, condition and
//! `act` in them as it would in a query.
//!
//! Every failure along the way is an [`Error`]: a reason, a [`Span`] and
//! hints, rendered once with a caret by [`Error::render`].

pub mod ast;
pub mod bind;
mod check;
mod display;
mod duration;
mod error;
mod nodeset;
mod parser;
mod pattern;
pub mod plan;
pub mod planner;
pub mod rules;
mod shell;
pub mod signature;
mod span;
mod suggest;

pub use bind::{Arg, Args, FromArg, Millis};
pub use check::compile_regex;
pub use display::selection_text;
pub use duration::parse_duration;
pub use error::{Error, ErrorKind, Result};
pub use nodeset::{MAX_NODESET_NAMES, NodeSet, NodeSetError, fold_hosts, parse_nodeset};
pub use parser::parse;
pub use pattern::compile as compile_pattern;
pub use plan::Plan;
pub use planner::{Catalog, plan};
pub use rules::compile_rules;
pub use shell::{render_command, shell_quote, template as command_template};
pub use signature::{Kind, Param, Signature};
pub use span::Span;
pub use suggest::did_you_mean;

/// Parses and plans in one step, with stages from `catalog`.
pub fn compile<C: Catalog>(source: &str, catalog: &C) -> Result<Plan<C::Op>> {
    let program = parse(source).map_err(|error| missing_pipe_hint(source, error, catalog))?;
    let mut plan = plan(&program, catalog)?;
    for (planned, statement) in plan.statements.iter_mut().zip(&program.statements) {
        let span = statement.pipeline().span;
        planned.text = source[span.start..span.end].trim().to_string();
    }
    Ok(plan)
}

/// `hosts run "uptime"`: a stage name where the grammar read a host name or
/// found no place for it, because the `|` before it is missing.
fn missing_pipe_hint<C: Catalog>(source: &str, error: Error, catalog: &C) -> Error {
    let Some(span) = error.span else {
        return error;
    };
    let at = span::floor_char_boundary(source, span.start);
    let before = source[..at].split_whitespace().next_back().unwrap_or("");
    let found = source[at..].split_whitespace().next().unwrap_or("");
    let signatures = catalog.signatures();
    let stage = [found, before]
        .into_iter()
        .find(|word| signatures.iter().any(|s| s.names().any(|n| n == *word)));
    match stage {
        Some(stage) => {
            let mut error = error;
            error
                .hints
                .retain(|h| !h.starts_with("`shoal help` describes"));
            error.hints.insert(
                0,
                format!("`{stage}` is a stage: put a `|` before it, as in hosts | {stage} ..."),
            );
            error
        }
        None => error,
    }
}
