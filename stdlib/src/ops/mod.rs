//! The operator registry: one file per pipeline stage, each implementing
//! [`Operator`], all listed once in [`REGISTRY`], one line a stage.
//!
//! Adding a stage is its file (a [`Signature`], examples, `plan` and a
//! typed struct implementing [`Stage`]) and one line in `registry!` below;
//! the grammar, the planner, `help`, completion and the README reference
//! all follow from the signature.
//!
//! `help`, REPL completion and the README's language reference are all
//! generated from this registry, and every operator's examples run as tests
//! (see `tests/examples.rs`), so the documentation cannot drift from the code.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use polars::prelude::DataFrame;
use serde::{Serialize, Serializer};
use shoal_lang::{Args, Catalog, Result, Signature};

use crate::context::EvalContext;
use crate::fused_stages::HostSide;

/// An example query over the example fleet (`crate::example_fleet`) and the exact
/// table it prints.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub description: &'static str,
    pub query: &'static str,
    /// The result as rendered by `frame::to_text`.
    pub output: &'static str,
}

/// One pipeline stage, as the registry lists it: its signature (name,
/// arguments, options, help), its examples, and how its checked arguments
/// become a typed [`Stage`].
pub trait Operator: Sync {
    fn signature(&self) -> &'static Signature;
    fn examples(&self) -> &'static [Example];
    /// Builds the stage's operator from the arguments its signature checked.
    fn plan(&self, args: Args) -> Result<Op>;
}

/// A planned stage: its typed arguments, which know how to run. `--explain`
/// prints it, so its fields serialise with `op` (the stage name) first.
/// `Any`, so that what judges a plan (the checks runner reading its
/// `assert`) can look at one stage's typed arguments.
pub trait Stage: fmt::Debug + Send + Sync + erased_serde::Serialize + Any {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame>;

    /// For a stage that runs commands on its rows' hosts and keeps its rows
    /// (`run`, `facts`), what fusing it with its neighbours into one round
    /// trip needs to know (fused_stages.rs); `None` for every other stage.
    fn host_side(&self) -> Option<HostSide> {
        None
    }
}

erased_serde::serialize_trait_object!(Stage);

/// One operator of a plan: a stage, shared so plans clone cheaply.
#[derive(Debug, Clone)]
pub struct Op(Arc<dyn Stage>);

impl Op {
    pub fn new(stage: impl Stage + 'static) -> Op {
        Op(Arc::new(stage))
    }

    pub fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        self.0.eval(input, ctx)
    }

    /// What fusing the stage with its neighbours needs to know, when it is
    /// a host-side stage ([`Stage::host_side`]).
    pub fn host_side(&self) -> Option<HostSide> {
        self.0.host_side()
    }

    /// The stage's typed arguments, when it is a `T`.
    pub fn downcast<T: Stage>(&self) -> Option<&T> {
        let stage: &dyn Any = self.0.as_ref();
        stage.downcast_ref()
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(serializer)
    }
}

/// One stage of a plan: its operator, and the signature it was planned
/// from, which says what the evaluator may need to know about it (such as
/// whether its columns come from the data). Prints as its operator.
#[derive(Debug, Clone)]
pub struct Step {
    pub signature: &'static Signature,
    pub op: Op,
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.op.serialize(serializer)
    }
}

/// Declares each stage's module and lists its operator in [`REGISTRY`], so
/// that a stage is one line here.
macro_rules! registry {
    ($($module:ident::$operator:ident,)*) => {
        $(mod $module;)*

        /// Every operator, in the order `help` lists them.
        pub static REGISTRY: &[&dyn Operator] = &[$(&$module::$operator),*];
    };
}

registry! {
    filter::Filter,
    run::Run,
    act::Act,
    select::Select,
    sort::Sort,
    head::Head,
    sample::Sample,
    count::Count,
    distinct::Distinct,
    diff::Diff,
    gather::Gather,
    lines::Lines,
    extract::Extract,
    parse::Parse,
    columns::Columns,
    kv::Kv,
    json::Json,
    facts::Facts,
    stats::Stats,
    top::Top,
    rare::Rare,
    outliers::Outliers,
    share::Share,
    assert::Assert,
    save::Save,
    rerun::Rerun,
    drift::Drift,
}

/// Stages whose examples need a job store: `stdlib/tests/examples.rs`
/// leaves them to shoal-runtime's store tests, which run them against a
/// real (in-memory) store holding job 1, `hosts | run "cat
/// /etc/app/version"`, and the baseline `last-week`, the web hosts with
/// `version` 2.0.9.
pub const NEEDS_STORE: &[&str] = &["save", "rerun", "drift"];

pub use assert::{AssertOp, Verdict};

/// `facts`' columns that change between reads (load, uptime, clock skew…):
/// `diff` leaves them out of its causes unless asked.
pub use facts::VOLATILE as VOLATILE_FACTS;
pub use facts::default_probe as facts_probe;

/// The operator for a stage name or alias.
pub fn find(name: &str) -> Option<&'static dyn Operator> {
    REGISTRY
        .iter()
        .copied()
        .find(|op| op.signature().names().any(|n| n == name))
}

/// `lines`, `columns`, `kv` and `json` read stdout unless told otherwise;
/// an "unknown column" error then points at the stage itself.
fn column_or_stdout(
    column: Option<shoal_lang::plan::ColumnRef>,
    stage: shoal_lang::Span,
) -> shoal_lang::plan::ColumnRef {
    column.unwrap_or_else(|| shoal_lang::plan::ColumnRef {
        name: "stdout".to_string(),
        span: stage,
    })
}

/// The registry as the planner's catalog of stages.
pub struct Registry;

impl Catalog for Registry {
    type Op = Step;

    fn signatures(&self) -> Vec<&'static Signature> {
        REGISTRY.iter().map(|op| op.signature()).collect()
    }

    fn build(&self, signature: &'static Signature, args: Args) -> Result<Step> {
        let operator = REGISTRY
            .iter()
            .find(|op| std::ptr::eq(op.signature(), signature))
            .ok_or_else(|| {
                shoal_lang::Error::new(
                    format!("internal error: no operator `{}`", signature.name),
                    args.span,
                )
            })?;
        Ok(Step {
            signature,
            op: operator.plan(args)?,
        })
    }
}
