//! `drift from NAME [where PRED]`: what changed on each host since the
//! baseline NAME (`save NAME`), on the columns both have, volatile ones
//! (durations, uptime, load, clock skew…) left out.
//!
//! A change is one column of one host: a value changed (`version 2.1.0 →
//! 2.0.9`), appeared or went; in a column of one `key=value` a line (a
//! fact family, a config file), each key is its own change (`packages
//! libfoo 1.2.3 → 1.2.5`). Hosts new or gone since the baseline are
//! changes too.
//!
//! Without `where`, one row per change with how many hosts share it, most
//! shared first. With `where PRED`, the changes are ranked as `diff where
//! PRED` ranks features, by how well they set the matching hosts apart:
//! the top row is what changed on the bad boxes since the baseline.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::plan::Predicate;
use shoal_lang::{Args, Error, Kind, Param, Result, Signature, Span};

use super::diff::{DiffOp, is_copied_output};
use super::save::baseline_name;
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{self, as_text, borrowed_texts, internal};

pub struct Drift;

static SIGNATURE: Signature = Signature {
    name: "drift",
    aliases: &[],
    summary: "Compares the rows with a saved baseline host by host: what changed, appeared or went in each column, and hosts new or gone since; with `where PRED`, ranked as `diff` ranks features.",
    help: "Columns both have are compared, except host, duration_ms and volatile facts (uptime, load, free memory, clock skew, boot id). A column of `key=value` lines is compared key by key. Without `where`, columns: change, column, kind (changed, added, removed, new host, gone host), old, new, hosts (how many share the change) and nodes (which, as a nodeset), most shared first. With `where PRED`, the result is `diff where PRED`'s table over the changes: the change that best separates the matching hosts from the rest first, with its q.",
    params: &[
        Param::arg("from", Kind::Words, "NAME")
            .after("from")
            .example("before-upgrade")
            .doc("the baseline, saved with `save NAME`"),
        Param::arg("where", Kind::Predicate, "PRED")
            .optional()
            .after("where")
            .doc("rank the changes by how well they set these rows apart"),
    ],
    options: &[],
    takes_as: false,
    data_columns: false,
};

impl Operator for Drift {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "What changed since the baseline, most shared first",
            query: "hosts @web | run \"cat /etc/app/version\" as version | select host, version | drift from last-week",
            output: "\
change                 column   kind     old    new    hosts  nodes
version 2.0.9 → 2.1.0  version  changed  2.0.9  2.1.0  2      web[01-02]
",
        }]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let name: Value = args.require("from")?;
        Ok(Op::new(DriftOp {
            baseline: baseline_name(&name)?,
            predicate: args.get("where")?,
            span: args.span,
        }))
    }
}

/// `drift`: the baseline, and the rows whose changes are ranked.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "drift")]
pub(crate) struct DriftOp {
    baseline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    predicate: Option<Predicate>,
    #[serde(skip)]
    span: Span,
}

/// Columns that say nothing about a host's state, or change on every read.
const NOT_COMPARED: &[&str] = &["host", "duration_ms", "job", "step"];

/// One change on one host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Change {
    column: String,
    kind: &'static str,
    old: Option<String>,
    new: Option<String>,
    /// How it prints, and what `diff` sees: `version 2.0.9 → 2.1.0`.
    text: String,
}

impl Stage for DriftOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let baseline = ctx.history.baseline(&self.baseline, self.span)?;
        let host_column = |frame: &DataFrame, what: &str| -> Result<Vec<Option<String>>> {
            let column = frame.column("host").map_err(|_| {
                Error::new(format!("`drift` matches rows by host, and {what} has no `host` column"), self.span)
            })?;
            frame::texts(column)
        };
        let now_hosts = host_column(&input, "the input")?;
        let then_hosts = host_column(&baseline, &format!("baseline `{}`", self.baseline))?;
        let per_host = changes(&input, &now_hosts, &baseline, &then_hosts)?;
        match &self.predicate {
            None => by_sharing(&per_host),
            Some(predicate) => {
                let table = changes_by_row(&input, &now_hosts, &per_host, predicate)?;
                DiffOp::rows_matching(predicate.clone(), self.span).eval(table, ctx)
            }
        }
    }
}

/// Each host's changes, by host name, in the order hosts come.
fn changes(
    now: &DataFrame,
    now_hosts: &[Option<String>],
    then: &DataFrame,
    then_hosts: &[Option<String>],
) -> Result<indexmap::IndexMap<String, Vec<Change>>> {
    let then_row: HashMap<&str, usize> = then_hosts
        .iter()
        .enumerate()
        .filter_map(|(row, host)| Some((host.as_deref()?, row)))
        .collect();
    let compared: Vec<&str> = now
        .columns()
        .iter()
        .filter(|column| {
            let name = column.name().as_str();
            !NOT_COMPARED.contains(&name)
                && !super::VOLATILE_FACTS.contains(&name)
                && !is_copied_output(now, column)
                && then.column(name).is_ok()
        })
        .map(|column| column.name().as_str())
        .collect();
    let mut values: Vec<(Column, Column)> = Vec::new();
    for name in &compared {
        let now_text = as_text(now.column(name).map_err(internal)?)?;
        let then_text = as_text(then.column(name).map_err(internal)?)?;
        values.push((now_text, then_text));
    }
    // Each compared column's values now and in the baseline.
    type NowAndThen<'a> = (Vec<Option<&'a str>>, Vec<Option<&'a str>>);
    let texts: Vec<NowAndThen> = values
        .iter()
        .map(|(a, b)| Ok((borrowed_texts(a)?, borrowed_texts(b)?)))
        .collect::<Result<_>>()?;
    let mut out: indexmap::IndexMap<String, Vec<Change>> = indexmap::IndexMap::new();
    for (row, host) in now_hosts.iter().enumerate() {
        let Some(host) = host else { continue };
        let host_changes = out.entry(host.clone()).or_default();
        let Some(&then) = then_row.get(host.as_str()) else {
            host_changes.push(whole_host("new host"));
            continue;
        };
        for (name, (now_values, then_values)) in compared.iter().zip(&texts) {
            host_changes.extend(compare(name, then_values[then], now_values[row]));
        }
    }
    let now_names: std::collections::HashSet<&str> =
        now_hosts.iter().flatten().map(String::as_str).collect();
    for host in then_hosts.iter().flatten() {
        if !now_names.contains(host.as_str()) {
            out.entry(host.clone()).or_default().push(whole_host("gone host"));
        }
    }
    Ok(out)
}

