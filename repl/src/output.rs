//! Runs query text through the engine and prints what it produces, the same
//! way for `-c`, scripts and the REPL: results on stdout, errors and
//! summaries on stderr.

use std::io::{IsTerminal, Write};

use polars::prelude::*;
use shoal_lang::ErrorKind;
use shoal_runtime::Engine;

use crate::progress::Progress;
use crate::render::{Format, Look, render, render_error, visible_line};

/// How results are printed; the shell's `:set` changes it between queries.
#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    /// Table cells whole: every line, however long (`--full`, `:set full`).
    pub full: bool,
    /// The widest a table may be (`:set width N`); `None`: the terminal's
    /// width when stdout is a terminal, else no limit.
    pub width: Option<usize>,
    /// ANSI colour for status cells and errors.
    pub color: bool,
    /// stdout is a terminal.
    pub terminal: bool,
    /// No warnings, progress or summary lines; errors still print.
    pub quiet: bool,
}

/// How running some text went, for the exit code.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The text did not parse or plan, or a statement failed: exit 2.
    pub errored: bool,
    /// An `assert` did not hold: the query ran and said no, exit 1.
    pub assert_failed: bool,
    /// Ctrl-C cancelled a statement: exit 130.
    pub interrupted: bool,
}

impl Printer {
    /// Compiles and runs every statement in `source`, printing each result
    /// that is not saved with `let`. Stops at the first error or Ctrl-C,
    /// after printing what that statement got so far.
    pub fn run_source(&self, engine: &mut Engine, source: &str) -> Report {
        let plan = match engine.compile(source) {
            Ok(plan) => plan,
            Err(error) => {
                eprint!("{}", render_error(&error, source, self.color));
                return Report {
                    errored: true,
                    ..Report::default()
                };
            }
        };
        // A progress bar only when stderr is a terminal: in a log file it is noise.
        let show_bar = !self.quiet && std::io::stderr().is_terminal();
        let mut printed = 0;
        for statement in &plan.statements {
            let mut progress =
                Progress::new(show_bar, !self.quiet).with_queue(engine.connection_queue());
            let outcome = engine.run(statement, &mut progress);
            // After the result: the result is complete, its history is not.
            let store_warning = outcome.store_warning;
            let report = match outcome.result {
                Ok(frame) => {
                    if statement.bind.is_none() || outcome.interrupted {
                        self.print_result(&frame, printed > 0);
                        printed += 1;
                    }
                    None
                }
                Err(error) => {
                    // The rows an `assert` refused are its answer: printed
                    // as a result, the message after them.
                    if let Some(rows) = progress.take_rejected() {
                        self.print_result(&rows, printed > 0);
                    }
                    eprint!("{}", render_error(&error, source, self.color));
                    let assert_failed = error.kind == ErrorKind::AssertFailed;
                    Some(Report {
                        errored: !assert_failed,
                        assert_failed,
                        interrupted: outcome.interrupted,
                    })
                }
            };
            if let Some(warning) = store_warning {
                eprintln!("{}", crate::render::visible(&warning));
            }
            if let Some(report) = report {
                return report;
            }
            if outcome.interrupted {
                eprintln!("cancelled: the rows above are what finished before Ctrl-C");
                return Report {
                    interrupted: true,
                    ..Report::default()
                };
            }
        }
        Report::default()
    }

    /// How the next result is drawn, with the terminal's width as it is now.
    fn look(&self) -> Look {
        let terminal_width =
            || terminal_size::terminal_size().map(|(terminal_size::Width(w), _)| usize::from(w));
        Look {
            format: self.format,
            full: self.full,
            width: self
                .width
                .or_else(|| self.terminal.then(terminal_width).flatten()),
            color: self.color,
            terminal: self.terminal,
        }
    }

    pub fn print(&self, frame: &DataFrame) {
        self.print_result(frame, false);
    }

    /// Prints one result. In CSV, a result after another starts with an
    /// empty line: each is a block of its own, with its own header row.
    /// JSON needs nothing: each result is one line.
    fn print_result(&self, frame: &DataFrame, after_another: bool) {
        match render(frame, &self.look()) {
            Ok(text) => {
                let mut stdout = std::io::stdout().lock();
                if after_another && self.format == Format::Csv {
                    let _ = stdout.write_all(b"\n");
                }
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            }
            Err(error) => eprintln!("error: cannot print the result: {error}"),
        }
    }
}

/// `:hosts`: the inventory as a table.
pub fn print_inventory(engine: &Engine, printer: &Printer) {
    let fleet = &engine.session().fleet;
    match shoal_stdlib::frame::host_table(fleet, &fleet.hosts.iter().collect::<Vec<_>>()) {
        Ok(frame) => printer.print(&frame),
        Err(error) => eprintln!("error: {}", crate::render::visible(&error.reason)),
    }
    if !fleet.groups.is_empty() {
        let groups: Vec<String> = fleet
            .groups
            .iter()
            .map(|(name, members)| format!("@{} ({})", visible_line(name), members.len()))
            .collect();
        println!("groups: {}", groups.join(", "));
    }
    if !fleet.ssh_config.is_empty() {
        let names: Vec<&str> = fleet.ssh_config.iter().map(|h| h.name.as_str()).collect();
        println!(
            "ssh_config: {} hosts ({}): `hosts from ssh_config`",
            names.len(),
            visible_line(&shoal_lang::fold_hosts(&names))
        );
    }
}

/// `:vars`: the saved results, with their sizes.
pub fn print_vars(engine: &Engine) {
    if engine.session().vars.is_empty() {
        println!("no saved results; save one with: let bad = hosts | ...");
    }
    for (name, frame) in &engine.session().vars {
        println!(
            "${name}: {} rows × {} columns",
            frame.height(),
            frame.width()
        );
    }
}
