//! Many independent statements, one round trip per host: the first command
//! each statement would send to each host is collected, all of a host's go
//! out as one fused command, and each statement then runs as usual against
//! [`Replay`], which answers those commands from the fused run's output.
//!
//! ```text
//!   Session::first_commands   each statement evaluated on collected rows:
//!        │                    the (host, command) of its first run, unless
//!        │                    that run has a time limit of its own
//!        ▼
//!   Prefetch::run             per host, its distinct commands as one script:
//!        │                      (eval 'CMD0') </dev/null; shoal_m 0 $?
//!        │                      (eval 'CMD1') </dev/null; shoal_m 1 $?
//!        │                    shoal_m writes a marker line with a random
//!        │                    nonce to stdout (with the exit code) and to
//!        │                    stderr, so the output splits back per command
//!        ▼
//!   Replay (an Executor)      a statement's run asks for (host, command):
//!                             answered from the split, else run live
//! ```
//!
//! A run with a time limit of its own (`run ... timeout=5s`, and `facts`,
//! which always has one) is not fused: its limit, its `duration_ms` and its
//! clock reading would all become the fused command's. It runs live, on its
//! own, as it would have anyway.
//!
//! What a split command reports is what it would have reported alone:
//! stdout and stderr without trailing newlines, the exit code, `ok` or
//! `failed` with `exit N`; a host that could not be reached reports that for
//! every command. Three things are shared, and said so: `duration_ms` is the
//! fused command's, the 1 MiB output cap is the fused command's, and a
//! clock exchange is the whole fused round trip, a wider but still honest
//! error bound. The fused command has the executor's default time limit; a
//! command left unfinished by it gets what it printed and `timeout`, and
//! those after it get `timeout` too. Where
//! the fused script itself could not run (a login shell that is not POSIX,
//! such as csh), nothing is kept for that host and each command runs on its
//! own, live.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::{IndexMap, IndexSet};
use polars::prelude::DataFrame;
use shoal_lang::shell_quote;

use crate::context::{EvalContext, Quiet, RunObserver};
use crate::eval::apply;
use crate::executor::{Exchange, Executor, HostOutcome, RunRequest, Status};
use crate::history::ReadOnly;
use crate::safety::Safety;
use crate::{PlannedStatement, Session};

/// One command a statement will send to one host first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub host: String,
    pub command: String,
}

/// The executor of the collecting pass: it keeps the first request it is
/// given and answers every host `cancelled`, so the statement goes on
/// without contacting anyone.
#[derive(Default)]
struct Collect {
    first: std::sync::Mutex<Option<Vec<Wanted>>>,
}

/// The `error` of the collecting pass's rows, which no one sees.
const COLLECTING: &str = "not run: collecting the commands to fuse";

impl Executor for Collect {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            // A run with its own time limit is only ever run on its own.
            let fusable = request.timeout.is_none();
            *first = Some(
                hosts
                    .iter()
                    .enumerate()
                    .filter(|_| fusable)
                    .map(|(i, host)| Wanted {
                        host: host.clone(),
                        command: request.command_for(i).to_string(),
                    })
                    .collect(),
            );
        }
        drop(first);
        for index in 0..hosts.len() {
            on_result(index, HostOutcome::not_run(Status::Cancelled, COLLECTING));
        }
    }
}

impl Session {
    /// The commands `statements` will send first, each statement's first
    /// run, found by evaluating them with an executor that runs nothing and
    /// a history that records nothing. A statement that fails on those
    /// rows simply wants nothing: it will run live.
    pub fn first_commands(&self, statements: &[&PlannedStatement]) -> Vec<Wanted> {
        let mut wanted = Vec::new();
        // An `act` is never sent ahead: here it only plans.
        let safety = Safety {
            dry_run: true,
            ..self.safety.clone()
        };
        for statement in statements {
            let Ok(frame) = self.source(&statement.source) else {
                continue;
            };
            let collect = Collect::default();
            let mut ctx = EvalContext {
                fleet: &self.fleet,
                vars: &self.vars,
                executor: &collect,
                observer: &mut Quiet,
                history: &ReadOnly(self.history.0.as_ref()),
                safety: &safety,
            };
            let _: shoal_lang::Result<DataFrame> = apply(&statement.ops, frame, &mut ctx);
            let first = collect
                .first
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            wanted.extend(first.unwrap_or_default());
        }
        wanted
    }
}

