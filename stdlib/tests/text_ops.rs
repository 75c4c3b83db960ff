//! The text stages (`gather`, `lines`, `extract`, `parse`, `columns`, `kv`,
//! `json`) on the example fleet and on canned output: missing values, typing,
//! name collisions and the errors that point into the query.

mod common;

use std::time::Duration;

use indexmap::IndexMap;
use polars::prelude::DataType;
use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};
use shoal_stdlib::executor::{Executor, HostOutcome, RunRequest, Status};
use shoal_stdlib::fleet::{Fleet, FleetHost};
use shoal_stdlib::frame::{column_names, texts};
use shoal_stdlib::{DataFrame, Session};

fn eval_on(fleet: Fleet, executor: &dyn Executor, query: &str) -> Result<DataFrame, String> {
    common::eval_in(&mut Session::new(fleet), executor, query)
}

/// A query on the example fleet that must succeed.
fn eval(query: &str) -> DataFrame {
    eval_on(fleet(), &ScriptedExecutor, query).unwrap_or_else(|e| panic!("{e}"))
}

/// A query on the example fleet that must fail; its rendered error.
fn fails(query: &str) -> String {
    match eval_on(fleet(), &ScriptedExecutor, query) {
        Ok(df) => panic!("`{query}` succeeded:\n{df}"),
        Err(error) => error,
    }
}

/// Prints canned output: each listed host its text, the others are
/// unreachable (so they never ran anything).
struct Prints(&'static [(&'static str, &'static str)]);

impl Executor for Prints {
    fn run(
        &self,
        hosts: &[String],
        _request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        for (index, host) in hosts.iter().enumerate() {
            let outcome = match self.0.iter().find(|(name, _)| name == host) {
                Some((_, text)) => HostOutcome {
                    stdout: text.to_string(),
                    stderr: String::new(),
                    exit: Some(0),
                    status: Status::Ok,
                    error: None,
                    duration: Duration::from_millis(1),
                    exchange: None,
                },
                None => HostOutcome::not_run(Status::Unreachable, "connection refused"),
            };
            on_result(index, outcome);
        }
    }
}

/// `hosts | run "x" | STAGES` on the example fleet, the hosts printing `answers`.
fn on_canned(answers: &'static [(&'static str, &'static str)], stages: &str) -> DataFrame {
    let query = format!("hosts | run \"x\" | {stages}");
    eval_on(fleet(), &Prints(answers), &query).unwrap_or_else(|e| panic!("{e}"))
}

/// The values of one column, nulls as "null".
fn col(df: &DataFrame, name: &str) -> Vec<String> {
    let column = df
        .column(name)
        .unwrap_or_else(|_| panic!("no column `{name}` in {:?}", column_names(df)));
    texts(column)
        .unwrap()
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "null".into()))
        .collect()
}

fn dtype(df: &DataFrame, name: &str) -> DataType {
    df.column(name).unwrap().dtype().clone()
}

/// The `-->` line of a rendered error: where the caret points.
fn location(error: &str) -> &str {
    error
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .unwrap_or_else(|| panic!("no location in:\n{error}"))
}

// ---- lines ----

#[test]
fn lines_gives_one_numbered_row_per_line_with_the_host_columns() {
    let df = eval("hosts @db | run \"df -h\" | lines");
    assert_eq!(
        column_names(&df),
        [
            "host", "addr", "groups", "az", "role", "version", "status", "n", "line"
        ]
    );
    assert_eq!(
        col(&df, "host"),
        ["db01", "db01", "db01", "db02", "db02", "db02"]
    );
    assert_eq!(col(&df, "n"), ["1", "2", "3", "1", "2", "3"]);
    assert!(col(&df, "line")[2].starts_with("tmpfs"));
}

#[test]
fn lines_keeps_a_host_that_never_ran_and_drops_empty_output() {
    let df = eval("hosts | run \"cat /etc/app/version\" | lines");
    assert_eq!(df.height(), 6);
    assert_eq!(col(&df, "host")[5], "cache01");
    assert_eq!(col(&df, "n")[5], "null");
    assert_eq!(col(&df, "line")[5], "null");
    assert_eq!(col(&df, "status")[5], "unreachable");
    // `exit 1` ran and printed nothing: no lines, so no rows.
    assert_eq!(eval("hosts @db | run \"exit 1\" | lines").height(), 0);
}

