//! `diff`: what sets population A apart from population B, ranked. Each
//! feature is printed in filter syntax, so it pastes straight into `filter`;
//! a key feature, read from `key: number` lines, is printed as the pipeline
//! `kv COL | filter ...`, which pastes in place of a `filter`.
//!
//! ```text
//!   populations.rs   which rows are A and which are B (`diff A B`,
//!                    `diff where PRED`, `diff by COL`)
//!   features.rs      candidate features with their counts per side
//!   rank.rs          scores, pairs of features, the ranked table
//!   verdict.rs       what to say when no feature separates A from B well
//! ```

mod chance;
mod features;
mod populations;
mod rank;
mod verdict;

use polars::prelude::DataFrame;
use shoal_lang::plan::{Predicate, Side, Split};
use shoal_lang::{Error, Result, Span};

use serde::Serialize;
use shoal_lang::{Args, Kind, Param, Signature};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;

pub struct Diff;

static SIGNATURE: Signature = Signature {
    name: "diff",
    aliases: &[],
    summary: "Ranks what sets population A apart from B, each feature written as a filter you can paste.",
    help: "Features are each value of a text column, each line of an output column (with digits masked where lines differ only in numbers), the best split of each numeric column, and the best split of each number in a text column's `key: number` or `key=number` lines, plus pairs joined with `and` where a pair separates better. A and B are saved results or @groups, the rows matching PRED against the rest, or COL's two values (the smaller side is A). Columns: feature (paste it into `filter`; a `key` feature is a pipeline, `kv COL | filter KEY > N`, pasted in place of `filter`), kind, count_a, count_b, pct_a, pct_b, pct_diff, examples (hosts from A), range (for a split, each side's lowest and highest value). Features under the threshold are left out.",
    params: &[
        Param::arg("where", Kind::Predicate, "PRED")
            .optional()
            .after("where")
            .doc("population A is the rows that match, B the rest"),
        Param::arg("by", Kind::Column, "COL")
            .optional()
            .after("by")
            .doc("the column's two values are the two populations"),
        Param::arg("sides", Kind::Sides, "A B")
            .optional()
            .doc("two saved results or groups: $bad $good, @canary @web"),
    ],
    options: &[
        Param::option("threshold", Kind::Percent, "P%")
            .default("5")
            .example("10%")
            .doc("features whose pct_diff is under this are left out"),
        Param::option("include", Kind::Choice(&["volatile"]), "volatile")
            .doc("include=volatile pairs volatile facts (uptime, load, free memory, clock skew, boot id) too"),
    ],
    takes_as: false,
    data_columns: false,
};

impl Operator for Diff {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "What is different about the host whose app is down",
                query: "hosts | run \"systemctl is-active app\" as health | run \"cat /etc/app/app.conf\" | diff where health = failed | select feature, kind, pct_a, pct_b, examples | head 5",
                output: "\
feature                         kind   pct_a  pct_b  examples
version = 2.0.9                 value  100.0  0.0    web03
stdout has \"max_conns=64\"       line   100.0  0.0    web03
az = us-east-1b and role = web  pair   100.0  0.0    web03
version = 2.1.0                 value  0.0    100.0
az = us-east-1b                 value  100.0  20.0   web03
",
            },
            Example {
                description: "Two groups compared, weak features left out",
                query: "hosts | diff @db @web threshold=30% | select feature, count_a, count_b, pct_diff",
                output: "\
feature          count_a  count_b  pct_diff
role = db        2        0        100.0
role = web       0        3        100.0
version = 2.0.9  0        1        33.3
version = 2.1.0  2        2        33.3
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let split = match (
            args.get("where")?,
            args.get("by")?,
            args.get::<(Side, Side)>("sides")?,
        ) {
            (Some(predicate), None, None) => Split::Where { predicate },
            (None, Some(column), None) => Split::By { column },
            (None, None, Some((a, b))) => {
                if same_side(&a, &b) {
                    return Err(Error::new(
                        "`diff` compares a population with itself",
                        side_span(&a).join(side_span(&b)),
                    )
                    .with_hint("give two different sides, for example: diff $bad $good"));
                }
                Split::Sides { a, b }
            }
            _ => {
                return Err(Error::new(
                    "expected `where CONDITION`, `by COLUMN`, or two saved results such as `$bad $good`, found the end of the input",
                    args.end,
                )
                .with_hint(
                    "diff compares two populations: `diff $bad $good`, `diff where health = FAIL` or `diff by az`",
                ));
            }
        };
        Ok(Op::new(DiffOp {
            split,
            threshold_pct: args.require("threshold")?,
            include_volatile: args.get::<String>("include")?.is_some(),
            span: args.span,
        }))
    }
}

