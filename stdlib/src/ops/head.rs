//! `head N`: keeps the first N rows.

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;

pub struct Head;

impl Operator for Head {
    fn name(&self) -> &'static str {
        "head"
    }
    fn usage(&self) -> &'static str {
        "head N"
    }
    fn description(&self) -> &'static str {
        "Keeps the first N rows."
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "A sample of two hosts",
            query: "hosts | head 2 | select host, az",
            output: "\
host   az
web01  us-east-1a
web02  us-east-1a
",
        }]
    }
    fn eval(&self, op: &Op, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Head { count } = op else {
            return Err(wrong_op("head", op));
        };
        Ok(input.head(Some(*count)))
    }
}
