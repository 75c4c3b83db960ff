//! `help` and the README's language reference, both generated from the
//! operator registry so they always describe the operators that exist.

use std::fmt::Write;

use shoal_stdlib::ops::{self, REGISTRY};

/// `help`: every stage with its usage and description.
pub fn overview() -> String {
    let mut out = String::from("shoal pipelines: SOURCE | STAGE | STAGE ...\n\nSources:\n");
    out.push_str("  hosts                 every host in the inventory\n");
    out.push_str("  hosts web[001-020]    a nodeset of host names\n");
    out.push_str("  hosts @group          an inventory group\n");
    out.push_str("  $name                 a result saved with `let name = ...`\n\nStages:\n");
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
