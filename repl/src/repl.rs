//! The interactive shell: rustyline with persistent history, completion
//! from the registry, inventory and session, and `|` line continuation.
//!
//! Keys: Tab completes; Ctrl-C at the prompt clears the line and during a
//! query cancels it (partial results are shown); Ctrl-D exits. `:set`
//! changes how results are printed without a restart; `:explain HOST`
//! shows how a host is reached.

use std::path::PathBuf;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper, Highlighter, Hinter};
use shoal_runtime::Engine;
use shoal_stdlib::Session;

use crate::complete::candidates;
use crate::output::{Printer, print_inventory, print_vars};
use crate::render::Format;

#[derive(Helper, Hinter, Highlighter)]
struct ShellHelper {
    /// A copy of the session for completion, refreshed after every line.
    session: Session,
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(candidates(line, pos, &self.session))
    }
}

impl Validator for ShellHelper {
    /// A line ending in `|` continues on the next one.
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if ctx.input().trim_end().ends_with('|') {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

/// `$XDG_STATE_HOME/shoal/history`, else `~/.local/state/shoal/history`.
fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
        })?;
    Some(state.join("shoal").join("history"))
}

/// Runs the shell until Ctrl-D or `:quit`.
pub fn run(engine: &mut Engine, mut printer: Printer) -> rustyline::Result<()> {
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(ShellHelper {
        session: engine.session().clone(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        // A first run has no history yet; that is not an error.
        let _ = editor.load_history(path);
    }
    let from_ssh_config = match engine.session().fleet.ssh_config.len() {
        0 => String::new(),
        n => format!(" (and {n} in ssh_config)"),
    };
    eprintln!(
        "shoal: {} hosts{from_ssh_config}. Type `help`, `:hosts`, `:vars`, `:set`; Tab \
         completes; Ctrl-D exits.",
        engine.inventory().hosts.len()
    );
    loop {
        match editor.readline("shoal> ") {
            Ok(line) => {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line);
                if matches!(line, ":quit" | ":q" | "exit" | "quit") {
                    break;
                }
                handle_line(engine, &mut printer, line);
                if let Some(helper) = editor.helper_mut() {
                    helper.session = engine.session().clone();
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error),
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let (Err(error), false) = (editor.save_history(path), printer.quiet) {
            eprintln!(
                "warning: could not save history to {}: {error}",
                path.display()
            );
        }
    }
    Ok(())
}

fn handle_line(engine: &mut Engine, printer: &mut Printer, line: &str) {
    if line == "help" || line == ":help" {
        print!("{}", crate::help::overview());
        return;
    }
    if let Some(stage) = line.strip_prefix("help ") {
        match crate::help::stage(stage.trim()) {
            Ok(text) => print!("{text}"),
            Err(error) => eprintln!("error: {error}"),
        }
        return;
    }
    if let Some(hint) = outer_command_hint(line) {
        eprintln!("{hint}");
        return;
    }
    if line == ":set" || line.starts_with(":set ") {
        match set(printer, &line[4..]) {
            Ok(settings) => eprintln!("{settings}"),
            Err(error) => eprintln!("error: {error}"),
        }
        return;
    }
    if line == ":explain" || line.starts_with(":explain ") {
        match line[":explain".len()..].trim() {
            "" => eprintln!("error: `:explain HOST` shows how shoal reaches one host"),
            host => match crate::explain_host::render(&engine.explain_host(host)) {
                Ok(text) => print!("{text}"),
                Err(reason) => eprintln!("error: {reason}"),
            },
        }
        return;
    }
    if line == ":watch" || line.starts_with(":watch ") {
        return watch(engine, printer, line[":watch".len()..].trim());
    }
    match line {
        ":hosts" => return print_inventory(engine, printer),
        ":vars" => return print_vars(engine),
        _ => {}
    }
    printer.run_source(engine, line);
}

/// `:watch DUR QUERY`: the query every DUR until Ctrl-C.
fn watch(engine: &mut Engine, printer: &Printer, args: &str) {
    let (every, query) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    match shoal_lang::parse_duration(every) {
        Ok(every) if !every.is_zero() && !query.trim().is_empty() => {
            crate::watch::watch(engine, printer, every, query.trim());
        }
        Ok(_) | Err(_) => eprintln!(
            "error: `:watch DUR QUERY` runs the query every DUR until Ctrl-C, e.g. :watch 10s hosts | run \"uptime\""
        ),
    }
}

/// A line that starts with `shoal`, as a command line would (`shoal help`,
/// `shoal -c QUERY`), is never a query: no pipeline starts with that word.
/// What to type inside the shell instead.
fn outer_command_hint(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    if words.next() != Some("shoal") {
        return None;
    }
    Some(match (words.next(), words.next()) {
        (Some("help"), Some(stage)) => {
            format!("you are in the shoal shell already: type `help {stage}`")
        }
        (Some("help"), None) => "inside the shell, type `help` or `help STAGE`".to_string(),
        _ => "you are in the shoal shell already: type the query itself, \
              e.g. `hosts | count`, or `help`"
            .to_string(),
    })
}

/// The settings `:set` shows.
fn settings(printer: &Printer) -> String {
    let width = printer
        .width
        .map_or_else(|| "auto".to_string(), |w| w.to_string());
    format!(
        "format {} · full {} · width {width}",
        printer.format.name(),
        if printer.full { "on" } else { "off" }
    )
}

const SET_USAGE: &str =
    "`:set format table|json|csv`, `:set full [on|off]`, `:set width N|auto`; `:set` shows them";

/// `:set NAME VALUE`: changes how the next results are printed, and says
/// what the settings are now.
fn set(printer: &mut Printer, args: &str) -> Result<String, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        [] => {}
        ["format", name] => {
            printer.format = Format::from_name(name)
                .ok_or_else(|| format!("no format `{name}`: {SET_USAGE}"))?;
        }
        ["full"] | ["full", "on"] => printer.full = true,
        ["full", "off"] => printer.full = false,
        ["width", "auto"] => printer.width = None,
        ["width", n] => match n.parse::<usize>() {
            Ok(n) if n >= 1 => printer.width = Some(n),
            _ => return Err(format!("`{n}` is not a width: {SET_USAGE}")),
        },
        _ => return Err(format!("unknown setting: {SET_USAGE}")),
    }
    Ok(settings(printer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer() -> Printer {
        Printer {
            format: Format::Table,
            full: false,
            width: None,
            color: false,
            terminal: false,
            quiet: false,
        }
    }

    #[test]
    fn set_changes_format_full_and_width() {
        let mut p = printer();
        assert_eq!(
            set(&mut p, "").unwrap(),
            "format table · full off · width auto"
        );
        assert_eq!(
            set(&mut p, " format  json").unwrap(),
            "format json · full off · width auto"
        );
        assert_eq!(p.format, Format::Json);
        set(&mut p, "full").unwrap();
        assert!(p.full);
        set(&mut p, "full off").unwrap();
        assert!(!p.full);
        assert_eq!(
            set(&mut p, "width 80").unwrap(),
            "format json · full off · width 80"
        );
        assert_eq!(p.width, Some(80));
        set(&mut p, "width auto").unwrap();
        assert_eq!(p.width, None);
        for bad in [
            "format xml",
            "width 0",
            "width wide",
            "colour on",
            "full maybe",
        ] {
            let error = set(&mut p, bad).unwrap_err();
            assert!(error.contains(":set format table|json|csv"), "{error}");
        }
        assert_eq!(p.format, Format::Json, "a bad :set changes nothing");
    }

    #[test]
    fn shoal_typed_inside_the_shell_gets_a_hint() {
        assert_eq!(
            outer_command_hint("shoal help").unwrap(),
            "inside the shell, type `help` or `help STAGE`"
        );
        assert_eq!(
            outer_command_hint("shoal help count").unwrap(),
            "you are in the shoal shell already: type `help count`"
        );
        assert!(
            outer_command_hint("shoal -c 'hosts'")
                .unwrap()
                .contains("type the query itself")
        );
        assert_eq!(outer_command_hint("hosts | count"), None);
        assert_eq!(outer_command_hint("shoals"), None);
    }
}
