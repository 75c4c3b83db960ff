//! `diff` and `facts` against 40 real OpenSSH hosts (tests/support) with a planted cause:
//! the 8 hosts whose BIOS is 2.1.7 have `max_conns=64` in /etc/app/app.conf and fail their
//! health check. Decoys: a software version that differs on an unrelated quarter of the
//! fleet, an AZ that correlates only partly, and a config line that differs on every host.
//!
//! The answer must come out on top, at 100% against 0%, in each form of `diff`, and the
//! printed feature pasted into `filter` must select exactly the bad hosts.
//!
//! The bad hosts' queues are also thousands deep in /etc/app/queue, a `/proc`-style file of
//! `key: number` lines that differ on every host, which `diff` must read with no shaping.

use std::fs;

use shoal_runtime::inventory::Overrides;
use shoal_stdlib::{DataFrame, Session};

use crate::support::{Client, FleetSpec, SshdFleet};

const HOSTS: usize = 40;

fn is_bad(i: usize) -> bool {
    i % 5 == 2
}

fn name(i: usize) -> String {
    format!("app{:03}", i + 1)
}

/// Bad hosts are in us-east-1a four times out of eight; good ones one time in four.
fn az(i: usize) -> &'static str {
    match (is_bad(i), i % 4) {
        (true, 0 | 1) | (false, 0) => "us-east-1a",
        (_, 2) => "us-east-1b",
        _ => "us-east-1c",
    }
}

/// `/proc`-style counters: the bad hosts' queue is thousands deep, the good hosts' a dozen at
/// most, and the numbers differ from host to host, so no line of the file separates them.
fn queue(i: usize) -> String {
    let depth = if is_bad(i) { 4000 + 37 * i } else { i % 13 };
    format!(
        "pid: {}\nqueue_depth: {depth}\nworkers: 8\nstate: running\n",
        1000 + (i * 7919) % 4000
    )
}

fn spec() -> FleetSpec {
    let mut spec = FleetSpec::new(HOSTS);
    spec.name_prefix = "app".into();
    spec.files = Box::new(|i| {
        let max_conns = if is_bad(i) { 64 } else { 256 };
        vec![
            (
                "health".into(),
                if is_bad(i) { "FAIL\n" } else { "OK\n" }.into(),
            ),
            (
                "version".into(),
                if i % 4 == 1 { "2.0.9\n" } else { "2.1.0\n" }.into(),
            ),
            (
                "app.conf".into(),
                format!(
                    "# app.conf\nmax_conns={max_conns}\nlog_level=info\nworkers={}\nstarted=2026-11-{:02}T{:02}:{:02}:00Z\n",
                    4 << (i % 2),
                    1 + i % 28,
                    i % 24,
                    i
                ),
            ),
            ("queue".into(), queue(i)),
        ]
    });
    spec.dmi = Box::new(|i| {
        let bios = if is_bad(i) { "2.1.7" } else { "2.1.0" };
        vec![
            ("bios_version".into(), format!("{bios}\n")),
            ("bios_vendor".into(), "SeaBIOS\n".into()),
        ]
    });
    spec
}

/// The shared client and one session: population tests save results with `let`.
struct Fleet {
    client: Client,
    session: Session,
}

impl Fleet {
    fn new(fleet: &SshdFleet) -> Fleet {
        let toml = fleet.inventory_toml(|i| vec![("az".into(), az(i).into())]);
        let path = fleet.dir().join("shoal.toml");
        fs::write(&path, toml).expect("write the inventory");
        let client = Client::load(&path, &Overrides::default());
        Fleet {
            session: client.session(),
            client,
        }
    }

    fn query(&mut self, query: &str) -> DataFrame {
        self.client.query(&mut self.session, query)
    }

    fn hosts(&mut self, query: &str) -> Vec<String> {
        column(&self.query(query), "host")
    }
}

fn column(rows: &DataFrame, name: &str) -> Vec<String> {
    let column = rows
        .column(name)
        .unwrap_or_else(|e| panic!("no column {name}: {e}"));
    shoal_stdlib::frame::texts(column)
        .expect("the column converts to text")
        .into_iter()
        .map(|v| v.unwrap_or_default())
        .collect()
}

fn bad_hosts() -> Vec<String> {
    (0..HOSTS).filter(|i| is_bad(*i)).map(name).collect()
}

