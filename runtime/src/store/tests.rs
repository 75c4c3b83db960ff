//! The store against real SQLite files in temporary directories.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use polars::prelude::*;
use rusqlite::Connection;
use shoal_lang::Span;
use shoal_lang::plan::JobRef;
use shoal_stdlib::Session;
use shoal_stdlib::example_fleet::{ScriptedExecutor, fleet};
use shoal_stdlib::executor::{HostOutcome, Status};
use shoal_stdlib::frame::to_text;
use shoal_stdlib::history::{History, HistoryHandle};
use shoal_stdlib::ops::{NEEDS_STORE, REGISTRY};

use super::*;

fn outcome(status: Status, stdout: &str) -> HostOutcome {
    HostOutcome {
        // A host that failed to connect printed nothing.
        stdout: if status == Status::Unreachable {
            String::new()
        } else {
            stdout.into()
        },
        stderr: String::new(),
        exit: (status == Status::Ok).then_some(0),
        status,
        error: (status != Status::Ok).then(|| "it failed".to_string()),
        duration: Duration::from_millis(7),
        exchange: None,
    }
}

/// Records a job of `hosts` (name, status) by hand, as the engine would.
fn record(store: &Store, query: &str, hosts: &[(&str, Status)]) {
    store.begin_statement(query);
    store.run_started("uptime");
    for (host, status) in hosts {
        store.host_finished(host, &HostInfo::default(), &outcome(*status, "up"));
    }
    assert_eq!(store.end_statement(false), None);
}

fn column_texts(frame: &DataFrame, name: &str) -> Vec<String> {
    let column = frame.column(name).unwrap().cast(&DataType::String).unwrap();
    column
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_new_store_is_private_and_at_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/shoal/shoal.db");
    let store = Store::open(&path, &Retention::default()).unwrap();
    drop(store);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let connection = Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let journal: String = connection
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!((version, journal.as_str()), (schema::LATEST, "wal"));
}

/// Every older schema version, with a job in it, migrates to the latest
/// and keeps the job.
#[test]
fn every_older_version_migrates_and_keeps_its_jobs() {
    for from in 1..schema::LATEST {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shoal.db");
        let mut connection = Connection::open(&path).unwrap();
        schema::migrate_to(&mut connection, &path, from).unwrap();
        connection
            .execute(
                "INSERT INTO jobs (query, replay, user, inventory, started_ms, status, pid, machine)
                 VALUES ('hosts | run \"true\"', 'hosts | run \"true\"', 'ann', 'fleet.toml', ?1, 'ok', 1, 'm')",
                [now_ms()],
            )
            .unwrap();
        drop(connection);
        let store = Store::open(&path, &Retention::default()).unwrap();
        let jobs = store.jobs(Span::default()).unwrap();
        assert_eq!(column_texts(&jobs, "user"), ["ann"], "from version {from}");
        store
            .save("b", &df!("host" => ["a"]).unwrap(), false, Span::default())
            .unwrap();
    }
}

