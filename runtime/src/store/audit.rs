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
        type Job = (
            i64,
            i64,
            Option<i64>,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            String,
            Option<i64>,
        );
        let jobs: Vec<Job> = statement
            .query_map(rusqlite::params![since, filter.user, filter.host], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                    row.get(8)?,
                    row.get(9)?,
                    row.get(10)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.sql(e))?;
        let text = |name: &str, values: Vec<Option<String>>| Column::new(name.into(), values);
        let number = |name: &str, values: Vec<Option<u64>>| Column::new(name.into(), values);
        let frame = DataFrame::new(
            jobs.len(),
            vec![
                number("id", jobs.iter().map(|j| Some(j.0 as u64)).collect()),
                text(
                    "started",
                    jobs.iter().map(|j| Some(timestamp(j.1))).collect(),
                ),
                text("ended", jobs.iter().map(|j| j.2.map(timestamp)).collect()),
                text("user", jobs.iter().map(|j| Some(j.3.clone())).collect()),
                text("query", jobs.iter().map(|j| Some(j.4.clone())).collect()),
                text(
                    "inventory",
                    jobs.iter().map(|j| Some(j.5.clone())).collect(),
                ),
                number("hosts", jobs.iter().map(|j| Some(j.6 as u64)).collect()),
                number("ok", jobs.iter().map(|j| Some(j.7 as u64)).collect()),
                number("failed", jobs.iter().map(|j| Some(j.8 as u64)).collect()),
                text("status", jobs.iter().map(|j| Some(j.9.clone())).collect()),
                number(
                    "parent",
                    jobs.iter().map(|j| j.10.map(|p| p as u64)).collect(),
                ),
            ],
        );
        frame.map_err(|e| StoreError::Open {
            path: self.label.clone().into(),
            why: e.to_string(),
        })
    }
}