/// `input` narrowed by a printed feature: `input | filter FEATURE`, or, for a key feature,
/// which is a pipeline (`kv COL | filter ...`), `input | FEATURE`.
fn pasted(input: &str, feature: &str) -> String {
    if feature.starts_with("kv ") {
        format!("{input} | {feature}")
    } else {
        format!("{input} | filter {feature}")
    }
}

/// The top feature, checked at 100% against 0%, and the hosts it selects when pasted
/// after `input`.
fn top_feature(client: &mut Fleet, diff: &DataFrame, input: &str) -> String {
    let feature = column(diff, "feature")[0].clone();
    assert_eq!(
        (
            column(diff, "pct_a")[0].as_str(),
            column(diff, "pct_b")[0].as_str()
        ),
        ("100.0", "0.0"),
        "{feature}"
    );
    let selected = client.hosts(&pasted(input, &feature));
    assert_eq!(
        selected,
        bad_hosts(),
        "`{}` selects the bad hosts",
        pasted(input, &feature)
    );
    feature
}

#[test]
fn diff_finds_the_planted_cause_in_command_output_and_in_facts() {
    let fleet = SshdFleet::start(spec());
    let mut client = Fleet::new(&fleet);

    let input = r#"hosts | run "cat /etc/app/health" as health | run "cat /etc/app/app.conf""#;
    let diff = client.query(&format!("{input} | diff where health = FAIL"));
    assert_eq!(
        top_feature(&mut client, &diff, input),
        r#"stdout has "max_conns=64""#
    );
    let features = column(&diff, "feature");
    // The decoys rank below the cause; the line unique to each host shows only masked.
    let rank = |f: &str| features.iter().position(|x| x == f);
    assert!(
        rank("az = us-east-1a").is_some_and(|r| r > 0),
        "{features:?}"
    );
    assert!(
        features.iter().all(|f| !f.contains("started=2026")),
        "{features:?}"
    );

    let facts = "hosts | facts";
    let diff = client
        .query(r#"hosts | run "cat /etc/app/health" as health | facts | diff where health = FAIL"#);
    assert_eq!(
        top_feature(&mut client, &diff, facts),
        "bios_version = 2.1.7"
    );

    client.query(r#"let bad = hosts | run "cat /etc/app/health" | filter stdout = FAIL"#);
    client.query(r#"let good = hosts | run "cat /etc/app/health" | filter stdout = OK"#);
    let diff = client.query("hosts | facts | diff $bad $good");
    assert_eq!(
        top_feature(&mut client, &diff, facts),
        "bios_version = 2.1.7"
    );
    assert_eq!(
        column(&diff, "examples")[0],
        bad_hosts()[..3].join(", "),
        "examples are hosts from A"
    );
}

#[test]
fn diff_reads_the_numbers_in_key_value_output_without_shaping() {
    let fleet = SshdFleet::start(spec());
    let mut client = Fleet::new(&fleet);
    let input = r#"hosts | run "cat /etc/app/health" as health | run "cat /etc/app/queue""#;
    let diff = client.query(&format!("{input} | diff where health = FAIL"));
    // The threshold sits in the gap, between the good hosts' 12 and the bad hosts' 4074.
    assert_eq!(
        top_feature(&mut client, &diff, input),
        "kv stdout | filter queue_depth > 1000"
    );
    assert_eq!(column(&diff, "kind")[0], "key");
    assert_eq!(column(&diff, "range")[0], "A 4074..5369, B 0..12");
    let features = column(&diff, "feature");
    assert!(
        features[1..]
            .iter()
            .all(|f| !f.contains("queue_depth") || f.contains("[0-9]+")),
        "one queue_depth feature: {features:?}"
    );
}

#[test]
fn gather_folds_identical_output_into_nodesets() {
    let fleet = SshdFleet::start(spec());
    let mut client = Fleet::new(&fleet);
    let folded = client.query(r#"hosts | run "cat /etc/app/version" | gather"#);
    assert_eq!(column(&folded, "stdout"), ["2.1.0", "2.0.9"]);
    assert_eq!(column(&folded, "count"), ["30", "10"]);
    let odd_quarter: Vec<String> = (0..HOSTS).filter(|i| i % 4 == 1).map(name).collect();
    let expanded = shoal_stdlib::expand_nodeset(&column(&folded, "hosts")[1], Default::default())
        .expect("`hosts` is a nodeset");
    assert_eq!(expanded, odd_quarter);
}