#[test]
fn a_file_that_is_not_a_shoal_store_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "my notes, not a database\n").unwrap();
    let error = Store::open(&text, &Retention::default()).unwrap_err();
    assert!(matches!(error, StoreError::Foreign { .. }), "{error}");
    assert!(error.to_string().contains("notes.db"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "my notes, not a database\n"
    );

    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let error = Store::open(&other, &Retention::default()).unwrap_err();
    assert!(error.to_string().contains("another program"), "{error}");

    let corrupt = dir.path().join("corrupt.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 8192));
    std::fs::write(&corrupt, &bytes).unwrap();
    let error = Store::open(&corrupt, &Retention::default()).unwrap_err();
    assert!(matches!(error, StoreError::Foreign { .. }), "{error}");
    assert_eq!(std::fs::read(&corrupt).unwrap(), bytes);
}

#[test]
fn a_store_from_a_newer_shoal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shoal.db");
    drop(Store::open(&path, &Retention::default()).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let error = Store::open(&path, &Retention::default()).unwrap_err();
    assert!(
        matches!(error, StoreError::Newer { found: 99, .. }),
        "{error}"
    );
}

#[test]
fn a_job_is_recorded_host_by_host_and_read_back_as_rows() {
    let store = Store::in_memory().unwrap();
    record(
        &store,
        "hosts | run \"uptime\"",
        &[("web01", Status::Ok), ("web02", Status::Unreachable)],
    );
    let jobs = store.jobs(Span::default()).unwrap();
    assert_eq!(column_texts(&jobs, "status"), ["failed"]);
    assert_eq!(column_texts(&jobs, "hosts"), ["2"]);
    assert_eq!(column_texts(&jobs, "ok"), ["1"]);
    let rows = store.job(JobRef::Last, Span::default()).unwrap();
    assert_eq!(column_texts(&rows, "host"), ["web01", "web02"]);
    assert_eq!(column_texts(&rows, "status"), ["ok", "unreachable"]);
    assert_eq!(column_texts(&rows, "command"), ["uptime", "uptime"]);
    // The unreachable host never ran: its stdout is null, not "".
    assert!(rows.column("stdout").unwrap().get(1).unwrap().is_null());
}

#[test]
fn a_statement_that_contacts_no_host_is_not_a_job() {
    let store = Store::in_memory().unwrap();
    store.begin_statement("hosts | count");
    assert_eq!(store.end_statement(false), None);
    assert_eq!(store.jobs(Span::default()).unwrap().height(), 0);
}

#[test]
fn jobs_are_named_by_id_last_and_counting_back() {
    let store = Store::in_memory().unwrap();
    for query in ["first", "second", "third"] {
        record(&store, query, &[("a", Status::Ok)]);
    }
    let query_of = |which| {
        let rows = store.job(which, Span::default()).unwrap();
        column_texts(&rows, "job")[0].clone()
    };
    assert_eq!(query_of(JobRef::Last), "3");
    assert_eq!(query_of(JobRef::Back(2)), "2");
    assert_eq!(query_of(JobRef::Id(1)), "1");
    let error = store.job(JobRef::Id(9), Span::default()).unwrap_err();
    assert!(error.reason.contains("no job `9`"), "{error:?}");
    assert!(error.hints[0].contains("3 jobs, ids 1 to 3"), "{error:?}");
}

#[test]
fn a_job_left_running_by_a_dead_process_is_interrupted_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shoal.db");
    let store = Store::open(&path, &Retention::default()).unwrap();
    store.begin_statement("hosts | run \"sleep 60\"");
    store.run_started("sleep 60");
    store.host_finished("a", &HostInfo::default(), &outcome(Status::Ok, ""));
    store.host_finished("b", &HostInfo::default(), &outcome(Status::Timeout, ""));
    // The process "dies": its pid becomes one that cannot exist.
    store
        .connection()
        .execute("UPDATE jobs SET pid = 2147483647", [])
        .unwrap();
    drop(store);
    let store = Store::open(&path, &Retention::default()).unwrap();
    let jobs = store.jobs(Span::default()).unwrap();
    assert_eq!(column_texts(&jobs, "status"), ["interrupted"]);
    assert_eq!(
        (column_texts(&jobs, "hosts"), column_texts(&jobs, "failed")),
        (vec!["2".to_string()], vec!["1".to_string()])
    );
    assert_eq!(
        store.job(JobRef::Last, Span::default()).unwrap().height(),
        2
    );
}

#[test]
fn a_running_job_of_a_live_process_is_left_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shoal.db");
    let writer = Store::open(&path, &Retention::default()).unwrap();
    writer.begin_statement("hosts | run \"sleep 60\"");
    writer.run_started("sleep 60");
    let reader = Store::open(&path, &Retention::default()).unwrap();
    let jobs = reader.jobs(Span::default()).unwrap();
    assert_eq!(column_texts(&jobs, "status"), ["running"]);
}

