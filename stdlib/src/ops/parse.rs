//! `parse COL "pattern"`: the fields of a `{name}` / `{name:int}` pattern
//! taken from the first line of each value that matches it, with the types
//! the pattern gives them.

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::FieldKind;

use super::extract::{first_captures, planned_regex};
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{column, internal, texts};
use serde::Serialize;
use shoal_lang::compile_pattern;
use shoal_lang::plan::{ColumnRef, ParseField};
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Parse;

static SIGNATURE: Signature = Signature {
    name: "parse",
    aliases: &[],
    summary: "Adds a column per {field} from the first line of COL the pattern matches whole; blanks match any run of blanks, and :int and :float fields are numbers.",
    help: "",
    params: &[
        Param::arg("column", Kind::Column, "COL"),
        Param::arg(
            "pattern",
            Kind::Text,
            "\"text {name} {name:word} {name:int} {name:float}\"",
        ),
    ],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Parse {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "The root filesystem's size and use, from `df -h`",
                query: "hosts @db | run \"df -h\" | parse stdout \"{dev:word} {size} {used} {avail} {pct:int}% /\" | select host, dev, size, pct",
                output: "\
host  dev        size  pct
db01  /dev/vda1  40G   34
db02  /dev/vda1  40G   37
",
            },
            Example {
                description: "Load averages as floats; the unreachable host gets empty fields",
                query: "hosts | run \"cat /proc/loadavg\" | parse stdout \"{load1:float} {load5:float} {rest}\" | select host, load1, load5",
                output: "\
host     load1  load5
web01    0.52   0.26
web02    0.61   0.3
web03    7.9    3.95
db01     1.2    0.6
db02     0.9    0.45
cache01
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let column = args.require("column")?;
        let (regex, fields) = compile_pattern(&args.require("pattern")?)?;
        Ok(Op::new(ParseOp {
            column,
            regex,
            fields,
        }))
    }
}

/// `parse`: the column and the compiled pattern.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "parse")]
pub(crate) struct ParseOp {
    column: ColumnRef,
    /// The pattern as a regex with one group per field, anchored to a
    /// whole line.
    regex: String,
    fields: Vec<ParseField>,
}

impl Stage for ParseOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let ParseOp {
            column: source,
            regex,
            fields,
        } = self;
        let regex = planned_regex(regex, source)?;
        let values = texts(column(&input, source)?)?;
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let mut out = input;
        // Line by line, so a match never runs on from one line into the next
        // whatever the pattern's blanks match.
        let captured = first_captures(&values, &names, |text| {
            text.lines().find_map(|line| regex.captures(line))
        });
        for (field, cells) in fields.iter().zip(captured) {
            out.with_column(field_column(&field.name, field.kind, cells))
                .map_err(internal)?;
        }
        Ok(out)
    }
}

/// The pattern says the type, so nothing is inferred: an `{x}` field that
/// happens to hold digits stays text. The field regexes only match numbers,
/// so the only nulls besides "no match" are integers too large for Int64.
fn field_column(name: &str, kind: FieldKind, cells: Vec<Option<String>>) -> Column {
    match kind {
        FieldKind::Int => Column::new(name.into(), parsed::<i64>(&cells)),
        FieldKind::Float => Column::new(name.into(), parsed::<f64>(&cells)),
        FieldKind::Text | FieldKind::Word => Column::new(name.into(), cells),
    }
}

fn parsed<T: std::str::FromStr>(cells: &[Option<String>]) -> Vec<Option<T>> {
    cells
        .iter()
        .map(|c| c.as_deref().and_then(|c| c.parse().ok()))
        .collect()
}
