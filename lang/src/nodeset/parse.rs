//! Reading a nodeset as ClusterShell's `ParsingEngine._scan_string` does:
//! operators split the text into terms outside brackets; in a term each
//! `[...]` is a range set (`RangeSet._parse`), digits right before or after
//! a bracket join its numbers (`a5[1-2]` is `a51,a52`, `a[1-2]0` is
//! `a10,a20`), and each run of digits outside brackets is a number of its
//! own. Errors use ClusterShell's words and name the part at fault.

use super::{Index, MAX_NODESET_NAMES, NodeSet, NodeSetError, Pattern};

/// What stops a term being read: a syntax error, or a range past the limit
/// (reported for the whole nodeset).
enum Problem {
    Syntax(String),
    TooMany,
}

impl From<String> for Problem {
    fn from(reason: String) -> Problem {
        Problem::Syntax(reason)
    }
}

const OPERATORS: [char; 4] = [',', '!', '&', '^'];

/// One term: its pattern and, per number, the numbers it takes.
struct Term {
    pieces: Vec<String>,
    numbers: Vec<Vec<Index>>,
}

impl Term {
    fn new() -> Term {
        Term {
            pieces: vec![String::new()],
            numbers: Vec::new(),
        }
    }

    fn text(&mut self, text: &str) {
        self.pieces
            .last_mut()
            .expect("a term has a piece")
            .push_str(text);
    }

    fn number(&mut self, numbers: Vec<Index>) {
        self.numbers.push(numbers);
        self.pieces.push(String::new());
    }

    /// Appends a name without brackets, each run of digits a number.
    fn single(&mut self, name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("parse error".into());
        }
        let mut rest = name;
        while !rest.is_empty() {
            let text_end = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            self.text(&rest[..text_end]);
            rest = &rest[text_end..];
            let digits_end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits_end > 0 {
                self.number(vec![index(&rest[..digits_end])?]);
            }
            rest = &rest[digits_end..];
        }
        Ok(())
    }

    /// How many names the term stands for, saturating.
    fn size(&self) -> u64 {
        self.numbers
            .iter()
            .map(|n| n.len() as u64)
            .fold(1, u64::saturating_mul)
    }
}

/// `name` as one node (no brackets, no operators): its pattern and numbers;
/// `None` when a number is too large.
pub(super) fn single(name: &str) -> Option<(Pattern, Vec<Index>)> {
    let mut term = Term::new();
    term.single(name).ok()?;
    let numbers = term.numbers.into_iter().map(|n| n[0]).collect();
    Some((Pattern::new(term.pieces), numbers))
}

/// A number written `digits`.
fn index(digits: &str) -> Result<Index, String> {
    let value = digits.parse::<u128>().map_err(|_| {
        format!(
            "the number {digits} is too large: shoal reads numbers of up to {} digits",
            u128::MAX.ilog10()
        )
    })?;
    Ok(Index::new(value, digits.len()))
}

pub(super) fn parse(text: &str) -> Result<NodeSet, NodeSetError> {
    let too_many = || NodeSetError::TooMany(text.trim().to_string());
    let mut set = NodeSet::default();
    let mut total: u64 = 0;
    let terms = terms(text.trim()).map_err(|reason| match reason {
        Problem::Syntax(reason) => NodeSetError::Syntax(reason),
        Problem::TooMany => too_many(),
    })?;
    for (operator, term) in terms {
        total = total.saturating_add(term.size());
        if total > MAX_NODESET_NAMES {
            return Err(too_many());
        }
        let mut one = NodeSet::default();
        one.insert_product(Pattern::new(term.pieces), &term.numbers);
        set = match operator {
            ',' => set.union(&one),
            '!' => set.difference(&one),
            '&' => set.intersection(&one),
            _ => set.symmetric_difference(&one),
        };
    }
    Ok(set)
}

/// The first operator in `text`, with its position.
fn next_operator(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|(_, c)| OPERATORS.contains(c))
}

fn error(part: &str, reason: &str) -> Problem {
    Problem::Syntax(format!("{reason}: \"{part}\""))
}

/// The terms of `text`, each with the operator before it (`,` first).
fn terms(text: &str) -> Result<Vec<(char, Term)>, Problem> {
    let mut terms = Vec::new();
    let mut rest = Some(text);
    let mut operator = ',';
    while let Some(whole) = rest.map(str::trim_start).filter(|t| !t.is_empty()) {
        let this = operator;
        let mut term = Term::new();
        let mut next = next_operator(whole);
        let before_operator =
            |at: usize, next: Option<(usize, char)>| next.is_none_or(|(o, _)| o > at);
        match whole.find('[') {
            Some(bracket) if before_operator(bracket, next) => {
                let mut suffix = whole;
                let mut bracket = Some(bracket);
                while let Some(at) = bracket.filter(|at| before_operator(*at, next)) {
                    let prefix = &suffix[..at];
                    let Some((range, after)) = suffix[at + 1..].split_once(']') else {
                        return Err(error(whole, "missing bracket"));
                    };
                    if prefix.contains(']') {
                        return Err(error(prefix, "illegal closing bracket"));
                    }
                    if let Some(close) = after.find(']')
                        && after.find('[').is_none_or(|open| close < open)
                    {
                        return Err(error(after, "illegal closing bracket"));
                    }
                    let (after, range) = trailing_digits(after, range)?;
                    let (prefix, range) = leading_digits(prefix, &range)?;
                    if !prefix.is_empty() {
                        term.single(prefix)?;
                    }
                    bracket = after.find('[');
                    next = next_operator(after);
                    if after.starts_with('[') {
                        return Err(error(after, "illegal reopening bracket"));
                    }
                    term.number(range_set(&range)?);
                    suffix = after;
                }
                let tail = match next {
                    None => {
                        rest = None;
                        suffix
                    }
                    Some((at, found)) => {
                        operator = found;
                        rest = Some(&suffix[at + 1..]);
                        if suffix[at + 1..].is_empty() {
                            return Err(missing_operand(found, ""));
                        }
                        &suffix[..at]
                    }
                };
                let tail = tail.trim_end();
                if !tail.is_empty() {
                    term.single(tail)?;
                }
            }
            _ => {
                let node = match next {
                    None => {
                        rest = None;
                        whole
                    }
                    Some((at, found)) => {
                        operator = found;
                        let (node, after) = (&whole[..at], &whole[at + 1..]);
                        if node.is_empty() || after.is_empty() {
                            let part = if node.is_empty() { after } else { node };
                            return Err(missing_operand(found, part));
                        }
                        rest = Some(after);
                        node
                    }
                };
                if node.contains(']') {
                    return Err(error(node, "illegal closing bracket"));
                }
                term.single(node.trim_end())?;
            }
        }
        terms.push((this, term));
    }
    Ok(terms)
}

