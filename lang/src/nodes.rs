//! ClusterShell nodesets (`web[001-020,033]`) through the `nodeset` crate:
//! parsing them, with the crate's panics turned into errors, and folding host
//! names back into one.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use indexmap::IndexSet;

pub use nodeset::NodeSet;

/// Parses a nodeset. nodeset 0.6 multiplies range bounds unchecked, so some
/// inputs with long digit runs (found by fuzzing the inventory loader) panic
/// with overflow checks on; the panic becomes an error here. (Without
/// overflow checks, as in release, the crate wraps instead; that fix belongs
/// in the crate.)
pub fn parse_nodeset(pattern: &str) -> Result<NodeSet, String> {
    match catch_unwind(AssertUnwindSafe(|| pattern.parse::<NodeSet>())) {
        Ok(parsed) => parsed.map_err(|e| e.to_string()),
        Err(_) => Err("its numbers are too large".to_string()),
    }
}

/// Host names folded the ClusterShell way, `web[01-03],db01`, each name once.
///
/// Names the nodeset syntax cannot carry (brackets, commas, `@`, spaces...)
/// are listed after the folded part as they are, and a fold that does not
/// expand back to exactly the names given (numbers too large, say) is not
/// used: a wrong host list would be worse than a long one.
pub fn fold_hosts(names: &[&str]) -> String {
    let unique: IndexSet<&str> = names.iter().copied().collect();
    let (plain, odd): (Vec<&str>, Vec<&str>) = unique.into_iter().partition(|name| {
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+".contains(c))
    });
    let folded = fold(&plain).unwrap_or_else(|| plain.join(","));
    let mut parts: Vec<&str> = Vec::with_capacity(odd.len() + 1);
    if !folded.is_empty() {
        parts.push(&folded);
    }
    parts.extend(odd);
    parts.join(",")
}

fn fold(names: &[&str]) -> Option<String> {
    if names.is_empty() {
        return Some(String::new());
    }
    let set = parse_nodeset(&names.join(",")).ok()?;
    let wanted: HashSet<&str> = names.iter().copied().collect();
    let expanded: HashSet<String> = set.iter().collect();
    let exact =
        expanded.len() == wanted.len() && expanded.iter().all(|n| wanted.contains(n.as_str()));
    exact.then(|| set.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflowing_numbers_are_errors_not_panics() {
        // The fuzzer's input for the inventory loader, reduced.
        let fuzzed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/seeds/inventory/crash-nodeset-overflow"
        ))
        .expect("the fuzzer's input is kept as a seed");
        let group = fuzzed
            .lines()
            .find_map(|l| l.split_once(" = \"").map(|(_, v)| v.trim_end_matches('"')))
            .expect("the input has a group");
        assert!(parse_nodeset(group).is_err(), "{group}");
        assert_eq!(parse_nodeset("web[001-003]").unwrap().len(), 3);
    }

    #[test]
    fn folds_names_into_a_nodeset_and_keeps_odd_names_as_they_are() {
        assert_eq!(
            fold_hosts(&["web02", "web01", "db1", "web03", "web01"]),
            "db1,web[01-03]"
        );
        assert_eq!(fold_hosts(&["web01", "a b"]), "web01,a b");
        assert_eq!(fold_hosts(&[]), "");
    }
}
