//! The scale benchmark: `hosts | run "cat /etc/app/version"` on 1,000, 5,000 and 10,000
//! simulated hosts (bench/simfleet: real SSH handshakes, a fake shell, all hosts in one
//! process apart from shoal's), reporting per fleet size the cold and warm wall time and
//! shoal's CPU, peak RSS and peak open files per host, as a Markdown table.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/scale.sh`, and it never asserts on
//! a time or a size. A size whose hosts did not all answer `ok` with their own version gets
//! a FAILED row with the reason; the benchmark itself fails only when it cannot run.
//!
//! Settings (bench/scale.sh sets them):
//! - `SIZES` ("1000 5000 10000"): the fleet sizes, `RUNS` (3) runs of each measurement;
//! - `FANOUT`: shoal's `--fanout` (default: shoal's own, as a user runs it);
//! - `SHOAL_BIN`, `SIMFLEET_BIN`: the binaries (default: this build's shoal, and simfleet
//!   beside it);
//! - `REAL_SSHD` (0): when N > 0, also N real sshd hosts (tests/support), measured alike;
//! - `BENCH_OUT`: a file for the report, besides stdout; `SHOAL_REV`: the revision measured.
//!
//! How each figure is taken, per size (medians over the runs):
//! - **cold**: the wall time of a fresh `shoal -c QUERY` process, start to exit;
//! - **warm**: one process runs the query twice; the second summary line's time, over the
//!   first query's pooled connections and persistent shells;
//! - **CPU/host**: user+sys of the cold process (wait4's rusage) over the hosts; **warm
//!   CPU/host**: what the two-query process used after its first summary line (the warm
//!   query and the exit), over the hosts;
//! - **RSS/host**: the two-query process's peak RSS (wait4's ru_maxrss) over the hosts, and
//!   the same less the RSS of `hosts | count` on the same inventory (shoal with the fleet
//!   loaded and nothing connected): what each connected host adds;
//! - **fds/host**: the most descriptors the cold process had open (/proc/PID/fd every
//!   10 ms) over the hosts;
//! - **server CPU/host**: the simulated fleet's CPU during the cold run, for scale (on this
//!   machine the servers share the client's cores).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{self, FleetSpec, SshdFleet};

const QUERY: &str = r#"hosts | run "cat /etc/app/version""#;

/// Kills a shoal run that has not finished: 10,000 cold hosts take about a minute here.
const RUN_DEADLINE: Duration = Duration::from_secs(900);

/// How long the simulated fleet may take to generate its keys and listen.
const START_DEADLINE: Duration = Duration::from_secs(120);

/// How long to wait for the fleet to drop a finished run's connections.
const SETTLE_DEADLINE: Duration = Duration::from_secs(60);

/// The pause between runs on real sshd, whose teardown of 1,000 sessions takes about a
/// second of both cores.
const REAL_SSHD_PAUSE: Duration = Duration::from_secs(5);

/// Descriptors shoal may need beyond one per host (its store, stdio, the runtime's own).
const SPARE_FDS: u64 = 1024;

/// What host `i` (0-based) answers, on both fleets.
fn version(i: usize) -> String {
    format!("1.{i}.0")
}

struct Settings {
    sizes: Vec<usize>,
    runs: usize,
    fanout: Option<usize>,
    real_sshd: usize,
    shoal: PathBuf,
    simfleet: PathBuf,
    out: Option<PathBuf>,
    revision: String,
}

