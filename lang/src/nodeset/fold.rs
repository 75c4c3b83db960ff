//! Writing a set as ClusterShell's `nodeset -f` does (`NodeSetBase.__str__`):
//! patterns in order, each with its numbers as range sets. One number per
//! name folds into runs of consecutive numbers (`RangeSet._slices_padding`
//! without autostep); several fold as `RangeSetND` does: into one vector
//! when only one of them varies, else by merging vectors that differ in one
//! number until none do.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::{Index, NodeSet};

pub(super) fn fold(set: &NodeSet) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (pattern, names) in &set.patterns {
        match pattern.pieces.len() - 1 {
            0 => parts.push(pattern.pieces[0].clone()),
            1 => {
                let numbers: Vec<Index> = names.iter().map(|n| n[0]).collect();
                parts.push(pattern.name([bracketed(&numbers)]));
            }
            _ => parts.extend(
                vectors(names)
                    .iter()
                    .map(|vector| pattern.name(vector.iter().map(bracketed_set))),
            ),
        }
    }
    parts.join(",")
}

/// Sorted numbers as a range set, in brackets when there are several.
fn bracketed(numbers: &[Index]) -> String {
    let text: Vec<String> = runs(numbers)
        .into_iter()
        .map(|(first, last)| {
            if first == last {
                first.text()
            } else {
                format!("{}-{}", first.text(), last.text())
            }
        })
        .collect();
    let text = text.join(",");
    if numbers.len() > 1 {
        format!("[{text}]")
    } else {
        text
    }
}

fn bracketed_set(numbers: &BTreeSet<Index>) -> String {
    bracketed(&numbers.iter().copied().collect::<Vec<_>>())
}

/// Sorted numbers as runs of consecutive values, each as its first and last:
/// a run of padded numbers keeps one width (`08-10`), and an unpadded run
/// takes no padded number (`9,08`).
pub(super) fn runs(numbers: &[Index]) -> Vec<(Index, Index)> {
    let mut runs: Vec<(Index, Index)> = Vec::new();
    for &number in numbers {
        match runs.last_mut() {
            Some((first, last))
                if last.value.checked_add(1) == Some(number.value)
                    && if first.padded() {
                        number.digits == first.digits
                    } else {
                        !number.padded()
                    } =>
            {
                *last = number
            }
            _ => runs.push((number, number)),
        }
    }
    runs
}

/// A vector of range sets, one per number of the pattern.
type Vector = Vec<BTreeSet<Index>>;

/// `RangeSetND._fold` of single names.
fn vectors(names: &BTreeSet<Vec<Index>>) -> Vec<Vector> {
    let mut vectors: Vec<Vector> = names
        .iter()
        .map(|name| name.iter().map(|i| BTreeSet::from([*i])).collect())
        .collect();
    if vectors.len() <= 1 {
        return vectors;
    }
    let dimensions = vectors[0].len();
    let varying: Vec<usize> = (0..dimensions)
        .filter(|&d| vectors.iter().any(|v| v[d] != vectors[0][d]))
        .collect();
    if let [only] = varying[..] {
        let mut merged = vectors.swap_remove(0);
        for vector in vectors {
            merged[only].extend(&vector[only]);
        }
        return vec![merged];
    }
    merge(vectors)
}

/// `RangeSetND._fold_multivariate_merge`: passes over the sorted vectors,
/// merging a pair that differs in one range set (disjoint: their union;
/// one inside the other: the larger), first each vector with the ones that
/// follow it until one cannot merge, then, when that changes nothing, every
/// pair.
fn merge(mut vectors: Vec<Vector>) -> Vec<Vector> {
    let mut full = false;
    let mut changed = true;
    while changed {
        changed = false;
        sort(&mut vectors);
        let mut first = 0;
        while first + 1 < vectors.len() {
            let mut second = first + 1;
            first += 1;
            while second < vectors.len() {
                match merged(&vectors[first - 1], &vectors[second]) {
                    Some(vector) => {
                        changed = true;
                        vectors[first - 1] = vector;
                        vectors.remove(second);
                    }
                    None if !full => break,
                    None => second += 1,
                }
            }
        }
        if !changed && !full {
            changed = true;
            full = true;
        }
    }
    vectors
}

/// The merge of two vectors that differ in at most one range set.
fn merged(a: &Vector, b: &Vector) -> Option<Vector> {
    let mut differences = 0;
    let mut result = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            result.push(x.clone());
            continue;
        }
        differences += 1;
        if differences > 1 {
            return None;
        }
        if x.is_disjoint(y) {
            result.push(x.union(y).copied().collect());
        } else if x.is_superset(y) {
            result.push(x.clone());
        } else if x.is_subset(y) {
            result.push(y.clone());
        } else {
            return None;
        }
    }
    Some(result)
}

/// `RangeSetND._sort`: larger vectors first, then per range set the larger
/// first, then by first and last number as text.
fn sort(vectors: &mut [Vector]) {
    vectors.sort_by_cached_key(|vector| {
        let size: usize = vector.iter().map(BTreeSet::len).product();
        let sets: Vec<(Reverse<usize>, String, String)> = vector
            .iter()
            .map(|set| {
                let text = |i: Option<&Index>| i.map(|i| i.text()).unwrap_or_default();
                (Reverse(set.len()), text(set.first()), text(set.last()))
            })
            .collect();
        (Reverse(size), sets)
    });
}
