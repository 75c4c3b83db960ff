//! `distinct COL, ...`: the distinct combinations of some columns.

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;
use crate::frame::{internal, require_columns};

pub struct Distinct;

impl Operator for Distinct {
    fn name(&self) -> &'static str {
        "distinct"
    }
    fn usage(&self) -> &'static str {
        "distinct COL, ..."
    }
    fn description(&self) -> &'static str {
        "Keeps the named columns and one row per distinct combination of their values, in first-seen order."
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "Which versions run in which AZ",
            query: "hosts | distinct az, version",
            output: "\
az          version
us-east-1a  2.1.0
us-east-1b  2.0.9
us-east-1b  2.1.0
us-east-1c  2.1.0
",
        }]
    }
    fn eval(&self, op: &Op, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Distinct { columns } = op else {
            return Err(wrong_op("distinct", op));
        };
        require_columns(&input, columns)?;
        input
            .select(columns.iter().map(|c| c.name.as_str()))
            .and_then(|df| df.unique_stable(None, UniqueKeepStrategy::First, None))
            .map_err(internal)
    }
}
