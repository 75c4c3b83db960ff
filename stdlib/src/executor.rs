//! The seam between the evaluator and whatever runs commands on hosts: SSH in
//! `shoal-runtime`, a scripted fake in tests and operator examples.
//!
//! Invariant: an [`Executor`] reports exactly one [`HostOutcome`] per host it
//! was given. The evaluator still guards against a missing report (the host
//! becomes an `error` row) so that no host ever silently disappears.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// Why a host's row ended the way it did. The string forms are the values of
/// the `status` column and are part of the user-facing language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The command ran and exited 0.
    Ok,
    /// The command ran and exited non-zero.
    Failed,
    /// The command outlived its timeout and was ended.
    Timeout,
    /// TCP could not connect, or the connect timeout passed.
    Unreachable,
    /// The server refused every credential offered.
    AuthFailed,
    /// The host's key is not in known_hosts.
    HostkeyUnknown,
    /// The host offered a key different from the one in known_hosts.
    HostkeyMismatch,
    /// The run was cancelled before this host finished.
    Cancelled,
    /// Anything else: a protocol error, a lost connection, a bug.
    Error,
}

impl Status {
    /// Every status, in the order the summary line lists them.
    pub const ALL: [Status; 9] = [
        Status::Ok,
        Status::Failed,
        Status::Timeout,
        Status::Unreachable,
        Status::AuthFailed,
        Status::HostkeyUnknown,
        Status::HostkeyMismatch,
        Status::Cancelled,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Unreachable => "unreachable",
            Status::AuthFailed => "auth_failed",
            Status::HostkeyUnknown => "hostkey_unknown",
            Status::HostkeyMismatch => "hostkey_mismatch",
            Status::Cancelled => "cancelled",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `run` stage as the executor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// The command line, passed to the remote shell as is; with `per_host`,
    /// the template the commands came from, for progress lines.
    pub command: String,
    /// When not empty, host `i` runs `per_host[i]` instead of `command`: a
    /// `run` whose `{column}` placeholders differ from host to host, still
    /// one parallel run.
    pub per_host: Vec<String>,
    /// `run ... timeout=DUR`; `None` means the executor's default.
    pub timeout: Option<Duration>,
}

impl RunRequest {
    /// The command host `index` (of the hosts given to `run`) runs.
    pub fn command_for(&self, index: usize) -> &str {
        self.per_host.get(index).unwrap_or(&self.command)
    }

    /// The request for some of its hosts: `indices` into the hosts it was
    /// made for, in the order the new request's hosts are given.
    pub fn subset(&self, indices: &[usize]) -> RunRequest {
        RunRequest {
            command: self.command.clone(),
            per_host: if self.per_host.is_empty() {
                Vec::new()
            } else {
                indices
                    .iter()
                    .map(|&i| self.command_for(i).to_string())
                    .collect()
            },
            timeout: self.timeout,
        }
    }
}

/// What one host did with one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutcome {
    pub stdout: String,
    pub stderr: String,
    /// The exit code, when the command ran to completion.
    pub exit: Option<i32>,
    pub status: Status,
    /// Why the host is not `ok`, in words; also notes truncated output.
    pub error: Option<String>,
    pub duration: Duration,
    /// When the command went out and when its first output came back, where
    /// the executor knows; `None` otherwise.
    pub exchange: Option<Exchange>,
}

/// The controller's side of one command's round trip: the command was sent
/// at `sent`, and the first byte of its output (the start of its first line)
/// arrived `first_output` later. Whatever the command printed first, the
/// host printed it between those two instants, so `facts` can set the
/// host's clock, printed first, against their midpoint as NTP does (error at
/// most half of `first_output`), unaffected by how long the rest took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    /// shoal's wall clock just before the command was written to the host.
    pub sent: SystemTime,
    /// From `sent` until the first output arrived, by a monotonic clock.
    pub first_output: Duration,
}

impl HostOutcome {
    /// Whether the command ran, so that its output means something: where
    /// it did not, stdout is null in results, never "printed nothing". A
    /// command cut short by a timeout, Ctrl-C or a lost connection keeps
    /// what it printed.
    pub fn ran(&self) -> bool {
        self.exit.is_some()
            || self.status == Status::Timeout
            || !self.stdout.is_empty()
            || !self.stderr.is_empty()
    }

    /// Whether the command ran to its end, `ok` or `failed`: the next step
    /// of a batch may start after it.
    pub fn completed(&self) -> bool {
        matches!(self.status, Status::Ok | Status::Failed)
    }

    /// A host that never ran the command, with the reason.
    pub fn not_run(status: Status, error: impl Into<String>) -> Self {
        HostOutcome {
            stdout: String::new(),
            stderr: String::new(),
            exit: None,
            status,
            error: Some(error.into()),
            duration: Duration::ZERO,
            exchange: None,
        }
    }
}

/// Runs one command on many hosts.
///
/// `run` blocks until every host has a result and calls `on_result` once per
/// host, in completion order, with the host's index in `hosts`, so that a
/// progress display can follow along. Cancellation belongs to the
/// implementation: a cancelled run still reports every host (as `cancelled`).
pub trait Executor: Send + Sync {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    );

    /// Runs `steps` on every host, one after another, as one batch: the
    /// fused stages of a pipeline (fused_stages.rs). Calls `on_result` once
    /// per host, in completion order, with a row per step the host ran, in
    /// step order. A host stops at the first step that neither succeeded
    /// nor failed (it timed out, was cancelled, could not be reached): the
    /// steps after it never start, and have no row.
    ///
    /// An executor that can send a host's steps in one round trip (SSH, on
    /// the host's persistent shell) overrides this; the default runs the
    /// steps as one `run` each, with the same stopping rule.
    fn run_batch(
        &self,
        hosts: &[String],
        steps: &[RunRequest],
        on_result: &mut dyn FnMut(usize, Vec<HostOutcome>),
    ) {
        let mut rows: Vec<Vec<HostOutcome>> = vec![Vec::new(); hosts.len()];
        let mut going: Vec<usize> = (0..hosts.len()).collect();
        for step in steps {
            if going.is_empty() {
                break;
            }
            let step_hosts: Vec<String> = going.iter().map(|&i| hosts[i].clone()).collect();
            self.run(&step_hosts, &step.subset(&going), &mut |index, outcome| {
                if let Some(&host) = going.get(index) {
                    rows[host].push(outcome);
                }
            });
            going.retain(|&host| rows[host].last().is_some_and(HostOutcome::completed));
        }
        for (index, outcomes) in rows.into_iter().enumerate() {
            on_result(index, outcomes);
        }
    }
}
