//! Writing a job as it runs. A statement becomes a job when it first
//! contacts hosts (its first `run`, `facts`, ...); each host's row is
//! written the moment it arrives, in its own transaction, so a shoal killed
//! mid-job loses only the hosts still in flight. The next shoal to open the
//! store marks a job left `running` by a dead process `interrupted`.
//!
//! A write that fails (a full disk, a store gone read-only) does not stop
//! the query: recording stops for that job, the result is still printed,
//! and [`Store::end_statement`] returns the warning to show.

use std::collections::{HashMap, HashSet};

use rusqlite::params;
use shoal_stdlib::RunObserver;
use shoal_stdlib::executor::{HostOutcome, Status};
use shoal_stdlib::fleet::{Fleet, FleetHost};

use super::writer::Row;
use super::{Store, now_ms};

/// What the store records of a host beside its outcome: the columns a
/// `job N` row shares with `hosts`.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    pub addr: String,
    /// The host's groups, as the `groups` column prints them.
    pub groups: String,
    /// The inventory tags, as a JSON object.
    pub tags: String,
}

/// Records the running statement's commands and host outcomes in a store,
/// as a [`RunObserver`] hears them.
pub struct Recorder<'a> {
    pub store: &'a Store,
    /// What is recorded of each host beside its outcome.
    pub hosts: &'a HashMap<String, HostInfo>,
}

impl RunObserver for Recorder<'_> {
    fn run_started(&mut self, command: &str, _hosts: usize) {
        self.store.run_started(command);
    }

    fn host_finished(&mut self, host: &str, outcome: &HostOutcome) {
        let info = self.hosts.get(host).cloned().unwrap_or_default();
        self.store.host_finished(host, &info, outcome);
    }
}

/// Each host's `addr`, `groups` and tags, as the store records them.
pub fn host_info(fleet: &Fleet) -> HashMap<String, HostInfo> {
    let hosts: Vec<&FleetHost> = fleet.hosts.iter().chain(&fleet.ssh_config).collect();
    let groups = fleet.groups_of(&hosts);
    hosts
        .iter()
        .zip(groups)
        .map(|(host, groups)| {
            let info = HostInfo {
                addr: host.addr.clone(),
                groups,
                tags: serde_json::to_string(&host.tags).unwrap_or_default(),
            };
            (host.name.clone(), info)
        })
        .collect()
}

/// The running statement's job.
#[derive(Debug, Default)]
pub(super) struct Current {
    /// The statement's text, set before it runs; `None` between statements.
    pub query: Option<String>,
    /// What `rerun` runs again, when it differs from `query`.
    pub replay: Option<String>,
    pub parent: Option<u64>,
    /// Lines for the job's record (`act`'s plan and who confirmed it).
    pub notes: Vec<String>,
    /// The job's id once its first command went out.
    pub id: Option<i64>,
    /// The step the next command is (each `run` or `facts` is one).
    pub next_step: i64,
    pub hosts: HashSet<String>,
    pub failed: HashSet<String>,
    /// Why recording stopped, when a write failed.
    pub write_error: Option<String>,
}

impl Store {
    /// A statement is about to run: it becomes a job if it contacts hosts.
    pub fn begin_statement(&self, text: &str) {
        *self.current() = Current {
            query: Some(text.to_string()),
            ..Current::default()
        };
    }

    /// A command goes out: the job's next step.
    pub fn run_started(&self, command: &str) {
        let mut current = self.current();
        if current.query.is_none() || current.write_error.is_some() {
            return;
        }
        let result = (|| {
            let connection = self.connection();
            if current.id.is_none() {
                let query = current.query.clone().unwrap_or_default();
                let replay = current.replay.clone().unwrap_or_else(|| query.clone());
                connection.execute(
                    "INSERT INTO jobs (parent, query, replay, user, inventory, started_ms, status, pid, machine, notes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?9)",
                    params![
                        current.parent.map(|p| p as i64),
                        query,
                        replay,
                        self.user,
                        self.inventory,
                        now_ms(),
                        std::process::id(),
                        machine(),
                        (!current.notes.is_empty()).then(|| current.notes.join("\n")),
                    ],
                )?;
                current.id = Some(connection.last_insert_rowid());
            }
            let step = current.next_step;
            connection.execute(
                "INSERT INTO steps (job, step, command) VALUES (?1, ?2, ?3)",
                params![current.id, step, command],
            )?;
            Ok::<_, rusqlite::Error>(())
        })();
        current.next_step += 1;
        if let Err(error) = result {
            current.write_error = Some(error.to_string());
        }
    }