#[test]
fn retention_deletes_old_jobs_and_keeps_recent_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shoal.db");
    let store = Store::open(&path, &Retention::default()).unwrap();
    record(&store, "old", &[("a", Status::Ok)]);
    record(&store, "new", &[("a", Status::Ok)]);
    let forty_days: i64 = 40 * 24 * 3600 * 1000;
    store
        .connection()
        .execute(
            "UPDATE jobs SET started_ms = started_ms - ?1 WHERE query = 'old'",
            [forty_days],
        )
        .unwrap();
    drop(store);
    let store = Store::open(&path, &Retention::default()).unwrap();
    let jobs = store.jobs(Span::default()).unwrap();
    assert_eq!(column_texts(&jobs, "query"), ["new"]);
    let rows: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM job_hosts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the old job's rows went with it");
}

#[test]
fn retention_by_size_deletes_the_oldest_jobs_and_vacuums() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shoal.db");
    let store = Store::open(&path, &Retention::default()).unwrap();
    let big = "x".repeat(64 * 1024);
    for n in 0..60 {
        store.begin_statement(&format!("job {n}"));
        store.run_started("cat big");
        store.host_finished("a", &HostInfo::default(), &outcome(Status::Ok, &big));
        store.end_statement(false);
    }
    drop(store);
    let before = std::fs::metadata(&path).unwrap().len();
    let limit = Retention {
        max_bytes: 1 << 20,
        ..Retention::default()
    };
    let store = Store::open(&path, &limit).unwrap();
    let kept = column_texts(&store.jobs(Span::default()).unwrap(), "query");
    assert!(!kept.is_empty() && kept.len() < 60, "{}", kept.len());
    assert_eq!(kept[0], "job 59", "the newest is kept");
    drop(store);
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(
        after <= (1 << 20) + (64 << 10) && after < before,
        "{before} → {after}"
    );
}

#[test]
fn a_baseline_comes_back_with_its_types_and_is_not_replaced_by_accident() {
    let store = Store::in_memory().unwrap();
    let frame = df!(
        "host" => ["a", "b"],
        "exit" => [Some(0i32), None],
        "duration_ms" => [5u64, 7],
        "load1" => [0.5f64, 1.25],
        "ok" => [true, false],
        "packages" => [Some("libfoo=1.2.3\nlibbar=2"), None],
    )
    .unwrap();
    store.begin_statement("hosts | facts | save before");
    store
        .save("before", &frame, false, Span::default())
        .unwrap();
    let back = store.baseline("before", Span::default()).unwrap();
    assert!(back.equals_missing(&frame), "{back}");
    assert_eq!(back.column("exit").unwrap().dtype(), &DataType::Int32);

    let error = store
        .save("before", &frame, false, Span::default())
        .unwrap_err();
    assert!(error.reason.contains("exists"), "{error:?}");
    store
        .save("before", &frame.head(Some(1)), true, Span::default())
        .unwrap();
    assert_eq!(
        store.baseline("before", Span::default()).unwrap().height(),
        1
    );

    let listed = store.baselines(Span::default()).unwrap();
    assert_eq!(
        column_texts(&listed, "query"),
        ["hosts | facts | save before"]
    );
    let error = store.baseline("befor", Span::default()).unwrap_err();
    assert!(
        error.hints[0].contains("did you mean `before`"),
        "{error:?}"
    );
}

#[test]
fn force_lets_save_replace_a_baseline() {
    let store = Store::in_memory().unwrap().with_force(true);
    let frame = df!("host" => ["a"]).unwrap();
    store.save("b", &frame, false, Span::default()).unwrap();
    store.save("b", &frame, false, Span::default()).unwrap();
}

