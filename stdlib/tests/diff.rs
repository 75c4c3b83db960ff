//! `diff` through the evaluator: the three forms, the ranking, pairs,
//! missing values, numeric splits, errors, and the promise that a printed
//! feature pasted into `filter` selects exactly the rows it counted.

mod common;

use common::col;
use polars::prelude::*;
use shoal_stdlib::Session;
use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};

fn eval_in(session: &mut Session, query: &str) -> Result<DataFrame, String> {
    common::eval_in(session, &ScriptedExecutor, query)
}

/// The hosts of `query`'s result, for side membership.
fn hosts(session: &mut Session, query: &str) -> Vec<String> {
    col(
        &eval_in(session, query).unwrap_or_else(|e| panic!("{e}")),
        "host",
    )
}

/// The query that selects a printed feature's rows: `$input | filter
/// FEATURE`, or for a key feature, which is the pipeline `kv COL | filter
/// ...`, `$input | FEATURE`.
fn pasted(feature: &str) -> String {
    if feature.starts_with("kv ") {
        format!("$input | {feature}")
    } else {
        format!("$input | filter {feature}")
    }
}

/// For every feature `diff` printed, pasting it after `$input` selects
/// exactly count_a hosts of A and count_b hosts of B.
fn assert_features_paste_back(session: &mut Session, diff: &DataFrame, a: &[String], b: &[String]) {
    assert!(diff.height() > 0, "diff found nothing");
    let features = col(diff, "feature");
    let (count_a, count_b) = (col(diff, "count_a"), col(diff, "count_b"));
    for (i, feature) in features.iter().enumerate() {
        let selected = hosts(session, &pasted(feature));
        let in_a = selected.iter().filter(|h| a.contains(h)).count();
        let in_b = selected.iter().filter(|h| b.contains(h)).count();
        assert_eq!(
            (in_a.to_string(), in_b.to_string()),
            (count_a[i].clone(), count_b[i].clone()),
            "`{}` selects {selected:?}",
            pasted(feature)
        );
    }
}

/// web03's app is down, and only web03 has `max_conns=64` and version 2.0.9.
const BROKEN_APP: &str =
    "let input = hosts | run \"systemctl is-active app\" as health | run \"cat /etc/app/app.conf\"";

