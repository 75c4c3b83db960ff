//! `stats`, `top`, `rare`, `outliers` and `facts`: missing values, numbers
//! read from text, type errors, empty groups, ties, the outlier score's
//! fallbacks, and facts parsed from scripted and real host output.

mod common;

use std::collections::HashMap;

use common::col;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use polars::prelude::DataType;
use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};
use shoal_stdlib::executor::{Executor, HostOutcome, RunRequest, Status};
use shoal_stdlib::{DataFrame, Session};

fn eval_with(executor: &dyn Executor, query: &str) -> Result<DataFrame, String> {
    common::eval_in(&mut Session::new(fleet()), executor, query)
}

fn eval(query: &str) -> DataFrame {
    eval_with(&ScriptedExecutor, query).unwrap_or_else(|e| panic!("{e}"))
}

fn dtype(df: &DataFrame, name: &str) -> DataType {
    df.column(name).unwrap().dtype().clone()
}

/// Asserts that `query` fails saying `reason`, with the caret under the
/// last occurrence of `at` in the query.
fn assert_error_at(query: &str, reason: &str, at: &str) {
    let message = eval_with(&ScriptedExecutor, query).expect_err(query);
    assert!(message.contains(reason), "{message}");
    let column = query.rfind(at).expect("`at` is in the query");
    let caret = format!("{}{}", " ".repeat(column), "^".repeat(at.len()));
    assert!(message.contains(&caret), "{message}");
}

// ---- stats ----

#[test]
fn stats_reads_numbers_from_text_and_skips_missing_values() {
    // `run ... as cpus` captures text; cache01 never answered (null).
    let df = eval("hosts | run \"nproc\" as cpus | stats cpus");
    assert_eq!(col(&df, "count"), ["5"]);
    assert_eq!(col(&df, "min"), ["4.0"]);
    assert_eq!(col(&df, "p50"), ["4.0"]);
    assert_eq!(col(&df, "max"), ["8.0"]);
    assert_eq!(col(&df, "mean"), ["5.6"]);
    for stat in ["min", "p50", "p90", "p99", "max", "mean"] {
        assert_eq!(dtype(&df, stat), DataType::Float64, "{stat}");
    }
}

#[test]
fn stats_percentiles_interpolate_between_ranks() {
    // duration_ms of `hostname`: 20 27 34 41 48 on the answering hosts.
    let df = eval("hosts web[01-03],db01 | run \"hostname\" | stats duration_ms");
    assert_eq!(col(&df, "count"), ["4"]);
    // An even count: the median is halfway between 27 and 34.
    assert_eq!(col(&df, "p50"), ["30.5"]);
    // Rank 0.9 · 3 = 2.7: 34 + 0.7 · (41 − 34).
    assert_eq!(col(&df, "p90"), ["38.9"]);
    assert_eq!(col(&df, "max"), ["41.0"]);
}

#[test]
fn stats_by_keeps_first_seen_group_order_and_empty_groups() {
    let df = eval("hosts | run \"nproc\" as cpus | stats cpus by az, role");
    assert_eq!(
        col(&df, "az"),
        [
            "us-east-1a",
            "us-east-1b",
            "us-east-1a",
            "us-east-1b",
            "us-east-1c"
        ]
    );
    assert_eq!(col(&df, "role"), ["web", "web", "db", "db", "cache"]);
    assert_eq!(col(&df, "count"), ["2", "1", "1", "1", "0"]);
    assert_eq!(col(&df, "mean")[4], "null");
    assert_eq!(col(&df, "p99")[4], "null");
}

#[test]
fn stats_of_no_rows_is_one_empty_row_or_no_groups() {
    let df = eval("hosts | filter role = none | run \"nproc\" as cpus | stats cpus");
    assert_eq!(col(&df, "count"), ["0"]);
    assert_eq!(col(&df, "min"), ["null"]);
    let df = eval("hosts | filter role = none | run \"nproc\" as cpus | stats cpus by role");
    assert_eq!(df.height(), 0);
}

#[test]
fn stats_of_text_is_a_type_error_at_the_column() {
    assert_error_at(
        "hosts | run \"cat /etc/app/version\" | stats stdout by role",
        "`stats` needs numbers, but `stdout` holds text such as `2.1.0`",
        "stdout",
    );
    assert_error_at("hosts | stats cpus", "unknown column `cpus`", "cpus");
    assert_error_at(
        "hosts | run \"nproc\" as cpus | stats cpus by rol",
        "did you mean 'role'?",
        "rol",
    );
}

#[test]
fn stats_refuses_a_group_column_named_like_a_statistic() {
    assert_error_at(
        "hosts | count by role | stats count by count",
        "`stats` adds its own `count` column",
        "count",
    );
}

// ---- top and rare ----

