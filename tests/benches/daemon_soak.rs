//! The daemon soak: `shoal daemon` on a fleet of real sshd servers with a short interval,
//! for a long while, its resident memory and open file descriptors sampled from /proc at a
//! fixed period. A daemon that leaks (rows, connections, notify processes, store handles)
//! shows it here as a line that keeps climbing after warm-up.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/daemon-soak.sh`; it asserts only
//! that the daemon stayed up and ticked, and writes the samples as a Markdown table.
//!
//! The fleet: every tenth host fails its health check, so the alarm fires there (with a
//! correlation, seeded by a `bios` file) and a bot acts on those hosts until its breaker
//! trips, and `notify` runs on every event: each part of a tick is exercised, not only the
//! query.
//!
//! Settings: `HOSTS` (200), `INTERVAL` (1s), `DURATION` (600 s), `SAMPLE` (10 s), `BENCH_OUT`.

use std::fmt::Write as _;
use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, SshdFleet, shoal_command};

/// Resident memory in KiB and open descriptors of `pid`, from /proc.
fn sample(pid: u32) -> Option<(u64, usize)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((rss, fds))
}

#[test]
#[ignore = "a soak: run it with bench/daemon-soak.sh"]
fn the_daemon_stays_flat_over_time() {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let seconds = |name: &str, default: &str| {
        shoal_lang::parse_duration(&env(name, default)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let hosts: usize = env("HOSTS", "200").parse().expect("HOSTS is a number");
    let interval = env("INTERVAL", "1s");
    let (duration, period) = (seconds("DURATION", "600s"), seconds("SAMPLE", "10s"));
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| {
            let failing = i % 10 == 3;
            vec![
                ("health".into(), if failing { "FAIL" } else { "OK" }.into()),
                (
                    "bios".into(),
                    if failing { "2.1.7" } else { "2.3.0" }.into(),
                ),
            ]
        }),
        ..FleetSpec::new(hosts)
    });
    for node in fleet.hosts() {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&node.data_dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    let dir = fleet.dir();
    fs::write(dir.join("shoal.toml"), fleet.inventory_toml(|_| Vec::new())).unwrap();
    let config = dir.join("soak.shoal");
    fs::write(
        &config,
        format!(
            "alarm health every {interval} fire_after=2 clear_after=2\n  query hosts | run \"cat /etc/app/bios\" as bios | run \"cat /etc/app/health\" as health\n  when health != OK\n  notify \"cat > /dev/null\"\n\nbot fixer on health\n  act \"echo x >> /etc/app/acted\" batch=100%\n  limit 3 per 1h\n"
        ),
    )
    .unwrap();
    let log = dir.join("daemon.log");
    let mut child = shoal_command(dir)
        .arg("--inventory")
        .arg(dir.join("shoal.toml"))
        .arg("daemon")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() <= duration {
        let at = started.elapsed();
        let Some((rss, fds)) = sample(pid) else {
            panic!(
                "the daemon exited:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        };
        eprintln!("{:>5.0} s  rss {rss} KiB  fds {fds}", at.as_secs_f64());
        samples.push((at, rss, fds));
        std::thread::sleep(period.saturating_sub(started.elapsed() - at));
    }
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let log = fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{log}");
    let store = rusqlite::Connection::open(dir.join(".shoal/shoal.db")).unwrap();
    let ticks: i64 = store
        .query_row("SELECT count(*) FROM daemon_ticks", [], |r| r.get(0))
        .unwrap();
    assert!(ticks > 0, "no tick:\n{log}");

    // Warm-up is the first minute (or the first third of a shorter run): connections
    // open, the breaker trips, SQLite's cache fills.
    let warm = Duration::from_secs(60).min(duration / 3);
    let after: Vec<_> = samples.iter().filter(|(at, ..)| *at >= warm).collect();
    let spread = |pick: fn(&&(Duration, u64, usize)) -> u64| {
        let values: Vec<u64> = after.iter().map(pick).collect();
        (
            values.iter().min().copied().unwrap_or(0),
            values.iter().max().copied().unwrap_or(0),
        )
    };
    let (rss_min, rss_max) = spread(|s| s.1);
    let (fds_min, fds_max) = spread(|s| s.2 as u64);
    let mut report = format!(
        "Daemon soak: {hosts} hosts, every {interval}, {} s, sampled every {} s; {ticks} ticks.\n\
         After warm-up ({} s): RSS {rss_min}..{rss_max} KiB, fds {fds_min}..{fds_max}.\n\n\
         | t (s) | RSS (KiB) | fds |\n|---:|---:|---:|\n",
        duration.as_secs(),
        period.as_secs(),
        warm.as_secs()
    );
    for (at, rss, fds) in &samples {
        let _ = writeln!(report, "| {:.0} | {rss} | {fds} |", at.as_secs_f64());
    }
    println!("{report}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        fs::write(out, report).unwrap();
    }
}