/// An operator without an operand on one side; `part` is the other side's
/// text, if any.
fn missing_operand(operator: char, part: &str) -> Problem {
    let reason = format!("missing nodeset operand with '{operator}' operator");
    if part.is_empty() {
        Problem::Syntax(reason)
    } else {
        error(part, &reason)
    }
}

/// `a[1-2]0`: digits right after a bracket join each of its numbers (the
/// range gets a step, `10-20/10`). Returns the text after them and the range.
fn trailing_digits<'t>(after: &'t str, range: &str) -> Result<(&'t str, String), Problem> {
    let rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    let digits = &after[..after.len() - rest.len()];
    if digits.is_empty() {
        return Ok((after, range.to_string()));
    }
    if range.contains('/') {
        return Err(error(
            after,
            "illegal trailing digits after range with steps",
        ));
    }
    let amended: Vec<String> = range
        .split(',')
        .map(|element| {
            let bounds: Vec<String> = element
                .split('-')
                .map(|bound| format!("{bound}{digits}"))
                .collect();
            let joined = bounds.join("-");
            if element.contains('-') {
                format!("{joined}/1{}", "0".repeat(digits.len()))
            } else {
                joined
            }
        })
        .collect();
    Ok((rest, amended.join(",")))
}

/// `a5[1-2]`: digits right before a bracket start each of its numbers
/// (`51-52`). Returns the text before them and the range.
fn leading_digits<'t>(prefix: &'t str, range: &str) -> Result<(&'t str, String), Problem> {
    let rest = prefix.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &prefix[rest.len()..];
    if digits.is_empty() {
        return Ok((prefix, range.to_string()));
    }
    let runs: Vec<String> = super::fold::runs(&range_set(range)?)
        .into_iter()
        .map(|(first, last)| {
            if first == last {
                format!("{digits}{}", first.text())
            } else {
                format!("{digits}{}-{digits}{}", first.text(), last.text())
            }
        })
        .collect();
    Ok((rest, runs.join(",")))
}

/// The numbers of a range set, `1-3,07,10-20/5`, sorted as ClusterShell
/// sorts them, as `RangeSet._parse` reads it. Its size is checked before
/// it is expanded.
fn range_set(text: &str) -> Result<Vec<Index>, Problem> {
    let mut ranges = Vec::new();
    let mut size: u128 = 0;
    for range in text.split(',') {
        let range = range.trim();
        let (bounds, step) = match range.split_once('/') {
            Some((bounds, step)) => (bounds, step.trim()),
            None => (range, "1"),
        };
        let step: u128 = step
            .parse()
            .map_err(|_| error(range, "cannot convert string to integer"))?;
        let (begin, end) = match bounds.split_once('-') {
            Some((begin, end)) => (begin.trim(), end.trim()),
            None if step != 1 => return Err(error(range, "invalid step usage")),
            None => (bounds.trim(), bounds.trim()),
        };
        if begin.is_empty() && !end.is_empty() {
            return Err(error(range, "negative ranges are not supported by shoal"));
        }
        if begin.is_empty() || !begin.bytes().chain(end.bytes()).all(|b| b.is_ascii_digit()) {
            let reason = if range.is_empty() {
                "empty range"
            } else {
                "cannot convert string to integer"
            };
            return Err(error(range, reason));
        }
        let (first, last) = (index(begin)?, index(end)?);
        if (first.padded() || last.padded()) && begin.len() != end.len() {
            return Err(error(range, "padding length mismatch"));
        }
        if first.value > last.value || step < 1 {
            return Err(error(range, "invalid values in range"));
        }
        // Each number of the range takes the padding of its first bound.
        let width = if first.padded() { begin.len() } else { 0 };
        size = size.saturating_add((last.value - first.value) / step + 1);
        if size > u128::from(MAX_NODESET_NAMES) {
            return Err(Problem::TooMany);
        }
        ranges.push((first.value, last.value, step, width));
    }
    let mut numbers: Vec<Index> = ranges
        .into_iter()
        .flat_map(|(first, last, step, width)| {
            std::iter::successors(Some(first), move |n| {
                n.checked_add(step).filter(|next| *next <= last)
            })
            .map(move |value| Index::new(value, width))
        })
        .collect();
    numbers.sort();
    numbers.dedup();
    Ok(numbers)
}
