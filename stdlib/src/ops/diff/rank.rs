//! Scores `diff`'s candidates, leaves out key features that select the same
//! rows as a simpler feature, adds pairs of features where a pair separates
//! the populations clearly better than either alone (diffpatterns'
//! MaxDimensions, at 2), gives every feature its `q` (`chance.rs`), and
//! builds the ranked result: features beyond chance first.

use std::cmp::Ordering;

use polars::prelude::*;
use shoal_lang::Result;
use shoal_lang::plan::Predicate;

use super::chance::{LnFactorials, SIGNIFICANT, q_values, readable};
use super::features::{Candidate, EXAMPLES, Kind};
use super::populations::{Member, Populations};
use crate::frame::{internal, texts};
use crate::predicate::mask;

/// How many of the best single features are tried in pairs.
const PAIR_POOL: usize = 10;

/// A pair is kept only when it beats both its parts by this many points.
const PAIR_GAIN: f64 = 10.0;

struct Scored {
    candidate: Candidate,
    pct_a: f64,
    pct_b: f64,
    /// Fisher's exact p of the feature's counts (`None` when no split could
    /// make it significant), and its place among the p-values of every
    /// feature considered, for its `q`.
    p: Option<f64>,
    family_index: usize,
    q: f64,
    /// The feature as printed; only made for features that pass the
    /// threshold, since most candidates (unique lines) never do.
    text: String,
    /// For a `key=value` line whose key has another value on the other
    /// side: both, in one line (see [`changed_keys`]).
    changed: Option<String>,
}

impl Scored {
    fn new(
        candidate: Candidate,
        populations: &Populations,
        ln: &LnFactorials,
        family_index: usize,
        threshold_pct: f64,
    ) -> Self {
        let pct = |count: usize, size: usize| 100.0 * count as f64 / size as f64;
        let (size_a, size_b) = (populations.size_a, populations.size_b);
        Scored {
            pct_a: pct(candidate.count_a, size_a),
            pct_b: pct(candidate.count_b, size_b),
            // A threshold chosen as the best of `tries` cuts answers for
            // all of them (Bonferroni within the feature).
            p: (ln.smallest_p(candidate.count_a + candidate.count_b, size_a, size_b)
                * (candidate.tries as f64)
                < SIGNIFICANT)
                .then(|| {
                    let p = if pct_diff(&candidate, size_a, size_b) < threshold_pct {
                        // Under the threshold the feature is never shown: 1,
                        // a bound above its p, keeps it in the family at no
                        // cost, and can only make the others' q larger.
                        1.0
                    } else {
                        ln.fisher(candidate.count_a, size_a, candidate.count_b, size_b)
                    };
                    (p * candidate.tries as f64).min(1.0)
                }),
            family_index,
            q: 1.0,
            candidate,
            text: String::new(),
            changed: None,
        }
    }

    fn beyond_chance(&self) -> bool {
        self.q < SIGNIFICANT
    }

    fn printed(mut self) -> Self {
        self.text = self.candidate.text();
        self
    }

    fn pct_diff(&self) -> f64 {
        (self.pct_a - self.pct_b).abs()
    }

    /// Features beyond chance first; then the largest difference; then
    /// features that A has (what is wrong with the bad hosts) before those
    /// it lacks; then the simpler kind; then alphabetical, so equal scores
    /// always print in the same order.
    fn rank(&self, other: &Self) -> Ordering {
        other
            .beyond_chance()
            .cmp(&self.beyond_chance())
            .then_with(|| other.pct_diff().total_cmp(&self.pct_diff()))
            .then_with(|| (other.pct_a > other.pct_b).cmp(&(self.pct_a > self.pct_b)))
            .then_with(|| self.candidate.kind.cmp(&other.candidate.kind))
            .then_with(|| self.text.cmp(&other.text))
    }
}

