//! The latency benchmark: shoal and its peers (clush, pdsh) on a fleet of real sshd servers,
//! each host behind its own delay proxy (tests/support/delay_proxy.rs) that holds every
//! chunk, both ways, for a fixed one-way latency. At each latency it times, with the peers in
//! the same run: a cold and a warm single `run`, a 3-`run` pipeline against clush running the
//! 3 commands in sequence, and `facts`; and, on one host, it counts the round trips of shoal's
//! cold `hosts H | run "true"` against OpenSSH's `ssh H true`, by wall time and exactly, from
//! the proxy's trace of the connection. It prints a Markdown table.
//!
//! A benchmark, not a test: `#[ignore]`d, run by `bench/latency.sh`, and it never asserts on a
//! time. It fails only when it cannot run at all (a peer missing, no fleet); a tool that gives
//! wrong or missing answers gets a FAILED row, so the table says what was measured.
//!
//! Every tool goes through the proxies: shoal's inventory and the peers' ssh_config name the
//! proxies' addresses, and the fleet's known_hosts records each host's key under its proxy's
//! `[address]:port`, so strict host key checking holds for all of them.
//!
//! Settings come from the environment (bench/latency.sh sets them):
//! - `HOSTS` (20): each proxy is a thread of its own, so keep it modest;
//! - `RUNS` (3) per row; `LATENCIES`, one-way, in ms (`25 100`); `FANOUT` (64);
//! - `SHOAL_BIN`: the shoal binary to time (default: the one cargo built with this test);
//! - `BENCH_OUT`: a file for the Markdown report, besides stdout;
//! - `BENCH_CONTROLMASTER=0` skips the peers' OpenSSH ControlMaster warm runs;
//! - `SHOAL_REV`: the revision being measured, printed in the report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::SocketAddrV4;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::fanout::{
    Servers, busy_percent, describe, excerpt, first_line, median, when_and_machine,
};
use crate::support::{DelayProxy, Direction, FleetSpec, SshdFleet, Trace};

/// The three commands of the pipeline; the first is also the single `run`. Each host answers
/// each one differently, so a tool that mixes up hosts is caught.
const A: &str = "cat /etc/app/version";
const B: &str = "hostname";
const C: &str = "cat /etc/app/serial";

/// A tool still running after this long is killed and its run counts as failed: a cold run
/// at 100 ms takes a few seconds, so this fires only on a hang.
const RUN_DEADLINE: Duration = Duration::from_secs(300);

/// What `cat /etc/app/version` and `cat /etc/app/serial` print on host `i`.
fn version(i: usize) -> String {
    format!("1.{i}.0")
}

fn serial(i: usize) -> String {
    format!("s-{i:03}")
}

struct Settings {
    hosts: usize,
    runs: usize,
    /// One-way, in ms.
    latencies: Vec<u64>,
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
        let latencies = std::env::var("LATENCIES")
            .unwrap_or_else(|_| "25 100".into())
            .split_whitespace()
            .map(|ms| {
                ms.parse()
                    .unwrap_or_else(|e| panic!("LATENCIES: {ms:?} is not a number of ms: {e}"))
            })
            .collect();
        Settings {
            hosts: number("HOSTS", 20).max(1),
            runs: number("RUNS", 3).max(1),
            latencies,
            fanout: number("FANOUT", 64),
            shoal: std::env::var_os("SHOAL_BIN")
                .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_shoal")), PathBuf::from),
            out: std::env::var_os("BENCH_OUT").map(PathBuf::from),
            controlmaster: std::env::var("BENCH_CONTROLMASTER").map_or(true, |v| v != "0"),
            revision: std::env::var("SHOAL_REV").unwrap_or_else(|_| "unknown".into()),
        }
    }
}

/// The kinds of measurement, one row each in a latency's table, in this order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Row {
    ShoalCold,
    ClushCold,
    PdshCold,
    ShoalWarm,
    ClushWarm,
    PdshWarm,
    ShoalCold3,
    ClushCold3,
    ShoalWarm3,
    ClushWarm3,
    FactsCold,
    FactsWarm,
    SshOneHost,
    ShoalOneHost,
}

impl Row {
    fn label(self) -> &'static str {
        match self {
            Row::ShoalCold => "shoal, cold single `run` (fresh `shoal -c`, wall)",
            Row::ClushCold => "clush, cold single run",
            Row::PdshCold => "pdsh -R ssh, cold single run",
            Row::ShoalWarm => "shoal, warm single `run` (2nd statement of one process)",
            Row::ClushWarm => "clush, warm ControlMaster",
            Row::PdshWarm => "pdsh -R ssh, warm ControlMaster",
            Row::ShoalCold3 => "shoal, cold 3-`run` pipeline (fresh `shoal -c`)",
            Row::ClushCold3 => "clush, the 3 commands in sequence, cold (3 invocations)",
            Row::ShoalWarm3 => "shoal, warm 3-`run` pipeline (2nd statement)",
            Row::ClushWarm3 => "clush, the 3 commands in sequence, warm ControlMaster",
            Row::FactsCold => "shoal, cold `hosts | facts` (fresh `shoal -c`)",
            Row::FactsWarm => "shoal, warm `hosts | facts` (2nd statement)",
            Row::SshOneHost => "OpenSSH `ssh HOST true`, cold, one host",
            Row::ShoalOneHost => "shoal `hosts HOST | run \"true\"`, cold, one host",
        }
    }
}

