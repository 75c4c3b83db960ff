//! Splits `diff`'s input into population A and population B, for each of
//! its three forms, and says which columns must not be used as features.

use std::collections::HashSet;

use indexmap::IndexMap;
use polars::prelude::*;
use shoal_lang::plan::{ColumnRef, Side, Split};
use shoal_lang::{Error, Result, Span};

use crate::context::EvalContext;
use crate::frame::{column, texts};
use crate::names::{shorten_list, unknown_name};
use crate::predicate::mask;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Member {
    A,
    B,
    /// `diff A B` ignores rows whose host is in neither set.
    Neither,
}

pub(super) struct Populations {
    pub member: Vec<Member>,
    pub size_a: usize,
    pub size_b: usize,
    /// Columns that define the split. A feature on them would "explain" the
    /// difference by restating the question (`health = FAIL` is 100% vs 0%
    /// in `diff where health = FAIL`), so they are left out.
    pub defining: Vec<String>,
}

pub(super) fn split(
    df: &DataFrame,
    split: &Split,
    span: Span,
    ctx: &EvalContext<'_>,
) -> Result<Populations> {
    let (member, defining, names) = match split {
        Split::Sides { a, b } => {
            let hosts = host_names(df, span)?;
            let (set_a, set_b) = (side_hosts(a, ctx)?, side_hosts(b, ctx)?);
            let both: Vec<&str> = hosts
                .iter()
                .flatten()
                .filter(|h| set_a.contains(*h) && set_b.contains(*h))
                .map(String::as_str)
                .collect();
            if !both.is_empty() {
                return Err(Error::new(
                    format!(
                        "{} and {} share hosts: {}",
                        side_name(a),
                        side_name(b),
                        shorten_list(&both)
                    ),
                    span,
                )
                .with_hint("each host must be on one side; filter the shared hosts out first"));
            }
            let member = hosts
                .iter()
                .map(|h| match h.as_deref() {
                    Some(h) if set_a.contains(h) => Member::A,
                    Some(h) if set_b.contains(h) => Member::B,
                    _ => Member::Neither,
                })
                .collect();
            let name = |side| format!("rows whose host is in {}", side_name(side));
            let names = (name(a), name(b));
            (member, Vec::new(), names)
        }
        Split::Where { predicate } => {
            let member = mask(df, predicate)?
                .into_iter()
                .map(|m| if m { Member::A } else { Member::B })
                .collect();
            let defining = predicate.columns().iter().map(|c| c.name.clone()).collect();
            let names = (
                format!("rows where {predicate}"),
                format!("rows where not ({predicate})"),
            );
            (member, defining, names)
        }
        Split::By { column: by } => {
            let (member, names) = by_two_values(df, by)?;
            (member, vec![by.name.clone()], names)
        }
    };
    let count = |side| member.iter().filter(|m| **m == side).count();
    let (size_a, size_b) = (count(Member::A), count(Member::B));
    if size_a == 0 || size_b == 0 {
        let empty = if size_a == 0 { &names.0 } else { &names.1 };
        return Err(
            Error::new(format!("`diff` has no {empty}"), span).with_hint(
                "diff needs rows on both sides; check each side with `filter` or `count` first",
            ),
        );
    }
    Ok(Populations {
        member,
        size_a,
        size_b,
        defining,
    })
}

fn host_names(df: &DataFrame, span: Span) -> Result<Vec<Option<String>>> {
    let host = ColumnRef {
        name: "host".into(),
        span,
    };
    texts(column(df, &host).map_err(|e| {
        e.with_hint("`diff A B` matches rows to sides by host; keep the `host` column")
    })?)
}

fn side_name(side: &Side) -> String {
    match side {
        Side::Variable { name, .. } => format!("${name}"),
        Side::Group { name, .. } => format!("@{name}"),
    }
}

/// The hosts a side names: a saved result's `host` column, or a group.
fn side_hosts(side: &Side, ctx: &EvalContext<'_>) -> Result<HashSet<String>> {
    match side {
        Side::Variable { name, span } => {
            let Some(saved) = ctx.vars.get(name) else {
                return Err(unknown_name(
                    "variable",
                    &format!("${name}"),
                    *span,
                    ctx.vars.keys(),
                    "$",
                )
                .with_hint(format!(
                    "save a result first: let {name} = hosts | filter ..."
                )));
            };
            let host = saved.column("host").map_err(|_| {
                Error::new(format!("`${name}` has no `host` column"), *span)
                    .with_hint("save a result that keeps `host` to use it as a side of `diff`")
            })?;
            Ok(texts(host)?.into_iter().flatten().collect())
        }
        Side::Group { name, span } => match ctx.fleet.groups.get(name) {
            Some(members) => Ok(members.iter().cloned().collect()),
            None => Err(unknown_name(
                "group",
                &format!("@{name}"),
                *span,
                ctx.fleet.groups.keys(),
                "@",
            )),
        },
    }
}

/// `diff by COL`: COL must have exactly two values. The smaller population is
/// A, the one being explained, as BubbleUp's selection is; on a tie, the
/// value seen first.
fn by_two_values(df: &DataFrame, by: &ColumnRef) -> Result<(Vec<Member>, (String, String))> {
    let values = texts(column(df, by)?)?;
    let mut counts: IndexMap<&str, usize> = IndexMap::new();
    for value in values.iter().flatten() {
        *counts.entry(value.as_str()).or_default() += 1;
    }
    if counts.len() != 2 {
        let seen: Vec<&str> = counts.keys().copied().collect();
        let listed = if seen.is_empty() {
            "none".to_string()
        } else {
            shorten_list(&seen)
        };
        return Err(Error::new(
            format!(
                "`diff by {}` needs exactly two values, and `{}` has {}: {listed}",
                by.name,
                by.name,
                counts.len()
            ),
            by.span,
        )
        .with_hint(format!(
            "keep two first, for example: filter {} in (a, b) | diff by {}",
            by.name, by.name
        )));
    }
    let (first, second) = (counts.get_index(0), counts.get_index(1));
    let ((v1, n1), (v2, n2)) = (first.expect("two values"), second.expect("two values"));
    let (a, b) = if n2 < n1 { (*v2, *v1) } else { (*v1, *v2) };
    let member = values
        .iter()
        .map(|v| match v.as_deref() {
            Some(v) if v == a => Member::A,
            Some(v) if v == b => Member::B,
            _ => Member::Neither,
        })
        .collect();
    let name = |v: &str| format!("rows where {} = {v}", by.name);
    Ok((member, (name(a), name(b))))
}
