//! `rare COL [N]`: the N least common values of a column; `top` with the
//! order reversed (the ranking lives in `top.rs`).

use polars::prelude::DataFrame;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use super::top::ranked;
use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;

pub struct Rare;

impl Operator for Rare {
    fn name(&self) -> &'static str {
        "rare"
    }
    fn usage(&self) -> &'static str {
        "rare COL [N]"
    }
    fn description(&self) -> &'static str {
        "The N (default 10) least common values of COL, with their count and percent of all rows; the odd ones out come first."
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "The version only one host runs",
            query: "hosts | run \"cat /etc/app/version\" | filter status = ok | rare stdout",
            output: "\
stdout  count  percent
2.0.9   1      20.0
2.1.0   4      80.0
",
        }]
    }
    fn eval(&self, op: &Op, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Top {
            column,
            count,
            least: true,
        } = op
        else {
            return Err(wrong_op("rare", op));
        };
        ranked(&input, column, *count, true)
    }
}
