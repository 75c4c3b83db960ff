//! What a stage may use while it runs: the fleet, the saved results, the
//! executor that reaches hosts, and the observer that hears of progress.

use indexmap::IndexMap;
use polars::prelude::DataFrame;

use crate::executor::{Executor, HostOutcome};
use crate::fleet::Fleet;
use crate::history::History;
use crate::safety::Safety;

/// Hears about `run` stages as they progress, for progress bars, and about
/// what stages have to say beside their tables.
pub trait RunObserver {
    fn run_started(&mut self, _command: &str, _hosts: usize) {}
    fn host_finished(&mut self, _host: &str, _outcome: &HostOutcome) {}
    fn run_finished(&mut self) {}
    /// The next run is a fused group's batch (fused_stages.rs): it also
    /// answers the `later` stages after the one it is started for, which
    /// then report at once.
    fn fused(&mut self, _later: usize) {}
    /// Something a stage wants the user to read beside its table, such as
    /// `diff` saying that nothing separates the populations beyond chance.
    fn note(&mut self, _stage: &str, _text: &str) {}
    /// Asks the person at the terminal to confirm `summary` by typing
    /// `expected` (the number of hosts about to change). Only called when
    /// [`crate::safety::Safety::interactive`] says someone is there; an
    /// observer that cannot ask says no.
    fn confirm(&mut self, _summary: &str, _expected: usize) -> bool {
        false
    }
    /// The rows a stage refused, to show beside its error: the rows an
    /// `assert` did not hold for.
    fn rejected(&mut self, _stage: &str, _rows: &DataFrame) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl RunObserver for Quiet {}

/// What an operator may use while it runs.
pub struct EvalContext<'a> {
    pub fleet: &'a Fleet,
    pub vars: &'a IndexMap<String, DataFrame>,
    pub executor: &'a dyn Executor,
    pub observer: &'a mut dyn RunObserver,
    /// The job store (`save`, `rerun`, `drift from`).
    pub history: &'a dyn History,
    /// The guards on changing hosts (`act`, and `run`'s seatbelt).
    pub safety: &'a Safety,
}
