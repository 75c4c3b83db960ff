//! `share COL [by COL, ...] [as NAME]`: each row's share of its group, the
//! percent of the group's rows whose COL has the same value. The fleet's
//! majority is the value above 50; a minority, a low share.
//!
//! Rows without a value are left out of the count and get no share: a host
//! that did not answer is neither the majority nor a minority.

use std::collections::HashMap;

use polars::prelude::*;
use serde::Serialize;
use shoal_lang::plan::{BUILTIN_COLUMNS, ColumnRef};
use shoal_lang::{Args, Error, Kind, Param, Result, Signature};

use super::stats::group_rows;
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, texts};

pub struct Share;

static SIGNATURE: Signature = Signature {
    name: "share",
    aliases: &[],
    summary: "Adds `share` (or NAME): the percent of the rows of the row's group (by COL, ...; else all rows) whose COL has the row's value, so a majority is above 50 and a minority low; rows without a value get none.",
    help: "",
    params: &[
        Param::arg("column", Kind::Column, "COL"),
        Param::arg("by", Kind::Columns, "COL, ...")
            .optional()
            .after("by"),
    ],
    options: &[],
    takes_as: true,
    data_columns: false,
};

impl Operator for Share {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "The version only one host of five runs; the unreachable host counts for neither",
                query: "hosts | run \"cat /etc/app/version\" as version | share version | select host, version, share",
                output: "\
host     version  share
web01    2.1.0    80.0
web02    2.1.0    80.0
web03    2.0.9    20.0
db01     2.1.0    80.0
db02     2.1.0    80.0
cache01
",
            },
            Example {
                description: "Within each role",
                query: "hosts | run \"cat /etc/app/version\" as version | share version by role as role_share | select host, role, version, role_share",
                output: "\
host     role   version  role_share
web01    web    2.1.0    66.7
web02    web    2.1.0    66.7
web03    web    2.0.9    33.3
db01     db     2.1.0    100.0
db02     db     2.1.0    100.0
cache01  cache
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        if let Some(ident) = &args.as_name
            && BUILTIN_COLUMNS.contains(&ident.name.as_str())
        {
            return Err(Error::new(
                format!("`as {}` would overwrite a built-in column", ident.name),
                ident.span,
            )
            .with_hint("pick another name, for example `as version_share`"));
        }
        Ok(Op::new(ShareOp {
            column: args.require("column")?,
            by: args.get("by")?.unwrap_or_default(),
            name: args
                .as_name
                .map_or_else(|| "share".to_string(), |ident| ident.name),
        }))
    }
}

/// `share`: the column whose values are counted, the groups, and the name
/// of the column it adds.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "share")]
pub(crate) struct ShareOp {
    column: ColumnRef,
    by: Vec<ColumnRef>,
    name: String,
}

impl Stage for ShareOp {
    fn eval(&self, mut input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let values = texts(column(&input, &self.column)?)?;
        let mut shares: Vec<Option<f64>> = vec![None; input.height()];
        for rows in group_rows(&input, &self.by)? {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for &row in &rows {
                if let Some(value) = &values[row] {
                    *counts.entry(value).or_default() += 1;
                }
            }
            let total: usize = counts.values().sum();
            for &row in &rows {
                shares[row] = values[row].as_deref().map(|value| {
                    let percent = 100.0 * counts[value] as f64 / total as f64;
                    (percent * 10.0).round() / 10.0
                });
            }
        }
        input
            .with_column(Column::new(self.name.as_str().into(), shares))
            .map_err(internal)?;
        Ok(input)
    }
}