#[test]
fn top_ranks_by_count_and_takes_n() {
    let df = eval("hosts | top role 2");
    assert_eq!(col(&df, "role"), ["web", "db"]);
    assert_eq!(col(&df, "count"), ["3", "2"]);
    assert_eq!(col(&df, "percent"), ["50.0", "33.3"]);
    assert_eq!(eval("hosts | top role 99").height(), 3);
}

#[test]
fn top_and_rare_break_ties_by_first_appearance() {
    assert_eq!(
        col(&eval("hosts | top host 3"), "host"),
        ["web01", "web02", "web03"]
    );
    assert_eq!(
        col(&eval("hosts | sort host | top host 3"), "host"),
        ["cache01", "db01", "db02"]
    );
    assert_eq!(
        col(&eval("hosts | rare host 2"), "host"),
        ["web01", "web02"]
    );
    let df = eval("hosts | rare role");
    assert_eq!(col(&df, "role"), ["cache", "db", "web"]);
    assert_eq!(col(&df, "count"), ["1", "2", "3"]);
    assert_eq!(col(&eval("hosts | rare az 1"), "az"), ["us-east-1c"]);
}

#[test]
fn top_counts_missing_values_as_one_value_and_keeps_the_type() {
    let df = eval("hosts | run \"exit 3\" | top exit");
    assert_eq!(col(&df, "exit"), ["3", "null"]);
    assert_eq!(col(&df, "count"), ["5", "1"]);
    assert_eq!(col(&df, "percent"), ["83.3", "16.7"]);
    assert_eq!(dtype(&df, "exit"), DataType::Int32);
    assert_eq!(dtype(&df, "percent"), DataType::Float64);
    let df = eval("hosts | filter role = none | top role");
    assert_eq!(df.height(), 0);
}

#[test]
fn top_and_rare_locate_their_errors() {
    assert_error_at("hosts | rare rol", "unknown column `rol`", "rol");
    assert_error_at(
        "hosts | count by role | top count",
        "`top` adds its own `count` column",
        "count",
    );
}

// ---- outliers ----

/// Each host's score, for order-independent checks.
fn scores(df: &DataFrame) -> HashMap<String, String> {
    col(df, "host")
        .into_iter()
        .zip(col(df, "outlier_score"))
        .collect()
}

#[test]
fn outliers_score_against_the_median_and_mad_of_each_group() {
    let df = eval("hosts | facts | outliers load1 by role keep=all");
    let score = scores(&df);
    // web: 0.52 0.61 7.9, median 0.61, MAD 0.09: 0.6745 · 7.29 / 0.09.
    assert_eq!(score["web03"], "54.63");
    assert_eq!(score["web02"], "0.0");
    assert_eq!(score["web01"], "-0.67", "the score is signed");
    // db: 1.2 0.9, median 1.05, MAD 0.15.
    assert_eq!(score["db01"], "0.67");
    assert_eq!(score["db02"], "-0.67");
    assert_eq!(score["cache01"], "null", "a group with no values");
    let hosts = col(&df, "host");
    assert_eq!(
        hosts.first().map(String::as_str),
        Some("web03"),
        "most extreme first"
    );
    assert_eq!(
        hosts.last().map(String::as_str),
        Some("cache01"),
        "nulls last"
    );
    assert_eq!(dtype(&df, "outlier_score"), DataType::Float64);
}

#[test]
fn outliers_keep_only_rows_beyond_the_threshold() {
    assert_eq!(
        col(&eval("hosts | facts | outliers load1"), "host"),
        ["web03"]
    );
    // MAD is 0 (most hosts have 4 CPUs): mean absolute deviation 1.6.
    let query = "hosts | run \"nproc\" as cpus | outliers cpus";
    assert_eq!(eval(query).height(), 0);
    let df = eval(&format!("{query} threshold=1.5"));
    assert_eq!(col(&df, "host"), ["db01", "db02"]);
    assert_eq!(col(&df, "outlier_score"), ["1.99", "1.99"]);
}

#[test]
fn outliers_of_equal_values_all_score_zero() {
    let df = eval("hosts @web | run \"nproc\" as cpus | outliers cpus keep=all");
    assert_eq!(col(&df, "outlier_score"), ["0.0", "0.0", "0.0"]);
    assert_eq!(
        col(&df, "host"),
        ["web01", "web02", "web03"],
        "ties keep input order"
    );
    assert_eq!(
        eval("hosts @web | run \"nproc\" as cpus | outliers cpus").height(),
        0
    );
}

#[test]
fn outliers_replace_an_earlier_score_and_reject_text() {
    let df = eval("hosts | facts | outliers load1 keep=all | outliers cpus keep=all");
    let names = df.get_column_names();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.as_str() == "outlier_score")
            .count(),
        1
    );
    assert_error_at(
        "hosts | run \"cat /etc/app/version\" | outliers stdout",
        "`outliers` needs numbers",
        "stdout",
    );
}

