//! What guards the stages that change hosts (`act`) and the seatbelt on
//! `run`: the command line's `--yes`, `--dry-run`, `--yes-all-hosts` and
//! `--force-run`, whether a person is at a terminal to confirm, and the
//! signal by which Ctrl-C stops `act` from starting another wave.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The session's safety settings; the defaults are the safe ones.
#[derive(Debug, Clone, Default)]
pub struct Safety {
    /// `--yes`: act without asking (scripts, CI, runbooks).
    pub yes: bool,
    /// `--dry-run`: every `act` prints its wave plan and contacts no host.
    pub dry_run: bool,
    /// `--yes-all-hosts`: lift the blast-radius guard.
    pub all_hosts: bool,
    /// `--force-run`: let `run` send a command that looks like a change.
    pub force_run: bool,
    /// Someone is at a terminal who can be asked to confirm.
    pub interactive: bool,
    /// Shared with whatever handles Ctrl-C.
    pub waves: Arc<WaveSignal>,
}

/// Between the Ctrl-C handler and a running `act`: while waves run, the
/// first Ctrl-C only asks that no further wave start.
#[derive(Debug, Default)]
pub struct WaveSignal {
    running: AtomicBool,
    stop: AtomicBool,
}

impl WaveSignal {
    /// Waves start: Ctrl-C now means "no further wave".
    pub fn begin(&self) {
        self.stop.store(false, Ordering::SeqCst);
        self.running.store(true, Ordering::SeqCst);
    }

    /// The waves are over: Ctrl-C cancels as it does for any query.
    pub fn end(&self) {
        self.running.store(false, Ordering::SeqCst);
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Ctrl-C during waves: finish the wave in flight, start no other.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether Ctrl-C stopped waves since the last call, clearing it.
    pub fn take_stop(&self) -> bool {
        self.stop.swap(false, Ordering::SeqCst)
    }
}
