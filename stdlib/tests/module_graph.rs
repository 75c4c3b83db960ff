//! The modules of shoal-lang and shoal-stdlib depend on each other one way:
//! no top-level module reaches itself again through `use crate::...` paths.
//! A circle is where a shared helper sits in the wrong module (issue 14);
//! this test names it, so it is moved rather than lived with.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Each top-level module of the crate at `src`, and the top-level modules its
/// non-test code names through `crate::`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let module = relative.iter().next().unwrap().to_string_lossy();
        let module = module.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        // Unit tests may reach anywhere: only the code itself counts.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let used = graph.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(0)]
                    .split(',')
                    .map(|part| part.trim().split("::").next().unwrap_or(""))
                    .collect(),
                None => vec![
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap(),
                ],
            };
            for name in names {
                if !name.is_empty() && name != module {
                    used.insert(name.to_string());
                }
            }
        }
    }
    graph
}

/// A circle through `start`, if there is one, as the modules along it.
fn circle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((module, path)) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![start.to_string()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn lang_and_stdlib_have_no_import_circle() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut circles = Vec::new();
    for crate_src in [manifest.join("../lang/src"), manifest.join("src")] {
        let graph = module_graph(&crate_src);
        assert!(
            graph.len() > 5,
            "read no modules in {}",
            crate_src.display()
        );
        for module in graph.keys() {
            if let Some(circle) = circle_through(&graph, module) {
                circles.push(format!("{}: {}", crate_src.display(), circle.join(" -> ")));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_circle_finder_finds_a_planted_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("plan", &["pattern"][..]),
        ("pattern", &["span", "plan"]),
        ("span", &[]),
    ]
    .into_iter()
    .map(|(m, uses)| (m.to_string(), uses.iter().map(|u| u.to_string()).collect()))
    .collect();
    assert_eq!(
        circle_through(&graph, "plan"),
        Some(vec!["plan".into(), "pattern".into(), "plan".into()])
    );
    assert_eq!(circle_through(&graph, "span"), None);
}
