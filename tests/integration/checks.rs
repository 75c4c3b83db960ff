//! The catalog of checks (issue 17) against real OpenSSH hosts, each in its own mount
//! namespace, where faults are planted the way they happen or the way lxcfs shows them:
//!
//! - a full disk: a 1 MiB tmpfs with 64 inodes mounted over the host's /etc/app and filled;
//! - a skewed clock: a `date` that runs 300 s ahead;
//! - an unreachable host: stopped, and a slow one: behind a proxy that delays its packets;
//! - a sick host: its own /proc files (load, uptime, memory, OOM kills, taint, file
//!   handles), a `uname` of another kernel, a `timedatectl` that says unsynced, an `ip`
//!   with no route, an /etc/resolv.conf without nameserver, /etc/hosts without its name,
//!   another sshd_config, a newer openssl in its dpkg database, an older BIOS, 30 zombies,
//!   /etc/app read-only and a certificate that expires tomorrow.
//!
//! Every check fails on exactly the hosts planted for it and passes on the others, and the
//! stopped host is never `pass`. Beside: `assert` exits 1 naming the hosts, a param of the
//! wrong type exits 2 before any host is contacted, and a broken check file is reported with
//! its file and line while the rest still runs.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::SocketAddrV4;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::{DelayProxy, FleetSpec, SshdFleet, describe, shoal_command};

const HOSTS: usize = 7;
const FULL_DISK: usize = 1;
const SKEWED: usize = 2;
const DOWN: usize = 3;
const SICK: usize = 4;
/// Healthy, but for the time-limit check reached through a proxy that adds 1.2 s of
/// round trip.
const SLOW: usize = 6;

