//! The fan-out benchmark: `hosts | run "cat /etc/app/version"` on a fleet of real sshd
//! servers, timed for shoal (cold and warm) and for pdsh, clush and parallel-ssh in the same
//! run, printed as a Markdown table.
//!
//! This is a benchmark, not a test: it is `#[ignore]`d, `bench/fanout.sh` runs it (after
//! installing the peers and building shoal in release), and it never asserts on a time.
//! It fails only when the benchmark itself cannot run (no fleet, a peer binary missing);
//! a tool that gives wrong or missing answers gets a FAILED row instead, because a
//! benchmark that hides a failing tool behind a panic tells nobody what it measured.
//!
//! Settings come from the environment (bench/fanout.sh sets them):
//! - `HOSTS` (200), `RUNS` (5), `FANOUT` (256);
//! - `SHOAL_BIN`: the shoal binary to time (default: the one cargo built with this test);
//! - `BENCH_OUT`: a file to write the Markdown report to, besides stdout;
//! - `BENCH_CONTROLMASTER=0` skips the peers' OpenSSH ControlMaster warm runs;
//! - `SHOAL_REV`: the revision being measured, printed in the report.
//!
//! The latency benchmark (latency.rs) uses its helpers marked `pub(crate)`: watching the
//! sshd listeners, medians, and describing the machine and a tool's failure.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{self, Finished, FleetSpec, SshdFleet};

/// The command every tool runs on every host.
const REMOTE_COMMAND: &str = "cat /etc/app/version";

/// A tool that has not finished after this long is killed and its run counts as failed:
/// the slowest peer takes about 15 s for 200 hosts (PERFORMANCE-NOTES.md), so this only
/// fires on a hang.
const RUN_DEADLINE: Duration = Duration::from_secs(180);

/// How long to wait for the servers to finish with a run's connections before the next
/// run starts, so that one run's sshd teardown does not load the next one's measurement.
const SETTLE_DEADLINE: Duration = Duration::from_secs(20);

/// What `cat /etc/app/version` prints on host `i`: different on every host, so a tool that
/// mixes up hosts (or answers from the wrong one) is caught, not just a silent one.
fn version(i: usize) -> String {
    format!("1.{i}.0")
}

struct Settings {
    hosts: usize,
    runs: usize,
    fanout: usize,
    shoal: PathBuf,
    out: Option<PathBuf>,
    controlmaster: bool,
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
        Settings {
            hosts: number("HOSTS", 200),
            runs: number("RUNS", 5).max(1),
            fanout: number("FANOUT", 256),
            shoal: std::env::var_os("SHOAL_BIN")
                .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_shoal")), PathBuf::from),
            out: std::env::var_os("BENCH_OUT").map(PathBuf::from),
            controlmaster: std::env::var("BENCH_CONTROLMASTER").map_or(true, |v| v != "0"),
            revision: std::env::var("SHOAL_REV").unwrap_or_else(|_| "unknown".into()),
        }
    }
}

/// The fleet's sshd listeners, watched through /proc to measure server CPU and to wait
/// until a run's connections are gone.
///
/// Every per-connection sshd is a child of its host's listener and is reaped by it when
/// the connection ends, so the listener's cutime+cstime grow by exactly the CPU the server
/// side spent on that connection, its sessions and commands included.
pub(crate) struct Servers {
    listeners: Vec<u32>,
    ticks_per_second: f64,
}

/// One line of /proc/PID/stat, the fields we use.
struct Stat {
    comm: String,
    ppid: u32,
    /// utime + stime + cutime + cstime, in clock ticks.
    ticks: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split at the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] is the state (field 3 of stat(5)); ppid is field 4, utime..cstime 14..17.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let ticks = field(14)? + field(15)? + field(16)? + field(17)?;
    Some(Stat {
        comm,
        ppid: u32::try_from(field(4)?).ok()?,
        ticks,
    })
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

