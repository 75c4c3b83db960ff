//! The SSH executor: runs one command, or a batch of them (fused stages), on
//! many hosts over russh, in process, with pooled connections, a bounded
//! fan-out window, explicit timeouts and one cancellation token per query.
//!
//! ```text
//!   Executor::run(hosts, request)            (blocking, on a non-async thread)
//!   Executor::run_batch(hosts, steps)        (a batch: each host's steps in turn)
//!     └─ one task per host, FIFO through a Semaphore of `fanout` permits
//!          ├─ pool:    the host's pooled connection (connect.rs: TCP, kex,
//!          │           known_hosts check in handler.rs, auth.rs), and on it
//!          │           the host's persistent shell, started on first use
//!          ├─ shell:   the commands as one line of remote.rs written to
//!          │           that shell, each one's output framed and bounded
//!          │           (output.rs), the shell given up on timeout or cancel
//!          └─ exec:    where a host has no shell, a new session channel
//!                      per command instead, the command wrapped by remote.rs,
//!                      ended on timeout or cancel, channel closed
//!     results: on_result(index, outcome) in completion order (outcome.rs
//!     decides each status); a panicked task becomes an `error` row
//! ```
//!
//! Invariant: every host given to `run` is reported exactly once.

mod auth;
mod connect;
mod exec;
mod frames;
mod handler;
mod known_hosts;
mod outcome;
mod output;
mod pool;
mod remote;
mod shell;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shoal_stdlib::executor::{Executor, HostOutcome, RunRequest, Status};
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::inventory::Inventory;
use crate::targets::Routes;
use connect::Context;
pub use output::OUTPUT_CAP;
use pool::Pool;
pub use pool::PoolStats;

/// Runs commands on the inventory's hosts over SSH.
pub struct SshExecutor {
    pool: Arc<Pool>,
    runtime: Handle,
    fanout: usize,
    command_timeout: Duration,
    /// The token of the current query; see [`SshExecutor::begin_query`].
    query: Mutex<CancellationToken>,
    /// What the user should know before the first query.
    warnings: Vec<String>,
}

impl SshExecutor {
    /// Keeps each host's route by name (see targets.rs). `runtime` runs the
    /// connections and must outlive the executor; pooled connections stay
    /// on it between runs.
    pub fn new(inventory: &Inventory, routes: &Routes, runtime: Handle) -> Self {
        let settings = &inventory.settings;
        let mut warnings = routes.warnings.clone();
        let mut fanout = settings.fanout;
        let mut max_connections = settings.max_connections.unwrap_or(usize::MAX);
        if let Some(limit) = open_file_budget() {
            if limit.budget < fanout {
                warnings.push(limit.capped(fanout));
                fanout = limit.budget;
            }
            if limit.budget < routes.routes.len() && limit.budget < max_connections {
                warnings.push(limit.too_many_hosts(routes.routes.len()));
            }
            max_connections = max_connections.min(limit.budget);
        }
        SshExecutor {
            pool: Arc::new(Pool::new(
                routes.routes.clone(),
                Context::default(),
                max_connections,
            )),
            runtime,
            fanout: fanout.max(1),
            command_timeout: settings.command_timeout,
            query: Mutex::new(CancellationToken::new()),
            warnings,
        }
    }

    /// Warnings about the settings (unsupported ssh_config options, a
    /// fan-out capped by the open-file limit), to show once.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Installs and returns a fresh token for the runs that follow.
    /// Cancelling it ends in-flight commands (their hosts report
    /// `cancelled`), reports hosts not yet started as `cancelled`, and makes
    /// `run` return within a second. Call it at the start of each query, so
    /// that an earlier Ctrl-C does not cancel the next one.
    pub fn begin_query(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self.query.lock().unwrap_or_else(|p| p.into_inner()) = token.clone();
        self.pool.begin_query();
        token
    }

    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// How many hosts are waiting for a connection right now (at most
    /// `max_connections` are open at once), updated live: what a progress
    /// line shows as queued.
    pub fn queued(&self) -> Arc<std::sync::atomic::AtomicUsize> {
        self.pool.queued()
    }

