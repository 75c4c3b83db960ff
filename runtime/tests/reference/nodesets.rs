//! Nodesets expanded and folded by shoal and by ClusterShell's `nodeset`.
//!
//! For each nodeset of `nodesets.txt`: the names it expands to (`nodeset
//! -e`, compared as sets), shoal's fold of those names against `nodeset -f`
//! of them (`gather` folds names, not the text they came from),
//! and the round trip: what shoal folds (as `gather` shows it) must expand
//! back to exactly those names, both in ClusterShell and as `hosts NODESET`
//! selects them in a fleet of those hosts. A nodeset ClusterShell refuses,
//! shoal must refuse too.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use polars::prelude::DataFrame;
use shoal_runtime::Engine;
use shoal_runtime::inventory::{Inventory, Overrides};
use shoal_runtime::ssh_config::SshConfig;

use crate::differences::{self, Disagreement};
use crate::tools;

fn corpus() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/nodesets.txt"
    ))
    .expect("nodesets.txt is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// `nodeset FLAG NODESET`: its output, or its error.
fn clustershell(flag: &str, nodeset: &str) -> Result<String, String> {
    let output = tools::run(Command::new(tools::tool("nodeset")).arg(flag).arg(nodeset));
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

fn expand_clustershell(nodeset: &str) -> Result<BTreeSet<String>, String> {
    clustershell("-e", nodeset).map(|out| out.split_whitespace().map(String::from).collect())
}

fn expand_shoal(nodeset: &str) -> Result<BTreeSet<String>, String> {
    shoal_lang::parse_nodeset(nodeset)
        .map(|set| set.iter().collect())
        .map_err(|e| e.to_string())
}

/// The hosts `hosts NODESET` selects in a fleet of `names`.
fn select_shoal(names: &BTreeSet<String>, nodeset: &str) -> Result<BTreeSet<String>, String> {
    let mut toml = String::from("[defaults]\nuser = \"t\"\n");
    for name in names {
        toml.push_str(&format!("[[hosts]]\nname = {}\n", toml_string(name)));
    }
    let inventory = Inventory::from_toml(&toml, Path::new("fleet.toml"), &Overrides::default())
        .map_err(|e| e.to_string())?;
    let mut engine = Engine::new(inventory, &SshConfig::default()).map_err(|e| e.to_string())?;
    let frame: DataFrame = engine
        .query(&format!("hosts {nodeset}"))
        .map_err(|e| e.to_string())?;
    let hosts = frame.column("host").map_err(|e| e.to_string())?;
    let hosts = hosts.str().map_err(|e| e.to_string())?;
    Ok(hosts.iter().flatten().map(String::from).collect())
}

fn toml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

fn shown(set: &Result<BTreeSet<String>, String>) -> String {
    match set {
        Ok(names) => names.iter().cloned().collect::<Vec<_>>().join(" "),
        Err(error) => format!("error: {error}"),
    }
}

#[test]
fn nodesets_expand_and_fold_as_clustershell_does() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 60,
        "the corpus has {} nodesets",
        corpus.len()
    );
    let mut found = Vec::new();
    for nodeset in &corpus {
        let mut differ = |aspect: &'static str, diff: String| {
            found.push(Disagreement {
                case: nodeset.clone(),
                aspect,
                diff,
            });
        };
        let theirs = expand_clustershell(nodeset);
        let ours = expand_shoal(nodeset);
        let names = match (&theirs, &ours) {
            (Err(_), Err(_)) => continue,
            (Ok(t), Ok(o)) if t == o => t.clone(),
            (Ok(t), Ok(_)) => {
                differ(
                    "expand",
                    format!(
                        "  nodeset -e: {}\n  shoal:      {}",
                        shown(&theirs),
                        shown(&ours)
                    ),
                );
                t.clone()
            }
            _ => {
                differ(
                    "outcome",
                    format!(
                        "  nodeset -e: {}\n  shoal:      {}",
                        shown(&theirs),
                        shown(&ours)
                    ),
                );
                match theirs {
                    Ok(t) => t,
                    Err(_) => continue,
                }
            }
        };
        if names.is_empty() {
            continue;
        }
        let listed: Vec<&str> = names.iter().map(String::as_str).collect();
        let folded = shoal_lang::fold_hosts(&listed);
        // What `nodeset -f` prints for these names, as `gather` folds names.
        let reference =
            clustershell("-f", &listed.join(",")).unwrap_or_else(|e| format!("error: {e}"));
        if folded != reference {
            differ(
                "fold",
                format!("  nodeset -f: {reference}\n  shoal:      {folded}"),
            );
        }
        let back_clustershell = expand_clustershell(&folded);
        let back_shoal = select_shoal(&names, &folded);
        if back_clustershell.as_ref() != Ok(&names) || back_shoal.as_ref() != Ok(&names) {
            differ(
                "round-trip",
                format!(
                    "  names:                     {}\n  shoal folds them:          {folded}\n  \
                     nodeset -e of the fold:    {}\n  `hosts` selects of it:     {}",
                    shown(&Ok(names.clone())),
                    shown(&back_clustershell),
                    shown(&back_shoal)
                ),
            );
        }
    }
    differences::check("nodeset", corpus.len(), &found);
}
