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