impl Servers {
    /// Finds the listeners of `fleet`: sshd processes whose parent is `unshare` and whose
    /// command line names the fleet's directory.
    pub(crate) fn find(fleet: &SshdFleet) -> Servers {
        let marker = format!("{}/hosts/", fleet.dir().display());
        let listeners: Vec<u32> = all_pids()
            .into_iter()
            .filter(|&pid| {
                let Some(process) = stat(pid) else {
                    return false;
                };
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                process.comm == "sshd"
                    && String::from_utf8_lossy(&cmdline).contains(&marker)
                    && stat(process.ppid).is_some_and(|parent| parent.comm == "unshare")
            })
            .collect();
        assert_eq!(
            listeners.len(),
            fleet.hosts().len(),
            "expected one sshd listener per host under {marker}"
        );
        // SAFETY: sysconf takes a plain integer and touches no memory of ours.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Servers {
            listeners,
            ticks_per_second: if ticks > 0 { ticks as f64 } else { 100.0 },
        }
    }

    /// Server CPU so far: the listeners' own and their reaped children's, in seconds.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let ticks: u64 = self
            .listeners
            .iter()
            .filter_map(|&pid| stat(pid))
            .map(|s| s.ticks)
            .sum();
        ticks as f64 / self.ticks_per_second
    }

    /// Waits until no listener has a per-connection child left (every connection of the
    /// last run is closed and reaped). Returns false if some are still there at the deadline.
    pub(crate) fn settle(&self) -> bool {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            let busy = self.listeners.iter().any(|pid| {
                fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                    .is_ok_and(|children| !children.trim().is_empty())
            });
            if !busy {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The kinds of measurement, one row each in the table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Row {
    ShoalCold,
    /// The first query of the two-query process (its summary line).
    ShoalFirst,
    /// The second query of the two-query process (its summary line): pooled connections.
    ShoalWarm,
    PeerCold(Peer),
    PeerControlMaster(Peer),
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Peer {
    Pdsh,
    Clush,
    Pssh,
}

const PEERS: [Peer; 3] = [Peer::Pdsh, Peer::Clush, Peer::Pssh];

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Pdsh => "pdsh -R ssh",
            Peer::Clush => "clush",
            Peer::Pssh => "parallel-ssh",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Peer::Pdsh => "pdsh",
            Peer::Clush => "clush",
            Peer::Pssh => "parallel-ssh",
        }
    }
}

impl Row {
    fn label(self) -> String {
        match self {
            Row::ShoalCold => "shoal, cold (fresh `shoal -c`, wall)".into(),
            Row::ShoalFirst => "shoal, 1st query of a 2-query process (summary line)".into(),
            Row::ShoalWarm => "shoal, warm: 2nd query, pooled (summary line)".into(),
            Row::PeerCold(peer) => format!("{}, cold", peer.name()),
            Row::PeerControlMaster(peer) => format!("{}, warm ControlMaster", peer.name()),
        }
    }
}

/// One run of one row.
struct Sample {
    /// Seconds: the wall time, or the time on shoal's summary line.
    seconds: f64,
    /// Client CPU per host, ms, when the row's process measures it.
    cpu_per_host_ms: Option<f64>,
    /// Server CPU per host, ms, for cold runs whose connections all closed.
    server_per_host_ms: Option<f64>,
}

#[derive(Default)]
struct Results {
    samples: BTreeMap<Row, Vec<Sample>>,
    /// Why runs failed, per row, in order.
    failures: BTreeMap<Row, Vec<String>>,
    /// Runs attempted, per row.
    attempts: BTreeMap<Row, usize>,
    /// Things the numbers alone would hide (a warm run that logged in again), once each.
    notes: Vec<String>,
}

