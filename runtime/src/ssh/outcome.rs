//! How what happened on a host becomes its row: the status and the reason in
//! words. Every path through the executor ends here, so the mapping from
//! events to statuses lives in one place.

use std::time::{Duration, Instant, SystemTime};

use shoal_stdlib::executor::{Exchange, HostOutcome, Status};

use super::output::Bounded;

/// A host that did not get as far as running the command, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: Status,
    pub reason: String,
}

impl Failure {
    pub fn new(status: Status, reason: impl Into<String>) -> Failure {
        Failure {
            status,
            reason: reason.into(),
        }
    }

    pub fn into_outcome(self) -> HostOutcome {
        HostOutcome::not_run(self.status, self.reason)
    }
}

/// How a command's channel came to an end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The server closed the channel: the command ran to its end.
    Completed,
    /// The command outlived its timeout and shoal ended it.
    TimedOut(Duration),
    /// The query was cancelled while the command ran.
    Cancelled,
    /// The server would not start the command.
    Refused,
    /// The connection failed under the command.
    Lost(String),
    /// The host's persistent shell (shell.rs) failed under the command, for
    /// the reason given.
    ShellFailed(String),
}

/// Everything read from one command's channel.
#[derive(Debug, Default)]
pub(crate) struct Ran {
    pub stdout: Bounded,
    pub stderr: Bounded,
    pub exit: Option<u32>,
    /// The signal that ended the command, when the server reports one.
    pub signal: Option<String>,
    /// The server closed the channel, so the remote command is known to be
    /// over. False after a timeout only if neither the signal nor the end of
    /// input stopped it within the grace period.
    pub closed: bool,
    /// When the command was written to the host, by both clocks.
    pub sent: Option<(SystemTime, Instant)>,
    /// When the command's first output arrived.
    pub first_output: Option<Instant>,
}

impl Ran {
    /// Notes that the command is being sent now.
    pub fn sending(&mut self) {
        self.sent = Some((SystemTime::now(), Instant::now()));
    }

    /// Notes that the command's output has begun, unless it already had.
    pub fn output_arrived(&mut self) {
        if self.first_output.is_none() {
            self.first_output = Some(Instant::now());
        }
    }

    fn exchange(&self) -> Option<Exchange> {
        let (sent, sent_instant) = self.sent?;
        Some(Exchange {
            sent,
            first_output: self.first_output?.saturating_duration_since(sent_instant),
        })
    }

    /// The host's row. Partial output is kept for timeouts and
    /// cancellations: what a hung command printed is often the clue.
    pub fn into_outcome(self, ending: Ending) -> HostOutcome {
        let exchange = self.exchange();
        let (stdout, stdout_note) = self.stdout.finish("stdout");
        let (stderr, stderr_note) = self.stderr.finish("stderr");
        let exit = self
            .exit
            .map(|code| i32::try_from(code).unwrap_or(i32::MAX));
        let (status, reason, exit) = match ending {
            Ending::Completed => match (exit, self.signal) {
                (Some(0), _) => (Status::Ok, None, exit),
                (Some(code), _) => (Status::Failed, Some(format!("exit {code}")), exit),
                (None, Some(signal)) => (
                    Status::Failed,
                    Some(format!("killed by signal {signal}")),
                    None,
                ),
                (None, None) => (
                    Status::Error,
                    Some("the command ended without an exit status".to_string()),
                    None,
                ),
            },
            Ending::TimedOut(after) => {
                let mut reason = format!("timed out after {}", human(after));
                if !self.closed {
                    reason.push_str("; the server did not confirm that the command ended");
                }
                (Status::Timeout, Some(reason), None)
            }
            Ending::Cancelled => (Status::Cancelled, Some("cancelled".to_string()), None),
            Ending::Refused => (
                Status::Error,
                Some("the server refused to run the command".to_string()),
                None,
            ),
            Ending::Lost(why) => (
                Status::Error,
                Some(format!("connection lost while the command ran: {why}")),
                None,
            ),
            Ending::ShellFailed(why) => (
                Status::Error,
                Some(format!(
                    "shoal's shell on the host failed while the command ran: {why}"
                )),
                None,
            ),
        };
        let notes: Vec<String> = [reason, stdout_note, stderr_note]
            .into_iter()
            .flatten()
            .collect();
        HostOutcome {
            stdout,
            stderr,
            exit,
            status,
            error: (!notes.is_empty()).then(|| notes.join("; ")),
            duration: Duration::ZERO,
            exchange,
        }
    }
}