/// `diff`: how to split the rows, and what to leave out.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "diff")]
pub(crate) struct DiffOp {
    split: Split,
    /// Features whose `pct_diff` is under this many percentage points are
    /// left out.
    threshold_pct: f64,
    /// `include=volatile`: pair volatile facts too. Printed only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    include_volatile: bool,
    #[serde(skip)]
    span: Span,
}

/// Whether two sides name the same population, wherever each is written.
fn same_side(a: &Side, b: &Side) -> bool {
    match (a, b) {
        (Side::Variable { name: x, .. }, Side::Variable { name: y, .. })
        | (Side::Group { name: x, .. }, Side::Group { name: y, .. }) => x == y,
        _ => false,
    }
}

/// Where a side of `diff A B` is written.
fn side_span(side: &Side) -> Span {
    match side {
        Side::Variable { span, .. } | Side::Group { span, .. } => *span,
    }
}

pub(crate) use features::is_copied_output;

impl DiffOp {
    /// `diff where PREDICATE` at the default threshold: how `drift from
    /// NAME where PREDICATE` ranks the changes.
    pub(crate) fn rows_matching(predicate: Predicate, span: Span) -> DiffOp {
        DiffOp {
            split: Split::Where { predicate },
            threshold_pct: 5.0,
            include_volatile: false,
            span,
        }
    }

    /// The ranked features, and, when none separates A from B well, what
    /// to tell the user (see `verdict.rs`).
    fn run(
        &self,
        input: &DataFrame,
        ctx: &mut EvalContext<'_>,
    ) -> Result<(DataFrame, Option<String>)> {
        let DiffOp {
            split,
            threshold_pct,
            include_volatile,
            span,
        } = self;
        let populations = populations::split(input, split, *span, ctx)?;
        let candidates = features::candidates(input, &populations, ctx)?;
        let ranking = rank::Ranking {
            threshold_pct: *threshold_pct,
            unpaired: if *include_volatile {
                &[]
            } else {
                super::VOLATILE_FACTS
            },
        };
        let ranked = rank::ranked(input, &populations, candidates, &ranking)?;
        let best = ranked.best.as_ref().map(|(text, pct)| (text.as_str(), *pct));
        let mut notes = Vec::new();
        if let Some((feature, q)) = &ranked.strongest_by_chance {
            notes.push(format!(
                "nothing separates the {} rows of A from the {} of B beyond chance: of {} features considered none has q < {}; the strongest is `{feature}` (q = {})",
                populations.size_a,
                populations.size_b,
                ranked.considered,
                chance::SIGNIFICANT,
                chance::readable(*q)
            ));
        }
        notes.extend(verdict::verdict(input, &populations, best)?);
        Ok((ranked.table, (!notes.is_empty()).then(|| notes.join("\n"))))
    }
}

impl Stage for DiffOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let (table, verdict) = self.run(&input, ctx)?;
        if let Some(text) = verdict {
            tell(ctx, &text);
        }
        Ok(table)
    }
}

