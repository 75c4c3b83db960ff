//! `kv [COL]`: `key=value` and `key: value` lines (config files,
//! `/etc/os-release`) as one column per key on each host's row; and the rule
//! that keeps names found in output off shoal's own columns.

use indexmap::IndexMap;
use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::BUILTIN_COLUMNS;

use super::column_or_stdout;
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, texts};
use crate::typed::{column_name, typed_column};
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Kv;

static SIGNATURE: Signature = Signature {
    name: "kv",
    aliases: &[],
    summary: "Adds a column per key of the `key=value` or `key: value` lines in COL (default stdout), skipping # comments; the last duplicate wins, numbers become numbers.",
    help: "",
    params: &[Param::arg("column", Kind::Column, "COL")
        .optional()
        .doc("the column to read (default stdout)")],
    options: &[],
    takes_as: false,
    data_columns: true,
};

impl Operator for Kv {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "A config file across the fleet; the odd host out shows",
            query: "hosts | run \"cat /etc/app/app.conf\" | kv | select host, max_conns, log_level, workers",
            output: "\
host     max_conns  log_level  workers
web01    256        info       4
web02    256        info       8
web03    64         info       4
db01     256        info       8
db02     256        info       4
cache01
",
        }]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let column = column_or_stdout(args.get("column")?, args.span);
        Ok(Op::new(KvOp { column }))
    }
}

/// `kv`: the column it reads.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "kv")]
pub(crate) struct KvOp {
    column: ColumnRef,
}

impl Stage for KvOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let KvOp { column: source } = self;
        let values = texts(column(&input, source)?)?;
        let height = values.len();
        // Keys in first-appearance order across hosts, so the columns read
        // like the file does.
        let mut keys: IndexMap<String, Vec<Option<String>>> = IndexMap::new();
        for (row, text) in values.iter().enumerate() {
            for (key, value) in text.as_deref().unwrap_or("").lines().filter_map(pair) {
                let cells = keys
                    .entry(output_column("kv", key))
                    .or_insert_with(|| vec![None; height]);
                if let Some(cell) = cells.get_mut(row) {
                    *cell = Some(value.to_string());
                }
            }
        }
        let mut out = input;
        for (name, cells) in keys {
            out.with_column(typed_column(&name, cells))
                .map_err(internal)?;
        }
        Ok(out)
    }
}

/// The key and value of one line, split at whichever of `=` and `: ` comes
/// first (`url: http://x/?a=b` is a `url`). Blank lines, `#` comments and
/// lines with neither separator are not pairs.
fn pair(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.starts_with('#') {
        return None;
    }
    let at = [line.find('='), line.find(": ")]
        .into_iter()
        .flatten()
        .min()?;
    let separator = if line[at..].starts_with('=') { 1 } else { 2 };
    let key = line[..at].trim();
    (!key.is_empty()).then(|| (key, line[at + separator..].trim()))
}

/// The column for a name found in a host's output, via `column_name`. A
/// name that is one of shoal's own columns gets the stage's name in front
/// (`status` from `kv` is `kv_status`): output must never hide whether and
/// where the command ran. Any other existing column of that name is
/// replaced, as the newer reading.
pub(crate) fn output_column(stage: &str, raw: &str) -> String {
    let name = column_name(raw);
    if BUILTIN_COLUMNS.contains(&name.as_str()) {
        format!("{stage}_{name}")
    } else {
        name
    }
}
