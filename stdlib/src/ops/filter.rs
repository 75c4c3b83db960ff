//! `filter PRED` (alias `where`): keeps the rows that match a condition.

use polars::prelude::*;
use shoal_lang::Result;

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::internal;
use crate::predicate::mask;
use serde::Serialize;
use shoal_lang::plan::Predicate;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Filter;

static SIGNATURE: Signature = Signature {
    name: "filter",
    aliases: &["where"],
    summary: "Keeps the rows that match the condition. Missing values match only !=, !~ and not.",
    help: "A condition compares a column with a value: COL = V, COL != V, COL < V, COL <= V, COL > V, COL >= V, COL ~ /re/, COL !~ /re/, COL in (V, ...), COL has \"line\", COL contains \"text\", exists COL; joined with and, or, not and ( ).",
    params: &[Param::arg("predicate", Kind::Predicate, "PRED")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Filter {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Hosts in one AZ; values need no quotes",
                query: "hosts | filter az=us-east-1a | select host, role",
                output: "\
host   role
web01  web
web02  web
db01   db
",
            },
            Example {
                description: "Hosts whose command did not succeed",
                query: "hosts | run \"systemctl is-active app\" | where status != ok | select host, status, error",
                output: "\
host     status       error
web03    failed       exit 3
cache01  unreachable  connect to 10.0.3.1:22: connection refused
",
            },
            Example {
                description: "Numbers in text compare as numbers; regexes match text",
                query: "hosts | run \"nproc\" as cpus | filter cpus >= 8 or host ~ /^web0[12]$/ | select host, cpus",
                output: "\
host   cpus
web01  4
web02  4
db01   8
db02   8
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(FilterOp {
            predicate: args.require("predicate")?,
        }))
    }
}

/// `filter`: the condition rows must meet.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "filter")]
pub(crate) struct FilterOp {
    predicate: Predicate,
}

impl Stage for FilterOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let FilterOp { predicate } = self;
        let keep = BooleanChunked::from_slice("keep".into(), &mask(&input, predicate)?);
        input.filter(&keep).map_err(internal)
    }
}
