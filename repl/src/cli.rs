//! The command line: flags are parsed and checked first, then turned into an
//! inventory, an executor and a session, which run the query.
//!
//! Exit codes ([`EXIT_CODES`], which `shoal help` and the README list): 0
//! when every host ended `ok`; 1 when the query ran but some host did not,
//! an `assert` did not hold or a check did not pass; 2 for usage, parse,
//! inventory and evaluation errors; 130 when Ctrl-C stopped the query (what
//! finished is printed first).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use shoal_runtime::demo::DemoFleet;
use shoal_runtime::inventory::{Inventory, InventoryError, Overrides};
use shoal_runtime::ssh_config::SshConfig;
use shoal_runtime::{Engine, Interrupts};
use shoal_stdlib::safety::Safety;

use crate::output::Printer;
use crate::render::{Format, render_error, visible};
use crate::{check, explain_host, help, script};

/// The query ran and every host that ran a command ended `ok`.
pub const EXIT_OK: u8 = 0;
/// The query ran, but at least one host did not end `ok`, an `assert` did
/// not hold, or a check did not pass.
pub const EXIT_HOSTS_FAILED: u8 = 1;
/// Bad usage, a query that does not parse or plan, or a bad inventory.
pub const EXIT_USAGE: u8 = 2;
/// Ctrl-C stopped the query; what finished was printed (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Every exit code with its meaning, as `shoal help` and the README's
/// "Exit codes" table give them.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (EXIT_OK, "the query ran and every host ended `ok`"),
    (
        EXIT_HOSTS_FAILED,
        "the query ran, but some host did not end `ok`, an `assert` did not hold, or a check did not pass",
    ),
    (EXIT_USAGE, "usage, parse, inventory or evaluation error"),
    (
        EXIT_INTERRUPTED,
        "Ctrl-C stopped the query; what had finished was printed first",
    ),
];

#[derive(Debug, Parser)]
#[command(
    name = "shoal",
    version,
    disable_help_subcommand = true,
    about = "Ask a whole fleet one question over SSH and compare the answers.",
    after_help = "Exit codes: 0 every host ok; 1 some host not ok, an assert failed or a check did not pass; 2 usage, parse, inventory or evaluation error; 130 interrupted. `shoal help` describes the language, the output formats and the shell."
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
    /// Start a 30-host demo fleet of SSH servers inside shoal and explore it.
    Demo {
        /// Run these statements on the demo fleet, print, and exit.
        #[arg(short = 'c', value_name = "QUERY")]
        command: Option<String>,
    },
    /// With --explain HOST: how shoal reaches that host, each setting with where it came from.
    Hosts {
        /// The host: an inventory host, or any name (reached as `-w NAME` would be).
        host: String,
    },
    /// Print the inventory as `ansible-inventory --list` JSON (hosts, groups, vars).
    Inventory {
        /// Hosts, groups and each host's variables, in ansible-inventory's shape.
        #[arg(long, required = true)]
        list: bool,
    },
    /// Run a script of statements; its `param NAME: TYPE` (and `{{KEY}}`) take `--param NAME=VALUE`.
    #[command(disable_help_flag = true)]
    Run {
        file: Option<PathBuf>,
        /// A script parameter (repeatable).
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = shoal_stdlib::runbook::parse_param)]
        params: Vec<(String, String)>,
        /// Print this help and the script's params, with their types and defaults.
        #[arg(short = 'h', long)]
        help: bool,
    },
    /// Run the catalog of checks, or some levels or ids of it, on every host.
    Check(check::CheckArgs),
    /// Who ran what, where, when, and how it ended: every job in the job store.
    Audit(crate::audit::AuditArgs),
    /// Run the alarms and bots of a .shoal file (or a directory of them) until SIGTERM.
    Daemon(crate::daemon::DaemonArgs),
    /// List the bots with their state; pause, resume or reset one (audited).
    Bots {
        #[command(subcommand)]
        action: Option<crate::daemon::BotsAction>,
    },
    /// Run a query again every interval, marking new and changed rows, until Ctrl-C.
    Watch {
        /// How often, e.g. 10s.
        #[arg(long, value_name = "DUR", value_parser = parse_duration)]
        every: Duration,
        /// The statements to run each time.
        #[arg(short = 'c', value_name = "QUERY")]
        command: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The inventory: shoal TOML, Ansible INI/YAML/JSON, ClusterShell groups (a file or groups.d) or a list of hosts
    /// [default: $SHOAL_INVENTORY, ./shoal.toml, ~/.config/shoal/inventory.toml, $ANSIBLE_INVENTORY,
    /// ./ansible.cfg's inventory, /etc/ansible/hosts].
    #[arg(long, global = true, value_name = "PATH")]
    pub inventory: Option<PathBuf>,
    /// Run CMD with sh and read what it prints as `ansible-inventory --list` JSON.
    #[arg(long, global = true, value_name = "CMD", conflicts_with = "inventory")]
    pub inventory_cmd: Option<String>,
    /// Hosts as a nodeset, as pdsh and clush take them: `web[01-05],db1` (repeatable).
    /// Alone they are the fleet, reached at their names; with --inventory or
    /// --inventory-cmd they pick that inventory's hosts.
    #[arg(short = 'w', long = "nodes", global = true, value_name = "NODESET")]
    pub nodes: Vec<String>,
    /// How results are printed: a table; JSON Lines (one line per result, an array of row
    /// objects); or CSV (one block per result, each with its header, separated by an empty line).
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub format: Format,
    /// Print no warnings, progress or summary lines (errors still print).
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Print the plan as JSON instead of running it (`shoal hosts --explain HOST`: how shoal reaches HOST).
    #[arg(long, global = true)]
    pub explain: bool,
    /// Print table cells whole: every line, however long.
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
    /// At most N host connections open at once; past it the least recently used idle one is closed, and hosts queue for room [default: what the open-file limit allows].
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Default command timeout, e.g. 30s.
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Connect timeout (TCP, key exchange and authentication), e.g. 5s.
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,
    /// The ssh_config to read [default: ~/.ssh/config when it exists].
    #[arg(short = 'F', long = "ssh-config", global = true, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// Read no ssh_config at all (the demo fleet's hosts are not the user's).
    #[arg(skip)]
    pub without_ssh_config: bool,
    #[command(flatten)]
    pub store: crate::store_options::StoreOptions,
    /// `act` without asking: required when there is no terminal (check the plan with --dry-run first).
    #[arg(long, global = true)]
    pub yes: bool,
    /// Every `act` prints its wave plan and changes nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Let one `act` change more than half the inventory (or more than its max_hosts).
    #[arg(long, global = true)]
    pub yes_all_hosts: bool,
    /// Let `run` send a command that looks like a change (systemctl restart, rm, `>` ...).
    #[arg(long, global = true)]
    pub force_run: bool,
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    shoal_lang::parse_duration(text)
}