/// What one latency's runs gave.
#[derive(Default)]
struct Results {
    /// Seconds of each good run, per row.
    seconds: BTreeMap<Row, Vec<f64>>,
    /// Why runs failed, per row, in order.
    failures: BTreeMap<Row, Vec<String>>,
    attempts: BTreeMap<Row, usize>,
    /// The proxy's trace of each good one-host run's connection.
    traces: BTreeMap<Row, Vec<Trace>>,
    /// Things the numbers alone would hide, once each.
    notes: Vec<String>,
    /// The step lines of one untimed `ssh -vvv` to the first host, stamped.
    ssh_steps: Vec<(Duration, String)>,
}

impl Results {
    fn record(&mut self, row: Row, outcome: Result<f64, String>) {
        *self.attempts.entry(row).or_default() += 1;
        match outcome {
            Ok(seconds) => self.seconds.entry(row).or_default().push(seconds),
            Err(reason) => self.failures.entry(row).or_default().push(reason),
        }
    }

    fn note(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    /// The median of a row whose every run was right; `None` if any failed, so that no
    /// ratio rests on a tool that gave wrong answers.
    fn median(&self, row: Row) -> Option<f64> {
        if self.failures.contains_key(&row) {
            return None;
        }
        median(self.seconds.get(&row)?)
    }

    fn min(&self, row: Row) -> Option<f64> {
        self.seconds.get(&row)?.iter().copied().reduce(f64::min)
    }

    /// The median of the round trips the proxy counted, per row.
    fn round_trips(&self, row: Row) -> Option<(usize, usize)> {
        let counts: Vec<usize> = self
            .traces
            .get(&row)?
            .iter()
            .map(Trace::round_trips)
            .collect();
        Some((*counts.iter().min()?, *counts.iter().max()?))
    }
}

/// One latency's measurements, and what the proxies cost meanwhile.
struct Measured {
    latency_ms: u64,
    results: Results,
    /// CPU the proxies' threads used over the latency's runs, per host, in ms.
    proxy_cpu_per_host_ms: f64,
}

/// How a shoal statement's rows are checked, host by host.
#[derive(Clone, Copy)]
enum Expect {
    /// `run A`: the host's version.
    Version,
    /// The 3-`run` pipeline: version, host name and serial, in `a`, `b` and `c`.
    Pipeline,
    /// `facts`: the host's own hostname among the facts.
    Facts,
    /// `run "true"`: exit 0.
    True,
}

impl Expect {
    fn holds(self, i: usize, name: &str, row: &serde_json::Value) -> bool {
        let text = |key: &str| row[key].as_str();
        row["status"].as_str() == Some("ok")
            && match self {
                Expect::Version => text("stdout") == Some(version(i).as_str()),
                Expect::Pipeline => {
                    text("a") == Some(version(i).as_str())
                        && text("b") == Some(name)
                        && text("c") == Some(serial(i).as_str())
                }
                Expect::Facts => text("hostname") == Some(name),
                Expect::True => row["exit"].as_i64() == Some(0),
            }
    }
}

/// A process run to its end, each stdout line stamped with when it arrived: shoal prints
/// each statement's JSON as the statement ends, so the time between two lines is the
/// second statement's, to the millisecond (the summary lines on stderr round to 10 ms,
/// which is a fifth of a round trip at 25 ms).
struct Ran {
    wall: Duration,
    lines: Vec<(Duration, String)>,
    status: ExitStatus,
    stderr: String,
}

impl Ran {
    fn stdout(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|(_, line)| line.as_str())
    }

    fn failed(&self, why: &str) -> String {
        format!(
            "{why}; exit {}; stderr: {}",
            describe(self.status),
            excerpt(&self.stderr)
        )
    }
}

/// Runs `command` to its end in its own process group (killed whole at the deadline), stdout
/// read line by line as it comes, stderr into a file of `scratch`.
// The child is reaped by wait(2) on its pid below, since its stdout is moved to the reader.
#[expect(clippy::zombie_processes, reason = "reaped by libc::waitpid below")]
fn run(command: &mut Command, scratch: &Path, deadline: Duration) -> Ran {
    let err_path = scratch.join("stderr");
    let stderr = File::create(&err_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", err_path.display()));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .process_group(0);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = libc::pid_t::try_from(child.id()).expect("pids fit in pid_t");
    let stdout = child.stdout.take().expect("stdout is piped");
    // Lines go into a shared list rather than the thread's result, so that a background
    // process that kept the pipe open (an OpenSSH master whose stdout was not closed)
    // cannot hold the benchmark up: what arrived by the tool's exit is its output.
    let lines: Arc<Mutex<Vec<(Duration, String)>>> = Arc::default();
    let (read_all, reader_done) = mpsc::channel::<()>();
    {
        let lines = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let stamped = (started.elapsed(), line);
                lines
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(stamped);
            }
            let _ = read_all.send(());
        });
    }
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if finished.recv_timeout(deadline).is_err() {
            // SAFETY: kill(2) takes plain integers; the group is not reaped before `done`.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    });
    let mut raw_status = 0;
    // SAFETY: a pointer to a live local; waitpid only writes it.
    let reaped = unsafe { libc::waitpid(pid, &mut raw_status, 0) };
    let wall = started.elapsed();
    let _ = done.send(());
    let _ = watchdog.join();
    assert_eq!(
        reaped,
        pid,
        "waitpid failed: {}",
        std::io::Error::last_os_error()
    );
    let _ = reader_done.recv_timeout(Duration::from_secs(2));
    let lines = std::mem::take(&mut *lines.lock().unwrap_or_else(|p| p.into_inner()));
    Ran {
        wall,
        lines,
        status: ExitStatus::from_raw(raw_status),
        stderr: String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into(),
    }
}

