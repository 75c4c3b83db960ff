//! `diff`'s candidate features, counted in one pass per column: each value
//! of a text column, each line (and digit-masked line) of an output column,
//! the best threshold on each numeric column, and the best threshold on each
//! number that a text column's `key: number` or `key=number` lines hold.
//!
//! Every candidate is a [`Predicate`] on one row, and its counts are what
//! `filter` with that predicate would select; `tests/diff.rs` checks that.
//! A key feature's predicate is on the column `kv` makes of the key, so it
//! is printed, and counted, as the pipeline `kv COL | filter PREDICATE`.

use indexmap::IndexMap;
use indexmap::map::Entry;
use polars::prelude::*;
use shoal_lang::ast::CompareOp;
use shoal_lang::plan::{ColumnRef, Literal, Predicate, TextOp};
use shoal_lang::{Result, Span};

use super::Op;
use super::populations::{Member, Populations};
use crate::context::EvalContext;
use crate::frame::{as_text, borrowed_texts, is_numeric, numbers};
use crate::predicate::mask;

/// Columns that are never features: they identify a row (`host`, `addr`),
/// differ on every host for reasons of their own (`duration_ms`, and
/// `error`, whose messages carry addresses; `status` says the same thing), or
/// hold a list whose whole value is no condition anyone would write
/// (`groups = "web,canary"`; groups mostly restate tags such as `role`, and
/// `diff @canary @web` compares groups directly).
const NOT_FEATURES: &[&str] = &["host", "addr", "groups", "duration_ms", "error"];

/// A text column whose values are all numbers, with more distinct values
/// than this, is numeric: `load1 > 3` says more than forty `load1 = ...`.
const MAX_NUMERIC_VALUES_AS_TEXT: usize = 5;

/// Example hosts kept per feature.
pub(super) const EXAMPLES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Value,
    Line,
    /// A line with its runs of digits masked.
    Masked,
    Numeric,
    /// A threshold on a number read from `key: number` lines of a text
    /// column, as `kv` reads it.
    Key,
    /// Two features joined with `and`.
    Pair,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Value => "value",
            Kind::Line | Kind::Masked => "line",
            Kind::Numeric => "numeric",
            Kind::Key => "key",
            Kind::Pair => "pair",
        }
    }
}

pub(super) struct Candidate {
    pub predicate: Predicate,
    pub kind: Kind,
    pub count_a: usize,
    pub count_b: usize,
    /// Rows of A that have the feature, the first few.
    pub examples: Vec<usize>,
    /// For a threshold, each side's lowest and highest value.
    pub range: Option<Range>,
    /// How many splits were tried to find this one: 1, or for a threshold
    /// the boundaries swept. The best of many cuts looks better than any
    /// one cut would by chance, so its p-value answers for all of them.
    pub tries: usize,
    /// For a key feature, where its column comes from.
    pub key: Option<KeySource>,
}

impl Candidate {
    /// The feature as printed: the predicate, in filter syntax; for a key
    /// feature, the pipeline that makes its column first.
    pub fn text(&self) -> String {
        match &self.key {
            Some(key) => format!("kv {} | filter {}", key.column, self.predicate),
            None => self.predicate.to_string(),
        }
    }
}

/// Where a key feature's column comes from: `kv COLUMN`. `filter` cannot
/// read the key on the input itself, so the rows it selects come along.
pub(super) struct KeySource {
    pub column: String,
    /// Whether each input row has the feature.
    pub rows: Vec<bool>,
}

/// The lowest and highest value of a threshold's column on each side
/// (`None` where a side has no value), so the gap the threshold sits in
/// shows: `A 4180..5230, B 0..12`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Range {
    pub a: Option<(f64, f64)>,
    pub b: Option<(f64, f64)>,
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |span: Option<(f64, f64)>| match span {
            None => "none".to_string(),
            Some((lo, hi)) if lo == hi => format_number(lo),
            Some((lo, hi)) => format!("{}..{}", format_number(lo), format_number(hi)),
        };
        write!(f, "A {}, B {}", side(self.a), side(self.b))
    }
}

/// How many rows of each side have a feature, each row counted once.
#[derive(Debug, Clone)]
struct Tally {
    a: usize,
    b: usize,
    last_row: usize,
    examples: Vec<usize>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            a: 0,
            b: 0,
            last_row: usize::MAX,
            examples: Vec::new(),
        }
    }
}

