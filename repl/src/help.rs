//! `help` and the README's language reference, both generated from the
//! operator registry so they always describe the operators that exist.

use std::fmt::Write;

use shoal_lang::rules;
use shoal_lang::{Param, Signature};
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
    ("jobs", "the job store's jobs, newest first"),
    (
        "job last",
        "a job's per-host rows: `job 12`, `job -2` (the one before)",
    ),
    ("saved", "the baselines kept with `save NAME`"),
    ("saved before-upgrade", "one baseline, as it was saved"),
    (
        "checks",
        "the catalog of checks `shoal check` runs, one row a check",
    ),
];

/// `help`: the sources, then every stage with its summary.
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
        let signature = op.signature();
        let _ = writeln!(out, "  {:<10} {}", signature.name, signature.summary);
    }
    out.push_str("\n`help STAGE` shows a stage's syntax, options and examples.\n");
    out.push_str(OUTPUT);
    out.push_str("\nExit codes:\n");
    for (code, meaning) in crate::cli::EXIT_CODES {
        let _ = writeln!(out, "  {code:<4} {meaning}");
    }
    out
}

/// Output formats and the shell's commands, for the overview.
const OUTPUT: &str = "
Output (--format, or `:set format` in the shell):
  table  an aligned table; a cell shows at most 10 lines of 60 columns, and
         what is cut is marked (`…`, `… N more lines`); --full shows it whole
  json   JSON Lines: each result is one line, a JSON array of row objects
         whose keys are in column order
  csv    each result is a CSV block with its own header row; blocks are
         separated by an empty line
  Control characters a host prints are shown as escapes (ESC as \\e, CR as \\r,
  BEL as \\x07) in tables, messages and CSV on a terminal; JSON escapes them,
  and CSV to a file or pipe keeps them exact. --quiet (-q) prints no
  warnings, progress or summary lines.

Alarms and bots (`help alarm`, `help bot`):
  shoal daemon FILE|DIR [--metrics ADDR] [--dry-run]
                         run the alarms and bots of .shoal files until
                         SIGTERM (SIGHUP reloads them); ticks, events,
                         actions and breakers go to the job store
  shoal bots             the bots, their state and tripped breakers;
                         `shoal bots pause|resume|reset NAME` (audited)
  shoal watch --every DUR -c QUERY, or `:watch DUR QUERY` in the shell
                         the query again every DUR, new and changed rows
                         marked, until Ctrl-C

History: every query that contacts hosts is a job in the job store, written
  host by host (--store PATH or $SHOAL_STORE, default
  $XDG_STATE_HOME/shoal/shoal.db; --no-store keeps none). `shoal audit
  [--since DUR] [--user U] [--host H]` lists who ran what, where, and how it
  ended.

Scripts and checks: `shoal run FILE.shoal --param NAME=VALUE` runs a
  script whose `param NAME: TYPE [= DEFAULT]` lines it uses as `$NAME`
  (`shoal run FILE --help` lists them); `shoal check [LEVEL|ID ...]` runs the
  catalog of checks (the `checks` source lists it) on every host.

In the shell: `help`, `help STAGE`, `:hosts`, `:vars`, `:quit`, `:watch DUR QUERY`,
  `:set` (show settings), `:set format table|json|csv`, `:set full [on|off]`,
  `:set width N|auto` (the widest a table may be), `:explain HOST` (how shoal
  reaches a host, each setting with where it came from, as
  `shoal hosts --explain HOST` prints it).
";

/// A file of alarms and bots, as `help alarm` and `help bot` show it.
const ALARMS_EXAMPLE: &str = include_str!("../../examples/alarms.shoal");