impl Results {
    fn note(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    fn record(&mut self, row: Row, outcome: Result<Sample, String>) {
        *self.attempts.entry(row).or_default() += 1;
        match outcome {
            Ok(sample) => self.samples.entry(row).or_default().push(sample),
            Err(reason) => self.failures.entry(row).or_default().push(reason),
        }
    }

    /// Median and minimum seconds of a row's good runs.
    fn seconds(&self, row: Row) -> Option<(f64, f64)> {
        let values: Vec<f64> = self.samples.get(&row)?.iter().map(|s| s.seconds).collect();
        Some((
            median(&values)?,
            values.iter().copied().fold(f64::MAX, f64::min),
        ))
    }

    fn median_of(&self, row: Row, pick: impl Fn(&Sample) -> Option<f64>) -> Option<f64> {
        let values: Vec<f64> = self.samples.get(&row)?.iter().filter_map(pick).collect();
        median(&values)
    }

    /// Whether every attempted run of `row` gave the right answers.
    fn all_ok(&self, row: Row) -> bool {
        self.attempts.get(&row).copied().unwrap_or(0) > 0 && !self.failures.contains_key(&row)
    }
}

pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Everything the tools need, written once into the bench's directory.
struct Bench<'a> {
    settings: &'a Settings,
    fleet: &'a SshdFleet,
    servers: Servers,
    dir: PathBuf,
    inventory: PathBuf,
    hosts_file: PathBuf,
    /// OpenSSH options shared by every peer: same key, same known_hosts with strict
    /// checking, no user or system ssh_config, and curve25519 key exchange.
    ssh_options: String,
    /// Added to `ssh_options` for the ControlMaster runs.
    controlmaster_options: String,
    /// Expected answer per host name (shoal's rows) and per address (the peers' lines).
    by_name: HashMap<String, String>,
    by_addr: HashMap<String, String>,
}

