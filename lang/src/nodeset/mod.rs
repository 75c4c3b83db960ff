//! ClusterShell nodesets (`web[001-020,033],db1`), read, combined and
//! written as ClusterShell's `nodeset -e` / `nodeset -f` read and write them
//! (its `NodeSet.py` and `RangeSet.py` are the definition): `parse.rs` reads
//! the syntax, `fold.rs` writes a set back as text.
//!
//! A node name is a pattern with a number in place of each run of digits
//! (`rack1node07` is `rack%snode%s` with 1 and 07). A number keeps its digits
//! as written, so `web7` and `web07` are different hosts, as they are to
//! ClusterShell. Numbers are arbitrary in ClusterShell; shoal keeps them in
//! a u128, so a name with a number of more than 38 digits is refused with an
//! error saying so (no host name in practice has one).
//!
//! Bounded before anything is expanded: an expression that names more than
//! [`MAX_NODESET_NAMES`] hosts (adding up its terms, whatever the operators)
//! is refused with an error naming it, since every name is kept in memory.
//!
//! [`fold_hosts`] is the inverse used by `gather`: whatever it writes,
//! `hosts` selects back exactly (issue 20). A name the nodeset syntax cannot
//! carry (one with brackets, commas or spaces, which ClusterShell cannot
//! name at all) is written as a `~ /^name$/` term, which a selection reads.

mod fold;
mod parse;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The most names one nodeset may expand to. ClusterShell has no limit; a
/// million names is past any fleet shoal queries (one connection per host),
/// and still fits in memory while it is checked.
pub const MAX_NODESET_NAMES: u64 = 1_000_000;

/// One number of a node name as written: its digit count, then its value,
/// which is also ClusterShell's order (by length, then by text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Index {
    digits: usize,
    value: u128,
}

impl Index {
    /// `value` written in `digits` digits (more when it needs them).
    fn new(value: u128, digits: usize) -> Index {
        Index {
            digits: digits.max(decimal_digits(value)),
            value,
        }
    }

    /// Whether the text has a leading zero (`07`, `00`).
    fn padded(self) -> bool {
        self.digits > decimal_digits(self.value)
    }

    fn text(self) -> String {
        format!("{:0width$}", self.value, width = self.digits)
    }
}

fn decimal_digits(value: u128) -> usize {
    value.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// The text around a name's numbers, `rack%snode%s` as `["rack", "node",
/// ""]`, ordered as ClusterShell orders its patterns: by that `%s` text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Pattern {
    /// ClusterShell's pattern text, `%` written `%%`: the sort key.
    key: String,
    /// One more piece than the name has numbers.
    pieces: Vec<String>,
}

impl Pattern {
    fn new(pieces: Vec<String>) -> Pattern {
        let key = pieces
            .iter()
            .map(|piece| piece.replace('%', "%%"))
            .collect::<Vec<_>>()
            .join("%s");
        Pattern { key, pieces }
    }

    /// The name with `numbers` (as text) in place, one per gap.
    fn name(&self, numbers: impl IntoIterator<Item = String>) -> String {
        let mut name = self.pieces[0].clone();
        for (number, piece) in numbers.into_iter().zip(&self.pieces[1..]) {
            name.push_str(&number);
            name.push_str(piece);
        }
        name
    }
}

/// A set of node names, kept by pattern: each pattern with the numbers of
/// its names, one vector of numbers per name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeSet {
    patterns: BTreeMap<Pattern, BTreeSet<Vec<Index>>>,
}

