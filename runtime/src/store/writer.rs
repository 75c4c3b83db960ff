//! Group commit for hosts' rows: each row is queued the moment its host
//! answers, and a writer thread commits whatever has queued up in one
//! transaction, then the next batch. The query never waits on the disk,
//! and a burst of answers costs a few commits, not one each; a SIGKILL
//! loses only the hosts in flight and the rows of the commit under way.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rusqlite::{Connection, params};

/// One host's row of a job, as `job_hosts` holds it.
#[derive(Debug)]
pub(super) struct Row {
    pub job: i64,
    pub step: i64,
    pub host: String,
    pub addr: String,
    pub groups: String,
    pub tags: String,
    pub status: &'static str,
    pub exit: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub finished_ms: i64,
}

#[derive(Default)]
struct State {
    queued: Vec<Row>,
    writing: bool,
    closing: bool,
    /// The first write that failed since the last [`Writer::flush`].
    error: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Rows were queued, or the writer is to stop.
    wake: Condvar,
    /// A batch was committed (or failed).
    written: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writer thread and its queue.
pub(super) struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    pub(super) fn start(connection: Arc<Mutex<Connection>>) -> Writer {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("shoal-store".into())
            .spawn({
                let shared = shared.clone();
                move || write_batches(&shared, &connection)
            })
            .ok();
        Writer { shared, thread }
    }

    pub(super) fn push(&self, row: Row) {
        self.shared.state().queued.push(row);
        self.shared.wake.notify_one();
    }

    /// Waits until every queued row is committed; the first write error
    /// since the last flush, if any.
    pub(super) fn flush(&self) -> Option<String> {
        let mut state = self.shared.state();
        while !state.queued.is_empty() || state.writing {
            state = self
                .shared
                .written
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        state.error.take()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shared.state().closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_batches(shared: &Shared, connection: &Mutex<Connection>) {
    loop {
        let rows = {
            let mut state = shared.state();
            while state.queued.is_empty() && !state.closing {
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            if state.queued.is_empty() {
                return;
            }
            state.writing = true;
            std::mem::take(&mut state.queued)
        };
        let result = {
            let mut connection = connection.lock().unwrap_or_else(|p| p.into_inner());
            commit(&mut connection, &rows)
        };
        let mut state = shared.state();
        state.writing = false;
        if let Err(error) = result {
            state.error.get_or_insert(error.to_string());
        }
        shared.written.notify_all();
    }
}

fn commit(connection: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let transaction = connection.transaction()?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO job_hosts (job, step, host, addr, groups, tags, status, exit, stdout, stderr, error, duration_ms, finished_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for row in rows {
            insert.execute(params![
                row.job,
                row.step,
                row.host,
                row.addr,
                row.groups,
                row.tags,
                row.status,
                row.exit,
                row.stdout,
                row.stderr,
                row.error,
                row.duration_ms,
                row.finished_ms,
            ])?;
        }
    }
    transaction.commit()
}
