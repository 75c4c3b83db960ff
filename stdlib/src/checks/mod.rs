//! Running checks of the catalog (crate::catalog): each check's pipeline is
//! compiled and split from its final `assert`, runs like any statement, and
//! the `assert` then judges each host's rows (verdict.rs) instead of
//! failing the query.

mod verdict;

use shoal_lang::{Error, Span};

use crate::ops::AssertOp;
use crate::{Plan, PlannedStatement, Session, Step};

pub use crate::catalog::{Catalog, CatalogError, Check, Level};
pub use verdict::{CheckRow, CheckStatus, HostRuns, results_frame};

impl Check {
    /// The compiled `source` as a check runs it: one statement ending in
    /// `assert`, which is set apart to judge the rows the rest makes.
    pub fn prepare(&self, source: &str, plan: Plan) -> std::result::Result<Prepared, CatalogError> {
        let whole = Span::new(0, source.len());
        let mut statements = plan.statements;
        let statement = match statements.len() {
            1 => statements.remove(0),
            _ => {
                return Err(self.error(
                    Error::new("a check is one pipeline", whole)
                        .with_hint("join the statements into one pipeline that ends in `assert`"),
                    source,
                ));
            }
        };
        let mut statement = statement;
        let judged = statement
            .ops
            .last()
            .is_some_and(|step| step.op.downcast::<AssertOp>().is_some());
        if !judged {
            return Err(self.error(
                Error::new("a check's pipeline ends in `assert`", whole).with_hint(
                    "end it with the condition every host must meet: ... | assert use < 90",
                ),
                source,
            ));
        }
        let assert = statement.ops.pop().expect("the last stage was just found");
        Ok(Prepared { statement, assert })
    }
}

/// A check ready to run: its pipeline without the final `assert`, and the
/// `assert` that judges each host's rows.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub statement: PlannedStatement,
    assert: Step,
}

impl Prepared {
    pub(crate) fn assert(&self) -> &AssertOp {
        self.assert
            .op
            .downcast()
            .expect("Check::prepare keeps only an assert here")
    }

    /// The hosts the check is about: those its source selects.
    pub fn hosts(&self, session: &Session) -> Vec<String> {
        session
            .source(&self.statement.source)
            .ok()
            .and_then(|frame| crate::frame::texts(frame.column("host").ok()?).ok())
            .map(|hosts| hosts.into_iter().flatten().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example_fleet::{ScriptedExecutor, fleet};

    /// Runs the check whose body is `body` on the example fleet: each
    /// host's status and observed value.
    fn run(body: &str) -> Vec<(String, &'static str, String)> {
        let text = format!(
            "# id: SHOAL-0100\n# title: t\n# level: anomaly\n# why: w\n# source: s\n# fix: f\n{body}\n"
        );
        let check = Check::parse("t.shoal", &text).unwrap();
        let source = check.source(&[]).unwrap();
        let prepared = check
            .prepare(&source, crate::compile(&source).unwrap())
            .unwrap();
        let mut session = Session::new(fleet());
        let hosts = prepared.hosts(&session);
        let mut quiet = crate::Quiet;
        let mut runs = HostRuns::new(&mut quiet);
        let result = session.eval(&prepared.statement, &ScriptedExecutor, &mut runs);
        prepared
            .judge(&check, &hosts, &result, &runs)
            .into_iter()
            .map(|row| (row.host, row.status.as_str(), row.observed))
            .collect()
    }

    #[test]
    fn each_host_is_judged_and_one_that_did_not_answer_is_unknown() {
        let rows = run(
            "hosts | run \"cat /etc/app/version\" as version | share version | assert share > 50 show=version",
        );
        let expected = [
            ("web01", "pass", "version=2.1.0 share=80.0"),
            ("web02", "pass", "version=2.1.0 share=80.0"),
            ("web03", "fail", "version=2.0.9 share=20.0"),
            ("db01", "pass", "version=2.1.0 share=80.0"),
            ("db02", "pass", "version=2.1.0 share=80.0"),
            ("cache01", "unknown", ""),
        ];
        let expected: Vec<(String, &str, String)> = expected
            .iter()
            .map(|(h, s, o)| (h.to_string(), *s, o.to_string()))
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn a_check_of_status_fails_the_unreachable_host_and_a_failed_command_is_an_error() {
        let rows = run("hosts | run \"hostname\" | assert status = ok");
        assert_eq!(
            rows[5],
            ("cache01".into(), "fail", "status=unreachable".into())
        );
        assert!(rows[..5].iter().all(|(_, status, _)| *status == "pass"));
        let rows =
            run("hosts @web | run \"systemctl is-active app\" as state | assert state = active");
        let statuses: Vec<&str> = rows.iter().map(|(_, s, _)| *s).collect();
        assert_eq!(statuses, ["pass", "pass", "error"]);
        // Rows the pipeline drops had nothing wrong found.
        let rows =
            run("hosts @db | run \"nproc\" as cpus | filter cpus > 100 | assert cpus < 1000");
        assert!(
            rows.iter().all(|(_, s, o)| *s == "pass" && o.is_empty()),
            "{rows:?}"
        );
        // Hosts left out before any command ran are not part of the check.
        let rows = run("hosts | filter role = db | run \"nproc\" as cpus | assert cpus >= 8");
        let hosts: Vec<&str> = rows.iter().map(|(h, _, _)| h.as_str()).collect();
        assert_eq!(hosts, ["db01", "db02"]);
    }

    #[test]
    fn a_body_that_is_not_one_pipeline_ending_in_assert_is_refused() {
        let text = "# id: SHOAL-0100\n# title: t\n# level: local\n# why: w\n# source: s\n# fix: f\nhosts | count\n";
        let check = Check::parse("t.shoal", text).unwrap();
        let source = check.source(&[]).unwrap();
        let error = check
            .prepare(&source, crate::compile(&source).unwrap())
            .unwrap_err();
        assert_eq!(error.error.reason, "a check's pipeline ends in `assert`");
    }
}
