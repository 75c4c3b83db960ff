//! The store as the language reads it ([`History`]): `jobs`, `job N` and
//! its rows, the pipeline `rerun` runs again, and the baselines of `save`
//! and `saved`. Errors point at the source or stage that asked, with a
//! did-you-mean for a baseline name.

use indexmap::IndexMap;
use polars::prelude::*;
use rusqlite::{OptionalExtension, params};
use shoal_lang::plan::JobRef;
use shoal_lang::{Error, ErrorKind, Result, Span, did_you_mean};
use shoal_stdlib::history::History;

use super::listing::{AuditFilter, JOBS_COLUMNS, Order};
use super::{Store, frames, now_ms, timestamp};

/// A store error in a query: the message, naming the store.
fn failed(store: &Store, span: Span, error: impl std::fmt::Display) -> Error {
    Error::new(format!("the job store {}: {error}", store.label), span)
}

fn frame_error(error: PolarsError) -> Error {
    Error::new(format!("internal error: {error}"), None)
}

impl History for Store {
    fn jobs(&self, span: Span) -> Result<DataFrame> {
        self.list_jobs(&AuditFilter::default(), Order::NewestFirst, JOBS_COLUMNS)
            .map_err(|e| failed(self, span, e))
    }

    fn job(&self, which: JobRef, span: Span) -> Result<DataFrame> {
        let id = self.job_id(which, span)?;
        job_rows(self, id, span)
    }

    fn replay(&self, id: u64, span: Span) -> Result<String> {
        let replay: Option<String> = self
            .connection()
            .query_row(
                "SELECT replay FROM jobs WHERE id = ?1",
                [id as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| failed(self, span, e))?;
        replay.ok_or_else(|| self.no_job(&id.to_string(), span))
    }

    fn rerun_of(&self, parent: u64, replay: &str) {
        self.mark_rerun(parent, replay);
    }

    fn note_job(&self, text: &str) {
        self.add_note(text);
    }

    fn save(&self, name: &str, frame: &DataFrame, replace: bool, span: Span) -> Result<()> {
        self.check_save(name, replace, span)?;
        let query = self.current().query.clone().unwrap_or_default();
        let text = frames::encode(frame).map_err(frame_error)?;
        self.connection()
            .execute(
                "INSERT OR REPLACE INTO baselines (name, saved_ms, user, query, rows, columns, frame)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    name,
                    now_ms(),
                    self.user,
                    query,
                    frame.height() as i64,
                    frame.width() as i64,
                    text
                ],
            )
            .map_err(|e| failed(self, span, e))?;
        Ok(())
    }

    fn check_save(&self, name: &str, replace: bool, span: Span) -> Result<()> {
        if replace || self.force {
            return Ok(());
        }
        let existing: Option<(i64, String)> = self
            .connection()
            .query_row(
                "SELECT saved_ms, user FROM baselines WHERE name = ?1",
                [name],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| failed(self, span, e))?;
        match existing {
            None => Ok(()),
            Some((saved, user)) => Err(Error::new(
                format!(
                    "a baseline named `{name}` exists (saved {} by {user}); saving over it would lose it",
                    timestamp(saved)
                ),
                span,
            )
            .with_hint(format!(
                "replace it with `save {name} replace=true` or `--force`, or choose another name"
            ))
            .with_kind(ErrorKind::Definite)),
        }
    }

    fn baselines(&self, span: Span) -> Result<DataFrame> {
        let connection = self.connection();
        let mut statement = connection
            .prepare("SELECT name, saved_ms, user, rows, columns, query FROM baselines ORDER BY saved_ms DESC, name")
            .map_err(|e| failed(self, span, e))?;
        let rows: Vec<(String, i64, String, i64, i64, String)> = statement
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| failed(self, span, e))?;
        let column = |name: &str, values: Vec<String>| Column::new(name.into(), values);
        let number = |name: &str, values: Vec<u64>| Column::new(name.into(), values);
        DataFrame::new(
            rows.len(),
            vec![
                column("name", rows.iter().map(|r| r.0.clone()).collect()),
                column("saved", rows.iter().map(|r| timestamp(r.1)).collect()),
                column("user", rows.iter().map(|r| r.2.clone()).collect()),
                number("rows", rows.iter().map(|r| r.3 as u64).collect()),
                number("columns", rows.iter().map(|r| r.4 as u64).collect()),
                column("query", rows.iter().map(|r| r.5.clone()).collect()),
            ],
        )
        .map_err(frame_error)
    }

    fn baseline(&self, name: &str, span: Span) -> Result<DataFrame> {
        let text: Option<String> = self
            .connection()
            .query_row(
                "SELECT frame FROM baselines WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| failed(self, span, e))?;
        match text {
            Some(text) => frames::decode(&text)
                .map_err(|e| failed(self, span, format!("baseline `{name}` cannot be read: {e}"))),
            None => Err(self.unknown_baseline(name, span)),
        }
    }
}

