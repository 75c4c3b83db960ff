//! `rerun`: runs a recorded job's pipeline again, on the hosts of the
//! incoming rows only: `job last | filter status != ok | rerun`. The new
//! job is recorded as a rerun of the old one (its `parent`).
//!
//! The rows must come from `job N`, whose `job` column says which
//! pipeline to run. That pipeline starts from its own source as it did
//! (`hosts @web`, `$bad`, ...), and its rows are cut to the incoming hosts
//! before its first stage, so only those hosts are contacted.

use indexmap::IndexSet;
use polars::prelude::*;
use serde::Serialize;
use shoal_lang::{Args, Error, ErrorKind, Result, Signature, Span};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::eval::{apply, resolve_source};
use crate::frame::{internal, texts};

pub struct Rerun;

static SIGNATURE: Signature = Signature {
    name: "rerun",
    aliases: &[],
    summary: "Runs a recorded job's pipeline again on the hosts of the incoming rows only (rows from `job N`); the new job records the old as its parent.",
    help: "Typical: `job last | filter status != ok | rerun` runs the last job again on the hosts where it failed. Hosts no longer in the inventory are an error, named, before anything runs.",
    params: &[],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Rerun {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "The last job again, on the hosts where it did not end ok",
            query: "job last | filter status != ok | rerun | select host, stdout, status, error",
            output: "\
host     stdout  status       error
cache01          unreachable  connect to 10.0.3.1:22: connection refused
",
        }]
    }
    fn plan(&self, args: Args) -> Result<Op> {
        Ok(Op::new(RerunOp { span: args.span }))
    }
}

/// `rerun` has no arguments; its span is where its errors point.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "rerun")]
pub(crate) struct RerunOp {
    #[serde(skip)]
    span: Span,
}

impl Stage for RerunOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let span = self.span;
        let no_command = || {
            Error::new(
                "`rerun` needs rows from `job N`: these rows have no `job` column, so there is no command to run again",
                span,
            )
            .with_hint("for example: job last | filter status != ok | rerun")
            .with_kind(ErrorKind::Definite)
        };
        let jobs = input.column("job").map_err(|_| no_command())?;
        let jobs: IndexSet<u64> = jobs
            .cast(&DataType::UInt64)
            .map_err(|_| no_command())?
            .u64()
            .map_err(internal)?
            .iter()
            .flatten()
            .collect();
        let job = match jobs.len() {
            0 => {
                ctx.observer
                    .note("rerun", "no rows, so no host to run again");
                return Ok(input);
            }
            1 => jobs[0],
            _ => {
                return Err(Error::new(
                    format!(
                        "`rerun` runs one job again, and these rows come from {} jobs",
                        jobs.len()
                    ),
                    span,
                )
                .with_hint("keep one job's rows first: filter job = 12 | rerun"));
            }
        };
        let hosts: IndexSet<String> = texts(input.column("host").map_err(|_| no_command())?)?
            .into_iter()
            .flatten()
            .collect();
        let missing: Vec<&str> = hosts
            .iter()
            .filter(|h| !ctx.fleet.hosts.iter().chain(&ctx.fleet.ssh_config).any(|f| &f.name == *h))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(Error::new(
                format!(
                    "job {job} ran on hosts that are not in the inventory now: {}",
                    shoal_lang::fold_hosts(&missing)
                ),
                span,
            )
            .with_hint("leave them out first: filter host != NAME | rerun"));
        }
        let replay = ctx.history.replay(job, span)?;
        let plan = crate::compile(&replay).map_err(|error| {
            Error::new(
                format!("job {job}'s pipeline no longer compiles: {}", error.reason),
                span,
            )
            .with_hint(format!("it was: {replay}"))
        })?;
        let [statement] = plan.statements.as_slice() else {
            return Err(Error::new(
                format!("job {job} recorded {} statements, not one pipeline", plan.statements.len()),
                span,
            ));
        };
        let rows = resolve_source(ctx.fleet, ctx.vars, ctx.history, &statement.source)?;
        let rows = only_hosts(rows, &hosts)?;
        ctx.history.rerun_of(job, &replay);
        apply(&statement.ops, rows, ctx)
    }
}

/// The rows of `frame` whose host is one of `hosts`.
fn only_hosts(frame: DataFrame, hosts: &IndexSet<String>) -> Result<DataFrame> {
    let names = texts(frame.column("host").map_err(internal)?)?;
    let keep: BooleanChunked = names
        .iter()
        .map(|name| name.as_ref().is_some_and(|n| hosts.contains(n)))
        .collect();
    frame.filter(&keep).map_err(internal)
}
