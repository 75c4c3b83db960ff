//! `clock_skew_ms` and `clock_skew_err_ms`: the host's clock set against
//! shoal's as NTP does it (RFC 5905's offset, with one host timestamp).
//!
//! The script's first line is the host's clock (`date +clock=%s.%3N`, one
//! fork, nothing before it but `exec 2>/dev/null`). The executor reports
//! when the command was sent (t0) and when its first output arrived (t1):
//! the host read its clock somewhere between the two, so
//!
//! ```text
//! skew = host − (t0 + t1) / 2        err = (t1 − t0) / 2
//! ```
//!
//! and the true offset lies within skew ± err, whatever the queueing before
//! t0 (connecting, the fan-out window) or the other probes after the first
//! line. The host's clock has a resolution (1 ms with GNU or busybox `date`,
//! 1 s where `%N` is unknown and prints as is); the printed value is read as
//! the middle of its interval and half the resolution is added to `err`.
//!
//! An executor that reports no [`Exchange`] (a scripted one) gets the whole
//! command as its round trip: t0 = arrival − duration, t1 = arrival, a wider
//! but still honest error.

use std::time::{SystemTime, UNIX_EPOCH};

use super::super::run::Arrival;
use crate::executor::Exchange;

/// The probe: the script's first command, so that its line is the first
/// output. Prints `clock=SECONDS.MILLIS`, or `clock=SECONDS.%3N` (or
/// similar) where `date` knows no `%N`.
pub(super) const PROBE: &str = "date +clock=%s.%3N";

/// The name the probe's line starts with.
pub(super) const LINE: &str = "clock";

/// A host clock reading: microseconds since the epoch at the start of the
/// printed interval, and the interval's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading {
    micros: i128,
    resolution_micros: i128,
}

/// `1700000000.123` (milliseconds; a longer fraction is cut to them), or
/// whole seconds where `date` printed no fraction or its `%3N` unexpanded.
fn reading(printed: &str) -> Option<Reading> {
    let (seconds, fraction) = printed
        .split_once('.')
        .map_or((printed, None), |(s, f)| (s, Some(f)));
    if seconds.is_empty() || !seconds.bytes().all(|b| b.is_ascii_digit()) || seconds.len() > 15 {
        return None;
    }
    let seconds: i128 = seconds.parse().ok()?;
    let whole = Reading {
        micros: seconds * 1_000_000,
        resolution_micros: 1_000_000,
    };
    match fraction {
        None => Some(whole),
        // `%N` unknown: printed as is, or as `N`.
        Some(f) if f.contains('N') => Some(whole),
        Some(f) if f.len() >= 3 && f.bytes().all(|b| b.is_ascii_digit()) => Some(Reading {
            micros: seconds * 1_000_000 + f[..3].parse::<i128>().ok()? * 1000,
            resolution_micros: 1000,
        }),
        Some(_) => None,
    }
}

/// The round trip a host's clock line travelled, by shoal's clock.
fn exchange(arrival: &Arrival) -> Option<Exchange> {
    if let Some(exchange) = arrival.outcome.exchange {
        return Some(exchange);
    }
    let duration = arrival.outcome.duration;
    Some(Exchange {
        sent: arrival.at.checked_sub(duration)?,
        first_output: duration,
    })
}

/// (skew, err) in milliseconds for a host that printed `printed` as its
/// clock line; `None` when it printed none that parses.
pub(super) fn skew(printed: Option<&str>, arrival: &Arrival) -> Option<(i64, i64)> {
    let reading = reading(printed?)?;
    let exchange = exchange(arrival)?;
    Some(offset(reading, exchange))
}

fn offset(reading: Reading, exchange: Exchange) -> (i64, i64) {
    let sent = micros(exchange.sent);
    let round_trip = exchange.first_output.as_micros() as i128;
    let midpoint = sent + round_trip / 2;
    let host = reading.micros + reading.resolution_micros / 2;
    let skew = host - midpoint;
    let err = round_trip / 2 + reading.resolution_micros / 2;
    // Rounding is monotonic, so |round(skew)| ≤ round(err) ≤ ceil(err)
    // whenever |skew| ≤ err.
    let skew_ms = (skew + if skew >= 0 { 500 } else { -500 }) / 1000;
    let err_ms = (err + 999) / 1000;
    (clamp(skew_ms), clamp(err_ms))
}

fn micros(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i128,
        Err(e) => -(e.duration().as_micros() as i128),
    }
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An exchange sent at `sent_ms` whose output came `rtt_ms` later.
    fn at(sent_ms: u64, rtt_ms: u64) -> Exchange {
        Exchange {
            sent: UNIX_EPOCH + Duration::from_millis(sent_ms),
            first_output: Duration::from_millis(rtt_ms),
        }
    }

    #[test]
    fn readings_in_milliseconds_or_whole_seconds() {
        assert_eq!(
            reading("1700000000.123"),
            Some(Reading {
                micros: 1_700_000_000_123_000,
                resolution_micros: 1000
            })
        );
        assert_eq!(
            reading("1700000000.123456789"),
            reading("1700000000.123"),
            "nanoseconds where %3N is read as %N"
        );
        for whole in ["1700000000", "1700000000.%3N", "1700000000.3N"] {
            assert_eq!(
                reading(whole),
                Some(Reading {
                    micros: 1_700_000_000_000_000,
                    resolution_micros: 1_000_000
                }),
                "{whole}"
            );
        }
        for junk in ["", ".123", "abc", "-5.000", "17e9", "1.2.3x", "1700000000.12"] {
            assert_eq!(reading(junk), None, "{junk}");
        }
    }

    #[test]
    fn skew_is_against_the_midpoint_of_the_round_trip() {
        // Sent at 1000 ms, answered 40 ms later: the midpoint is 1020.
        let same = Reading {
            micros: 1_020_000,
            resolution_micros: 1000,
        };
        assert_eq!(offset(same, at(1000, 40)), (1, 21));
        let ahead = Reading {
            micros: 301_020_000,
            resolution_micros: 1000,
        };
        assert_eq!(offset(ahead, at(1000, 40)), (300_001, 21));
        let behind = Reading {
            micros: 20_000,
            resolution_micros: 1000,
        };
        assert_eq!(offset(behind, at(1000, 40)), (-1000, 21));
        // Whole seconds: half a second of doubt on top.
        let coarse = Reading {
            micros: 1_000_000,
            resolution_micros: 1_000_000,
        };
        assert_eq!(offset(coarse, at(1000, 40)), (480, 520));
    }

    #[test]
    fn a_clock_read_anywhere_in_the_round_trip_is_within_the_error() {
        // The host, sharing shoal's clock, reads it at any moment between
        // sending and the answer and prints the millisecond it is in.
        for rtt in [0u64, 1, 2, 7, 40] {
            for read_us in (0..=rtt * 1000).step_by(250) {
                let true_us = 5_000_000 + read_us;
                let printed = true_us / 1000 * 1000;
                let r = Reading {
                    micros: printed as i128,
                    resolution_micros: 1000,
                };
                let (skew, err) = offset(r, at(5000, rtt));
                assert!(skew.abs() <= err, "rtt {rtt} read {read_us}: {skew} ± {err}");
            }
        }
    }
}