impl Tally {
    fn add(&mut self, row: usize, member: Member) {
        if self.last_row == row {
            return; // a line printed twice by one host counts once
        }
        self.last_row = row;
        match member {
            Member::A => {
                self.a += 1;
                if self.examples.len() < EXAMPLES {
                    self.examples.push(row);
                }
            }
            Member::B => self.b += 1,
            Member::Neither => {}
        }
    }

    fn total(&self) -> usize {
        self.a + self.b
    }

    fn into_candidate(self, predicate: Predicate, kind: Kind) -> Candidate {
        Candidate {
            predicate,
            kind,
            count_a: self.a,
            count_b: self.b,
            examples: self.examples,
            range: None,
            tries: 1,
            key: None,
        }
    }
}

/// The columns features are made from: all but those in [`NOT_FEATURES`],
/// those that define the split, and copies of either.
pub(super) fn usable_columns<'a>(df: &'a DataFrame, populations: &Populations) -> Vec<&'a Column> {
    let defining: Vec<&Column> = populations
        .defining
        .iter()
        .filter_map(|name| df.column(name).ok())
        .collect();
    df.columns()
        .iter()
        .filter(|col| {
            // A copy of a defining column (`run ... as health` also fills
            // stdout) restates the question as surely as the column itself.
            !(NOT_FEATURES.contains(&col.name().as_str())
                || defining.iter().any(|d| d.equals_missing(col))
                || is_copied_output(df, col))
        })
        .collect()
}

/// Every candidate feature of every usable column.
pub(super) fn candidates(
    df: &DataFrame,
    populations: &Populations,
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for col in usable_columns(df, populations) {
        let name = col.name().as_str();
        let column = ColumnRef {
            name: name.to_string(),
            span: Span::default(),
        };
        if is_numeric(col) {
            out.extend(numeric(
                &column,
                &numbers(col)?.unwrap_or_default(),
                populations,
            ));
            continue;
        }
        let text = as_text(col)?;
        let values = borrowed_texts(&text)?;
        if name == "stdout" || name == "stderr" || values.iter().flatten().any(|v| v.contains('\n'))
        {
            lines(&column, &values, populations, &mut out);
        } else if let Some(numbers) = numbers_with_many_values(&values) {
            out.extend(numeric(&column, &numbers, populations));
        } else {
            whole_values(&column, &values, populations, &mut out);
        }
        if values.iter().flatten().any(|v| v.contains('=') || v.contains(": ")) {
            out.extend(keys(df, name, populations, ctx)?);
        }
    }
    Ok(out)
}

/// `run ... as NAME` leaves the same text in `stdout` and in NAME; the
/// named column is the one the user will recognise, so `stdout` steps aside.
pub(crate) fn is_copied_output(df: &DataFrame, col: &Column) -> bool {
    matches!(col.name().as_str(), "stdout" | "stderr")
        && df.columns().iter().any(|other| {
            !matches!(other.name().as_str(), "stdout" | "stderr") && other.equals_missing(col)
        })
}

fn members<'a, T>(
    values: &'a [T],
    populations: &'a Populations,
) -> impl Iterator<Item = (usize, &'a T, Member)> {
    values
        .iter()
        .zip(&populations.member)
        .enumerate()
        .filter(|(_, (_, m))| **m != Member::Neither)
        .map(|(row, (v, m))| (row, v, *m))
}

fn missing(column: &ColumnRef) -> Predicate {
    Predicate::Not {
        inner: Box::new(Predicate::Exists {
            column: column.clone(),
        }),
    }
}

/// `COL = value` for each value, and `not exists COL` for missing ones.
fn whole_values(
    column: &ColumnRef,
    values: &[Option<&str>],
    populations: &Populations,
    out: &mut Vec<Candidate>,
) {
    let mut tallies: IndexMap<Option<&str>, Tally> = IndexMap::new();
    for (row, value, member) in members(values, populations) {
        tallies.entry(*value).or_default().add(row, member);
    }
    for (value, tally) in tallies {
        let predicate = match value {
            None => missing(column),
            Some(text) => Predicate::Compare {
                column: column.clone(),
                op: CompareOp::Eq,
                value: literal(text.to_string(), None),
            },
        };
        out.push(tally.into_candidate(predicate, Kind::Value));
    }
}

