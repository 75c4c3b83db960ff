//! `count` and `count by COL, ...`: how many rows, overall or per group.

use polars::prelude::*;
use shoal_lang::Result;

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{internal, require_columns};
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Count;

static SIGNATURE: Signature = Signature {
    name: "count",
    aliases: &[],
    summary: "Counts the rows; with `by`, one row per group with a `count` column, largest group first.",
    help: "",
    params: &[Param::arg("by", Kind::Columns, "COL, ...")
        .optional()
        .after("by")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Count {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "How many hosts",
                query: "hosts | count",
                output: "\
count
6
",
            },
            Example {
                description: "How the fleet answered",
                query: "hosts | run \"cat /etc/app/version\" | count by status, stdout",
                output: "\
status       stdout  count
ok           2.1.0   4
ok           2.0.9   1
unreachable          1
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(CountOp {
            by: args.get("by")?.unwrap_or_default(),
        }))
    }
}

/// `count`: the columns to group by; none counts all rows.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "count")]
pub(crate) struct CountOp {
    by: Vec<ColumnRef>,
}

impl Stage for CountOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let CountOp { by } = self;
        if by.is_empty() {
            let total = Column::new("count".into(), [input.height() as u64]);
            return DataFrame::new(1, vec![total]).map_err(internal);
        }
        require_columns(&input, by)?;
        // group_by_stable keeps first-seen group order, which the stable sort
        // below then keeps among groups of equal size.
        let groups = input
            .group_by_stable(by.iter().map(|c| c.name.as_str()))
            .map_err(internal)?;
        let mut columns = groups.keys();
        let counts = groups
            .get_groups()
            .group_count()
            .cast(&DataType::UInt64)
            .map_err(internal)?;
        columns.push(Column::from(counts.with_name("count".into())));
        let height = columns[0].len();
        let options = SortMultipleOptions::default()
            .with_order_descending(true)
            .with_maintain_order(true);
        DataFrame::new(height, columns)
            .and_then(|df| df.sort(["count"], options))
            .map_err(internal)
    }
}
