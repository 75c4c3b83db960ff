//! Which inventory hosts a source names: a nodeset, a group, or a selection
//! such as `@web & @us-east-1a ! web001, ~ /^db/` with its operators applied
//! left to right, and the error that explains a selection that selects none.
//!
//! A set is a mask over the inventory, so every result is in inventory order
//! with each host once, whatever order the operands name them in.

use std::collections::{HashMap, HashSet};

use shoal_lang::plan::{SelectTerm, SetOp, TermKind};
use shoal_lang::{Error, Result, Span, fold_hosts, selection_text};

use crate::fleet::{Fleet, FleetHost};
use crate::names::{expand_nodeset, shorten_list, unknown_name};

/// One flag per inventory host, in inventory order.
type Mask = Vec<bool>;

/// About this many characters of folded host names per part of a message:
/// enough for `web[001-120],db[01-04]`, short enough to read.
const SHOWN_CHARS: usize = 60;

/// The hosts a mask holds, in inventory order.
pub(crate) fn hosts_in<'f>(fleet: &'f Fleet, mask: &[bool]) -> Vec<&'f FleetHost> {
    fleet
        .hosts
        .iter()
        .zip(mask)
        .filter_map(|(host, &on)| on.then_some(host))
        .collect()
}

/// A nodeset's hosts. Every name must be in the inventory: a typo should
/// not quietly run on fewer hosts than were meant.
pub(crate) fn nodeset(fleet: &Fleet, pattern: &str, span: Span) -> Result<Mask> {
    let names = expand_nodeset(pattern, span)?;
    let index: HashMap<&str, usize> = fleet
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.as_str(), i))
        .collect();
    let mut mask = vec![false; fleet.hosts.len()];
    let mut unknown: Vec<&str> = Vec::new();
    for name in &names {
        match index.get(name.as_str()) {
            Some(&i) => mask[i] = true,
            None => unknown.push(name),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::new(
            format!("not in the inventory: {}", shorten_list(&unknown)),
            span,
        )
        .with_hint("`:hosts` lists the inventory"));
    }
    Ok(mask)
}

/// A group's hosts; `span` is where the group is written.
pub(crate) fn group(fleet: &Fleet, name: &str, span: Span) -> Result<Mask> {
    let members = fleet.groups.get(name).ok_or_else(|| {
        let error = unknown_name("group", &format!("@{name}"), span, fleet.groups.keys(), "@");
        // An inventory with tags but no groups: the user likely means a tag
        // value, as `@web` means `role = web` in many inventories.
        match tag_with_value(fleet, name) {
            Some(tag) => error.with_hint(format!(
                "`{name}` is a value of the tag `{tag}`: hosts | filter {tag} = {name}"
            )),
            None => error,
        }
    })?;
    let members: HashSet<&str> = members.iter().map(String::as_str).collect();
    Ok(fleet
        .hosts
        .iter()
        .map(|h| members.contains(h.name.as_str()))
        .collect())
}

/// The first tag that some host has `value` for.
fn tag_with_value<'f>(fleet: &'f Fleet, value: &str) -> Option<&'f str> {
    fleet.tag_names().into_iter().find(|tag| {
        fleet
            .hosts
            .iter()
            .any(|h| h.tags.get(*tag).is_some_and(|v| v == value))
    })
}

/// The hosts whose name the regex finds a match in, as `filter host ~ /re/`.
fn regex(fleet: &Fleet, pattern: &str, span: Span) -> Result<Mask> {
    let regex =
        regex::Regex::new(pattern).map_err(|e| Error::new(format!("bad regex: {e}"), span))?;
    Ok(fleet
        .hosts
        .iter()
        .map(|h| regex.is_match(&h.name))
        .collect())
}

/// The hosts of a selection; `span` covers all of it. Selecting no host is
/// an error that shows what each part matched.
pub(crate) fn select(fleet: &Fleet, terms: &[SelectTerm], span: Span) -> Result<Mask> {
    let parts: Vec<Mask> = terms
        .iter()
        .map(|term| match &term.kind {
            TermKind::Group { name } => group(fleet, name, term.span),
            TermKind::NodeSet { pattern } => nodeset(fleet, pattern, term.span),
            TermKind::Regex { pattern } => regex(fleet, pattern, term.span),
        })
        .collect::<Result<_>>()?;
    let steps = running_sets(terms, &parts, fleet.hosts.len());
    match steps.last() {
        Some(result) if result.contains(&true) => Ok(result.clone()),
        _ => Err(nothing_selected(fleet, terms, &parts, &steps, span)),
    }
}

