//! ClusterShell nodesets (`web[001-020,033]`) through the `nodeset` crate:
//! parsing them, with the crate's panics turned into errors, and folding host
//! names back into one.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use indexmap::IndexSet;

pub use nodeset::NodeSet;

/// Parses a nodeset. nodeset 0.6 multiplies a bracket's numbers by the
/// digits that follow it (`[5]02` is 502) unchecked in u32, so such inputs
/// (found by fuzzing the inventory loader) panic with overflow checks on and
/// wrap silently without. They are refused before the crate sees them, and
/// any other panic of the crate becomes an error too.
pub fn parse_nodeset(pattern: &str) -> Result<NodeSet, String> {
    if joined_digits_overflow(pattern) {
        return Err(format!(
            "its numbers are too large (a bracket and the digits after it make more than \
             {MAX_JOINED_DIGITS} digits)"
        ));
    }
    match catch_unwind(AssertUnwindSafe(|| pattern.parse::<NodeSet>())) {
        Ok(parsed) => parsed.map_err(|e| e.to_string()),
        Err(_) => Err("its numbers are too large".to_string()),
    }
}

/// The most digits a bracket's number and the digits after its `]` may make
/// together: any 9-digit number fits in u32.
const MAX_JOINED_DIGITS: usize = 9;

/// Whether some `[...]` followed by digits makes a number of more than
/// [`MAX_JOINED_DIGITS`] digits.
fn joined_digits_overflow(pattern: &str) -> bool {
    let digit_runs = |text: &str| -> usize {
        text.split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0)
    };
    let mut rest = pattern;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|i| open + i) else {
            return false;
        };
        let inside = digit_runs(&rest[open + 1..close]);
        let after = &rest[close + 1..];
        let following = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if following > 0 && inside + following > MAX_JOINED_DIGITS {
            return true;
        }
        rest = after;
    }
    false
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
    fn brackets_joined_to_digits_past_nine_digits_are_refused_before_the_crate() {
        // Each of these panics inside nodeset 0.6 with overflow checks on (the
        // second one found by the fuzzer after the first fix).
        for pattern in [
            "a[9999]000000",
            "wer[5]020000000p0000+00000",
            "a[1-3]b[99999]00000",
        ] {
            assert!(joined_digits_overflow(pattern), "{pattern}");
            let error = parse_nodeset(pattern).unwrap_err();
            assert!(error.starts_with("its numbers are too large"), "{error}");
        }
        // Nine digits fit.
        assert_eq!(parse_nodeset("a[5]02000000").unwrap().len(), 1);
        assert_eq!(parse_nodeset("web[01-02]0").unwrap().len(), 2);
        assert!(!joined_digits_overflow("web[001-100],db[1-3]"));
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
