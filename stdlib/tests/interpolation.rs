//! `{column}` placeholders in `run` commands: the exact command each host
//! receives for hostile values, that hosts with different commands still
//! run in one parallel call, and what becomes of a host whose value is null.

mod common;

use std::sync::Mutex;

use common::{col, eval_in};
use indexmap::IndexMap;
use shoal_stdlib::example_fleet::fleet;
use shoal_stdlib::executor::{Executor, HostOutcome, RunRequest, Status};
use shoal_stdlib::fleet::{Fleet, FleetHost};
use shoal_stdlib::{RunObserver, Session};

/// Answers every host with the command it was sent, and remembers each call:
/// each host it went to, with that host's command.
#[derive(Default)]
struct Capture(Mutex<Vec<Vec<(String, String)>>>);

impl Capture {
    fn calls(&self) -> Vec<Vec<(String, String)>> {
        self.0.lock().unwrap().clone()
    }
}

impl Executor for Capture {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        let sent = (0..hosts.len())
            .map(|i| (hosts[i].clone(), request.command_for(i).to_string()))
            .collect();
        self.0.lock().unwrap().push(sent);
        for index in 0..hosts.len() {
            on_result(
                index,
                HostOutcome {
                    stdout: request.command_for(index).to_string(),
                    exit: Some(0),
                    status: Status::Ok,
                    error: None,
                    ..HostOutcome::not_run(Status::Ok, "")
                },
            );
        }
    }
}

/// One host per value, each value in the tag `v`.
fn fleet_with(values: &[&str]) -> Fleet {
    Fleet {
        hosts: values
            .iter()
            .enumerate()
            .map(|(i, value)| FleetHost {
                name: format!("h{i}"),
                addr: format!("10.0.0.{i}"),
                tags: IndexMap::from([("v".to_string(), value.to_string())]),
            })
            .collect(),
        groups: IndexMap::new(),
        ssh_config: Vec::new(),
    }
}

const HOSTILE: [&str; 8] = [
    "; rm -rf /",
    "$(touch x)",
    "`touch x`",
    "it's",
    "say \"hi\"",
    "line\nbreak",
    "",
    "{v} ${HOME} *",
];

#[test]
fn each_host_receives_its_value_as_one_single_quoted_word() {
    let capture = Capture::default();
    let mut session = Session::new(fleet_with(&HOSTILE));
    let df = eval_in(
        &mut session,
        &capture,
        "hosts | run 'printf %s {v} | wc -c'",
    )
    .unwrap();
    let expected = [
        r"printf %s '; rm -rf /' | wc -c",
        r"printf %s '$(touch x)' | wc -c",
        r"printf %s '`touch x`' | wc -c",
        r"printf %s 'it'\''s' | wc -c",
        r#"printf %s 'say "hi"' | wc -c"#,
        "printf %s 'line\nbreak' | wc -c",
        r"printf %s '' | wc -c",
        r"printf %s '{v} ${HOME} *' | wc -c",
    ];
    assert_eq!(col(&df, "stdout"), expected);
    let calls = capture.calls();
    assert_eq!(calls.len(), 1, "every host in one parallel call");
    let sent: Vec<&str> = calls[0].iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(sent, expected);
}

#[test]
fn a_nul_byte_cannot_reach_a_shell() {
    let capture = Capture::default();
    let mut session = Session::new(fleet_with(&["a\0b", "ok"]));
    let df = eval_in(&mut session, &capture, "hosts | run 'echo {v}'").unwrap();
    assert_eq!(col(&df, "status"), ["error", "ok"]);
    assert!(col(&df, "error")[0].contains("NUL byte"));
    assert_eq!(
        capture.calls(),
        [vec![("h1".to_string(), "echo 'ok'".to_string())]]
    );
}

