//! Runs a Plan: resolves each statement's source against the fleet and the
//! saved results, then applies its operators in order.

use indexmap::IndexMap;
use polars::prelude::DataFrame;
use shoal_lang::plan::{PlanSource, PlannedStatement};
use shoal_lang::{Error, Result, Span, did_you_mean};

use crate::executor::{Executor, HostOutcome};
use crate::fleet::{Fleet, FleetHost};
use crate::frame::host_table;
use crate::ops;

/// Hears about `run` stages as they progress, for progress bars.
pub trait RunObserver {
    fn run_started(&mut self, _command: &str, _hosts: usize) {}
    fn host_finished(&mut self, _host: &str, _outcome: &HostOutcome) {}
    fn run_finished(&mut self) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl RunObserver for Quiet {}

/// What lasts between statements: the fleet and the `let` results.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub fleet: Fleet,
    pub vars: IndexMap<String, DataFrame>,
}

/// What an operator may use while it runs.
pub struct EvalContext<'a> {
    pub fleet: &'a Fleet,
    pub vars: &'a IndexMap<String, DataFrame>,
    pub executor: &'a dyn Executor,
    pub observer: &'a mut dyn RunObserver,
}

impl Session {
    pub fn new(fleet: Fleet) -> Self {
        Session {
            fleet,
            vars: IndexMap::new(),
        }
    }

    /// Runs one statement. A `let` saves its result and also returns it.
    pub fn eval(
        &mut self,
        statement: &PlannedStatement,
        executor: &dyn Executor,
        observer: &mut dyn RunObserver,
    ) -> Result<DataFrame> {
        let mut frame = self.source(&statement.source)?;
        let mut ctx = EvalContext {
            fleet: &self.fleet,
            vars: &self.vars,
            executor,
            observer,
        };
        for op in &statement.ops {
            let operator = ops::find(op.name()).ok_or_else(|| {
                Error::new(format!("internal error: no operator `{}`", op.name()), None)
            })?;
            frame = operator.eval(op, frame, &mut ctx)?;
        }
        if let Some(name) = &statement.bind {
            self.vars.insert(name.clone(), frame.clone());
        }
        Ok(frame)
    }

    fn source(&self, source: &PlanSource) -> Result<DataFrame> {
        let fleet = &self.fleet;
        match source {
            PlanSource::AllHosts => host_table(fleet, &fleet.hosts.iter().collect::<Vec<_>>()),
            PlanSource::NodeSet { pattern, span } => {
                let names = expand_nodeset(pattern, *span)?;
                let unknown: Vec<&str> = names
                    .iter()
                    .filter(|n| !fleet.hosts.iter().any(|h| &h.name == *n))
                    .map(String::as_str)
                    .collect();
                if !unknown.is_empty() {
                    return Err(Error::new(
                        format!("not in the inventory: {}", shorten_list(&unknown)),
                        *span,
                    )
                    .with_hint("`:hosts` lists the inventory"));
                }
                self.hosts_named(&names)
            }
            PlanSource::Group { name, span } => match fleet.groups.get(name) {
                Some(members) => self.hosts_named(members),
                None => Err(unknown_name(
                    "group",
                    &format!("@{name}"),
                    *span,
                    fleet.groups.keys(),
                    "@",
                )),
            },
            PlanSource::Variable { name, span } => match self.vars.get(name) {
                Some(frame) => Ok(frame.clone()),
                None => Err(unknown_name(
                    "variable",
                    &format!("${name}"),
                    *span,
                    self.vars.keys(),
                    "$",
                )
                .with_hint(format!("save a result first: let {name} = hosts | ..."))),
            },
        }
    }

    /// The named hosts as a host table, in inventory order.
    fn hosts_named(&self, names: &[String]) -> Result<DataFrame> {
        let wanted: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        let hosts: Vec<&FleetHost> = self
            .fleet
            .hosts
            .iter()
            .filter(|h| wanted.contains(h.name.as_str()))
            .collect();
        host_table(&self.fleet, &hosts)
    }
}

/// Expands a ClusterShell nodeset (already syntax-checked by the planner).
pub fn expand_nodeset(pattern: &str, span: Span) -> Result<Vec<String>> {
    let set = shoal_lang::parse_nodeset(pattern)
        .map_err(|e| Error::new(format!("`{pattern}` is not a valid nodeset: {e}"), span))?;
    Ok(set.iter().collect())
}

pub(crate) fn unknown_name<'a>(
    what: &str,
    written: &str,
    span: Span,
    known: impl Iterator<Item = &'a String> + Clone,
    sigil: &str,
) -> Error {
    let bare = &written[sigil.len()..];
    let mut error = Error::new(format!("unknown {what} `{written}`"), span);
    if let Some(near) = did_you_mean(bare, known.clone().map(String::as_str)) {
        error = error.with_hint(format!("did you mean '{sigil}{near}'?"));
    }
    let names: Vec<String> = known.map(|k| format!("{sigil}{k}")).collect();
    if names.is_empty() {
        error.with_hint(format!("there are no {what}s yet"))
    } else {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        error.with_hint(format!("known {what}s: {}", shorten_list(&names)))
    }
}

/// At most ten names, then a count of the rest, so a message stays readable.
pub(crate) fn shorten_list(names: &[&str]) -> String {
    const SHOWN: usize = 10;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}
