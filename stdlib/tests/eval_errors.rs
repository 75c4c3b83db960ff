//! Snapshot gallery of the errors only evaluation can find (unknown columns,
//! groups, hosts and variables, type mismatches, `diff` splits that cannot
//! compare): each query in `tests/queries/errors/` compiles, then fails on the
//! example fleet with a located error and a hint. The parse and plan errors
//! are lang's gallery. Review changes with `cargo insta review`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use insta::{assert_snapshot, glob};
use shoal_stdlib::Plan;
use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};
use shoal_stdlib::{Quiet, Session};

/// Runs every statement of `plan`; the first error, rendered plainly.
fn first_error(source: &str, plan: &Plan) -> Option<String> {
    let mut session = Session::new(fleet());
    plan.statements.iter().find_map(|statement| {
        session
            .eval(statement, &ScriptedExecutor, &mut Quiet)
            .err()
            .map(|e| e.render(source, false))
    })
}

#[test]
fn queries_that_fail_on_the_fleet_render_a_located_error_with_a_hint() {
    glob!("queries/errors/*.shoal", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let plan = shoal_stdlib::compile(&source)
            .unwrap_or_else(|e| panic!("only evaluation may fail:\n{}", e.render(&source, false)));
        let rendered = catch_unwind(AssertUnwindSafe(|| first_error(&source, &plan)))
            .unwrap_or_else(|_| panic!("evaluating {} panicked", path.display()))
            .unwrap_or_else(|| panic!("{} evaluated without an error", path.display()));
        assert!(rendered.contains('^'), "no caret in:\n{rendered}");
        assert!(rendered.contains("hint:"), "no hint in:\n{rendered}");
        assert_snapshot!(format!("{source}\n{rendered}"));
    });
}