#[test]
fn hosts_with_different_commands_run_in_one_call_in_row_order() {
    let capture = Capture::default();
    let mut session = Session::new(fleet());
    eval_in(
        &mut session,
        &capture,
        "hosts | run \"systemctl is-active {role}\"",
    )
    .unwrap();
    let sent = |host: &str, role: &str| (host.to_string(), format!("systemctl is-active '{role}'"));
    assert_eq!(
        capture.calls(),
        [vec![
            sent("web01", "web"),
            sent("web02", "web"),
            sent("web03", "web"),
            sent("db01", "db"),
            sent("db02", "db"),
            sent("cache01", "cache"),
        ]]
    );
}

#[test]
fn a_host_on_several_rows_runs_each_distinct_command_once() {
    let capture = Capture::default();
    let mut session = Session::new(fleet_with(&["a\nb\na"]));
    let df = eval_in(
        &mut session,
        &capture,
        "hosts | lines v | run 'echo {line}'",
    )
    .unwrap();
    assert_eq!(col(&df, "stdout"), ["echo 'a'", "echo 'b'", "echo 'a'"]);
    // One host, two commands: the second waits for a second call.
    let h0 = |command: &str| vec![("h0".to_string(), command.to_string())];
    assert_eq!(capture.calls(), [h0("echo 'a'"), h0("echo 'b'")]);
}

#[test]
fn a_null_value_makes_that_host_an_error_row_and_it_does_not_run() {
    let capture = Capture::default();
    let mut session = Session::new(fleet());
    // cache01's az (us-east-1c) has no `a` or `b`: its zone is null.
    let df = eval_in(
        &mut session,
        &capture,
        "hosts | extract az /(?<zone>[ab])$/ | run \"echo {zone}\" | select host, stdout, exit, status, error",
    )
    .unwrap();
    assert_eq!(col(&df, "host").last().unwrap(), "cache01");
    assert_eq!(col(&df, "status").last().unwrap(), "error");
    assert_eq!(
        col(&df, "error").last().unwrap(),
        "`{zone}` is null on this host"
    );
    assert_eq!(col(&df, "stdout").last().unwrap(), "null", "it never ran");
    assert_eq!(col(&df, "exit").last().unwrap(), "null");
    let ran: Vec<String> = capture
        .calls()
        .into_iter()
        .flatten()
        .map(|(host, _)| host)
        .collect();
    assert!(!ran.contains(&"cache01".to_string()), "{ran:?}");
    assert_eq!(ran.len(), 5);
}

#[test]
fn an_unknown_column_is_a_located_error_before_anything_runs() {
    let capture = Capture::default();
    let mut session = Session::new(fleet());
    let query = "hosts | run \"systemctl is-active {rol}\"";
    let error = eval_in(&mut session, &capture, query).unwrap_err();
    assert!(error.contains("unknown column `rol`"), "{error}");
    assert!(error.contains("did you mean 'role'?"), "{error}");
    let caret = format!("  | {}^^^^^", " ".repeat(query.find("{rol}").unwrap()));
    assert!(
        error.lines().any(|line| line == caret),
        "the caret is under the placeholder:\n{error}"
    );
    assert!(capture.calls().is_empty());
}

/// Counts what the observer hears.
#[derive(Default)]
struct Heard {
    started: Vec<(String, usize)>,
    finished: Vec<String>,
    ends: usize,
}

impl RunObserver for Heard {
    fn run_started(&mut self, command: &str, hosts: usize) {
        self.started.push((command.to_string(), hosts));
    }
    fn host_finished(&mut self, host: &str, _outcome: &HostOutcome) {
        self.finished.push(host.to_string());
    }
    fn run_finished(&mut self) {
        self.ends += 1;
    }
}

#[test]
fn the_observer_hears_one_run_with_every_host() {
    let query = "hosts | extract az /(?<zone>[ab])$/ | run \"echo {zone}\"";
    let plan = shoal_stdlib::compile(query).unwrap();
    let mut heard = Heard::default();
    Session::new(fleet())
        .eval(&plan.statements[0], &Capture::default(), &mut heard)
        .unwrap();
    assert_eq!(heard.started, [("echo {zone}".to_string(), 6)]);
    let mut finished = heard.finished;
    finished.sort();
    assert_eq!(
        finished,
        ["cache01", "db01", "db02", "web01", "web02", "web03"]
    );
    assert_eq!(heard.ends, 1);
}