impl Bench<'_> {
    fn shoal(&self, query: &str) -> Command {
        let mut command = Command::new(&self.settings.shoal);
        command
            .arg("--inventory")
            .arg(&self.inventory)
            .args(["--fanout", &self.settings.fanout.to_string()])
            // JSON so every row can be checked; rendering 200 rows is not what is timed.
            .args(["--format", "json", "-c", query])
            .env("NO_COLOR", "1")
            .env_remove("SHOAL_INVENTORY")
            .current_dir(&self.dir);
        command
    }

    fn peer(&self, peer: Peer, controlmaster: bool) -> Command {
        let mut options = self.ssh_options.clone();
        if controlmaster {
            options = format!("{options} {}", self.controlmaster_options);
        }
        let fanout = self.settings.fanout.to_string();
        let user = self.fleet.user();
        let mut command = Command::new(peer.binary());
        match peer {
            Peer::Pdsh => {
                command
                    .env("PDSH_SSH_ARGS_APPEND", &options)
                    .args(["-R", "ssh", "-f", &fanout, "-l", user, "-w"])
                    .arg(format!("^{}", self.hosts_file.display()));
            }
            Peer::Clush => {
                // clush reads -o through Python's configparser interpolation, where `%`
                // (of ControlPath's %C) must be written `%%`.
                let options = options.replace('%', "%%");
                command
                    .args(["-f", &fanout, "-l", user, "-o", &options, "--hostfile"])
                    .arg(&self.hosts_file);
            }
            Peer::Pssh => {
                // -P prints each output line as "host: line", like pdsh and clush.
                command
                    .args(["-p", &fanout, "-l", user, "-x", &options, "-P", "-h"])
                    .arg(&self.hosts_file);
            }
        }
        command.arg(REMOTE_COMMAND).current_dir(&self.dir);
        command
    }

    /// Server CPU per host since `before`, once the run's connections are gone; `None` if
    /// they did not all close in time.
    fn server_per_host_ms(&self, before: f64) -> Option<f64> {
        self.servers
            .settle()
            .then(|| (self.servers.cpu_seconds() - before) * 1000.0 / self.hosts() as f64)
    }

    fn hosts(&self) -> usize {
        self.settings.hosts
    }

    fn cpu_per_host_ms(&self, finished: &Finished) -> f64 {
        finished.cpu.as_secs_f64() * 1000.0 / self.hosts() as f64
    }

    /// A fresh `shoal -c` process, one query.
    fn shoal_cold(&self) -> Result<Sample, String> {
        let before = self.servers.cpu_seconds();
        let finished = support::measure(&mut self.shoal(&query(1)), &self.dir, RUN_DEADLINE);
        let server = self.server_per_host_ms(before);
        self.check_shoal(&finished, 1)?;
        Ok(Sample {
            seconds: finished.wall.as_secs_f64(),
            cpu_per_host_ms: Some(self.cpu_per_host_ms(&finished)),
            server_per_host_ms: server,
        })
    }

    /// One process, two queries: the summary lines' times of the first and second, and a
    /// note if the process did not log in exactly once per host (the second query is
    /// meant to reuse the first one's pooled connections).
    fn shoal_two_queries(&self) -> Result<(Sample, Sample, Option<String>), String> {
        let logins = self.logins();
        let finished = support::measure(&mut self.shoal(&query(2)), &self.dir, RUN_DEADLINE);
        self.servers.settle();
        self.check_shoal(&finished, 2)?;
        let logins = self.logins() - logins;
        let note = (logins != self.hosts()).then(|| {
            format!(
                "a 2-query shoal process logged in {logins} times to {} hosts: the warm \
                 query did not only use pooled connections",
                self.hosts()
            )
        });
        let times = summary_times(&finished.stderr);
        let [first, second] = times[..] else {
            return Err(format!(
                "expected 2 summary lines on stderr, got: {}",
                excerpt(&finished.stderr)
            ));
        };
        let sample = |seconds| Sample {
            seconds,
            cpu_per_host_ms: None,
            server_per_host_ms: None,
        };
        Ok((sample(first), sample(second), note))
    }

    /// Checks that shoal printed `queries` JSON arrays, each with one `ok` row per host
    /// carrying that host's own version.
    fn check_shoal(&self, finished: &Finished, queries: usize) -> Result<(), String> {
        let failed = |why: String| {
            Err(format!(
                "{why}; exit {}; stderr: {}",
                describe(finished.status),
                excerpt(&finished.stderr)
            ))
        };
        let arrays: Result<Vec<serde_json::Value>, _> =
            serde_json::Deserializer::from_str(&finished.stdout)
                .into_iter()
                .collect();
        let arrays = match arrays {
            Ok(arrays) => arrays,
            Err(e) => return failed(format!("stdout is not JSON ({e})")),
        };
        if arrays.len() != queries {
            return failed(format!("{} results for {queries} queries", arrays.len()));
        }
        for (n, array) in arrays.iter().enumerate() {
            let rows = array.as_array().map_or(&[][..], Vec::as_slice);
            let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
            let mut correct = HashSet::new();
            for row in rows {
                let status = row["status"].as_str().unwrap_or("?");
                *statuses.entry(status.to_owned()).or_default() += 1;
                let host = row["host"].as_str().unwrap_or_default();
                if status == "ok"
                    && row["stdout"].as_str().is_some()
                    && self.by_name.get(host).map(String::as_str) == row["stdout"].as_str()
                {
                    correct.insert(host.to_owned());
                }
            }
            if correct.len() != self.hosts() {
                let statuses: Vec<String> =
                    statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
                return failed(format!(
                    "query {}: {}/{} correct answers ({})",
                    n + 1,
                    correct.len(),
                    self.hosts(),
                    statuses.join(", ")
                ));
            }
        }
        if !finished.status.success() {
            return failed("all answers correct but a non-zero exit".into());
        }
        Ok(())
    }

    /// One cold run of a peer (no ControlMaster), with the CPU of it and its ssh children.
    fn peer_cold(&self, peer: Peer) -> Result<Sample, String> {
        let before = self.servers.cpu_seconds();
        let finished = support::measure(&mut self.peer(peer, false), &self.dir, RUN_DEADLINE);
        let server = self.server_per_host_ms(before);
        self.check_peer(&finished)?;
        Ok(Sample {
            seconds: finished.wall.as_secs_f64(),
            cpu_per_host_ms: Some(self.cpu_per_host_ms(&finished)),
            server_per_host_ms: server,
        })
    }

    /// One run of a peer over the already-open ControlMaster connections. The masters are
    /// daemons, not the tool's children, so their CPU is not the tool's: none is reported.
    fn peer_controlmaster(&self, peer: Peer) -> Result<Sample, String> {
        let finished = support::measure(&mut self.peer(peer, true), &self.dir, RUN_DEADLINE);
        self.check_peer(&finished)?;
        Ok(Sample {
            seconds: finished.wall.as_secs_f64(),
            cpu_per_host_ms: None,
            server_per_host_ms: None,
        })
    }

    /// Counts the hosts whose `ADDR: VERSION` line is right; all of them must be.
    fn check_peer(&self, finished: &Finished) -> Result<(), String> {
        let correct: HashSet<&str> = finished
            .stdout
            .lines()
            .filter_map(|line| {
                let (addr, answer) = line.split_once(": ")?;
                (self.by_addr.get(addr)? == answer.trim_end()).then_some(addr)
            })
            .collect();
        if correct.len() == self.hosts() && finished.status.success() {
            return Ok(());
        }
        Err(format!(
            "{}/{} correct answers; exit {}; stderr: {}",
            correct.len(),
            self.hosts(),
            describe(finished.status),
            excerpt(&finished.stderr)
        ))
    }

    /// Logins the servers have accepted so far, over the whole fleet.
    fn logins(&self) -> usize {
        (0..self.hosts())
            .map(|host| self.fleet.accepted_connections(host))
            .sum()
    }

    /// Opens a ControlMaster connection to every host (untimed), through pdsh.
    fn open_masters(&self) -> Result<(), String> {
        let finished = support::measure(&mut self.peer(Peer::Pdsh, true), &self.dir, RUN_DEADLINE);
        self.check_peer(&finished)
    }

    /// Asks every master to exit, then waits for the servers to close those connections.
    fn close_masters(&self) {
        for node in self.fleet.hosts() {
            let _ = Command::new("ssh")
                .args(self.ssh_options.split_whitespace())
                .args(self.controlmaster_options.split_whitespace())
                .args(["-O", "exit", "-l", self.fleet.user()])
                .arg(node.addr.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.servers.settle();
    }
}

/// `hosts | run "cat /etc/app/version"`, `queries` times, as one `-c` argument.
fn query(queries: usize) -> String {
    vec![format!("hosts | run \"{REMOTE_COMMAND}\""); queries].join("; ")
}

/// The times on shoal's summary lines, `200 hosts: 200 ok · 0.31 s`, in order.
fn summary_times(stderr: &str) -> Vec<f64> {
    stderr
        .lines()
        .filter(|line| line.contains(" hosts: ") || line.contains(" host: "))
        .filter_map(|line| {
            let (_, time) = line.rsplit_once('·')?;
            time.trim().strip_suffix(" s")?.trim().parse().ok()
        })
        .collect()
}

pub(crate) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// The first few lines of a tool's stderr, for a FAILED row's reason.
pub(crate) fn excerpt(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut shown = lines
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join(" | ");
    if shown.chars().count() > 300 {
        shown = shown.chars().take(300).collect::<String>() + "…";
    }
    if lines.len() > 3 {
        shown += &format!(" | … ({} lines)", lines.len());
    }
    if shown.is_empty() {
        "(empty)".into()
    } else {
        shown
    }
}

/// The first line a command prints (stdout, else stderr), or "?" when it cannot run.
pub(crate) fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()
        .and_then(|out| {
            let text = if out.stdout.trim_ascii().is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

/// (busy, total) jiffies of all CPUs so far, from /proc/stat's first line.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let values: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4)?;
    Some((total - idle, total))
}

/// How busy the machine was over the last second, in percent of all cores. Not the load
/// average: that decays over minutes, so right after a previous benchmark it reads 10+
/// on an idle machine.
pub(crate) fn busy_percent() -> String {
    let before = cpu_jiffies();
    thread::sleep(Duration::from_secs(1));
    match before.zip(cpu_jiffies()) {
        Some(((busy0, total0), (busy1, total1))) if total1 > total0 => {
            format!(
                "{:.0}%",
                (busy1 - busy0) as f64 * 100.0 / (total1 - total0) as f64
            )
        }
        _ => "?".into(),
    }
}

/// The report lines that say when a fleet benchmark ran, on which revision, and on what
/// machine, how busy it was just before.
pub(crate) fn when_and_machine(started_at: &str, revision: &str, busy_before: &str) -> String {
    format!(
        "- when: {started_at}; shoal revision {revision}\n- machine: {} cores ({}), kernel {}; \
         CPU busy in the second before the fleet started: {busy_before}\n",
        thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        first_line("uname", &["-r"]),
    )
}

pub(crate) fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

fn seconds_cell(value: Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |s| format!("{s:.2}"))
}

fn ms_cell(value: Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |ms| format!("{ms:.1}"))
}