/// A candidate's `|pct_a - pct_b|`, before it is scored.
fn pct_diff(candidate: &Candidate, size_a: usize, size_b: usize) -> f64 {
    let pct = |count: usize, size: usize| 100.0 * count as f64 / size as f64;
    (pct(candidate.count_a, size_a) - pct(candidate.count_b, size_b)).abs()
}

/// The ranked table, and the best feature found, whether or not it passed
/// the threshold.
pub(super) struct Ranked {
    pub table: DataFrame,
    /// The best feature as printed, and its pct_diff.
    pub best: Option<(String, f64)>,
    /// How many features were considered, and the one with the lowest `q`
    /// (as printed, with its `q`), when none is beyond chance.
    pub considered: usize,
    pub strongest_by_chance: Option<(String, f64)>,
}

/// What `diff` ranks by, besides the populations and their candidates.
pub(super) struct Ranking {
    pub threshold_pct: f64,
    /// Columns left out of pairs (volatile facts such as uptime, which
    /// differ on every host and pair with anything by chance).
    pub unpaired: &'static [&'static str],
}

pub(super) fn ranked(
    df: &DataFrame,
    populations: &Populations,
    candidates: Vec<Candidate>,
    ranking: &Ranking,
) -> Result<Ranked> {
    let threshold_pct = ranking.threshold_pct;
    let ln = LnFactorials::up_to(populations.size_a + populations.size_b);
    let all: Vec<Scored> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| Scored::new(c, populations, &ln, i, threshold_pct))
        .collect();
    // Every p-value considered, singles then pairs: the family `q` is over.
    let mut family: Vec<Option<f64>> = all.iter().map(|s| s.p).collect();
    // Under the threshold, the best single feature is still worth naming
    // when nothing is shown: the first in rank order (unprinted, so ties
    // between kinds go to the simpler one).
    let best_left_out = all
        .iter()
        .filter(|s| s.pct_diff() < threshold_pct)
        .min_by(|x, y| x.rank(y))
        .map(|s| (s.candidate.text(), s.pct_diff()));
    let mut scored: Vec<Scored> = all
        .into_iter()
        .filter(|s| s.pct_diff() >= threshold_pct)
        .map(Scored::printed)
        .collect();
    scored.sort_by(Scored::rank);
    let mut scored = without_repeated_keys(df, populations, scored)?;
    let pairs = pairs(df, populations, &scored, ranking, &ln, &mut family)?;
    scored.extend(pairs);
    let q = q_values(&family);
    for s in &mut scored {
        s.q = q[s.family_index];
    }
    scored.sort_by(Scored::rank);
    let scored = changed_keys(scored, populations);
    let best = match scored.first() {
        Some(top) => Some((top.text.clone(), top.pct_diff())),
        None => best_left_out,
    };
    let strongest_by_chance = match q.iter().copied().fold(f64::INFINITY, f64::min) {
        min if min < SIGNIFICANT => None,
        _ => scored
            .iter()
            .min_by(|x, y| x.q.total_cmp(&y.q).then_with(|| x.rank(y)))
            .map(|s| (s.text.clone(), s.q))
            .or_else(|| best.clone().map(|(text, _)| (text, 1.0))),
    };
    Ok(Ranked {
        table: table(df, &scored)?,
        best,
        considered: family.len(),
        strongest_by_chance,
    })
}