#[test]
fn lines_splits_any_column_and_replaces_an_earlier_n_and_line() {
    let df = eval("hosts @db | lines az");
    assert_eq!(
        column_names(&df),
        ["host", "addr", "groups", "role", "version", "n", "line"]
    );
    assert_eq!(col(&df, "line"), ["us-east-1a", "us-east-1b"]);
    let twice = on_canned(
        &[("web01", "a b\nc")],
        "lines | lines line | filter exists line",
    );
    assert_eq!(col(&twice, "line"), ["a b", "c"]);
    assert_eq!(col(&twice, "n"), ["1", "1"]);
}

#[test]
fn lines_of_an_unknown_column_points_at_it() {
    let query = "hosts | run \"hostname\" | lines stdot";
    let error = fails(query);
    assert!(error.contains("unknown column `stdot`"), "{error}");
    assert!(error.contains("did you mean 'stdout'"), "{error}");
    assert_eq!(location(&error), "1:32");
    // No column named and no run: the stage itself is pointed at.
    let error = fails("hosts | lines");
    assert!(error.contains("unknown column `stdout`"), "{error}");
    assert_eq!(location(&error), "1:9");
}

// ---- extract ----

#[test]
fn extract_types_numbers_and_leaves_misses_and_missing_output_null() {
    let df = eval(
        "hosts | run \"cat /etc/app/version\" | extract stdout /(?<major>\\d+)\\.(?<minor>\\d+)\\.(?<tail>.+)/",
    );
    assert_eq!(dtype(&df, "major"), DataType::Int64);
    assert_eq!(col(&df, "minor"), ["1", "1", "0", "1", "1", "null"]);
    assert_eq!(col(&df, "tail")[2], "9");
    let misses = eval("hosts | extract az /(?<zone>zzz)/");
    assert_eq!(col(&misses, "zone"), ["null"; 6]);
    assert_eq!(dtype(&misses, "zone"), DataType::String);
}

#[test]
fn extract_replaces_a_column_of_the_same_name() {
    let df = eval("hosts | extract addr /^(?<version>\\d+)\\.(?<b>\\d+)/");
    assert_eq!(
        column_names(&df),
        ["host", "addr", "groups", "az", "role", "version", "b"]
    );
    assert_eq!(col(&df, "version"), ["10"; 6]);
    assert_eq!(dtype(&df, "version"), DataType::Int64);
}

#[test]
fn extract_from_an_unknown_column_points_at_it() {
    let error = fails("hosts | extract adr /(?<x>.)/");
    assert!(error.contains("unknown column `adr`"), "{error}");
    assert_eq!(location(&error), "1:17");
}

// ---- parse ----

#[test]
fn parse_types_fields_as_the_pattern_says() {
    let df = eval(
        "hosts | run \"cat /proc/loadavg\" | parse stdout \"{load1:float} {load5} {load15:float} {procs:word} {pid:int}\"",
    );
    assert_eq!(dtype(&df, "load1"), DataType::Float64);
    assert_eq!(dtype(&df, "pid"), DataType::Int64);
    // Untyped fields stay text even when they hold a number.
    assert_eq!(dtype(&df, "load5"), DataType::String);
    assert_eq!(col(&df, "load5")[0], "0.26");
    assert_eq!(col(&df, "procs")[0], "1/230");
    assert_eq!(
        col(&df, "pid"),
        ["4242", "4242", "4242", "4242", "4242", "null"]
    );
}

#[test]
fn parse_takes_the_first_matching_line_and_never_runs_across_lines() {
    let df = eval("hosts @db | run \"df -h\" | parse stdout \"tmpfs {size} {rest}\"");
    assert_eq!(col(&df, "size"), ["3.9G", "3.9G"]);
    let first = eval("hosts @db | run \"df -h\" | parse stdout \"{device:word} {rest}\"");
    assert_eq!(col(&first, "device"), ["Filesystem", "Filesystem"]);
    // "Mounted on" ends the header line; the next line must not complete it.
    let none = eval("hosts @db | run \"df -h\" | parse stdout \"Mounted on {x:word}\"");
    assert_eq!(col(&none, "x"), ["null", "null"]);
}