/// The set after each operator, left to right, as ClusterShell's nodeset
/// does: `@web ! web001, @db` is `(@web ! web001), @db`.
fn running_sets(terms: &[SelectTerm], parts: &[Mask], hosts: usize) -> Vec<Mask> {
    let mut steps: Vec<Mask> = Vec::with_capacity(terms.len());
    let mut set = vec![false; hosts];
    for (term, part) in terms.iter().zip(parts) {
        for (selected, &named) in set.iter_mut().zip(part) {
            *selected = match term.op {
                SetOp::Union => *selected || named,
                SetOp::Intersection => *selected && named,
                SetOp::Difference => *selected && !named,
            };
        }
        steps.push(set.clone());
    }
    steps
}

/// "`hosts @web & @db` selects no host: `@web` matched 3 (web[01-03]),
/// `@db` matched 2 (db[01-02]); their intersection is empty".
fn nothing_selected(
    fleet: &Fleet,
    terms: &[SelectTerm],
    parts: &[Mask],
    steps: &[Mask],
    span: Span,
) -> Error {
    let written = format!("`hosts {}` selects no host", selection_text(terms));
    let reason = match terms {
        [only] => format!(
            "{written}: no host name in the inventory matches `{}`",
            only.kind
        ),
        _ => {
            let matched: Vec<String> = terms
                .iter()
                .zip(parts)
                .map(|(term, part)| match hosts_in(fleet, part).as_slice() {
                    [] => format!("`{}` matched 0", term.kind),
                    hosts => format!(
                        "`{}` matched {} ({})",
                        term.kind,
                        hosts.len(),
                        folded_list(hosts)
                    ),
                })
                .collect();
            format!(
                "{written}: {}; {}",
                matched.join(", "),
                why_empty(terms, parts, steps)
            )
        }
    };
    Error::new(reason, span).with_hint("`:hosts` lists the inventory and its groups")
}

/// Which step left the selection empty for good.
fn why_empty(terms: &[SelectTerm], parts: &[Mask], steps: &[Mask]) -> String {
    let emptied_at = steps
        .iter()
        .rposition(|set| set.contains(&true))
        .map_or(0, |last_nonempty| last_nonempty + 1);
    if emptied_at == 0 {
        if parts.iter().all(|part| !part.contains(&true)) {
            return "none of them matches a host".to_string();
        }
        // Some part matched hosts yet nothing was ever selected: the first
        // `&` or `!` found nothing before it to keep.
        let first_cut = terms.iter().position(|t| t.op != SetOp::Union).unwrap_or(0);
        let term = &terms[first_cut];
        return format!(
            "nothing is selected before `{} {}`",
            term.op.as_str(),
            term.kind
        );
    }
    let term = &terms[emptied_at];
    match (terms.len(), term.op) {
        (2, SetOp::Intersection) => "their intersection is empty".to_string(),
        (2, SetOp::Difference) => "their difference is empty".to_string(),
        _ => format!("`{} {}` leaves no host", term.op.as_str(), term.kind),
    }
}

/// Host names folded as a nodeset, cut to about [`SHOWN_CHARS`]: as many
/// hosts, in inventory order, as fold into that, then how many more.
fn folded_list(hosts: &[&FleetHost]) -> String {
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let all = fold_hosts(&names);
    if all.len() <= SHOWN_CHARS {
        return all;
    }
    // Folding more names is not always longer (web01,web03 then web02 is
    // web[01-03]), so this finds a prefix that fits, not always the longest.
    let (mut fits, mut too_many) = (1, names.len());
    while too_many - fits > 1 {
        let middle = fits + (too_many - fits) / 2;
        if fold_hosts(&names[..middle]).len() <= SHOWN_CHARS {
            fits = middle;
        } else {
            too_many = middle;
        }
    }
    format!(
        "{} and {} more",
        fold_hosts(&names[..fits]),
        names.len() - fits
    )
}