/// The fleet at one latency: its proxies and the files that point every tool at them.
struct Bench<'a> {
    settings: &'a Settings,
    fleet: &'a SshdFleet,
    servers: &'a Servers,
    proxies: &'a [DelayProxy],
    dir: &'a Path,
    inventory: PathBuf,
    /// An empty ssh_config for shoal, so that no ~/.ssh/config changes what it does.
    no_ssh_config: PathBuf,
    /// The peers' ssh_config: every host at its proxy, same user, key and known_hosts as
    /// shoal, strict checking, curve25519 key exchange (as shoal prefers).
    ssh_config: PathBuf,
    /// The same with ControlMaster connections kept open (`ControlPersist`).
    ssh_config_cm: PathBuf,
    hosts_file: PathBuf,
    index_of: HashMap<String, usize>,
}

impl<'a> Bench<'a> {
    fn new(
        settings: &'a Settings,
        fleet: &'a SshdFleet,
        servers: &'a Servers,
        proxies: &'a [DelayProxy],
        dir: &'a Path,
    ) -> Bench<'a> {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            path
        };
        let inventory = write("shoal.toml", &fleet.inventory_toml(|_| Vec::new()));
        let no_ssh_config = write("no_ssh_config", "");
        let mut hosts = String::new();
        for (node, proxy) in fleet.hosts().iter().zip(proxies) {
            let _ = writeln!(
                hosts,
                "Host {}\n    HostName {}\n    Port {}",
                node.name,
                proxy.addr().ip(),
                proxy.addr().port()
            );
        }
        let common = format!(
            "Host *\n    User {user}\n    IdentityFile {key}\n    IdentitiesOnly yes\n    \
             UserKnownHostsFile {known_hosts}\n    GlobalKnownHostsFile /dev/null\n    \
             StrictHostKeyChecking yes\n    BatchMode yes\n    KexAlgorithms curve25519-sha256\n",
            user = fleet.user(),
            key = fleet.client_key().display(),
            known_hosts = fleet.known_hosts().display(),
        );
        let header = "# Written by tests/benches/latency.rs: every host at its delay proxy.\n";
        let ssh_config = write("ssh_config", &format!("{header}{hosts}{common}"));
        let control_dir = dir.join("cm");
        fs::create_dir_all(&control_dir).expect("create the ControlPath directory");
        // %C hashes host, port and user: one socket per host, short enough for a socket path.
        let ssh_config_cm = write(
            "ssh_config_cm",
            &format!(
                "{header}{hosts}{common}    ControlMaster auto\n    ControlPath {}/%C\n    \
                 ControlPersist 600\n",
                control_dir.display()
            ),
        );
        let names: Vec<&str> = fleet.hosts().iter().map(|n| n.name.as_str()).collect();
        let hosts_file = write("hosts", &(names.join("\n") + "\n"));
        Bench {
            settings,
            fleet,
            servers,
            proxies,
            dir,
            inventory,
            no_ssh_config,
            ssh_config,
            ssh_config_cm,
            hosts_file,
            index_of: names
                .iter()
                .enumerate()
                .map(|(i, n)| ((*n).to_owned(), i))
                .collect(),
        }
    }

    fn hosts(&self) -> usize {
        self.settings.hosts
    }

    fn first_host(&self) -> &str {
        &self.fleet.hosts()[0].name
    }

    fn shoal(&self, statements: &str) -> Command {
        let mut command = Command::new(&self.settings.shoal);
        command
            .arg("--inventory")
            .arg(&self.inventory)
            .arg("--ssh-config")
            .arg(&self.no_ssh_config)
            .args(["--fanout", &self.settings.fanout.to_string()])
            // The job store is on, as users run shoal, but in the scratch directory.
            .arg("--store")
            .arg(self.dir.join("store.db"))
            // JSON so every row can be checked, one line per statement to stamp.
            .args(["--format", "json", "-c", statements])
            .env("NO_COLOR", "1")
            .env_remove("SHOAL_INVENTORY")
            .env_remove("SSH_AUTH_SOCK")
            .current_dir(self.dir);
        command
    }

    fn config(&self, controlmaster: bool) -> &Path {
        if controlmaster {
            &self.ssh_config_cm
        } else {
            &self.ssh_config
        }
    }

    fn clush(&self, command: &str, controlmaster: bool) -> Command {
        let mut clush = Command::new("clush");
        clush
            .args(["-f", &self.settings.fanout.to_string(), "-o"])
            .arg(format!("-F {}", self.config(controlmaster).display()))
            .arg("--hostfile")
            .arg(&self.hosts_file)
            .arg(command)
            .env_remove("SSH_AUTH_SOCK")
            .current_dir(self.dir);
        clush
    }

    fn pdsh(&self, command: &str, controlmaster: bool) -> Command {
        let mut pdsh = Command::new("pdsh");
        pdsh.env(
            "PDSH_SSH_ARGS_APPEND",
            format!("-F {}", self.config(controlmaster).display()),
        )
        // pdsh passes `-l` itself (the local user unless told), which beats ssh_config's User.
        .args(["-R", "ssh", "-f", &self.settings.fanout.to_string()])
        .args(["-l", self.fleet.user(), "-w"])
        .arg(format!("^{}", self.hosts_file.display()))
        .arg(command)
        .env_remove("SSH_AUTH_SOCK")
        .current_dir(self.dir);
        pdsh
    }

    /// Checks each statement's JSON line against its expectation: every host (or the one
    /// host, for `Expect::True`) with a right answer.
    fn check_shoal(&self, ran: &Ran, expects: &[Expect]) -> Result<(), String> {
        let lines: Vec<&str> = ran.stdout().collect();
        if lines.len() != expects.len() {
            return Err(ran.failed(&format!(
                "{} results for {} statements",
                lines.len(),
                expects.len()
            )));
        }
        for (n, (line, expect)) in lines.iter().zip(expects).enumerate() {
            let rows: Vec<serde_json::Value> = match serde_json::from_str(line) {
                Ok(serde_json::Value::Array(rows)) => rows,
                _ => return Err(ran.failed(&format!("statement {}: not a JSON array", n + 1))),
            };
            let expected = if matches!(expect, Expect::True) {
                1
            } else {
                self.hosts()
            };
            let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
            let mut correct = HashSet::new();
            for row in &rows {
                *statuses
                    .entry(row["status"].as_str().unwrap_or("?").to_owned())
                    .or_default() += 1;
                let name = row["host"].as_str().unwrap_or_default();
                if let Some(&i) = self.index_of.get(name)
                    && expect.holds(i, name, row)
                {
                    correct.insert(name.to_owned());
                }
            }
            if correct.len() != expected || rows.len() != expected {
                let statuses: Vec<String> =
                    statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
                return Err(ran.failed(&format!(
                    "statement {}: {}/{expected} correct answers ({})",
                    n + 1,
                    correct.len(),
                    statuses.join(", ")
                )));
            }
        }
        if !ran.status.success() {
            return Err(ran.failed("all answers correct but a non-zero exit"));
        }
        Ok(())
    }

    /// A fresh `shoal -c` process: its wall time, start to exit, once its rows are right.
    fn shoal_cold(&self, statement: &str, expect: Expect) -> Result<f64, String> {
        let ran = run(&mut self.shoal(statement), self.dir, RUN_DEADLINE);
        self.servers.settle();
        self.check_shoal(&ran, &[expect])?;
        Ok(ran.wall.as_secs_f64())
    }

    /// One process, two statements: the second one's time, from its JSON line to the
    /// first's. The second must run on the first's pooled connections: a process that
    /// logged in more than once per host gets a note.
    fn shoal_warm(
        &self,
        first: &str,
        second: &str,
        expects: [Expect; 2],
        results: &mut Results,
    ) -> Result<f64, String> {
        let logins = self.logins();
        let ran = run(
            &mut self.shoal(&format!("{first}; {second}")),
            self.dir,
            RUN_DEADLINE,
        );
        self.servers.settle();
        self.check_shoal(&ran, &expects)?;
        let logins = self.logins() - logins;
        if logins != self.hosts() {
            results.note(format!(
                "a two-statement shoal process (`{second}` second) logged in {logins} times to \
                 {} hosts: its second statement was not all warm",
                self.hosts()
            ));
        }
        Ok((ran.lines[1].0 - ran.lines[0].0).as_secs_f64())
    }

    /// Every host's `NAME: ANSWER` line must be there and right.
    fn check_peer(&self, ran: &Ran, answer: impl Fn(usize, &str) -> String) -> Result<(), String> {
        let correct: HashSet<&str> = ran
            .stdout()
            .filter_map(|line| {
                let (name, said) = line.split_once(": ")?;
                let &i = self.index_of.get(name)?;
                (said.trim_end() == answer(i, name)).then_some(name)
            })
            .collect();
        if correct.len() == self.hosts() && ran.status.success() {
            return Ok(());
        }
        Err(ran.failed(&format!(
            "{}/{} correct answers",
            correct.len(),
            self.hosts()
        )))
    }

    /// One run of a peer, checked; cold runs wait for the servers to close their sessions.
    fn peer(
        &self,
        mut command: Command,
        answer: impl Fn(usize, &str) -> String,
    ) -> Result<f64, String> {
        let ran = run(&mut command, self.dir, RUN_DEADLINE);
        self.check_peer(&ran, answer)?;
        Ok(ran.wall.as_secs_f64())
    }

    fn clush_cold(&self) -> Result<f64, String> {
        let seconds = self.peer(self.clush(A, false), |i, _| version(i));
        self.servers.settle();
        seconds
    }

    fn pdsh_cold(&self) -> Result<f64, String> {
        let seconds = self.peer(self.pdsh(A, false), |i, _| version(i));
        self.servers.settle();
        seconds
    }

    /// clush running A, B and C one after the other, as a user without a pipeline would:
    /// the sum of the three invocations' wall times.
    fn clush_three(&self, controlmaster: bool) -> Result<f64, String> {
        let a = self.peer(self.clush(A, controlmaster), |i, _| version(i));
        let b = a.and_then(|a| Ok(a + self.peer(self.clush(B, controlmaster), |_, n| n.into())?));
        let c = b.and_then(|b| Ok(b + self.peer(self.clush(C, controlmaster), |i, _| serial(i))?));
        if !controlmaster {
            self.servers.settle();
        }
        c
    }

    /// One cold connection to the first host: its wall time, and the proxy's trace of it.
    fn one_host(&self, row: Row, results: &mut Results) {
        let proxy = &self.proxies[0];
        let _ = proxy.take_traces();
        let outcome = match row {
            Row::SshOneHost => {
                let mut ssh = Command::new("ssh");
                ssh.arg("-F")
                    .arg(&self.ssh_config)
                    .args([self.first_host(), "true"])
                    .env_remove("SSH_AUTH_SOCK");
                let ran = run(&mut ssh, self.dir, RUN_DEADLINE);
                if ran.status.success() {
                    Ok(ran.wall.as_secs_f64())
                } else {
                    Err(ran.failed("ssh failed"))
                }
            }
            _ => {
                let query = format!("hosts {} | run \"true\"", self.first_host());
                let ran = run(&mut self.shoal(&query), self.dir, RUN_DEADLINE);
                self.check_shoal(&ran, &[Expect::True])
                    .map(|()| ran.wall.as_secs_f64())
            }
        };
        self.servers.settle();
        let traces = proxy.take_traces();
        let outcome = outcome.and_then(|seconds| match <[Trace; 1]>::try_from(traces) {
            Ok([trace]) => {
                results.traces.entry(row).or_default().push(trace);
                Ok(seconds)
            }
            Err(traces) => Err(format!(
                "{} connections through the proxy, not one",
                traces.len()
            )),
        });
        results.record(row, outcome);
    }

    /// One untimed `ssh -vvv HOST true` to the first host: its debug lines that mark the
    /// protocol's steps, with when each was logged.
    fn ssh_steps(&self) -> Vec<(Duration, String)> {
        let mut ssh = Command::new("ssh");
        // -E: the log to stdout, where `run` stamps each line as it comes.
        ssh.args(["-vvv", "-E", "/dev/stdout", "-F"])
            .arg(&self.ssh_config)
            .args([self.first_host(), "true"])
            .env_remove("SSH_AUTH_SOCK");
        let ran = run(&mut ssh, self.dir, RUN_DEADLINE);
        self.servers.settle();
        ran.lines
            .into_iter()
            .filter(|(_, line)| SSH_STEPS.iter().any(|step| line.contains(step)))
            .collect()
    }

    /// Logins the servers have accepted so far, over the whole fleet.
    fn logins(&self) -> usize {
        (0..self.hosts())
            .map(|host| self.fleet.accepted_connections(host))
            .sum()
    }

    /// Opens a ControlMaster connection to every host (untimed), through pdsh.
    fn open_masters(&self) -> Result<(), String> {
        self.peer(self.pdsh(A, true), |i, _| version(i)).map(|_| ())
    }

    /// Asks every master to exit, then waits for the servers to close those connections.
    fn close_masters(&self) {
        for node in self.fleet.hosts() {
            let _ = Command::new("ssh")
                .arg("-F")
                .arg(&self.ssh_config_cm)
                .args(["-O", "exit", &node.name])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.servers.settle();
    }

    /// The cold and warm rows of the whole fleet, then the one-host rows, `RUNS` rounds of
    /// each, the tools' order rotated every round so that slow drifts of a shared machine
    /// fall on all of them; then the peers' ControlMaster rounds.
    fn measure_fleet(&self, results: &mut Results) {
        let single = format!("hosts | run \"{A}\"");
        let pipeline = format!("hosts | run \"{A}\" as a | run \"{B}\" as b | run \"{C}\" as c");
        let facts = "hosts | facts timeout=30s";
        // One untimed run each first: the first connections after sshd starts pay for page
        // cache and lazy setup that no later run does.
        let _ = self.shoal_cold(&single, Expect::Version);
        let _ = self.clush_cold();

        type Task<'t> = Box<dyn Fn(&mut Results) + 't>;
        let tasks: Vec<Task<'_>> = vec![
            Box::new(|r| r.record(Row::ShoalCold, self.shoal_cold(&single, Expect::Version))),
            Box::new(|r| r.record(Row::ClushCold, self.clush_cold())),
            Box::new(|r| r.record(Row::PdshCold, self.pdsh_cold())),
            Box::new(|r| {
                r.record(
                    Row::ShoalCold3,
                    self.shoal_cold(&pipeline, Expect::Pipeline),
                )
            }),
            Box::new(|r| r.record(Row::ClushCold3, self.clush_three(false))),
            Box::new(|r| r.record(Row::FactsCold, self.shoal_cold(facts, Expect::Facts))),
            Box::new(|r| {
                let warm = self.shoal_warm(&single, &single, [Expect::Version; 2], r);
                r.record(Row::ShoalWarm, warm);
            }),
            Box::new(|r| {
                let expects = [Expect::Version, Expect::Pipeline];
                let warm = self.shoal_warm(&single, &pipeline, expects, r);
                r.record(Row::ShoalWarm3, warm);
            }),
            Box::new(|r| {
                let warm = self.shoal_warm(facts, facts, [Expect::Facts; 2], r);
                r.record(Row::FactsWarm, warm);
            }),
            Box::new(|r| {
                self.one_host(Row::SshOneHost, r);
                self.one_host(Row::ShoalOneHost, r);
            }),
        ];
        for round in 0..self.settings.runs {
            eprintln!("latency bench: round {}/{}", round + 1, self.settings.runs);
            let mut order: Vec<&Task> = tasks.iter().collect();
            order.rotate_left(round % tasks.len());
            for task in order {
                task(results);
            }
        }

        results.ssh_steps = self.ssh_steps();

        if !self.settings.controlmaster {
            return;
        }
        eprintln!("latency bench: opening ControlMaster connections");
        match self.open_masters() {
            Ok(()) => {
                for round in 0..self.settings.runs {
                    let mut rows = [Row::ClushWarm, Row::PdshWarm, Row::ClushWarm3];
                    rows.rotate_left(round % 3);
                    for row in rows {
                        let seconds = match row {
                            Row::ClushWarm => self.peer(self.clush(A, true), |i, _| version(i)),
                            Row::PdshWarm => self.peer(self.pdsh(A, true), |i, _| version(i)),
                            _ => self.clush_three(true),
                        };
                        results.record(row, seconds);
                    }
                }
            }
            Err(reason) => {
                for row in [Row::ClushWarm, Row::PdshWarm, Row::ClushWarm3] {
                    results.record(row, Err(format!("opening the masters failed: {reason}")));
                }
            }
        }
        self.close_masters();
    }

    /// Only the one-host rows, `RUNS` times: at 0 ms, the fixed cost (process start, CPU)
    /// that the round trips add to.
    fn measure_one_host(&self, results: &mut Results) {
        for round in 0..self.settings.runs {
            let mut rows = [Row::SshOneHost, Row::ShoalOneHost];
            rows.rotate_left(round % 2);
            for row in rows {
                self.one_host(row, results);
            }
        }
    }
}

