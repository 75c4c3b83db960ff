//! `shoal audit`: who ran what, where, when, and how it ended, from the
//! jobs table (listing.rs reads it). Nothing in shoal deletes these rows
//! but retention.

use polars::prelude::DataFrame;

use super::listing::{AUDIT_COLUMNS, AuditFilter, Order};
use super::{Store, StoreError};

impl Store {
    /// The jobs `filter` selects, oldest first: `id`, `started`, `ended`,
    /// `user`, `query`, `inventory`, `hosts`, `ok`, `failed`, `status`,
    /// `parent` and `notes` (such as `act`'s wave plan and who confirmed it).
    pub fn audit(&self, filter: &AuditFilter) -> Result<DataFrame, StoreError> {
        self.list_jobs(filter, Order::OldestFirst, AUDIT_COLUMNS)
            .map_err(|why| StoreError::Open {
                path: self.label.clone().into(),
                why,
            })
    }
}
