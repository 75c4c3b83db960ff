use super::*;

fn expand(text: &str) -> Vec<String> {
    parse_nodeset(text).unwrap().iter().collect()
}

fn fold(text: &str) -> String {
    parse_nodeset(text).unwrap().to_string()
}

#[test]
fn ranges_pad_and_fold_as_clustershell() {
    assert_eq!(expand("web[01-03]"), ["web01", "web02", "web03"]);
    assert_eq!(fold("web1,web2,web10,web11"), "web[1-2,10-11]");
    assert_eq!(fold("web01,web1"), "web[1,01]");
    assert_eq!(fold("web[08-11]"), "web[08-11]");
    assert_eq!(fold("db2,web1,db1"), "db[1-2],web1");
    assert_eq!(expand("n[0-20/5]"), ["n0", "n5", "n10", "n15", "n20"]);
    assert_eq!(fold("n1,n3,n5"), "n[1,3,5]");
}

#[test]
fn digits_beside_a_bracket_join_its_numbers() {
    assert_eq!(expand("a[5]02"), ["a502"]);
    assert_eq!(expand("web[01-02]0"), ["web010", "web020"]);
    assert_eq!(expand("a5[1-2]"), ["a51", "a52"]);
    assert_eq!(fold("a1b2,a1b3,a2b2"), "a1b[2-3],a2b2");
    assert_eq!(fold("r1n1,r1n2,r2n1,r2n2"), "r[1-2]n[1-2]");
}

/// Issue 20: numbers past u32, names with `+`, digits-only names and bare
/// `a-b` (a name to ClusterShell, not a range).
#[test]
fn large_numbers_plus_signs_and_digits_only_names() {
    assert_eq!(fold("n[4294967296-4294967298]"), "n[4294967296-4294967298]");
    assert_eq!(fold("a+1,a+2"), "a+[1-2]");
    assert_eq!(fold("12,13,14"), "[12-14]");
    assert_eq!(expand("[01-02]"), ["01", "02"]);
    assert_eq!(expand("1-3"), ["1-3"]);
    let error = parse_nodeset(&format!("n{}0", u128::MAX))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("is too large: shoal reads numbers of up to 38 digits"),
        "{error}"
    );
}

#[test]
fn operators_apply_left_to_right() {
    assert_eq!(fold("web[1-5]!web3"), "web[1-2,4-5]");
    assert_eq!(fold("web[1-5]&web[3-7]"), "web[3-5]");
    assert_eq!(fold("web[1-5]^web[4-7]"), "web[1-3,6-7]");
    assert_eq!(fold("  web1 , web2 "), "web[1-2]");
    assert!(parse_nodeset("").unwrap().is_empty());
}

#[test]
fn errors_use_clustershells_words_and_name_the_part() {
    let error = |text: &str| parse_nodeset(text).unwrap_err().to_string();
    assert_eq!(error("web[3-1]"), "invalid values in range: \"3-1\"");
    assert_eq!(error("web[1-3"), "missing bracket: \"web[1-3\"");
    assert_eq!(error("web1]"), "illegal closing bracket: \"web1]\"");
    assert_eq!(error("web[01-100]"), "padding length mismatch: \"01-100\"");
    assert_eq!(
        error("web,,db"),
        "missing nodeset operand with ',' operator: \"db\""
    );
    assert_eq!(
        error("n[1-2000000]"),
        "`n[1-2000000]` names more than 1000000 hosts, shoal's limit for one nodeset"
    );
    assert_eq!(
        error("a[1-1000]b[1-1001]"),
        "`a[1-1000]b[1-1001]` names more than 1000000 hosts, shoal's limit for one nodeset"
    );
}

#[test]
fn fuzzed_inputs_are_errors_or_sets_not_panics() {
    // The fuzzer's input for the inventory loader that overflowed the
    // nodeset crate shoal used before, reduced.
    let fuzzed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/seeds/inventory/crash-nodeset-overflow"
    ))
    .expect("the fuzzer's input is kept as a seed");
    let group = fuzzed
        .lines()
        .find_map(|l| l.split_once(" = \"").map(|(_, v)| v.trim_end_matches('"')))
        .expect("the input has a group");
    let _ = parse_nodeset(group);
    for text in [
        "a[9999]000000",
        "wer[5]020000000p0000+00000",
        "[",
        "]",
        "[]",
        "a[,]",
    ] {
        let _ = parse_nodeset(text);
    }
}

#[test]
fn folded_hosts_select_back_exactly() {
    assert_eq!(
        fold_hosts(&["web02", "web01", "db1", "web03", "web01"]),
        "db1,web[01-03]"
    );
    assert_eq!(fold_hosts(&["web01", "a b"]), "web01, ~ /^a b$/");
    assert_eq!(fold_hosts(&["odd[1]name"]), "~ /^odd\\[1\\]name$/");
    assert_eq!(fold_hosts(&["a/b"]), "~ /^a\\/b$/");
    assert_eq!(fold_hosts(&[]), "");
}

/// Every nodeset of up to five characters from the syntax's alphabet either
/// is an error or folds into text that reads back as the same set, and
/// `fold_hosts` of its names (where a nodeset of `hosts` can carry them) is
/// that text: no panic, no lost host.
#[test]
fn every_short_nodeset_folds_and_reads_back() {
    const ALPHABET: &[u8] = b"a01[]-,!/";
    let mut text = Vec::new();
    let mut checked = 0;
    for length in 1..=5u32 {
        for mut code in 0..ALPHABET.len().pow(length) {
            text.clear();
            for _ in 0..length {
                text.push(ALPHABET[code % ALPHABET.len()]);
                code /= ALPHABET.len();
            }
            let text = std::str::from_utf8(&text).unwrap();
            let Ok(set) = parse_nodeset(text) else {
                continue;
            };
            let folded = set.to_string();
            assert_eq!(
                parse_nodeset(&folded).as_ref(),
                Ok(&set),
                "{text} → {folded}"
            );
            let names: Vec<String> = set.iter().collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            if names.iter().all(|name| carried(name)) {
                assert_eq!(fold_hosts(&names), folded, "{text}");
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}
