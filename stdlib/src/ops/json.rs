//! `json [COL]`: a JSON object per row (status endpoints, `--json` CLIs) as
//! one column per key, nested objects flattened with `_`.

use indexmap::IndexMap;
use polars::prelude::*;
use serde_json::Value;
use shoal_lang::Result;

use super::column_or_stdout;
use super::kv::output_column;
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, texts};
use serde::Serialize;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Json;

static SIGNATURE: Signature = Signature {
    name: "json",
    aliases: &[],
    summary: "Adds a column per key of the JSON object in COL (default stdout), nested keys joined with _; a value that is not an object fills `json_error`.",
    help: "",
    params: &[Param::arg("column", Kind::Column, "COL")
        .optional()
        .doc("the column to read (default stdout)")],
    options: &[],
    takes_as: false,
    data_columns: true,
};

impl Operator for Json {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "Service status as columns, nested keys flattened",
            query: "hosts | run \"cat /etc/app/status.json\" | json | select host, state, connections, queue_depth",
            output: "\
host     state     connections  queue_depth
web01    ready     10           0
web02    ready     11           1
web03    degraded  64           2
db01     ready     13           3
db02     ready     14           4
cache01
",
        }]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let column = column_or_stdout(args.get("column")?, args.span);
        Ok(Op::new(JsonOp { column }))
    }
}

/// `json`: the column it reads.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "json")]
pub(crate) struct JsonOp {
    column: ColumnRef,
}

impl Stage for JsonOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let JsonOp { column: source } = self;
        let values = texts(column(&input, source)?)?;
        let height = values.len();
        let mut keys: IndexMap<String, Vec<Option<Value>>> = IndexMap::new();
        let mut errors: Vec<Option<String>> = vec![None; height];
        for (row, text) in values.iter().enumerate() {
            let Some(text) = text else { continue };
            // An IndexMap keeps the document's key order at the top level
            // (serde_json's own map sorts), and rejects what is not an object.
            match serde_json::from_str::<IndexMap<String, Value>>(text) {
                Ok(object) => {
                    let mut leaves = Vec::new();
                    flatten(String::new(), object, &mut leaves);
                    for (path, leaf) in leaves {
                        let cells = keys
                            .entry(output_column("json", &path))
                            .or_insert_with(|| vec![None; height]);
                        if let Some(cell) = cells.get_mut(row) {
                            *cell = leaf;
                        }
                    }
                }
                Err(error) => errors[row] = Some(error.to_string()),
            }
        }
        let mut out = input;
        for (name, cells) in keys {
            out.with_column(json_column(&name, cells))
                .map_err(internal)?;
        }
        // Only when something failed: a clean result stays clean.
        if errors.iter().any(Option::is_some) {
            out.with_column(Column::new("json_error".into(), errors))
                .map_err(internal)?;
        }
        Ok(out)
    }
}

/// The leaves of an object with their dotted paths (`queue.depth`), which
/// `column_name` turns into `queue_depth`. JSON null is a missing value; an
/// empty object is a leaf, so its key still shows. serde_json limits nesting
/// to 128, which bounds the recursion.
fn flatten(
    prefix: String,
    object: impl IntoIterator<Item = (String, Value)>,
    leaves: &mut Vec<(String, Option<Value>)>,
) {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(path, inner, leaves),
            Value::Null => leaves.push((path, None)),
            leaf => leaves.push((path, Some(leaf))),
        }
    }
}

/// Int64 when every present value is an integer, Float64 when every one is
/// a number, text otherwise. Unlike `typed_column`, a JSON string stays text
/// even when it holds digits: the document said it is a string.
fn json_column(name: &str, cells: Vec<Option<Value>>) -> Column {
    let present = || cells.iter().flatten();
    let numbers = present().next().is_some() && present().all(Value::is_number);
    if numbers && present().all(Value::is_i64) {
        let ints: Vec<Option<i64>> = cells.iter().map(|c| c.as_ref()?.as_i64()).collect();
        return Column::new(name.into(), ints);
    }
    if numbers {
        let floats: Vec<Option<f64>> = cells.iter().map(|c| c.as_ref()?.as_f64()).collect();
        return Column::new(name.into(), floats);
    }
    let strings: Vec<Option<String>> = cells
        .into_iter()
        .map(|c| {
            c.map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
        })
        .collect();
    Column::new(name.into(), strings)
}
