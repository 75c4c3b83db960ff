//! `sample N [seed=S]`: keeps N random rows, or N% of them, in their input
//! order: "take 20 of the bad boxes".
//!
//! The same seed over the same rows keeps the same rows, so a sample can be
//! taken again (in a runbook, or by a colleague) and give the same hosts.
//! Without a seed each run draws anew. The generator is SplitMix64, written
//! out here: the sample must not change when a dependency's generator does.
//! A percentage rounds up, so `sample 10%` of five rows keeps one, never
//! none; asking for more rows than there are keeps them all.

use std::time::{SystemTime, UNIX_EPOCH};

use polars::prelude::*;
use serde::Serialize;
use shoal_lang::plan::Rows;
use shoal_lang::{Args, Kind, Param, Result, Signature};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::internal;

pub struct Sample;

static SIGNATURE: Signature = Signature {
    name: "sample",
    aliases: &[],
    summary: "Keeps N random rows, or N% of them (rounded up), in their input order; the same seed keeps the same rows.",
    help: "For example `hosts | filter health = FAIL | sample 10% | run \"dmesg | tail\"` looks at a tenth of the failing hosts. Give `seed=` to draw the same hosts again.",
    params: &[Param::arg("rows", Kind::Rows, "N|N%")
        .example("20")
        .doc("how many rows to keep, or what percentage of them")],
    options: &[Param::option("seed", Kind::Int { min: 0, unit: "" }, "S")
        .example("1")
        .doc("the same seed over the same rows keeps the same rows (default: a new draw each time)")],
    takes_as: false,
    data_columns: false,
};

impl Operator for Sample {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Three hosts picked at random, the same three for the same seed",
                query: "hosts | sample 3 seed=1 | select host, az",
                output: "\
host     az
web01    us-east-1a
db02     us-east-1b
cache01  us-east-1c
",
            },
            Example {
                description: "Half of the hosts that answered (rounded up)",
                query: "hosts | run \"cat /etc/app/version\" | filter status = ok | sample 50% seed=7 | select host, stdout",
                output: "\
host   stdout
web01  2.1.0
web02  2.1.0
web03  2.0.9
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(SampleOp {
            rows: args.require("rows")?,
            seed: args.get("seed")?,
        }))
    }
}

/// `sample`: how many rows, and the seed when one was given.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "sample")]
pub(crate) struct SampleOp {
    rows: Rows,
    seed: Option<u64>,
}

impl Stage for SampleOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let height = input.height();
        let wanted = match self.rows {
            Rows::Count(count) => usize::try_from(count).unwrap_or(usize::MAX),
            Rows::Percent(percent) => (height as f64 * percent / 100.0).ceil() as usize,
        };
        let seed = self.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |t| t.as_nanos() as u64)
        });
        let kept: Vec<IdxSize> = chosen_rows(height, wanted, seed)
            .into_iter()
            .map(|row| row as IdxSize)
            .collect();
        input
            .take(&IdxCa::from_vec("sample".into(), kept))
            .map_err(internal)
    }
}

/// `wanted` of the row numbers `0..height`, drawn without replacement
/// (a partial Fisher–Yates shuffle), in ascending order.
fn chosen_rows(height: usize, wanted: usize, seed: u64) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..height).collect();
    let wanted = wanted.min(height);
    let mut random = SplitMix64(seed);
    for i in 0..wanted {
        let j = i + (random.next() % (height - i) as u64) as usize;
        rows.swap(i, j);
    }
    rows.truncate(wanted);
    rows.sort_unstable();
    rows
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and every seed,
/// zero included, gives a good sequence.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_rows_and_another_seed_others() {
        let draw = |seed| chosen_rows(200, 20, seed);
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        let rows = draw(1);
        assert_eq!(rows.len(), 20);
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "in order, no repeats");
        assert!(rows.iter().all(|&r| r < 200));
    }

    #[test]
    fn more_rows_than_there_are_keeps_them_all() {
        assert_eq!(chosen_rows(3, 10, 5), [0, 1, 2]);
        assert_eq!(chosen_rows(0, 10, 5), Vec::<usize>::new());
    }

    #[test]
    fn every_row_can_be_drawn() {
        let mut seen = [false; 10];
        for seed in 0..200 {
            for row in chosen_rows(10, 1, seed) {
                seen[row] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    /// The rendered error of a query whose `sample` stage is malformed.
    fn error(query: &str) -> String {
        crate::compile(query)
            .expect_err("must not compile")
            .render(query, false)
    }

    #[test]
    fn bad_sizes_are_located_errors_with_a_hint() {
        for (query, says, caret) in [
            ("hosts | sample 0", "needs at least one row, not `0`", "^"),
            ("hosts | sample -3", "not `-3`", "^^"),
            ("hosts | sample 150%", "`150%` is not a percentage above 0", "^^^^"),
            ("hosts | sample x", "needs a number of rows or a percentage, not `x`", "^"),
            ("hosts | sample 5 seed=x", "`seed` needs a whole number, not `x`", "^"),
            ("hosts | sample 5 sead=1", "`sample` has no option `sead`", "^^^^"),
        ] {
            let rendered = error(query);
            assert!(rendered.contains(says), "{query}:\n{rendered}");
            assert!(rendered.contains("= hint:"), "{query}:\n{rendered}");
            let caret_line = rendered
                .lines()
                .find(|l| l.contains('^'))
                .unwrap_or_else(|| panic!("no caret:\n{rendered}"));
            assert!(
                caret_line.trim_start_matches([' ', '|']).trim_end() == caret,
                "{query}:\n{rendered}"
            );
        }
        assert!(error("hosts | sample 5 sead=1").contains("did you mean 'seed'?"));
    }
}