fn broken_app_session() -> Session {
    let mut session = Session::new(fleet());
    eval_in(&mut session, BROKEN_APP).unwrap();
    session
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn diff_where_ranks_the_cause_first_and_every_feature_pastes_back_into_filter() {
    let mut session = broken_app_session();
    let diff = eval_in(&mut session, "$input | diff where health = failed").unwrap();
    let features = col(&diff, "feature");
    assert_eq!(
        features[..2],
        strings(&["version = 2.0.9", "stdout has \"max_conns=64\""])
    );
    assert_eq!(col(&diff, "pct_a")[1], "100.0");
    assert_eq!(col(&diff, "pct_b")[1], "0.0");
    assert_eq!(col(&diff, "examples")[1], "web03");
    // The split's own column, and stdout's copy of it, explain nothing.
    assert!(
        features
            .iter()
            .all(|f| !f.contains("health") && !f.contains("failed"))
    );
    let a = strings(&["web03"]);
    let b = strings(&["web01", "web02", "db01", "db02", "cache01"]);
    assert_features_paste_back(&mut session, &diff, &a, &b);
    assert_eq!(
        hosts(&mut session, "$input | filter stdout has \"max_conns=64\""),
        a
    );
}

#[test]
fn diff_of_saved_results_and_of_groups_ignores_rows_on_neither_side() {
    let mut session = broken_app_session();
    eval_in(&mut session, "let bad = $input | filter health = failed").unwrap();
    eval_in(&mut session, "let good = $input | filter health = active").unwrap();
    let diff = eval_in(&mut session, "$input | diff $bad $good").unwrap();
    // Sides made from `health`, so health separates them too, as it should.
    assert_eq!(
        col(&diff, "feature")[..3],
        strings(&[
            "health = failed",
            "version = 2.0.9",
            "stdout has \"max_conns=64\""
        ])
    );
    let a = strings(&["web03"]);
    let b = strings(&["web01", "web02", "db01", "db02"]);
    // cache01 is in neither: nothing counts it, so `status = ok` separates nothing.
    assert!(!col(&diff, "feature").contains(&"status = ok".to_string()));
    assert_features_paste_back(&mut session, &diff, &a, &b);

    let bare = eval_in(&mut session, "$input | diff bad good").unwrap();
    assert_eq!(col(&bare, "feature"), col(&diff, "feature"));

    let groups = eval_in(&mut session, "$input | diff @db @web").unwrap();
    assert_eq!(col(&groups, "feature")[0], "role = db");
    let (db, web) = (
        strings(&["db01", "db02"]),
        strings(&["web01", "web02", "web03"]),
    );
    assert_features_paste_back(&mut session, &groups, &db, &web);
}

/// A hand-made result: what facts would give on eight hosts, four of them
/// slow; `bios` is unknown on two.
fn facts_session() -> Session {
    let mut session = Session::new(fleet());
    let names: Vec<String> = (1..=8).map(|i| format!("h{i}")).collect();
    let frame = df!(
        "host" => names,
        "slow" => ["yes", "yes", "yes", "yes", "no", "no", "no", "no"],
        "load1" => [Some(7.5), Some(9.0), Some(6.1), None, Some(0.5), Some(1.2), Some(0.9), Some(0.7)],
        "cpus" => [4i64, 4, 8, 4, 8, 8, 8, 4],
        "bios" => [Some("2.1.7"), Some("2.1.7"), None, Some("2.1.7"), Some("2.1.0"), Some("2.1.0"), Some("2.1.0"), Some("2.1.0")],
        "az" => ["a", "b", "a", "b", "a", "b", "a", "b"],
        "stdout" => ["up 3 days\nkernel 6.1", "up 4 days\nkernel 6.1", "up 5 days\nkernel 6.1", "up 6 days\nkernel 6.1",
                     "up 7 days\nkernel 5.10", "up 8 days\nkernel 5.10", "up 9 days\nkernel 5.10", "up 10 days\nkernel 6.1"],
    )
    .unwrap();
    session.vars.insert("input".into(), frame);
    session
}

#[test]
fn numeric_columns_split_at_a_readable_threshold_and_missing_values_are_a_feature() {
    let mut session = facts_session();
    let diff = eval_in(&mut session, "$input | diff by slow").unwrap();
    let features = col(&diff, "feature");
    let kinds = col(&diff, "kind");
    let at = |f: &str| {
        features
            .iter()
            .position(|x| x == f)
            .unwrap_or_else(|| panic!("no `{f}` in {features:?}"))
    };
    assert_eq!(kinds[at("load1 > 2")], "numeric");
    assert_eq!(col(&diff, "count_a")[at("load1 > 2")], "3");
    assert_eq!(col(&diff, "count_b")[at("load1 > 2")], "0");
    assert_eq!(kinds[at("not exists bios")], "value");
    assert_eq!(kinds[at("bios = 2.1.7")], "value");
    // Uptimes differ on every host: only the masked form is shown.
    assert!(
        features.iter().all(|f| !f.contains("has \"up ")),
        "{features:?}"
    );
    assert!(
        !features.iter().any(|f| f.contains("^up ")),
        "a masked line common to all separates nothing"
    );
    assert!(features.contains(&"stdout has \"kernel 6.1\"".to_string()));
    // The two sides are the same size, so A is the value seen first.
    let a: Vec<String> = (1..=4).map(|i| format!("h{i}")).collect();
    let b: Vec<String> = (5..=8).map(|i| format!("h{i}")).collect();
    assert_features_paste_back(&mut session, &diff, &a, &b);
}

#[test]
fn masked_lines_stand_for_lines_that_differ_only_in_numbers() {
    let mut session = Session::new(fleet());
    let frame = df!(
        "host" => ["a1", "a2", "a3", "b1", "b2", "b3"],
        "bad" => ["y", "y", "y", "n", "n", "n"],
        "log" => ["retry 17 of 20\nok", "retry 3 of 20\nok", "retry 9 of 20\nok", "ok\nx", "ok\ny", "ok\nz"],
    )
    .unwrap();
    session.vars.insert("input".into(), frame);
    let diff = eval_in(&mut session, "$input | diff where bad = y").unwrap();
    assert_eq!(
        col(&diff, "feature")[0],
        "log ~ /(?m)^retry [0-9]+ of [0-9]+$/"
    );
    assert_eq!(col(&diff, "pct_diff")[0], "100.0");
    let a = strings(&["a1", "a2", "a3"]);
    let b = strings(&["b1", "b2", "b3"]);
    assert_features_paste_back(&mut session, &diff, &a, &b);
}

#[test]
fn a_pair_is_added_only_when_it_separates_clearly_better_than_its_parts() {
    let mut session = Session::new(fleet());
    let frame = df!(
        "host" => ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"],
        "bad" => ["y", "y", "n", "n", "n", "n", "n", "n"],
        "kernel" => ["6.1", "6.1", "6.1", "6.1", "5.10", "5.10", "5.10", "5.10"],
        "nic" => ["x710", "x710", "e1000", "e1000", "x710", "x710", "e1000", "e1000"],
    )
    .unwrap();
    session.vars.insert("input".into(), frame);
    let diff = eval_in(&mut session, "$input | diff where bad = y").unwrap();
    assert_eq!(col(&diff, "feature")[0], "kernel = 6.1 and nic = x710");
    assert_eq!(col(&diff, "kind")[0], "pair");
    assert_eq!(col(&diff, "count_b")[0], "0");
    let a = strings(&["h1", "h2"]);
    let b = strings(&["h3", "h4", "h5", "h6", "h7", "h8"]);
    assert_features_paste_back(&mut session, &diff, &a, &b);
    // Where one feature alone already separates, no pair is added.
    let plain = eval_in(&mut session, "$input | diff where kernel = 6.1").unwrap();
    assert!(!col(&plain, "kind").contains(&"pair".to_string()));
}

#[test]
fn the_threshold_leaves_out_weak_features() {
    let mut session = broken_app_session();
    let strict = eval_in(
        &mut session,
        "$input | diff where health = failed threshold=70%",
    )
    .unwrap();
    let pct: Vec<f64> = col(&strict, "pct_diff")
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(pct.iter().all(|p| *p >= 70.0), "{pct:?}");
    let all = eval_in(
        &mut session,
        "$input | diff where health = failed threshold=0",
    )
    .unwrap();
    assert!(all.height() > strict.height());
}

#[test]
fn bad_populations_are_located_errors() {
    let mut session = broken_app_session();
    eval_in(&mut session, "let web = hosts @web").unwrap();
    for (query, expected) in [
        (
            "$input | diff where health = nope",
            "`diff` has no rows where health = nope",
        ),
        (
            "$input | diff where exists host",
            "`diff` has no rows where not (exists host)",
        ),
        (
            "$input | diff $web @web",
            "$web and @web share hosts: web01, web02, web03",
        ),
        ("$input | diff $nope @web", "unknown variable `$nope`"),
        ("$input | diff @web @nope", "unknown group `@nope`"),
        (
            "$input | diff by role",
            "`diff by role` needs exactly two values, and `role` has 3: web, db, cache",
        ),
        (
            "$input | select az | diff @web @db",
            "unknown column `host`",
        ),
    ] {
        let error = eval_in(&mut session, query).expect_err(query);
        assert!(error.contains(expected), "{query}:\n{error}");
        assert!(
            error.contains('^') && error.contains("hint:"),
            "{query}:\n{error}"
        );
    }
}

/// Ten hosts whose `stdout` is `/proc`-style `key: value` lines; the four
/// bad ones have a deep queue. Every queue_depth line differs, so no line
/// (or masked line) separates them: only the number in it does.
fn queue_session(stdout: impl Fn(usize, bool) -> String) -> (Session, Vec<String>, Vec<String>) {
    let mut session = Session::new(fleet());
    let names: Vec<String> = (1..=10).map(|i| format!("q{i:02}")).collect();
    let bad: Vec<bool> = (0..10).map(|i| i < 4).collect();
    let frame = df!(
        "host" => names.clone(),
        "bad" => bad.iter().map(|b| if *b { "y" } else { "n" }).collect::<Vec<_>>(),
        "stdout" => (0..10).map(|i| stdout(i, bad[i])).collect::<Vec<_>>(),
    )
    .unwrap();
    session.vars.insert("input".into(), frame);
    let (a, b) = (names[..4].to_vec(), names[4..].to_vec());
    (session, a, b)
}

fn proc_style(i: usize, bad: bool) -> String {
    let depth = if bad {
        4180 + 350 * i
    } else {
        [12, 3, 7, 0, 9, 11][i - 4]
    };
    let pid = [4211, 1203, 3377, 998, 2650, 1742, 3901, 2222, 1519, 3050][i];
    format!("pid: {pid}\nqueue_depth: {depth}\nstate: running\n")
}

#[test]
fn numbers_in_key_value_lines_split_with_no_shaping_and_paste_back_as_a_pipeline() {
    let (mut session, a, b) = queue_session(proc_style);
    let diff = eval_in(&mut session, "$input | diff where bad = y").unwrap();
    let features = col(&diff, "feature");
    // The threshold sits in the gap between 12 and 4180, as a round number.
    assert_eq!(features[0], "kv stdout | filter queue_depth > 1000");
    assert_eq!(col(&diff, "kind")[0], "key");
    assert_eq!(
        (
            col(&diff, "pct_a")[0].as_str(),
            col(&diff, "pct_b")[0].as_str()
        ),
        ("100.0", "0.0")
    );
    assert_eq!(col(&diff, "range")[0], "A 4180..5230, B 0..12");
    assert_eq!(
        hosts(
            &mut session,
            "$input | kv stdout | filter queue_depth > 1000"
        ),
        a
    );
    assert_features_paste_back(&mut session, &diff, &a, &b);

    // Once the user has made the column, the plain numeric split is shown,
    // and the key is not offered a second time.
    let shaped = eval_in(&mut session, "$input | kv stdout | diff where bad = y").unwrap();
    assert_eq!(col(&shaped, "feature")[0], "queue_depth > 1000");
    assert_eq!(col(&shaped, "kind")[0], "numeric");
    assert!(
        col(&shaped, "feature")
            .iter()
            .all(|f| !f.starts_with("kv ")),
        "{:?}",
        col(&shaped, "feature")
    );
}

#[test]
fn key_equals_number_in_a_one_line_column_is_a_key_feature_too() {
    let mut session = Session::new(fleet());
    let frame = df!(
        "host" => ["h1", "h2", "h3", "h4", "h5", "h6"],
        "bad" => ["y", "y", "n", "n", "n", "n"],
        "probe" => ["rtt=250.5 ok", "rtt=310.25", "rtt=1.5", "rtt=2.25", "rtt=0.75", "rtt=1.125"],
    )
    .unwrap();
    session.vars.insert("input".into(), frame);
    let diff = eval_in(&mut session, "$input | diff where bad = y").unwrap();
    // `rtt=250.5 ok` is no number, so `kv` makes `rtt` text: no key feature,
    // since `filter rtt > 100` would be an error.
    assert!(
        col(&diff, "feature").iter().all(|f| !f.contains("rtt >")),
        "{:?}",
        col(&diff, "feature")
    );
    session.vars.insert(
        "input".into(),
        df!(
            "host" => ["h1", "h2", "h3", "h4", "h5", "h6"],
            "bad" => ["y", "y", "n", "n", "n", "n"],
            "probe" => ["rtt=250.5", "rtt=310.25", "rtt=1.5", "rtt=2.25", "rtt=0.75", "rtt=1.125"],
            "rack" => ["r1", "r1", "r2", "r2", "r3", "r3"],
        )
        .unwrap(),
    );
    let diff = eval_in(&mut session, "$input | diff where bad = y").unwrap();
    // Another column that selects the same hosts is another explanation:
    // both are shown, the simpler kind first.
    assert_eq!(
        col(&diff, "feature")[..2],
        strings(&["rack = r1", "kv probe | filter rtt > 100"])
    );
    assert_eq!(col(&diff, "range")[1], "A 250.5..310.25, B 0.75..2.25");
    let (a, b) = (strings(&["h1", "h2"]), strings(&["h3", "h4", "h5", "h6"]));
    assert_features_paste_back(&mut session, &diff, &a, &b);
}

#[test]
fn a_key_that_only_restates_a_line_is_left_out() {
    let mut session = broken_app_session();
    let diff = eval_in(
        &mut session,
        "$input | diff where health = failed threshold=0",
    )
    .unwrap();
    // `max_conns` is 64 on web03 and 256 elsewhere: `stdout has
    // "max_conns=64"` says it, `kv stdout | filter max_conns <= 64` would
    // select the same hosts.
    let features = col(&diff, "feature");
    assert!(features.contains(&"stdout has \"max_conns=64\"".to_string()));
    assert!(
        features.iter().all(|f| !f.starts_with("kv stdout")),
        "{features:?}"
    );
}

#[test]
fn numeric_splits_show_each_sides_range() {
    let mut session = facts_session();
    let diff = eval_in(&mut session, "$input | diff by slow").unwrap();
    let features = col(&diff, "feature");
    let ranges = col(&diff, "range");
    let load = features.iter().position(|f| f == "load1 > 2").unwrap();
    // h4's load1 is missing; the gap is between 1.2 and 6.1.
    assert_eq!(ranges[load], "A 6.1..9, B 0.5..1.2");
    for (feature, kind) in features.iter().zip(col(&diff, "kind")) {
        let range = &ranges[features.iter().position(|f| f == feature).unwrap()];
        assert_eq!(
            range == "null",
            kind != "numeric" && kind != "key",
            "{feature}: {range}"
        );
    }
}

#[test]
fn a_weak_split_still_returns_its_rows() {
    let (mut session, _, _) =
        queue_session(|i, _| format!("queue_depth: {}\n", [5, 900, 3, 7, 4, 800, 6, 2, 950, 1][i]));
    let diff = eval_in(&mut session, "$input | diff where bad = y").unwrap();
    assert!(diff.height() > 0);
    let best: f64 = col(&diff, "pct_diff")[0].parse().unwrap();
    assert!(best < 50.0, "{best}");
}

/// Collects what stages say beside their tables.
#[derive(Default)]
struct Notes(Vec<(String, String)>);

impl shoal_stdlib::RunObserver for Notes {
    fn note(&mut self, stage: &str, text: &str) {
        self.0.push((stage.to_string(), text.to_string()));
    }
}

#[test]
fn a_weak_split_is_told_to_the_observer_and_a_clear_one_is_not() {
    let (mut session, _, _) =
        queue_session(|i, _| format!("queue_depth: {}\n", [5, 900, 3, 7, 4, 800, 6, 2, 950, 1][i]));
    let mut notes = Notes::default();
    let plan = shoal_stdlib::compile("$input | diff where bad = y").unwrap();
    session
        .eval(&plan.statements[0], &ScriptedExecutor, &mut notes)
        .unwrap();
    assert_eq!(notes.0.len(), 1, "{:?}", notes.0);
    assert_eq!(notes.0[0].0, "diff");
    assert!(
        notes.0[0].1.contains("no feature separates A from B well"),
        "{}",
        notes.0[0].1
    );

    let (mut session, _, _) = queue_session(proc_style);
    let mut notes = Notes::default();
    session
        .eval(&plan.statements[0], &ScriptedExecutor, &mut notes)
        .unwrap();
    assert!(notes.0.is_empty(), "{:?}", notes.0);
}

#[test]
fn a_key_with_one_value_on_each_side_is_one_row_saying_both() {
    // The fingerprint's `packages` column: one `name=version` line each.
    let (mut session, _, _) = queue_session(|_, bad| {
        let libfoo = if bad { "1.2.3" } else { "1.2.5" };
        format!("bash=5.2\nlibfoo={libfoo}\nzlib=1.3\n")
    });
    let diff = eval_in(&mut session, "$input | diff where bad = y").unwrap();
    let features = col(&diff, "feature");
    assert_eq!(features[0], "stdout has \"libfoo=1.2.3\"", "{features:?}");
    assert_eq!(
        col(&diff, "range")[0],
        "stdout: libfoo 1.2.3 on 4/4 of A, 1.2.5 on 6/6 of B"
    );
    // The other side's line is the same change: it has no row of its own.
    assert!(
        !features.iter().any(|f| f.contains("libfoo=1.2.5")),
        "{features:?}"
    );
    // And the row still pastes: it selects exactly the four bad hosts.
    let pasted = hosts(&mut session, &format!("$input | filter {}", features[0]));
    assert_eq!(pasted, ["q01", "q02", "q03", "q04"]);
}
