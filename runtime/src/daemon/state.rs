//! One alarm's state on one host, with hysteresis: pure logic, no clock and
//! no I/O, so every path is a unit test.
//!
//! ```text
//!            bad ×fire_after               good ×clear_after
//!   ok ──bad──▶ pending ──────────▶ firing ──good──▶ resolving ─────────▶ ok
//!    ▲            │ good                ▲               │ bad
//!    └────────────┘                     └───────────────┘
//!
//!   any state ──not reached──▶ unknown ──reached again──▶ the state it left
//! ```
//!
//! A host that was not reached (any `status` but ok) is `unknown`, never
//! ok: a tick that could not look says nothing either way, so it neither
//! counts toward firing nor toward resolving, and the streak in progress is
//! kept. `unknown` for more than `unknown_after` ticks is an alert of its
//! own ([`Transition::UnknownTooLong`]), raised once per episode.

use serde::Serialize;

/// Where a host stands for one alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Ok,
    /// The condition holds, for fewer than `fire_after` ticks so far.
    Pending,
    Firing,
    /// Firing, and the condition has not held for fewer than
    /// `clear_after` ticks so far.
    Resolving,
    /// Not reached on the last tick.
    Unknown,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Ok,
        State::Pending,
        State::Firing,
        State::Resolving,
        State::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Pending => "pending",
            State::Firing => "firing",
            State::Resolving => "resolving",
            State::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What one tick saw on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// Reached, and the condition does not hold.
    Good,
    /// Reached, and the condition holds.
    Bad,
    /// Not reached (or not in the query's rows any more).
    Unknown,
}

/// An alarm's `fire_after`, `clear_after` and `unknown_after`, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hysteresis {
    pub fire_after: u64,
    pub clear_after: u64,
    pub unknown_after: u64,
}

/// What a tick changed that someone should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Pending (or ok, with `fire_after=1`) to firing.
    Fired,
    /// Resolving (or firing, with `clear_after=1`) to ok.
    Resolved,
    /// Unknown for more than `unknown_after` ticks.
    UnknownTooLong,
    /// Reached again after [`Transition::UnknownTooLong`].
    Reachable,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Fired => "firing",
            Transition::Resolved => "resolved",
            Transition::UnknownTooLong => "unknown",
            Transition::Reachable => "reachable",
        }
    }
}

/// One host's state for one alarm, as the job store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostState {
    pub state: State,
    /// Consecutive ticks toward the next state: bad ones while pending,
    /// good ones while resolving; 0 otherwise.
    pub streak: u64,
    /// While unknown, the state it left, which the next tick that reaches
    /// the host goes on from; otherwise the state itself.
    pub known: State,
    /// Consecutive ticks unknown.
    pub unknown_ticks: u64,
}

impl Default for HostState {
    fn default() -> Self {
        HostState {
            state: State::Ok,
            streak: 0,
            known: State::Ok,
            unknown_ticks: 0,
        }
    }
}

impl HostState {
    /// Takes one tick's observation; what it changed, in order (at most a
    /// [`Transition::Reachable`] and then a firing or a resolution).
    pub fn observe(&mut self, seen: Observation, limits: &Hysteresis) -> Vec<Transition> {
        let mut changed = Vec::new();
        let bad = match seen {
            Observation::Unknown => {
                if self.state != State::Unknown {
                    self.known = self.state;
                    self.state = State::Unknown;
                    self.unknown_ticks = 0;
                }
                self.unknown_ticks += 1;
                if self.unknown_ticks == limits.unknown_after + 1 {
                    changed.push(Transition::UnknownTooLong);
                }
                return changed;
            }
            Observation::Good => false,
            Observation::Bad => true,
        };
        if self.state == State::Unknown {
            if self.unknown_ticks > limits.unknown_after {
                changed.push(Transition::Reachable);
            }
            self.state = self.known;
            self.unknown_ticks = 0;
        }
        changed.extend(self.step(bad, limits));
        self.known = self.state;
        changed
    }