    /// Starts hosts in inventory order as the window allows, and reports
    /// each as it completes, with a row per step it ran (see
    /// [`Executor::run_batch`]). Permits are taken here rather than in the
    /// tasks so that the order hosts start in is the order they were given.
    async fn run_all(
        &self,
        hosts: &[String],
        steps: &[RunRequest],
        on_result: &mut dyn FnMut(usize, Vec<HostOutcome>),
    ) {
        let cancel = self.query.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // One shared copy of each step's command when every host runs it.
        let shared: Arc<[(Arc<str>, Duration)]> = steps
            .iter()
            .map(|step| {
                let timeout = step.timeout.unwrap_or(self.command_timeout);
                (Arc::from(step.command.as_str()), timeout)
            })
            .collect();
        let same_for_all = steps.iter().all(|step| step.per_host.is_empty());
        let commands_for = |index: usize| -> Arc<[(Arc<str>, Duration)]> {
            if same_for_all {
                return shared.clone();
            }
            steps
                .iter()
                .zip(shared.iter())
                .map(|(step, (command, timeout))| {
                    if step.per_host.is_empty() {
                        (command.clone(), *timeout)
                    } else {
                        (Arc::from(step.command_for(index)), *timeout)
                    }
                })
                .collect()
        };
        let window = Arc::new(Semaphore::new(self.fanout));
        let mut waiting = hosts.iter().enumerate();
        let mut next = waiting.next();
        let mut tasks = JoinSet::new();
        let mut index_of = HashMap::with_capacity(hosts.len());
        let mut reported = vec![false; hosts.len()];
        let mut report = |index: usize, outcomes: Vec<HostOutcome>| {
            if let Some(done) = reported.get_mut(index) {
                *done = true;
            }
            on_result(index, outcomes);
        };
        let not_run = |status, why: &str| vec![HostOutcome::not_run(status, why)];
        loop {
            tokio::select! {
                // Results first: they free permits and reach the user soonest.
                biased;
                Some(joined) = tasks.join_next_with_id() => {
                    let (id, outcomes) = match joined {
                        Ok((id, outcomes)) => (id, outcomes),
                        Err(e) => (e.id(), not_run(Status::Error, &crashed(&e))),
                    };
                    if let Some(&index) = index_of.get(&id) {
                        report(index, outcomes);
                    }
                }
                () = cancel.cancelled(), if next.is_some() => {
                    for (index, _) in next.take().into_iter().chain(waiting.by_ref()) {
                        report(index, not_run(Status::Cancelled, NOT_STARTED));
                    }
                }
                Ok(permit) = window.clone().acquire_owned(), if next.is_some() => {
                    if let Some((index, host)) = next.take() {
                        let task = run_host(
                            self.pool.clone(),
                            host.clone(),
                            commands_for(index),
                            cancel.clone(),
                            permit,
                        );
                        index_of.insert(tasks.spawn(task).id(), index);
                        next = waiting.next();
                    }
                }
                else => break,
            }
        }
        // Unreachable unless tokio loses a task, but a host must never
        // silently disappear.
        let missing: Vec<usize> = (0..hosts.len()).filter(|&i| !reported[i]).collect();
        for index in missing {
            on_result(
                index,
                not_run(Status::Error, "internal error: the host's task vanished"),
            );
        }
    }
}

impl Executor for SshExecutor {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        self.run_batch(
            hosts,
            std::slice::from_ref(request),
            &mut |index, outcomes| {
                // A host always has a row for its first (here its only) step.
                if let Some(outcome) = outcomes.into_iter().next() {
                    on_result(index, outcome);
                }
            },
        );
    }

    /// Each host's steps go to its persistent shell as one line: one round
    /// trip for all of them (shell.rs).
    fn run_batch(
        &self,
        hosts: &[String],
        steps: &[RunRequest],
        on_result: &mut dyn FnMut(usize, Vec<HostOutcome>),
    ) {
        if Handle::try_current().is_err() {
            self.runtime.block_on(self.run_all(hosts, steps, on_result));
            return;
        }
        // Called from inside a runtime, where block_on would panic: run on a
        // helper thread and relay results here as they arrive, so rows still
        // stream and `on_result` stays on the caller's thread.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut relay = |index, outcomes| {
                    let _ = sender.send((index, outcomes));
                };
                self.runtime
                    .block_on(self.run_all(hosts, steps, &mut relay));
                drop(sender);
            });
            for (index, outcomes) in receiver {
                on_result(index, outcomes);
            }
        });
    }
}

/// The `error` of a host the query was cancelled before.
const NOT_STARTED: &str = "cancelled before the command started";

/// One host, start to finish, holding its place in the window; never fails,
/// every path is a row (at least one).
async fn run_host(
    pool: Arc<Pool>,
    host: String,
    commands: Arc<[(Arc<str>, Duration)]>,
    cancel: CancellationToken,
    _permit: OwnedSemaphorePermit,
) -> Vec<HostOutcome> {
    let started = Instant::now();
    run_commands(&pool, &host, &commands, started, &cancel)
        .await
        .unwrap_or_else(|failure| {
            let mut outcome = failure.into_outcome();
            outcome.duration = started.elapsed();
            vec![outcome]
        })
}

