//! `diff`: what sets population A apart from population B, ranked. Each
//! feature is printed in filter syntax, so it pastes straight into `filter`.
//!
//! ```text
//!   populations.rs   which rows are A and which are B (`diff A B`,
//!                    `diff where PRED`, `diff by COL`)
//!   features.rs      candidate features with their counts per side
//!   rank.rs          scores, pairs of features, the ranked table
//! ```

mod features;
mod populations;
mod rank;

use polars::prelude::DataFrame;
use shoal_lang::Result;
use shoal_lang::plan::Op;

use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;

pub struct Diff;

impl Operator for Diff {
    fn name(&self) -> &'static str {
        "diff"
    }
    fn usage(&self) -> &'static str {
        "diff A B | diff where PRED | diff by COL  [threshold=5%]"
    }
    fn description(&self) -> &'static str {
        "Ranks what sets population A apart from B: each value of a text column, each line of an output column (with digits masked where lines differ only in numbers), and the best split of each numeric column, plus pairs joined with `and` where a pair separates better. A and B are saved results or @groups, the rows matching PRED against the rest, or COL's two values (the smaller side is A). Columns: feature (paste it into `filter`), kind, count_a, count_b, pct_a, pct_b, pct_diff, examples (hosts from A). Features under the threshold are left out."
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
    fn eval(&self, op: &Op, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Diff {
            split,
            threshold_pct,
            span,
        } = op
        else {
            return Err(wrong_op("diff", op));
        };
        let populations = populations::split(&input, split, *span, ctx)?;
        let candidates = features::candidates(&input, &populations)?;
        rank::ranked(&input, &populations, candidates, *threshold_pct)
    }
}
