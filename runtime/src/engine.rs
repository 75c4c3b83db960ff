//! The query engine: what runs shoal's queries, for every entry point of the
//! `shoal` command line (`-c`, scripts, the shell, the demo) and for any
//! program that embeds shoal.
//!
//! An [`Engine`] owns one inventory, a tokio runtime, one SSH executor whose
//! connections are pooled across queries, and the session: the results
//! saved with `let`, which later queries read as `$name`. Its API is
//! synchronous — each call blocks until the query is done — so it embeds
//! in any program without that program using async itself.
//!
//! ```no_run
//! let mut engine = shoal_runtime::Engine::open("fleet.toml")?;
//! let frame = engine.query("hosts | run \"uptime\"")?;
//! println!("{frame}");
//! # Ok::<(), shoal_runtime::Error>(())
//! ```
//!
//! [`Engine::query`] is the whole-text call; the command line uses the
//! pieces it is made of, [`Engine::compile`] and [`Engine::run`], to print each
//! statement's result and show progress as hosts answer.
//!
//! Nothing here draws on a terminal. Progress goes to the
//! [`RunObserver`] the caller passes, and Ctrl-C cancels a query only when
//! the caller asks for it with [`Engine::set_interrupts`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::DataFrame;
use shoal_stdlib::executor::{Executor, HostOutcome, Status};
use shoal_stdlib::fuse::{Prefetch, Replay};
use shoal_stdlib::history::HistoryHandle;
use shoal_stdlib::safety::Safety;
use shoal_stdlib::{Plan, PlannedStatement, Quiet, RunObserver, Session, compile};
use tokio::runtime::Runtime;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::inventory::{Inventory, InventoryError, Overrides};
use crate::ssh::SshExecutor;
use crate::ssh_config::SshConfig;
use crate::store::{HostInfo, Recorder, Store, host_info};
use crate::targets::{ExplainedRoute, Routes};

/// Why an engine could not start, or a query did not give a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The inventory could not be read or is not valid ([`Engine::open`]).
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The engine's tokio runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The query does not parse or plan, or one of its statements failed.
    /// [`Error::render`] (or the inner error's `render`) points at the
    /// place in the query text.
    #[error(transparent)]
    Query(#[from] shoal_lang::Error),
    /// Ctrl-C cancelled a statement (only with [`Interrupts::CancelQuery`]):
    /// `partial` is what it got before, with the hosts still running then
    /// marked `cancelled`. The statements after it did not run.
    #[error("the query was cancelled by Ctrl-C")]
    Cancelled { partial: DataFrame },
}

impl Error {
    /// The error as the shoal command line prints it, ending in a newline:
    /// for a query error, with the line of `source` it is about and a
    /// caret under the place. `color` adds ANSI colours for a terminal.
    pub fn render(&self, source: &str, color: bool) -> String {
        match self {
            Error::Query(error) => error.render(source, color),
            other => format!("error: {other}\n"),
        }
    }
}

/// What SIGINT (Ctrl-C) does while the engine runs a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Interrupts {
    /// The engine installs no signal handler: SIGINT does whatever the
    /// process already does with it (by default, end the process). For
    /// programs that own their signals, such as a bot or a service.
    #[default]
    Untouched,
    /// What the shoal command line does. The first Ctrl-C during a query
    /// cancels it: hosts still running end `cancelled`, the results so far
    /// are returned ([`Outcome::interrupted`]), and a line on stderr says
    /// so; a second Ctrl-C ends the process at once with status 130. Once
    /// a query ran this way, SIGINT no longer ends the process by default
    /// between queries either (tokio keeps its handler for good).
    CancelQuery,
}

/// What running one statement produced ([`Engine::run`]).
pub struct Outcome {
    /// The result, or the error that stopped the statement. A `let`
    /// statement's result is saved in the session and also returned here.
    pub result: shoal_lang::Result<DataFrame>,
    /// True when Ctrl-C cancelled the statement: `result` then holds what
    /// finished before it.
    pub interrupted: bool,
    /// Set when the job store could not record the statement whole (a full
    /// disk): the result is complete, its history is not.
    pub store_warning: Option<String>,
}