#[test]
#[ignore = "a benchmark: run it with bash bench/fanout.sh"]
fn fanout_benchmark() {
    let settings = Settings::from_env();
    for peer in PEERS {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {}", peer.binary())])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "{} is not installed; bench/fanout.sh installs it",
            peer.binary()
        );
    }
    assert!(
        settings.shoal.exists(),
        "no shoal binary at {}",
        settings.shoal.display()
    );

    let started_at = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let busy_before = busy_percent();
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| vec![("version".into(), format!("{}\n", version(i)))]),
        ..FleetSpec::new(settings.hosts)
    });
    let dir = tempfile::Builder::new()
        .prefix("shoal-fanout-bench-")
        .tempdir()
        .expect("a scratch directory");

    let inventory = dir.path().join("shoal.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).expect("write the inventory");
    let hosts_file = dir.path().join("hosts");
    let addresses: Vec<String> = fleet.hosts().iter().map(|n| n.addr.to_string()).collect();
    fs::write(&hosts_file, addresses.join("\n") + "\n").expect("write the hosts file");
    let control_dir = dir.path().join("cm");
    fs::create_dir(&control_dir).expect("create the ControlPath directory");

    let ssh_options = format!(
        "-F /dev/null -i {key} -o IdentitiesOnly=yes -o UserKnownHostsFile={known_hosts} \
         -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes \
         -o KexAlgorithms=curve25519-sha256",
        key = fleet.client_key().display(),
        known_hosts = fleet.known_hosts().display(),
    );
    // %C hashes local host, remote host, port and user: one socket per host, shared by
    // the three peers, short enough for a Unix socket path.
    let controlmaster_options = format!(
        "-o ControlMaster=auto -o ControlPath={}/%C -o ControlPersist=600",
        control_dir.display()
    );
    let bench = Bench {
        settings: &settings,
        fleet: &fleet,
        servers: Servers::find(&fleet),
        dir: dir.path().to_owned(),
        inventory,
        hosts_file,
        ssh_options,
        controlmaster_options,
        by_name: fleet
            .hosts()
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), version(i)))
            .collect(),
        by_addr: addresses
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), version(i)))
            .collect(),
    };

    // One untimed run each first: the first connections after sshd starts pay for page
    // cache and lazy setup that no later run does.
    eprintln!("fanout bench: {} hosts, warm-up", settings.hosts);
    let _ = bench.shoal_cold();
    let _ = bench.peer_cold(Peer::Pdsh);

    let mut results = Results::default();
    for run in 0..settings.runs {
        eprintln!("fanout bench: cold round {}/{}", run + 1, settings.runs);
        // Rotating the order spreads slow drifts of the machine over every tool.
        let mut order: Vec<Option<Peer>> = vec![None];
        order.extend(PEERS.map(Some));
        let len = order.len();
        order.rotate_left(run % len);
        for tool in order {
            match tool {
                None => {
                    results.record(Row::ShoalCold, bench.shoal_cold());
                    match bench.shoal_two_queries() {
                        Ok((first, second, note)) => {
                            results.record(Row::ShoalFirst, Ok(first));
                            results.record(Row::ShoalWarm, Ok(second));
                            if let Some(note) = note {
                                results.note(note);
                            }
                        }
                        Err(reason) => {
                            results.record(Row::ShoalFirst, Err(reason.clone()));
                            results.record(Row::ShoalWarm, Err(reason));
                        }
                    }
                }
                Some(peer) => results.record(Row::PeerCold(peer), bench.peer_cold(peer)),
            }
        }
    }

    if settings.controlmaster {
        eprintln!("fanout bench: opening ControlMaster connections");
        let logins = bench.logins();
        match bench.open_masters() {
            Ok(()) => {
                for run in 0..settings.runs {
                    eprintln!(
                        "fanout bench: ControlMaster round {}/{}",
                        run + 1,
                        settings.runs
                    );
                    let mut order = PEERS;
                    let len = order.len();
                    order.rotate_left(run % len);
                    for peer in order {
                        results
                            .record(Row::PeerControlMaster(peer), bench.peer_controlmaster(peer));
                    }
                }
            }
            Err(reason) => {
                for peer in PEERS {
                    results.record(
                        Row::PeerControlMaster(peer),
                        Err(format!("opening the masters failed: {reason}")),
                    );
                }
            }
        }
        // Priming logs in once per host; a warm run that logged in again was not warm.
        let logins = bench.logins() - logins;
        if logins != settings.hosts {
            results.note(format!(
                "the ControlMaster runs logged in {logins} times to {} hosts, not once each",
                settings.hosts
            ));
        }
        bench.close_masters();
    }

    let report = report(&settings, &results, &started_at, &busy_before);
    println!("{report}");
    if let Some(out) = &settings.out {
        if let Some(parent) = out.parent() {
            let _ = fs::create_dir_all(parent);
        }
        fs::write(out, &report).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
        eprintln!("fanout bench: report written to {}", out.display());
    }
}

