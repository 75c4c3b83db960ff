//! `stats COL [by COL, ...]`: count, min, percentiles, max and mean of a
//! numeric column, overall or per group. Also owns the helpers `outliers`
//! shares: reading a column as numbers, grouping rows, and percentiles.
//!
//! Percentiles interpolate linearly between the two nearest ranks (numpy's
//! and polars' default): `p50` is then the usual median, the middle of the two
//! middle values when there is an even number of them, which is what
//! `outliers` needs. Nearest-rank would only ever report values that occur,
//! but it makes the median of `4, 8` equal `4`.
//!
//! Nulls (hosts that failed, or lack the value) and NaN are skipped, so a
//! group where no host has a value gets `count` 0 and nulls elsewhere.

use indexmap::IndexMap;
use polars::prelude::*;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Error, Result};

use super::lines::row_index;
use super::top::reserved_name;
use serde::Serialize;
use shoal_lang::{Args, Kind, Param, Signature};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, numbers, require_columns, texts};

pub struct Stats;

static SIGNATURE: Signature = Signature {
    name: "stats",
    aliases: &[],
    summary: "Summarises a numeric column: count, min, p50, p90, p99, max and mean, overall or one row per group. Missing values are skipped.",
    help: "",
    params: &[
        Param::arg("column", Kind::Column, "COL"),
        Param::arg("by", Kind::Columns, "COL, ...")
            .optional()
            .after("by"),
    ],
    options: &[],
    takes_as: false,
    data_columns: false,
};

/// The columns `stats` adds after the group columns, in order: `count`,
/// then the statistics of [`Summary`] in field order.
const STATISTICS: [&str; 7] = ["count", "min", "p50", "p90", "p99", "max", "mean"];

impl Operator for Stats {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "How long the fleet took to answer",
                query: "hosts | run \"hostname\" | stats duration_ms",
                output: "\
count  min   p50   p90   p99    max   mean
6      10.0  30.5  44.5  47.65  48.0  30.0
",
            },
            Example {
                description: "Per group; cache01 never answered, so its group is empty",
                query: "hosts | run \"nproc\" as cpus | stats cpus by role",
                output: "\
role   count  min  p50  p90  p99  max  mean
web    3      4.0  4.0  4.0  4.0  4.0  4.0
db     2      8.0  8.0  8.0  8.0  8.0  8.0
cache  0
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(StatsOp {
            column: args.require("column")?,
            by: args.get("by")?.unwrap_or_default(),
        }))
    }
}

/// `stats`: the column to summarise and the groups.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "stats")]
pub(crate) struct StatsOp {
    column: ColumnRef,
    by: Vec<ColumnRef>,
}

impl Stage for StatsOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let StatsOp { column, by } = self;
        let values = numeric_values(&input, column, "stats")?;
        for key in by {
            reserved_name(key, &STATISTICS, "stats")?;
        }
        let groups = group_rows(&input, by)?;
        let mut columns = group_keys(&input, by, &groups)?;
        let summaries: Vec<Summary> = groups
            .iter()
            .map(|rows| Summary::of(present(&values, rows)))
            .collect();
        columns.push(Column::new(
            "count".into(),
            summaries.iter().map(|s| s.count).collect::<Vec<u64>>(),
        ));
        let picks: [fn(&Summary) -> Option<f64>; 6] = [
            |s| s.min,
            |s| s.p50,
            |s| s.p90,
            |s| s.p99,
            |s| s.max,
            |s| s.mean,
        ];
        for (name, pick) in STATISTICS[1..].iter().zip(picks) {
            let values: Vec<Option<f64>> = summaries.iter().map(pick).collect();
            columns.push(Column::new((*name).into(), values));
        }
        DataFrame::new(groups.len(), columns).map_err(internal)
    }
}

/// One group's statistics; all but `count` are `None` for an empty group.
struct Summary {
    count: u64,
    min: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
}

impl Summary {
    fn of(sorted: Vec<f64>) -> Summary {
        let mean = (!sorted.is_empty()).then(|| sorted.iter().sum::<f64>() / sorted.len() as f64);
        Summary {
            count: sorted.len() as u64,
            min: sorted.first().copied(),
            p50: percentile(&sorted, 0.5),
            p90: percentile(&sorted, 0.9),
            p99: percentile(&sorted, 0.99),
            max: sorted.last().copied(),
            mean,
        }
    }
}

/// The values of COL as numbers: a number column, or text that reads as
/// numbers (output captured from hosts). Other text is a type error at the
/// column's name, quoting a value, since a statistic of text means nothing.
pub(crate) fn numeric_values(
    df: &DataFrame,
    name: &ColumnRef,
    stage: &str,
) -> Result<Vec<Option<f64>>> {
    numbers(column(df, name)?)?.map_err(|sample| {
        let sample: String = sample.chars().take(40).collect();
        Error::new(
            format!(
                "`{stage}` needs numbers, but `{}` holds text such as `{sample}`",
                name.name
            ),
            name.span,
        )
        .with_hint("pick the number out of the text first, with `extract`, `parse` or `kv`")
    })
}

/// The non-null, non-NaN values of `rows`, sorted ascending.
pub(crate) fn present(values: &[Option<f64>], rows: &[usize]) -> Vec<f64> {
    let mut present: Vec<f64> = rows
        .iter()
        .filter_map(|&row| values[row])
        .filter(|v| !v.is_nan())
        .collect();
    present.sort_by(f64::total_cmp);
    present
}

/// The `p` quantile (0 to 1) of ascending values, interpolating linearly
/// between the two nearest ranks; `None` when there are no values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p * last as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    let (low, high) = (sorted[below], sorted[above.min(last)]);
    Some(low + (high - low) * (rank - below as f64))
}

/// The input's row numbers grouped by the values of the `by` columns, groups
/// in first-seen order (so hosts keep their inventory order); without `by`,
/// one group of every row, even when there are none.
pub(crate) fn group_rows(df: &DataFrame, by: &[ColumnRef]) -> Result<Vec<Vec<usize>>> {
    if by.is_empty() {
        return Ok(vec![(0..df.height()).collect()]);
    }
    require_columns(df, by)?;
    let keys: Vec<Vec<Option<String>>> = by
        .iter()
        .map(|c| column(df, c).and_then(texts))
        .collect::<Result<_>>()?;
    let mut groups: IndexMap<Vec<Option<&str>>, Vec<usize>> = IndexMap::new();
    for row in 0..df.height() {
        let key = keys.iter().map(|k| k[row].as_deref()).collect();
        groups.entry(key).or_default().push(row);
    }
    Ok(groups.into_values().collect())
}

/// The `by` columns, one row per group, holding each group's values with
/// their original types.
fn group_keys(df: &DataFrame, by: &[ColumnRef], groups: &[Vec<usize>]) -> Result<Vec<Column>> {
    let firsts: Vec<IdxSize> = groups
        .iter()
        .filter_map(|rows| rows.first())
        .map(|&row| row_index(row))
        .collect::<Result<_>>()?;
    let firsts = IdxCa::from_vec("first".into(), firsts);
    by.iter()
        .map(|c| column(df, c)?.take(&firsts).map_err(internal))
        .collect()
}