/// `COL has "line"` for each distinct line, plus `COL ~ /(?m)^...$/` with
/// digit runs masked where masking brings together lines that differ only
/// in numbers (timestamps, counters, PIDs), and `not exists COL`.
fn lines(
    column: &ColumnRef,
    values: &[Option<&str>],
    populations: &Populations,
    out: &mut Vec<Candidate>,
) {
    // Each exact line remembers its masked form's index, computed once.
    let mut exact: IndexMap<&str, (Tally, Option<usize>)> = IndexMap::new();
    let mut masked: IndexMap<String, Tally> = IndexMap::new();
    let mut absent = Tally::default();
    let mut buffer = String::new();
    for (row, value, member) in members(values, populations) {
        let Some(text) = value else {
            absent.add(row, member);
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (tally, mask_index) = match exact.entry(line) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let mask_index = mask_digits(line, &mut buffer).then(|| {
                        match masked.get_index_of(buffer.as_str()) {
                            Some(index) => index,
                            None => masked.insert_full(buffer.clone(), Tally::default()).0,
                        }
                    });
                    entry.insert((Tally::default(), mask_index))
                }
            };
            tally.add(row, member);
            if let Some(index) = *mask_index {
                masked[index].add(row, member);
            }
        }
    }
    // A masked form is worth showing only when it covers more rows than the
    // most common exact line it stands for. When it does and its exact lines
    // are nearly all unique (timestamps, counters), those lines are noise
    // that only say "this host is itself": the masked form replaces them.
    let mut widest_exact = vec![0; masked.len()];
    let mut distinct_exact = vec![0; masked.len()];
    for (tally, mask_index) in exact.values() {
        if let Some(index) = mask_index {
            widest_exact[*index] = widest_exact[*index].max(tally.total());
            distinct_exact[*index] += 1;
        }
    }
    let shown: Vec<bool> = masked
        .values()
        .zip(&widest_exact)
        .map(|(tally, widest)| tally.total() > *widest)
        .collect();
    let replaced = |index: usize| shown[index] && 2 * distinct_exact[index] > masked[index].total();
    let replaced: Vec<bool> = (0..masked.len()).map(replaced).collect();
    for (line, (tally, mask_index)) in exact {
        if mask_index.is_some_and(|index| replaced[index]) {
            continue;
        }
        let predicate = Predicate::Text {
            column: column.clone(),
            op: TextOp::Has,
            text: line.to_string(),
        };
        out.push(tally.into_candidate(predicate, Kind::Line));
    }
    for ((shape, tally), shown) in masked.into_iter().zip(shown) {
        if shown {
            let predicate = Predicate::Regex {
                column: column.clone(),
                pattern: masked_regex(&shape),
                negated: false,
            };
            out.push(tally.into_candidate(predicate, Kind::Masked));
        }
    }
    if absent.total() > 0 {
        out.push(absent.into_candidate(missing(column), Kind::Value));
    }
}

/// Writes `line` with each run of ASCII digits replaced by one NUL into
/// `buffer`; false when the line has no digits.
fn mask_digits(line: &str, buffer: &mut String) -> bool {
    if !line.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    buffer.clear();
    let mut in_digits = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                buffer.push('\0');
            }
            in_digits = true;
        } else {
            buffer.push(c);
            in_digits = false;
        }
    }
    true
}

/// The regex `filter` runs for a masked line: the line anchored, its text
/// literal, each digit run `[0-9]+` (ASCII, as masked: `\d` is Unicode).
fn masked_regex(shape: &str) -> String {
    let parts: Vec<String> = shape.split('\0').map(regex::escape).collect();
    format!("(?m)^{}$", parts.join("[0-9]+"))
}

fn numbers_with_many_values(values: &[Option<&str>]) -> Option<Vec<Option<f64>>> {
    let mut distinct = std::collections::HashSet::new();
    let mut numbers = Vec::with_capacity(values.len());
    for value in values {
        match value {
            None => numbers.push(None),
            Some(text) => {
                let number = text.trim().parse::<f64>().ok().filter(|n| n.is_finite())?;
                distinct.insert(number.to_bits());
                numbers.push(Some(number));
            }
        }
    }
    (distinct.len() > MAX_NUMERIC_VALUES_AS_TEXT).then_some(numbers)
}