    fn step(&mut self, bad: bool, limits: &Hysteresis) -> Option<Transition> {
        match (self.state, bad) {
            (State::Ok, false) | (State::Firing, true) => None,
            (State::Ok | State::Pending, true) => {
                self.streak = if self.state == State::Ok {
                    1
                } else {
                    self.streak + 1
                };
                if self.streak >= limits.fire_after {
                    self.state = State::Firing;
                    self.streak = 0;
                    Some(Transition::Fired)
                } else {
                    self.state = State::Pending;
                    None
                }
            }
            (State::Pending, false) => {
                self.state = State::Ok;
                self.streak = 0;
                None
            }
            (State::Firing | State::Resolving, false) => {
                self.streak = if self.state == State::Firing {
                    1
                } else {
                    self.streak + 1
                };
                if self.streak >= limits.clear_after {
                    self.state = State::Ok;
                    self.streak = 0;
                    Some(Transition::Resolved)
                } else {
                    self.state = State::Resolving;
                    None
                }
            }
            (State::Resolving, true) => {
                self.state = State::Firing;
                self.streak = 0;
                None
            }
            (State::Unknown, _) => unreachable!("step: an unknown host is resumed first"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Observation::{Bad, Good, Unknown};

    const LIMITS: Hysteresis = Hysteresis {
        fire_after: 3,
        clear_after: 2,
        unknown_after: 2,
    };

    /// The states after each observation, and every transition.
    fn run(seen: &[Observation]) -> (Vec<State>, Vec<Transition>) {
        let mut host = HostState::default();
        let mut states = Vec::new();
        let mut changes = Vec::new();
        for &s in seen {
            changes.extend(host.observe(s, &LIMITS));
            states.push(host.state);
        }
        (states, changes)
    }

    #[test]
    fn a_flapping_host_never_fires_and_a_steady_one_does() {
        let (states, changes) = run(&[Bad, Good, Bad, Bad, Good, Bad, Good, Bad, Bad, Good]);
        assert!(changes.is_empty(), "{changes:?}");
        assert!(!states.contains(&State::Firing));
        let (states, changes) = run(&[Bad, Bad, Bad, Bad]);
        use State::*;
        assert_eq!(states, [Pending, Pending, Firing, Firing]);
        assert_eq!(changes, [Transition::Fired]);
    }

    #[test]
    fn resolving_needs_clear_after_good_ticks_in_a_row() {
        use State::*;
        let (states, changes) = run(&[Bad, Bad, Bad, Good, Bad, Good, Good, Good]);
        assert_eq!(
            states,
            [
                Pending, Pending, Firing, Resolving, Firing, Resolving, Ok, Ok
            ]
        );
        assert_eq!(changes, [Transition::Fired, Transition::Resolved]);
    }

    #[test]
    fn one_tick_is_enough_with_limits_of_one() {
        let limits = Hysteresis {
            fire_after: 1,
            clear_after: 1,
            unknown_after: 1,
        };
        let mut host = HostState::default();
        assert_eq!(host.observe(Bad, &limits), [Transition::Fired]);
        assert_eq!(host.observe(Good, &limits), [Transition::Resolved]);
        assert_eq!(host.state, State::Ok);
    }

    #[test]
    fn an_unreached_host_is_unknown_never_ok_and_says_so_after_k_ticks() {
        let (states, changes) = run(&[Unknown, Unknown, Unknown, Unknown, Good]);
        assert_eq!(
            states,
            [
                State::Unknown,
                State::Unknown,
                State::Unknown,
                State::Unknown,
                State::Ok
            ]
        );
        assert_eq!(
            changes,
            [Transition::UnknownTooLong, Transition::Reachable],
            "one alert per episode, and one when it is back"
        );
        // Shorter than K: no alert either way.
        let (_, changes) = run(&[Unknown, Unknown, Good]);
        assert!(changes.is_empty());
    }

    #[test]
    fn unknown_ticks_pause_a_streak_and_resume_the_state_left() {
        // Two bad, one unknown, one bad: the third bad tick still fires.
        let (states, changes) = run(&[Bad, Bad, Unknown, Bad]);
        assert_eq!(
            states,
            [
                State::Pending,
                State::Pending,
                State::Unknown,
                State::Firing
            ]
        );
        assert_eq!(changes, [Transition::Fired]);
        // A firing host out of reach is not resolved by it: it comes back firing.
        let (states, changes) = run(&[Bad, Bad, Bad, Unknown, Unknown, Bad]);
        assert_eq!(states[5], State::Firing);
        assert_eq!(changes, [Transition::Fired]);
    }

    #[test]
    fn states_read_back_from_their_names() {
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Some(state));
        }
        assert_eq!(State::parse("fine"), None);
    }
}