fn whole_host(kind: &'static str) -> Change {
    Change {
        column: "host".into(),
        kind,
        old: None,
        new: None,
        text: format!("({kind})"),
    }
}

/// The changes in one column of one host.
fn compare(column: &str, old: Option<&str>, new: Option<&str>) -> Vec<Change> {
    if old == new {
        return Vec::new();
    }
    let multi_line = |v: Option<&str>| v.is_some_and(|v| v.contains('\n'));
    if multi_line(old) || multi_line(new) {
        return compare_lines(column, old.unwrap_or(""), new.unwrap_or(""));
    }
    vec![change(column, None, old, new)]
}

/// A column of one `key=value` (or plain member) a line, key by key.
fn compare_lines(column: &str, old: &str, new: &str) -> Vec<Change> {
    let members = |text: &str| -> BTreeMap<String, Option<String>> {
        text.lines()
            .filter(|line| !line.is_empty())
            .map(|line| match line.split_once('=') {
                Some((key, value)) => (key.to_string(), Some(value.to_string())),
                None => (line.to_string(), None),
            })
            .collect()
    };
    let (old, new) = (members(old), members(new));
    let mut out = Vec::new();
    for (key, old_value) in &old {
        match new.get(key) {
            Some(new_value) if new_value == old_value => {}
            Some(new_value) => out.push(change(
                column,
                Some(key),
                Some(old_value.as_deref().unwrap_or("")),
                Some(new_value.as_deref().unwrap_or("")),
            )),
            None => out.push(change(column, Some(key), Some(old_value.as_deref().unwrap_or("")), None)),
        }
    }
    for (key, new_value) in &new {
        if !old.contains_key(key) {
            out.push(change(column, Some(key), None, Some(new_value.as_deref().unwrap_or(""))));
        }
    }
    out
}

/// A change of `column` (of its `key`, in a column of lines).
fn change(column: &str, key: Option<&str>, old: Option<&str>, new: Option<&str>) -> Change {
    let subject = match key {
        Some(key) => format!("{column} {key}"),
        None => column.to_string(),
    };
    let (kind, text) = match (old, new) {
        (Some(old), Some(new)) => ("changed", format!("{subject} {old} → {new}")),
        (None, Some(new)) => ("added", format!("{subject} + {new}")),
        (Some(old), None) => ("removed", format!("{subject} - {old}")),
        (None, None) => ("changed", subject.clone()),
    };
    Change {
        column: column.to_string(),
        kind,
        old: old.map(str::to_string),
        new: new.map(str::to_string),
        text: text.trim_end().to_string(),
    }
}

/// One row per change, with the hosts that share it, most shared first.
fn by_sharing(per_host: &indexmap::IndexMap<String, Vec<Change>>) -> Result<DataFrame> {
    let mut shared: indexmap::IndexMap<&Change, Vec<&str>> = indexmap::IndexMap::new();
    for (host, changes) in per_host {
        for change in changes {
            shared.entry(change).or_default().push(host);
        }
    }
    let mut rows: Vec<(&Change, Vec<&str>)> = shared.into_iter().collect();
    rows.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
    let text = |name: &str, pick: fn(&Change) -> Option<&str>| {
        Column::new(
            name.into(),
            rows.iter().map(|(c, _)| pick(c)).collect::<Vec<_>>(),
        )
    };
    DataFrame::new(
        rows.len(),
        vec![
            text("change", |c| Some(&c.text)),
            text("column", |c| Some(&c.column)),
            text("kind", |c| Some(c.kind)),
            text("old", |c| c.old.as_deref()),
            text("new", |c| c.new.as_deref()),
            Column::new(
                "hosts".into(),
                rows.iter().map(|(_, h)| h.len() as u64).collect::<Vec<_>>(),
            ),
            Column::new(
                "nodes".into(),
                rows.iter()
                    .map(|(_, h)| shoal_lang::fold_hosts(h))
                    .collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(internal)
}

/// The table `diff where PRED` ranks: `host`, the columns PRED reads, and
/// `change`, each host's changes one a line (null for none). Hosts gone
/// since the baseline have no row to test PRED on, so they are left out.
fn changes_by_row(
    input: &DataFrame,
    hosts: &[Option<String>],
    per_host: &indexmap::IndexMap<String, Vec<Change>>,
    predicate: &Predicate,
) -> Result<DataFrame> {
    let mut columns = vec![input.column("host").map_err(internal)?.clone()];
    for column in predicate.columns() {
        columns.push(frame::column(input, column)?.clone());
    }
    let change: Vec<Option<String>> = hosts
        .iter()
        .map(|host| {
            let changes = per_host.get(host.as_deref()?)?;
            (!changes.is_empty()).then(|| {
                changes
                    .iter()
                    .map(|c| c.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        })
        .collect();
    columns.push(Column::new("change".into(), change));
    DataFrame::new(input.height(), columns).map_err(internal)
}