impl Options {
    fn overrides(&self) -> Overrides {
        Overrides {
            user: self.user.clone(),
            identity_files: self.identities.clone(),
            known_hosts: self.known_hosts.clone(),
            fanout: self.fanout.map(|n| n as usize),
            max_connections: self.max_connections.map(|n| n as usize),
            command_timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            accept_new: self.accept_new,
        }
    }
}

/// Runs the parsed command line.
pub fn main(cli: Cli) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    match (&cli.subcommand, &cli.command) {
        (Some(Command::Help { stage: None }), _) => print_and_exit(help::overview(), EXIT_OK),
        (Some(Command::Help { stage: Some(name) }), _) => match help::stage(name) {
            Ok(text) => print_and_exit(text, EXIT_OK),
            Err(error) => fail(&format!("error: {error}\n")),
        },
        (Some(Command::Run { file, params, help }), _) => {
            script::run(file.as_deref(), params, *help, &cli.options, color)
        }
        (Some(Command::Check(args)), _) => check::run(args, &cli.options, color),
        (Some(Command::Demo { command }), _) => demo(command.as_deref(), &cli.options, color),
        (Some(Command::Audit(args)), _) => {
            crate::audit::run(args, &cli.options, &printer(&cli.options))
        }
        (Some(Command::Hosts { host }), _) => explain_host::command(&cli.options, host),
        (Some(Command::Inventory { .. }), _) => crate::inventory_list::run(&cli.options),
        (Some(Command::Daemon(args)), _) => crate::daemon::run(args, &cli.options, color),
        (Some(Command::Bots { action }), _) => crate::daemon::bots(action.as_ref(), &cli.options),
        (Some(Command::Watch { every, command }), _) => watch(*every, command, &cli.options),
        (None, Some(query)) => run_source(query, &cli.options, color),
        (None, None) => shell(&cli.options, None),
    }
}

/// `shoal watch --every DUR -c QUERY`.
fn watch(every: Duration, query: &str, options: &Options) -> ExitCode {
    let Some(mut engine) = open_engine(options) else {
        return ExitCode::from(EXIT_USAGE);
    };
    match crate::watch::watch(&mut engine, &printer(options), every, query) {
        crate::watch::Ended::Stopped => ExitCode::from(EXIT_OK),
        crate::watch::Ended::Failed => ExitCode::from(EXIT_USAGE),
    }
}

