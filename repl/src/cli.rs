//! The command line: flags are parsed and checked first, then turned into an
//! inventory, an executor and a session, which run the query.
//!
//! Exit codes: 0 when every host ended `ok`; 1 when the query ran but some
//! host did not; 2 for usage, parse and inventory errors.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use shoal_runtime::inventory::{Inventory, Overrides};
use shoal_runtime::ssh::SshExecutor;
use shoal_stdlib::executor::{HostOutcome, Status};
use shoal_stdlib::{RunObserver, Session};

use crate::help;
use crate::render::{Format, render};

/// The query ran and every host that ran a command ended `ok`.
pub const EXIT_OK: u8 = 0;
/// The query ran, but at least one host did not end `ok`.
pub const EXIT_HOSTS_FAILED: u8 = 1;
/// Bad usage, a query that does not parse or plan, or a bad inventory.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "shoal",
    version,
    disable_help_subcommand = true,
    about = "Ask a whole fleet one question over SSH and compare the answers.",
    after_help = "Exit codes: 0 every host ok; 1 some host not ok; 2 usage, parse or inventory error."
)]
pub struct Cli {
    /// Run these statements (separated by `;` or newlines), print, and exit.
    #[arg(short = 'c', value_name = "QUERY")]
    pub command: Option<String>,

    #[command(subcommand)]
    pub subcommand: Option<Command>,

    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe the language, or one stage.
    Help { stage: Option<String> },
}

#[derive(Debug, clap::Args)]
pub struct Options {
    /// The inventory file [default: $SHOAL_INVENTORY, ./shoal.toml, ~/.config/shoal/inventory.toml].
    #[arg(long, global = true, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
    /// How results are printed.
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub format: Format,
    /// Print the plan as JSON instead of running it.
    #[arg(long, global = true)]
    pub explain: bool,
    /// Print long and multi-line cells whole.
    #[arg(long, global = true)]
    pub full: bool,
    /// Log in as this user on every host.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// An identity file to offer (repeatable).
    #[arg(long = "identity", global = true, value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// The known_hosts file host keys are checked against.
    #[arg(long, global = true, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Add unknown host keys to known_hosts (still refuse changed ones).
    #[arg(long, global = true)]
    pub accept_new: bool,
    /// How many hosts run at once.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub fanout: Option<u32>,
    /// Default command timeout, e.g. 30s.
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Connect timeout (TCP, key exchange and authentication), e.g. 5s.
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    shoal_lang::parse_duration(text)
}

impl Options {
    fn overrides(&self) -> Overrides {
        Overrides {
            user: self.user.clone(),
            identity_files: self.identities.clone(),
            known_hosts: self.known_hosts.clone(),
            fanout: self.fanout.map(|n| n as usize),
            command_timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            accept_new: self.accept_new,
        }
    }
}

/// Runs the parsed command line.
pub fn main(cli: Cli) -> ExitCode {
    match (&cli.subcommand, &cli.command) {
        (Some(Command::Help { stage: None }), _) => print_and_exit(help::overview(), EXIT_OK),
        (Some(Command::Help { stage: Some(name) }), _) => match help::stage(name) {
            Ok(text) => print_and_exit(text, EXIT_OK),
            Err(error) => fail(&format!("error: {error}\n")),
        },
        (None, Some(query)) => run_query(query, &cli.options),
        (None, None) => fail(
            "error: the interactive shell is not available yet; pass a query with -c\n  = hint: shoal -c 'hosts | run \"uptime\"'\n",
        ),
    }
}

fn print_and_exit(text: String, code: u8) -> ExitCode {
    print!("{text}");
    ExitCode::from(code)
}

fn fail(message: &str) -> ExitCode {
    eprint!("{message}");
    ExitCode::from(EXIT_USAGE)
}

fn run_query(query: &str, options: &Options) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let plan = match shoal_lang::compile(query) {
        Ok(plan) => plan,
        Err(error) => return fail(&error.render(query, color)),
    };
    if options.explain {
        let json = serde_json::to_string_pretty(&plan).expect("plans serialise");
        return print_and_exit(json + "\n", EXIT_OK);
    }
    let inventory = match Inventory::locate(options.inventory.as_deref())
        .and_then(|path| Inventory::load(&path, &options.overrides()))
    {
        Ok(inventory) => inventory,
        Err(error) => return fail(&format!("error: {error}\n")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("error: cannot start the async runtime: {error}\n")),
    };
    let executor = SshExecutor::new(&inventory, runtime.handle().clone());
    let mut session = Session::new(inventory.fleet());
    let mut summary = Summary::default();
    let mut stdout = std::io::stdout().lock();
    for statement in &plan.statements {
        let result = session.eval(statement, &executor, &mut summary);
        let frame = match result {
            Ok(frame) => frame,
            Err(error) => {
                let _ = stdout.flush();
                return fail(&error.render(query, color));
            }
        };
        if statement.bind.is_some() {
            continue;
        }
        match render(&frame, options.format, options.full) {
            Ok(text) => {
                let _ = stdout.write_all(text.as_bytes());
            }
            Err(error) => return fail(&format!("error: cannot print the result: {error}\n")),
        }
    }
    let _ = stdout.flush();
    if summary.any_not_ok {
        ExitCode::from(EXIT_HOSTS_FAILED)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

/// Counts each run's statuses and prints one line per run on stderr:
/// `200 hosts: 196 ok, 3 failed, 1 unreachable · 2.1 s`.
#[derive(Default)]
struct Summary {
    counts: Vec<(Status, usize)>,
    started: Option<Instant>,
    any_not_ok: bool,
}

impl RunObserver for Summary {
    fn run_started(&mut self, _command: &str, _hosts: usize) {
        self.counts.clear();
        self.started = Some(Instant::now());
    }

    fn host_finished(&mut self, _host: &str, outcome: &HostOutcome) {
        self.any_not_ok |= outcome.status != Status::Ok;
        match self.counts.iter_mut().find(|(s, _)| *s == outcome.status) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((outcome.status, 1)),
        }
    }

    fn run_finished(&mut self) {
        eprintln!("{}", self.line());
    }
}

impl Summary {
    fn line(&self) -> String {
        let total: usize = self.counts.iter().map(|(_, n)| n).sum();
        let parts: Vec<String> = Status::ALL
            .iter()
            .filter_map(|status| {
                let (_, n) = self.counts.iter().find(|(s, _)| s == status)?;
                Some(format!("{n} {status}"))
            })
            .collect();
        let seconds = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let noun = if total == 1 { "host" } else { "hosts" };
        // Warm runs finish in fractions of a second; show them to the 10 ms.
        let precision = if seconds < 10.0 { 2 } else { 1 };
        format!("{total} {noun}: {} · {seconds:.precision$} s", parts.join(", "))
    }
}