impl Settings {
    fn from_env() -> Settings {
        let number = |name: &str, default: usize| match std::env::var(name) {
            Ok(text) => text
                .parse()
                .unwrap_or_else(|e| panic!("{name}={text:?} is not a number: {e}")),
            Err(_) => default,
        };
        let sizes = std::env::var("SIZES").unwrap_or_else(|_| "1000 5000 10000".into());
        let shoal = std::env::var_os("SHOAL_BIN")
            .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_shoal")), PathBuf::from);
        Settings {
            sizes: sizes
                .split_whitespace()
                .map(|n| n.parse().unwrap_or_else(|e| panic!("SIZES={sizes:?}: {e}")))
                .collect(),
            runs: number("RUNS", 3).max(1),
            fanout: std::env::var("FANOUT").is_ok().then(|| number("FANOUT", 0)),
            real_sshd: number("REAL_SSHD", 0),
            simfleet: std::env::var_os("SIMFLEET_BIN")
                .map_or_else(|| shoal.with_file_name("simfleet"), PathBuf::from),
            shoal,
            out: std::env::var_os("BENCH_OUT").map(PathBuf::from),
            revision: std::env::var("SHOAL_REV").unwrap_or_else(|_| "unknown".into()),
        }
    }
}

/// The simulated fleet process (and any shards it starts); it exits when its stdin closes
/// (on drop, or if the benchmark dies).
struct SimFleet {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
    /// What simfleet said on stderr while starting (the limit it raised).
    notes: String,
}

impl SimFleet {
    fn start(binary: &Path, hosts: usize) -> SimFleet {
        let dir = tempfile::Builder::new()
            .prefix("shoal-scale-")
            .tempdir()
            .expect("a scratch directory");
        let stderr = dir.path().join("simfleet.stderr");
        let mut child = Command::new(binary)
            .args(["--hosts", &hosts.to_string(), "--dir"])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).expect("create simfleet's stderr file"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (bench/scale.sh builds it): {e}",
                    binary.display()
                )
            });
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("simfleet's stdout");
        let (ready, started) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = ready.send(line);
        });
        let line = started.recv_timeout(START_DEADLINE).unwrap_or_default();
        let notes = fs::read_to_string(&stderr).unwrap_or_default();
        assert_eq!(
            line.trim(),
            "ready",
            "simfleet did not start {hosts} hosts within {START_DEADLINE:?}: {notes}"
        );
        SimFleet {
            child,
            stdin,
            dir,
            notes: notes.trim().to_owned(),
        }
    }

    fn inventory(&self) -> PathBuf {
        self.dir.path().join("inventory.toml")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SimFleet {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}

/// One size's measurements, over the runs.
#[derive(Default)]
struct Measured {
    cold_s: Vec<f64>,
    warm_s: Vec<f64>,
    cpu_ms: Vec<f64>,
    warm_cpu_ms: Vec<f64>,
    rss_kib: Vec<f64>,
    fds: Vec<f64>,
    server_cpu_ms: Vec<f64>,
    /// RSS of `hosts | count` on the same inventory, KiB.
    base_rss_kib: Option<f64>,
    failures: Vec<String>,
}

/// A fleet as the runs see it: where shoal finds it, and how to read its server CPU.
struct Target<'a> {
    label: String,
    hosts: usize,
    inventory: PathBuf,
    dir: &'a Path,
    expected: HashMap<String, String>,
    /// The simulated fleet's process, whose CPU is read from /proc; none for real sshd.
    server: Option<u32>,
}

