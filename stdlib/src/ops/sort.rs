//! `sort COL [desc], ...`: orders rows; nulls always sort last.

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;
use crate::frame::{internal, require_columns};

pub struct Sort;

impl Operator for Sort {
    fn name(&self) -> &'static str {
        "sort"
    }
    fn usage(&self) -> &'static str {
        "sort COL [desc|asc], ..."
    }
    fn description(&self) -> &'static str {
        "Orders the rows by the columns given, ascending unless `desc`. Ties keep their order; missing values go last."
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
    fn eval(&self, op: &Op, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Sort { keys } = op else {
            return Err(wrong_op("sort", op));
        };
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
