//! Retention, enforced each time a store opens: jobs older than the age
//! limit go, then the oldest jobs until the live data fits the size limit,
//! then VACUUM if enough of the file is free pages to be worth rewriting.
//! Baselines are kept: each was saved on purpose, by name.

use std::time::Duration;

use super::{Store, StoreError, now_ms};

/// How much history to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Jobs that started longer ago than this are deleted.
    pub max_age: Duration,
    /// The oldest jobs are deleted until the store's live data is under this.
    pub max_bytes: u64,
}

impl Default for Retention {
    /// 30 days and 1 GiB.
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_bytes: 1 << 30,
        }
    }
}

/// VACUUM only when at least this much of the file is free pages, and at
/// least a quarter of it: rewriting the file costs as much as its size.
const VACUUM_FREE_BYTES: i64 = 1 << 20;

pub(super) fn enforce(store: &Store, retention: &Retention) -> Result<(), StoreError> {
    let connection = store.connection();
    let sql = |source| store.sql(source);
    let age_ms = i64::try_from(retention.max_age.as_millis()).unwrap_or(i64::MAX);
    connection
        .execute(
            "DELETE FROM jobs WHERE status != 'running' AND started_ms < ?1",
            [now_ms().saturating_sub(age_ms)],
        )
        .map_err(sql)?;
    let pragma = |name: &str| {
        connection
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0))
            .map_err(sql)
    };
    let page = pragma("page_size")?;
    let max_bytes = i64::try_from(retention.max_bytes).unwrap_or(i64::MAX);
    loop {
        let live = (pragma("page_count")? - pragma("freelist_count")?) * page;
        if live <= max_bytes {
            break;
        }
        // A tenth of the finished jobs at a time, oldest first.
        let deleted = connection
            .execute(
                "DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs WHERE status != 'running' ORDER BY id
                    LIMIT max(1, (SELECT count(*) FROM jobs) / 10))",
                [],
            )
            .map_err(sql)?;
        if deleted == 0 {
            break;
        }
    }
    let free = pragma("freelist_count")? * page;
    if free >= VACUUM_FREE_BYTES && free * 4 >= pragma("page_count")? * page {
        connection.execute_batch("VACUUM").map_err(sql)?;
    }
    Ok(())
}
