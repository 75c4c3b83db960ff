//! The explanation attached to a firing: `diff` between the firing hosts and
//! the rest, on the tick's rows (the query's columns and the inventory
//! tags), so the event says which slice of the fleet the problem is in
//! (`bios = 2.1.0`, 12/12 of firing, 0/188 of the rest).
//!
//! The condition's own columns, and copies of them, are left out
//! (`health = FAIL` cannot explain `when health != OK`), and so are `status`, `exit`, `error` and
//! `duration_ms`, which say how the query ran rather than what the host is;
//! hosts that were not reached are on neither side. Only features more
//! common among the firing hosts are kept: the mirror image of a cause
//! (`bios = 2.3.0` on all of the rest) says nothing new.

use std::collections::HashSet;

use polars::prelude::*;
use serde::Serialize;
use shoal_lang::plan::Predicate;
use shoal_stdlib::frame::texts;

use crate::Engine;

/// How many features an event carries.
const TOP: usize = 3;

/// The column that marks the firing rows; diff never offers it, or a copy
/// of it, as a feature.
const SIDE: &str = "alarm_firing";

/// Columns about how the query ran, not about the host.
const RUN_COLUMNS: &[&str] = &["status", "exit", "error", "duration_ms"];

/// One feature of the explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feature {
    /// In filter syntax, as diff prints it.
    pub feature: String,
    /// `12/12`: firing hosts that have it, of all firing hosts.
    pub firing: String,
    /// `0/188`: the other hosts that have it, of all of them.
    pub rest: String,
    pub q: Option<f64>,
}

impl Feature {
    pub fn text(&self) -> String {
        format!(
            "{}, {} of firing, {} of the rest",
            self.feature, self.firing, self.rest
        )
    }
}

/// The top features that set `firing` apart from the other reached hosts
/// of `frame`. Empty when either side has no host.
pub fn correlate(
    engine: &mut Engine,
    frame: &DataFrame,
    firing: &HashSet<String>,
    unreached: &HashSet<String>,
    when: &Predicate,
) -> Result<Vec<Feature>, String> {
    let hosts = texts(frame.column("host").map_err(|e| e.to_string())?).map_err(|e| e.reason)?;
    let reached: BooleanChunked = hosts
        .iter()
        .map(|h| h.as_ref().is_some_and(|h| !unreached.contains(h)))
        .collect();
    let mut rows = frame.filter(&reached).map_err(|e| e.to_string())?;
    let side: Vec<&str> = texts(rows.column("host").map_err(|e| e.to_string())?)
        .map_err(|e| e.reason)?
        .iter()
        .map(|h| match h.as_ref().is_some_and(|h| firing.contains(h)) {
            true => "yes",
            false => "no",
        })
        .collect();
    let (in_a, in_b) = (
        side.iter().filter(|s| **s == "yes").count(),
        side.iter().filter(|s| **s == "no").count(),
    );
    if in_a == 0 || in_b == 0 {
        return Ok(Vec::new());
    }
    let condition: Vec<&Column> = when
        .columns()
        .iter()
        .filter_map(|c| rows.column(&c.name).ok())
        .collect();
    // The condition's columns, and copies of them (`run ... as health` leaves
    // the same text in `stdout`).
    let drop: Vec<String> = rows
        .columns()
        .iter()
        .filter(|column| {
            RUN_COLUMNS.contains(&column.name().as_str())
                || condition.iter().any(|c| {
                    c.as_materialized_series()
                        .equals_missing(column.as_materialized_series())
                })
        })
        .map(|column| column.name().to_string())
        .collect();
    rows = rows.drop_many(drop);
    rows.with_column(Column::new(SIDE.into(), side))
        .map_err(|e| e.to_string())?;
    engine.bind("alarm_rows", rows);
    let ranked = engine
        .query(&format!("$alarm_rows | diff where {SIDE} = yes"))
        .map_err(|e| e.to_string())?;
    let column = |name: &str| {
        ranked
            .column(name)
            .map_err(|e| e.to_string())
            .and_then(|c| texts(c).map_err(|e| e.reason))
    };
    let (features, count_a, count_b) = (column("feature")?, column("count_a")?, column("count_b")?);
    let q = column("q")?;
    let count = |counts: &[Option<String>], i: usize| -> usize {
        counts[i]
            .as_deref()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok((0..ranked.height())
        // More common among the firing hosts: count_a / in_a > count_b / in_b.
        .filter(|&i| count(&count_a, i) * in_b > count(&count_b, i) * in_a)
        .take(TOP)
        .map(|i| Feature {
            feature: features[i].clone().unwrap_or_default(),
            firing: format!("{}/{in_a}", count(&count_a, i)),
            rest: format!("{}/{in_b}", count(&count_b, i)),
            q: q[i].as_deref().and_then(|q| q.parse().ok()),
        })
        .collect())
}