/// A `key=value` line of a fingerprint column (`packages has
/// "libfoo=1.2.3"`) whose key has another value that the other side has
/// (`libfoo=1.2.5`) is one change, not two: the first of the pair keeps its
/// row, says both values in one line (`packages: libfoo 1.2.3 on 12/12 of A,
/// 1.2.5 on 188/188 of B`, in `range`), and the other's row goes.
fn changed_keys(scored: Vec<Scored>, populations: &Populations) -> Vec<Scored> {
    // (column, key, value) of each `COL has "key=value"` line feature.
    let key_line = |s: &Scored| -> Option<(String, String, String)> {
        if s.candidate.kind != Kind::Line {
            return None;
        }
        let Predicate::Text {
            column,
            op: shoal_lang::plan::TextOp::Has,
            text,
        } = &s.candidate.predicate
        else {
            return None;
        };
        let (key, value) = text.split_once('=')?;
        Some((column.name.clone(), key.to_string(), value.to_string()))
    };
    let lines: Vec<Option<(String, String, String)>> = scored.iter().map(key_line).collect();
    let mut dropped = vec![false; scored.len()];
    let mut changed: Vec<Option<String>> = vec![None; scored.len()];
    for i in 0..scored.len() {
        let Some((column, key, value)) = &lines[i] else {
            continue;
        };
        if dropped[i] || changed[i].is_some() {
            continue;
        }
        let a_side = scored[i].pct_a > scored[i].pct_b;
        // The other value of the same key that leans the other way.
        let partner = (i + 1..scored.len()).find(|&j| {
            !dropped[j]
                && matches!(&lines[j], Some((c, k, _)) if c == column && k == key)
                && (scored[j].pct_a > scored[j].pct_b) != a_side
        });
        let Some(j) = partner else {
            continue;
        };
        let (a, b) = if a_side { (i, j) } else { (j, i) };
        let value_of = |k: usize| lines[k].as_ref().map_or("", |l| l.2.as_str());
        changed[i] = Some(format!(
            "{column}: {key} {} on {}/{} of A, {} on {}/{} of B",
            if a == i { value.as_str() } else { value_of(a) },
            scored[a].candidate.count_a,
            populations.size_a,
            value_of(b),
            scored[b].candidate.count_b,
            populations.size_b
        ));
        dropped[j] = true;
    }
    scored
        .into_iter()
        .zip(changed)
        .zip(dropped)
        .filter(|(_, dropped)| !dropped)
        .map(|((mut s, changed), _)| {
            s.changed = changed;
            s
        })
        .collect()
}

/// Leaves out each key feature that selects the same rows of A and B as a
/// simpler feature on the same column: `kv conf | filter max_conns <= 64`
/// says no more than `conf has "max_conns=64"` when every host writes the
/// line the same way. A feature of another column that happens to select
/// the same rows is another explanation, and both stay.
fn without_repeated_keys(
    df: &DataFrame,
    populations: &Populations,
    scored: Vec<Scored>,
) -> Result<Vec<Scored>> {
    let on_a_side = |rows: &[bool]| -> Vec<bool> {
        rows.iter()
            .zip(&populations.member)
            .map(|(selected, member)| *selected && *member != Member::Neither)
            .collect()
    };
    let mut masks: Vec<Option<Vec<bool>>> = vec![None; scored.len()];
    let mut repeated = vec![false; scored.len()];
    for (i, key) in scored.iter().enumerate() {
        let Some(source) = &key.candidate.key else {
            continue;
        };
        let rows = on_a_side(&source.rows);
        for (j, other) in scored.iter().enumerate() {
            let same_counts = other.candidate.count_a == key.candidate.count_a
                && other.candidate.count_b == key.candidate.count_b;
            let same_column = other
                .candidate
                .predicate
                .columns()
                .iter()
                .all(|c| c.name == source.column);
            if other.candidate.key.is_some() || !same_counts || !same_column {
                continue;
            }
            if masks[j].is_none() {
                masks[j] = Some(on_a_side(&mask(df, &other.candidate.predicate)?));
            }
            if masks[j].as_ref() == Some(&rows) {
                repeated[i] = true;
                break;
            }
        }
    }
    Ok(scored
        .into_iter()
        .zip(repeated)
        .filter(|(_, repeated)| !repeated)
        .map(|(s, _)| s)
        .collect())
}