// ---- facts ----

/// The fact columns, in order.
const FACTS: [&str; 18] = [
    "hostname",
    "os",
    "os_version",
    "kernel",
    "arch",
    "cpus",
    "mem_total_mb",
    "mem_avail_mb",
    "load1",
    "load5",
    "load15",
    "uptime_s",
    "root_used_pct",
    "bios_vendor",
    "bios_version",
    "boot_id",
    "clock_skew_ms",
    "clock_skew_err_ms",
];

/// The families' columns, in order.
const FAMILIES: [&str; 14] = [
    "cpu_model",
    "microcode",
    "cmdline",
    "modules",
    "resolvers",
    "listening",
    "mounts",
    "nic",
    "failed_units",
    "time_sync",
    "sysctl",
    "etc",
    "packages",
    "modified",
];

/// Answers every command with a fixed text per host, and remembers the
/// command; hosts without a text are unreachable.
struct Canned {
    outputs: HashMap<&'static str, String>,
    seen: std::sync::Mutex<Vec<RunRequest>>,
}

impl Canned {
    fn new(outputs: &[(&'static str, String)]) -> Self {
        Canned {
            outputs: outputs.iter().cloned().collect(),
            seen: Default::default(),
        }
    }
}

impl Executor for Canned {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        self.seen.lock().unwrap().push(request.clone());
        for (index, host) in hosts.iter().enumerate() {
            let outcome = match self.outputs.get(host.as_str()) {
                Some(stdout) => HostOutcome {
                    stdout: stdout.clone(),
                    stderr: String::new(),
                    exit: Some(0),
                    status: Status::Ok,
                    error: None,
                    duration: Duration::from_millis(40),
                    exchange: None,
                },
                None => HostOutcome::not_run(Status::Unreachable, "connection refused"),
            };
            on_result(index, outcome);
        }
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[test]
fn facts_become_typed_columns_and_odd_values_become_null() {
    // The clock as the host would read it halfway through a 40 ms command,
    // 5 s ahead of ours; the executor reports no exchange, so the whole
    // command is the round trip.
    let clock = now_ms() + 5000 - 20;
    let odd = format!(
        "clock={}.{:03}\n\
         Welcome to db01!\n\
         hostname=db01\n\
         os=\n\
         os_version=  12  \n\
         cpus=many\n\
         mem_total_mb=1.5\n\
         mem_avail_mb=-1\n\
         load1=\n\
         load5=abc\n\
         load15=inf\n\
         uptime_s=99\n\
         bios_version=a=b\n\
         bios_version=second\n\
         no_such_fact=1\n",
        clock / 1000,
        clock % 1000
    );
    let canned = Canned::new(&[("db01", odd), ("db02", "cpus=8\nload1=0.5\n".into())]);
    let df = eval_with(&canned, "hosts @db | facts").unwrap();
    assert_eq!(col(&df, "hostname"), ["db01", "null"]);
    assert_eq!(col(&df, "os"), ["null", "null"], "empty is null");
    assert_eq!(col(&df, "os_version"), ["12", "null"], "values are trimmed");
    assert_eq!(col(&df, "cpus"), ["null", "8"], "not a number");
    assert_eq!(
        col(&df, "mem_total_mb"),
        ["null", "null"],
        "not a whole number"
    );
    assert_eq!(col(&df, "mem_avail_mb"), ["-1", "null"]);
    assert_eq!(col(&df, "load1"), ["null", "0.5"]);
    assert_eq!(col(&df, "load5"), ["null", "null"]);
    assert_eq!(col(&df, "load15"), ["null", "null"], "not finite");
    assert_eq!(col(&df, "uptime_s"), ["99", "null"]);
    assert_eq!(
        col(&df, "bios_version"),
        ["a=b", "null"],
        "first value, split at the first ="
    );
    assert_eq!(col(&df, "bios_vendor"), ["null", "null"], "missing BIOS");
    assert!(
        !df.get_column_names()
            .iter()
            .any(|n| n.as_str() == "no_such_fact")
    );
    let skew: i64 = col(&df, "clock_skew_ms")[0].parse().unwrap();
    assert!((4900..=5000).contains(&skew), "skew {skew}");
    assert_eq!(
        col(&df, "clock_skew_err_ms")[0],
        "21",
        "half of 40 ms, and half a ms"
    );
    assert_eq!(col(&df, "clock_skew_ms")[1], "null");
    for (name, kind) in [
        ("hostname", DataType::String),
        ("bios_vendor", DataType::String),
        ("cpus", DataType::Int64),
        ("mem_total_mb", DataType::Int64),
        ("uptime_s", DataType::Int64),
        ("root_used_pct", DataType::Int64),
        ("load1", DataType::Float64),
        ("load15", DataType::Float64),
        ("clock_skew_ms", DataType::Int64),
    ] {
        assert_eq!(dtype(&df, name), kind, "{name}");
    }
}

#[test]
fn facts_keep_failed_hosts_with_run_columns_and_null_facts() {
    let df = eval("hosts | facts");
    let columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    // Like `run`'s columns, without the raw output the facts columns replace.
    let run_columns = ["exit", "status", "error", "duration_ms"];
    let expected: Vec<&str> = ["host", "addr", "groups", "az", "role", "version"]
        .into_iter()
        .chain(run_columns)
        .chain(FACTS)
        .chain(FAMILIES)
        .chain(["facts_notes"])
        .collect();
    assert_eq!(columns, expected);
    assert_eq!(df.height(), 6);
    assert_eq!(col(&df, "status")[5], "unreachable");
    assert!(col(&df, "error")[5].contains("connection refused"));
    for fact in FACTS {
        assert_eq!(col(&df, fact)[5], "null", "{fact}");
    }
    assert_eq!(col(&df, "bios_version")[2], "2.1.7");
    assert_eq!(col(&df, "kernel")[0], "6.1.0-18-amd64");
}

#[test]
fn facts_replace_columns_of_the_same_name_and_pass_the_timeout() {
    let canned = Canned::new(&[("db01", "cpus=8\n".into())]);
    let df = eval_with(
        &canned,
        "hosts db01 | run \"nproc\" as cpus | facts timeout=3s",
    )
    .unwrap();
    assert_eq!(dtype(&df, "cpus"), DataType::Int64);
    assert_eq!(col(&df, "cpus"), ["8"]);
    let seen = canned.seen.lock().unwrap();
    assert_eq!(seen[1].timeout, Some(Duration::from_secs(3)));
}

#[test]
fn facts_need_a_host_column() {
    assert_error_at(
        "hosts | select addr | facts",
        "`facts` needs a `host` column",
        "facts",
    );
}

/// The command `facts` sends, as a canned executor saw it.
fn facts_command() -> String {
    let canned = Canned::new(&[]);
    eval_with(&canned, "hosts db01 | facts").unwrap();
    let seen = canned.seen.lock().unwrap();
    seen[0].command.clone()
}

#[test]
fn the_facts_command_survives_any_login_shell() {
    let command = facts_command();
    // One line (csh cannot quote a newline), one single-quoted word, and no
    // backslash that fish would read as an escape inside it.
    assert!(!command.contains('\n'));
    let script = command
        .strip_prefix("sh -c '")
        .and_then(|rest| rest.strip_suffix('\''))
        .expect("sh -c '...'");
    assert!(!script.contains('\''), "{script}");
    assert!(!script.contains("\\\\"), "{script}");
    assert!(script.starts_with(": shoal facts;"), "{script}");
}

/// Runs commands on this machine the way sshd runs an exec request: the
/// login shell's `-c`.
struct Local {
    shell: &'static str,
}

impl Executor for Local {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        for index in 0..hosts.len() {
            let started = std::time::Instant::now();
            let output = std::process::Command::new(self.shell)
                .arg("-c")
                .arg(&request.command)
                .output()
                .expect("the shell runs");
            on_result(
                index,
                HostOutcome {
                    stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                    exit: output.status.code(),
                    status: if output.status.success() {
                        Status::Ok
                    } else {
                        Status::Failed
                    },
                    error: None,
                    duration: started.elapsed(),
                    exchange: None,
                },
            );
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_facts_script_runs_on_this_machine_under_each_shell() {
    for shell in [
        "/bin/sh",
        "/bin/dash",
        "/bin/bash",
        "/bin/zsh",
        "/usr/bin/fish",
    ] {
        if !std::path::Path::new(shell).exists() {
            continue;
        }
        let executor = Local { shell };
        let df = eval_with(&executor, "hosts db01 | facts").unwrap();
        assert_eq!(
            col(&df, "status"),
            ["ok"],
            "{shell}: {:?}",
            col(&df, "error")
        );
        // What any Linux has; BIOS, os-release and df may be missing in a
        // container and are then simply null.
        for fact in [
            "hostname",
            "kernel",
            "arch",
            "cpus",
            "mem_total_mb",
            "load1",
            "uptime_s",
            "boot_id",
        ] {
            assert_ne!(col(&df, fact), ["null"], "{shell}: {fact}");
        }
        let cpus: i64 = col(&df, "cpus")[0].parse().unwrap();
        assert!(cpus >= 1);
        let skew: i64 = col(&df, "clock_skew_ms")[0].parse().unwrap();
        // Whole seconds where `date` has no %N.
        assert!(skew.abs() < 2000, "{shell}: skew {skew}");
    }
}