/// Puts every host of `fleet` behind a new proxy at `latency` (dropping the old ones first,
/// which closes their connections), and records the proxies' addresses in its known_hosts.
fn route(fleet: &mut SshdFleet, proxies: &mut Vec<DelayProxy>, latency: Duration) {
    proxies.clear();
    for i in 0..fleet.hosts().len() {
        let node = fleet.hosts()[i].clone();
        // On the host's own address, any port: a host keeps its address, as behind a NAT.
        let proxy = DelayProxy::start(
            SocketAddrV4::new(node.addr, 0),
            SocketAddrV4::new(node.addr, node.port),
            latency,
        );
        fleet.route_through(i, proxy.addr());
        proxies.push(proxy);
    }
}

/// CPU used so far by each of this process's tokio worker threads, by thread id, in ms:
/// those threads are only the proxies' (the benchmark runs shoal as a separate process).
/// From schedstat, in nanoseconds, since a proxy uses less than stat's 10 ms tick over a
/// whole latency's runs.
fn proxy_threads_cpu_ms() -> HashMap<String, f64> {
    let mut threads = HashMap::new();
    for task in fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let task = task.path();
        let is_proxy = fs::read_to_string(task.join("comm"))
            // tokio's default thread names: `tokio-rt-worker`, `tokio-runtime-worker` before.
            .is_ok_and(|name| name.starts_with("tokio-r"));
        let nanoseconds = fs::read_to_string(task.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        if let (true, Some(ns), Some(tid)) = (is_proxy, nanoseconds, task.file_name()) {
            threads.insert(tid.to_string_lossy().into_owned(), ns as f64 / 1e6);
        }
    }
    threads
}

