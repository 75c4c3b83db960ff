//! A bot's circuit breaker on one host, `limit N per DUR`: pure logic over
//! the times the bot acted there, which the job store keeps, so a restart
//! or a SIGKILL of the daemon forgets nothing.
//!
//! Before each action the bot asks [`decide`]. Fewer than N actions within
//! the last DUR: act. N already, and the host still firing: the breaker
//! trips, and stays tripped (the bot acts there no more) until a person
//! runs `shoal bots reset NAME`; a window that merely slides past the old
//! actions does not close it, since a host the action failed to fix N
//! times is one a person should look at.

use shoal_lang::rules::Limit;

/// What the breaker says about acting on a host now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Act,
    /// The limit is reached: trip now, after `acted` actions in the window.
    Trip {
        acted: u64,
    },
    /// Tripped before; only a reset closes it.
    Open,
}

/// `acted_ms`: when the bot acted on the host since its last reset.
pub fn decide(limit: &Limit, tripped: bool, acted_ms: &[i64], now_ms: i64) -> Decision {
    if tripped {
        return Decision::Open;
    }
    let window = i64::try_from(limit.per_ms).unwrap_or(i64::MAX);
    let acted = acted_ms
        .iter()
        .filter(|&&at| now_ms.saturating_sub(at) < window)
        .count() as u64;
    if acted >= limit.count {
        Decision::Trip { acted }
    } else {
        Decision::Act
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Limit = Limit {
        count: 3,
        per_ms: 60_000,
    };

    #[test]
    fn acts_n_times_in_the_window_then_trips() {
        let mut acted = Vec::new();
        let mut now = 1_000_000;
        for _ in 0..3 {
            assert_eq!(decide(&LIMIT, false, &acted, now), Decision::Act);
            acted.push(now);
            now += 1_000;
        }
        assert_eq!(
            decide(&LIMIT, false, &acted, now),
            Decision::Trip { acted: 3 }
        );
        assert_eq!(decide(&LIMIT, true, &acted, now), Decision::Open);
    }

    #[test]
    fn actions_older_than_the_window_do_not_count() {
        let acted = [0, 10_000, 61_000];
        assert_eq!(decide(&LIMIT, false, &acted, 70_000), Decision::Act);
        assert_eq!(
            decide(&LIMIT, false, &acted, 59_000),
            Decision::Trip { acted: 3 }
        );
    }

    #[test]
    fn a_tripped_breaker_stays_open_after_the_window() {
        assert_eq!(decide(&LIMIT, true, &[], i64::MAX), Decision::Open);
    }
}
