//! `shoal audit`: the job store's record of who ran what, where, when and
//! how it ended, filtered by age, user and host, as a table or JSON.

use std::process::ExitCode;
use std::time::Duration;

use shoal_runtime::store::AuditFilter;

use crate::cli::{EXIT_OK, EXIT_USAGE, Options};
use crate::output::Printer;
use crate::render::visible;
use crate::store_options::parse_age;

#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// Only jobs started within this long, e.g. 2h or 7d. (`--user U`: only U's jobs.)
    #[arg(long, value_name = "DUR", value_parser = parse_age)]
    since: Option<Duration>,
    /// Only jobs that contacted this host.
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
}

/// Prints the audit; exit 2 when there is no store to read.
pub fn run(args: &AuditArgs, options: &Options, printer: &Printer) -> ExitCode {
    let store = match options.store.open() {
        Ok(Some(store)) => store,
        Ok(None) => {
            eprintln!("error: there is no audit without the job store (--no-store)");
            return ExitCode::from(EXIT_USAGE);
        }
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            eprintln!("  = hint: {}", error.hint());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let filter = AuditFilter {
        since: args.since,
        // The global `--user` (the login user elsewhere) filters here: an
        // audit logs in nowhere.
        user: options.user.clone(),
        host: args.host.clone(),
    };
    match store.audit(&filter) {
        Ok(frame) => {
            printer.print(&frame);
            ExitCode::from(EXIT_OK)
        }
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            ExitCode::from(EXIT_USAGE)
        }
    }
}
