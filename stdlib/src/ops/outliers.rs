//! `outliers COL [by COL, ...] [keep=all] [threshold=Z]`: the rows whose value
//! is far from the rest of its group, scored by a robust z-score.
//!
//! The score is the modified z-score of Iglewicz and Hoaglin,
//! `0.6745 · (x − median) / MAD`, where MAD is the median absolute deviation
//! from the median. Median and MAD ignore a few wild values, so one broken
//! host cannot hide itself by dragging the mean and standard deviation
//! towards it, as it would with a plain z-score on a fleet of five hosts.
//!
//! When more than half the group shares one value the MAD is 0; the score
//! then falls back to the mean absolute deviation,
//! `(x − median) / (1.253314 · MeanAD)`, and when that is 0 too (every
//! value equal) every score is 0. Rows without a value score null. The score
//! is rounded to two decimals for reading; the threshold sees it unrounded.

use polars::prelude::*;
use shoal_lang::Result;

use super::lines::row_index;
use super::stats::{group_rows, numeric_values, percentile, present};
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::internal;
use serde::Serialize;
use shoal_lang::Error;
use shoal_lang::ast::Value;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

/// Scales the MAD to the standard deviation for normally distributed data
/// (1 / 1.4826, the 0.75 quantile of the standard normal), so that scores
/// read like ordinary z-scores and the usual threshold of 3.5 applies.
const MAD_SCALE: f64 = 0.6745;

/// Scales the mean absolute deviation to the standard deviation for normal
/// data (√(π/2)), for the same reason as [`MAD_SCALE`].
const MEAN_AD_SCALE: f64 = 1.253314;

pub struct Outliers;

static SIGNATURE: Signature = Signature {
    name: "outliers",
    aliases: &[],
    summary: "Keeps the rows whose COL is far from the rest of its group (robust z-score beyond 3.5, or Z), most extreme first, with the score in `outlier_score`; `keep=all` keeps every row.",
    help: "",
    params: &[
        Param::arg("column", Kind::Column, "COL"),
        Param::arg("by", Kind::Columns, "COL, ...")
            .optional()
            .after("by"),
    ],
    options: &[
        Param::option("keep", Kind::Choice(&["outliers", "all"]), "all")
            .default("outliers")
            .doc("keep=all keeps every row; keep=outliers (the default) only outliers"),
        Param::option("threshold", Kind::Number, "Z")
            .default("3.5")
            .example("3.5")
            .doc("the robust z-score beyond which a row is an outlier"),
    ],
    takes_as: false,
    data_columns: false,
};

impl Operator for Outliers {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "The one host under unusual load",
                query: "hosts | facts | outliers load1 | select host, load1, outlier_score",
                output: "\
host   load1  outlier_score
web03  7.9    15.74
",
            },
            Example {
                description: "Every host's score; cache01 has no value",
                query: "hosts | run \"nproc\" as cpus | outliers cpus keep=all | select host, cpus, outlier_score",
                output: "\
host     cpus  outlier_score
db01     8     1.99
db02     8     1.99
web01    4     0.0
web02    4     0.0
web03    4     0.0
cache01
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let threshold: Value = args.require("threshold")?;
        Ok(Op::new(OutliersOp {
            column: args.require("column")?,
            by: args.get("by")?.unwrap_or_default(),
            threshold: threshold
                .text
                .parse::<f64>()
                .ok()
                .filter(|z| *z > 0.0 && z.is_finite())
                .ok_or_else(|| {
                    Error::new(
                        format!("`{}` is not a positive score", threshold.text),
                        threshold.span,
                    )
                    .with_hint("the threshold is a robust z-score; 3.5 is usual: threshold=3.5")
                })?,
            keep_all: args.require::<String>("keep")? == "all",
        }))
    }
}

/// `outliers`: the column, its groups, the threshold and what to keep.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "outliers")]
pub(crate) struct OutliersOp {
    column: ColumnRef,
    by: Vec<ColumnRef>,
    /// Rows whose robust z-score is beyond this are outliers.
    threshold: f64,
    /// `keep=all`: keep every row, not only the outliers.
    keep_all: bool,
}

impl Stage for OutliersOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let OutliersOp {
            column,
            by,
            threshold,
            keep_all,
        } = self;
        let values = numeric_values(&input, column, "outliers")?;
        let mut scores: Vec<Option<f64>> = vec![None; input.height()];
        for rows in group_rows(&input, by)? {
            let sorted = present(&values, &rows);
            let Some(median) = percentile(&sorted, 0.5) else {
                continue; // no values in this group: every score stays null
            };
            let scale = spread(&sorted, median);
            for row in rows {
                scores[row] = values[row]
                    .map(|x| {
                        if scale > 0.0 {
                            (x - median) / scale
                        } else {
                            0.0
                        }
                    })
                    .filter(|z| !z.is_nan());
            }
        }
        let mut kept: Vec<usize> = (0..input.height())
            .filter(|&row| *keep_all || scores[row].is_some_and(|z| z.abs() > *threshold))
            .collect();
        // Most extreme first, nulls last; a stable sort keeps input order
        // among equal scores.
        kept.sort_by(|&a, &b| {
            let magnitude = |row: usize| scores[row].map(f64::abs);
            match (magnitude(a), magnitude(b)) {
                (Some(a), Some(b)) => b.total_cmp(&a),
                (a, b) => b.is_some().cmp(&a.is_some()),
            }
        });
        let indices: Vec<IdxSize> = kept
            .iter()
            .map(|&row| row_index(row))
            .collect::<Result<_>>()?;
        let shown: Vec<Option<f64>> = kept
            .iter()
            .map(|&row| scores[row].map(|z| (z * 100.0).round() / 100.0))
            .collect();
        let mut output = input
            .take(&IdxCa::from_vec("kept".into(), indices))
            .map_err(internal)?;
        output
            .with_column(Column::new("outlier_score".into(), shown))
            .map_err(internal)?;
        Ok(output)
    }
}

/// What a distance from the median is divided by to give the score: the
/// MAD over its scale, or failing that the scaled mean absolute deviation;
/// 0 when the values do not spread at all.
fn spread(sorted: &[f64], median: f64) -> f64 {
    let mut deviations: Vec<f64> = sorted.iter().map(|x| (x - median).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    match percentile(&deviations, 0.5) {
        Some(mad) if mad > 0.0 => mad / MAD_SCALE,
        _ => MEAN_AD_SCALE * deviations.iter().sum::<f64>() / deviations.len() as f64,
    }
}
