//! Runs every operator's documented examples against the example fleet and
//! checks the exact table each one prints, so the docs cannot drift.

use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};
use shoal_stdlib::frame::to_text;
use shoal_stdlib::ops::{NEEDS_STORE, REGISTRY};
use shoal_stdlib::{Quiet, Session};

fn run(query: &str) -> String {
    let plan =
        shoal_stdlib::compile(query).unwrap_or_else(|e| panic!("{}", e.render(query, false)));
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
        let name = op.signature().name;
        assert!(!op.examples().is_empty(), "`{name}` has no examples");
        if NEEDS_STORE.contains(&name) {
            continue;
        }
        for example in op.examples() {
            let actual = run(example.query);
            if actual != example.output {
                failures.push(format!(
                    "{name}: {}\n--- documented\n{}--- actual\n{}",
                    example.query, example.output, actual
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Names the grammar reads as something else: a stage called `and` could
/// never be reached.
const RESERVED: &[&str] = &[
    "hosts", "let", "and", "or", "not", "in", "exists", "has", "contains", "desc", "asc", "by",
    "as", "from",
];

#[test]
fn every_signature_is_well_formed() {
    let mut seen = std::collections::HashSet::new();
    for op in REGISTRY {
        let signature = op.signature();
        for name in signature.names() {
            assert!(seen.insert(name), "`{name}` names two stages");
            assert!(
                name.starts_with(|c: char| c.is_ascii_lowercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "`{name}` is not a lower-case word"
            );
            assert!(!RESERVED.contains(&name), "`{name}` is a keyword");
        }
        assert!(
            !signature.summary.is_empty() && !signature.summary.contains('\n'),
            "`{}` needs a one-line summary",
            signature.name
        );
        for option in signature.options {
            assert!(
                !option.doc.is_empty(),
                "`{}={}` has no doc",
                signature.name,
                option.name
            );
        }
    }
}