impl NodeSet {
    /// The names, in ClusterShell's order (`nodeset -e`): by pattern, then
    /// by numbers.
    pub fn iter(&self) -> impl Iterator<Item = String> + '_ {
        self.patterns.iter().flat_map(|(pattern, names)| {
            names
                .iter()
                .map(move |numbers| pattern.name(numbers.iter().map(|i| i.text())))
        })
    }

    pub fn len(&self) -> usize {
        self.patterns.values().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn union(&self, other: &NodeSet) -> NodeSet {
        self.combine(other, |a, b| a.union(b).cloned().collect())
    }

    pub fn difference(&self, other: &NodeSet) -> NodeSet {
        self.combine(other, |a, b| a.difference(b).cloned().collect())
    }

    pub fn intersection(&self, other: &NodeSet) -> NodeSet {
        self.combine(other, |a, b| a.intersection(b).cloned().collect())
    }

    pub fn symmetric_difference(&self, other: &NodeSet) -> NodeSet {
        self.combine(other, |a, b| a.symmetric_difference(b).cloned().collect())
    }

    /// `operation` applied pattern by pattern; patterns left empty dropped.
    fn combine(
        &self,
        other: &NodeSet,
        operation: impl Fn(&BTreeSet<Vec<Index>>, &BTreeSet<Vec<Index>>) -> BTreeSet<Vec<Index>>,
    ) -> NodeSet {
        let empty = BTreeSet::new();
        let keys: BTreeSet<&Pattern> = self.patterns.keys().chain(other.patterns.keys()).collect();
        let patterns = keys
            .into_iter()
            .filter_map(|pattern| {
                let mine = self.patterns.get(pattern).unwrap_or(&empty);
                let theirs = other.patterns.get(pattern).unwrap_or(&empty);
                let names = operation(mine, theirs);
                (!names.is_empty()).then(|| (pattern.clone(), names))
            })
            .collect();
        NodeSet { patterns }
    }

    /// Adds every name of `numbers`' product under `pattern`.
    fn insert_product(&mut self, pattern: Pattern, numbers: &[Vec<Index>]) {
        let names = self.patterns.entry(pattern).or_default();
        let mut product: Vec<Vec<Index>> = vec![Vec::new()];
        for dimension in numbers {
            product = product
                .iter()
                .flat_map(|prefix| {
                    dimension.iter().map(move |index| {
                        let mut name = prefix.clone();
                        name.push(*index);
                        name
                    })
                })
                .collect();
        }
        names.extend(product);
    }
}

/// `nodeset -f`: the set written as ClusterShell folds it.
impl fmt::Display for NodeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fold::fold(self))
    }
}

/// Why a nodeset cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSetError {
    /// What is wrong with the syntax, in ClusterShell's words, naming the
    /// part at fault.
    Syntax(String),
    /// The nodeset (as given) names more than [`MAX_NODESET_NAMES`] hosts.
    TooMany(String),
}

impl fmt::Display for NodeSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeSetError::Syntax(reason) => f.write_str(reason),
            NodeSetError::TooMany(nodeset) => write!(
                f,
                "`{nodeset}` names more than {MAX_NODESET_NAMES} hosts, shoal's limit for one \
                 nodeset"
            ),
        }
    }
}

/// Parses a nodeset as ClusterShell's `nodeset` does: `,` `!` `&` `^` are
/// union, difference, intersection and symmetric difference, applied left
/// to right.
pub fn parse_nodeset(text: &str) -> Result<NodeSet, NodeSetError> {
    parse::parse(text)
}

/// Host names folded the ClusterShell way, `db1,web[01-03]`, each once:
/// what `nodeset -f` prints for them. Names the syntax cannot carry follow
/// as `~ /^name$/` terms, so that `hosts` with the result selects exactly
/// these names.
pub fn fold_hosts(names: &[&str]) -> String {
    let mut set = NodeSet::default();
    let mut odd: Vec<&str> = Vec::new();
    for &name in names {
        match parse::single(name).filter(|_| carried(name)) {
            Some((pattern, numbers)) => {
                let numbers: Vec<Vec<Index>> = numbers.into_iter().map(|i| vec![i]).collect();
                set.insert_product(pattern, &numbers);
            }
            None if !odd.contains(&name) => odd.push(name),
            None => {}
        }
    }
    let mut parts: Vec<String> = Vec::with_capacity(odd.len() + 1);
    if !set.is_empty() {
        parts.push(set.to_string());
    }
    parts.extend(odd.into_iter().map(|name| {
        let escaped = regex::escape(name).replace('/', "\\/");
        format!("~ /^{escaped}$/")
    }));
    parts.join(", ")
}

/// Whether `name` can stand in a nodeset as it is: the characters a `hosts`
/// nodeset takes, without the brackets and operators of the syntax.
fn carried(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+:".contains(c))
}

#[cfg(test)]
mod tests;