#[test]
fn parse_an_int_too_large_is_null() {
    let df = on_canned(
        &[("web01", "n=99999999999999999999")],
        "parse stdout \"n={n:int}\"",
    );
    assert_eq!(col(&df, "n")[0], "null");
}

// ---- columns ----

#[test]
fn columns_merges_df_header_words_and_keeps_size_as_text() {
    let df = eval("hosts | run \"df -h\" | columns");
    assert_eq!(
        column_names(&df),
        [
            "host",
            "addr",
            "groups",
            "az",
            "role",
            "version",
            "status",
            "n",
            "filesystem",
            "size",
            "used",
            "avail",
            "use_pct",
            "mounted_on"
        ]
    );
    assert_eq!(df.height(), 11);
    assert_eq!(col(&df, "mounted_on")[1], "/dev/shm");
    assert_eq!(dtype(&df, "size"), DataType::String);
    // The unreachable host is one row with nothing parsed.
    assert_eq!(col(&df, "host")[10], "cache01");
    assert_eq!(col(&df, "filesystem")[10], "null");
    assert_eq!(col(&df, "n")[10], "null");
}

const PS: &str = "\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.0  0.1 169316 13212 ?        Ss   Nov01   0:05 /sbin/init splash
app         4242 12.5  3.2 912000 65536 ?        Sl   08:00  12:01 /usr/bin/app --port 8080  --verbose
";

#[test]
fn columns_keeps_the_rest_of_a_ps_line_in_the_last_field_and_types_numbers() {
    let df = on_canned(&[("web01", PS)], "columns | filter exists pid");
    assert_eq!(
        col(&df, "command"),
        ["/sbin/init splash", "/usr/bin/app --port 8080  --verbose"]
    );
    assert_eq!(dtype(&df, "pid"), DataType::Int64);
    assert_eq!(dtype(&df, "pct_cpu"), DataType::Float64);
    assert_eq!(col(&df, "pct_cpu"), ["0.0", "12.5"]);
    assert_eq!(dtype(&df, "time"), DataType::String);
}

#[test]
fn columns_unions_different_headers_and_skips_blank_lines() {
    let df = on_canned(
        &[
            ("web01", "NAME SIZE\n\nsda 10\n"),
            ("web02", "NAME MODEL\nsdb fast disk\n"),
            ("web03", ""),
            ("db01", "NAME SIZE\n"),
        ],
        "columns | select host, n, name, size, model",
    );
    // web03 printed nothing and db01 only a header: no rows for either.
    assert_eq!(col(&df, "host"), ["web01", "web02", "db02", "cache01"]);
    assert_eq!(col(&df, "name"), ["sda", "sdb", "null", "null"]);
    assert_eq!(col(&df, "size"), ["10", "null", "null", "null"]);
    assert_eq!(dtype(&df, "size"), DataType::Int64);
    assert_eq!(col(&df, "model"), ["null", "fast disk", "null", "null"]);
}

#[test]
fn columns_never_take_shoal_own_names_and_replace_a_tag() {
    let df = on_canned(
        &[("web01", "HOST STATUS N ROLE ROLE\nx up 1 a b\n")],
        "columns | filter exists columns_host",
    );
    assert_eq!(col(&df, "host"), ["web01"]);
    assert_eq!(col(&df, "status"), ["ok"]);
    assert_eq!(col(&df, "columns_host"), ["x"]);
    assert_eq!(col(&df, "columns_status"), ["up"]);
    assert_eq!(col(&df, "columns_n"), ["1"]);
    assert_eq!(col(&df, "role"), ["a"]);
    assert_eq!(col(&df, "role_2"), ["b"]);
}

// ---- kv ----

const CONF: &str = "\
# a comment
  # an indented comment

status=up
role: primary
port = 8080
port=9090
url: http://x/?a=b
a line that is no pair
";