impl Store {
    /// The id `which` names, or an error saying which jobs there are.
    fn job_id(&self, which: JobRef, span: Span) -> Result<i64> {
        let connection = self.connection();
        let found: Option<i64> = match which {
            JobRef::Id(id) => connection
                .query_row("SELECT id FROM jobs WHERE id = ?1", [id as i64], |row| {
                    row.get(0)
                })
                .optional(),
            JobRef::Last => connection
                .query_row("SELECT max(id) FROM jobs", [], |row| row.get(0))
                .optional()
                .map(Option::flatten),
            JobRef::Back(n) => connection
                .query_row(
                    "SELECT id FROM jobs ORDER BY id DESC LIMIT 1 OFFSET ?1",
                    [n as i64 - 1],
                    |row| row.get(0),
                )
                .optional(),
        }
        .map_err(|e| failed(self, span, e))?;
        drop(connection);
        found.ok_or_else(|| self.no_job(&which.to_string(), span))
    }

    /// "no job N", with the range of ids there are.
    fn no_job(&self, written: &str, span: Span) -> Error {
        let range: Option<(Option<i64>, Option<i64>, i64)> = self
            .connection()
            .query_row("SELECT min(id), max(id), count(*) FROM jobs", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .ok();
        let error = Error::new(format!("no job `{written}` in the job store"), span)
            .with_kind(ErrorKind::Definite);
        match range {
            Some((Some(first), Some(last), count)) => error.with_hint(format!(
                "the store holds {count} job{}, ids {first} to {last}; `job last` is the newest, `job -2` the one before, and `jobs` lists them",
                if count == 1 { "" } else { "s" }
            )),
            _ => error.with_hint(
                "no job is recorded yet: every query that contacts hosts (run, facts) becomes one",
            ),
        }
    }

    fn unknown_baseline(&self, name: &str, span: Span) -> Error {
        let names: Vec<String> = self
            .connection()
            .prepare("SELECT name FROM baselines ORDER BY name")
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .unwrap_or_default();
        let mut error =
            Error::new(format!("no baseline named `{name}`"), span).with_kind(ErrorKind::Definite);
        if let Some(near) = did_you_mean(name, names.iter().map(String::as_str)) {
            error = error.with_hint(format!("did you mean `{near}`?"));
        }
        if names.is_empty() {
            error.with_hint("no baseline is saved yet: `hosts | facts | save NAME` saves one")
        } else {
            error.with_hint(format!("`saved` lists them: {}", names.join(", ")))
        }
    }
}

/// One job's rows, shaped as `run`'s result: `job`, `step`, `command`,
/// `host`, `addr`, `groups`, the tags, then `stdout`, `stderr`, `exit`,
/// `status`, `error` and `duration_ms`.
fn job_rows(store: &Store, id: i64, span: Span) -> Result<DataFrame> {
    struct Row {
        step: i64,
        command: String,
        host: String,
        addr: Option<String>,
        groups: Option<String>,
        tags: IndexMap<String, String>,
        stdout: Option<String>,
        stderr: Option<String>,
        exit: Option<i32>,
        status: String,
        error: Option<String>,
        duration_ms: i64,
    }
    let connection = store.connection();
    let mut statement = connection
        .prepare(
            "SELECT h.step, s.command, h.host, h.addr, h.groups, h.tags, h.stdout, h.stderr, h.exit, h.status, h.error, h.duration_ms
             FROM job_hosts h JOIN steps s ON s.job = h.job AND s.step = h.step
             WHERE h.job = ?1 ORDER BY h.step, h.rowid",
        )
        .map_err(|e| failed(store, span, e))?;
    let rows: Vec<Row> = statement
        .query_map([id], |row| {
            let tags: String = row.get(5)?;
            Ok(Row {
                step: row.get(0)?,
                command: row.get(1)?,
                host: row.get(2)?,
                addr: row.get(3)?,
                groups: row.get(4)?,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                stdout: row.get(6)?,
                stderr: row.get(7)?,
                exit: row.get(8)?,
                status: row.get(9)?,
                error: row.get(10)?,
                duration_ms: row.get(11)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| failed(store, span, e))?;
    let mut tag_names: indexmap::IndexSet<&str> = indexmap::IndexSet::new();
    for row in &rows {
        tag_names.extend(row.tags.keys().map(String::as_str));
    }
    let text = |name: &str, pick: &dyn Fn(&Row) -> Option<&str>| {
        Column::new(name.into(), rows.iter().map(pick).collect::<Vec<_>>())
    };
    let mut columns = vec![
        Column::new("job".into(), vec![id as u64; rows.len()]),
        Column::new(
            "step".into(),
            rows.iter().map(|r| r.step as u32 + 1).collect::<Vec<_>>(),
        ),
        text("command", &|r| Some(&r.command)),
        text("host", &|r| Some(&r.host)),
        text("addr", &|r| r.addr.as_deref()),
        text("groups", &|r| r.groups.as_deref()),
    ];
    for tag in &tag_names {
        columns.push(text(tag, &|r| r.tags.get(*tag).map(String::as_str)));
    }
    columns.extend([
        text("stdout", &|r| r.stdout.as_deref()),
        text("stderr", &|r| r.stderr.as_deref()),
        Column::new(
            "exit".into(),
            rows.iter().map(|r| r.exit).collect::<Vec<_>>(),
        ),
        text("status", &|r| Some(&r.status)),
        text("error", &|r| r.error.as_deref()),
        Column::new(
            "duration_ms".into(),
            rows.iter()
                .map(|r| r.duration_ms.max(0) as u64)
                .collect::<Vec<_>>(),
        ),
    ]);
    DataFrame::new(rows.len(), columns).map_err(frame_error)
}
