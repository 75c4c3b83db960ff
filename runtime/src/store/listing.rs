//! The jobs table read back as a frame, for both of its readers: the
//! `jobs` source (newest first) and `shoal audit` (oldest first, filtered
//! by age, user and host, with more columns).

use std::time::Duration;

use polars::prelude::*;

use super::{Store, now_ms, timestamp};

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only jobs started this recently.
    pub since: Option<Duration>,
    /// Only this user's jobs.
    pub user: Option<String>,
    /// Only jobs that contacted this host.
    pub host: Option<String>,
}

/// The columns `jobs` shows.
pub(super) const JOBS_COLUMNS: &[&str] = &[
    "id",
    "started",
    "user",
    "query",
    "hosts",
    "ok",
    "failed",
    "duration_ms",
    "status",
    "parent",
];

/// The columns `shoal audit` shows.
pub(super) const AUDIT_COLUMNS: &[&str] = &[
    "id",
    "started",
    "ended",
    "user",
    "query",
    "inventory",
    "hosts",
    "ok",
    "failed",
    "status",
    "parent",
    "notes",
];

/// One row of the jobs table.
struct Job {
    id: i64,
    started: i64,
    ended: Option<i64>,
    user: String,
    query: String,
    inventory: String,
    hosts: i64,
    ok: i64,
    failed: i64,
    status: String,
    parent: Option<i64>,
    notes: Option<String>,
}

/// How listed jobs are ordered.
pub(super) enum Order {
    NewestFirst,
    OldestFirst,
}

impl Store {
    /// The jobs `filter` selects, in `order`, as a frame of `columns`
    /// (names from [`JOBS_COLUMNS`] and [`AUDIT_COLUMNS`]).
    pub(super) fn list_jobs(
        &self,
        filter: &AuditFilter,
        order: Order,
        columns: &[&str],
    ) -> Result<DataFrame, String> {
        let since = filter.since.map_or(i64::MIN, |since| {
            now_ms().saturating_sub(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
        });
        let direction = match order {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        };
        let connection = self.connection();
        let jobs: Vec<Job> = connection
            .prepare(&format!(
                "SELECT id, started_ms, ended_ms, user, query, inventory, hosts, ok, failed, status, parent, notes
                 FROM jobs
                 WHERE started_ms >= ?1
                   AND (?2 IS NULL OR user = ?2)
                   AND (?3 IS NULL OR id IN (SELECT job FROM job_hosts WHERE host = ?3))
                 ORDER BY id {direction}"
            ))
            .and_then(|mut statement| {
                statement
                    .query_map(rusqlite::params![since, filter.user, filter.host], |row| {
                        Ok(Job {
                            id: row.get(0)?,
                            started: row.get(1)?,
                            ended: row.get(2)?,
                            user: row.get(3)?,
                            query: row.get(4)?,
                            inventory: row.get(5)?,
                            hosts: row.get(6)?,
                            ok: row.get(7)?,
                            failed: row.get(8)?,
                            status: row.get(9)?,
                            parent: row.get(10)?,
                            notes: row.get(11)?,
                        })
                    })?
                    .collect()
            })
            .map_err(|e| e.to_string())?;
        drop(connection);
        let columns = columns
            .iter()
            .map(|name| column(name, &jobs))
            .collect::<Result<Vec<_>, String>>()?;
        DataFrame::new(jobs.len(), columns).map_err(|e| e.to_string())
    }
}

/// One column of the listing.
fn column(name: &str, jobs: &[Job]) -> Result<Column, String> {
    let text = |pick: &dyn Fn(&Job) -> Option<String>| {
        Column::new(name.into(), jobs.iter().map(pick).collect::<Vec<_>>())
    };
    let number = |pick: &dyn Fn(&Job) -> Option<i64>| {
        let values: Vec<Option<u64>> = jobs
            .iter()
            .map(|j| pick(j).map(|n| n.max(0) as u64))
            .collect();
        Column::new(name.into(), values)
    };
    Ok(match name {
        "id" => number(&|j| Some(j.id)),
        "started" => text(&|j| Some(timestamp(j.started))),
        "ended" => text(&|j| j.ended.map(timestamp)),
        "user" => text(&|j| Some(j.user.clone())),
        "query" => text(&|j| Some(j.query.clone())),
        "inventory" => text(&|j| Some(j.inventory.clone())),
        "hosts" => number(&|j| Some(j.hosts)),
        "ok" => number(&|j| Some(j.ok)),
        "failed" => number(&|j| Some(j.failed)),
        "duration_ms" => number(&|j| j.ended.map(|ended| ended - j.started)),
        "status" => text(&|j| Some(j.status.clone())),
        "parent" => number(&|j| j.parent),
        "notes" => text(&|j| j.notes.clone()),
        other => return Err(format!("internal error: no job column `{other}`")),
    })
}
