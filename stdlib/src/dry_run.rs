//! Checking a whole plan before any host is contacted.
//!
//! The check runs the plan for real, on no rows: each statement's source is
//! resolved against the fleet (so an unknown group or an empty selection is
//! found here), then cut to zero rows, and every stage runs on that. Every
//! stage already checks the columns it reads and builds the columns it
//! writes, so an empty run tells, with each stage's own message and
//! did-you-mean, every name a statement asks for that it will not have, and
//! no host is ever asked anything: with no rows, `run` has no one to run on.
//!
//! Only what the columns alone decide is reported. A stage that fails on
//! zero rows for a reason that depends on the data (`diff` finding an empty
//! population) ends the check of that statement and nothing more; so does a
//! stage whose columns come from the data (`kv`, `json`), whose names later
//! stages ask for can only be checked once hosts have answered. A `let`
//! whose columns could not all be known makes the statements that read it
//! unchecked too.

use indexmap::IndexMap;
use polars::prelude::DataFrame;
use shoal_lang::plan::PlanSource;
use shoal_lang::{ErrorKind, Result};

use crate::context::{EvalContext, Quiet};
use crate::executor::{Executor, HostOutcome, RunRequest};
use crate::history::ReadOnly;
use crate::{Plan, Session};

/// The executor of a check: with no rows there is nothing to run, and if a
/// stage ever asked, no host would be contacted.
struct NoHosts;

impl Executor for NoHosts {
    fn run(
        &self,
        hosts: &[String],
        _request: &RunRequest,
        _on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        debug_assert!(hosts.is_empty(), "a check on no rows asked hosts to run");
    }
}

impl Session {
    /// Checks every statement of `plan` against this session's fleet and
    /// saved results without contacting any host: unknown groups, hosts and
    /// variables, and every column a stage asks for that it would not have.
    pub fn check(&self, plan: &Plan) -> Result<()> {
        self.dry_run(plan).map(|_| ())
    }

    /// The columns the last statement of `plan` ends with, as far as they
    /// are known before it runs: what Tab offers after a `|`.
    pub fn columns_after(&self, plan: &Plan) -> Option<Vec<String>> {
        let frame = self.dry_run(plan).ok()??;
        Some(crate::frame::column_names(&frame))
    }

    /// Runs `plan` on no rows: the columns of its last statement (`None`
    /// where they depend on the data), or the first mistake.
    fn dry_run(&self, plan: &Plan) -> Result<Option<DataFrame>> {
        // What each `let` of the plan will hold, as columns with no rows;
        // `None` where they could not all be known.
        let mut bound: IndexMap<&str, Option<DataFrame>> = IndexMap::new();
        let mut last = None;
        for statement in &plan.statements {
            let columns = match &statement.source {
                PlanSource::Variable { name, .. } if bound.contains_key(name.as_str()) => {
                    bound[name.as_str()].clone()
                }
                source => Some(self.source(source)?.head(Some(0))),
            };
            let columns = match columns {
                Some(frame) => self.check_stages(frame, &statement.ops, &bound)?,
                None => None,
            };
            if let Some(name) = &statement.bind {
                bound.insert(name, columns.clone());
            }
            last = columns;
        }
        Ok(last)
    }

    /// Runs `steps` on the empty `frame`: the columns they end with, `None`
    /// when those depend on the data, or the first column error.
    fn check_stages(
        &self,
        mut frame: DataFrame,
        steps: &[crate::Step],
        bound: &IndexMap<&str, Option<DataFrame>>,
    ) -> Result<Option<DataFrame>> {
        // Saved results as the statement will see them: the session's own,
        // and the plan's earlier `let`s where their columns are known.
        let mut vars: IndexMap<String, DataFrame> = self
            .vars
            .iter()
            .map(|(name, frame)| (name.clone(), frame.head(Some(0))))
            .collect();
        for (name, frame) in bound {
            if let Some(frame) = frame {
                vars.insert(name.to_string(), frame.clone());
            }
        }
        let mut ctx = EvalContext {
            fleet: &self.fleet,
            vars: &vars,
            executor: &NoHosts,
            observer: &mut Quiet,
            history: &ReadOnly(self.history.0.as_ref()),
            safety: &self.safety,
        };
        for step in steps {
            frame = match step.op.eval(frame, &mut ctx) {
                Ok(frame) => frame,
                Err(error) if error.kind != ErrorKind::Other => return Err(error),
                // Decided by the data, not the columns: the run will tell.
                Err(_) => return Ok(None),
            };
            if step.signature.data_columns {
                return Ok(None);
            }
        }
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example_fleet::fleet;

    fn check(query: &str) -> std::result::Result<(), String> {
        let plan = crate::compile(query).map_err(|e| e.render(query, false))?;
        Session::new(fleet())
            .check(&plan)
            .map_err(|e| e.render(query, false))
    }

    #[test]
    fn a_column_typo_after_a_run_is_found_without_running() {
        let error =
            check("hosts | run \"cat /etc/app/health\" as health | count by heath").unwrap_err();
        assert!(error.contains("unknown column `heath`"), "{error}");
        assert!(error.contains("did you mean 'health'?"), "{error}");
    }

    #[test]
    fn a_typo_in_a_later_statement_is_found_and_lets_carry_their_columns() {
        let script = "let bad = hosts | run \"x\" as v | filter v = 1\n$bad | select host, vv";
        let error = check(script).unwrap_err();
        assert!(error.contains("unknown column `vv`"), "{error}");
        assert!(check("let bad = hosts | run \"x\" as v\n$bad | select host, v").is_ok());
    }

    #[test]
    fn placeholders_and_predicates_are_checked() {
        assert!(check("hosts | run \"systemctl status {servce}\"").is_err());
        assert!(check("hosts | filter rol = web").is_err());
        assert!(check("hosts | filter role = web | run \"echo {role}\"").is_ok());
    }

    #[test]
    fn columns_made_from_the_data_are_left_to_the_run() {
        assert!(check("hosts | run \"cat x\" | kv | filter anything > 3").is_ok());
        assert!(check("let k = hosts | run \"cat x\" | kv\n$k | select whatever").is_ok());
        // Before the data stage, names are still checked.
        assert!(check("hosts | run \"cat x\" | kv stdot").is_err());
    }

    #[test]
    fn unknown_groups_and_variables_are_found() {
        assert!(check("hosts @nope | run \"x\"").is_err());
        assert!(check("$never | count").is_err());
    }

    #[test]
    fn the_columns_after_a_pipeline_include_those_it_makes() {
        let plan = crate::compile("hosts | run \"x\" as up | extract up /(?<n>[0-9]+)/").unwrap();
        let columns = Session::new(fleet()).columns_after(&plan).unwrap();
        for name in ["host", "az", "stdout", "up", "n"] {
            assert!(columns.iter().any(|c| c == name), "{name} in {columns:?}");
        }
    }

    #[test]
    fn errors_that_depend_on_the_data_are_not_reported() {
        // On no rows `diff` has no populations; with hosts it may well have.
        assert!(check("hosts | run \"x\" as h | diff where h = FAIL").is_ok());
    }
}
