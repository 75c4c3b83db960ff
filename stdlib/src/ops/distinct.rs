//! `distinct COL, ...`: the distinct combinations of some columns.

use polars::prelude::*;
use shoal_lang::Result;

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{internal, require_columns};
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Distinct;

static SIGNATURE: Signature = Signature {
    name: "distinct",
    aliases: &[],
    summary: "Keeps the named columns and one row per distinct combination of their values, in first-seen order.",
    help: "",
    params: &[Param::arg("columns", Kind::Columns, "COL, ...")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Distinct {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
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
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(DistinctOp {
            columns: args.require("columns")?,
        }))
    }
}

/// `distinct`: the columns whose combinations to keep.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "distinct")]
pub(crate) struct DistinctOp {
    columns: Vec<ColumnRef>,
}

impl Stage for DistinctOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let DistinctOp { columns } = self;
        require_columns(&input, columns)?;
        input
            .select(columns.iter().map(|c| c.name.as_str()))
            .and_then(|df| df.unique_stable(None, UniqueKeepStrategy::First, None))
            .map_err(internal)
    }
}
