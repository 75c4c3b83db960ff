//! The SSH executor: runs one command on many hosts over russh, in process,
//! with pooled connections, a bounded fan-out window, explicit timeouts and
//! one cancellation token per query.
//!
//! ```text
//!   Executor::run(hosts, request)            (blocking, on a non-async thread)
//!     └─ one task per host, FIFO through a Semaphore of `fanout` permits
//!          ├─ pool:    the host's pooled connection (connect.rs: TCP, kex,
//!          │           known_hosts check in handler.rs, auth.rs), and on it
//!          │           the host's persistent shell, started on first use
//!          ├─ shell:   the command as a line of remote.rs written to that
//!          │           shell, its output framed and bounded (output.rs), the
//!          │           shell given up on timeout or cancel
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
        let mut max_connections = usize::MAX;
        if let Some(limit) = open_file_budget() {
            if limit.budget < fanout {
                warnings.push(limit.capped(fanout));
                fanout = limit.budget;
            }
            if limit.budget < routes.routes.len() {
                warnings.push(limit.too_many_hosts(routes.routes.len()));
            }
            max_connections = limit.budget;
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

    /// Starts hosts in inventory order as the window allows, and reports
    /// each as it completes. Permits are taken here rather than in the tasks
    /// so that the order hosts start in is the order they were given.
    async fn run_all(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        let cancel = self.query.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let timeout = request.timeout.unwrap_or(self.command_timeout);
        // One shared copy when every host runs the same command.
        let shared: Arc<str> = Arc::from(request.command.as_str());
        let command_for = |index: usize| -> Arc<str> {
            if request.per_host.is_empty() {
                shared.clone()
            } else {
                Arc::from(request.command_for(index))
            }
        };
        let window = Arc::new(Semaphore::new(self.fanout));
        let mut waiting = hosts.iter().enumerate();
        let mut next = waiting.next();
        let mut tasks = JoinSet::new();
        let mut index_of = HashMap::with_capacity(hosts.len());
        let mut reported = vec![false; hosts.len()];
        let mut report = |index: usize, outcome: HostOutcome| {
            if let Some(done) = reported.get_mut(index) {
                *done = true;
            }
            on_result(index, outcome);
        };
        loop {
            tokio::select! {
                // Results first: they free permits and reach the user soonest.
                biased;
                Some(joined) = tasks.join_next_with_id() => {
                    let (id, outcome) = match joined {
                        Ok((id, outcome)) => (id, outcome),
                        Err(e) => (e.id(), HostOutcome::not_run(Status::Error, crashed(&e))),
                    };
                    if let Some(&index) = index_of.get(&id) {
                        report(index, outcome);
                    }
                }
                () = cancel.cancelled(), if next.is_some() => {
                    for (index, _) in next.take().into_iter().chain(waiting.by_ref()) {
                        report(index, HostOutcome::not_run(Status::Cancelled, NOT_STARTED));
                    }
                }
                Ok(permit) = window.clone().acquire_owned(), if next.is_some() => {
                    if let Some((index, host)) = next.take() {
                        let task = run_host(
                            self.pool.clone(),
                            host.clone(),
                            command_for(index),
                            timeout,
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
                HostOutcome::not_run(Status::Error, "internal error: the host's task vanished"),
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
        if Handle::try_current().is_err() {
            self.runtime
                .block_on(self.run_all(hosts, request, on_result));
            return;
        }
        // Called from inside a runtime, where block_on would panic: run on a
        // helper thread and relay results here as they arrive, so rows still
        // stream and `on_result` stays on the caller's thread.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut relay = |index, outcome| {
                    let _ = sender.send((index, outcome));
                };
                self.runtime
                    .block_on(self.run_all(hosts, request, &mut relay));
                drop(sender);
            });
            for (index, outcome) in receiver {
                on_result(index, outcome);
            }
        });
    }
}

/// The `error` of a host the query was cancelled before.
const NOT_STARTED: &str = "cancelled before the command started";

/// One host, start to finish, holding its place in the window; never fails,
/// every path is a row.
async fn run_host(
    pool: Arc<Pool>,
    host: String,
    command: Arc<str>,
    timeout: Duration,
    cancel: CancellationToken,
    _permit: OwnedSemaphorePermit,
) -> HostOutcome {
    let started = Instant::now();
    let mut outcome = run_command(&pool, &host, &command, timeout, &cancel)
        .await
        .unwrap_or_else(outcome::Failure::into_outcome);
    outcome.duration = started.elapsed();
    outcome
}

/// Runs `command` on the host's persistent shell, or on a channel of its own
/// where the host has no shell or its shell was gone before the command
/// could be sent.
async fn run_command(
    pool: &Pool,
    host: &str,
    command: &str,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<HostOutcome, outcome::Failure> {
    if let Some(shell) = unless_cancelled(cancel, pool.shell(host)).await?
        && let Ok((outcome, idle)) = shell.run(command, timeout, cancel).await
    {
        if let Some(shell) = idle {
            pool.keep_shell(host, shell).await;
        }
        return Ok(outcome);
    }
    let channel = unless_cancelled(cancel, pool.open_channel(host)).await?;
    Ok(exec::run(channel, command, timeout, cancel).await)
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
