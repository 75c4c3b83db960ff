//! `extract COL /re/`: one new column per named group of a regex, taken from
//! the first match in each row's value; and the capturing `parse` shares.

use polars::prelude::*;
use regex::{Captures, Regex};
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Error, Result};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, texts};
use crate::typed::typed_column;
use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::compile_regex;
use shoal_lang::plan::BUILTIN_COLUMNS;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Extract;

static SIGNATURE: Signature = Signature {
    name: "extract",
    aliases: &[],
    summary: "Adds a column per named group (?<name>...) from the first match in COL; numbers become numbers, no match is empty.",
    help: "",
    params: &[
        Param::arg("column", Kind::Column, "COL"),
        Param::arg("regex", Kind::Regex, "/re/"),
    ],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Extract {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "The 1-minute load as a number, then filtered on",
                query: "hosts | run \"cat /proc/loadavg\" | extract stdout /^(?<load1>\\S+)/ | filter load1 > 1 | select host, load1",
                output: "\
host   load1
web03  7.9
db01   1.2
",
            },
            Example {
                description: "Several groups at once; a host without output gets empty ones",
                query: "hosts web[01-03],cache01 | run \"cat /etc/app/version\" | extract stdout /(?<major>\\d+)\\.(?<minor>\\d+)/ | select host, major, minor",
                output: "\
host     major  minor
web01    2      1
web02    2      1
web03    2      0
cache01
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let column = args.require("column")?;
        let regex: Value = args.require("regex")?;
        let names: Vec<String> = compile_regex(&regex)?
            .capture_names()
            .flatten()
            .map(String::from)
            .collect();
        if names.is_empty() {
            return Err(
                Error::new("`extract` needs at least one named group", regex.span)
                    .with_hint("name each part to keep: /load (?<load1>[0-9.]+)/"),
            );
        }
        if let Some(name) = names.iter().find(|n| BUILTIN_COLUMNS.contains(&n.as_str())) {
            return Err(Error::new(
                format!("the group `{name}` would overwrite a built-in column"),
                regex.span,
            )
            .with_hint("rename the group, for example (?<app_version>...)"));
        }
        Ok(Op::new(ExtractOp {
            column,
            pattern: regex.text,
            names,
        }))
    }
}

/// `extract`: the column, the regex and its group names.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "extract")]
pub(crate) struct ExtractOp {
    column: ColumnRef,
    /// Known to compile, with at least one named group.
    pattern: String,
    names: Vec<String>,
}

impl Stage for ExtractOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let ExtractOp {
            column: source,
            pattern,
            names,
        } = self;
        let regex = planned_regex(pattern, source)?;
        let values = texts(column(&input, source)?)?;
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut out = input;
        // The whole value: a regex may span lines if it says so.
        let captured = first_captures(&values, &names, |text| regex.captures(text));
        for (name, cells) in names.iter().zip(captured) {
            out.with_column(typed_column(name, cells))
                .map_err(internal)?;
        }
        Ok(out)
    }
}

/// Compiles a regex the planner already compiled once, so failing here is a
/// bug; it is still an error rather than a panic.
pub(crate) fn planned_regex(pattern: &str, source: &ColumnRef) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        Error::new(
            format!("internal error: the planned regex failed: {e}"),
            source.span,
        )
        .with_hint("this is a bug in shoal; please report the query that caused it")
    })
}

/// For each group in `names`, its text in each value's first match as
/// `find` locates it: null where the value is null, nothing matches or the
/// group took no part in the match.
pub(crate) fn first_captures<'t>(
    values: &'t [Option<String>],
    names: &[&str],
    find: impl Fn(&'t str) -> Option<Captures<'t>>,
) -> Vec<Vec<Option<String>>> {
    let mut columns = vec![Vec::with_capacity(values.len()); names.len()];
    for value in values {
        let captures = value.as_deref().and_then(&find);
        for (name, cells) in names.iter().zip(&mut columns) {
            let text = captures.as_ref().and_then(|c| c.name(name));
            cells.push(text.map(|m| m.as_str().to_string()));
        }
    }
    columns
}