/// The interactive shell, with an optional first message.
fn shell(options: &Options, intro: Option<&str>) -> ExitCode {
    let Some(mut engine) = open_engine(options) else {
        return ExitCode::from(EXIT_USAGE);
    };
    if let Some(intro) = intro {
        eprintln!("{intro}");
    }
    match crate::repl::run(&mut engine, printer(options)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(error) => fail(&format!("error: the terminal failed: {error}\n")),
    }
}

const DEMO_INTRO: &str = "\
Demo fleet: 30 SSH servers running inside this process, on 127.0.0.1.
Commands run in each host's own sandbox, so paths are relative: etc/app/app.conf.
Something is wrong: some hosts fail their health check. Start with:
  hosts | run \"cat etc/app/health\" as health | count by health
The README's quick start walks through finding the cause.";

/// `shoal demo`: starts the embedded fleet and points shoal's ordinary
/// runtime at its generated inventory; nothing else is special.
fn demo(query: Option<&str>, options: &Options, color: bool) -> ExitCode {
    // The demo servers get a runtime of their own, which outlives the
    // engine's: the fleet is dropped (servers stopped, files removed) first.
    let servers = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(&format!(
                "error: cannot start the demo fleet's runtime: {error}\n"
            ));
        }
    };
    let fleet = match servers.block_on(DemoFleet::start()) {
        Ok(fleet) => fleet,
        Err(error) => return fail(&format!("error: cannot start the demo fleet: {error}\n")),
    };
    let mut options = Options {
        inventory: Some(fleet.inventory_path().to_path_buf()),
        inventory_cmd: None,
        without_ssh_config: true,
        ..options.clone()
    };
    // Zero set-up: the demo's history lives and dies with it.
    options.store.in_memory = true;
    let code = match query {
        Some(query) => run_source(query, &options, color),
        None => shell(&options, Some(DEMO_INTRO)),
    };
    drop(fleet);
    code
}

fn print_and_exit(text: String, code: u8) -> ExitCode {
    print!("{text}");
    ExitCode::from(code)
}

/// Prints `message` (shown [`visible`]: it may quote an inventory command's
/// output) and gives the usage exit code.
pub(crate) fn fail(message: &str) -> ExitCode {
    eprint!("{}", visible(message));
    ExitCode::from(EXIT_USAGE)
}

pub(crate) fn printer(options: &Options) -> Printer {
    let terminal = std::io::stdout().is_terminal();
    Printer {
        format: options.format,
        full: options.full,
        width: None,
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
        terminal,
        quiet: options.quiet,
    }
}

/// Loads the inventory and the ssh_config and starts the engine, printing
/// its warnings, or why it could not start.
pub(crate) fn open_engine(options: &Options) -> Option<Engine> {
    open_engine_for(options, false)
}

/// [`open_engine`]; with `history_only` (a query that reads only the job
/// store: `jobs`, `job N`, `saved`), a missing inventory is an empty one.
fn open_engine_for(options: &Options, history_only: bool) -> Option<Engine> {
    let ssh_config = if options.without_ssh_config {
        SshConfig::default()
    } else {
        match SshConfig::load_for_user(options.ssh_config.as_deref()) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {}", visible(&error.to_string()));
                return None;
            }
        }
    };
    let inventory = match load_inventory(options, &ssh_config, history_only) {
        Ok(inventory) => inventory,
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            return None;
        }
    };
    let store = match options.store.open() {
        Ok(store) => store,
        Err(error) if error.disk_full() => {
            eprintln!(
                "warning: {}; this run is not recorded",
                visible(&error.to_string())
            );
            None
        }
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            eprintln!("  = hint: {}", error.hint());
            return None;
        }
    };
    match Engine::new(inventory, &ssh_config) {
        Ok(engine) => {
            let mut engine = match store {
                Some(store) => engine.with_store(store),
                None => engine,
            };
            engine.set_safety(Safety {
                yes: options.yes,
                dry_run: options.dry_run,
                all_hosts: options.yes_all_hosts,
                force_run: options.force_run,
                // Someone who can answer: the question goes to stderr and
                // the answer comes from stdin.
                interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
                ..Safety::default()
            });
            engine.set_interrupts(Interrupts::CancelQuery);
            // Once per shoal process, before the first query, each warning
            // once: the shell's later queries do not repeat them.
            if !options.quiet {
                let mut shown: Vec<&String> = Vec::new();
                for warning in engine.warnings() {
                    if !shown.contains(&warning) {
                        eprintln!("{}", visible(warning));
                        shown.push(warning);
                    }
                }
            }
            Some(engine)
        }
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            None
        }
    }
}

