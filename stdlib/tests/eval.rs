//! Evaluation through the scripted executor: every stage, every predicate
//! form, and the errors that only evaluation can find.

mod common;

use common::col;
use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};
use shoal_stdlib::executor::{Executor, HostOutcome, RunRequest};
use shoal_stdlib::frame::to_text;
use shoal_stdlib::{DataFrame, Quiet, RunObserver, Session};

fn eval_in(session: &mut Session, query: &str) -> Result<DataFrame, String> {
    common::eval_in(session, &ScriptedExecutor, query)
}

fn eval(query: &str) -> Result<DataFrame, String> {
    eval_in(&mut Session::new(fleet()), query)
}

fn hosts(query: &str) -> Vec<String> {
    col(&eval(query).unwrap_or_else(|e| panic!("{e}")), "host")
}

#[test]
fn sources_select_all_nodesets_groups_and_variables() {
    assert_eq!(hosts("hosts").len(), 6);
    assert_eq!(hosts("hosts web[01-02],db02"), ["web01", "web02", "db02"]);
    assert_eq!(hosts("hosts @db"), ["db01", "db02"]);
    let mut session = Session::new(fleet());
    eval_in(&mut session, "let picked = hosts | filter role = db").unwrap();
    assert_eq!(
        col(&eval_in(&mut session, "$picked").unwrap(), "host"),
        ["db01", "db02"]
    );
}

#[test]
fn host_rows_carry_addr_groups_and_tag_columns() {
    let df = eval("hosts | head 1").unwrap();
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>(),
        ["host", "addr", "groups", "az", "role", "version"]
    );
}

#[test]
fn comparison_operators_on_text_and_numbers() {
    assert_eq!(hosts("hosts | filter az = us-east-1b"), ["web03", "db02"]);
    assert_eq!(
        hosts("hosts | filter role != web"),
        ["db01", "db02", "cache01"]
    );
    let cpus = "hosts | run \"nproc\" as cpus | filter";
    assert_eq!(hosts(&format!("{cpus} cpus > 4")), ["db01", "db02"]);
    assert_eq!(hosts(&format!("{cpus} cpus >= 8")), ["db01", "db02"]);
    assert_eq!(
        hosts(&format!("{cpus} cpus < 8")),
        ["web01", "web02", "web03"]
    );
    assert_eq!(
        hosts(&format!("{cpus} cpus <= 4")),
        ["web01", "web02", "web03"]
    );
    // Text that reads as numbers compares numerically: "10" > "9".
    assert_eq!(hosts(&format!("{cpus} cpus > 10")), Vec::<String>::new());
    assert_eq!(hosts("hosts | run \"exit 3\" | filter exit = 3").len(), 5);
    // Durations compare as milliseconds.
    assert_eq!(
        hosts("hosts | run \"hostname\" | filter duration_ms >= 41ms"),
        ["db01", "db02"]
    );
    // Two texts compare alphabetically.
    assert_eq!(hosts("hosts | filter version < 2.1.0"), ["web03"]);
}

#[test]
fn regex_membership_exists_and_boolean_logic() {
    assert_eq!(hosts("hosts | filter host ~ /^db/"), ["db01", "db02"]);
    assert_eq!(hosts("hosts | filter host !~ /0[12]$/"), ["web03"]);
    assert_eq!(
        hosts("hosts | filter role in (db, cache)"),
        ["db01", "db02", "cache01"]
    );
    assert_eq!(hosts("hosts | filter exists az").len(), 6);
    assert!(hosts("hosts | filter exists no_such_tag").is_empty());
    assert_eq!(
        hosts("hosts | filter not (role = web or role = db) or host = web01 and az = us-east-1a"),
        ["web01", "cache01"]
    );
}

#[test]
fn missing_values_only_match_negative_tests() {
    // cache01 never ran the command: its stdout is null, not "".
    let run = "hosts | run \"cat /etc/app/version\" | filter";
    assert!(!hosts(&format!("{run} stdout = 2.1.0")).contains(&"cache01".to_string()));
    assert!(hosts(&format!("{run} stdout != 2.1.0")).contains(&"cache01".to_string()));
    assert!(hosts(&format!("{run} stdout !~ /2/")).contains(&"cache01".to_string()));
    assert!(!hosts(&format!("{run} exists stdout")).contains(&"cache01".to_string()));
}

