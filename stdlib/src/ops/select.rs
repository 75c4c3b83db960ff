//! `select COL, ...`: keeps only the named columns, in that order.

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;
use crate::frame::{internal, require_columns};

pub struct Select;

impl Operator for Select {
    fn name(&self) -> &'static str {
        "select"
    }
    fn usage(&self) -> &'static str {
        "select COL, ..."
    }
    fn description(&self) -> &'static str {
        "Keeps only the named columns, in the order given."
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "Just the names and versions",
            query: "hosts @web | select host, version",
            output: "\
host   version
web01  2.1.0
web02  2.1.0
web03  2.0.9
",
        }]
    }
    fn eval(&self, op: &Op, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Select { columns } = op else {
            return Err(wrong_op("select", op));
        };
        require_columns(&input, columns)?;
        input
            .select(columns.iter().map(|c| c.name.as_str()))
            .map_err(internal)
    }
}
