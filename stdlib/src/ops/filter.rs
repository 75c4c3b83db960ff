//! `filter PRED` (alias `where`): keeps the rows that match a condition.

use polars::prelude::*;
use shoal_lang::Result;

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{internal, texts};
use crate::predicate::mask;
use serde::Serialize;
use indexmap::IndexMap;
use shoal_lang::plan::{ColumnRef, CompareOp, Predicate};
use shoal_lang::{Args, Kind, Param, Signature};

pub struct Filter;

static SIGNATURE: Signature = Signature {
    name: "filter",
    aliases: &["where"],
    summary: "Keeps the rows that match the condition. Missing values match only !=, !~ and not.",
    help: "A condition compares a column with a value: COL = V, COL != V, COL < V, COL <= V, COL > V, COL >= V, COL ~ /re/, COL !~ /re/, COL in (V, ...), COL has \"line\", COL contains \"text\", exists COL; joined with and, or, not and ( ).",
    params: &[Param::arg("predicate", Kind::Predicate, "PRED")],
    options: &[],
    takes_as: false,
    data_columns: false,
};

// When nothing matches, a value that differs from existing ones only in
// case is pointed out (see `case_hints`): `health = fail` where rows say FAIL.

impl Operator for Filter {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Hosts in one AZ; values need no quotes",
                query: "hosts | filter az=us-east-1a | select host, role",
                output: "\
host   role
web01  web
web02  web
db01   db
",
            },
            Example {
                description: "Hosts whose command did not succeed",
                query: "hosts | run \"systemctl is-active app\" | where status != ok | select host, status, error",
                output: "\
host     status       error
web03    failed       exit 3
cache01  unreachable  connect to 10.0.3.1:22: connection refused
",
            },
            Example {
                description: "Numbers in text compare as numbers; regexes match text",
                query: "hosts | run \"nproc\" as cpus | filter cpus >= 8 or host ~ /^web0[12]$/ | select host, cpus",
                output: "\
host   cpus
web01  4
web02  4
db01   8
db02   8
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(FilterOp {
            predicate: args.require("predicate")?,
        }))
    }
}

/// `filter`: the condition rows must meet.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "filter")]
pub(crate) struct FilterOp {
    predicate: Predicate,
}

impl Stage for FilterOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let FilterOp { predicate } = self;
        let keep = BooleanChunked::from_slice("keep".into(), &mask(&input, predicate)?);
        let output = input.filter(&keep).map_err(internal)?;
        if output.height() == 0 && input.height() > 0 {
            for hint in case_hints(&input, predicate)? {
                ctx.observer.note("filter", &hint);
            }
        }
        Ok(output)
    }
}

/// When a filter keeps no row: each `COL = V` (or `COL in (..., V)`) whose
/// V differs only in case from values the rows have, as in
/// "no row has health = fail; 23 rows have FAIL".
fn case_hints(input: &DataFrame, predicate: &Predicate) -> Result<Vec<String>> {
    let mut wanted: Vec<(&ColumnRef, &str)> = Vec::new();
    equalities(predicate, &mut wanted);
    let mut hints = Vec::new();
    for (column, value) in wanted {
        let Ok(values) = input.column(&column.name) else {
            continue;
        };
        let mut near: IndexMap<String, usize> = IndexMap::new();
        for text in texts(values)?.into_iter().flatten() {
            if text != value && text.eq_ignore_ascii_case(value) {
                *near.entry(text).or_default() += 1;
            }
        }
        if !near.is_empty() {
            let found: Vec<String> = near
                .iter()
                .map(|(text, n)| format!("{n} row{} {} {text}", if *n == 1 { "" } else { "s" }, if *n == 1 { "has" } else { "have" }))
                .collect();
            hints.push(format!(
                "no row has {} = {value}; {} (values compare with their case)",
                column.name,
                found.join(", ")
            ));
        }
    }
    Ok(hints)
}

/// The `COL = V` and `COL in (V, ...)` tests of a predicate, as (COL, V).
fn equalities<'p>(predicate: &'p Predicate, out: &mut Vec<(&'p ColumnRef, &'p str)>) {
    match predicate {
        Predicate::And { left, right } | Predicate::Or { left, right } => {
            equalities(left, out);
            equalities(right, out);
        }
        Predicate::Compare {
            column,
            op: CompareOp::Eq,
            value,
        } => out.push((column, &value.text)),
        Predicate::In { column, values } => {
            out.extend(values.iter().map(|value| (column, value.text.as_str())));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::example_fleet::{ScriptedExecutor, fleet};
    use crate::{RunObserver, Session};

    #[derive(Default)]
    struct Notes(Vec<String>);

    impl RunObserver for Notes {
        fn note(&mut self, _stage: &str, text: &str) {
            self.0.push(text.to_string());
        }
    }

    fn filtered(query: &str) -> (usize, Vec<String>) {
        let plan = crate::compile(query).unwrap();
        let mut notes = Notes::default();
        let frame = Session::new(fleet())
            .eval(&plan.statements[0], &ScriptedExecutor, &mut notes)
            .unwrap();
        (frame.height(), notes.0)
    }

    #[test]
    fn an_empty_result_points_at_a_value_that_differs_only_in_case() {
        let (rows, notes) = filtered("hosts | filter az = US-EAST-1A");
        assert_eq!(rows, 0);
        assert_eq!(
            notes,
            ["no row has az = US-EAST-1A; 3 rows have us-east-1a (values compare with their case)"]
        );
        let (_, notes) = filtered("hosts | filter role in (x, WEB)");
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn a_filter_that_keeps_rows_or_has_no_near_value_says_nothing() {
        assert!(filtered("hosts | filter az = us-east-1a").1.is_empty());
        assert!(filtered("hosts | filter az = nowhere").1.is_empty());
    }
}