#[test]
fn run_keeps_every_host_as_a_row_in_input_order() {
    let df = eval("hosts | run \"systemctl is-active app\"").unwrap();
    assert_eq!(
        col(&df, "host"),
        ["web01", "web02", "web03", "db01", "db02", "cache01"]
    );
    assert_eq!(
        col(&df, "status"),
        ["ok", "ok", "failed", "ok", "ok", "unreachable"]
    );
    assert_eq!(col(&df, "exit"), ["0", "0", "3", "0", "0", "null"]);
    assert_eq!(col(&df, "error")[2], "exit 3");
    assert!(col(&df, "error")[5].contains("connection refused"));
}

#[test]
fn run_as_name_copies_stdout_and_a_second_run_replaces_the_result_columns() {
    let df = eval("hosts @web | run \"nproc\" as cpus | run \"hostname\"").unwrap();
    assert_eq!(col(&df, "cpus"), ["4", "4", "4"]);
    assert_eq!(col(&df, "stdout"), ["web01", "web02", "web03"]);
}

#[test]
fn run_timeout_reaches_the_executor() {
    let df = eval("hosts @db | run \"sleep 30\" timeout=1500ms").unwrap();
    assert_eq!(col(&df, "status"), ["timeout", "timeout"]);
    assert_eq!(col(&df, "duration_ms"), ["1500", "1500"]);
}

#[test]
fn select_sort_head_count_distinct() {
    let df = eval("hosts | select host, az").unwrap();
    assert_eq!(df.width(), 2);
    assert_eq!(
        hosts("hosts | sort az desc, host | head 3"),
        ["cache01", "db02", "web03"]
    );
    assert_eq!(col(&eval("hosts | count").unwrap(), "count"), ["6"]);
    let by_az = eval("hosts | count by az").unwrap();
    assert_eq!(
        col(&by_az, "az"),
        ["us-east-1a", "us-east-1b", "us-east-1c"]
    );
    assert_eq!(col(&by_az, "count"), ["3", "2", "1"]);
    assert_eq!(
        col(&eval("hosts | distinct role").unwrap(), "role"),
        ["web", "db", "cache"]
    );
}

#[test]
fn sorting_puts_missing_values_last() {
    let df = eval("hosts | run \"nproc\" as cpus | sort cpus desc").unwrap();
    assert_eq!(col(&df, "host").last().unwrap(), "cache01");
}

#[test]
fn unknown_column_lists_the_available_ones_with_a_caret() {
    let error = eval("hosts | filter zone = a").unwrap_err();
    assert!(error.contains("unknown column `zone`"), "{error}");
    assert!(error.contains("^^^^"), "{error}");
    assert!(
        error.contains("available columns: host, addr, groups, az, role, version"),
        "{error}"
    );
    let error = eval("hosts | select host, rol").unwrap_err();
    assert!(error.contains("did you mean 'role'?"), "{error}");
    for query in [
        "hosts | sort nope",
        "hosts | count by nope",
        "hosts | distinct nope",
    ] {
        assert!(
            eval(query).unwrap_err().contains("unknown column `nope`"),
            "{query}"
        );
    }
}

#[test]
fn unknown_groups_hosts_and_variables_are_located_errors() {
    let error = eval("hosts @dbs").unwrap_err();
    assert!(
        error.contains("unknown group `@dbs`") && error.contains("did you mean '@db'?"),
        "{error}"
    );
    let error = eval("hosts web[01-09]").unwrap_err();
    assert!(error.contains("not in the inventory: web04"), "{error}");
    let error = eval("$bad | count").unwrap_err();
    assert!(
        error.contains("unknown variable `$bad`") && error.contains("let bad ="),
        "{error}"
    );
}

