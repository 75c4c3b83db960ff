//! `act` against real OpenSSH hosts, with a marker file on each host to prove which hosts
//! were changed: a failing canary stops the rest, `max_fail` and a failing `verify` stop
//! the waves, dry runs and unconfirmed acts touch nothing, the blast-radius guard refuses
//! half the fleet, Ctrl-C between waves leaves the later waves untouched, and `run`'s
//! seatbelt refuses a restart but not a status.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

/// Touches the marker, then fails where the host has a `broken` file.
const ACTION: &str = "touch /etc/app/marker; test ! -e /etc/app/broken";

/// A fleet of `hosts`, `broken` ones failing the action; each host's /etc/app is writable
/// by the login user.
fn fleet(hosts: usize, broken: &'static [usize]) -> (SshdFleet, PathBuf) {
    let mut spec = FleetSpec::new(hosts);
    spec.files = Box::new(move |i| {
        if broken.contains(&i) {
            vec![("broken".into(), "1".into())]
        } else {
            Vec::new()
        }
    });
    let fleet = SshdFleet::start(spec);
    for node in fleet.hosts() {
        fs::set_permissions(&node.data_dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    let inventory = fleet.dir().join("shoal.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    (fleet, inventory)
}

fn shoal(fleet: &SshdFleet, inventory: &Path, args: &[&str]) -> Output {
    shoal_command(fleet.dir())
        .arg("--inventory")
        .arg(inventory)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The hosts (by index) that have the marker.
fn marked(fleet: &SshdFleet) -> Vec<usize> {
    (0..fleet.hosts().len())
        .filter(|&i| fleet.hosts()[i].data_dir.join("marker").exists())
        .collect()
}

fn json_rows(args: &[&str], out: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(args, out)))
}

fn statuses(rows: &[serde_json::Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_failing_canary_leaves_every_other_host_untouched() {
    let (fleet, inventory) = fleet(6, &[0]);
    let query = format!("hosts | act \"{ACTION}\"");
    let args = ["--yes", "--yes-all-hosts", "--format", "json", "-c", &query];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&args, &out));
    let rows = json_rows(&args, &out);
    assert_eq!(
        statuses(&rows),
        [
            "failed", "skipped", "skipped", "skipped", "skipped", "skipped"
        ]
    );
    assert!(
        rows[1]["error"].as_str().unwrap().contains("max_fail=0"),
        "{}",
        rows[1]
    );
    assert_eq!(marked(&fleet), [0]);
}

#[test]
fn max_fail_stops_after_the_failure_past_it_and_a_failed_verify_is_a_failure() {
    let (fleet, inventory) = fleet(8, &[0, 1, 2, 3, 4, 5, 6, 7]);
    let query = format!("hosts | act \"{ACTION}\" batch=1 max_fail=2");
    let args = ["--yes", "--yes-all-hosts", "--format", "json", "-c", &query];
    let out = shoal(&fleet, &inventory, &args);
    let rows = json_rows(&args, &out);
    assert_eq!(
        statuses(&rows),
        [
            "failed", "failed", "failed", "skipped", "skipped", "skipped", "skipped", "skipped"
        ]
    );
    assert_eq!(marked(&fleet), [0, 1, 2]);

    let (fleet, inventory) = fleet_with_no_broken(4);
    let query =
        "hosts | act \"touch /etc/app/marker\" batch=1,50% verify=\"test -e /etc/app/healthy\"";
    let args = ["--yes", "--yes-all-hosts", "--format", "json", "-c", query];
    let out = shoal(&fleet, &inventory, &args);
    let rows = json_rows(&args, &out);
    assert_eq!(
        statuses(&rows),
        ["verify_failed", "skipped", "skipped", "skipped"]
    );
    assert_eq!(marked(&fleet), [0]);
}

fn fleet_with_no_broken(hosts: usize) -> (SshdFleet, PathBuf) {
    fleet(hosts, &[])
}

#[test]
fn dry_runs_and_unconfirmed_acts_touch_no_host() {
    let (fleet, inventory) = fleet(4, &[]);
    let query = format!("hosts | act \"{ACTION}\" batch=1,50%");
    // The plan, and nothing contacted.
    let args = [
        "--dry-run",
        "--yes-all-hosts",
        "--format",
        "json",
        "-c",
        &query,
    ];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    let rows = json_rows(&args, &out);
    let waves: Vec<u64> = rows.iter().map(|r| r["wave"].as_u64().unwrap()).collect();
    assert_eq!(waves, [1, 2, 2, 3]);
    assert_eq!(rows[0]["command"], ACTION);
    // No terminal and no --yes: refused before anything runs.
    let args = ["--yes-all-hosts", "-c", &query];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--yes"),
        "{}",
        describe(&args, &out)
    );
    // Half the fleet and more: the blast-radius guard, also before anything runs.
    let args = ["--yes", "-c", &query];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("would change 4 hosts") && stderr.contains("--yes-all-hosts"),
        "{stderr}"
    );
    assert_eq!(marked(&fleet), Vec::<usize>::new());
    for i in 0..4 {
        assert_eq!(fleet.accepted_connections(i), 0, "host {i} was contacted");
    }
    // Within the limit, it runs: two of four hosts is not more than half.
    let query = format!("hosts | head 2 | act \"{ACTION}\" batch=1");
    let args = ["--yes", "--format", "json", "-c", &query];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    assert_eq!(marked(&fleet), [0, 1]);
    // The job's record says what was planned and how it was confirmed.
    let args = ["audit", "--format", "json"];
    let out = shoal(&fleet, &inventory, &args);
    let audit = json_rows(&args, &out);
    let notes = audit.last().unwrap()["notes"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        notes.contains("2 hosts") && notes.contains("--yes"),
        "{notes}"
    );
}

#[test]
fn ctrl_c_between_waves_leaves_the_later_waves_untouched() {
    let (fleet, inventory) = fleet(6, &[]);
    let query = format!("hosts | act \"{ACTION}\" batch=1 pause=3s");
    let child = shoal_command(fleet.dir())
        .arg("--inventory")
        .arg(&inventory)
        .args(["--yes", "--yes-all-hosts", "--format", "json", "-c", &query])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while marked(&fleet).is_empty() {
        assert!(Instant::now() < deadline, "the canary never acted");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The canary's wave is done well inside the 3 s pause.
    std::thread::sleep(Duration::from_millis(800));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        describe(&[&query], &out)
    );
    assert_eq!(marked(&fleet), [0]);
    let rows = json_rows(&[&query], &out);
    assert_eq!(statuses(&rows)[1..], ["skipped"; 5]);
    assert!(
        rows[1]["error"].as_str().unwrap().contains("Ctrl-C"),
        "{}",
        rows[1]
    );
}

#[test]
fn the_seatbelt_refuses_a_restart_on_the_read_path_but_not_a_status() {
    let (fleet, inventory) = fleet(2, &[]);
    let args = ["-c", "hosts | run \"systemctl restart app\""];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("act"),
        "{}",
        describe(&args, &out)
    );
    assert_eq!(fleet.accepted_connections(0), 0);
    let args = [
        "--format",
        "json",
        "-c",
        "hosts | run \"systemctl status app; true\"",
    ];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    let args = [
        "--force-run",
        "--format",
        "json",
        "-c",
        "hosts | run \"rm -f /etc/app/nothing\"",
    ];
    let out = shoal(&fleet, &inventory, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
}
