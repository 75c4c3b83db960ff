//! Runs a Plan: resolves each statement's source against the fleet and the
//! saved results, then applies its operators in order.

use indexmap::IndexMap;
use polars::prelude::DataFrame;
use shoal_lang::plan::PlanSource;
use shoal_lang::{Error, ErrorKind, Result, Span};

use crate::PlannedStatement;
use crate::context::{EvalContext, RunObserver};
use crate::executor::Executor;
use crate::fleet::Fleet;
use crate::frame::host_table;
use crate::fused_stages;
use crate::history::{History, HistoryHandle};
use crate::hostset;
use crate::names::unknown_name;
use crate::safety::Safety;

/// What lasts between statements: the fleet and the `let` results.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub fleet: Fleet,
    pub vars: IndexMap<String, DataFrame>,
    /// The job store, read by `jobs`, `job`, `saved`, `save` and `rerun`.
    pub history: HistoryHandle,
    /// The guards on changing hosts.
    pub safety: Safety,
}

impl Session {
    pub fn new(fleet: Fleet) -> Self {
        Session {
            fleet,
            vars: IndexMap::new(),
            history: HistoryHandle::default(),
            safety: Safety::default(),
        }
    }

    /// Runs one statement. A `let` saves its result and also returns it.
    pub fn eval(
        &mut self,
        statement: &PlannedStatement,
        executor: &dyn Executor,
        observer: &mut dyn RunObserver,
    ) -> Result<DataFrame> {
        let frame = self.source(&statement.source)?;
        let mut ctx = EvalContext {
            fleet: &self.fleet,
            vars: &self.vars,
            executor,
            observer,
            history: self.history.0.as_ref(),
            safety: &self.safety,
        };
        let frame = apply(&statement.ops, frame, &mut ctx)?;
        if let Some(name) = &statement.bind {
            self.vars.insert(name.clone(), frame.clone());
        }
        Ok(frame)
    }

    pub(crate) fn source(&self, source: &PlanSource) -> Result<DataFrame> {
        resolve_source(&self.fleet, &self.vars, self.history.0.as_ref(), source)
    }
}

/// Applies a statement's stages to `frame` in order, each group of fused
/// host-side stages as one batch (fused_stages.rs).
pub(crate) fn apply(
    steps: &[crate::Step],
    mut frame: DataFrame,
    ctx: &mut EvalContext<'_>,
) -> Result<DataFrame> {
    // The stage that made columns from the data, if one has run: a
    // column asked of it could not be checked before the hosts answered.
    let mut data_stage: Option<&str> = None;
    let mut groups = fused_stages::groups(steps).into_iter().peekable();
    let mut start = 0;
    while start < steps.len() {
        let end = match groups.next_if(|group| group.start == start) {
            Some(group) => group.end,
            None => start + 1,
        };
        let stages = &steps[start..end];
        let evaluated = if stages.len() == 1 {
            stages[0].op.eval(frame, ctx)
        } else {
            fused_stages::eval(stages, frame, ctx)
        };
        frame = evaluated.map_err(|error| match data_stage {
            Some(stage) if error.kind == ErrorKind::UnknownColumn => error.with_hint(format!(
                "`{stage}` makes its columns from what the hosts print, so this name could only be checked once it had run"
            )),
            _ => error,
        })?;
        if let Some(step) = stages.iter().rev().find(|s| s.signature.data_columns) {
            data_stage = Some(step.signature.name);
        }
        start = end;
    }
    Ok(frame)
}

/// The rows a statement's source gives.
pub(crate) fn resolve_source(
    fleet: &Fleet,
    vars: &IndexMap<String, DataFrame>,
    history: &dyn History,
    source: &PlanSource,
) -> Result<DataFrame> {
    let mask = match source {
        PlanSource::AllHosts => vec![true; fleet.hosts.len()],
        PlanSource::NodeSet { pattern, span } => hostset::nodeset(fleet, pattern, *span)?,
        PlanSource::Group { name, span } => hostset::group(fleet, name, *span)?,
        PlanSource::Select { terms, span } => hostset::select(fleet, terms, *span)?,
        PlanSource::SshConfig { span } => return ssh_config(fleet, *span),
        PlanSource::Variable { name, span } => return variable(vars, name, *span),
        PlanSource::Jobs { span } => return history.jobs(*span),
        PlanSource::Job { which, span } => return history.job(*which, *span),
        PlanSource::Saved { name: None, span } => return history.baselines(*span),
        PlanSource::Saved {
            name: Some(name),
            span,
        } => return history.baseline(name, *span),
        PlanSource::Checks => return crate::catalog::Catalog::builtin().frame(),
    };
    host_table(fleet, &hostset::hosts_in(fleet, &mask))
}

/// `$name`: a result saved with `let`.
fn variable(vars: &IndexMap<String, DataFrame>, name: &str, span: Span) -> Result<DataFrame> {
    vars.get(name).cloned().ok_or_else(|| {
        unknown_name("variable", &format!("${name}"), span, vars.keys(), "$")
            .with_hint(format!("save a result first: let {name} = hosts | ..."))
    })
}

/// `hosts from ssh_config`. An empty list is an error rather than an
/// empty table: a `run` on no host would look like a run that worked.
fn ssh_config(fleet: &Fleet, span: Span) -> Result<DataFrame> {
    let hosts = &fleet.ssh_config;
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
    host_table(fleet, &hosts.iter().collect::<Vec<_>>())
}
