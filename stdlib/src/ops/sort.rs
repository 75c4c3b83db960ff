//! `sort COL [desc], ...`: orders rows; nulls always sort last.

use polars::prelude::*;
use shoal_lang::Result;

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{internal, require_columns};
use serde::Serialize;
use shoal_lang::plan::SortSpec;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Sort;

static SIGNATURE: Signature = Signature {
    name: "sort",
    aliases: &[],
    summary: "Orders the rows by the columns given, ascending unless `desc`. Ties keep their order; missing values go last.",
    help: "",
    params: &[Param::arg("keys", Kind::SortKeys, "COL [desc|asc], ...")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Sort {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "Slowest hosts first",
            query: "hosts | run \"hostname\" | sort duration_ms desc | select host, status, duration_ms",
            output: "\
host     status       duration_ms
db02     ok           48
db01     ok           41
web03    ok           34
web02    ok           27
web01    ok           20
cache01  unreachable  10
",
        }]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(SortOp {
            keys: args.require("keys")?,
        }))
    }
}

/// `sort`: the keys, most significant first.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "sort")]
pub(crate) struct SortOp {
    keys: Vec<SortSpec>,
}

impl Stage for SortOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let SortOp { keys } = self;
        let columns: Vec<_> = keys.iter().map(|k| k.column.clone()).collect();
        require_columns(&input, &columns)?;
        let options = SortMultipleOptions::default()
            .with_order_descending_multi(keys.iter().map(|k| k.descending))
            .with_nulls_last(true)
            // Stable, so `sort az | sort role` keeps az order within a role.
            .with_maintain_order(true);
        input
            .sort(columns.iter().map(|c| c.name.as_str()), options)
            .map_err(internal)
    }
}
