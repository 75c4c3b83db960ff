//! `Match` lines, read and evaluated as OpenSSH's `match_cfg_line()` does:
//! `host`, `originalhost`, `user`, `localuser`, `all`, `canonical` and
//! `final`, each negated by `!`, the ones with an argument taking a
//! comma-separated pattern list, all of them required to hold. `exec` is
//! read but never run: where its answer would decide, shoal refuses the host.

use super::lexer::strdelim;
use super::pattern::{ListMatch, match_host, match_list};

/// One criterion of a `Match` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Criterion {
    pub negated: bool,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Test {
    All,
    Canonical,
    Final,
    Host(String),
    OriginalHost(String),
    User(String),
    LocalUser(String),
    Exec(String),
}

/// Criteria newer OpenSSH releases evaluate, which the one shoal follows
/// (9.2) does not, with what they test.
const NEWER: &[(&str, &str)] = &[
    ("localnetwork", "the networks of the local interfaces"),
    ("tagged", "the `Tag` set on the command line or earlier"),
    ("version", "the OpenSSH version"),
    ("sessiontype", "the kind of session requested"),
    ("command", "the remote command"),
];

/// The criteria of a `Match` line (`text` is what follows the keyword), or
/// why OpenSSH refuses it.
pub(super) fn parse(text: &str) -> Result<Vec<Criterion>, String> {
    let mut criteria = Vec::new();
    let mut rest = text;
    // Criteria other than `all` seen so far, as OpenSSH counts them.
    let mut attributes = 0;
    loop {
        let (word, after) = match strdelim(rest) {
            Err(()) => return Err("a quote is not closed (ssh refuses the file too)".into()),
            Ok(None) => break,
            Ok(Some((word, _))) if word.is_empty() || word.starts_with('#') => break,
            Ok(Some(split)) => split,
        };
        rest = after;
        let (negated, name) = match word.strip_prefix('!') {
            Some(name) => (true, name),
            None => (false, word),
        };
        let name = name.to_ascii_lowercase();
        if name == "all" {
            let more = matches!(strdelim(rest), Ok(Some((next, _))) if !next.is_empty() && !next.starts_with('#'));
            if attributes > 1 || more {
                return Err(format!(
                    "`{word}` cannot be combined with other Match criteria (ssh refuses the \
                     file too)"
                ));
            }
            criteria.push(Criterion {
                negated,
                test: Test::All,
            });
            return Ok(criteria);
        }
        attributes += 1;
        let simple = match name.as_str() {
            "canonical" => Some(Test::Canonical),
            "final" => Some(Test::Final),
            _ => None,
        };
        if let Some(test) = simple {
            criteria.push(Criterion { negated, test });
            continue;
        }
        let argument = match strdelim(rest) {
            Ok(Some((argument, after))) if !argument.is_empty() && !argument.starts_with('#') => {
                rest = after;
                argument.to_string()
            }
            _ => {
                return Err(format!(
                    "`Match {word}` needs a pattern list after it (ssh refuses the file too)"
                ));
            }
        };
        let test = match name.as_str() {
            "host" => Test::Host(argument),
            "originalhost" => Test::OriginalHost(argument),
            "user" => Test::User(argument),
            "localuser" => Test::LocalUser(argument),
            "exec" => Test::Exec(argument),
            _ => return Err(unsupported(word, &name)),
        };
        criteria.push(Criterion { negated, test });
    }
    if attributes == 0 {
        return Err("`Match` needs at least one criterion (ssh refuses the file too)".into());
    }
    Ok(criteria)
}

fn unsupported(word: &str, name: &str) -> String {
    let known = "shoal evaluates host, originalhost, user, localuser, all, canonical and \
                 final, and refuses hosts that an `exec` decides";
    match NEWER.iter().find(|(newer, _)| *newer == name) {
        Some((_, tests)) => format!(
            "`Match {word}` tests {tests}, which OpenSSH 9.2 (the version shoal follows) \
             does not know and refuses; {known}"
        ),
        None => format!("`{word}` is not a Match criterion (ssh refuses the file too); {known}"),
    }
}

/// What a `Match` line is evaluated against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts<'a> {
    /// The host name so far: `HostName` (with `%h` expanded) if one was
    /// set, else the name as given; in the final pass, the final host name.
    pub host: &'a str,
    /// The name as given.
    pub original: &'a str,
    /// The remote user so far, else the one ssh would fall back to.
    pub user: &'a str,
    pub local_user: &'a str,
    pub final_pass: bool,
}

/// A `Match` line's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Matches(bool),
    /// Every other criterion holds, so the line matches if and only if this
    /// command, run by a shell, exits 0 (exits non-zero, when `negated`).
    Exec {
        command: String,
        negated: bool,
    },
}

/// Evaluates `criteria`. `wants_final` is set when a `final` criterion is
/// read, which asks ssh for a second, final pass over the config.
pub(super) fn evaluate(
    criteria: &[Criterion],
    facts: &Facts<'_>,
    wants_final: &mut bool,
) -> Verdict {
    let mut result = true;
    let mut exec = None;
    for criterion in criteria {
        let holds = match &criterion.test {
            Test::All => true,
            Test::Canonical => facts.final_pass,
            Test::Final => {
                *wants_final = true;
                facts.final_pass
            }
            Test::Host(list) => match_host(facts.host, list) == ListMatch::Matched,
            Test::OriginalHost(list) => match_host(facts.original, list) == ListMatch::Matched,
            Test::User(list) => match_list(facts.user, list, false) == ListMatch::Matched,
            Test::LocalUser(list) => {
                match_list(facts.local_user, list, false) == ListMatch::Matched
            }
            Test::Exec(command) => {
                // ssh skips a command once an earlier criterion failed.
                if result && exec.is_none() {
                    exec = Some((command.clone(), criterion.negated));
                }
                continue;
            }
        };
        if holds == criterion.negated {
            result = false;
        }
    }
    match exec {
        Some((command, negated)) if result => Verdict::Exec { command, negated },
        _ => Verdict::Matches(result),
    }
}
