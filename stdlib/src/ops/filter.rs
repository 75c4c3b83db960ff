//! `filter PRED` (alias `where`): keeps the rows that match a condition.

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;
use crate::frame::internal;
use crate::predicate::mask;

pub struct Filter;

impl Operator for Filter {
    fn name(&self) -> &'static str {
        "filter"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["where"]
    }
    fn usage(&self) -> &'static str {
        "filter COL = V | COL != V | COL < V | COL ~ /re/ | COL !~ /re/ | COL in (V, ...) | exists COL, joined with and, or, not, ( )"
    }
    fn description(&self) -> &'static str {
        "Keeps the rows that match the condition. Missing values match only !=, !~ and not."
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
    fn eval(&self, op: &Op, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Filter { predicate } = op else {
            return Err(wrong_op("filter", op));
        };
        let keep = BooleanChunked::from_slice("keep".into(), &mask(&input, predicate)?);
        input.filter(&keep).map_err(internal)
    }
}