/// Passes diff's verdict to whoever shows the table.
fn tell(ctx: &mut EvalContext<'_>, text: &str) {
    ctx.observer.note("diff", text);
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use polars::prelude::*;
    use shoal_lang::plan::ColumnRef;

    use super::*;
    use crate::context::Quiet;
    use crate::example_fleet::{ScriptedExecutor, fleet};

    /// `diff by bad` on `input`: the table and the verdict.
    fn diff_by_bad(input: &DataFrame) -> (DataFrame, Option<String>) {
        let (fleet, vars) = (fleet(), IndexMap::new());
        let mut ctx = EvalContext {
            fleet: &fleet,
            vars: &vars,
            executor: &ScriptedExecutor,
            observer: &mut Quiet,
            history: &crate::history::NoStore,
            safety: &crate::safety::Safety::default(),
        };
        let column = ColumnRef {
            name: "bad".into(),
            span: Span::default(),
        };
        let diff = DiffOp {
            split: Split::By { column },
            threshold_pct: 5.0,
            include_volatile: false,
            span: Span::default(),
        };
        diff.run(input, &mut ctx).expect("diff runs")
    }

    /// Ten hosts, four of them bad (`bad = y`, the rarer value), whose
    /// `stdout` is one `queue_depth: N` line.
    fn queues(depths: [u32; 10]) -> DataFrame {
        df!(
            "host" => (1..=10).map(|i| format!("q{i:02}")).collect::<Vec<_>>(),
            "bad" => (0..10).map(|i| if i < 4 { "y" } else { "n" }).collect::<Vec<_>>(),
            "az" => (0..10).map(|i| ["a", "b"][i % 2]).collect::<Vec<_>>(),
            "stdout" => depths.iter().map(|d| format!("queue_depth: {d}\nat {}", d * 7 + 1)).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn a_clear_split_has_no_weak_split_verdict_but_ten_rows_are_few_for_a_threshold() {
        let (table, verdict) = diff_by_bad(&queues([4180, 4530, 4880, 5230, 12, 3, 7, 0, 9, 11]));
        assert_eq!(
            table.column("feature").unwrap().str().unwrap().get(0),
            Some("kv stdout | filter queue_depth > 1000")
        );
        // A perfect 4-to-6 split has Fisher p = 2/210; as the best of the 9
        // cuts tried, it answers for all of them (p = 0.086): with ten rows,
        // diff does not call a threshold beyond chance, and says so.
        let verdict = verdict.expect("ten rows are too few");
        assert!(verdict.starts_with("nothing separates the 4 rows of A from the 6 of B beyond chance"), "{verdict}");
        assert!(!verdict.contains("no feature separates A from B well"), "{verdict}");
    }

    #[test]
    fn a_weak_split_returns_its_rows_and_a_verdict_naming_the_best_feature() {
        let (table, verdict) = diff_by_bad(&queues([5, 900, 3, 7, 4, 800, 6, 2, 950, 1]));
        assert!(table.height() > 0);
        let verdict = verdict.expect("nothing separates the queues well");
        let lines: Vec<&str> = verdict.lines().collect();
        assert_eq!(
            lines[0],
            "nothing separates the 4 rows of A from the 6 of B beyond chance: of 5 features considered none has q < 0.05; the strongest is `kv stdout | filter queue_depth > 2` (q = 1)"
        );
        let lines = &lines[1..];
        assert_eq!(
            lines[0],
            "no feature separates A from B well: the best, `kv stdout | filter queue_depth > 2`, has pct_diff 33.3 (a clear split is 50 or more)"
        );
        assert_eq!(
            lines[1],
            "distinct values in the 10 rows compared: stdout 10, az 2"
        );
        assert_eq!(
            lines[2],
            "stdout has 10 distinct values: try `kv stdout`, `extract stdout /(?<name>re)/` or `lines stdout` to make columns of what is in it, then diff again"
        );
        assert_eq!(lines.len(), 3);
    }
}
