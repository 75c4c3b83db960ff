//! Evaluates a `filter` predicate into one boolean per row.
//!
//! Semantics, chosen so that a failed host never matches by accident:
//! - a null (a host with no such tag, or whose command never ran) matches
//!   only the negative tests: `!=`, `!~` and `not ...`;
//! - `=`, `!=` and `in` compare text, except on number columns;
//! - `<`, `<=`, `>`, `>=` compare numbers when the column holds numbers (or
//!   text that all parses as numbers) and the value is a number; two texts
//!   compare alphabetically; a number against text is a type error;
//! - `exists COL` is true where the column is present and not null; a column
//!   that is absent altogether is simply false everywhere;
//! - `COL has "text"` is true where one line of the value is exactly the
//!   text (a trailing `\r` ignored), `COL contains "text"` where the text
//!   occurs anywhere; both read numbers as their text.

use std::cmp::Ordering;

use polars::prelude::*;
use regex::Regex;
use shoal_lang::ast::CompareOp;
use shoal_lang::plan::{ColumnRef, Literal, Predicate, TextOp};
use shoal_lang::{Error, Result};

use crate::frame::{column, is_numeric, numbers, texts};

pub fn mask(df: &DataFrame, predicate: &Predicate) -> Result<Vec<bool>> {
    Ok(match predicate {
        Predicate::And { left, right } => zip(mask(df, left)?, mask(df, right)?, |a, b| a && b),
        Predicate::Or { left, right } => zip(mask(df, left)?, mask(df, right)?, |a, b| a || b),
        Predicate::Not { inner } => mask(df, inner)?.into_iter().map(|v| !v).collect(),
        Predicate::Exists { column: name } => match df.column(&name.name) {
            Ok(col) => col
                .is_not_null()
                .iter()
                .map(|v| v.unwrap_or(false))
                .collect(),
            Err(_) => vec![false; df.height()],
        },
        Predicate::Compare {
            column: name,
            op,
            value,
        } => compare(df, name, *op, value)?,
        Predicate::In {
            column: name,
            values,
        } => {
            let mut any = vec![false; df.height()];
            for value in values {
                any = zip(any, compare(df, name, CompareOp::Eq, value)?, |a, b| a || b);
            }
            any
        }
        Predicate::Regex {
            column: name,
            pattern,
            negated,
        } => {
            let regex = Regex::new(pattern)
                .map_err(|e| Error::new(format!("bad regex: {e}"), name.span))?;
            texts(column(df, name)?)?
                .iter()
                .map(|v| match v {
                    Some(text) => regex.is_match(text) != *negated,
                    None => *negated,
                })
                .collect()
        }
        Predicate::Text {
            column: name,
            op,
            text,
        } => texts(column(df, name)?)?
            .iter()
            .map(|v| {
                v.as_deref().is_some_and(|value| match op {
                    TextOp::Has => value.lines().any(|line| line == text),
                    TextOp::Contains => value.contains(text.as_str()),
                })
            })
            .collect(),
    })
}

fn zip(a: Vec<bool>, b: Vec<bool>, f: impl Fn(bool, bool) -> bool) -> Vec<bool> {
    a.into_iter().zip(b).map(|(a, b)| f(a, b)).collect()
}

fn compare(df: &DataFrame, name: &ColumnRef, op: CompareOp, value: &Literal) -> Result<Vec<bool>> {
    let col = column(df, name)?;
    let ordering_op = !matches!(op, CompareOp::Eq | CompareOp::Ne);
    if is_numeric(col) || (ordering_op && value.number.is_some()) {
        let number = value
            .number
            .ok_or_else(|| type_mismatch_text(name, op, value))?;
        let values = numbers(col)?.map_err(|text| type_mismatch_number(name, op, value, &text))?;
        return Ok(values
            .into_iter()
            .map(|v| match v {
                Some(v) => holds(op, v.partial_cmp(&number)),
                None => op == CompareOp::Ne,
            })
            .collect());
    }
    Ok(texts(col)?
        .iter()
        .map(|v| match v {
            Some(text) => holds(op, Some(text.as_str().cmp(value.text.as_str()))),
            None => op == CompareOp::Ne,
        })
        .collect())
}

fn holds(op: CompareOp, ordering: Option<Ordering>) -> bool {
    let Some(ordering) = ordering else {
        return op == CompareOp::Ne; // NaN equals nothing
    };
    match op {
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
    }
}

fn type_mismatch_text(name: &ColumnRef, op: CompareOp, value: &Literal) -> Error {
    Error::new(
        format!(
            "`{}` holds numbers, so `{} {}` needs a number, not `{}`",
            name.name,
            name.name,
            op.as_str(),
            value.text
        ),
        value.span,
    )
    .with_hint(format!("for example: {} {} 0", name.name, op.as_str()))
}

fn type_mismatch_number(name: &ColumnRef, op: CompareOp, value: &Literal, sample: &str) -> Error {
    let sample: String = sample.chars().take(40).collect();
    Error::new(
        format!(
            "`{}` holds text such as `{sample}`, which cannot be compared with `{} {}`",
            name.name,
            op.as_str(),
            value.text
        ),
        name.span,
    )
    .with_hint(format!(
        "match text with a regex instead: {} ~ /{}/",
        name.name, value.text
    ))
}