/// `help STAGE`: usage, arguments, options and examples of one stage; `help
/// alarm` and `help bot`: the declarations of `shoal daemon`'s files.
pub fn stage(name: &str) -> Result<String, String> {
    if let Some(declaration) = [&rules::ALARM, &rules::BOT]
        .into_iter()
        .find(|s| s.name == name)
    {
        let mut out = describe(declaration, false);
        out.push_str("\nFor example (examples/alarms.shoal):\n\n");
        for line in ALARMS_EXAMPLE.lines() {
            let _ = writeln!(out, "{}", format!("  {line}").trim_end());
        }
        return Ok(out);
    }
    let op = ops::find(name).ok_or_else(|| {
        let names = REGISTRY.iter().flat_map(|op| op.signature().names());
        match shoal_lang::did_you_mean(name, names) {
            Some(near) => format!("no stage `{name}`; did you mean '{near}'?"),
            None => {
                let names: Vec<&str> = REGISTRY.iter().map(|op| op.signature().name).collect();
                format!("no stage `{name}`; the stages are: {}", names.join(", "))
            }
        }
    })?;
    let mut out = describe(op.signature(), true);
    for example in op.examples() {
        let _ = write!(out, "\n{}:\n  {}\n\n", example.description, example.query);
        for line in example.output.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    Ok(out)
}

/// A signature's summary, usage (for a stage), help, arguments and options.
fn describe(signature: &Signature, usage: bool) -> String {
    let mut out = format!("{}\n", signature.summary);
    if usage {
        let _ = writeln!(out, "\n  {}", signature.usage());
    }
    if !signature.aliases.is_empty() {
        let _ = writeln!(out, "\n  also: {}", signature.aliases.join(", "));
    }
    if !signature.help.is_empty() {
        let _ = writeln!(out, "\n{}", signature.help);
    }
    for (title, params, is_option) in [
        ("Arguments", signature.params, false),
        ("Options", signature.options, true),
    ] {
        let documented: Vec<&Param> = params.iter().filter(|p| !p.doc.is_empty()).collect();
        if documented.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        for param in documented {
            let _ = writeln!(
                out,
                "  {:<22} {}",
                param_line(param, is_option),
                doc_line(param)
            );
        }
    }
    out
}

/// How an argument or option is written: `by COL, ...`, `seed=N`.
fn param_line(param: &Param, is_option: bool) -> String {
    match (is_option, param.keyword) {
        (true, _) => format!("{}={}", param.name, param.placeholder),
        (false, Some(keyword)) => format!("{keyword} {}", param.placeholder),
        (false, None) => param.placeholder.to_string(),
    }
}

/// What a parameter means, with its default.
fn doc_line(param: &Param) -> String {
    match param.default {
        Some(default) => format!("{} (default {default})", param.doc),
        None => param.doc.to_string(),
    }
}

/// The README's "Language reference" section, in Markdown.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for op in REGISTRY {
        let signature = op.signature();
        let _ = write!(
            out,
            "### `{}`\n\n`{}`\n\n{}\n",
            signature.name,
            signature.usage(),
            signature.summary
        );
        if !signature.help.is_empty() {
            let _ = write!(out, "\n{}\n", signature.help);
        }
        if !signature.aliases.is_empty() {
            let _ = write!(out, "\nAlias: `{}`.\n", signature.aliases.join("`, `"));
        }
        for (params, is_option) in [(signature.params, false), (signature.options, true)] {
            let documented: Vec<&Param> = params.iter().filter(|p| !p.doc.is_empty()).collect();
            if documented.is_empty() {
                continue;
            }
            out.push('\n');
            for param in documented {
                let _ = writeln!(
                    out,
                    "- `{}`: {}",
                    param_line(param, is_option),
                    doc_line(param)
                );
            }
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

    /// The README's "Exit codes" table is the one `shoal help` prints.
    #[test]
    fn the_readme_lists_the_exit_codes_the_command_line_uses() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n## Exit codes\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("README has an Exit codes section");
        let rows: Vec<(u8, String)> = section
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
                Some((cells.first()?.parse().ok()?, cells.get(1)?.to_string()))
            })
            .collect();
        let expected: Vec<(u8, String)> = crate::cli::EXIT_CODES
            .iter()
            .map(|(code, meaning)| (*code, meaning.to_string()))
            .collect();
        assert_eq!(rows, expected);
        let overview = overview();
        for (code, meaning) in crate::cli::EXIT_CODES {
            assert!(
                overview.contains(&format!("  {code:<4} {meaning}\n")),
                "{overview}"
            );
        }
    }

    #[test]
    fn the_alarm_and_bot_help_shows_options_and_an_example_that_compiles() {
        let alarm = stage("alarm").unwrap();
        assert!(
            alarm.contains("fire_after=N") && alarm.contains("notify"),
            "{alarm}"
        );
        let bot = stage("bot").unwrap();
        assert!(bot.contains("limit N per DUR"), "{bot}");
        if let Err(error) = shoal_stdlib::compile_rules(ALARMS_EXAMPLE) {
            panic!("{}", error.render(ALARMS_EXAMPLE, false));
        }
    }

    #[test]
    fn every_source_in_the_overview_compiles() {
        for (syntax, _) in SOURCES {
            if let Err(error) = shoal_stdlib::compile(syntax) {
                panic!("{}", error.render(syntax, false));
            }
        }
    }
}