/// `A and B` for each two of the best features on different columns, kept
/// when it separates clearly better than both parts. Pairs are counted with
/// `filter`'s own evaluation, so they mean exactly what they print. Key
/// features are not paired: theirs is a pipeline, not a predicate on the
/// input.
fn pairs(
    df: &DataFrame,
    populations: &Populations,
    scored: &[Scored],
    ranking: &Ranking,
    ln: &LnFactorials,
    family: &mut Vec<Option<f64>>,
) -> Result<Vec<Scored>> {
    let threshold_pct = ranking.threshold_pct;
    let pool: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.candidate.key.is_none())
        .filter(|s| {
            s.candidate
                .predicate
                .columns()
                .iter()
                .all(|c| !ranking.unpaired.contains(&c.name.as_str()))
        })
        .take(PAIR_POOL)
        .collect();
    let masks: Vec<Vec<bool>> = pool
        .iter()
        .map(|s| mask(df, &s.candidate.predicate))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for i in 0..pool.len() {
        for j in i + 1..pool.len() {
            let (first, second) = (&pool[i].candidate.predicate, &pool[j].candidate.predicate);
            if first.columns()[0].name == second.columns()[0].name {
                continue; // two values of one column: the pair adds nothing
            }
            let mut count = (0, 0);
            let mut examples = Vec::new();
            for (row, member) in populations.member.iter().enumerate() {
                if !(masks[i][row] && masks[j][row]) {
                    continue;
                }
                match member {
                    Member::A => {
                        count.0 += 1;
                        if examples.len() < EXAMPLES {
                            examples.push(row);
                        }
                    }
                    Member::B => count.1 += 1,
                    Member::Neither => {}
                }
            }
            let pair = Scored::printed(Scored::new(
                Candidate {
                    predicate: Predicate::And {
                        left: Box::new(first.clone()),
                        right: Box::new(second.clone()),
                    },
                    kind: Kind::Pair,
                    count_a: count.0,
                    count_b: count.1,
                    examples,
                    range: None,
                    tries: 1,
                    key: None,
                },
                populations,
                ln,
                family.len(),
                threshold_pct,
            ));
            family.push(pair.p);
            let best_part = pool[i].pct_diff().max(pool[j].pct_diff());
            if pair.pct_diff() >= threshold_pct && pair.pct_diff() >= best_part + PAIR_GAIN {
                out.push(pair);
            }
        }
    }
    Ok(out)
}

fn table(df: &DataFrame, scored: &[Scored]) -> Result<DataFrame> {
    let hosts = match df.column("host") {
        Ok(host) => texts(host)?,
        Err(_) => Vec::new(),
    };
    let example_names = |rows: &[usize]| -> String {
        rows.iter()
            .map(|row| match hosts.get(*row) {
                Some(Some(host)) => host.clone(),
                _ => format!("row {}", row + 1),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // One decimal: these are for reading, and 33.333333 only adds noise.
    let round = |pct: f64| (pct * 10.0).round() / 10.0;
    let column = |name: &str, values: Vec<f64>| Column::new(name.into(), values);
    let columns = vec![
        Column::new(
            "feature".into(),
            scored.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "kind".into(),
            scored
                .iter()
                .map(|s| s.candidate.kind.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "count_a".into(),
            scored
                .iter()
                .map(|s| s.candidate.count_a as u64)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "count_b".into(),
            scored
                .iter()
                .map(|s| s.candidate.count_b as u64)
                .collect::<Vec<_>>(),
        ),
        column("pct_a", scored.iter().map(|s| round(s.pct_a)).collect()),
        column("pct_b", scored.iter().map(|s| round(s.pct_b)).collect()),
        column(
            "pct_diff",
            scored.iter().map(|s| round(s.pct_diff())).collect(),
        ),
        column("q", scored.iter().map(|s| readable(s.q)).collect()),
        Column::new(
            "examples".into(),
            scored
                .iter()
                .map(|s| example_names(&s.candidate.examples))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "range".into(),
            scored
                .iter()
                .map(|s| {
                    s.changed
                        .clone()
                        .or_else(|| s.candidate.range.map(|r| r.to_string()))
                })
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(scored.len(), columns).map_err(internal)
}
