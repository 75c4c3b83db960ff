//! The interactive shell: rustyline with persistent history, completion
//! from the registry, inventory and session, and `|` line continuation.
//!
//! Keys: Tab completes; Ctrl-C at the prompt clears the line and during a
//! query cancels it (partial results are shown); Ctrl-D exits.

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
pub fn run(engine: &mut Engine, printer: &Printer) -> rustyline::Result<()> {
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
        "shoal: {} hosts{from_ssh_config}. Type `help`, `:hosts`, `:vars`; Tab completes; \
         Ctrl-D exits.",
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
                handle_line(engine, printer, line);
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

fn handle_line(engine: &mut Engine, printer: &Printer, line: &str) {
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
    match line {
        ":hosts" => return print_inventory(engine, printer),
        ":vars" => return print_vars(engine),
        _ => {}
    }
    printer.run_source(engine, line);
}
