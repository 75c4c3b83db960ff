//! `columns [COL]`: whitespace-aligned tables with a header line (`df -h`,
//! `ps aux`, `ss -tn`) as one row per data line and one column per header.

use std::collections::HashSet;

use indexmap::IndexSet;
use polars::prelude::*;
use shoal_lang::Result;

use super::column_or_stdout;
use super::kv::output_column;
use super::lines::{expand_rows, row_index};
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, texts};
use crate::typed::typed_column;
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Columns;

static SIGNATURE: Signature = Signature {
    name: "columns",
    aliases: &[],
    summary: "Splits a table with a header line in COL (default stdout) into one row per line and a column per header; the last column keeps the rest of the line.",
    help: "",
    params: &[Param::arg("column", Kind::Column, "COL")
        .optional()
        .doc("the column to read (default stdout)")],
    options: &[],
    takes_as: false,
    data_columns: true,
};

impl Operator for Columns {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "`df -h` as a table: `Use%` is `use_pct`, `Mounted on` is `mounted_on`",
                query: "hosts web03,cache01 | run \"df -h\" | columns | select host, status, n, filesystem, size, used, use_pct, mounted_on",
                output: "\
host     status       n  filesystem  size  used  use_pct  mounted_on
web03    ok           1  /dev/vda1   40G   12G   31%      /
web03    ok           2  tmpfs       3.9G  0     0%       /dev/shm
cache01  unreachable
",
            },
            Example {
                description: "The root filesystem of every host",
                query: "hosts | run \"df -h\" | columns | filter mounted_on = / | select host, used, avail, use_pct",
                output: "\
host   used  avail  use_pct
web01  10G   30G    25%
web02  11G   29G    28%
web03  12G   28G    31%
db01   13G   27G    34%
db02   14G   26G    37%
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let column = column_or_stdout(args.get("column")?, args.span);
        Ok(Op::new(ColumnsOp { column }))
    }
}

/// `columns`: the column it reads.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "columns")]
pub(crate) struct ColumnsOp {
    column: ColumnRef,
}

impl Stage for ColumnsOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let ColumnsOp { column: source } = self;
        let values = texts(column(&input, source)?)?;
        // Column names in first-appearance order across hosts; hosts with
        // other headers add theirs, and are null in the others'.
        let mut names: IndexSet<String> = IndexSet::new();
        let mut origin: Vec<IdxSize> = Vec::new();
        let mut numbers: Vec<Option<i64>> = Vec::new();
        // Per output row, (index into `names`, field).
        let mut rows: Vec<Vec<(usize, &str)>> = Vec::new();
        for (row, value) in values.iter().enumerate() {
            let row = row_index(row)?;
            let Some(text) = value else {
                // Output that never came keeps the host visible as one row.
                origin.push(row);
                numbers.push(None);
                rows.push(Vec::new());
                continue;
            };
            let table = Table::split(text);
            let ids: Vec<usize> = header_names(&table.header)
                .into_iter()
                .map(|name| names.insert_full(name).0)
                .collect();
            for (n, fields) in (1..).zip(table.rows) {
                origin.push(row);
                numbers.push(Some(n));
                rows.push(ids.iter().copied().zip(fields).collect());
            }
        }
        let mut cells: Vec<Vec<Option<String>>> = vec![vec![None; rows.len()]; names.len()];
        for (row, fields) in rows.into_iter().enumerate() {
            for (id, field) in fields {
                if let Some(cell) = cells.get_mut(id).and_then(|c| c.get_mut(row)) {
                    *cell = Some(field.to_string());
                }
            }
        }
        let mut added = vec![Column::new("n".into(), numbers)];
        added.extend(
            names
                .iter()
                .zip(cells)
                .map(|(name, cells)| typed_column(name, cells)),
        );
        expand_rows(&input, &source.name, &origin, added)
    }
}

/// One host's table: the header's column names and the data lines' fields.
struct Table<'a> {
    header: Vec<String>,
    rows: Vec<Vec<&'a str>>,
}

impl<'a> Table<'a> {
    /// The first non-blank line is the header; every later non-blank line is
    /// a row of at most as many fields as there are columns, the last field
    /// keeping the rest of the line (`ps aux`'s COMMAND has spaces).
    ///
    /// When no row has as many fields as the header has words, a header name
    /// has spaces in it; it is taken to be the last one (`df`'s `Mounted on`),
    /// so the trailing words are merged.
    fn split(text: &'a str) -> Self {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let words: Vec<&str> = lines
            .next()
            .map(|header| header.split_whitespace().collect())
            .unwrap_or_default();
        let data: Vec<&str> = lines.collect();
        if words.is_empty() {
            return Table {
                header: Vec::new(),
                rows: Vec::new(),
            };
        }
        let widest = data
            .iter()
            .map(|line| line.split_whitespace().count())
            .max()
            .unwrap_or(words.len());
        let width = widest.clamp(1, words.len());
        let mut header: Vec<String> = words[..width - 1].iter().map(|w| w.to_string()).collect();
        header.push(words[width - 1..].join(" "));
        let rows = data.iter().map(|line| fields(line, width)).collect();
        Table { header, rows }
    }
}

/// At most `width` whitespace-separated fields; the last one is the rest of
/// the line as it stands.
fn fields(line: &str, width: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(width);
    let mut rest = line.trim();
    while !rest.is_empty() {
        if out.len() + 1 == width {
            out.push(rest);
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    out
}

/// Header words as column names: `Use%` is `use_pct`; shoal's own columns
/// and `n` get a `columns_` prefix; a name seen twice in one header gets
/// `_2`, `_3`, so no field overwrites another.
fn header_names(header: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    header
        .iter()
        .map(|raw| {
            let name = match output_column("columns", raw) {
                n if n == "n" => "columns_n".to_string(),
                n => n,
            };
            let mut unique = name.clone();
            for k in 2.. {
                if seen.insert(unique.clone()) {
                    break;
                }
                unique = format!("{name}_{k}");
            }
            unique
        })
        .collect()
}
