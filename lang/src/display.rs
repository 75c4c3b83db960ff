//! Prints plan predicates and host selections back in shoal's own syntax, so
//! what `diff` reports can be pasted into `filter` and selects the same rows,
//! and an error about a selection can quote each part of it.

use std::fmt;

use crate::ast::SetOp;
use crate::plan::{Literal, Predicate, SelectTerm, TermKind};

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::And { left, right } => {
                write!(
                    f,
                    "{} and {}",
                    Grouped(left, Level::And),
                    Grouped(right, Level::And)
                )
            }
            Predicate::Or { left, right } => write!(f, "{left} or {right}"),
            Predicate::Not { inner } => write!(f, "not {}", Grouped(inner, Level::Not)),
            Predicate::Compare { column, op, value } => {
                write!(
                    f,
                    "{} {} {}",
                    column.name,
                    op.as_str(),
                    word_or_quoted(value)
                )
            }
            Predicate::Regex {
                column,
                pattern,
                negated,
            } => {
                let op = if *negated { "!~" } else { "~" };
                write!(f, "{} {op} /{}/", column.name, pattern.replace('/', "\\/"))
            }
            Predicate::In { column, values } => {
                let values: Vec<String> = values.iter().map(word_or_quoted).collect();
                write!(f, "{} in ({})", column.name, values.join(", "))
            }
            Predicate::Exists { column } => write!(f, "exists {}", column.name),
            Predicate::Text { column, op, text } => {
                write!(f, "{} {} {}", column.name, op.as_str(), quoted(text))
            }
        }
    }
}

impl fmt::Display for TermKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TermKind::Group { name } => write!(f, "@{name}"),
            TermKind::NodeSet { pattern } => f.write_str(pattern),
            TermKind::Regex { pattern } => write!(f, "~ /{}/", pattern.replace('/', "\\/")),
        }
    }
}

/// A selection as it is written: `@web & @us-east-1a ! web001, db1`.
pub fn selection_text(terms: &[SelectTerm]) -> String {
    let mut out = String::new();
    for (i, term) in terms.iter().enumerate() {
        match (i, term.op) {
            (0, _) => {}
            (_, SetOp::Union) => out.push_str(", "),
            (_, op) => {
                out.push(' ');
                out.push_str(op.as_str());
                out.push(' ');
            }
        }
        out.push_str(&term.kind.to_string());
    }
    out
}

/// How tightly the surrounding operator binds: `not` > `and` > `or`.
#[derive(Clone, Copy)]
enum Level {
    And,
    Not,
}

/// A sub-predicate, in parentheses when it binds more loosely than its parent.
struct Grouped<'a>(&'a Predicate, Level);

impl fmt::Display for Grouped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let needs_parens = matches!(
            (self.0, self.1),
            (Predicate::Or { .. }, _) | (Predicate::And { .. }, Level::Not)
        );
        if needs_parens {
            write!(f, "({})", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A value as the user would type it: numbers and plain words bare,
/// anything the grammar would read differently in double quotes.
fn word_or_quoted(value: &Literal) -> String {
    let text = value.text.as_str();
    if is_plain_word(text) {
        text.to_string()
    } else {
        quoted(text)
    }
}

/// A bare word that reads back as the same text: only word characters, not
/// a keyword, and not a duration (`5s` would read back as 5000 ms).
fn is_plain_word(text: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "and", "or", "not", "in", "exists", "has", "contains", "desc", "asc", "by", "as",
    ];
    let word_chars = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c));
    let number_then_unit = text.trim_end_matches(['m', 's', 'h']);
    let duration = number_then_unit.len() < text.len()
        && !number_then_unit.is_empty()
        && number_then_unit.parse::<f64>().is_ok();
    word_chars && !duration && !KEYWORDS.contains(&text)
}

fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use crate::plan::{PlanSource, Predicate};
    use crate::planner::test_catalog::{TestCatalog, predicate};

    #[test]
    fn predicates_print_as_they_are_written() {
        for source in [
            "bios = 2.1.7",
            "az != us-east-1a",
            "load1 > 3.2",
            "stdout has \"max_conns=64\"",
            "stdout contains \"a \\\"quoted\\\" \\\\ word\\n\"",
            "stdout ~ /(?m)^up \\d+ days\\/x$/",
            "not exists bios",
            "a = 1 and (b = 2 or c = 3)",
            "not (a = 1 and b = 2)",
            "a = 1 or b = 2 and c = 3",
            "role in (web, \"d b\", 5)",
            "name = \"and\"",
            "t = \"5s\"",
            "msg = \"\"",
        ] {
            assert_eq!(predicate(source).to_string(), source);
        }
    }

    #[test]
    fn printed_predicates_parse_back_to_the_same_values() {
        let value = |p: &Predicate| match p {
            Predicate::Compare { value, .. } => value.text.clone(),
            Predicate::Text { text, .. } => text.clone(),
            other => panic!("unexpected {other:?}"),
        };
        for (source, text) in [
            ("x = \"two words\"", "two words"),
            ("x = 'raw \\ text'", "raw \\ text"),
            ("x has '5s'", "5s"),
        ] {
            let printed = predicate(source).to_string();
            assert_eq!(
                value(&predicate(&printed)),
                text,
                "{source} printed as {printed}"
            );
        }
    }

    #[test]
    fn selections_print_as_they_are_written() {
        for source in [
            "@web & @us-east-1a",
            "@web ! web[001-003], @db",
            "~ /^db-.*-prod$/",
            "~ /a\\/b/, db[1-3],web1 & @prod",
        ] {
            let plan = crate::compile(&format!("hosts {source}"), &TestCatalog).unwrap();
            let PlanSource::Select { terms, .. } = &plan.statements[0].source else {
                panic!("expected a selection for {source}");
            };
            assert_eq!(super::selection_text(terms), source);
        }
    }
}