/// The inventory the options name (`--inventory`, `--inventory-cmd`, `-w`, or
/// the places `Inventory::discover` looks), restricted to `-w`'s hosts.
/// The inventory the options name; with `history_only` (a query that
/// reads only the job store), a missing one is an empty one.
pub(crate) fn load_inventory(
    options: &Options,
    ssh_config: &SshConfig,
    history_only: bool,
) -> Result<Inventory, InventoryError> {
    let overrides = options.overrides();
    // `-w` alone: its hosts are the fleet, and no inventory file is read.
    let nodes_only =
        !options.nodes.is_empty() && options.inventory.is_none() && options.inventory_cmd.is_none();
    let loaded = match &options.inventory_cmd {
        _ if nodes_only => Inventory::from_nodesets(&options.nodes, &overrides),
        Some(command) => Inventory::from_command(command, &overrides),
        None => match Inventory::discover(options.inventory.as_deref(), &overrides) {
            // No inventory file, but an ssh_config: its hosts are the fleet
            // (`hosts from ssh_config`). A query of the history needs none.
            Err(InventoryError::NotFound { .. }) if ssh_config.path().is_some() || history_only => {
                Inventory::from_toml("", Path::new("(no inventory)"), &overrides)
            }
            loaded => loaded,
        },
    };
    loaded.and_then(|inventory| inventory.restrict(&options.nodes))
}

/// Whether an inventory is given or can be found: `--explain` checks the
/// plan against one when there is one, and works without.
fn inventory_at_hand(options: &Options) -> bool {
    options.inventory.is_some()
        || options.inventory_cmd.is_some()
        || !options.nodes.is_empty()
        || Inventory::discover(None, &options.overrides()).is_ok()
}

/// Whether every statement of `plan` only reads the job store (or the
/// catalog of checks), so that it can run where no inventory is:
/// `shoal -c 'jobs'` from any directory.
fn reads_only_history(plan: &shoal_stdlib::Plan) -> bool {
    use shoal_lang::plan::PlanSource;
    plan.statements.iter().all(|statement| {
        matches!(
            statement.source,
            PlanSource::Jobs { .. }
                | PlanSource::Job { .. }
                | PlanSource::Saved { .. }
                | PlanSource::Checks
        ) && statement
            .ops
            .iter()
            .all(|step| step.signature.name != "rerun")
    })
}

/// Runs statements non-interactively (`-c` and scripts).
/// The plan as `--explain` prints it: its JSON, and in each statement whose
/// host-side stages fuse, `fused_stages`: each group's stage indices (from
/// 0), whose commands go to each host as one batch, one round trip.
fn explained(plan: &shoal_stdlib::Plan) -> String {
    #[derive(serde::Serialize)]
    struct Statement<'a> {
        #[serde(flatten)]
        planned: &'a shoal_stdlib::PlannedStatement,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fused_stages: Vec<Vec<usize>>,
    }
    #[derive(serde::Serialize)]
    struct Explained<'a> {
        statements: Vec<Statement<'a>>,
    }
    let statements = plan
        .statements
        .iter()
        .map(|planned| Statement {
            planned,
            fused_stages: shoal_stdlib::fused_stages::groups(&planned.ops)
                .into_iter()
                .map(Iterator::collect)
                .collect(),
        })
        .collect();
    serde_json::to_string_pretty(&Explained { statements }).expect("plans serialise")
}

pub(crate) fn run_source(source: &str, options: &Options, color: bool) -> ExitCode {
    let plan = match shoal_stdlib::compile(source) {
        Ok(plan) => plan,
        Err(error) => {
            // Already shown visible, and coloured on a terminal.
            eprint!("{}", render_error(&error, source, color));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if options.explain {
        // With an inventory at hand, the plan is checked against it as a run
        // would be (column names, groups), so --explain fails where the run
        // would, before any host is contacted. Without one it is only parsed.
        if inventory_at_hand(options) {
            let Some(engine) = open_engine(options) else {
                return ExitCode::from(EXIT_USAGE);
            };
            if let Err(error) = engine.compile(source) {
                return fail(&render_error(&error, source, color));
            }
        }
        return print_and_exit(explained(&plan) + "\n", EXIT_OK);
    }
    let Some(mut engine) = open_engine_for(options, reads_only_history(&plan)) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let report = printer(options).run_source(&mut engine, source);
    if report.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if report.assert_failed {
        ExitCode::from(EXIT_HOSTS_FAILED)
    } else if report.errored {
        ExitCode::from(EXIT_USAGE)
    } else if engine.saw_failures() {
        ExitCode::from(EXIT_HOSTS_FAILED)
    } else {
        ExitCode::from(EXIT_OK)
    }
}