/// `10s`, `1.5s`, `200ms`, `2m`: a duration as the user wrote it.
pub(crate) fn human(duration: Duration) -> String {
    let millis = duration.as_millis();
    match millis {
        m if m % 60_000 == 0 && m > 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m if m > 1000 => format!("{}s", duration.as_secs_f64()),
        m => format!("{m}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(exit: Option<u32>, signal: Option<&str>) -> Ran {
        let mut ran = Ran {
            exit,
            signal: signal.map(str::to_string),
            closed: true,
            ..Ran::default()
        };
        ran.stdout.push(b"out\n");
        ran.stderr.push(b"err\n");
        ran
    }

    #[test]
    fn exit_codes_map_to_ok_and_failed() {
        let ok = ran(Some(0), None).into_outcome(Ending::Completed);
        assert_eq!((ok.status, ok.exit, ok.error), (Status::Ok, Some(0), None));
        assert_eq!((ok.stdout.as_str(), ok.stderr.as_str()), ("out", "err"));

        let failed = ran(Some(3), None).into_outcome(Ending::Completed);
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(failed.exit, Some(3));
        assert_eq!(failed.error.as_deref(), Some("exit 3"));
    }

    #[test]
    fn signals_and_missing_statuses_say_so() {
        let killed = ran(None, Some("KILL")).into_outcome(Ending::Completed);
        assert_eq!((killed.status, killed.exit), (Status::Failed, None));
        assert_eq!(killed.error.as_deref(), Some("killed by signal KILL"));

        let lost = ran(None, None).into_outcome(Ending::Completed);
        assert_eq!(lost.status, Status::Error);
        assert_eq!(
            lost.error.as_deref(),
            Some("the command ended without an exit status")
        );
    }

    #[test]
    fn timeouts_keep_partial_output_and_no_exit_code() {
        let timed_out = ran(Some(143), None).into_outcome(Ending::TimedOut(Duration::from_secs(5)));
        assert_eq!((timed_out.status, timed_out.exit), (Status::Timeout, None));
        assert_eq!(timed_out.error.as_deref(), Some("timed out after 5s"));
        assert_eq!(timed_out.stdout, "out");

        let mut stuck = ran(None, None);
        stuck.closed = false;
        let stuck = stuck.into_outcome(Ending::TimedOut(Duration::from_millis(1500)));
        assert_eq!(
            stuck.error.as_deref(),
            Some("timed out after 1.5s; the server did not confirm that the command ended")
        );
    }

    #[test]
    fn cancelled_refused_lost_and_shell_failed() {
        let cancelled = ran(None, None).into_outcome(Ending::Cancelled);
        assert_eq!(
            (cancelled.status, cancelled.error.as_deref()),
            (Status::Cancelled, Some("cancelled"))
        );
        let refused = ran(None, None).into_outcome(Ending::Refused);
        assert_eq!(refused.status, Status::Error);
        let lost = ran(None, None).into_outcome(Ending::Lost("Disconnected".into()));
        assert_eq!(
            lost.error.as_deref(),
            Some("connection lost while the command ran: Disconnected")
        );
        let shell = ran(None, None).into_outcome(Ending::ShellFailed("it exited".into()));
        assert_eq!(
            (shell.status, shell.stdout.as_str()),
            (Status::Error, "out")
        );
        assert_eq!(
            shell.error.as_deref(),
            Some("shoal's shell on the host failed while the command ran: it exited")
        );
    }

    #[test]
    fn truncation_notes_join_the_reason() {
        let mut big = ran(Some(1), None);
        big.stdout = Bounded::with_cap(2);
        big.stdout.push(b"abcd");
        let outcome = big.into_outcome(Ending::Completed);
        assert_eq!(
            outcome.error.as_deref(),
            Some("exit 1; stdout truncated at 2 bytes (2 bytes discarded)")
        );
        let mut big_ok = ran(Some(0), None);
        big_ok.stderr = Bounded::with_cap(1);
        big_ok.stderr.push(b"xy");
        let outcome = big_ok.into_outcome(Ending::Completed);
        assert_eq!(outcome.status, Status::Ok);
        assert_eq!(
            outcome.error.as_deref(),
            Some("stderr truncated at 1 byte (1 byte discarded)")
        );
    }

    #[test]
    fn durations_print_as_written() {
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_secs(120)), "2m");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_millis(200)), "200ms");
        assert_eq!(human(Duration::ZERO), "0s");
    }
}
