//! The job store: shoal's system of record, one SQLite file. Every
//! statement that contacts hosts is a job, written row by row as hosts
//! answer; `save` keeps named baselines; `shoal audit` reads it all back.
//!
//! ```text
//!   schema.rs      the numbered migrations, and refusing foreign files
//!   record.rs      writing a job as it runs
//!   writer.rs      committing hosts' rows in batches, off the query's thread
//!   history.rs     the language's view: jobs, job N, rerun, baselines
//!   frames.rs      a baseline's DataFrame as stored text
//!   retention.rs   deleting by age and by size, and VACUUM
//!   listing.rs     the jobs table as a frame, for `jobs` and the audit
//!   audit.rs       `shoal audit`
//!   daemon.rs      `shoal daemon`: ticks, alarm states, events, bot
//!                  actions and breakers; `shoal bots`
//! ```
//!
//! The file is opened in WAL mode with `synchronous=NORMAL`: hosts' rows
//! are committed in small batches as they arrive (writer.rs), durable once
//! committed against a crash of shoal (SIGKILL loses only the hosts still
//! in flight and the batch being committed), though not against a power
//! cut between checkpoints. A busy timeout lets two shoal processes write
//! at once.

mod audit;
mod daemon;
mod frames;
mod history;
mod listing;
mod record;
mod retention;
mod schema;
#[cfg(test)]
mod tests;
mod writer;

use std::fs::{DirBuilder, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags};

pub use daemon::{AlarmHost, BotCommand, BotControl, BotRecord, EventRecord, TickRecord};
pub use listing::AuditFilter;
pub use record::{HostInfo, Recorder, host_info};
pub use retention::Retention;

/// How long a writer waits for another shoal's transaction to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the store could not be opened, or a read of it failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file at the store's path is not a shoal store. It is left as it
    /// is: shoal never overwrites a file it did not make.
    #[error("{path} is not a shoal job store ({why}); shoal leaves it untouched")]
    Foreign { path: PathBuf, why: String },
    /// The store was written by a newer shoal.
    #[error(
        "{path} is a job store of a newer shoal (schema {found}, this shoal knows up to {known})"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// The directory or file could not be created or opened.
    #[error("cannot open the job store {path}: {why}")]
    Open { path: PathBuf, why: String },
    /// SQLite failed on a store that did open.
    #[error("the job store {path}: {source}")]
    Sql {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Whether the store failed because its disk is full: the command line
    /// then runs the query unrecorded, with a warning, rather than not at
    /// all.
    pub fn disk_full(&self) -> bool {
        // SQLite reports a full disk as SQLITE_FULL only on some paths; a
        // file it cannot grow may be "disk I/O error". The filesystem says.
        let no_room = |path: &Path| {
            let dir = path.parent().filter(|d| d.exists()).unwrap_or(path);
            nix::sys::statvfs::statvfs(dir).is_ok_and(|fs| fs.blocks_available() == 0)
        };
        match self {
            StoreError::Sql { source, path } => {
                source.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
                    || no_room(Path::new(path))
            }
            StoreError::Open { path, .. } => no_room(path),
            StoreError::Foreign { .. } | StoreError::Newer { .. } => false,
        }
    }

    /// What to do about it, for the command line's hint line.
    pub fn hint(&self) -> &'static str {
        "choose another file with --store PATH (or SHOAL_STORE), or run without history: --no-store"
    }
}

/// Where the store lives when neither `--store` nor `SHOAL_STORE` says:
/// `$XDG_STATE_HOME/shoal/shoal.db`, else `~/.local/state/shoal/shoal.db`.
pub fn default_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let state = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".local/state")))?;
    Some(state.join("shoal").join("shoal.db"))
}

