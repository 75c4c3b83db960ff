//! The one-query diagnosis of issue 23, against real OpenSSH hosts whose failing ones
//! differ from the rest in one thing only: a package version (their own dpkg database), a
//! sysctl file under /etc, or one file's content. In each case
//! `hosts | facts | run "cat /etc/app/health" as health | diff where health = FAIL`
//! names that thing on its top row with `q < 0.05`. Where the failing hosts are picked at
//! random, no row has `q < 0.05` and diff says that nothing separates them beyond chance.

use std::fs;

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

const HOSTS: usize = 16;
/// The failing hosts of the planted scenarios.
const FAILING: [usize; 4] = [1, 6, 9, 14];

enum Planted {
    /// One package's version in the failing hosts' own dpkg database.
    Package,
    /// The sysctl file under /etc, edited on the failing hosts.
    Sysctl,
    /// One file's content (`/etc/app/app.conf`).
    File,
    /// Nothing: every host is the same, and the failing ones are picked at random.
    Nothing,
}

/// dpkg's database with the first package's version bumped: what `apt-get install` of a
/// newer build would leave. Returns the database and the `name=version` it now says.
fn bumped_dpkg_status() -> (String, String) {
    let status = fs::read_to_string("/var/lib/dpkg/status").expect("this machine runs dpkg");
    let name = status
        .lines()
        .find_map(|l| l.strip_prefix("Package: "))
        .expect("a package")
        .to_string();
    let mut bumped = String::new();
    let mut in_first = true;
    let mut version = String::new();
    for line in status.lines() {
        match line.strip_prefix("Version: ") {
            Some(v) if in_first => {
                version = format!("{v}+shoal1");
                bumped.push_str(&format!("Version: {version}\n"));
                in_first = false;
            }
            _ => {
                bumped.push_str(line);
                bumped.push('\n');
            }
        }
    }
    (bumped, format!("{name}={version}"))
}

/// Runs the diagnosis on a fleet with `planted` on the hosts for which `failing` holds;
/// returns the rows of the diff (from `--format json`) and shoal's stderr.
fn diagnose(planted: Planted, failing: fn(usize) -> bool) -> (Vec<serde_json::Value>, String) {
    let mut spec = FleetSpec::new(HOSTS);
    spec.files = Box::new(move |i| {
        let health = if failing(i) { "FAIL\n" } else { "OK\n" };
        vec![
            ("health".into(), health.into()),
            ("app.conf".into(), "max_conns=1024\n".into()),
        ]
    });
    let (status, _) = bumped_dpkg_status();
    spec.overlays = match planted {
        Planted::Package => Box::new(move |i| {
            if failing(i) {
                vec![("/var/lib/dpkg/status".into(), status.clone())]
            } else {
                Vec::new()
            }
        }),
        Planted::Sysctl => Box::new(move |i| {
            if failing(i) {
                vec![("/etc/sysctl.conf".into(), "vm.swappiness = 1\n".into())]
            } else {
                Vec::new()
            }
        }),
        Planted::File | Planted::Nothing => Box::new(|_| Vec::new()),
    };
    if let Planted::File = planted {
        spec.files = Box::new(move |i| {
            let (health, conf) = if failing(i) {
                ("FAIL\n", "max_conns=64\n")
            } else {
                ("OK\n", "max_conns=1024\n")
            };
            vec![
                ("health".into(), health.into()),
                ("app.conf".into(), conf.into()),
            ]
        });
    }
    let fleet = SshdFleet::start(spec);
    let inventory = fleet.dir().join("shoal.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let query = "hosts | facts etc=/etc/app/app.conf,/etc/sysctl.conf | \
                 run \"cat /etc/app/health\" as health | diff where health = FAIL";
    let args = [
        "--inventory",
        inventory.to_str().unwrap(),
        "--format",
        "json",
        "-c",
        query,
    ];
    let out = shoal_command(fleet.dir()).args(args).output().unwrap();
    assert!(out.status.code() == Some(0), "{}", describe(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (rows, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn planted_failing(i: usize) -> bool {
    FAILING.contains(&i)
}

/// The top row names `says`, beyond chance, on every failing host and no other, and no
/// volatile fact ranks above it. The harness plants a file by bind-mounting it, which the
/// `mounts` family rightly sees: such a mount line may tie with the planted feature, and
/// sorts before it by name; nothing else may come first.
fn assert_top_row(rows: &[serde_json::Value], says: &str) {
    let at = rows
        .iter()
        .position(|r| r["feature"].as_str().unwrap().contains(says))
        .unwrap_or_else(|| panic!("no row names {says}: {rows:#?}"));
    for above in &rows[..at] {
        let feature = above["feature"].as_str().unwrap();
        assert!(
            feature.starts_with("mounts has \"") && above["q"] == rows[at]["q"],
            "{above} ranks above {}",
            rows[at]
        );
    }
    let top = &rows[at];
    let q = top["q"].as_f64().unwrap();
    assert!(q < 0.05, "q {q} of {top}");
    assert_eq!(top["count_a"], FAILING.len(), "{top}");
    assert_eq!(top["count_b"], 0, "{top}");
}

#[test]
fn a_package_version_on_the_failing_hosts_is_the_top_row() {
    let (_, name_version) = bumped_dpkg_status();
    let (rows, _) = diagnose(Planted::Package, planted_failing);
    assert_top_row(&rows, &format!("packages has \"{name_version}\""));
    // One row says the change: the new version on A, the old on B.
    let (name, version) = name_version.split_once('=').unwrap();
    let old = version.trim_end_matches("+shoal1");
    let row = rows
        .iter()
        .find(|r| r["feature"].as_str().unwrap().contains(&name_version))
        .unwrap();
    assert_eq!(
        row["range"],
        format!("packages: {name} {version} on 4/4 of A, {old} on 12/12 of B").as_str()
    );
}

#[test]
fn a_sysctl_file_edited_on_the_failing_hosts_is_the_top_row() {
    let (rows, _) = diagnose(Planted::Sysctl, planted_failing);
    assert_top_row(&rows, "/etc/sysctl.conf=");
}

#[test]
fn one_file_changed_on_the_failing_hosts_is_the_top_row() {
    let (rows, _) = diagnose(Planted::File, planted_failing);
    assert_top_row(&rows, "/etc/app/app.conf=");
}

#[test]
fn failing_hosts_picked_at_random_are_said_to_differ_by_nothing_beyond_chance() {
    // Identical hosts; "failing" ones spread over the inventory, so that they follow
    // nothing, not even the order in which shoal contacts hosts (the first answer
    // sooner, which `clock_skew_err_ms` shows).
    fn random(i: usize) -> bool {
        [1, 5, 8, 12, 15].contains(&i)
    }
    let (rows, stderr) = diagnose(Planted::Nothing, random);
    for row in &rows {
        let q = row["q"].as_f64().unwrap();
        assert!(q >= 0.05, "{row} is called beyond chance");
    }
    assert!(
        stderr.contains("nothing separates the 5 rows of A from the 11 of B beyond chance"),
        "{stderr}"
    );
}
