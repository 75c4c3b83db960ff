//! Parsing ClusterShell nodesets (`web[001-020,033]`) through the `nodeset`
//! crate, with its panics turned into errors.

use std::panic::{AssertUnwindSafe, catch_unwind};

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
}