/// The lines of `ssh -vvv` that mark the protocol's steps, to set beside the proxy's trace.
const SSH_STEPS: &[&str] = &[
    "Connection established",
    "Remote protocol version",
    "SSH2_MSG_KEXINIT sent",
    "SSH2_MSG_KEXINIT received",
    "expecting SSH2_MSG_KEX_ECDH_REPLY",
    "SSH2_MSG_NEWKEYS sent",
    "SSH2_MSG_NEWKEYS received",
    "SSH2_MSG_SERVICE_ACCEPT received",
    "SSH2_MSG_EXT_INFO received",
    "Authentications that can continue",
    "Offering public key",
    "Server accepts key",
    "Authenticated to",
    "channel 0: new",
    "Requesting no-more-sessions",
    "Entering interactive session",
    "Sending command",
    "exit-status",
    "Transferred",
];

#[test]
#[ignore = "a benchmark: run it with bash bench/latency.sh"]
fn latency_benchmark() {
    let settings = Settings::from_env();
    for tool in ["clush", "pdsh", "ssh"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            "{tool} is not installed; bench/latency.sh installs it"
        );
    }
    assert!(
        settings.shoal.exists(),
        "no shoal binary at {}",
        settings.shoal.display()
    );

    let started_at = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let busy_before = busy_percent();
    let mut fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|i| {
            vec![
                ("version".into(), format!("{}\n", version(i))),
                ("serial".into(), format!("{}\n", serial(i))),
            ]
        }),
        ..FleetSpec::new(settings.hosts)
    });
    let servers = Servers::find(&fleet);
    let mut proxies = Vec::new();
    let mut measured = Vec::new();
    // 0 ms first, one host only: the fixed cost of each client, without round trips.
    for latency_ms in std::iter::once(0).chain(settings.latencies.iter().copied()) {
        let baseline = measured.is_empty();
        let dir = tempfile::Builder::new()
            .prefix("shoal-latency-bench-")
            .tempdir()
            .expect("a scratch directory");
        // The old proxies' threads may still be winding down: count only the new ones'.
        let old_threads = proxy_threads_cpu_ms();
        route(&mut fleet, &mut proxies, Duration::from_millis(latency_ms));
        let bench = Bench::new(&settings, &fleet, &servers, &proxies, dir.path());
        let mut results = Results::default();
        eprintln!(
            "latency bench: {latency_ms} ms one-way, {}",
            if baseline {
                "one host (baseline)".to_owned()
            } else {
                format!("{} hosts", settings.hosts)
            }
        );
        if baseline {
            bench.measure_one_host(&mut results);
        } else {
            bench.measure_fleet(&mut results);
        }
        let proxy_cpu_ms: f64 = proxy_threads_cpu_ms()
            .iter()
            .filter(|(tid, _)| !old_threads.contains_key(*tid))
            .map(|(_, ms)| ms)
            .sum();
        let proxy_cpu_per_host_ms = proxy_cpu_ms / settings.hosts as f64;
        measured.push(Measured {
            latency_ms,
            results,
            proxy_cpu_per_host_ms,
        });
    }
    drop(proxies);

    let report = report(&settings, &measured, &started_at, &busy_before);
    println!("{report}");
    if let Some(out) = &settings.out {
        if let Some(parent) = out.parent() {
            let _ = fs::create_dir_all(parent);
        }
        fs::write(out, &report).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
        eprintln!("latency bench: report written to {}", out.display());
    }
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "FAILED".into(), |s| format!("{s:.3}"))
}

