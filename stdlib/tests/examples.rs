//! Runs every operator's documented examples against the sample fleet and
//! checks the exact table each one prints, so the docs cannot drift.

use shoal_stdlib::frame::to_text;
use shoal_stdlib::ops::REGISTRY;
use shoal_stdlib::sample::{ScriptedExecutor, fleet};
use shoal_stdlib::{Quiet, Session};

fn run(query: &str) -> String {
    let plan = shoal_lang::compile(query).unwrap_or_else(|e| panic!("{}", e.render(query, false)));
    let mut session = Session::new(fleet());
    let mut last = None;
    for statement in &plan.statements {
        last = Some(
            session
                .eval(statement, &ScriptedExecutor, &mut Quiet)
                .unwrap_or_else(|e| panic!("{}", e.render(query, false))),
        );
    }
    to_text(&last.expect("example has a statement")).expect("renders")
}

#[test]
fn every_operator_example_prints_its_documented_output() {
    let mut failures = Vec::new();
    for op in REGISTRY {
        assert!(!op.examples().is_empty(), "`{}` has no examples", op.name());
        for example in op.examples() {
            let actual = run(example.query);
            if actual != example.output {
                failures.push(format!(
                    "{}: {}\n--- documented\n{}--- actual\n{}",
                    op.name(),
                    example.query,
                    example.output,
                    actual
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_stage_name_in_the_grammar_has_an_operator_and_back() {
    for name in shoal_lang::STAGE_NAMES {
        assert!(
            shoal_stdlib::ops::find(name).is_some(),
            "grammar stage `{name}` has no operator"
        );
    }
    for op in REGISTRY {
        for name in std::iter::once(op.name()).chain(op.aliases().iter().copied()) {
            assert!(
                shoal_lang::STAGE_NAMES.contains(&name),
                "operator `{name}` is not in the grammar"
            );
        }
    }
}
