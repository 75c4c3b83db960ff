//! The store's schema as numbered migrations, applied in order from the
//! version a file is at (`PRAGMA user_version`) to the newest, each in the
//! same transaction as its version bump. A file that SQLite cannot read,
//! or whose `application_id` is not shoal's, is refused by name.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::StoreError;

/// `PRAGMA application_id` of a shoal store: "SHOL".
pub(super) const APPLICATION_ID: i64 = 0x5348_4f4c;

/// Migration `n` (counting from 1) takes a store from version `n - 1` to
/// `n`. Append only: a released migration never changes.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: jobs, the commands each ran, and every host's row.
    "CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        parent INTEGER,
        query TEXT NOT NULL,
        replay TEXT NOT NULL,
        user TEXT NOT NULL,
        inventory TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        ended_ms INTEGER,
        status TEXT NOT NULL,
        hosts INTEGER NOT NULL DEFAULT 0,
        ok INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        pid INTEGER NOT NULL,
        machine TEXT NOT NULL
    );
    CREATE INDEX jobs_by_status ON jobs(status);
    CREATE INDEX jobs_by_start ON jobs(started_ms);
    CREATE TABLE steps (
        job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        command TEXT NOT NULL,
        PRIMARY KEY (job, step)
    );
    CREATE TABLE job_hosts (
        job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        host TEXT NOT NULL,
        addr TEXT,
        groups TEXT,
        tags TEXT NOT NULL,
        status TEXT NOT NULL,
        exit INTEGER,
        stdout TEXT,
        stderr TEXT,
        error TEXT,
        duration_ms INTEGER NOT NULL,
        finished_ms INTEGER NOT NULL
    );
    CREATE INDEX job_hosts_by_job ON job_hosts(job, step);",
    // 2: named baselines (`save`), and finding a host's jobs (`audit --host`).
    "CREATE TABLE baselines (
        name TEXT PRIMARY KEY,
        saved_ms INTEGER NOT NULL,
        user TEXT NOT NULL,
        query TEXT NOT NULL,
        rows INTEGER NOT NULL,
        columns INTEGER NOT NULL,
        frame TEXT NOT NULL
    );
    CREATE INDEX job_hosts_by_host ON job_hosts(host, job);",
    // 3: what a job's record says beside its rows: `act`'s wave plan and
    // who confirmed it.
    "ALTER TABLE jobs ADD COLUMN notes TEXT;",
    // 4: `shoal daemon`: each alarm's ticks, every host's alarm state (what a
    // restart resumes from), the events, every action of a bot (what its
    // breaker counts), tripped breakers, and each bot's pause and reset.
    "CREATE TABLE daemon_ticks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alarm TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        hosts INTEGER NOT NULL,
        matching INTEGER NOT NULL,
        unknown INTEGER NOT NULL,
        error TEXT
    );
    CREATE INDEX daemon_ticks_by_alarm ON daemon_ticks(alarm, started_ms);
    CREATE TABLE alarm_hosts (
        alarm TEXT NOT NULL,
        host TEXT NOT NULL,
        state TEXT NOT NULL,
        streak INTEGER NOT NULL,
        known TEXT NOT NULL,
        unknown_ticks INTEGER NOT NULL,
        changed_ms INTEGER NOT NULL,
        PRIMARY KEY (alarm, host)
    );
    CREATE TABLE daemon_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        alarm TEXT,
        bot TEXT,
        user TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX daemon_events_by_time ON daemon_events(at_ms);
    CREATE TABLE bot_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bot TEXT NOT NULL,
        host TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        status TEXT NOT NULL,
        dry_run INTEGER NOT NULL
    );
    CREATE INDEX bot_actions_by_bot ON bot_actions(bot, host, at_ms);
    CREATE TABLE bot_breakers (
        bot TEXT NOT NULL,
        host TEXT NOT NULL,
        tripped_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (bot, host)
    );
    CREATE TABLE bots (
        name TEXT PRIMARY KEY,
        alarm TEXT NOT NULL,
        act TEXT NOT NULL,
        lim TEXT NOT NULL,
        per_ms INTEGER NOT NULL,
        file TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        reset_ms INTEGER NOT NULL DEFAULT 0,
        seen_ms INTEGER NOT NULL
    );",
];

/// The schema version this shoal writes.
pub(super) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the store at `path` to [`LATEST`], refusing a file that is not a
/// shoal store or is newer than this shoal.
pub(super) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    migrate_to(connection, path, LATEST)
}

/// [`migrate`], stopping at `target`: tests build every older version
/// with it.
pub(super) fn migrate_to(
    connection: &mut Connection,
    path: &Path,
    target: i64,
) -> Result<(), StoreError> {
    let sql = |source| StoreError::Sql {
        path: path.display().to_string(),
        source,
    };
    // IMMEDIATE: two shoals starting at once on a new file must not both
    // create the tables.
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| foreign_or_sql(path, e))?;
    let pragma = |name: &str| {
        transaction
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0))
            .map_err(|e| foreign_or_sql(path, e))
    };
    let (application, version) = (pragma("application_id")?, pragma("user_version")?);
    let tables: i64 = transaction
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .map_err(|e| foreign_or_sql(path, e))?;
    if application != APPLICATION_ID && (application != 0 || tables > 0) {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            why: if application == 0 {
                "it is an SQLite database of another program".into()
            } else {
                format!("its application id is {application:#x}, not shoal's")
            },
        });
    }
    if version > LATEST {
        return Err(StoreError::Newer {
            path: path.to_path_buf(),
            found: version,
            known: LATEST,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().take(target as usize) {
        let number = index as i64 + 1;
        if number > version {
            transaction.execute_batch(migration).map_err(sql)?;
        }
    }
    transaction
        .execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};",
            target.max(version)
        ))
        .map_err(sql)?;
    transaction.commit().map_err(sql)
}

/// SQLite's "not a database" and "corrupt" as [`StoreError::Foreign`]
/// (the file is refused, not rewritten); anything else as it is.
pub(super) fn foreign_or_sql(path: &Path, error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::Foreign {
            path: path.to_path_buf(),
            why: "SQLite cannot read it as a database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Foreign {
            path: path.to_path_buf(),
            why: "it is corrupt".into(),
        },
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            StoreError::Open {
                path: path.to_path_buf(),
                why: format!("{error} (shoal needs to write the file and, for WAL, its directory)"),
            }
        }
        _ => StoreError::Sql {
            path: path.display().to_string(),
            source: error,
        },
    }
}