/// `0.42× clush`, or nothing when either side has no good median.
fn ratio(results: &Results, row: Row, to: Row, name: &str) -> Option<String> {
    let (a, b) = (results.median(row)?, results.median(to)?);
    Some(format!("{:.2}× {name}", a / b))
}

/// The comparisons a row's table line shows.
fn compared(results: &Results, row: Row) -> String {
    let parts: Vec<Option<String>> = match row {
        Row::ShoalCold => vec![
            ratio(results, row, Row::ClushCold, "clush"),
            ratio(results, row, Row::PdshCold, "pdsh"),
        ],
        Row::ShoalWarm => vec![
            ratio(results, row, Row::ClushWarm, "clush ControlMaster"),
            ratio(results, row, Row::PdshWarm, "pdsh ControlMaster"),
        ],
        Row::ShoalCold3 => vec![
            ratio(results, row, Row::ShoalCold, "shoal cold single"),
            ratio(results, row, Row::ClushCold3, "clush 3× cold"),
        ],
        Row::ClushCold3 => vec![ratio(results, row, Row::ClushCold, "clush cold single")],
        Row::ShoalWarm3 => vec![
            ratio(results, row, Row::ShoalWarm, "shoal warm single"),
            ratio(results, row, Row::ClushWarm3, "clush 3× ControlMaster"),
        ],
        Row::ClushWarm3 => vec![ratio(results, row, Row::ClushWarm, "clush warm single")],
        Row::FactsCold => vec![ratio(results, row, Row::ShoalCold, "shoal cold `run`")],
        Row::FactsWarm => vec![ratio(results, row, Row::ShoalWarm, "shoal warm `run`")],
        Row::ShoalOneHost => vec![ratio(results, row, Row::SshOneHost, "ssh")],
        _ => vec![],
    };
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(", ")
    }
}