/// Runs queries against one inventory's hosts over SSH; see the
/// [module documentation](self).
///
/// Synchronous: the engine owns the tokio runtime its connections run on,
/// and every call blocks until its query is done. Call it from ordinary
/// (non-async) code, such as `main` or a thread of its own; from inside an
/// async task, go through `tokio::task::spawn_blocking`, since a runtime
/// cannot block inside another.
pub struct Engine {
    // Field order matters: the executor's connections close before the
    // runtime that drives them shuts down.
    executor: SshExecutor,
    runtime: Runtime,
    session: Session,
    inventory: Inventory,
    /// Kept to explain a host's settings on request (`shoal hosts --explain`).
    ssh_config: SshConfig,
    interrupts: Interrupts,
    /// Whether any host of any run so far did not end `ok`.
    saw_failures: bool,
    /// Where each statement that contacts hosts is recorded, if anywhere.
    store: Option<Arc<Store>>,
    /// What the store records of each host beside its outcome.
    host_info: HashMap<String, HostInfo>,
    /// Whether statements that contact hosts become jobs ([`Engine::record_jobs`]).
    record: bool,
}

impl Engine {
    /// Starts an engine for the inventory file at `path`, in any format
    /// shoal reads (shoal TOML, Ansible INI/YAML/JSON, ClusterShell groups,
    /// a list of hosts), with no command-line overrides and no ssh_config:
    /// each host is reached exactly as the inventory says. To read the
    /// user's `~/.ssh/config` as the command line does, load the pieces
    /// yourself and call [`Engine::new`]:
    ///
    /// ```no_run
    /// use shoal_runtime::inventory::{Inventory, Overrides};
    /// use shoal_runtime::ssh_config::SshConfig;
    ///
    /// let inventory = Inventory::load("fleet.toml".as_ref(), &Overrides::default())?;
    /// let ssh_config = SshConfig::load_for_user(None)?;
    /// let engine = shoal_runtime::Engine::new(inventory, &ssh_config)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Engine, Error> {
        let inventory = Inventory::load(path.as_ref(), &Overrides::default())?;
        Engine::new(inventory, &SshConfig::default())
    }

    /// Starts an engine whose hosts are reached as `inventory` and
    /// `ssh_config` say together. No host is contacted yet: connections
    /// are made by the first query that runs a command, then pooled.
    /// Ctrl-C is left alone ([`Interrupts::Untouched`]).
    pub fn new(inventory: Inventory, ssh_config: &SshConfig) -> Result<Engine, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let routes = Routes::resolve(&inventory, ssh_config);
        let executor = SshExecutor::new(&inventory, &routes, runtime.handle().clone());
        Ok(Engine {
            executor,
            runtime,
            session: Session::new(routes.fleet(&inventory, ssh_config)),
            inventory,
            ssh_config: ssh_config.clone(),
            interrupts: Interrupts::default(),
            saw_failures: false,
            store: None,
            host_info: HashMap::new(),
            record: true,
        })
    }

    /// Records every statement that contacts hosts in `store` as a job, and
    /// lets queries read it (`jobs`, `job N`, `rerun`, `save`, `saved`,
    /// `drift from`). Without a store those are errors saying so.
    pub fn with_store(mut self, store: Store) -> Engine {
        let store = Arc::new(store.with_inventory(&self.inventory.path.display().to_string()));
        self.host_info = host_info(&self.session.fleet);
        self.session.history = HistoryHandle(store.clone());
        self.store = Some(store);
        self
    }

    /// The guards on changing hosts: `--yes`, `--dry-run`,
    /// `--yes-all-hosts`, `--force-run`, and whether someone is at a
    /// terminal to confirm an `act`. The defaults refuse every `act` that
    /// nobody confirms.
    pub fn set_safety(&mut self, safety: Safety) {
        self.session.safety = Safety {
            waves: self.session.safety.waves.clone(),
            ..safety
        };
    }

    /// The job store, when there is one.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_deref()
    }

    /// The job store, shared: for what runs beside the engine and writes
    /// its own records (`shoal daemon`'s notifier).
    pub fn shared_store(&self) -> Option<Arc<Store>> {
        self.store.clone()
    }

    /// Whether the statements that follow are recorded as jobs (they are by
    /// default). `shoal daemon` turns it off for its alarm queries, which
    /// it records as ticks, and on for the `act` of its bots.
    pub fn record_jobs(&mut self, record: bool) {
        self.record = record;
    }

    /// Saves `frame` as `$name` for later statements, as `let` does: how a
    /// program hands the engine rows it made itself.
    pub fn bind(&mut self, name: &str, frame: DataFrame) {
        self.session.vars.insert(name.to_string(), frame);
    }

    /// Chooses what Ctrl-C does during the queries that follow.
    pub fn set_interrupts(&mut self, interrupts: Interrupts) {
        self.interrupts = interrupts;
    }

    /// Compiles `source` and runs its statements in order (a `let` saves
    /// its result for later statements and queries, as `$name`), and
    /// returns the last statement's result. Stops at the first error.
    ///
    /// A host that cannot be reached or whose command fails is not an
    /// error: it is a row with its `status` (see [`Engine::saw_failures`]).
    pub fn query(&mut self, source: &str) -> Result<DataFrame, Error> {
        self.query_with(source, &mut Quiet)
    }

    /// [`Engine::query`], telling `observer` how each `run` stage
    /// progresses (for a progress bar, or to log hosts as they answer).
    pub fn query_with(
        &mut self,
        source: &str,
        observer: &mut dyn RunObserver,
    ) -> Result<DataFrame, Error> {
        let plan = self.compile(source)?;
        let mut last = None;
        for statement in &plan.statements {
            let outcome = self.run(statement, observer);
            let frame = outcome.result?;
            if outcome.interrupted {
                return Err(Error::Cancelled { partial: frame });
            }
            last = Some(frame);
        }
        last.ok_or_else(|| Error::Query(shoal_lang::Error::new("the query has no statement", None)))
    }

    /// Parses, plans and checks every statement of `source` against this
    /// engine's fleet and saved results: a mistake anywhere in it (a column
    /// typo in the last statement, an unknown group) is found before the
    /// first host is contacted.
    pub fn compile(&self, source: &str) -> Result<Plan, shoal_lang::Error> {
        let plan = compile(source)?;
        self.session.check(&plan)?;
        Ok(plan)
    }

    /// Runs one compiled statement, telling `observer` how its `run`
    /// stages progress, and cancelling it on Ctrl-C if
    /// [`Interrupts::CancelQuery`] was chosen.
    pub fn run(&mut self, statement: &PlannedStatement, observer: &mut dyn RunObserver) -> Outcome {
        self.run_with(statement, None, observer)
    }

    /// Sends the first command each of `statements` would send to each
    /// host, all of a host's fused into one command (shoal-stdlib's
    /// `fuse`), so that statements that do not depend on one another, such
    /// as checks, cost one round trip per host rather than one each. Run
    /// them afterwards with [`Engine::run_prefetched`]. `observer` hears of
    /// the one fused run; nothing is recorded until the statements run.
    /// The flag is true when Ctrl-C cancelled it.
    pub fn prefetch(
        &mut self,
        statements: &[&PlannedStatement],
        observer: &mut dyn RunObserver,
    ) -> (Prefetch, bool) {
        let token = self.executor.begin_query();
        let watcher = self.watch_interrupts(&token);
        let wanted = self.session.first_commands(statements);
        let prefetch = Prefetch::run(&wanted, &self.executor, observer);
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        (prefetch, token.is_cancelled())
    }

    /// [`Engine::run`], with the commands `prefetch` already has answered
    /// from it; anything else runs as usual. Each statement is still its
    /// own job in the store, with its hosts' rows.
    pub fn run_prefetched(
        &mut self,
        statement: &PlannedStatement,
        prefetch: &Prefetch,
        observer: &mut dyn RunObserver,
    ) -> Outcome {
        self.run_with(statement, Some(prefetch), observer)
    }

    fn run_with(
        &mut self,
        statement: &PlannedStatement,
        prefetch: Option<&Prefetch>,
        observer: &mut dyn RunObserver,
    ) -> Outcome {
        let token = self.executor.begin_query();
        let watcher = self.watch_interrupts(&token);
        let store = self.store.as_deref().filter(|_| self.record);
        if let Some(store) = store {
            store.begin_statement(&statement.text);
        }
        let mut tally = Tally {
            observer,
            any_not_ok: false,
            recorder: store.map(|store| Recorder {
                store,
                hosts: &self.host_info,
            }),
        };
        let replay;
        let executor: &dyn Executor = match prefetch {
            Some(prefetch) => {
                replay = Replay {
                    prefetch,
                    live: &self.executor,
                };
                &replay
            }
            None => &self.executor,
        };
        let result = self.session.eval(statement, executor, &mut tally);
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        self.saw_failures |= tally.any_not_ok;
        // Ctrl-C that only stopped `act`'s waves interrupted the statement too.
        let interrupted = self.session.safety.waves.take_stop() | token.is_cancelled();
        Outcome {
            result,
            interrupted,
            store_warning: store.and_then(|store| store.end_statement(interrupted)),
        }
    }

    /// With [`Interrupts::CancelQuery`], a task that cancels `token` on the
    /// first Ctrl-C and ends the process on the second; abort it when the
    /// query is done.
    fn watch_interrupts(&self, token: &CancellationToken) -> Option<JoinHandle<()>> {
        match self.interrupts {
            Interrupts::Untouched => None,
            Interrupts::CancelQuery => Some(self.runtime.spawn({
                let token = token.clone();
                let waves = self.session.safety.waves.clone();
                async move {
                    // One stream for every press: a second `ctrl_c()` would
                    // only hear signals sent after it subscribed, so a second
                    // Ctrl-C landing while the first is handled would be lost.
                    let Ok(mut interrupts) = signal(SignalKind::interrupt()) else {
                        return;
                    };
                    if interrupts.recv().await.is_none() {
                        return;
                    }
                    // While `act` runs waves, the first press only stops the
                    // next wave from starting: a wave cut in half leaves
                    // hosts half-changed.
                    if waves.running() {
                        waves.request_stop();
                        eprintln!("\nstopping after this wave… (Ctrl-C again to abort it)");
                        if interrupts.recv().await.is_none() {
                            return;
                        }
                    }
                    token.cancel();
                    eprintln!("\ncancelling… (Ctrl-C again to quit at once)");
                    if interrupts.recv().await.is_some() {
                        std::process::exit(130);
                    }
                }
            })),
        }
    }

    /// Whether any host of any query so far did not end `ok` (it failed,
    /// timed out, was unreachable, ...): the command line then exits 1.
    pub fn saw_failures(&self) -> bool {
        self.saw_failures
    }

    /// What the user should be told before the first query: ssh_config
    /// options shoal does not support, a fan-out capped by the open-file
    /// limit.
    pub fn warnings(&self) -> &[String] {
        self.executor.warnings()
    }

    /// How many hosts are waiting for a connection right now, updated live
    /// (see `max_connections`): for a progress line.
    pub fn connection_queue(&self) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
        self.executor.queued()
    }

    /// The inventory the engine was started with.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// How the engine would reach `name` (an inventory host, or any other
    /// name as `-w NAME` would reach it), every setting with where it came
    /// from: what `shoal hosts --explain` prints.
    pub fn explain_host(&self, name: &str) -> ExplainedRoute {
        Routes::explain(&self.inventory, &self.ssh_config, name)
    }

    /// The fleet as queries see it, and the results saved with `let`.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// Passes every event on to the caller's observer, noting whether any host