#[test]
fn kv_reads_both_separators_and_the_last_duplicate_wins() {
    let df = on_canned(&[("web01", CONF), ("web02", "port=80\nextra: 1.5\n")], "kv");
    assert_eq!(
        column_names(&df)[12..],
        ["kv_status", "port", "url", "extra"]
    );
    assert_eq!(
        col(&df, "port"),
        ["9090", "80", "null", "null", "null", "null"]
    );
    assert_eq!(dtype(&df, "port"), DataType::Int64);
    assert_eq!(col(&df, "url")[0], "http://x/?a=b");
    // A tag is replaced in place by the newer reading; `status` still
    // says how the run went.
    assert_eq!(column_names(&df)[4], "role");
    assert_eq!(col(&df, "role")[..2], ["primary", "null"]);
    assert_eq!(col(&df, "status")[0], "ok");
    assert_eq!(col(&df, "kv_status")[0], "up");
    assert_eq!(dtype(&df, "extra"), DataType::Float64);
}

#[test]
fn kv_gives_hosts_without_output_nulls() {
    let df = eval("hosts | run \"cat /etc/app/app.conf\" | kv");
    assert_eq!(col(&df, "max_conns")[5], "null");
    assert_eq!(col(&df, "started")[0], "2026-11-01T08:00:00Z");
    assert_eq!(dtype(&df, "workers"), DataType::Int64);
}

// ---- json ----