/// Runs `commands` on the host's persistent shell, as one line, and what the
/// shell could not run (the host has none, or it was gone before or between
/// the commands) each on a channel of its own. Stops at the first command
/// that neither succeeded nor failed (a timeout, Ctrl-C, a lost connection):
/// the ones after it do not start. Each row's `duration` counts from the end
/// of the one before, the first's from `started`, connecting included.
async fn run_commands(
    pool: &Pool,
    host: &str,
    commands: &[(Arc<str>, Duration)],
    started: Instant,
    cancel: &CancellationToken,
) -> Result<Vec<HostOutcome>, outcome::Failure> {
    let mut done = Vec::with_capacity(commands.len());
    if let Some(shell) = unless_cancelled(cancel, pool.shell(host)).await? {
        let batch: Vec<shell::Command<'_>> = commands
            .iter()
            .map(|(text, timeout)| shell::Command {
                text,
                timeout: *timeout,
            })
            .collect();
        match shell.run(&batch, started, cancel).await {
            Ok((outcomes, idle)) => {
                if let Some(shell) = idle {
                    pool.keep_shell(host, shell).await;
                }
                done = outcomes;
            }
            Err(shell::NotSent::Unsupported) => pool.no_shell(host),
            Err(shell::NotSent::Gone) => {}
            Err(shell::NotSent::Unanswered(why)) => {
                pool.no_shell(host);
                let mut outcome = HostOutcome::not_run(Status::Error, why);
                outcome.duration = started.elapsed();
                return Ok(vec![outcome]);
            }
        }
    }
    let mut begun = Instant::now();
    while let Some((command, timeout)) = commands.get(done.len()) {
        if done.last().is_some_and(|last| !last.completed()) {
            break;
        }
        let channel = match unless_cancelled(cancel, pool.open_channel(host)).await {
            Ok(channel) => channel,
            Err(failure) if done.is_empty() => return Err(failure),
            Err(failure) => {
                done.push(failure.into_outcome());
                break;
            }
        };
        let mut outcome = exec::run(channel, command, *timeout, cancel).await;
        outcome.duration = if done.is_empty() {
            started.elapsed()
        } else {
            begun.elapsed()
        };
        begun = Instant::now();
        done.push(outcome);
    }
    Ok(done)
}

/// What `getting` gets, unless the query is cancelled first: then the
/// command never started on the host.
async fn unless_cancelled<T>(
    cancel: &CancellationToken,
    getting: impl Future<Output = Result<T, outcome::Failure>>,
) -> Result<T, outcome::Failure> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(outcome::Failure::new(Status::Cancelled, NOT_STARTED)),
        got = getting => got,
    }
}

/// The row text for a task that panicked or was aborted.
fn crashed(error: &tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return "internal error: the host's task was cancelled".to_string();
    }
    format!("internal error: the host's task panicked ({error}); this is a bug in shoal")
}

/// File descriptors kept back from the fan-out budget: stdio, the tokio
/// runtime's own, known_hosts and key files, the agent socket, history.
const RESERVED_FDS: u64 = 64;

/// How many hosts can be in flight at once given RLIMIT_NOFILE: each needs
/// its socket (a jump host's tunnel needs none of its own).
struct OpenFileLimit {
    soft: u64,
    hard: u64,
    budget: usize,
}

impl OpenFileLimit {
    fn capped(&self, fanout: usize) -> String {
        format!(
            "warning: fan-out capped at {} hosts in flight (asked for {fanout}) by the open-file \
             limit ({}); raise it to run more at once",
            self.budget,
            self.shown()
        )
    }

    fn too_many_hosts(&self, hosts: usize) -> String {
        format!(
            "warning: {hosts} hosts, but the open-file limit ({}) leaves room for about {} \
             pooled connections; past that, the least recently used idle ones are closed to \
             make room and reconnect when next used; raise the limit to keep them all warm",
            self.shown(),
            self.budget
        )
    }

    fn shown(&self) -> String {
        format!(
            "RLIMIT_NOFILE soft {}, hard {}: `ulimit -Hn`, or LimitNOFILE= for a service",
            self.soft, self.hard
        )
    }
}

