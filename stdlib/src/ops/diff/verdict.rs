//! Whether `diff` found a clear answer, and when it did not, why not and
//! what to try: the best feature's score, how many distinct values each
//! column has, and the stage that would take apart a column whose values
//! all differ.
//!
//! A feature separates the populations well when its pct_diff is at least
//! [`CLEAR_SPLIT`]: it holds on at least half of one side more than of the
//! other. Below that, no single condition (or pair) accounts for most of
//! either side, which usually means the difference is inside a column whose
//! every value differs (a counter in a line of output, a field of a table)
//! and has to be made a column of its own first.

use std::collections::HashSet;

use polars::prelude::*;
use shoal_lang::Result;

use super::features::usable_columns;
use super::populations::{Member, Populations};
use crate::frame::{as_text, borrowed_texts, is_numeric};

/// The pct_diff from which a feature separates the populations well.
pub(super) const CLEAR_SPLIT: f64 = 50.0;

/// Columns listed with their distinct values, at most.
const LISTED: usize = 8;

/// `None` when the best feature separates well; otherwise what to tell the
/// user, one sentence a line.
pub(super) fn verdict(
    df: &DataFrame,
    populations: &Populations,
    best: Option<(&str, f64)>,
) -> Result<Option<String>> {
    let mut lines = match best {
        Some((_, pct_diff)) if pct_diff >= CLEAR_SPLIT => return Ok(None),
        Some((feature, pct_diff)) => vec![format!(
            "no feature separates A from B well: the best, `{feature}`, has pct_diff {pct_diff:.1} (a clear split is {CLEAR_SPLIT:.0} or more)"
        )],
        None => vec!["no feature separates A from B: no column but those that define the split has values to compare".to_string()],
    };
    let compared = populations.size_a + populations.size_b;
    let mut columns: Vec<Profile> = Vec::new();
    for col in usable_columns(df, populations) {
        columns.push(Profile::of(col, populations)?);
    }
    // Most distinct first: those are the columns to take apart.
    columns.sort_by_key(|c| std::cmp::Reverse(c.distinct));
    if !columns.is_empty() {
        let mut listed: Vec<String> = columns
            .iter()
            .take(LISTED)
            .map(|c| format!("{} {}", c.name, c.distinct))
            .collect();
        if columns.len() > LISTED {
            listed.push(format!("and {} more", columns.len() - LISTED));
        }
        lines.push(format!(
            "distinct values in the {compared} rows compared: {}",
            listed.join(", ")
        ));
    }
    let mut shaped = false;
    for column in &columns {
        if let Some(stages) = column.stages(compared) {
            lines.push(format!(
                "{} has {} distinct values: try {stages} to make columns of what is in it, then diff again",
                column.name, column.distinct
            ));
            shaped = true;
        }
    }
    if !shaped {
        lines.push(
            "no text column differs on most rows: the difference may be in something not collected yet; add it with `run` or `facts`"
                .to_string(),
        );
    }
    Ok(Some(lines.join("\n")))
}

/// What the verdict needs to know about one column.
struct Profile {
    name: String,
    numeric: bool,
    /// Distinct present values among the rows of A and B.
    distinct: usize,
    /// Some value spans lines, or the column is command output.
    multi_line: bool,
    /// At least half the non-blank lines look like `key=value` or
    /// `key: value`.
    pairs: bool,
    /// Not pairs, and most values' lines split into the same number (two or
    /// more) of blank-separated fields, as a table such as `df -h` does.
    table: bool,
}

impl Profile {
    fn of(col: &Column, populations: &Populations) -> Result<Profile> {
        let text = as_text(col)?;
        let values: Vec<&str> = borrowed_texts(&text)?
            .into_iter()
            .zip(&populations.member)
            .filter(|(_, m)| **m != Member::Neither)
            .filter_map(|(v, _)| v)
            .collect();
        let distinct = values.iter().collect::<HashSet<_>>().len();
        let name = col.name().to_string();
        let multi_line =
            name == "stdout" || name == "stderr" || values.iter().any(|v| v.contains('\n'));
        let non_blank = || {
            values
                .iter()
                .flat_map(|v| v.lines())
                .filter(|l| !l.trim().is_empty())
        };
        let (lines, pair_lines) = non_blank().fold((0, 0), |(all, pairs), line| {
            let pair = line.contains('=') || line.contains(": ");
            (all + 1, pairs + usize::from(pair))
        });
        let pairs = lines > 0 && 2 * pair_lines >= lines;
        let tables = values.iter().filter(|v| is_table(v)).count();
        Ok(Profile {
            name,
            numeric: is_numeric(col),
            distinct,
            multi_line,
            pairs,
            table: multi_line && !pairs && 2 * tables > values.len(),
        })
    }