#[test]
fn json_flattens_nested_keys_and_types_values() {
    let df = on_canned(
        &[
            (
                "web01",
                r#"{"a": 1, "b": {"c": {"d": 2.5}}, "ok": true, "tags": ["x", 1], "none": null, "zip": "01234", "status": "up", "empty": {}}"#,
            ),
            ("web02", r#"{"a": 2, "b": {"c": {"d": 3}}, "ok": false}"#),
        ],
        "json | head 2",
    );
    let names = column_names(&df);
    assert_eq!(
        names[12..],
        [
            "a",
            "b_c_d",
            "ok",
            "tags",
            "none",
            "zip",
            "json_status",
            "empty"
        ]
    );
    assert_eq!(dtype(&df, "a"), DataType::Int64);
    assert_eq!(dtype(&df, "b_c_d"), DataType::Float64);
    assert_eq!(col(&df, "b_c_d"), ["2.5", "3.0"]);
    assert_eq!(col(&df, "ok"), ["true", "false"]);
    assert_eq!(col(&df, "tags")[0], r#"["x",1]"#);
    assert_eq!(col(&df, "none"), ["null", "null"]);
    // A string of digits stays a string.
    assert_eq!(dtype(&df, "zip"), DataType::String);
    assert_eq!(col(&df, "zip")[0], "01234");
    assert_eq!(col(&df, "empty")[0], "{}");
    assert!(!names.contains(&"json_error".to_string()));
}

#[test]
fn json_that_is_invalid_or_not_an_object_fills_json_error() {
    let df = on_canned(
        &[
            ("web01", r#"{"a": 1}"#),
            ("web02", r#"{"a": "#),
            ("web03", "[1, 2]"),
        ],
        "json | select host, a, json_error",
    );
    assert_eq!(col(&df, "a"), ["1", "null", "null", "null", "null", "null"]);
    let errors = col(&df, "json_error");
    assert_eq!(errors[0], "null");
    assert!(errors[1].contains("EOF while parsing"), "{}", errors[1]);
    assert!(errors[2].contains("expected a map"), "{}", errors[2]);
    // cache01 never answered: missing, not an error.
    assert_eq!(errors[5], "null");
}

#[test]
fn json_on_the_sample_status_adds_no_error_column() {
    let df = eval("hosts | run \"cat /etc/app/status.json\" | json");
    assert!(!column_names(&df).contains(&"json_error".to_string()));
    assert_eq!(dtype(&df, "queue_depth"), DataType::Int64);
}

// ---- gather ----

#[test]
fn gather_folds_hosts_by_output_largest_group_first() {
    let df = eval("hosts | run \"cat /etc/app/version\" | gather");
    assert_eq!(
        column_names(&df),
        ["hosts", "count", "stdout", "stderr", "status"]
    );
    assert_eq!(
        col(&df, "hosts"),
        ["db[01-02],web[01-02]", "web03", "cache01"]
    );
    assert_eq!(col(&df, "count"), ["4", "1", "1"]);
    // The unreachable host is a group of its own, its output missing.
    assert_eq!(col(&df, "stdout")[2], "null");
    assert_eq!(col(&df, "status")[2], "unreachable");
}

#[test]
fn gather_by_named_columns_keeps_their_types_and_first_seen_ties() {
    let df = eval("hosts | run \"systemctl is-active app\" | fold exit");
    assert_eq!(column_names(&df), ["hosts", "count", "exit"]);
    assert!(dtype(&df, "exit").is_integer());
    assert_eq!(
        col(&df, "hosts"),
        ["db[01-02],web[01-02]", "web03", "cache01"]
    );
    let tags = eval("hosts | gather az");
    assert_eq!(
        col(&tags, "hosts"),
        ["db01,web[01-02]", "db02,web03", "cache01"]
    );
    assert_eq!(col(&tags, "az"), ["us-east-1a", "us-east-1b", "us-east-1c"]);
}

#[test]
fn gather_counts_rows_and_names_each_host_once() {
    let df = on_canned(
        &[("web01", "a\na\nb"), ("web02", "a")],
        "lines | gather line",
    );
    assert_eq!(col(&df, "line"), ["null", "a", "b"]);
    assert_eq!(col(&df, "count"), ["4", "3", "1"]);
    assert_eq!(
        col(&df, "hosts"),
        ["cache01,db[01-02],web03", "web[01-02]", "web01"]
    );
}

#[test]
fn gather_errors_say_what_to_do() {
    let error = fails("hosts | gather");
    assert!(error.contains("no command output"), "{error}");
    assert!(
        error.contains("run a command first, or name columns: gather az"),
        "{error}"
    );
    let error = fails("hosts | gather az, rol");
    assert!(error.contains("unknown column `rol`"), "{error}");
    assert_eq!(location(&error), "1:20");
    let error = fails("hosts | count by az | gather count");
    assert!(error.contains("cannot group by `count`"), "{error}");
    assert_eq!(location(&error), "1:30");
    let error = fails("hosts | select az | gather az");
    assert!(error.contains("needs a `host` column"), "{error}");
}

fn fleet_named(names: impl IntoIterator<Item = String>) -> Fleet {
    let hosts = names
        .into_iter()
        .map(|name| FleetHost {
            addr: format!("{name}.example"),
            name,
            tags: IndexMap::from([("role".to_string(), "node".to_string())]),
        })
        .collect();
    Fleet {
        hosts,
        groups: IndexMap::new(),
        ssh_config: Vec::new(),
    }
}

#[test]
fn gather_folds_ten_thousand_hosts_into_one_range() {
    let fleet = fleet_named((1..=10_000).map(|i| format!("node{i:05}")));
    let df = eval_on(fleet, &ScriptedExecutor, "hosts | gather role").unwrap();
    assert_eq!(col(&df, "hosts"), ["node[00001-10000]"]);
    assert_eq!(col(&df, "count"), ["10000"]);
}

/// Issue 20: what `gather` folds, `hosts` selects back exactly, names with
/// brackets, commas and `@` (which no nodeset can carry) and numbers past
/// u32 included.
#[test]
fn gather_folds_names_that_hosts_selects_back_exactly() {
    let names = [
        "web01",
        "web02",
        "odd@host",
        "x[1]",
        "a,b",
        "n99999999999",
        "n100000000000",
        "12",
        "13",
        "a+1",
        "1-3",
    ];
    let fleet = fleet_named(names.map(String::from));
    let df = eval_on(fleet.clone(), &ScriptedExecutor, "hosts | gather role").unwrap();
    let hosts = col(&df, "hosts").remove(0);
    assert_eq!(
        hosts,
        "[12-13],1-3,a+1,n[99999999999-100000000000],web[01-02], ~ /^odd@host$/, \
         ~ /^x\\[1\\]$/, ~ /^a,b$/"
    );
    let selected = eval_on(fleet, &ScriptedExecutor, &format!("hosts {hosts}")).unwrap();
    let mut selected = col(&selected, "host");
    selected.sort();
    let mut names = names.map(String::from).to_vec();
    names.sort();
    assert_eq!(selected, names);
}