/// The threshold `t` for which `COL > t` (or `COL <= t`) best separates A
/// from B, written as the roundest number in the gap between the values on
/// either side; plus `not exists COL` when values are missing.
fn numeric(
    column: &ColumnRef,
    values: &[Option<f64>],
    populations: &Populations,
) -> Vec<Candidate> {
    let mut absent = Tally::default();
    for (row, value, member) in members(values, populations) {
        if value.is_none() {
            absent.add(row, member);
        }
    }
    let mut out = Vec::new();
    if absent.total() > 0 {
        out.push(absent.into_candidate(missing(column), Kind::Value));
    }
    let Some(threshold) = Threshold::best(values, populations) else {
        return out;
    };
    let mut tally = Tally::default();
    for (row, value, member) in members(values, populations) {
        if value.is_some_and(|v| threshold.holds(v)) {
            tally.add(row, member);
        }
    }
    let mut candidate = tally.into_candidate(threshold.predicate(column), Kind::Numeric);
    candidate.range = Some(threshold.range);
    candidate.tries = threshold.tries;
    out.push(candidate);
    out
}

/// The best split of a numeric column: `COL > value` or `COL <= value`.
struct Threshold {
    op: CompareOp,
    value: f64,
    range: Range,
    /// The boundaries between distinct values that were swept.
    tries: usize,
}

impl Threshold {
    /// Sweeps the sorted values; at each boundary between two distinct
    /// values, the rows at or below it are `<= t`, the rest `> t`. The
    /// boundary whose sides differ most in share of A and of B wins.
    fn best(values: &[Option<f64>], populations: &Populations) -> Option<Threshold> {
        let mut present: Vec<(f64, Member)> = members(values, populations)
            .filter_map(|(_, value, member)| value.map(|v| (v, member)))
            .collect();
        present.sort_by(|x, y| x.0.total_cmp(&y.0));
        let count = |side| present.iter().filter(|(_, m)| *m == side).count();
        let (present_a, present_b) = (count(Member::A), count(Member::B));
        let (size_a, size_b) = (populations.size_a as f64, populations.size_b as f64);
        let mut best: Option<(f64, f64, f64, usize, usize)> = None; // score, lo, hi, le_a, le_b
        let (mut le_a, mut le_b) = (0, 0);
        let mut tries = 0;
        for (i, (value, member)) in present.iter().enumerate() {
            match member {
                Member::A => le_a += 1,
                _ => le_b += 1,
            }
            let Some(next) = present.get(i + 1) else {
                break;
            };
            if next.0 == *value {
                continue;
            }
            tries += 1;
            let above_a = (present_a - le_a) as f64 / size_a;
            let above_b = (present_b - le_b) as f64 / size_b;
            let score = (above_a - above_b).abs();
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, *value, next.0, le_a, le_b));
            }
        }
        let (_, lo, hi, le_a, le_b) = best?;
        let above = (present_a - le_a) as f64 / size_a >= (present_b - le_b) as f64 / size_b;
        let span = |side| {
            let mut side_values = present.iter().filter(|(_, m)| *m == side).map(|(v, _)| *v);
            let first = side_values.next()?;
            Some((first, side_values.next_back().unwrap_or(first)))
        };
        Some(Threshold {
            op: if above { CompareOp::Gt } else { CompareOp::Le },
            value: roundest_between(lo, hi),
            range: Range {
                a: span(Member::A),
                b: span(Member::B),
            },
            tries,
        })
    }

    fn holds(&self, v: f64) -> bool {
        match self.op {
            CompareOp::Gt => v > self.value,
            _ => v <= self.value,
        }
    }

    fn predicate(&self, column: &ColumnRef) -> Predicate {
        Predicate::Compare {
            column: column.clone(),
            op: self.op,
            value: literal(format_number(self.value), Some(self.value)),
        }
    }
}