/// The fused run's answers, by host and command.
#[derive(Debug, Default)]
pub struct Prefetch {
    answers: HashMap<(String, String), HostOutcome>,
}

impl Prefetch {
    /// Runs every host's wanted commands as one fused command per host, on
    /// `executor` with its default time limit, telling `observer` how the
    /// one run goes.
    pub fn run(
        wanted: &[Wanted],
        executor: &dyn Executor,
        observer: &mut dyn RunObserver,
    ) -> Prefetch {
        let mut per_host: IndexMap<&str, IndexSet<&str>> = IndexMap::new();
        for want in wanted {
            per_host
                .entry(&want.host)
                .or_default()
                .insert(&want.command);
        }
        if per_host.is_empty() {
            return Prefetch::default();
        }
        let marker = marker();
        let hosts: Vec<String> = per_host.keys().map(|h| h.to_string()).collect();
        let scripts: Vec<String> = per_host
            .values()
            .map(|commands| fused_script(&marker, commands))
            .collect();
        let commands = per_host.values().map(IndexSet::len).sum::<usize>();
        let label = format!("{commands} commands, fused into one per host");
        let request = if scripts.windows(2).all(|pair| pair[0] == pair[1]) {
            RunRequest {
                command: scripts[0].clone(),
                per_host: Vec::new(),
                timeout: None,
            }
        } else {
            RunRequest {
                command: label.clone(),
                per_host: scripts,
                timeout: None,
            }
        };
        observer.run_started(&label, hosts.len());
        let mut answers = HashMap::new();
        executor.run(&hosts, &request, &mut |index, outcome| {
            let arrived = SystemTime::now();
            let Some((host, commands)) = per_host.get_index(index) else {
                return;
            };
            observer.host_finished(host, &outcome);
            let Some(split) = split(&outcome, &marker, commands.len(), arrived) else {
                return; // the script did not run as written: live, one by one
            };
            for (command, outcome) in commands.iter().zip(split) {
                answers.insert((host.to_string(), command.to_string()), outcome);
            }
        });
        observer.run_finished();
        Prefetch { answers }
    }

    /// The answer to `command` on `host`, when the fused run has it.
    pub fn answer(&self, host: &str, command: &str) -> Option<&HostOutcome> {
        self.answers.get(&(host.to_string(), command.to_string()))
    }
}

/// A marker no command prints by chance: a random 64-bit nonce.
fn marker() -> String {
    let mut hasher = RandomState::new().build_hasher();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    format!("@shoal-{:016x}", hasher.finish())
}

/// The script that runs `commands` one after another, each in a subshell
/// of its own with stdin from /dev/null (as a single run would have it),
/// each followed by its marker line on stdout (with its exit code) and on
/// stderr. POSIX `sh`, so bash, dash, ksh and zsh run it alike.
fn fused_script(marker: &str, commands: &IndexSet<&str>) -> String {
    let mut script = format!(
        "shoal_m() {{ printf '\\n%s %s %s\\n' {marker} \"$1\" \"$2\"; printf '\\n%s %s\\n' {marker} \"$1\" >&2; }}\n"
    );
    for (index, command) in commands.iter().enumerate() {
        script.push_str(&format!(
            "(eval {}) </dev/null; shoal_m {index} $?\n",
            shell_quote(command)
        ));
    }
    script
}

/// Cuts a stream at the marker lines: for each command that finished, its
/// text; and the text after the last marker, which belongs to the command
/// that was running when the stream ended. Each marker line is `MARKER J`
/// then, on stdout, the exit code.
struct Cut<'a> {
    finished: Vec<(&'a str, Option<i32>)>,
    rest: &'a str,
}

fn cut<'a>(stream: &'a str, marker: &str) -> Cut<'a> {
    let separator = format!("\n{marker} ");
    let mut pieces = stream.split(separator.as_str());
    // Every marker line starts with a newline of its own, so a command that
    // printed nothing leaves an empty piece, and one whose output lacks a
    // final newline keeps its last line whole.
    let mut current = pieces.next().unwrap_or("");
    let mut finished = Vec::new();
    for piece in pieces {
        let (header, after) = piece.split_once('\n').unwrap_or((piece, ""));
        let exit = header
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok());
        finished.push((current, exit));
        current = after;
    }
    Cut {
        finished,
        rest: current,
    }
}

