//! Snapshot tests over the example queries in `tests/plan_queries/`: the
//! plan of every well-formed query, exactly as `--explain` prints it, and
//! the rendered error of every malformed one. Review changes with
//! `cargo insta review`.

use insta::{assert_json_snapshot, assert_snapshot, glob};

#[test]
fn well_formed_queries_parse_and_plan() {
    glob!("plan_queries/ok/*.shoal", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let plan = shoal_stdlib::compile(&source)
            .unwrap_or_else(|e| panic!("{}", e.render(&source, false)));
        assert_json_snapshot!(serde_json::json!({ "source": source, "plan": plan }));
    });
}

#[test]
fn malformed_queries_render_a_located_error_with_a_hint() {
    glob!("plan_queries/errors/*.shoal", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let error = shoal_stdlib::compile(&source).expect_err("a malformed query must not compile");
        let rendered = error.render(&source, false);
        assert!(error.span.is_some(), "no location in:\n{rendered}");
        assert!(rendered.contains('^'), "no caret in:\n{rendered}");
        assert!(!error.hints.is_empty(), "no hint in:\n{rendered}");
        assert!(
            !rendered.contains("Rule::"),
            "internal rule name leaked:\n{rendered}"
        );
        assert_snapshot!(format!("{source}\n{rendered}"));
    });
}