    /// The stages that would take this column apart, when its values differ
    /// on most of the rows compared (so that neither whole values nor lines
    /// can group them), best guess first.
    fn stages(&self, compared: usize) -> Option<String> {
        if self.numeric || self.distinct < 3 || 2 * self.distinct <= compared {
            return None;
        }
        let name = &self.name;
        let mut stages = Vec::new();
        if self.pairs {
            stages.push(format!("`kv {name}`"));
        }
        if self.table {
            stages.push(format!("`columns {name}`"));
        }
        stages.push(format!("`extract {name} /(?<name>re)/`"));
        if self.multi_line {
            stages.push(format!("`lines {name}`"));
        } else {
            stages.push(format!("`parse {name} \"{{name}} {{value:int}}\"`"));
        }
        let last = stages.pop()?;
        Some(if stages.is_empty() {
            last
        } else {
            format!("{} or {last}", stages.join(", "))
        })
    }
}

/// Two or more lines that all split into the same number of blank-separated
/// fields, at least two.
fn is_table(value: &str) -> bool {
    let mut widths = value
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().count());
    let Some(first) = widths.next() else {
        return false;
    };
    let mut rest = 0;
    for width in widths {
        if width != first {
            return false;
        }
        rest += 1;
    }
    first >= 2 && rest >= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn populations(bad: &[bool]) -> Populations {
        let member: Vec<Member> = bad
            .iter()
            .map(|b| if *b { Member::A } else { Member::B })
            .collect();
        Populations {
            size_a: bad.iter().filter(|b| **b).count(),
            size_b: bad.iter().filter(|b| !**b).count(),
            member,
            defining: vec!["bad".into()],
        }
    }

    fn frame() -> DataFrame {
        df!(
            "host" => ["h1", "h2", "h3", "h4", "h5", "h6"],
            "bad" => ["y", "y", "y", "n", "n", "n"],
            "az" => ["a", "b", "a", "b", "a", "b"],
            "load1" => [0.5, 0.7, 0.2, 0.6, 0.1, 0.3],
            "stdout" => ["conns: 10 open\nmode=x1", "conns: 12 open\nmode=x2", "conns: 9 open\nmode=x3",
                         "conns: 11 open\nmode=x4", "conns: 8 open\nmode=x5", "conns: 14 open\nmode=x6"],
            "msg" => ["took 5 ms", "took 7 ms", "took 3 ms", "took 4 ms", "took 6 ms", "took 2 ms"],
            "table" => ["a b\n1 2", "a b\n3 4", "a b\n5 6", "a b\n7 8", "a b\n9 1", "a b\n2 3"],
        )
        .unwrap()
    }

    #[test]
    fn a_clear_split_needs_no_verdict() {
        let (df, pops) = (frame(), populations(&[true, true, true, false, false, false]));
        assert_eq!(verdict(&df, &pops, Some(("az = a", 50.0))).unwrap(), None);
        assert_eq!(verdict(&df, &pops, Some(("az = a", 100.0))).unwrap(), None);
    }

    #[test]
    fn a_weak_split_says_so_counts_values_and_names_the_stage_that_would_help() {
        let (df, pops) = (frame(), populations(&[true, true, true, false, false, false]));
        let text = verdict(&df, &pops, Some(("az = a", 33.3)))
            .unwrap()
            .expect("33.3 is weak");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "no feature separates A from B well: the best, `az = a`, has pct_diff 33.3 (a clear split is 50 or more)"
        );
        // `bad` defines the split and `host` is never a feature.
        assert_eq!(
            lines[1],
            "distinct values in the 6 rows compared: load1 6, stdout 6, msg 6, table 6, az 2"
        );
        assert_eq!(
            lines[2..],
            [
                "stdout has 6 distinct values: try `kv stdout`, `extract stdout /(?<name>re)/` or `lines stdout` to make columns of what is in it, then diff again",
                "msg has 6 distinct values: try `extract msg /(?<name>re)/` or `parse msg \"{name} {value:int}\"` to make columns of what is in it, then diff again",
                "table has 6 distinct values: try `columns table`, `extract table /(?<name>re)/` or `lines table` to make columns of what is in it, then diff again",
            ]
        );
    }

    #[test]
    fn with_nothing_to_take_apart_it_says_to_collect_more() {
        let df = df!(
            "host" => ["h1", "h2", "h3", "h4"],
            "bad" => ["y", "y", "n", "n"],
            "az" => ["a", "b", "a", "b"],
        )
        .unwrap();
        let pops = populations(&[true, true, false, false]);
        let text = verdict(&df, &pops, Some(("az = a", 0.0))).unwrap().unwrap();
        assert!(text.contains("distinct values in the 4 rows compared: az 2"), "{text}");
        assert!(text.ends_with("add it with `run` or `facts`"), "{text}");
        let text = verdict(&df.select(["host", "bad"]).unwrap(), &pops, None)
            .unwrap()
            .unwrap();
        assert!(text.starts_with("no feature separates A from B: "), "{text}");
        assert!(!text.contains("distinct values"), "{text}");
    }
}
