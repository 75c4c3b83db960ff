//! `help` and the README's language reference, both generated from the
//! operator registry so they always describe the operators that exist.

use std::fmt::Write;

use shoal_stdlib::ops::{self, REGISTRY};

/// What a pipeline can start with, and what it selects.
const SOURCES: &[(&str, &str)] = &[
    ("hosts", "every host in the inventory"),
    ("hosts web[001-020]", "a nodeset of host names"),
    ("hosts @group", "an inventory group"),
    ("hosts @web & @us-east-1a", "hosts in both (intersection)"),
    (
        "hosts @web ! web[001-003]",
        "hosts of the first but not the second (difference)",
    ),
    ("hosts @web, @db", "hosts in either (union)"),
    (
        "hosts ~ /^db-.*-prod$/",
        "hosts whose name the regex finds a match in",
    ),
    (
        "hosts from ssh_config",
        "the hosts named by `Host` lines of ssh_config",
    ),
    ("$name", "a result saved with `let name = ...`"),
];

/// `help`: the sources, then every stage with its description.
pub fn overview() -> String {
    let mut out = String::from("shoal pipelines: SOURCE | STAGE | STAGE ...\n\nSources:\n");
    for (syntax, meaning) in SOURCES {
        let _ = writeln!(out, "  {syntax:<27} {meaning}");
    }
    out.push_str("\n  `&`, `!` and `,` apply left to right, without precedence:\n");
    out.push_str("  `@web ! web01, @db` is `(@web ! web01), @db`.\n");
    out.push_str("  Each host is a row with `host`, `addr`, `groups` (its inventory groups,\n");
    out.push_str("  comma-separated) and one column per inventory tag.\n\nStages:\n");
    for op in REGISTRY {
        let _ = writeln!(out, "  {:<10} {}", op.name(), op.description());
    }
    out.push_str("\n`help STAGE` shows a stage's syntax and examples.\n");
    out
}

/// `help STAGE`: usage, description and examples of one stage.
pub fn stage(name: &str) -> Result<String, String> {
    let op = ops::find(name).ok_or_else(|| {
        let names: Vec<&str> = REGISTRY.iter().map(|op| op.name()).collect();
        match shoal_lang::did_you_mean(name, names.iter().copied()) {
            Some(near) => format!("no stage `{name}`; did you mean '{near}'?"),
            None => format!("no stage `{name}`; the stages are: {}", names.join(", ")),
        }
    })?;
    let mut out = format!("{}\n\n  {}\n", op.description(), op.usage());
    if !op.aliases().is_empty() {
        let _ = writeln!(out, "\n  also: {}", op.aliases().join(", "));
    }
    for example in op.examples() {
        let _ = write!(out, "\n{}:\n  {}\n\n", example.description, example.query);
        for line in example.output.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    Ok(out)
}

/// The README's "Language reference" section, in Markdown.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for op in REGISTRY {
        let _ = write!(
            out,
            "### `{}`\n\n`{}`\n\n{}\n",
            op.name(),
            op.usage(),
            op.description()
        );
        if !op.aliases().is_empty() {
            let _ = write!(out, "\nAlias: `{}`.\n", op.aliases().join("`, `"));
        }
        for example in op.examples() {
            let _ = write!(
                out,
                "\n{}:\n\n```text\n> {}\n{}```\n",
                example.description, example.query, example.output
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_in_the_overview_compiles() {
        for (syntax, _) in SOURCES {
            if let Err(error) = shoal_lang::compile(syntax) {
                panic!("{}", error.render(syntax, false));
            }
        }
    }
}
