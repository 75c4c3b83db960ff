//! Progress while a `run` is in flight (an indicatif bar on a terminal) and
//! the summary line each run ends with:
//! `200 hosts: 196 ok, 3 failed, 1 unreachable · 2.10 s`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use polars::prelude::DataFrame;
use shoal_stdlib::RunObserver;
use shoal_stdlib::executor::{HostOutcome, Status};

use crate::render::visible_line;

/// Draws one run's progress and prints its summary. The bar and the summary
/// read the same counters, through [`status_counts`], so the last progress
/// line and the summary (after Ctrl-C too) say the same numbers.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Hosts per status for the current run, in arrival order.
    counts: Vec<(Status, usize)>,
    /// How many hosts the run started with.
    hosts: usize,
    /// The command, as the bar shows it.
    command: String,
    started: Instant,
    show_bar: bool,
    show_summary: bool,
    /// The rows a stage refused (an `assert`'s), to print with its error.
    rejected: Option<DataFrame>,
    /// Hosts waiting for a connection, live (`Engine::connection_queue`).
    queue: Option<Arc<AtomicUsize>>,
    /// The stages the next run also answers, fused with it.
    fused: usize,
}

impl Progress {
    /// `show_bar` only when stderr is a terminal: a bar in a log file is
    /// noise. `show_summary` is false under `--quiet`.
    pub fn new(show_bar: bool, show_summary: bool) -> Self {
        Progress {
            bar: None,
            counts: Vec::new(),
            hosts: 0,
            command: String::new(),
            started: Instant::now(),
            show_bar,
            show_summary,
            rejected: None,
            queue: None,
            fused: 0,
        }
    }

