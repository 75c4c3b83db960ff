//! `shoal audit`: who ran what, where, when, and how it ended, from the
//! jobs table. Nothing in shoal deletes these rows but retention.

use std::time::Duration;

use polars::prelude::*;

use super::{Store, StoreError, now_ms, timestamp};

/// Which jobs `shoal audit` shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only jobs started this recently.
    pub since: Option<Duration>,
    /// Only this user's jobs.
    pub user: Option<String>,
    /// Only jobs that contacted this host.
    pub host: Option<String>,
}

impl Store {
    /// The jobs `filter` selects, oldest first: `id`, `started`, `ended`,
    /// `user`, `query`, `inventory`, `hosts`, `ok`, `failed`, `status`,
    /// `parent` and `notes` (such as `act`'s wave plan and who confirmed it).
    pub fn audit(&self, filter: &AuditFilter) -> Result<DataFrame, StoreError> {
        let since = filter.since.map_or(i64::MIN, |since| {
            now_ms().saturating_sub(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
        });
        let connection = self.connection();
        let mut statement = connection
            .prepare(
                "SELECT id, started_ms, ended_ms, user, query, inventory, hosts, ok, failed, status, parent, notes
                 FROM jobs
                 WHERE started_ms >= ?1
                   AND (?2 IS NULL OR user = ?2)
                   AND (?3 IS NULL OR id IN (SELECT job FROM job_hosts WHERE host = ?3))
                 ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
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
        let jobs: Vec<Job> = statement
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
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        let text = |name: &str, pick: &dyn Fn(&Job) -> Option<String>| {
            Column::new(name.into(), jobs.iter().map(pick).collect::<Vec<_>>())
        };
        let number = |name: &str, pick: &dyn Fn(&Job) -> Option<i64>| {
            let values: Vec<Option<u64>> = jobs
                .iter()
                .map(|j| pick(j).map(|n| n.max(0) as u64))
                .collect();
            Column::new(name.into(), values)
        };
        let frame = DataFrame::new(
            jobs.len(),
            vec![
                number("id", &|j| Some(j.id)),
                text("started", &|j| Some(timestamp(j.started))),
                text("ended", &|j| j.ended.map(timestamp)),
                text("user", &|j| Some(j.user.clone())),
                text("query", &|j| Some(j.query.clone())),
                text("inventory", &|j| Some(j.inventory.clone())),
                number("hosts", &|j| Some(j.hosts)),
                number("ok", &|j| Some(j.ok)),
                number("failed", &|j| Some(j.failed)),
                text("status", &|j| Some(j.status.clone())),
                number("parent", &|j| j.parent),
                text("notes", &|j| j.notes.clone()),
            ],
        );
        frame.map_err(|e| StoreError::Open {
            path: self.label.clone().into(),
            why: e.to_string(),
        })
    }
}