/// The numbers in COL's `key: number` and `key=number` lines, each key a
/// threshold feature printed as `kv COL | filter KEY > t`. The keys are read
/// by the `kv` stage itself and the rows counted by `filter`'s own
/// evaluation, so the printed pipeline selects exactly the rows counted.
/// Only keys whose values are all numbers (the column `kv` makes is
/// numeric) and that are not already columns of the input are used.
fn keys(
    df: &DataFrame,
    source: &str,
    populations: &Populations,
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Candidate>> {
    // A column `kv` cannot name, or cannot read, yields no keys: key
    // features are extra evidence, never a reason for `diff` to fail.
    let Some(kv) = planned(&format!("kv {source}")) else {
        return Ok(Vec::new());
    };
    let Ok(read) = kv.eval(df.clone(), ctx) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for col in read.columns() {
        if df.column(col.name()).is_ok() || !is_numeric(col) {
            continue;
        }
        let column = ColumnRef {
            name: col.name().to_string(),
            span: Span::default(),
        };
        let values = numbers(col)?.unwrap_or_default();
        let Some(threshold) = Threshold::best(&values, populations) else {
            continue;
        };
        let predicate = threshold.predicate(&column);
        let text = format!("kv {source} | filter {predicate}");
        if planned(&text).is_none() {
            continue; // a key whose name the grammar reads as something else
        }
        let rows = mask(&read, &predicate)?;
        let mut tally = Tally::default();
        for (row, selected, member) in members(&rows, populations) {
            if *selected {
                tally.add(row, member);
            }
        }
        let mut candidate = tally.into_candidate(predicate, Kind::Key);
        candidate.range = Some(threshold.range);
        candidate.tries = threshold.tries;
        candidate.key = Some(KeySource {
            column: source.to_string(),
            rows,
        });
        out.push(candidate);
    }
    Ok(out)
}

/// `stages` planned as they would be after `$input |`: the first stage, or
/// `None` when the text is not a valid pipeline.
fn planned(stages: &str) -> Option<Op> {
    let plan = crate::compile(&format!("hosts | {stages}")).ok()?;
    let step = plan.statements.into_iter().next()?.ops.into_iter().next()?;
    Some(step.op)
}

/// The roundest number in `[lo, hi)`: the smallest multiple, in that range,
/// of the largest power of ten that has one there. `x > t` then splits
/// exactly where `x > lo` does, and `t` sits in the gap as a person would
/// write it: `load1 > 2` between 1.2 and 6.1, `queue_depth > 1000` between
/// 12 and 4180, rather than `> 12` at the edge.
fn roundest_between(lo: f64, hi: f64) -> f64 {
    let top = lo.abs().max(hi.abs()).max(1.0).log10().floor().min(300.0) as i32;
    (-9..=top)
        .rev()
        .map(|exponent| {
            // Parsed, not `powi`, so that large powers are exact.
            let power = |e: i32| format!("1e{e}").parse::<f64>().unwrap_or(f64::INFINITY);
            let t = if exponent >= 0 {
                let unit = power(exponent);
                (lo / unit).ceil() * unit
            } else {
                let scale = power(-exponent);
                (lo * scale).ceil() / scale
            };
            t + 0.0 // no `-0`
        })
        .find(|t| *t >= lo && *t < hi)
        .unwrap_or(lo)
}

fn format_number(n: f64) -> String {
    let text = format!("{n}");
    if text.contains('e') {
        format!("{n:.9}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        text
    }
}

fn literal(text: String, number: Option<f64>) -> Literal {
    let number = number.or_else(|| text.trim().parse().ok().filter(|n: &f64| n.is_finite()));
    Literal {
        text,
        number,
        span: Span::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_are_masked_once_each() {
        let mut buffer = String::new();
        assert!(mask_digits("up 12 days, 3:04", &mut buffer));
        assert_eq!(masked_regex(&buffer), "(?m)^up [0-9]+ days, [0-9]+:[0-9]+$");
        assert!(!mask_digits("no digits", &mut buffer));
    }

    #[test]
    fn thresholds_are_the_roundest_number_that_splits_the_same_way() {
        assert_eq!(roundest_between(1.2, 7.9), 2.0);
        assert_eq!(roundest_between(4.0, 8.0), 4.0);
        assert_eq!(roundest_between(0.51, 0.52), 0.51);
        assert_eq!(roundest_between(0.512, 0.5125), 0.512);
        assert_eq!(roundest_between(12.0, 4180.0), 1000.0);
        assert_eq!(roundest_between(12.0, 40.0), 20.0);
        assert_eq!(roundest_between(12.0, 13.0), 12.0);
        assert_eq!(roundest_between(0.0, 4180.0), 0.0);
        assert_eq!(roundest_between(-0.5, 0.5), 0.0);
        assert_eq!(roundest_between(-5.0, -1.0), -5.0);
        assert_eq!(roundest_between(1e300, f64::MAX), 1e300);
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(roundest_between(-0.5, 0.5)), "0");
    }

    #[test]
    fn ranges_show_each_side() {
        let range = Range {
            a: Some((4180.0, 5230.0)),
            b: Some((0.0, 12.0)),
        };
        assert_eq!(range.to_string(), "A 4180..5230, B 0..12");
        let range = Range {
            a: Some((2.5, 2.5)),
            b: None,
        };
        assert_eq!(range.to_string(), "A 2.5, B none");
    }
}
