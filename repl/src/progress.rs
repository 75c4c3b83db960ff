//! Progress while a `run` is in flight (an indicatif bar on a terminal) and
//! the summary line each run ends with:
//! `200 hosts: 196 ok, 3 failed, 1 unreachable · 2.10 s`.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shoal_stdlib::RunObserver;
use shoal_stdlib::executor::{HostOutcome, Status};

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Hosts per status for the current run, in arrival order.
    counts: Vec<(Status, usize)>,
    started: Instant,
    show_bar: bool,
}

impl Progress {
    /// `show_bar` only when stderr is a terminal: a bar in a log file is noise.
    pub fn new(show_bar: bool) -> Self {
        Progress {
            bar: None,
            counts: Vec::new(),
            started: Instant::now(),
            show_bar,
        }
    }

    fn failures(&self) -> usize {
        self.counts
            .iter()
            .filter(|(s, _)| *s != Status::Ok)
            .map(|(_, n)| n)
            .sum()
    }

    fn summary(&self) -> String {
        summary_line(&self.counts, self.started.elapsed().as_secs_f64())
    }
}

/// The summary of one run, statuses in their documented order.
pub fn summary_line(counts: &[(Status, usize)], seconds: f64) -> String {
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = Status::ALL
        .iter()
        .filter_map(|status| {
            let (_, n) = counts.iter().find(|(s, _)| s == status)?;
            Some(format!("{n} {status}"))
        })
        .collect();
    let noun = if total == 1 { "host" } else { "hosts" };
    // Warm runs finish in fractions of a second; show them to the 10 ms.
    let precision = if seconds < 10.0 { 2 } else { 1 };
    format!(
        "{total} {noun}: {} · {seconds:.precision$} s",
        parts.join(", ")
    )
}

impl RunObserver for Progress {
    fn run_started(&mut self, command: &str, hosts: usize) {
        self.counts.clear();
        self.started = Instant::now();
        if self.show_bar {
            let bar =
                ProgressBar::with_draw_target(Some(hosts as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {pos}/{len} hosts {wide_bar} {elapsed} · {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("0 failed · {command}"));
            self.bar = Some(bar);
        }
    }

    fn host_finished(&mut self, _host: &str, outcome: &HostOutcome) {
        match self.counts.iter_mut().find(|(s, _)| *s == outcome.status) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((outcome.status, 1)),
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            let failed = self.failures();
            let message = bar.message();
            let command = message.split_once(" · ").map_or("", |(_, c)| c);
            bar.set_message(format!("{failed} failed · {command}"));
        }
    }

    fn run_finished(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("{}", self.summary());
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
}
