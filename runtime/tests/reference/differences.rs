//! `differences.toml`: the disagreements shoal keeps on purpose, and the
//! check that each test's disagreements are exactly those.

use std::collections::BTreeSet;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    difference: Vec<Difference>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Difference {
    /// `ansible-inventory` or `nodeset`.
    reference: String,
    /// The inventory directory or the nodeset.
    case: String,
    /// What differs: see [`Disagreement::aspect`].
    aspect: String,
    reason: String,
}

/// One way in which shoal and a reference disagree about one case.
#[derive(Debug)]
pub struct Disagreement {
    pub case: String,
    /// `outcome` (one side refused it), `hosts`, `groups`, `addresses`,
    /// `ports`, `users`, `vars`; `expand`, `fold`, `round-trip`.
    pub aspect: &'static str,
    /// Both sides, readably.
    pub diff: String,
}

/// The listed differences of `reference`, as (case, aspect).
fn listed(reference: &str) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/differences.toml"
    ))
    .expect("differences.toml is readable");
    let file: File = toml::from_str(&text).expect("differences.toml parses");
    file.difference
        .into_iter()
        .filter(|d| d.reference == reference)
        .inspect(|d| assert!(!d.reason.trim().is_empty(), "{d:?} needs a reason"))
        .map(|d| (d.case, d.aspect))
        .collect()
}

/// Fails unless `found` is exactly what differences.toml lists for
/// `reference`; prints the agreement count of `cases` cases first.
pub fn check(reference: &str, cases: usize, found: &[Disagreement]) {
    let differing: BTreeSet<&str> = found.iter().map(|d| d.case.as_str()).collect();
    println!(
        "{reference}: {} of {cases} cases agree; {} disagreements in {} cases",
        cases - differing.len(),
        found.len(),
        differing.len()
    );
    let listed = listed(reference);
    let mut report = String::new();
    for d in found {
        if !listed.contains(&(d.case.clone(), d.aspect.to_string())) {
            report.push_str(&format!(
                "\n== {reference} disagrees on `{}` ({}):\n{}\n",
                d.case, d.aspect, d.diff
            ));
        }
    }
    for (case, aspect) in &listed {
        if !found.iter().any(|d| &d.case == case && d.aspect == aspect) {
            report.push_str(&format!(
                "\n== differences.toml lists `{case}` ({aspect}) for {reference}, but they \
                 agree now: remove it\n"
            ));
        }
    }
    assert!(report.is_empty(), "{report}");
}