/// Pooled connections hold one socket per host for the whole session, so a
/// fleet of a few thousand hosts needs more than the common soft limit of
/// 1024 open files. Raising the soft limit up to the hard limit is what
/// OpenSSH-based tools leave to the user; doing it here saves a confusing
/// "too many open files" row. Returns the limit now in force, or `None`
/// when it cannot be read.
fn open_file_budget() -> Option<OpenFileLimit> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (mut soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        soft = hard;
    }
    let budget = usize::try_from(soft.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
    Some(OpenFileLimit {
        soft,
        hard,
        budget: budget.max(1),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use indexmap::IndexMap;

    use super::*;
    use crate::inventory::{Explicit, HostEntry, Settings};
    use crate::ssh_config::SshConfig;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    /// An inventory of hosts on 127.0.0.1 at `ports`, named `h0`, `h1`...
    fn inventory(ports: &[u16]) -> Inventory {
        Inventory {
            path: PathBuf::from("test.toml"),
            settings: Settings {
                identity_files: Vec::new(),
                known_hosts: PathBuf::from("/nonexistent/known_hosts"),
                fanout: 2,
                max_connections: None,
                connect_timeout: Duration::from_secs(2),
                command_timeout: Duration::from_secs(5),
                accept_new: false,
                default_user: None,
                default_port: 22,
            },
            hosts: ports
                .iter()
                .enumerate()
                .map(|(i, &port)| HostEntry {
                    name: format!("h{i}"),
                    addr: "127.0.0.1".into(),
                    port,
                    user: "nobody".into(),
                    tags: IndexMap::new(),
                    explicit: Explicit {
                        addr: true,
                        port: true,
                        user: true,
                        identity_files: false,
                    },
                    identity_files: Vec::new(),
                })
                .collect(),
            groups: IndexMap::new(),
            overrides: Default::default(),
            warnings: Vec::new(),
            listing: None,
        }
    }

    /// An executor over `inventory(ports)`, with no ssh_config.
    fn executor(ports: &[u16], runtime: &tokio::runtime::Runtime) -> SshExecutor {
        let inventory = inventory(ports);
        let routes = Routes::resolve(&inventory, &SshConfig::default());
        SshExecutor::new(&inventory, &routes, runtime.handle().clone())
    }

    /// A port nothing listens on.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// Runs and returns each host's single outcome, in host order.
    fn run(executor: &SshExecutor, hosts: &[&str]) -> Vec<HostOutcome> {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let request = RunRequest {
            command: "true".into(),
            per_host: Vec::new(),
            timeout: None,
        };
        let mut outcomes: Vec<Vec<HostOutcome>> = vec![Vec::new(); hosts.len()];
        executor.run(&hosts, &request, &mut |index, outcome| {
            outcomes[index].push(outcome)
        });
        outcomes
            .into_iter()
            .map(|mut reported| {
                assert_eq!(reported.len(), 1, "each host is reported exactly once");
                reported.remove(0)
            })
            .collect()
    }

    #[test]
    fn every_host_gets_exactly_one_row() {
        let runtime = runtime();
        let executor = executor(&[closed_port()], &runtime);
        let rows = run(&executor, &["h0", "ghost", "h0"]);
        for row in [&rows[0], &rows[2]] {
            assert_eq!(row.status, Status::Unreachable);
            assert_eq!(row.error.as_deref(), Some("connection refused"));
        }
        assert_eq!(rows[1].status, Status::Error);
        assert_eq!(
            rows[1].error.as_deref(),
            Some("host \"ghost\" is not in the inventory")
        );
        assert_eq!(executor.stats(), PoolStats::default());
    }

    #[test]
    fn a_cancelled_query_reports_every_host_cancelled_at_once() {
        let runtime = runtime();
        let executor = executor(&[closed_port(); 5], &runtime);
        executor.begin_query().cancel();
        let rows = run(&executor, &["h0", "h1", "h2", "h3", "h4"]);
        for row in rows {
            assert_eq!(row.status, Status::Cancelled);
            assert_eq!(row.error.as_deref(), Some(NOT_STARTED));
        }
        // The next query starts with a fresh token.
        executor.begin_query();
        assert_eq!(run(&executor, &["h0"])[0].status, Status::Unreachable);
    }

    #[test]
    fn run_works_from_inside_an_async_context() {
        let runtime = runtime();
        let executor = executor(&[closed_port()], &runtime);
        let caller = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let rows = caller.block_on(async { run(&executor, &["h0", "nope"]) });
        assert_eq!(rows[0].status, Status::Unreachable);
        assert_eq!(rows[1].status, Status::Error);
    }

    #[test]
    fn a_silent_server_times_out_as_unreachable() {
        let runtime = runtime();
        // Accepts TCP but never speaks SSH.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let executor = executor(&[port], &runtime);
        let rows = run(&executor, &["h0"]);
        drop(listener);
        assert_eq!(rows[0].status, Status::Unreachable);
        assert_eq!(rows[0].error.as_deref(), Some("connect timed out after 2s"));
    }

    #[test]
    fn a_panicked_task_becomes_an_error_row() {
        let runtime = runtime();
        let task = runtime.spawn(async { panic!("boom") });
        let error = runtime.block_on(task).unwrap_err();
        let text = crashed(&error);
        assert!(
            text.starts_with("internal error: the host's task panicked"),
            "{text}"
        );
        assert!(text.ends_with("this is a bug in shoal"), "{text}");
    }
}
