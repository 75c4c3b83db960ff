//! `select COL, ...`: keeps only the named columns, in that order.

use polars::prelude::*;
use shoal_lang::Result;

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{internal, require_columns};
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Select;

static SIGNATURE: Signature = Signature {
    name: "select",
    aliases: &[],
    summary: "Keeps only the named columns, in the order given.",
    help: "",
    params: &[Param::arg("columns", Kind::Columns, "COL, ...")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Select {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
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
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(SelectOp {
            columns: args.require("columns")?,
        }))
    }
}

/// `select`: the columns to keep, in order.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "select")]
pub(crate) struct SelectOp {
    columns: Vec<ColumnRef>,
}

impl Stage for SelectOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let SelectOp { columns } = self;
        require_columns(&input, columns)?;
        input
            .select(columns.iter().map(|c| c.name.as_str()))
            .map_err(internal)
    }
}
