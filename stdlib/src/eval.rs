//! Runs a Plan: resolves each statement's source against the fleet and the
//! saved results, then applies its operators in order.

use indexmap::IndexMap;
use polars::prelude::DataFrame;
use shoal_lang::plan::{PlanSource, PlannedStatement};
use shoal_lang::{Error, Result, Span, did_you_mean};

use crate::executor::{Executor, HostOutcome};
use crate::fleet::Fleet;
use crate::frame::host_table;
use crate::{hostset, ops};

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
        let mask = match source {
            PlanSource::AllHosts => vec![true; fleet.hosts.len()],
            PlanSource::NodeSet { pattern, span } => hostset::nodeset(fleet, pattern, *span)?,
            PlanSource::Group { name, span } => hostset::group(fleet, name, *span)?,
            PlanSource::Select { terms, span } => hostset::select(fleet, terms, *span)?,
            PlanSource::SshConfig { span } => return self.ssh_config(*span),
            PlanSource::Variable { name, span } => return self.saved(name, *span),
        };
        host_table(fleet, &hostset::hosts_in(fleet, &mask))
    }

    /// `$name`: a result saved with `let`.
    fn saved(&self, name: &str, span: Span) -> Result<DataFrame> {
        self.vars.get(name).cloned().ok_or_else(|| {
            unknown_name("variable", &format!("${name}"), span, self.vars.keys(), "$")
                .with_hint(format!("save a result first: let {name} = hosts | ..."))
        })
    }

    /// `hosts from ssh_config`. An empty list is an error rather than an
    /// empty table: a `run` on no host would look like a run that worked.
    fn ssh_config(&self, span: Span) -> Result<DataFrame> {
        let hosts = &self.fleet.ssh_config;
        if hosts.is_empty() {
            return Err(Error::new(
                "no concrete Host entries in ssh_config, so `hosts from ssh_config` selects no host",
                span,
            )
            .with_hint(
                "a `Host` pattern with `*`, `?` or `!` (`Host *.internal`) matches hosts but names none",
            )
            .with_hint("`-F FILE` picks another ssh_config"));
        }
        host_table(&self.fleet, &hosts.iter().collect::<Vec<_>>())
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