/// One of a connection's round trips, as the client lived it: what it sent, what arrived
/// meanwhile that was not an answer, and when and how much of the answer came back.
struct Exchange {
    sent_at: Duration,
    sent: usize,
    /// When the client's first chunk of it reached the server: only what the server sent
    /// after that can answer it (as `Trace::round_trips` counts).
    reached: Duration,
    unprompted: usize,
    answered: Option<(Duration, usize)>,
}

/// The trace as a list of exchanges; the last may be unanswered (the client's goodbye).
fn exchanges(trace: &Trace) -> Vec<Exchange> {
    let mut out: Vec<Exchange> = Vec::new();
    for event in &trace.events {
        let open = out.last_mut().filter(|e| e.answered.is_none());
        match (event.direction, open) {
            (Direction::ToServer, Some(open)) => open.sent += event.bytes,
            (Direction::ToServer, None) => out.push(Exchange {
                sent_at: event.at,
                sent: event.bytes,
                reached: event.server_at.unwrap_or(Duration::MAX),
                unprompted: 0,
                answered: None,
            }),
            (Direction::ToClient, Some(open)) => {
                if event.server_at.unwrap_or(Duration::ZERO) >= open.reached {
                    open.answered = Some((event.at, event.bytes));
                } else {
                    open.unprompted += event.bytes;
                }
            }
            // More of the last answer (or, before the client sent anything, nothing to
            // count: SSH clients speak first through this proxy).
            (Direction::ToClient, None) => {
                if let Some((_, bytes)) = out.last_mut().and_then(|e| e.answered.as_mut()) {
                    *bytes += event.bytes;
                }
            }
        }
    }
    out
}

