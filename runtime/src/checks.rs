//! Running checks of the catalog (shoal-stdlib's `checks`) on an engine's
//! hosts: each check's params are put in and its pipeline compiled and
//! checked against the fleet; then every check's first command on every
//! host goes out in one fused command per host ([`Engine::prefetch`]), each
//! check runs as a job of its own, and its `assert` judges each host.

use std::time::{Duration, Instant};

use shoal_stdlib::checks::{CatalogError, Check, CheckRow, HostRuns, Prepared};
use shoal_stdlib::{Quiet, RunObserver};

use crate::Engine;

/// What running some checks gave.
#[derive(Debug)]
pub struct ChecksRun<'c> {
    /// The checks that ran, in the order given.
    pub ran: Vec<&'c Check>,
    /// The checks that could not: their params, pipeline or `assert` is
    /// wrong, with the file and line.
    pub broken: Vec<CatalogError>,
    /// One row per (check, host), in check order then host order.
    pub rows: Vec<CheckRow>,
    /// Ctrl-C stopped the run: `rows` holds the checks that finished.
    pub interrupted: bool,
    /// The job store could not record every check whole.
    pub store_warning: Option<String>,
    /// How long the one fused round trip took; the rest of the run is
    /// shoal's own work (and any command that was not fused).
    pub round_trip: Duration,
}

impl Engine {
    /// Runs `checks` on their hosts, with `params` for each check that
    /// declares them. `observer` hears of the one fused run.
    pub fn run_checks<'c>(
        &mut self,
        checks: &[&'c Check],
        params: &[(String, String)],
        observer: &mut dyn RunObserver,
    ) -> ChecksRun<'c> {
        let mut run = ChecksRun {
            ran: Vec::new(),
            broken: Vec::new(),
            rows: Vec::new(),
            interrupted: false,
            store_warning: None,
            round_trip: Duration::ZERO,
        };
        let mut ready: Vec<(&Check, Prepared)> = Vec::new();
        for &check in checks {
            match self.prepare(check, params) {
                Ok(prepared) => ready.push((check, prepared)),
                Err(error) => run.broken.push(error),
            }
        }
        let statements: Vec<_> = ready.iter().map(|(_, p)| &p.statement).collect();
        let started = Instant::now();
        let (prefetch, interrupted) = self.prefetch(&statements, observer);
        run.round_trip = started.elapsed();
        run.interrupted = interrupted;
        for (check, prepared) in ready {
            if run.interrupted {
                break;
            }
            let hosts = prepared.hosts(self.session());
            let mut quiet = Quiet;
            let mut runs = HostRuns::new(&mut quiet);
            let outcome = self.run_prefetched(&prepared.statement, &prefetch, &mut runs);
            run.rows
                .extend(prepared.judge(check, &hosts, &outcome.result, &runs));
            run.store_warning = run.store_warning.or(outcome.store_warning);
            run.interrupted = outcome.interrupted;
            run.ran.push(check);
        }
        run
    }

    /// A check's pipeline with its params, compiled and checked against the
    /// fleet as any query is, split from its `assert`.
    fn prepare(
        &self,
        check: &Check,
        params: &[(String, String)],
    ) -> Result<Prepared, CatalogError> {
        let source = check.source(params)?;
        let plan = self
            .compile(&source)
            .map_err(|error| check.error(error, &source))?;
        check.prepare(&source, plan)
    }
}
