//! What the stdlib test files share: evaluating a query in a session, and
//! reading a column back as text.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use shoal_stdlib::executor::Executor;
use shoal_stdlib::frame::texts;
use shoal_stdlib::{DataFrame, Quiet, Session};

/// Runs each statement of `query` in `session`; the last one's rows, or the
/// rendered error.
pub fn eval_in(
    session: &mut Session,
    executor: &dyn Executor,
    query: &str,
) -> Result<DataFrame, String> {
    let plan = shoal_stdlib::compile(query).map_err(|e| e.render(query, false))?;
    let mut last = None;
    for statement in &plan.statements {
        last = Some(
            session
                .eval(statement, executor, &mut Quiet)
                .map_err(|e| e.render(query, false))?,
        );
    }
    Ok(last.expect("a statement"))
}

/// The values of one column as text, nulls as "null".
pub fn col(df: &DataFrame, name: &str) -> Vec<String> {
    let column = df
        .column(name)
        .unwrap_or_else(|_| panic!("no column {name}"));
    texts(column)
        .unwrap()
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "null".into()))
        .collect()
}
