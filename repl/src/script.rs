//! `shoal run FILE.shoal [--param KEY=VALUE ...] [--help]`: reads the
//! script, checks its params (shoal-stdlib's `runbook`) and runs it as `-c`
//! runs a query. Every mistake in the params is reported with the file's
//! line, before any host is contacted.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use shoal_stdlib::runbook::Runbook;

use crate::cli::{Cli, EXIT_OK, Options, fail, run_source};
use crate::render::render_error_in;

/// Runs the script at `file` with `params`; with `help`, lists its params
/// instead.
pub fn run(
    file: Option<&Path>,
    params: &[(String, String)],
    help: bool,
    options: &Options,
    color: bool,
) -> ExitCode {
    let Some(file) = file else {
        if help {
            print!("{}", usage());
            return ExitCode::from(EXIT_OK);
        }
        return fail(&format!(
            "error: `shoal run` needs a script: shoal run FILE.shoal\n\n{}",
            usage()
        ));
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) => return fail(&format!("error: cannot read {}: {error}\n", file.display())),
    };
    let name = file.display().to_string();
    let runbook = match Runbook::parse(&text) {
        Ok(runbook) => runbook,
        Err(error) => return fail(&render_error_in(&error, Some(&name), &text, color)),
    };
    if help {
        print!(
            "{}\nParams of {name} (NAME  TYPE  DEFAULT; pass them as --param NAME=VALUE):\n{}",
            usage(),
            runbook.describe_params()
        );
        return ExitCode::from(EXIT_OK);
    }
    match runbook.source(params) {
        Ok(source) => run_source(&source, options, color),
        Err(error) => fail(&render_error_in(&error, Some(&name), &text, color)),
    }
}

/// `shoal run`'s own usage, as clap writes it.
fn usage() -> String {
    let mut command = Cli::command();
    // Built, so that the usage line reads `shoal run`.
    command.build();
    match command.find_subcommand_mut("run") {
        Some(run) => run.render_help().to_string(),
        None => String::new(),
    }
}