/// Two stores on one file (two shoal processes) write at once; WAL and the
/// busy timeout let both finish, and every row lands.
#[test]
fn two_writers_on_one_file_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shoal.db");
    drop(Store::open(&path, &Retention::default()).unwrap());
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path, &Retention::default()).unwrap();
                for job in 0..20 {
                    store.begin_statement(&format!("writer {writer} job {job}"));
                    store.run_started("true");
                    for host in 0..10 {
                        store.host_finished(
                            &format!("h{host}"),
                            &HostInfo::default(),
                            &outcome(Status::Ok, ""),
                        );
                    }
                    assert_eq!(store.end_statement(false), None);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let store = Store::open(&path, &Retention::default()).unwrap();
    assert_eq!(store.jobs(Span::default()).unwrap().height(), 40);
    let rows: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM job_hosts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 400);
}

/// The examples of `save`, `rerun` and `drift`, against a real store
/// seeded as [`NEEDS_STORE`] says.
#[test]
fn the_examples_of_stages_that_need_a_store_print_their_documented_output() {
    let run = |query: &str| -> String {
        let store = std::sync::Arc::new(Store::in_memory().unwrap());
        let mut session = Session::new(fleet());
        session.history = HistoryHandle(store.clone());
        let hosts = host_info(&session.fleet);
        let mut eval = |query: &str| {
            let plan = shoal_stdlib::compile(query).unwrap();
            let statement = &plan.statements[0];
            store.begin_statement(&statement.text);
            let mut recorder = Recorder {
                store: &store,
                hosts: &hosts,
            };
            let frame = session
                .eval(statement, &ScriptedExecutor, &mut recorder)
                .unwrap_or_else(|e| panic!("{}", e.render(query, false)));
            store.end_statement(false);
            frame
        };
        eval("hosts | run \"cat /etc/app/version\"");
        let last_week = df!(
            "host" => ["web01", "web02", "web03"],
            "version" => ["2.0.9", "2.0.9", "2.0.9"],
        )
        .unwrap();
        store
            .save("last-week", &last_week, false, Span::default())
            .unwrap();
        to_text(&eval(query)).unwrap()
    };
    let mut checked = 0;
    for op in REGISTRY {
        let name = op.signature().name;
        if !NEEDS_STORE.contains(&name) {
            continue;
        }
        for example in op.examples() {
            assert_eq!(
                run(example.query),
                example.output,
                "{name}: {}",
                example.query
            );
            checked += 1;
        }
    }
    assert!(checked >= NEEDS_STORE.len());
}

/// `rerun` contacts only the incoming rows' hosts, and its job names the
/// job it reran.
#[test]
fn rerun_runs_the_job_again_on_the_incoming_hosts_only() {
    let store = std::sync::Arc::new(Store::in_memory().unwrap());
    let mut session = Session::new(fleet());
    session.history = HistoryHandle(store.clone());
    let hosts = host_info(&session.fleet);
    let mut eval = |query: &str| {
        let plan = shoal_stdlib::compile(query).unwrap();
        store.begin_statement(&plan.statements[0].text);
        let mut recorder = Recorder {
            store: &store,
            hosts: &hosts,
        };
        let frame = session
            .eval(&plan.statements[0], &ScriptedExecutor, &mut recorder)
            .unwrap_or_else(|e| panic!("{}", e.render(query, false)));
        store.end_statement(false);
        frame
    };
    eval("hosts @web | run \"cat /etc/app/version\"");
    let frame = eval("job last | filter host = web02 | rerun");
    assert_eq!(column_texts(&frame, "host"), ["web02"]);
    let jobs = store.jobs(Span::default()).unwrap();
    assert_eq!(column_texts(&jobs, "parent"), ["1", ""]);
    assert_eq!(column_texts(&jobs, "hosts"), ["1", "3"]);
    let rows = store.job(JobRef::Last, Span::default()).unwrap();
    assert_eq!(column_texts(&rows, "command"), ["cat /etc/app/version"]);
    // A rerun of the rerun runs the original pipeline again.
    assert_eq!(
        store.replay(2, Span::default()).unwrap(),
        "hosts @web | run \"cat /etc/app/version\""
    );
}