/// The machine's dpkg database with openssl one version ahead: a rollout that reached one
/// host.
fn bumped_openssl() -> String {
    let status = fs::read_to_string("/var/lib/dpkg/status").expect("this machine runs dpkg");
    let mut out = String::new();
    let mut in_openssl = false;
    for line in status.lines() {
        if line.starts_with("Package: ") {
            in_openssl = line == "Package: openssl";
        }
        match line.strip_prefix("Version: ") {
            Some(version) if in_openssl => out.push_str(&format!("Version: {version}+shoal1\n")),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// /proc/vmstat as the machine has it, with `oom_kill` set to `kills`.
fn vmstat(kills: u32) -> String {
    let real = fs::read_to_string("/proc/vmstat").expect("/proc/vmstat");
    real.lines()
        .map(|line| match line.split_once(' ') {
            Some(("oom_kill", _)) => format!("oom_kill {kills}\n"),
            _ => format!("{line}\n"),
        })
        .collect()
}

fn meminfo(available_kb: u64) -> String {
    format!(
        "MemTotal:       16000000 kB\nMemFree:         {available_kb} kB\nMemAvailable:   {available_kb} kB\n"
    )
}

/// Every host's own files: healthy ones the same load, uptime, memory and taint (so the
/// test does not depend on how busy this machine is), the sick one its faults.
fn overlays(i: usize) -> Vec<(String, String)> {
    let file = |path: &str, text: String| (path.to_string(), text);
    let name = format!("web{:03}", i + 1);
    let mut overlays = vec![
        file("/proc/sys/kernel/tainted", "0\n".into()),
        file("/proc/vmstat", vmstat(0)),
        file("/proc/meminfo", meminfo(8_000_000)),
        file("/proc/loadavg", "0.50 0.40 0.30 1/120 4242\n".into()),
        file("/proc/uptime", "86400.00 160000.00\n".into()),
        file("/usr/bin/timedatectl", "#!/bin/sh\necho yes\n".into()),
        file(
            "/etc/hosts",
            format!("127.0.0.1 localhost\n127.0.1.1 {name}\n127.0.0.1 shoal-dep.test\n"),
        ),
    ];
    match i {
        SKEWED => overlays.push(file(
            "/usr/bin/date",
            "#!/bin/sh\nexec {original} -d \"300 seconds\" \"$@\"\n".into(),
        )),
        SICK => {
            overlays = vec![
                file("/proc/sys/kernel/tainted", "4096\n".into()),
                file("/proc/vmstat", vmstat(3)),
                file("/proc/meminfo", meminfo(300_000)),
                file("/proc/loadavg", "50.00 50.00 50.00 9/900 4321\n".into()),
                file("/proc/uptime", "120.00 200.00\n".into()),
                file("/proc/sys/fs/file-nr", "950\t0\t1000\n".into()),
                file(
                    "/usr/bin/uname",
                    "#!/bin/sh\nif [ \"$1\" = -r ]; then echo 5.10.0-shoal-old; else exec {original} \"$@\"; fi\n"
                        .into(),
                ),
                file("/usr/bin/timedatectl", "#!/bin/sh\necho no\n".into()),
                file("/usr/sbin/ip", "#!/bin/sh\nexit 0\n".into()),
                file("/etc/resolv.conf", "# no nameserver\n".into()),
                file("/etc/hosts", "127.0.0.1 localhost\n".into()),
                file("/etc/ssh/sshd_config", "# edited by hand\nPort 22\n".into()),
                file("/var/lib/dpkg/status", bumped_openssl()),
            ];
        }
        _ => {}
    }
    overlays
}

/// A self-signed certificate valid for `days`, in PEM.
fn certificate(path: &Path, days: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes",
            "-keyout",
            "/dev/null",
            "-subj",
            "/CN=shoal-test",
            "-days",
        ])
        .arg(days.to_string())
        .arg("-out")
        .arg(path)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A disk limit the machine's own filesystems are under, and a full one is not: 90%, or
/// one point above the fullest of them, at most 100.
fn disk_limit() -> u32 {
    let out = Command::new("df")
        .args(["-P", "-l"])
        .output()
        .expect("df runs");
    let fullest = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| {
            line.split_whitespace()
                .nth(4)?
                .trim_end_matches('%')
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0);
    (fullest + 1).clamp(90, 100)
}

/// The fleet with its faults planted, and its inventory's path.
fn planted_fleet() -> (SshdFleet, String) {
    let mut spec = FleetSpec::new(HOSTS);
    spec.overlays = Box::new(overlays);
    spec.dmi = Box::new(|i| {
        let version = if i == SICK { "0.9\n" } else { "1.0\n" };
        vec![("bios_version".into(), version.into())]
    });
    let mut fleet = SshdFleet::start(spec);
    for i in 0..HOSTS {
        let days = if i == SICK { 1 } else { 3650 };
        certificate(&fleet.hosts()[i].data_dir.join("tls/server.pem"), days);
    }
    fleet.run_on_host(
        FULL_DISK,
        "mount -t tmpfs -o size=1m,nr_inodes=64 tmpfs /etc/app && \
         dd if=/dev/zero of=/etc/app/fill bs=64k 2>/dev/null; \
         i=0; while [ $i -lt 70 ]; do { : > /etc/app/f$i; } 2>/dev/null; i=$((i + 1)); done",
    );
    fleet.run_on_host(SICK, "mount -o remount,bind,ro /etc/app");
    fleet.run_on_host(
        SICK,
        "perl -e 'for (1..30) { fork or exit } sleep 600' >/dev/null 2>&1 &",
    );
    fleet.stop_host(DOWN);
    let inventory = fleet.dir().join("shoal.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let inventory = inventory.to_str().unwrap().to_string();
    (fleet, inventory)
}

/// Runs shoal on the fleet with `args`, expecting exit `code`.
fn shoal(fleet: &SshdFleet, inventory: &str, args: &[&str], code: i32) -> Output {
    let mut all = vec!["--inventory", inventory];
    all.extend(args);
    let out = shoal_command(fleet.dir()).args(&all).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", describe(&all, &out));
    out
}

/// Each check's hosts by status, from `shoal check --format json`.
type Verdicts = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn verdicts(out: &Output) -> Verdicts {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<serde_json::Value> = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let mut verdicts = Verdicts::new();
    for row in rows {
        let text = |key: &str| row[key].as_str().unwrap_or_default().to_string();
        verdicts
            .entry(text("check"))
            .or_default()
            .entry(text("status"))
            .or_default()
            .insert(text("host"));
    }
    verdicts
}

fn names(hosts: &[usize]) -> BTreeSet<String> {
    hosts.iter().map(|i| format!("web{:03}", i + 1)).collect()
}

/// Every host passes `id`, but those in `failing` (fail) and the stopped host (unknown, or
/// fail for the liveness checks that ask whether it answers).
fn expect_failing(verdicts: &Verdicts, id: &str, failing: &[usize], out: &Output) {
    let got = verdicts
        .get(id)
        .unwrap_or_else(|| panic!("no rows for {id}: {}", describe(&[], out)));
    // The liveness checks that ask exactly that fail it; the rest do not know.
    let down = if ["SHOAL-0001", "SHOAL-0002"].contains(&id) {
        "fail"
    } else {
        "unknown"
    };
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for host in 0..HOSTS {
        let status = match host {
            DOWN => down,
            _ if failing.contains(&host) => "fail",
            _ => "pass",
        };
        expected
            .entry(status.to_string())
            .or_default()
            .extend(names(&[host]));
    }
    assert_eq!(
        got,
        &expected,
        "{id}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn each_check_fails_on_exactly_the_planted_hosts_and_the_stopped_host_never_passes() {
    let (mut fleet, inventory) = planted_fleet();
    let reachable: Vec<usize> = (0..HOSTS).filter(|&i| i != DOWN).collect();

    // The whole catalog with its defaults, but for the disk limits: the healthy hosts' disks
    // (/ and /tmp) are this machine's, which a busy CI machine may well have over 90% full.
    let disk = format!("max_disk_pct={}", disk_limit());
    let tmp = format!("max_tmp_pct={}", disk_limit());
    let out = shoal(
        &fleet,
        &inventory,
        &[
            "check", "--param", &disk, "--param", &tmp, "--format", "json",
        ],
        1,
    );
    let got = verdicts(&out);
    assert_eq!(got.len(), 26, "{got:?}");
    for (id, failing) in [
        ("SHOAL-0001", &[][..]),
        ("SHOAL-0002", &[]),
        ("SHOAL-0003", &[SICK]),
        ("SHOAL-0004", &[FULL_DISK]),
        ("SHOAL-0005", &[FULL_DISK]),
        ("SHOAL-0006", &[]),
        ("SHOAL-0007", &[SKEWED]),
        ("SHOAL-0008", &[SICK]),
        ("SHOAL-0009", &[SICK]),
        ("SHOAL-0010", &[SICK]),
        ("SHOAL-0011", &[SICK]),
        ("SHOAL-0012", &[SICK]),
        ("SHOAL-0013", &[SICK]),
        ("SHOAL-0014", &[]),
        ("SHOAL-0015", &[]),
        ("SHOAL-0016", &[SICK]),
        ("SHOAL-0017", &[]),
        ("SHOAL-0018", &[SICK]),
        ("SHOAL-0019", &[SICK]),
        // Nothing listens on 127.0.0.1:22 here: every host that answers fails it.
        ("SHOAL-0020", &reachable),
        ("SHOAL-0021", &[SICK]),
        ("SHOAL-0022", &[SICK]),
        ("SHOAL-0023", &[SICK]),
        ("SHOAL-0024", &[SICK]),
        ("SHOAL-0025", &[SICK]),
        ("SHOAL-0026", &[SICK]),
    ] {
        expect_failing(&got, id, failing, &out);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("26 checks on 7 hosts"), "{stderr}");
    assert!(
        stderr.contains(
            "SHOAL-0004 No local filesystem is nearly full on web002\n    fix: Find what grew"
        ),
        "{stderr}"
    );

    // One level, and the catalog as a source.
    let out = shoal(
        &fleet,
        &inventory,
        &["check", "liveness", "--format", "json"],
        1,
    );
    assert_eq!(
        verdicts(&out).keys().collect::<Vec<_>>(),
        ["SHOAL-0001", "SHOAL-0002", "SHOAL-0003"]
    );
    let out = shoal(
        &fleet,
        &inventory,
        &[
            "-c",
            "checks | filter level = anomaly | count",
            "--format",
            "json",
        ],
        0,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[{\"count\":5}]"
    );

    // The checks whose defaults find nothing planted here, pointed at what is; and a host
    // 1.2 s of round trip away, behind a delaying proxy, for the time limit.
    let node = fleet.hosts()[SLOW].clone();
    let proxy = DelayProxy::start(
        SocketAddrV4::new(node.addr, 0),
        SocketAddrV4::new(node.addr, node.port),
        Duration::from_millis(600),
    );
    fleet.route_through(SLOW, proxy.addr());
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let web001 = fleet.hosts()[0].addr.to_string();
    let out = shoal(
        &fleet,
        &inventory,
        &[
            "check",
            "SHOAL-0002",
            "SHOAL-0006",
            "SHOAL-0014",
            "SHOAL-0015",
            "SHOAL-0017",
            "SHOAL-0020",
            "--param",
            "max_time=800ms",
            "--param",
            "mount=/etc/app",
            "--param",
            "dirs=/etc/app/tls",
            "--param",
            "tmp_dir=/etc/app",
            "--param",
            &tmp,
            "--param",
            "name=shoal-dep.test",
            "--param",
            &format!("host={web001}"),
            "--param",
            "port=22",
            // A handshake is about seven round trips through the proxy.
            "--connect-timeout",
            "60s",
            "--format",
            "json",
        ],
        1,
    );
    let got = verdicts(&out);
    expect_failing(&got, "SHOAL-0002", &[SLOW], &out);
    expect_failing(&got, "SHOAL-0006", &[SICK], &out);
    expect_failing(&got, "SHOAL-0014", &[SICK], &out);
    expect_failing(&got, "SHOAL-0015", &[FULL_DISK], &out);
    expect_failing(&got, "SHOAL-0017", &[SICK], &out);
    expect_failing(&got, "SHOAL-0020", &[], &out);
}

/// A small fleet for the stages and errors around checks: two hosts, the second stopped.
fn small_fleet() -> (SshdFleet, String) {
    let mut spec = FleetSpec::new(3);
    spec.files = Box::new(|i| vec![("use".into(), format!("{}\n", [40, 97, 50][i]))]);
    let mut fleet = SshdFleet::start(spec);
    fleet.stop_host(2);
    let inventory = fleet.dir().join("shoal.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let inventory = inventory.to_str().unwrap().to_string();
    (fleet, inventory)
}

#[test]
fn assert_exits_1_naming_the_hosts_and_printing_their_rows() {
    let (fleet, inventory) = small_fleet();
    let query =
        "hosts | run \"cat /etc/app/use\" as use | assert use < 90 message=\"disk above 90%\"";
    let out = shoal(&fleet, &inventory, &["-c", query], 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "error: assert failed on 2 hosts: web[002-003]: disk above 90% (2 of 3 rows)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("allow_unreachable=true"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("web002") && stdout.contains("97"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unreachable") && !stdout.contains("web001"),
        "{stdout}"
    );
    // Holding, it passes its rows on; the stopped host is let through only when asked.
    let query = "hosts web[001-002] | run \"cat /etc/app/use\" as use | assert use <= 97 | count";
    shoal(&fleet, &inventory, &["-c", query], 0);
    let query =
        "hosts | run \"cat /etc/app/use\" as use | assert use <= 97 allow_unreachable=true | count";
    // Exit 1 still: a host did not end `ok`.
    let out = shoal(&fleet, &inventory, &["-c", query, "--format", "json"], 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[{\"count\":3}]"
    );
}

#[test]
fn a_param_of_the_wrong_type_exits_2_before_any_host_is_contacted() {
    let (fleet, inventory) = small_fleet();
    let script = fleet.dir().join("disk.shoal");
    fs::write(
        &script,
        "# disk.shoal\nparam threshold: int = 90\nparam hosts: pattern = web[001-002]\n\
         hosts $hosts | run \"cat /etc/app/use\" as use | assert use < $threshold\n",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let out = shoal(
        &fleet,
        &inventory,
        &["run", script, "--param", "threshold=abc"],
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: param threshold expects int, got 'abc'"),
        "{stderr}"
    );
    assert!(stderr.contains("disk.shoal:2:18"), "{stderr}");
    assert!(stderr.contains("2 | param threshold: int = 90"), "{stderr}");
    let out = shoal(
        &fleet,
        &inventory,
        &["run", script, "--param", "treshold=80"],
        2,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean 'threshold'?"),
        "{}",
        describe(&[], &out)
    );
    assert_eq!(fleet.accepted_connections(0), 0, "no host was contacted");
    assert_eq!(fleet.accepted_connections(1), 0, "no host was contacted");
    // --help lists the params; a good value runs, and the assert fails on web002.
    let out = shoal(&fleet, &inventory, &["run", script, "--help"], 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("  threshold  int       90\n"), "{stdout}");
    assert!(
        stdout.contains("  hosts      pattern   web[001-002]\n"),
        "{stdout}"
    );
    let out = shoal(
        &fleet,
        &inventory,
        &["run", script, "--param", "threshold=95"],
        1,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("assert failed on web002"));
    shoal(
        &fleet,
        &inventory,
        &["run", script, "--param", "threshold=98"],
        0,
    );
}

#[test]
fn broken_check_files_are_reported_with_file_and_line_and_the_rest_still_runs() {
    let (fleet, inventory) = small_fleet();
    let dir = fleet.dir().join("my-checks");
    fs::create_dir_all(&dir).unwrap();
    let header = |id: &str, level: &str| {
        format!("# id: {id}\n# title: t\n# level: {level}\n# why: w w\n# source: s\n# fix: f f\n")
    };
    let good = format!(
        "{}param max: int = 90\nhosts | run \"cat /etc/app/use\" as use | assert use < $max\n",
        header("SHOAL-9001", "local")
    );
    fs::write(dir.join("a-good.shoal"), &good).unwrap();
    fs::write(dir.join("b-duplicate.shoal"), &good).unwrap();
    fs::write(dir.join("c-level.shoal"), header("SHOAL-9003", "locl")).unwrap();
    fs::write(dir.join("d-no-id.shoal"), "# title: t\nhosts | count\n").unwrap();
    fs::write(
        dir.join("e-syntax.shoal"),
        format!(
            "{}hosts | run \"true\" | asert status = ok\n",
            header("SHOAL-9005", "liveness")
        ),
    )
    .unwrap();
    let dir = dir.to_str().unwrap();
    let out = shoal(
        &fleet,
        &inventory,
        &["check", "--dir", dir, "--format", "json"],
        1,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "error: SHOAL-9001 is also the id of",
        "b-duplicate.shoal:1:1",
        "error: unknown level `locl`",
        "c-level.shoal:3:1",
        "did you mean 'local'?",
        "error: the header has no `id`",
        "d-no-id.shoal:1:1",
        "error: unknown stage `asert`",
        "e-syntax.shoal:7:",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    let got = verdicts(&out);
    let good = &got["SHOAL-9001"];
    assert_eq!(good["pass"], names(&[0]));
    assert_eq!(good["fail"], names(&[1]));
    assert_eq!(good["unknown"], names(&[2]));
    // Each check ran as a job of its own in the job store.
    let out = shoal(
        &fleet,
        &inventory,
        &["-c", "jobs | count", "--format", "json"],
        0,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[{\"count\":1}]"
    );
    // Unknown selectors and params, before any host is asked.
    let out = shoal(&fleet, &inventory, &["check", "locl"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 'local'?"));
    let out = shoal(&fleet, &inventory, &["check", "SHOAL-0O04"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 'SHOAL-0004'?"));
    let out = shoal(
        &fleet,
        &inventory,
        &["check", "local", "--param", "max_dsk_pct=5"],
        2,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean 'max_disk_pct'?"));
    let out = shoal(
        &fleet,
        &inventory,
        &["check", "local", "--param", "max_disk_pct=most"],
        2,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: param max_disk_pct expects int, got 'most'"),
        "{stderr}"
    );
    assert!(stderr.contains("checks/disk-space.shoal:"), "{stderr}");
}