    /// One host's outcome, queued for the writer at once (writer.rs).
    pub fn host_finished(&self, host: &str, info: &HostInfo, outcome: &HostOutcome) {
        let mut current = self.current();
        let Some(id) = current.id else {
            return;
        };
        if current.write_error.is_some() {
            return;
        }
        current.hosts.insert(host.to_string());
        if outcome.status != Status::Ok {
            current.failed.insert(host.to_string());
        }
        self.writer.push(Row {
            job: id,
            step: current.next_step - 1,
            host: host.to_string(),
            addr: info.addr.clone(),
            groups: info.groups.clone(),
            tags: info.tags.clone(),
            status: outcome.status.as_str(),
            exit: outcome.exit,
            stdout: outcome.ran().then(|| outcome.stdout.clone()),
            stderr: outcome.ran().then(|| outcome.stderr.clone()),
            error: outcome.error.clone(),
            duration_ms: i64::try_from(outcome.duration.as_millis()).unwrap_or(i64::MAX),
            finished_ms: now_ms(),
        });
    }

    /// The statement is over: its job (if it became one) gets its status
    /// and counts. Returns a warning when the job could not be recorded
    /// whole.
    pub fn end_statement(&self, interrupted: bool) -> Option<String> {
        let mut current = std::mem::take(&mut *self.current());
        let id = current.id?;
        if let Some(error) = self.writer.flush() {
            current.write_error.get_or_insert(error);
        }
        let status = if interrupted {
            "interrupted"
        } else if current.failed.is_empty() {
            "ok"
        } else {
            "failed"
        };
        let hosts = current.hosts.len() as i64;
        let failed = current.failed.len() as i64;
        let result = self.connection().execute(
            "UPDATE jobs SET status = ?2, ended_ms = ?3, hosts = ?4, ok = ?5, failed = ?6 WHERE id = ?1",
            params![id, status, now_ms(), hosts, hosts - failed, failed],
        );
        let error = current
            .write_error
            .or_else(|| result.err().map(|e| e.to_string()))?;
        Some(format!(
            "warning: job {id} could not be recorded whole in the job store {}: {error}; the result above is complete, but its history is not",
            self.label
        ))
    }

    /// `rerun`: the job being recorded reruns `parent`'s `replay`.
    pub(super) fn mark_rerun(&self, parent: u64, replay: &str) {
        let mut current = self.current();
        current.parent = Some(parent);
        current.replay = Some(replay.to_string());
        if let Some(id) = current.id {
            // The rerun's first command went out before it said so.
            let _ = self.connection().execute(
                "UPDATE jobs SET parent = ?2, replay = ?3 WHERE id = ?1",
                params![id, parent as i64, replay],
            );
        }
    }

    /// A line for the running statement's job, written with it (or at
    /// once, if its first command already went out).
    pub(super) fn add_note(&self, text: &str) {
        let mut current = self.current();
        current.notes.push(text.to_string());
        if let Some(id) = current.id {
            let notes = current.notes.join("\n");
            if let Err(error) = self.connection().execute(
                "UPDATE jobs SET notes = ?2 WHERE id = ?1",
                params![id, notes],
            ) {
                current.write_error = Some(error.to_string());
            }
        }
    }

    /// Jobs still `running` whose process is gone (on this machine) become
    /// `interrupted`, with the counts of the rows they got to write.
    pub(super) fn mark_dead_jobs_interrupted(&self) -> rusqlite::Result<()> {
        let connection = self.connection();
        let running: Vec<(i64, i64, String)> = connection
            .prepare("SELECT id, pid, machine FROM jobs WHERE status = 'running'")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let here = machine();
        for (id, pid, machine) in running {
            if machine == here && process_alive(pid) {
                continue;
            }
            connection.execute(
                "UPDATE jobs SET status = 'interrupted',
                    ended_ms = (SELECT max(finished_ms) FROM job_hosts WHERE job = ?1),
                    hosts = (SELECT count(DISTINCT host) FROM job_hosts WHERE job = ?1),
                    failed = (SELECT count(DISTINCT host) FROM job_hosts WHERE job = ?1 AND status != 'ok')
                 WHERE id = ?1",
                [id],
            )?;
            connection.execute("UPDATE jobs SET ok = hosts - failed WHERE id = ?1", [id])?;
        }
        Ok(())
    }

    pub(super) fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// This machine's name: a pid only means something on the machine that
/// wrote it (a store on a shared home directory is seen by several).
fn machine() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_default()
}

/// Whether process `pid` exists (signal 0 checks without sending).
fn process_alive(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    pid > 0
        && match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
            Ok(()) => true,
            Err(errno) => errno == nix::errno::Errno::EPERM,
        }
}
