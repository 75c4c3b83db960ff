//! The seam between the language and the job store: the `jobs`, `job N`
//! and `saved` sources and the `save` and `rerun` stages read and write
//! history through [`History`], which the runtime implements over SQLite.
//! Without a store ([`NoStore`]: `--no-store`, or a session built by hand)
//! each of them says so instead of returning an empty table.

use std::fmt;
use std::sync::Arc;

use polars::prelude::DataFrame;
use shoal_lang::plan::JobRef;
use shoal_lang::{Error, ErrorKind, Result, Span};

/// What the job store offers queries. Errors carry the span of the source
/// or stage that asked, so they point into the query.
pub trait History: fmt::Debug + Send + Sync {
    /// The jobs, newest first: `id`, `started`, `user`, `query`, `hosts`,
    /// `ok`, `failed`, `duration_ms`, `status` and `parent`.
    fn jobs(&self, span: Span) -> Result<DataFrame>;
    /// One job's per-host rows, shaped as `run`'s result, with the job's id
    /// in a `job` column and each row's command in `command`.
    fn job(&self, which: JobRef, span: Span) -> Result<DataFrame>;
    /// The pipeline that job `id` ran, which `rerun` runs again.
    fn replay(&self, id: u64, span: Span) -> Result<String>;
    /// Marks the job the running statement records as a rerun of `parent`
    /// that runs `replay` (the parent's pipeline, so a rerun of a rerun
    /// runs the original again).
    fn rerun_of(&self, parent: u64, replay: &str);
    /// Adds a line to the record of the job the running statement makes
    /// (`act`'s wave plan and who confirmed it).
    fn note_job(&self, text: &str);
    /// Stores `frame` as the baseline `name`, with the running statement's
    /// text. Refuses to replace one that exists unless `replace` (or the
    /// store was opened with `--force`).
    fn save(&self, name: &str, frame: &DataFrame, replace: bool, span: Span) -> Result<()>;
    /// Whether `save` would store the baseline `name`: the same refusal,
    /// before the query contacts any host.
    fn check_save(&self, name: &str, replace: bool, span: Span) -> Result<()>;
    /// The baselines: `name`, `saved`, `user`, `rows`, `columns`, `query`.
    fn baselines(&self, span: Span) -> Result<DataFrame>;
    /// The baseline `name`, as it was saved.
    fn baseline(&self, name: &str, span: Span) -> Result<DataFrame>;
}

/// A shared handle on the session's history; [`NoStore`] by default.
#[derive(Debug, Clone)]
pub struct HistoryHandle(pub Arc<dyn History>);

impl Default for HistoryHandle {
    fn default() -> Self {
        HistoryHandle(Arc::new(NoStore))
    }
}

/// No job store: every history source and stage is an error saying why.
#[derive(Debug, Default)]
pub struct NoStore;

impl NoStore {
    fn off(span: Span) -> Error {
        Error::new("there is no job store in this session", span)
            .with_kind(ErrorKind::Definite)
            .with_hint("the job store is off (--no-store), so nothing is recorded and there is no history to read")
    }
}

impl History for NoStore {
    fn jobs(&self, span: Span) -> Result<DataFrame> {
        Err(NoStore::off(span))
    }
    fn job(&self, _which: JobRef, span: Span) -> Result<DataFrame> {
        Err(NoStore::off(span))
    }
    fn replay(&self, _id: u64, span: Span) -> Result<String> {
        Err(NoStore::off(span))
    }
    fn rerun_of(&self, _parent: u64, _replay: &str) {}
    fn note_job(&self, _text: &str) {}
    fn save(&self, _: &str, _: &DataFrame, _: bool, span: Span) -> Result<()> {
        Err(NoStore::off(span))
    }
    fn check_save(&self, _name: &str, _replace: bool, span: Span) -> Result<()> {
        Err(NoStore::off(span))
    }
    fn baselines(&self, span: Span) -> Result<DataFrame> {
        Err(NoStore::off(span))
    }
    fn baseline(&self, _name: &str, span: Span) -> Result<DataFrame> {
        Err(NoStore::off(span))
    }
}

/// The history as a dry run sees it (`Session::check`): it reads, but
/// records nothing: `save` only checks that it could, and `rerun` links
/// no job.
#[derive(Debug)]
pub(crate) struct ReadOnly<'a>(pub &'a dyn History);

impl History for ReadOnly<'_> {
    fn jobs(&self, span: Span) -> Result<DataFrame> {
        self.0.jobs(span)
    }
    fn job(&self, which: JobRef, span: Span) -> Result<DataFrame> {
        self.0.job(which, span)
    }
    fn replay(&self, id: u64, span: Span) -> Result<String> {
        self.0.replay(id, span)
    }
    fn rerun_of(&self, _parent: u64, _replay: &str) {}
    fn note_job(&self, _text: &str) {}
    fn save(&self, name: &str, _: &DataFrame, replace: bool, span: Span) -> Result<()> {
        self.0.check_save(name, replace, span)
    }
    fn check_save(&self, name: &str, replace: bool, span: Span) -> Result<()> {
        self.0.check_save(name, replace, span)
    }
    fn baselines(&self, span: Span) -> Result<DataFrame> {
        self.0.baselines(span)
    }
    fn baseline(&self, name: &str, span: Span) -> Result<DataFrame> {
        self.0.baseline(name, span)
    }
}