#[test]
fn type_mismatches_are_errors_not_silent_misses() {
    let error = eval("hosts | run \"hostname\" | filter exit > abc").unwrap_err();
    assert!(error.contains("`exit` holds numbers"), "{error}");
    let error = eval("hosts | run \"hostname\" | filter stdout > 3").unwrap_err();
    assert!(error.contains("cannot be compared"), "{error}");
}

#[test]
fn run_needs_a_host_column() {
    let error = eval("hosts | count by az | run \"uptime\"").unwrap_err();
    assert!(error.contains("`run` needs a `host` column"), "{error}");
}

/// An executor that loses a host must not lose the row.
struct ForgetfulExecutor;
impl Executor for ForgetfulExecutor {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        for index in 1..hosts.len() {
            let mut outcome = HostOutcome::not_run(shoal_stdlib::executor::Status::Ok, "");
            outcome.exit = Some(0);
            outcome.error = None;
            outcome.stdout = request.command.clone();
            on_result(index, outcome);
        }
    }
}

#[test]
fn a_host_the_executor_never_reports_becomes_an_error_row() {
    let plan = shoal_stdlib::compile("hosts @db | run \"true\"").unwrap();
    let df = Session::new(fleet())
        .eval(&plan.statements[0], &ForgetfulExecutor, &mut Quiet)
        .unwrap();
    assert_eq!(col(&df, "status"), ["error", "ok"]);
    assert!(col(&df, "error")[0].contains("no result"));
}

#[derive(Default)]
struct Recorder(Vec<String>);
impl RunObserver for Recorder {
    fn run_started(&mut self, command: &str, hosts: usize) {
        self.0.push(format!("start {command} {hosts}"));
    }
    fn host_finished(&mut self, host: &str, outcome: &HostOutcome) {
        self.0.push(format!("{host} {}", outcome.status));
    }
    fn run_finished(&mut self) {
        self.0.push("end".into());
    }
}

#[test]
fn the_observer_hears_each_host_as_it_completes() {
    let plan = shoal_stdlib::compile("hosts @db | run \"hostname\"").unwrap();
    let mut recorder = Recorder::default();
    Session::new(fleet())
        .eval(&plan.statements[0], &ScriptedExecutor, &mut recorder)
        .unwrap();
    // The scripted executor completes in reverse order.
    assert_eq!(
        recorder.0,
        ["start hostname 2", "db02 ok", "db01 ok", "end"]
    );
}

#[test]
fn text_rendering_marks_newlines_and_blanks_nulls() {
    let df = eval("hosts @db | select host").unwrap();
    assert_eq!(to_text(&df).unwrap(), "host\ndb01\ndb02\n");
}

/// Cancels every host, after some of them printed something.
struct CancellingExecutor;
impl Executor for CancellingExecutor {
    fn run(
        &self,
        hosts: &[String],
        _request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        for (index, host) in hosts.iter().enumerate() {
            let mut outcome =
                HostOutcome::not_run(shoal_stdlib::executor::Status::Cancelled, "cancelled");
            if host.starts_with("web") {
                outcome.stdout = format!("started on {host}");
            }
            on_result(index, outcome);
        }
    }
}

#[test]
fn cancelled_rows_keep_what_they_printed_and_hosts_run_in_row_order() {
    let plan = shoal_stdlib::compile("hosts | sort host desc | run \"slow\"").unwrap();
    let df = Session::new(fleet())
        .eval(&plan.statements[0], &CancellingExecutor, &mut Quiet)
        .unwrap();
    assert_eq!(
        col(&df, "host"),
        ["web03", "web02", "web01", "db02", "db01", "cache01"]
    );
    assert_eq!(col(&df, "stdout")[0], "started on web03");
    assert_eq!(
        col(&df, "stdout")[3],
        "null",
        "a host that printed nothing has no output"
    );
    let mut recorder = Recorder::default();
    Session::new(fleet())
        .eval(&plan.statements[0], &ScriptedExecutor, &mut recorder)
        .unwrap();
    // The scripted executor reports in reverse of the order it was given.
    assert_eq!(recorder.0[1], "cache01 unreachable");
    assert_eq!(recorder.0.last().unwrap(), "end");
    assert_eq!(recorder.0[recorder.0.len() - 2], "web03 failed");
}
