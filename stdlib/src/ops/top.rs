//! `top COL [N]`: the N most common values of a column, with how many rows
//! have each and what percentage of all rows that is. Also owns the ranking
//! itself, which `rare` shares with the order reversed.
//!
//! A null (a host without the value, or whose command never ran) is a value
//! of its own, shown blank, so the hosts that did not answer are counted too.
//! Ties keep the order in which the values first appear, so the result is
//! stable and follows the input's (inventory) order. Percentages are rounded
//! to one decimal: they are for reading, and `count` keeps the exact number.

use std::cmp::Reverse;

use indexmap::IndexMap;
use polars::prelude::*;
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Error, Kind, Param, Result, Signature};

use super::lines::row_index;
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, texts};

pub struct Top;

static SIGNATURE: Signature = Signature {
    name: "top",
    aliases: &[],
    summary: "The N (default 10) most common values of COL, with their count and percent of all rows; missing values count as a value.",
    help: "",
    params: RANK_PARAMS,
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Top {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Where the fleet runs",
                query: "hosts | top az",
                output: "\
az          count  percent
us-east-1a  3      50.0
us-east-1b  2      33.3
us-east-1c  1      16.7
",
            },
            Example {
                description: "The most common answers; the blank is the host that never answered",
                query: "hosts | run \"cat /etc/app/version\" | top stdout",
                output: "\
stdout  count  percent
2.1.0   4      66.7
2.0.9   1      16.7
        1      16.7
",
            },
        ]
    }
    fn plan(&self, args: Args) -> Result<Op> {
        ranking(args, false)
    }
}

/// The arguments `top` and `rare` share: a column, and how many values.
pub(crate) static RANK_PARAMS: &[Param] = &[
    Param::arg("column", Kind::Column, "COL"),
    Param::arg(
        "count",
        Kind::Int {
            min: 1,
            unit: "rows",
        },
        "N",
    )
    .optional()
    .example("10")
    .doc("how many values to show (default 10)"),
];

/// Plans `top` or, with `least`, `rare`.
pub(crate) fn ranking(mut args: Args, least: bool) -> Result<Op> {
    let count = args.get::<u64>("count")?.unwrap_or(10);
    Ok(Op::new(TopOp {
        column: args.require("column")?,
        count: usize::try_from(count).unwrap_or(usize::MAX),
        least,
    }))
}

/// `top` and `rare`: the column, how many values, and which end. Both
/// print as `top`, `rare` with `least`, as plans always have.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "top")]
pub(crate) struct TopOp {
    column: ColumnRef,
    count: usize,
    least: bool,
}

impl Stage for TopOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        ranked(&input, &self.column, self.count, self.least)
    }
}

/// The `count` most common values of `name` (the least common with
/// `least`), one row each: the value, `count` and `percent`.
pub(crate) fn ranked(
    input: &DataFrame,
    name: &ColumnRef,
    count: usize,
    least: bool,
) -> Result<DataFrame> {
    let values = column(input, name)?;
    let stage = if least { "rare" } else { "top" };
    reserved_name(name, &["count", "percent"], stage)?;
    let texts = texts(values)?;
    // Each distinct value: the row where it first appears, and how often.
    let mut seen: IndexMap<Option<&str>, (usize, u64)> = IndexMap::new();
    for (row, value) in texts.iter().enumerate() {
        seen.entry(value.as_deref()).or_insert((row, 0)).1 += 1;
    }
    let mut ranks: Vec<(usize, u64)> = seen.into_values().collect();
    // Stable sorts: equal counts keep first-appearance order.
    if least {
        ranks.sort_by_key(|&(_, n)| n);
    } else {
        ranks.sort_by_key(|&(_, n)| Reverse(n));
    }
    ranks.truncate(count);
    let firsts: Vec<IdxSize> = ranks
        .iter()
        .map(|&(row, _)| row_index(row))
        .collect::<Result<_>>()?;
    // Taking each value from its first row keeps the column's type.
    let shown = values
        .take(&IdxCa::from_vec("first".into(), firsts))
        .map_err(internal)?;
    let total = input.height() as f64;
    let counts: Vec<u64> = ranks.iter().map(|&(_, n)| n).collect();
    let percents: Vec<f64> = counts
        .iter()
        .map(|&n| (n as f64 * 1000.0 / total).round() / 10.0)
        .collect();
    let columns = vec![
        shown,
        Column::new("count".into(), counts),
        Column::new("percent".into(), percents),
    ];
    DataFrame::new(ranks.len(), columns).map_err(internal)
}

/// Refuses a column whose name the stage's output already uses, which would
/// otherwise give a table with two columns of that name.
pub(crate) fn reserved_name(name: &ColumnRef, taken: &[&str], stage: &str) -> Result<()> {
    if !taken.contains(&name.name.as_str()) {
        return Ok(());
    }
    Err(Error::new(
        format!(
            "`{stage}` adds its own `{}` column, so it cannot also keep the column `{}`",
            name.name, name.name
        ),
        name.span,
    )
    .with_hint(format!("its output columns are: {}", taken.join(", "))))
}