/// The fused outcome cut into one outcome per command, in script order;
/// `None` when it ran but not as the script says (no marker at all from a
/// host that did run it), so the host's commands should run on their own.
fn split(
    fused: &HostOutcome,
    marker: &str,
    commands: usize,
    arrived: SystemTime,
) -> Option<Vec<HostOutcome>> {
    if !fused.ran() {
        return Some(vec![fused.clone(); commands]);
    }
    let out = cut(&fused.stdout, marker);
    let err = cut(&fused.stderr, marker);
    if out.finished.is_empty() && matches!(fused.status, Status::Ok | Status::Failed) {
        return None;
    }
    // The host read its clocks somewhere between sending and arrival.
    let sent = fused
        .exchange
        .map(|e| e.sent)
        .or_else(|| arrived.checked_sub(fused.duration));
    let exchange = sent.map(|sent| Exchange {
        sent,
        first_output: arrived.duration_since(sent).unwrap_or(fused.duration),
    });
    let trimmed = |text: &str| text.trim_end_matches('\n').to_string();
    let unfinished_status = match fused.status {
        Status::Ok | Status::Failed => Status::Error,
        other => other,
    };
    let unfinished_error = fused
        .error
        .clone()
        .unwrap_or_else(|| "no result for this command in the fused run".to_string());
    Some(
        (0..commands)
            .map(|index| match out.finished.get(index) {
                Some(&(stdout, exit)) => {
                    let stderr = err.finished.get(index).map_or("", |(text, _)| text);
                    let (status, error) = match exit {
                        Some(0) => (Status::Ok, None),
                        Some(code) => (Status::Failed, Some(format!("exit {code}"))),
                        None => (
                            Status::Error,
                            Some("the fused run lost this command's exit code".to_string()),
                        ),
                    };
                    HostOutcome {
                        stdout: trimmed(stdout),
                        stderr: trimmed(stderr),
                        exit,
                        status,
                        error,
                        duration: fused.duration,
                        exchange,
                    }
                }
                None => {
                    // The command the stream ended in keeps what it printed.
                    let running = index == out.finished.len();
                    let text = |rest: &str| {
                        if running {
                            trimmed(rest)
                        } else {
                            String::new()
                        }
                    };
                    HostOutcome {
                        stdout: text(out.rest),
                        stderr: text(err.rest),
                        exit: None,
                        status: unfinished_status,
                        error: Some(unfinished_error.clone()),
                        duration: fused.duration,
                        exchange,
                    }
                }
            })
            .collect(),
    )
}

/// An executor that answers from a [`Prefetch`] what it can, and runs the
/// rest on `live`.
pub struct Replay<'a> {
    pub prefetch: &'a Prefetch,
    pub live: &'a dyn Executor,
}

