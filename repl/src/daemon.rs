//! `shoal daemon FILE|DIR` and `shoal bots [pause|resume|reset NAME]`: the
//! command line around shoal-runtime's daemon. Here live what a terminal
//! and a process need: the log lines on stderr with their time, the
//! signals (SIGTERM and Ctrl-C stop after the tick and the wave in flight,
//! a second one at once; SIGHUP reloads the files), `--metrics`, and the
//! bots' table and commands, which need only the job store.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use shoal_runtime::Interrupts;
use shoal_runtime::daemon::{Controls, Daemon, Log, Options as DaemonOptions};
use shoal_runtime::store::{BotCommand, now_ms, timestamp};
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{EXIT_OK, EXIT_USAGE, Options, open_engine, printer};
use crate::render::visible;

/// `shoal daemon`'s own flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// A .shoal file of alarms and bots, or a directory of them.
    // Not `path`: clap names arguments by field, and `--store`'s is `path`.
    #[arg(value_name = "FILE|DIR")]
    pub config: std::path::PathBuf,
    /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// How long a notify command may run before it is killed.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub notify_timeout: Duration,
}

/// `shoal bots`' subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BotsAction {
    /// Stop a bot from acting (its alarm goes on); audited.
    Pause { name: String },
    /// Let a paused bot act again; audited.
    Resume { name: String },
    /// Close every breaker of a bot and forget its earlier actions; audited.
    Reset { name: String },
}

/// `shoal daemon`.
pub fn run(args: &DaemonArgs, options: &Options, color: bool) -> ExitCode {
    let Some(mut engine) = open_engine(options) else {
        return ExitCode::from(EXIT_USAGE);
    };
    // The daemon owns its signals (below); Ctrl-C must not cancel a tick.
    engine.set_interrupts(Interrupts::Untouched);
    let log: Log = Arc::new(|line: &str| {
        eprintln!("{} {}", timestamp(now_ms()), visible(line));
    });
    let signals = match Signals::listen() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: cannot listen for signals: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let daemon_options = DaemonOptions {
        dry_run: options.dry_run,
        notify_timeout: args.notify_timeout,
        color,
    };
    let Some(mut daemon) = Daemon::start(engine, &args.config, daemon_options, log.clone()) else {
        return ExitCode::from(EXIT_USAGE);
    };
    if let Some(addr) = args.metrics {
        match daemon.metrics().serve(addr) {
            Ok(bound) => log(&format!("metrics on http://{bound}/metrics")),
            Err(error) => {
                eprintln!("error: cannot serve metrics on {addr}: {error}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let controls = Arc::new(Controls::default());
    signals.deliver(controls.clone(), daemon.waves(), log);
    daemon.run(&controls);
    ExitCode::from(EXIT_OK)
}

/// SIGTERM, SIGINT and SIGHUP, listened for before the daemon starts so
/// that none of them can end it uncleanly.
struct Signals {
    runtime: tokio::runtime::Runtime,
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (terminate, interrupt, hangup) = {
            let _entered = runtime.enter();
            (
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
            )
        };
        Ok(Signals {
            runtime,
            terminate,
            interrupt,
            hangup,
        })
    }

    /// From a thread of its own: the first SIGTERM or Ctrl-C lets the wave
    /// in flight finish and stops the daemon after its tick; a second ends
    /// the process at once. SIGHUP asks for a reload.
    fn deliver(
        mut self,
        controls: Arc<Controls>,
        waves: Arc<shoal_stdlib::safety::WaveSignal>,
        log: Log,
    ) {
        std::thread::spawn(move || {
            self.runtime.block_on(async move {
                let mut stopping = false;
                loop {
                    tokio::select! {
                        _ = self.terminate.recv() => {}
                        _ = self.interrupt.recv() => {}
                        _ = self.hangup.recv() => {
                            controls.reload();
                            continue;
                        }
                    }
                    if stopping {
                        log("stopping at once");
                        std::process::exit(143);
                    }
                    stopping = true;
                    log("stopping after the tick in flight (and its wave); again to stop at once");
                    waves.request_stop();
                    controls.stop();
                }
            });
        });
    }
}

/// `shoal bots` and its commands: they read and write the job store only.
pub fn bots(action: Option<&BotsAction>, options: &Options) -> ExitCode {
    let store = match options.store.open() {
        Ok(Some(store)) => store,
        Ok(None) => {
            eprintln!("error: the bots live in the job store, and it is off (--no-store)");
            return ExitCode::from(EXIT_USAGE);
        }
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            eprintln!("  = hint: {}", error.hint());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (name, command) = match action {
        None => {
            return match store.bots() {
                Ok(frame) => {
                    printer(options).print(&frame);
                    ExitCode::from(EXIT_OK)
                }
                Err(error) => {
                    eprintln!("error: {}", visible(&error.to_string()));
                    ExitCode::from(EXIT_USAGE)
                }
            };
        }
        Some(BotsAction::Pause { name }) => (name, BotCommand::Pause),
        Some(BotsAction::Resume { name }) => (name, BotCommand::Resume),
        Some(BotsAction::Reset { name }) => (name, BotCommand::Reset),
    };
    match store.control_bot(name, command) {
        Ok(true) => {
            eprintln!(
                "bot {}: {} (recorded in {}); a running daemon hears it on the bot's next tick",
                visible(name),
                command.as_str(),
                Path::new(store.label()).display()
            );
            ExitCode::from(EXIT_OK)
        }
        Ok(false) => {
            let names = store.bot_names().unwrap_or_default();
            let mut message = format!("error: no bot `{}` in the job store", visible(name));
            match shoal_lang::did_you_mean(name, names.iter().map(String::as_str)) {
                Some(near) => message.push_str(&format!("\n  = hint: did you mean '{near}'?")),
                None if names.is_empty() => {
                    message.push_str("\n  = hint: a bot is known once `shoal daemon` has loaded it")
                }
                None => message.push_str(&format!("\n  = hint: the bots: {}", names.join(", "))),
            }
            eprintln!("{message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            ExitCode::from(EXIT_USAGE)
        }
    }
}