    /// Shows, on the bar, how many hosts wait for a connection when any do.
    pub fn with_queue(mut self, queue: Arc<AtomicUsize>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// The rows a stage refused, if one did.
    pub fn take_rejected(&mut self) -> Option<DataFrame> {
        self.rejected.take()
    }

    fn reported(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// The bar's message: the counts so far, then the command.
    fn message(&self) -> String {
        let counts = status_counts(&self.counts);
        let counts = if counts.is_empty() {
            "waiting".to_string()
        } else {
            counts
        };
        format!("{counts} · {}", self.command)
    }

    fn count(&mut self, status: Status, n: usize) {
        match self.counts.iter_mut().find(|(s, _)| *s == status) {
            Some((_, count)) => *count += n,
            None => self.counts.push((status, n)),
        }
    }
}

/// `196 ok, 3 failed, 1 unreachable`: hosts per status, in the documented
/// order of statuses.
pub fn status_counts(counts: &[(Status, usize)]) -> String {
    let parts: Vec<String> = Status::ALL
        .iter()
        .filter_map(|status| {
            let (_, n) = counts.iter().find(|(s, _)| s == status)?;
            Some(format!("{n} {status}"))
        })
        .collect();
    parts.join(", ")
}

/// The summary of one run, statuses in their documented order.
pub fn summary_line(counts: &[(Status, usize)], seconds: f64) -> String {
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let noun = if total == 1 { "host" } else { "hosts" };
    // Warm runs finish in fractions of a second; show them to the 10 ms.
    let precision = if seconds < 10.0 { 2 } else { 1 };
    format!(
        "{total} {noun}: {} · {seconds:.precision$} s",
        status_counts(counts)
    )
}

impl RunObserver for Progress {
    /// A stage's note goes to stderr, above the table it is about, so that
    /// `--format json` output on stdout stays one document a line. Its text
    /// may quote host output, so it is made visible.
    fn note(&mut self, stage: &str, text: &str) {
        eprintln!("{stage}: {}", crate::render::visible(text));
    }

    /// `act`'s confirmation: the plan on stderr, then the number of hosts
    /// typed back, as a destructive cloud command asks. Anything else, or
    /// the end of input, is a no.
    fn confirm(&mut self, summary: &str, expected: usize) -> bool {
        eprintln!("{}", crate::render::visible(summary));
        eprint!("Type {expected} (the number of hosts) to go on, anything else to stop: ");
        let mut answer = String::new();
        match std::io::stdin().read_line(&mut answer) {
            Ok(n) if n > 0 => answer.trim() == expected.to_string(),
            _ => false,
        }
    }

    fn rejected(&mut self, _stage: &str, rows: &DataFrame) {
        self.rejected = Some(rows.clone());
    }

    fn fused(&mut self, later: usize) {
        self.fused = later;
    }

    fn run_started(&mut self, command: &str, hosts: usize) {
        self.counts.clear();
        self.hosts = hosts;
        self.command = visible_line(command).into_owned();
        match std::mem::take(&mut self.fused) {
            0 => {}
            1 => self.command.push_str(" (and the stage after it, fused)"),
            later => {
                let _ = write!(self.command, " (and the {later} stages after it, fused)");
            }
        }
        self.started = Instant::now();
        if self.show_bar {
            let bar =
                ProgressBar::with_draw_target(Some(hosts as u64), ProgressDrawTarget::stderr());
            let queue = self.queue.clone();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {pos}/{len} hosts {wide_bar} {elapsed}{queued} · {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                // Read at every redraw: hosts join and leave the queue
                // between results.
                .with_key(
                    "queued",
                    move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                        let queued = queue.as_ref().map_or(0, |q| q.load(Ordering::Relaxed));
                        if queued > 0 {
                            let _ = write!(out, " · {queued} queued for a connection");
                        }
                    },
                ),
            );
            bar.set_message(self.message());
            // Redraws come at most 20 times a second: without a steady tick
            // the last update before a pause (or Ctrl-C) might never show.
            bar.enable_steady_tick(Duration::from_millis(100));
            self.bar = Some(bar);
        }
    }

    fn host_finished(&mut self, _host: &str, outcome: &HostOutcome) {
        self.count(outcome.status, 1);
        if let Some(bar) = &self.bar {
            bar.set_position(self.reported() as u64);
            bar.set_message(self.message());
        }
    }

    fn run_finished(&mut self) {
        // A host the executor never reported on ends `error` in the result
        // ("the executor reported no result for this host"): count it so.
        let missing = self.hosts.saturating_sub(self.reported());
        if missing > 0 {
            self.count(Status::Error, missing);
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.show_summary {
            eprintln!(
                "{}",
                summary_line(&self.counts, self.started.elapsed().as_secs_f64())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_statuses_in_documented_order() {
        let counts = [
            (Status::Unreachable, 1),
            (Status::Ok, 196),
            (Status::Failed, 3),
        ];
        assert_eq!(
            summary_line(&counts, 2.1),
            "200 hosts: 196 ok, 3 failed, 1 unreachable · 2.10 s"
        );
        assert_eq!(
            summary_line(&[(Status::Ok, 1)], 12.34),
            "1 host: 1 ok · 12.3 s"
        );
    }

    fn outcome(status: Status) -> HostOutcome {
        HostOutcome::not_run(status, "test")
    }

    #[test]
    fn the_bar_and_the_summary_count_the_same_hosts() {
        let mut progress = Progress::new(false, false);
        progress.run_started("sleep 30", 5);
        assert_eq!(progress.message(), "waiting · sleep 30");
        progress.host_finished("web01", &outcome(Status::Ok));
        progress.host_finished("web02", &outcome(Status::Cancelled));
        progress.host_finished("web03", &outcome(Status::Cancelled));
        progress.host_finished("web04", &outcome(Status::Ok));
        assert_eq!(progress.message(), "2 ok, 2 cancelled · sleep 30");
        // web05 is never reported: the result shows it as an `error` row.
        progress.run_finished();
        assert_eq!(progress.reported(), 5);
        assert_eq!(
            summary_line(&progress.counts, 1.0),
            "5 hosts: 2 ok, 2 cancelled, 1 error · 1.00 s"
        );
        assert_eq!(progress.message(), "2 ok, 2 cancelled, 1 error · sleep 30");
    }

    #[test]
    fn a_command_shows_its_control_characters() {
        let mut progress = Progress::new(false, false);
        progress.run_started("printf '\x1b[2J\n'", 1);
        assert_eq!(progress.command, "printf '\\e[2J\\n'");
    }

    #[test]
    fn a_fused_batch_says_how_many_stages_it_answers_once() {
        let mut progress = Progress::new(false, false);
        progress.fused(2);
        progress.run_started("uptime", 3);
        assert_eq!(
            progress.command,
            "uptime (and the 2 stages after it, fused)"
        );
        progress.run_finished();
        progress.run_started("nproc", 3);
        assert_eq!(progress.command, "nproc");
    }
}