fn report(
    settings: &Settings,
    measured: &[Measured],
    started_at: &str,
    busy_before: &str,
) -> String {
    let mut md = String::new();
    let hosts = settings.hosts;
    let _ = writeln!(
        md,
        "### Latency: {hosts} hosts, each behind a delay proxy\n"
    );
    md.push_str(&when_and_machine(
        started_at,
        &settings.revision,
        busy_before,
    ));
    let _ = writeln!(
        md,
        "- servers: {} × {hosts} on loopback, one delay proxy each; peers: {}, {}",
        first_line("ssh", &["-V"]),
        first_line("pdsh", &["-V"]),
        first_line("clush", &["--version"]),
    );
    let _ = writeln!(
        md,
        "- fan-out {}; {} runs per row, median and min of the runs whose answers were all \
         correct; cold rows are a fresh process's wall time, shoal's warm rows the time between \
         its first and second statement's output\n",
        settings.fanout, settings.runs
    );

    // The first is the 0 ms baseline, which has only the one-host rows (below).
    for m in &measured[1..] {
        let r = &m.results;
        let _ = writeln!(
            md,
            "#### {} ms one-way ({} ms round trip)\n",
            m.latency_ms,
            2 * m.latency_ms
        );
        let _ = writeln!(
            md,
            "| measurement | good runs | median s | min s | compared (medians) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|");
        for (&row, attempts) in &r.attempts {
            let good = r.seconds.get(&row).map_or(0, Vec::len);
            let failed = if good < *attempts {
                " (FAILED runs)"
            } else {
                ""
            };
            let _ = writeln!(
                md,
                "| {} | {good}/{attempts}{failed} | {} | {} | {} |",
                in_table(row.label()),
                cell(r.median(row)),
                cell(r.min(row)),
                compared(r, row)
            );
        }
        let verdict = |value: Option<f64>, limit: f64| match value {
            Some(v) if v <= limit => format!("{v:.2}: met"),
            Some(v) => format!("{v:.2}: **NOT met**"),
            None => "not measured: some runs FAILED".into(),
        };
        let over = |a: Row, b: Row| r.median(a).zip(r.median(b)).map(|(a, b)| a / b);
        let _ = writeln!(md, "\n| target (issue 19) | ratio of medians | limit |");
        let _ = writeln!(md, "|---|---|---|");
        let _ = writeln!(
            md,
            "| 3-`run` pipeline / single `run`, cold | {} | ≤ 1.3 |",
            verdict(over(Row::ShoalCold3, Row::ShoalCold), 1.3)
        );
        let _ = writeln!(
            md,
            "| 3-`run` pipeline / single `run`, warm | {} | ≤ 1.3 |",
            verdict(over(Row::ShoalWarm3, Row::ShoalWarm), 1.3)
        );
        let _ = writeln!(
            md,
            "| shoal cold / clush cold | {} | ≤ 1.0 |",
            verdict(over(Row::ShoalCold, Row::ClushCold), 1.0)
        );
        let _ = writeln!(
            md,
            "\nThe delay proxies (one thread each) used {:.1} ms of CPU per host over this \
             latency's runs.",
            m.proxy_cpu_per_host_ms
        );
        write_notes(&mut md, r);
    }

    let _ = writeln!(md, "#### Cold round trips, one host\n");
    let _ = writeln!(
        md,
        "`round trips` by time is (wall − the same at 0 ms) / round trip; by the proxy, it \
         is how many times the client sent and then heard back on its one connection \
         (tests/support/delay_proxy.rs). The proxy does not delay TCP's handshake, which on a \
         real network adds one round trip to both.\n"
    );
    let _ = writeln!(
        md,
        "| one-way ms | client | good runs | median wall s | wall / RTT | round trips by time | round trips by the proxy |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    let base = &measured[0].results;
    for m in measured {
        for row in [Row::SshOneHost, Row::ShoalOneHost] {
            let r = &m.results;
            let attempts = r.attempts.get(&row).copied().unwrap_or(0);
            let good = r.seconds.get(&row).map_or(0, Vec::len);
            let wall = r.median(row);
            let rtt = 2.0 * m.latency_ms as f64 / 1000.0;
            let per_rtt = |value: Option<f64>| match value {
                Some(v) if rtt > 0.0 => format!("{:.1}", v / rtt),
                _ => "—".into(),
            };
            // At 0 ms nothing tells an answer from data already on its way.
            let trips = match r.round_trips(row) {
                Some((lo, hi)) if m.latency_ms > 0 => {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}–{hi}")
                    }
                }
                _ => "—".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {good}/{attempts} | {} | {} | {} | {trips} |",
                m.latency_ms,
                if row == Row::SshOneHost {
                    "OpenSSH `ssh`"
                } else {
                    "shoal"
                },
                cell(wall),
                per_rtt(wall),
                per_rtt(wall.zip(base.median(row)).map(|(w, b)| w - b)),
            );
        }
    }

    // The exchanges of one connection each at the highest latency, to tell them apart.
    if let Some(m) = measured
        .iter()
        .filter(|m| m.latency_ms > 0)
        .max_by_key(|m| m.latency_ms)
    {
        for row in [Row::SshOneHost, Row::ShoalOneHost] {
            let Some(trace) = m.results.traces.get(&row).and_then(|t| t.first()) else {
                continue;
            };
            let _ = writeln!(
                md,
                "\n{} at {} ms one-way, its exchanges (ms after the proxy accepted the \
                 connection; bytes as sent):\n",
                row.label(),
                m.latency_ms
            );
            let _ = writeln!(
                md,
                "| # | client sends at | bytes | not an answer, bytes | answer arrives at | bytes |"
            );
            let _ = writeln!(md, "|---|---|---|---|---|---|");
            for (n, e) in exchanges(trace).iter().enumerate() {
                let (at, bytes) = e.answered.map_or_else(
                    || ("— (none)".to_owned(), "—".to_owned()),
                    |(at, bytes)| (at.as_millis().to_string(), bytes.to_string()),
                );
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {at} | {bytes} |",
                    n + 1,
                    e.sent_at.as_millis(),
                    e.sent,
                    e.unprompted,
                );
            }
        }
    }
    if let Some(m) = measured.iter().max_by_key(|m| m.latency_ms)
        && !m.results.ssh_steps.is_empty()
    {
        let _ = writeln!(
            md,
            "\nOpenSSH's own account of such a connection at {} ms one-way (`ssh -vvv`, one \
             untimed run; ms since ssh started, a few ms before the proxy accepted):\n",
            m.latency_ms
        );
        let _ = writeln!(md, "| ms | ssh -vvv |\n|---|---|");
        for (at, line) in &m.results.ssh_steps {
            let _ = writeln!(md, "| {} | `{}` |", at.as_millis(), in_table(line));
        }
    }
    md
}

/// Text for a Markdown table's cell: GitHub ends a cell at any `|`, even in a code span.
fn in_table(text: &str) -> String {
    text.replace('|', "\\|")
}

fn write_notes(md: &mut String, results: &Results) {
    if !results.notes.is_empty() {
        let _ = writeln!(md, "\nNotes:\n");
        for note in &results.notes {
            let _ = writeln!(md, "- {note}");
        }
    }
    if !results.failures.is_empty() {
        let _ = writeln!(md, "\nFailed runs:\n");
        for (row, reasons) in &results.failures {
            // A tool failing the same way every run is listed once.
            let mut seen = HashSet::new();
            for reason in reasons.iter().filter(|r| seen.insert(r.as_str())) {
                let _ = writeln!(md, "- {}: {reason}", row.label());
            }
        }
    }
    md.push('\n');
}
