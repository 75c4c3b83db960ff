//! The catalog of checks shipped in checks/: every file reads as a check,
//! compiles with its defaults into one pipeline ending in `assert`, the
//! levels are covered, and checks/README.md is the table its headers make.

use shoal_stdlib::checks::{Catalog, Level};

#[test]
fn every_shipped_check_reads_and_compiles_with_its_defaults() {
    let catalog = Catalog::builtin();
    let errors: Vec<String> = catalog.errors.iter().map(|e| e.render(false)).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(
        catalog.checks.len() >= 20,
        "{} checks",
        catalog.checks.len()
    );
    for check in &catalog.checks {
        let source = check
            .source(&[])
            .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let plan = shoal_stdlib::compile(&source)
            .unwrap_or_else(|e| panic!("{}", e.render_file(&check.file, &source, false)));
        if let Err(error) = check.prepare(&source, plan) {
            panic!("{}", error.render(false));
        }
        assert!(
            check.why.contains(' ') && check.fix.contains(' ') && !check.source.is_empty(),
            "{}: why, source and fix are sentences",
            check.id
        );
    }
}

#[test]
fn every_level_has_at_least_three_checks_and_ids_are_in_sequence() {
    let catalog = Catalog::builtin();
    for level in Level::ALL {
        let n = catalog.checks.iter().filter(|c| c.level == level).count();
        assert!(n >= 3, "{} has {n} checks", level.as_str());
    }
    for (i, check) in catalog.checks.iter().enumerate() {
        assert_eq!(check.id, format!("SHOAL-{:04}", i + 1), "{}", check.file);
    }
}

/// checks/README.md is generated: `UPDATE_CHECKS=1` rewrites it.
#[test]
fn the_catalog_readme_is_the_table_of_the_headers() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../checks/README.md");
    let expected = Catalog::builtin().readme();
    if std::env::var_os("UPDATE_CHECKS").is_some() {
        std::fs::write(path, &expected).expect("checks/README.md is writable");
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "checks/README.md is out of date: run UPDATE_CHECKS=1 cargo test -p shoal-stdlib --test checks_catalog"
    );
}
