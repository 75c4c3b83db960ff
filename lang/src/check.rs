//! Checks of what the text alone can tell, shared by the planner and the
//! binder: conditions, regexes, literals and durations.

use crate::ast::{self, ExprKind, ValueKind};
use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::plan::{ColumnRef, Literal, Predicate};

pub(crate) fn plan_predicate(expr: &ast::Expr) -> Result<Predicate> {
    Ok(match &expr.kind {
        ExprKind::And { left, right } => Predicate::And {
            left: Box::new(plan_predicate(left)?),
            right: Box::new(plan_predicate(right)?),
        },
        ExprKind::Or { left, right } => Predicate::Or {
            left: Box::new(plan_predicate(left)?),
            right: Box::new(plan_predicate(right)?),
        },
        ExprKind::Not { inner } => Predicate::Not {
            inner: Box::new(plan_predicate(inner)?),
        },
        ExprKind::Compare { column, op, value } => Predicate::Compare {
            column: column_ref(column),
            op: *op,
            value: literal(value)?,
        },
        ExprKind::Match {
            column,
            negated,
            regex,
        } => {
            compile_regex(regex)?;
            Predicate::Regex {
                column: column_ref(column),
                pattern: regex.text.clone(),
                negated: *negated,
            }
        }
        ExprKind::In { column, values } => Predicate::In {
            column: column_ref(column),
            values: values.iter().map(literal).collect::<Result<_>>()?,
        },
        ExprKind::Exists { column } => Predicate::Exists {
            column: column_ref(column),
        },
        ExprKind::Text { column, op, value } => Predicate::Text {
            column: column_ref(column),
            op: *op,
            text: value.text.clone(),
        },
    })
}

pub fn compile_regex(regex: &ast::Value) -> Result<regex::Regex> {
    regex::Regex::new(&regex.text).map_err(|e| {
        Error::new(format!("bad regex: {}", regex_reason(&e)), regex.span)
            .with_hint("escape special characters with `\\`, for example /1\\.2/")
    })
}

/// The last line of the regex crate's message is the useful one
/// ("error: unclosed group"); the rest repeats the pattern.
fn regex_reason(error: &regex::Error) -> String {
    let message = error.to_string();
    let last = message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

fn literal(value: &ast::Value) -> Result<Literal> {
    let number = match value.kind {
        ValueKind::Duration => {
            let duration = parse_duration(&value.text)
                .map_err(|reason| Error::new("bad duration", value.span).with_hint(reason))?;
            Some(duration.as_secs_f64() * 1000.0)
        }
        _ => value
            .text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite()),
    };
    Ok(Literal {
        text: value.text.clone(),
        number,
        span: value.span,
    })
}

pub(crate) fn column_ref(ident: &ast::Ident) -> ColumnRef {
    ColumnRef {
        name: ident.name.clone(),
        span: ident.span,
    }
}

/// A duration longer than zero, in milliseconds; `name` is what it is for,
/// as in "bad timeout".
pub(crate) fn millis(value: &ast::Value, name: &str, example: &str) -> Result<u64> {
    let duration = parse_duration(&value.text)
        .map_err(|reason| Error::new(format!("bad {name}"), value.span).with_hint(reason))?;
    if duration.is_zero() {
        return Err(
            Error::new(format!("the {name} must be longer than zero"), value.span)
                .with_hint(format!("for example: {name}={example}")),
        );
    }
    Ok(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