/// Who is running shoal, as the audit records it.
fn local_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A timestamp as the store's tables print it: `2026-12-07T11:30:02Z`.
pub fn timestamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// An open job store. Shared by the engine (which records) and the
/// session's history (which queries read); all access goes through one
/// connection behind a mutex.
#[derive(Debug)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
    /// Commits hosts' rows in batches, off the query's thread.
    writer: writer::Writer,
    /// The file, or `:memory:` for the demo's store.
    label: String,
    user: String,
    /// Where the engine's inventory came from, recorded with each job.
    inventory: String,
    /// `--force`: `save` replaces a baseline of the same name.
    force: bool,
    /// The job the running statement records, once it contacts a host.
    current: Mutex<record::Current>,
}

impl Store {
    /// Opens (creating it if need be) the store at `path`, migrating it to
    /// this shoal's schema, marking jobs of dead processes `interrupted`,
    /// and enforcing `retention`. A directory it creates is 0700 and the
    /// file 0600.
    pub fn open(path: &Path, retention: &Retention) -> Result<Store, StoreError> {
        let open_error = |why: String| StoreError::Open {
            path: path.to_path_buf(),
            why,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| open_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        refuse_foreign_header(path)?;
        // Made here, not by SQLite, so that it is 0600 whatever the umask;
        // SQLite gives its -wal and -shm files the same mode.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(file) => file
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| open_error(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(open_error(e.to_string())),
        }
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(e.to_string()))?;
        let store = Store::with_connection(connection, path.display().to_string())?;
        store.prepare(true)?;
        retention::enforce(&store, retention)?;
        Ok(store)
    }

    /// A store that lives in memory and ends with the process: `shoal demo`.
    pub fn in_memory() -> Result<Store, StoreError> {
        let connection = Connection::open_in_memory().map_err(|source| StoreError::Sql {
            path: ":memory:".into(),
            source,
        })?;
        let store = Store::with_connection(connection, ":memory:".into())?;
        store.prepare(false)?;
        Ok(store)
    }

    fn with_connection(connection: Connection, label: String) -> Result<Store, StoreError> {
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| connection.execute_batch("PRAGMA foreign_keys=ON"))
            .map_err(|source| StoreError::Sql {
                path: label.clone(),
                source,
            })?;
        let connection = Arc::new(Mutex::new(connection));
        Ok(Store {
            writer: writer::Writer::start(connection.clone()),
            connection,
            label,
            user: local_user(),
            inventory: String::new(),
            force: false,
            current: Mutex::new(record::Current::default()),
        })
    }

    /// WAL, then the schema, then jobs that a dead process left `running`.
    fn prepare(&self, on_disk: bool) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let path = PathBuf::from(&self.label);
        if on_disk {
            // A file that is not a database fails here first ("file is not a
            // database"): name it as foreign, never rewrite it.
            connection
                .query_row("PRAGMA journal_mode=WAL", [], |row| row.get::<_, String>(0))
                .map_err(|e| schema::foreign_or_sql(&path, e))?;
            connection
                .execute_batch("PRAGMA synchronous=NORMAL")
                .map_err(|source| self.sql(source))?;
        }
        schema::migrate(&mut connection, &path)?;
        drop(connection);
        self.mark_dead_jobs_interrupted()
            .map_err(|source| self.sql(source))
    }

    /// `--force`: `save` may replace an existing baseline.
    pub fn with_force(mut self, force: bool) -> Store {
        self.force = force;
        self
    }

    /// The inventory the jobs run against, as the audit shows it.
    pub fn with_inventory(mut self, inventory: &str) -> Store {
        self.inventory = inventory.to_string();
        self
    }

    /// The file, or `:memory:`.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves a connection that is still
        // usable: SQLite rolls back the unfinished statement.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.label.clone(),
            source,
        }
    }
}

/// A non-empty file at `path` must start as an SQLite database does; a
/// text file, a key or an archive there is refused before SQLite opens it.
fn refuse_foreign_header(path: &Path) -> Result<(), StoreError> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut header = Vec::with_capacity(16);
    file.by_ref()
        .take(16)
        .read_to_end(&mut header)
        .map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
    if header.is_empty() || header.as_slice() == MAGIC {
        Ok(())
    } else {
        Err(StoreError::Foreign {
            path: path.to_path_buf(),
            why: "it is not an SQLite database".into(),
        })
    }
}