impl Target<'_> {
    fn shoal(&self, settings: &Settings, query: &str) -> Command {
        let mut command = Command::new(&settings.shoal);
        command
            .arg("--inventory")
            .arg(&self.inventory)
            // A store of its own, as a user's shoal records every run.
            .arg("--store")
            .arg(self.dir.join("shoal.db"))
            .args(["--format", "json", "-c", query])
            .env("NO_COLOR", "1")
            .env_remove("SHOAL_INVENTORY")
            .current_dir(self.dir);
        if let Some(fanout) = settings.fanout {
            command.args(["--fanout", &fanout.to_string()]);
        }
        command
    }

    /// Checks that the run printed `queries` results, each with one `ok` row per host
    /// carrying that host's own version.
    fn check(&self, finished: &support::Finished, queries: usize) -> Result<(), String> {
        let arrays: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&finished.stdout)
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| {
                format!(
                    "stdout is not JSON ({e}); stderr: {}",
                    tail(&finished.stderr)
                )
            })?;
        if arrays.len() != queries {
            return Err(format!(
                "{} results for {queries} queries; stderr: {}",
                arrays.len(),
                tail(&finished.stderr)
            ));
        }
        for (n, array) in arrays.iter().enumerate() {
            let rows = array.as_array().map_or(&[][..], Vec::as_slice);
            let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
            let mut correct = 0;
            for row in rows {
                let status = row["status"].as_str().unwrap_or("?");
                *statuses.entry(status).or_default() += 1;
                let expected = row["host"].as_str().and_then(|h| self.expected.get(h));
                if status == "ok" && expected.map(String::as_str) == row["stdout"].as_str() {
                    correct += 1;
                }
            }
            if correct != self.hosts || rows.len() != self.hosts {
                let statuses: Vec<String> =
                    statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
                let error = rows
                    .iter()
                    .find(|r| r["status"] != "ok")
                    .map(|r| format!(", e.g. {}: {}", r["host"], r["error"]))
                    .unwrap_or_default();
                return Err(format!(
                    "query {}: {correct}/{} correct answers ({}){error}",
                    n + 1,
                    self.hosts,
                    statuses.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The simulated fleet's processes: the one started and the shards it started, when
    /// the open-file limit made it split the fleet (bench/simfleet/src/limits.rs).
    fn server_pids(&self) -> Vec<u32> {
        let Some(pid) = self.server else {
            return Vec::new();
        };
        let children =
            fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        std::iter::once(pid)
            .chain(children.split_whitespace().filter_map(|c| c.parse().ok()))
            .collect()
    }

    /// The simulated fleet's CPU so far, in seconds (utime+stime of its processes).
    fn server_cpu(&self) -> Option<f64> {
        self.server?;
        self.server_pids().into_iter().map(process_cpu).sum()
    }

    /// Waits until the simulated fleet holds no connection of a finished run: its open
    /// descriptors are back to one listener per host and a few per process. Real sshd
    /// servers get a fixed pause for their sessions' teardown instead.
    fn settle(&self) {
        if self.server.is_none() {
            thread::sleep(REAL_SSHD_PAUSE);
            return;
        }
        let pids = self.server_pids();
        let fds = || -> usize {
            pids.iter()
                .map(|pid| fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count))
                .sum()
        };
        let deadline = Instant::now() + SETTLE_DEADLINE;
        while fds() > self.hosts + 64 * pids.len() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The two-query process, measured by `support::measure`, and its CPU in seconds when
    /// its first summary line appeared (sampled from /proc every 5 ms): the rest of its
    /// CPU is the warm query's and the exit's.
    fn two_queries(&self, settings: &Settings) -> (support::Finished, Option<f64>) {
        // support::measure writes the process's stderr here, created before it starts.
        let stderr = self.dir.join("stderr");
        let shoal = fs::canonicalize(&settings.shoal).unwrap_or_else(|_| settings.shoal.clone());
        let watcher = thread::spawn(move || {
            let deadline = Instant::now() + RUN_DEADLINE;
            let mut cpu = None;
            while Instant::now() < deadline {
                match running(&shoal) {
                    Some(pid) => cpu = process_cpu(pid).or(cpu),
                    // It started and has exited: no summary line will come now.
                    None if cpu.is_some() => return None,
                    None => {}
                }
                if cpu.is_some()
                    && fs::read_to_string(&stderr).is_ok_and(|text| text.contains(" hosts: "))
                {
                    return cpu;
                }
                thread::sleep(Duration::from_millis(5));
            }
            None
        });
        let mut command = self.shoal(settings, &format!("{QUERY}\n{QUERY}"));
        let finished = support::measure(&mut command, self.dir, RUN_DEADLINE);
        (finished, watcher.join().ok().flatten())
    }

    fn measure(&self, settings: &Settings) -> Measured {
        let mut measured = Measured::default();
        let hosts = self.hosts as f64;
        // shoal with the fleet loaded and nothing connected; also warms the page cache.
        let base = support::measure(
            &mut self.shoal(settings, "hosts | count"),
            self.dir,
            RUN_DEADLINE,
        );
        measured.base_rss_kib = base.status.success().then_some(base.peak_rss_kib as f64);
        for run in 0..settings.runs {
            eprintln!(
                "scale bench: {}, run {}/{}",
                self.label,
                run + 1,
                settings.runs
            );
            self.settle();
            let before = self.server_cpu();
            let cold = support::measure(&mut self.shoal(settings, QUERY), self.dir, RUN_DEADLINE);
            let server = self
                .server_cpu()
                .zip(before)
                .map(|(after, before)| after - before);
            if let Err(why) = self.check(&cold, 1) {
                measured.failures.push(format!("cold run: {why}"));
                continue;
            }
            self.settle();
            let (two, cpu_after_first) = self.two_queries(settings);
            if let Err(why) = self.check(&two, 2) {
                measured.failures.push(format!("two-query run: {why}"));
                continue;
            }
            let times = summary_times(&two.stderr);
            let ([_, warm], Some(cpu_after_first)) = (&times[..], cpu_after_first) else {
                measured.failures.push(format!(
                    "expected 2 summary lines (and the CPU at the first), got: {}",
                    tail(&two.stderr)
                ));
                continue;
            };
            measured.cold_s.push(cold.wall.as_secs_f64());
            measured.warm_s.push(*warm);
            measured
                .cpu_ms
                .push(cold.cpu.as_secs_f64() * 1000.0 / hosts);
            measured
                .warm_cpu_ms
                .push((two.cpu.as_secs_f64() - cpu_after_first) * 1000.0 / hosts);
            measured
                .rss_kib
                .push(cold.peak_rss_kib.max(two.peak_rss_kib) as f64);
            measured.fds.push(cold.peak_fds as f64);
            if let Some(server) = server {
                measured.server_cpu_ms.push(server * 1000.0 / hosts);
            }
        }
        measured
    }
}

/// The child of this benchmark running `binary` now, if any.
fn running(binary: &Path) -> Option<u32> {
    let me = std::process::id();
    fs::read_dir(format!("/proc/{me}/task"))
        .ok()?
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|children| {
            children
                .split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .find(|pid| fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary))
}

/// A process's CPU so far (utime+stime), in seconds.
fn process_cpu(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `fields` starts at field 3.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
}

/// The times on shoal's summary lines (`1000 hosts: 1000 ok · 1.49 s`), in seconds.
fn summary_times(stderr: &str) -> Vec<f64> {
    stderr
        .lines()
        .filter(|line| line.contains(" hosts: "))
        .filter_map(|line| line.rsplit(" · ").next()?.strip_suffix(" s")?.parse().ok())
        .collect()
}

/// The end of a process's stderr, for a FAILED row.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    let shown: Vec<&str> = lines.into_iter().rev().collect();
    let shown = shown.join(" | ");
    if shown.is_empty() {
        "(empty)".into()
    } else {
        shown.chars().take(400).collect()
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf takes a plain integer and touches no memory of ours.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// RLIMIT_NOFILE as (soft, hard).
fn open_file_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass and nothing else.
    let _ = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (limit.rlim_cur, limit.rlim_max)
}

/// Raises this process's RLIMIT_NOFILE (soft, and hard if need be) to at least `needed`,
/// so that shoal, its child, inherits it. Raising the hard limit takes CAP_SYS_RESOURCE,
/// up to /proc/sys/fs/nr_open. Returns what it did, for the report.
fn raise_open_files(needed: u64) -> String {
    let (soft, hard) = open_file_limit();
    if soft >= needed {
        return format!("RLIMIT_NOFILE {soft}/{hard} (soft/hard) was enough; left as it was");
    }
    let raised = libc::rlimit {
        rlim_cur: needed,
        rlim_max: hard.max(needed),
    };
    // SAFETY: setrlimit reads the struct we pass and nothing else.
    let ok = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0;
    let nr_open = fs::read_to_string("/proc/sys/fs/nr_open").unwrap_or_default();
    if ok {
        format!(
            "RLIMIT_NOFILE raised from {soft}/{hard} to {}/{} (soft/hard) with setrlimit, \
             for shoal to inherit (fs.nr_open {})",
            raised.rlim_cur,
            raised.rlim_max,
            nr_open.trim()
        )
    } else {
        format!(
            "RLIMIT_NOFILE stays {soft}/{hard}: raising it to {needed} failed ({})",
            std::io::Error::last_os_error()
        )
    }
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}

#[test]
#[ignore = "a benchmark: run it with bash bench/scale.sh"]
fn scale_benchmark() {
    let settings = Settings::from_env();
    for binary in [&settings.shoal, &settings.simfleet] {
        assert!(binary.exists(), "no binary at {}", binary.display());
    }
    let started_at = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let largest = settings.sizes.iter().copied().max().unwrap_or(0);
    // shoal keeps one connection per host; the fleet sees to its own limit.
    let limit = raise_open_files(largest as u64 + SPARE_FDS);
    eprintln!("scale bench: {limit}");

    let mut results: Vec<(String, usize, Measured)> = Vec::new();
    let mut fleet_notes = Vec::new();
    for &hosts in &settings.sizes {
        eprintln!("scale bench: starting {hosts} simulated hosts");
        let fleet = SimFleet::start(&settings.simfleet, hosts);
        if !fleet.notes.is_empty() {
            fleet_notes.push(format!("{hosts} hosts: {}", fleet.notes));
        }
        let target = Target {
            label: format!("{hosts} simulated"),
            hosts,
            inventory: fleet.inventory(),
            dir: fleet.dir.path(),
            expected: (0..hosts)
                .map(|i| (format!("sim{:05}", i + 1), version(i)))
                .collect(),
            server: Some(fleet.pid()),
        };
        results.push((target.label.clone(), hosts, target.measure(&settings)));
        // A line the fake shell could not read ends that shell, and shoal then runs each
        // command on a channel of its own: the size would have measured that path instead.
        let said = fs::read_to_string(fleet.dir.path().join("simfleet.stderr")).unwrap_or_default();
        if let Some(refusal) = said
            .lines()
            .find(|l| l.contains("cannot read line") || l.contains("refused exec request"))
        {
            panic!("simfleet did not understand what shoal sent ({hosts} hosts): {refusal}");
        }
    }
    if settings.real_sshd > 0 {
        let hosts = settings.real_sshd;
        eprintln!("scale bench: starting {hosts} real sshd hosts");
        let fleet = SshdFleet::start(FleetSpec {
            files: Box::new(|i| vec![("version".into(), format!("{}\n", version(i)))]),
            ..FleetSpec::new(hosts)
        });
        let inventory = fleet.dir().join("scale.toml");
        fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).expect("write the inventory");
        let target = Target {
            label: format!("{hosts} real sshd"),
            hosts,
            inventory,
            dir: fleet.dir(),
            expected: fleet
                .hosts()
                .iter()
                .enumerate()
                .map(|(i, node)| (node.name.clone(), version(i)))
                .collect(),
            server: None,
        };
        results.push((target.label.clone(), hosts, target.measure(&settings)));
    }

    let report = report(&settings, &results, &started_at, &limit, &fleet_notes);
    println!("{report}");
    if let Some(out) = &settings.out {
        if let Some(parent) = out.parent() {
            let _ = fs::create_dir_all(parent);
        }
        fs::write(out, &report).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    }
}

fn report(
    settings: &Settings,
    results: &[(String, usize, Measured)],
    started_at: &str,
    limit: &str,
    fleet_notes: &[String],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### Scale: `{QUERY}`\n");
    let _ = writeln!(
        md,
        "- when: {started_at}; shoal revision {}",
        settings.revision
    );
    let _ = writeln!(
        md,
        "- machine: {} cores, kernel {}; fan-out {}; {} runs per size (medians)",
        thread::available_parallelism().map_or(0, |n| n.get()),
        first_line("uname", &["-r"]),
        settings
            .fanout
            .map_or_else(|| "shoal's default".to_owned(), |n| n.to_string()),
        settings.runs
    );
    let _ = writeln!(md, "- open files: {limit}");
    for note in fleet_notes {
        let _ = writeln!(md, "- simfleet, {note}");
    }
    let _ = writeln!(
        md,
        "\n| hosts | good runs | cold s | warm s | CPU/host ms (cold) | warm CPU/host ms (2nd query + exit) | \
         RSS/host KiB (peak / added) | fds/host (peak) | server CPU/host ms |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for (label, hosts, m) in results {
        let good = m.cold_s.len();
        let attempts = good + m.failures.len();
        let cell = |values: &[f64], digits: usize| {
            median(values).map_or_else(|| "FAILED".to_owned(), |v| format!("{v:.digits$}"))
        };
        let per_host = |kib: f64| kib / *hosts as f64;
        let rss = match (median(&m.rss_kib), m.base_rss_kib) {
            (Some(peak), Some(base)) => {
                format!("{:.1} / {:.1}", per_host(peak), per_host(peak - base))
            }
            (Some(peak), None) => format!("{:.1} / ?", per_host(peak)),
            (None, _) => "FAILED".into(),
        };
        let fds = median(&m.fds).map_or_else(
            || "FAILED".to_owned(),
            |fds| format!("{:.3} ({fds:.0})", fds / *hosts as f64),
        );
        let server = median(&m.server_cpu_ms).map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"));
        let failed = if m.failures.is_empty() {
            ""
        } else {
            " FAILED runs"
        };
        let _ = writeln!(
            md,
            "| {label} | {good}/{attempts}{failed} | {} | {} | {} | {} | {rss} | {fds} | {server} |",
            cell(&m.cold_s, 2),
            cell(&m.warm_s, 2),
            cell(&m.cpu_ms, 3),
            cell(&m.warm_cpu_ms, 3),
        );
    }
    // The issue's targets, at the largest simulated size.
    if let Some((label, _, m)) = results
        .iter()
        .filter(|(label, _, _)| label.ends_with("simulated"))
        .max_by_key(|(_, hosts, _)| *hosts)
    {
        let hosts = results
            .iter()
            .find(|(l, _, _)| l == label)
            .map_or(1, |r| r.1) as f64;
        let verdict = |value: Option<f64>, target: f64| match value {
            Some(v) if v <= target => "met",
            Some(_) => "NOT met",
            None => "not measured: FAILED",
        };
        let cpu = median(&m.cpu_ms);
        let rss = median(&m.rss_kib).map(|kib| kib / hosts);
        let _ = writeln!(
            md,
            "\n| target ({label}) | measured | verdict |\n|---|---|---|"
        );
        let _ = writeln!(
            md,
            "| client CPU ≤ 0.5 ms per host (cold) | {} | {} |",
            cpu.map_or_else(|| "—".into(), |v| format!("{v:.3} ms")),
            verdict(cpu, 0.5)
        );
        let _ = writeln!(
            md,
            "| memory ≤ 60 KiB per host (peak RSS / hosts) | {} | {} |",
            rss.map_or_else(|| "—".into(), |v| format!("{v:.1} KiB")),
            verdict(rss, 60.0)
        );
    }
    let failures: Vec<String> = results
        .iter()
        .flat_map(|(label, _, m)| m.failures.iter().map(move |f| format!("- {label}: {f}")))
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "\nFailed runs:\n\n{}", failures.join("\n"));
    }
    md
}
