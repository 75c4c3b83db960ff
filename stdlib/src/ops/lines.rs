//! `lines [COL]`: one row per line of a text column (stdout by default), and
//! the row layout shared by every stage that turns one host row into many.

use polars::prelude::*;
use shoal_lang::Result;

use super::column_or_stdout;
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, texts};
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Lines;

static SIGNATURE: Signature = Signature {
    name: "lines",
    aliases: &[],
    summary: "One row per line of COL (default stdout), numbered from 1 in `n`; a host with no output keeps one row with `line` empty.",
    help: "",
    params: &[Param::arg("column", Kind::Column, "COL")
        .optional()
        .doc("the column to read (default stdout)")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Lines {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Every line of a config file, comments included",
                query: "hosts @db | run \"cat /etc/app/app.conf\" | lines | select host, n, line",
                output: "\
host  n  line
db01  1  # app.conf
db01  2  max_conns=256
db01  3  log_level=info
db01  4  workers=8
db01  5  started=2026-11-04T08:00:00Z
db02  1  # app.conf
db02  2  max_conns=256
db02  3  log_level=info
db02  4  workers=4
db02  5  started=2026-11-05T08:00:00Z
",
            },
            Example {
                description: "A host that never ran the command stays, with no line",
                query: "hosts | run \"df -h\" | lines | filter n = 2 or status != ok | select host, status, line",
                output: "\
host     status       line
web01    ok           /dev/vda1        40G   10G   30G  25% /
web02    ok           /dev/vda1        40G   11G   29G  28% /
web03    ok           /dev/vda1        40G   12G   28G  31% /
db01     ok           /dev/vda1        40G   13G   27G  34% /
db02     ok           /dev/vda1        40G   14G   26G  37% /
cache01  unreachable
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let column = column_or_stdout(args.get("column")?, args.span);
        Ok(Op::new(LinesOp { column }))
    }
}

/// `lines`: the column it reads.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "lines")]
pub(crate) struct LinesOp {
    column: ColumnRef,
}

impl Stage for LinesOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let LinesOp { column: source } = self;
        let values = texts(column(&input, source)?)?;
        let mut origin: Vec<IdxSize> = Vec::new();
        let mut numbers: Vec<Option<i64>> = Vec::new();
        let mut lines: Vec<Option<&str>> = Vec::new();
        for (row, value) in values.iter().enumerate() {
            let row = row_index(row)?;
            match value {
                // Output that never came keeps the host visible as one row.
                None => {
                    origin.push(row);
                    numbers.push(None);
                    lines.push(None);
                }
                // `str::lines`, as `has` splits, so both agree on what a line is.
                Some(text) => {
                    for (n, line) in (1..).zip(text.lines()) {
                        origin.push(row);
                        numbers.push(Some(n));
                        lines.push(Some(line));
                    }
                }
            }
        }
        let added = vec![
            Column::new("n".into(), numbers),
            Column::new("line".into(), lines),
        ];
        expand_rows(&input, &source.name, &origin, added)
    }
}

/// The run columns that describe one command's output as a whole. A stage
/// that splits each output into rows drops them: repeated on every row they
/// are noise, and the text they hold is what was split. `status` stays, so
/// the rows of a host that failed are still told apart.
const WHOLE_OUTPUT: &[&str] = &["stdout", "stderr", "exit", "error", "duration_ms"];

/// The result of a stage that turns each input row into several rows
/// (`lines`, `columns`): output row `i` repeats the identity columns of input
/// row `origin[i]` (all but the whole-output ones and the split column
/// `source`), followed by `added`, which replace identity columns of the
/// same name.
pub(crate) fn expand_rows(
    input: &DataFrame,
    source: &str,
    origin: &[IdxSize],
    added: Vec<Column>,
) -> Result<DataFrame> {
    let indices = IdxCa::from_slice("origin".into(), origin);
    let mut columns: Vec<Column> = input
        .columns()
        .iter()
        .filter(|c| {
            let name = c.name().as_str();
            name != source
                && !WHOLE_OUTPUT.contains(&name)
                && !added.iter().any(|a| a.name() == c.name())
        })
        .map(|c| c.take(&indices))
        .collect::<PolarsResult<_>>()
        .map_err(internal)?;
    columns.extend(added);
    DataFrame::new(origin.len(), columns).map_err(internal)
}

/// An input row number as polars indexes rows. A frame always fits its own
/// index type, so failing here is a bug, reported rather than panicking.
pub(crate) fn row_index(row: usize) -> Result<IdxSize> {
    IdxSize::try_from(row).map_err(|_| {
        shoal_lang::Error::new(format!("internal error: row {row} is out of range"), None)
    })
}
