//! `parse COL "pattern"`: the fields of a `{name}` / `{name:int}` pattern
//! taken from the first line of each value that matches it, with the types
//! the pattern gives them.

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::{FieldKind, Op};

use super::extract::{first_captures, planned_regex};
use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;
use crate::frame::{column, internal, texts};

pub struct Parse;

impl Operator for Parse {
    fn name(&self) -> &'static str {
        "parse"
    }
    fn usage(&self) -> &'static str {
        "parse COL \"text {name} {name:word} {name:int} {name:float}\""
    }
    fn description(&self) -> &'static str {
        "Adds a column per {field} from the first line of COL the pattern matches whole; blanks match any run of blanks, and :int and :float fields are numbers."
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
    fn eval(&self, op: &Op, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Parse {
            column: source,
            regex,
            fields,
        } = op
        else {
            return Err(wrong_op("parse", op));
        };
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