impl Executor for Replay<'_> {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        let mut missed: Vec<usize> = Vec::new();
        for (index, host) in hosts.iter().enumerate() {
            match self.prefetch.answer(host, request.command_for(index)) {
                Some(outcome) => on_result(index, outcome.clone()),
                None => missed.push(index),
            }
        }
        if missed.is_empty() {
            return;
        }
        let live_hosts: Vec<String> = missed.iter().map(|&i| hosts[i].clone()).collect();
        self.live.run(
            &live_hosts,
            &request.subset(&missed),
            &mut |index, outcome| {
                if let Some(&original) = missed.get(index) {
                    on_result(original, outcome);
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::Duration;

    use super::*;

    /// Runs each command with the local `sh`, as a host would.
    struct LocalShell;

    impl Executor for LocalShell {
        fn run(
            &self,
            hosts: &[String],
            request: &RunRequest,
            on_result: &mut dyn FnMut(usize, HostOutcome),
        ) {
            for index in 0..hosts.len() {
                let output = Command::new("sh")
                    .args(["-c", request.command_for(index)])
                    .output()
                    .expect("sh runs");
                let text = |bytes: &[u8]| {
                    String::from_utf8_lossy(bytes)
                        .trim_end_matches('\n')
                        .to_string()
                };
                let exit = output.status.code();
                on_result(
                    index,
                    HostOutcome {
                        stdout: text(&output.stdout),
                        stderr: text(&output.stderr),
                        exit,
                        status: if exit == Some(0) {
                            Status::Ok
                        } else {
                            Status::Failed
                        },
                        error: None,
                        duration: Duration::from_millis(5),
                        exchange: None,
                    },
                );
            }
        }
    }

    fn want(host: &str, command: &str) -> Wanted {
        Wanted {
            host: host.into(),
            command: command.into(),
        }
    }

    #[test]
    fn a_fused_run_splits_back_into_what_each_command_would_have_said() {
        let commands = [
            "printf 'a\\nb\\n\\n'",
            "echo oops >&2; exit 3",
            "printf 'no newline'",
            "true",
            "cd /; exit 0",
            "pwd; read x; echo \"read=$x\"",
        ];
        let wanted: Vec<Wanted> = commands.iter().map(|c| want("h1", c)).collect();
        let prefetch = Prefetch::run(&wanted, &LocalShell, &mut Quiet);
        let answer = |c: &str| prefetch.answer("h1", c).expect("answered").clone();
        let first = answer(commands[0]);
        assert_eq!((first.stdout.as_str(), first.exit), ("a\nb", Some(0)));
        assert_eq!(first.status, Status::Ok);
        let failed = answer(commands[1]);
        assert_eq!(failed.stderr, "oops");
        assert_eq!((failed.status, failed.exit), (Status::Failed, Some(3)));
        assert_eq!(failed.error.as_deref(), Some("exit 3"));
        assert_eq!(answer(commands[2]).stdout, "no newline");
        assert_eq!(answer(commands[3]).stdout, "");
        // Each command in its own subshell: `cd` and `exit` end only it, and
        // stdin is empty.
        assert_eq!(answer(commands[5]).stdout.lines().nth(1), Some("read="));
        assert!(answer(commands[3]).exchange.is_some());
    }

    #[test]
    fn each_statement_wants_its_first_command_unless_it_has_its_own_time_limit() {
        let session = Session::new(crate::example_fleet::fleet());
        let wanted = |query: &str| {
            let plan = crate::compile(query).unwrap();
            let statements: Vec<&PlannedStatement> = plan.statements.iter().collect();
            session.first_commands(&statements)
        };
        assert_eq!(
            wanted("hosts @db | run \"nproc\" as n | run \"echo {n}\""),
            [want("db01", "nproc"), want("db02", "nproc")]
        );
        assert!(wanted("hosts @db | run \"true\" timeout=2s").is_empty());
        assert!(wanted("hosts @db | facts").is_empty());
    }

    #[test]
    fn replay_answers_what_it_has_and_runs_the_rest_live() {
        let prefetch = Prefetch::run(&[want("h1", "echo one")], &LocalShell, &mut Quiet);
        let replay = Replay {
            prefetch: &prefetch,
            live: &LocalShell,
        };
        let hosts = vec!["h1".to_string(), "h2".to_string()];
        let request = RunRequest {
            command: "echo one".into(),
            per_host: Vec::new(),
            timeout: None,
        };
        let mut got = vec![None, None];
        replay.run(&hosts, &request, &mut |i, outcome| {
            got[i] = Some(outcome.stdout)
        });
        assert_eq!(got, [Some("one".to_string()), Some("one".to_string())]);
        assert!(prefetch.answer("h2", "echo one").is_none());
    }

    #[test]
    fn an_unreachable_host_reports_so_for_every_command_and_a_timeout_keeps_output() {
        let marker = "@shoal-0";
        let down = HostOutcome::not_run(Status::Unreachable, "connection refused");
        let split_down = split(&down, marker, 3, SystemTime::now()).unwrap();
        assert!(split_down.iter().all(|o| o.status == Status::Unreachable));
        let timed_out = HostOutcome {
            stdout: format!("one\n{marker} 0 0\ntwo-partial"),
            stderr: format!("\n{marker} 0"),
            exit: None,
            status: Status::Timeout,
            error: Some("timed out after 5s".into()),
            duration: Duration::from_secs(5),
            exchange: None,
        };
        let parts = split(&timed_out, marker, 3, SystemTime::now()).unwrap();
        assert_eq!(
            (parts[0].status, parts[0].stdout.as_str()),
            (Status::Ok, "one")
        );
        assert_eq!(
            (parts[1].status, parts[1].stdout.as_str()),
            (Status::Timeout, "two-partial")
        );
        assert_eq!(
            (parts[2].status, parts[2].stdout.as_str()),
            (Status::Timeout, "")
        );
        // A shell that could not run the script at all: no answers kept.
        let garbled = HostOutcome {
            stdout: String::new(),
            stderr: "Badly placed ()'s.".into(),
            exit: Some(1),
            status: Status::Failed,
            error: Some("exit 1".into()),
            duration: Duration::from_millis(3),
            exchange: None,
        };
        assert!(split(&garbled, marker, 2, SystemTime::now()).is_none());
    }
}
