//! The `shoal` binary: parses flags and hands off to `shoal-repl`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    shoal_repl::cli::main(shoal_repl::cli::Cli::parse())
}
