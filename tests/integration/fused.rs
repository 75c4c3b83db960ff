//! Fused stages against real OpenSSH servers: consecutive `run`s reach each host as one
//! batch on its persistent shell, each command framed and bounded on its own; a command that
//! times out stops the later ones of its batch on that host alone, keeping what came before;
//! a local stage between two `run`s keeps the second off the hosts it dropped.
//!
//! What ran is checked on the hosts: files the commands leave, and leftover processes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use shoal_runtime::ssh::OUTPUT_CAP;
use shoal_stdlib::DataFrame;

use crate::support::{Client, FleetSpec, SshdFleet, remote_sleeps, wait_for};

/// A fleet of `hosts` whose /etc/app the login user may write, and a client for it.
fn fleet(hosts: usize) -> (SshdFleet, Client) {
    let spec = FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("1.{i}\n"))]),
        ..FleetSpec::new(hosts)
    };
    let fleet = SshdFleet::start(spec);
    for node in fleet.hosts() {
        fs::set_permissions(&node.data_dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    let client = Client::new(&fleet, "", &Default::default());
    (fleet, client)
}

fn column(rows: &DataFrame, name: &str) -> Vec<Option<String>> {
    shoal_stdlib::frame::texts(
        rows.column(name)
            .unwrap_or_else(|_| panic!("no column {name}")),
    )
    .unwrap()
}

fn texts(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some(v.to_string())).collect()
}

/// Whether host `i` has the file `name` in its /etc/app.
fn has(fleet: &SshdFleet, i: usize, name: &str) -> bool {
    fleet.hosts()[i].data_dir.join(name).exists()
}

#[test]
fn fused_runs_keep_each_commands_output_exit_and_status_apart() {
    let (_fleet, client) = fleet(2);
    let mut session = client.session();
    let rows = client.query(
        &mut session,
        "hosts | run \"printf 'no newline'; printf err >&2\" as a \
         | run \"echo out; exit 3\" as b \
         | run \"cat /etc/app/version\" as v \
         | select host, a, b, v, status",
    );
    assert_eq!(column(&rows, "a"), texts(&["no newline", "no newline"]));
    assert_eq!(column(&rows, "b"), texts(&["out", "out"]));
    assert_eq!(column(&rows, "v"), texts(&["1.0", "1.1"]));
    // The last stage's status is the row's.
    assert_eq!(column(&rows, "status"), texts(&["ok", "ok"]));
    // One connection and one shell per host for all three.
    let stats = client.executor.stats();
    assert_eq!((stats.connections_opened, stats.channels_opened), (2, 2));

    // The middle stage's own columns, seen before the next stage replaced them.
    let rows = client.query(
        &mut session,
        "hosts | run \"echo out; echo err >&2; exit 3\" | select host, stdout, stderr, exit, status, error",
    );
    assert_eq!(column(&rows, "stderr"), texts(&["err", "err"]));
    assert_eq!(column(&rows, "exit"), texts(&["3", "3"]));
    assert_eq!(column(&rows, "status"), texts(&["failed", "failed"]));
}

#[test]
fn a_timeout_stops_the_rest_of_that_hosts_batch_only_and_keeps_what_came_before() {
    let (fleet, client) = fleet(2);
    let mut session = client.session();
    // web001 hangs in the second stage; web002 does not.
    let rows = client.query(
        &mut session,
        "hosts | run \"echo first\" as one \
         | run \"echo started; if [ $(hostname) = web001 ]; then sleep 600; fi\" timeout=1s as two \
         | run \"touch /etc/app/after; echo third\" as three \
         | select host, one, two, three, status, error",
    );
    assert_eq!(column(&rows, "one"), texts(&["first", "first"]));
    assert_eq!(column(&rows, "two"), texts(&["started", "started"]));
    let error = column(&rows, "error");
    assert_eq!(column(&rows, "three")[1].as_deref(), Some("third"));
    assert_eq!(column(&rows, "status")[0].as_deref(), Some("error"));
    assert!(
        error[0].as_deref().is_some_and(
            |e| e.starts_with("not run: `echo started;") && e.contains("ended `timeout`")
        ),
        "{error:?}"
    );
    assert!(
        !has(&fleet, 0, "after"),
        "the stage after the timeout never started"
    );
    assert!(has(&fleet, 1, "after"));
    wait_for(
        "the timed-out sleep to be killed",
        Duration::from_secs(10),
        || remote_sleeps(&fleet, 0).is_empty(),
    );

    // Declared independent, it runs there anyway, on its own.
    let rows = client.query(
        &mut session,
        "hosts web001 | run \"sleep 600\" timeout=1s \
         | run \"touch /etc/app/independent; echo ran\" independent=true as ran \
         | select host, ran, status",
    );
    assert_eq!(column(&rows, "ran"), texts(&["ran"]));
    assert!(has(&fleet, 0, "independent"));
}

#[test]
fn a_flooding_command_stays_bounded_and_the_next_one_is_framed_whole() {
    let (_fleet, client) = fleet(1);
    let mut session = client.session();
    let rows = client.query(
        &mut session,
        "hosts | run \"head -c 3000000 /dev/zero | tr '\\\\0' y; echo tail\" as flood \
         | run \"echo next; echo err >&2\" as next \
         | select host, flood, next, stderr, status",
    );
    let flood = column(&rows, "flood")[0].clone().unwrap();
    assert_eq!(flood.len(), OUTPUT_CAP, "the cap holds inside a batch");
    assert!(flood.bytes().all(|b| b == b'y'));
    assert_eq!(column(&rows, "next"), texts(&["next"]));
    assert_eq!(column(&rows, "stderr"), texts(&["err"]));
    assert_eq!(column(&rows, "status"), texts(&["ok"]));
}

#[test]
fn a_filter_between_two_runs_keeps_the_second_off_the_hosts_it_dropped() {
    let (fleet, client) = fleet(3);
    let mut session = client.session();
    let rows = client.query(
        &mut session,
        "hosts | run \"cat /etc/app/version\" as v | filter v != 1.1 \
         | run \"touch /etc/app/second\" | select host, status",
    );
    assert_eq!(column(&rows, "host"), texts(&["web001", "web003"]));
    assert_eq!(
        (0..3).map(|i| has(&fleet, i, "second")).collect::<Vec<_>>(),
        [true, false, true]
    );
}