/// The Markdown report: the machine, the table, the targets, and why any row failed.
fn report(settings: &Settings, results: &Results, started_at: &str, busy_before: &str) -> String {
    let mut md = String::new();
    let hosts = settings.hosts;
    let _ = writeln!(
        md,
        "### Fan-out: `hosts | run \"{REMOTE_COMMAND}\"` on {hosts} hosts\n"
    );
    md.push_str(&when_and_machine(
        started_at,
        &settings.revision,
        busy_before,
    ));
    let _ = writeln!(
        md,
        "- servers: {} × {hosts} on loopback; peers: {}, {}, parallel-ssh {}",
        first_line("ssh", &["-V"]),
        first_line("pdsh", &["-V"]),
        first_line("clush", &["--version"]),
        first_line("parallel-ssh", &["--version"])
    );
    let _ = writeln!(
        md,
        "- fan-out {}; {} runs per row (median and min of the runs whose {hosts} answers were \
         all correct); peers use `-o KexAlgorithms=curve25519-sha256` and strict host key \
         checking, like shoal\n",
        settings.fanout, settings.runs
    );

    let _ = writeln!(
        md,
        "| measurement | good runs | median s | min s | client CPU / host, ms | server CPU / host, ms |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let mut rows = vec![Row::ShoalCold, Row::ShoalFirst, Row::ShoalWarm];
    rows.extend(PEERS.map(Row::PeerCold));
    if settings.controlmaster {
        rows.extend(PEERS.map(Row::PeerControlMaster));
    }
    for &row in &rows {
        let attempts = results.attempts.get(&row).copied().unwrap_or(0);
        let good = results.samples.get(&row).map_or(0, Vec::len);
        let (median, min) = match results.seconds(row) {
            Some((median, min)) => (seconds_cell(Some(median)), seconds_cell(Some(min))),
            None => ("FAILED".into(), "FAILED".into()),
        };
        let failed = if good < attempts {
            " (FAILED runs)"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| {} | {good}/{attempts}{failed} | {median} | {min} | {} | {} |",
            row.label(),
            ms_cell(results.median_of(row, |s| s.cpu_per_host_ms)),
            ms_cell(results.median_of(row, |s| s.server_per_host_ms)),
        );
    }

    // The best peer is the one with the lowest median among those whose every run was right.
    let best = |kind: fn(Peer) -> Row| {
        PEERS
            .iter()
            .map(|&p| kind(p))
            .filter(|&row| results.all_ok(row))
            .filter_map(|row| Some((row, results.seconds(row)?.0)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    };
    let best_cold = best(Row::PeerCold);
    let best_cm = if settings.controlmaster {
        best(Row::PeerControlMaster)
    } else {
        None
    };
    let shoal_cold = results
        .all_ok(Row::ShoalCold)
        .then(|| results.seconds(Row::ShoalCold))
        .flatten();
    let shoal_warm = results
        .all_ok(Row::ShoalWarm)
        .then(|| results.seconds(Row::ShoalWarm))
        .flatten();
    let shoal_cpu = results
        .all_ok(Row::ShoalCold)
        .then(|| results.median_of(Row::ShoalCold, |s| s.cpu_per_host_ms))
        .flatten();
    let verdict = |met: Option<bool>| match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "not measured: some runs FAILED",
    };

    let _ = writeln!(md, "\n| target | measured (medians) | target | verdict |");
    let _ = writeln!(md, "|---|---|---|---|");
    let cold_ratio = shoal_cold
        .zip(best_cold)
        .map(|((shoal, _), (_, peer))| shoal / peer);
    let _ = writeln!(
        md,
        "| shoal cold / best peer cold | {} | ≤ 0.70 | {} |",
        match (shoal_cold, best_cold, cold_ratio) {
            (Some((shoal, _)), Some((row, peer)), Some(ratio)) =>
                format!("{ratio:.2} ({shoal:.2} s / {peer:.2} s, {})", row.label()),
            _ => "—".into(),
        },
        verdict(cold_ratio.map(|r| r <= 0.7))
    );
    let _ = writeln!(
        md,
        "| shoal warm, {hosts} hosts | {} | ≤ 0.30 s | {} |",
        match (shoal_warm, best_cm) {
            (Some((warm, _)), Some((row, peer))) => format!(
                "{warm:.2} s ({:.2}× {}: {peer:.2} s)",
                warm / peer,
                row.label()
            ),
            (Some((warm, _)), None) => format!("{warm:.2} s"),
            _ => "—".into(),
        },
        verdict(shoal_warm.map(|(warm, _)| warm <= 0.3))
    );
    let best_cpu = best_cold.and_then(|(row, _)| results.median_of(row, |s| s.cpu_per_host_ms));
    let _ = writeln!(
        md,
        "| client CPU per host, cold | {} | ≤ 3 ms | {} |",
        match (shoal_cpu, best_cpu) {
            (Some(cpu), Some(peer)) => format!("{cpu:.1} ms (best cold peer: {peer:.1} ms)"),
            (Some(cpu), None) => format!("{cpu:.1} ms"),
            _ => "—".into(),
        },
        verdict(shoal_cpu.map(|cpu| cpu <= 3.0))
    );

    if !results.notes.is_empty() {
        let _ = writeln!(md, "\nNotes:\n");
        for note in &results.notes {
            let _ = writeln!(md, "- {note}");
        }
    }
    if !results.failures.is_empty() {
        let _ = writeln!(md, "\nFailed runs:\n");
        for (row, reasons) in &results.failures {
            // Identical reasons (a tool failing the same way every run) are listed once.
            let mut seen = HashSet::new();
            for reason in reasons.iter().filter(|r| seen.insert(r.as_str())) {
                let _ = writeln!(md, "- {}: {reason}", row.label());
            }
        }
    }
    md
}
