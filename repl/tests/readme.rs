//! The README's language reference must be exactly what the registry
//! generates. Run with `UPDATE_README=1` to rewrite it.

const START: &str = "<!-- reference:start -->\n";
const END: &str = "<!-- reference:end -->";

#[test]
fn readme_reference_matches_the_operator_registry() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find(START)
        .expect("README has the reference start marker")
        + START.len();
    let end = readme
        .find(END)
        .expect("README has the reference end marker");
    let generated = shoal_repl::help::reference_markdown();
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(
            path,
            format!("{}{generated}{}", &readme[..start], &readme[end..]),
        )
        .unwrap();
        return;
    }
    assert!(
        readme[start..end] == generated,
        "the README's language reference is stale: run `UPDATE_README=1 cargo test -p shoal-repl --test readme`"
    );
}