/// did not end `ok`, and records each host's outcome in the job store as it
/// arrives.
struct Tally<'a> {
    observer: &'a mut dyn RunObserver,
    any_not_ok: bool,
    recorder: Option<Recorder<'a>>,
}

impl RunObserver for Tally<'_> {
    fn run_started(&mut self, command: &str, hosts: usize) {
        if let Some(recorder) = &mut self.recorder {
            recorder.run_started(command, hosts);
        }
        self.observer.run_started(command, hosts);
    }

    fn host_finished(&mut self, host: &str, outcome: &HostOutcome) {
        self.any_not_ok |= outcome.status != Status::Ok;
        if let Some(recorder) = &mut self.recorder {
            recorder.host_finished(host, outcome);
        }
        self.observer.host_finished(host, outcome);
    }

    fn run_finished(&mut self) {
        self.observer.run_finished();
    }

    fn fused(&mut self, later: usize) {
        self.observer.fused(later);
    }

    fn note(&mut self, stage: &str, text: &str) {
        self.observer.note(stage, text);
    }

    fn confirm(&mut self, summary: &str, expected: usize) -> bool {
        self.observer.confirm(summary, expected)
    }

    fn rejected(&mut self, stage: &str, rows: &DataFrame) {
        self.observer.rejected(stage, rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoFleet;

    /// A demo fleet and an engine on it; the engine drops first.
    fn demo() -> (Engine, DemoFleet) {
        let fleet = DemoFleet::start_blocking().expect("the demo fleet starts");
        let engine = Engine::open(fleet.inventory_path()).expect("the engine starts");
        (engine, fleet)
    }

    fn counts(frame: &DataFrame, key: &str) -> Vec<(String, u64)> {
        let keys = frame.column(key).unwrap().str().unwrap();
        let counts = frame.column("count").unwrap().u64().unwrap();
        keys.iter()
            .zip(counts.iter())
            .map(|(k, n)| (k.unwrap().to_string(), n.unwrap()))
            .collect()
    }

    #[test]
    fn a_query_returns_its_last_statements_frame() {
        let (mut engine, _fleet) = demo();
        let frame = engine
            .query("hosts | run \"cat etc/app/health\" as health | count by health")
            .unwrap();
        assert_eq!(
            counts(&frame, "health"),
            [("OK".to_string(), 23), ("FAIL".to_string(), 7)]
        );
        assert!(!engine.saw_failures(), "every `cat` ended ok");
    }

    #[test]
    fn let_saves_a_result_for_the_same_and_later_queries() {
        let (mut engine, _fleet) = demo();
        let frame = engine
            .query(
                "let bad = hosts | run \"cat etc/app/health\" as health | filter health = FAIL\n\
                 $bad | count",
            )
            .unwrap();
        assert_eq!(
            frame.column("count").unwrap().u64().unwrap().get(0),
            Some(7)
        );
        assert_eq!(engine.session().vars["bad"].height(), 7);
        let frame = engine.query("$bad | count by role").unwrap();
        assert_eq!(
            counts(&frame, "role").iter().map(|(_, n)| n).sum::<u64>(),
            7
        );
    }

    #[test]
    fn hosts_that_fail_are_rows_and_are_remembered() {
        let (mut engine, _fleet) = demo();
        let frame = engine
            .query("hosts | run \"sh healthcheck.sh\" | count by status")
            .unwrap();
        assert_eq!(
            counts(&frame, "status"),
            [("ok".to_string(), 23), ("failed".to_string(), 7)]
        );
        assert!(engine.saw_failures());
    }

    /// The caller's observer hears every run, through the engine's tally.
    #[test]
    fn the_observer_hears_each_run_and_host() {
        #[derive(Default)]
        struct Log(Vec<String>);
        impl RunObserver for Log {
            fn run_started(&mut self, command: &str, hosts: usize) {
                self.0.push(format!("{command} on {hosts}"));
            }
            fn host_finished(&mut self, _host: &str, _outcome: &HostOutcome) {
                self.0.push("host".into());
            }
            fn run_finished(&mut self) {
                self.0.push("done".into());
            }
        }
        let (mut engine, _fleet) = demo();
        let mut log = Log::default();
        engine
            .query_with("hosts @db | run \"true\"", &mut log)
            .unwrap();
        let hosts = log.0.iter().filter(|e| *e == "host").count();
        assert!(log.0[0].ends_with(&format!("on {hosts}")), "{:?}", log.0);
        assert!(hosts > 0);
        assert_eq!(log.0.last().map(String::as_str), Some("done"));
    }

    #[test]
    fn query_errors_render_against_the_query() {
        let (mut engine, _fleet) = demo();
        let source = "hosts | filtr az=x";
        let error = engine.query(source).unwrap_err();
        assert!(matches!(error, Error::Query(_)), "{error:?}");
        let text = error.render(source, false);
        assert!(text.contains("1 | hosts | filtr az=x"), "{text}");
        assert!(text.contains("^^^^^"), "{text}");

        let error = engine.query("  \n").unwrap_err();
        assert_eq!(
            error.render("", false),
            "error: the query has no statement\n"
        );
    }

    #[test]
    fn a_missing_inventory_is_an_inventory_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = Engine::open(dir.path().join("nope.toml")).err().unwrap();
        assert!(matches!(error, Error::Inventory(_)), "{error:?}");
        assert!(
            error.render("", false).starts_with("error: inventory "),
            "{error}"
        );
    }

    /// An embedder may move the engine to a thread of its own.
    #[test]
    fn the_engine_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<Engine>();
        send::<Error>();
    }
}
