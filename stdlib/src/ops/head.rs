//! `head N`: keeps the first N rows.

use polars::prelude::*;
use shoal_lang::Result;

use serde::Serialize;
use shoal_lang::{Args, Kind, Param, Signature};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;

pub struct Head;

static SIGNATURE: Signature = Signature {
    name: "head",
    aliases: &[],
    summary: "Keeps the first N rows.",
    help: "",
    params: &[Param::arg(
        "count",
        Kind::Int {
            min: 0,
            unit: "rows",
        },
        "N",
    )
    .example("10")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Head {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
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
    fn plan(&self, mut args: Args) -> Result<Op> {
        let count: u64 = args.require("count")?;
        Ok(Op::new(HeadOp {
            count: usize::try_from(count).unwrap_or(usize::MAX),
        }))
    }
}

/// `head`: how many rows to keep.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "head")]
pub(crate) struct HeadOp {
    count: usize,
}

impl Stage for HeadOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let HeadOp { count } = self;
        Ok(input.head(Some(*count)))
    }
}
