//! The demo fleet end to end, through shoal's own SSH executor: the same
//! path `shoal demo` takes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shoal_stdlib::executor::{Executor, HostOutcome, RunRequest, Status};

use super::DemoFleet;
use super::data::HOSTS;
use crate::inventory::{Inventory, Overrides};
use crate::ssh::SshExecutor;
use crate::ssh_config::SshConfig;
use crate::targets::Routes;

/// A started fleet and a client for it. Fields drop in order: the client's
/// connections, then the fleet, then the runtime both run on.
struct Demo {
    executor: SshExecutor,
    fleet: DemoFleet,
    runtime: tokio::runtime::Runtime,
}

impl Demo {
    fn start() -> Demo {
        Demo::start_with(&Overrides::default())
    }

    fn start_with(overrides: &Overrides) -> Demo {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fleet = runtime.block_on(DemoFleet::start()).unwrap();
        let inventory = Inventory::load(fleet.inventory_path(), overrides).unwrap();
        let routes = Routes::resolve(&inventory, &SshConfig::default());
        let executor = SshExecutor::new(&inventory, &routes, runtime.handle().clone());
        Demo {
            executor,
            fleet,
            runtime,
        }
    }

    fn sandbox(&self, host: &str) -> PathBuf {
        let dir = self.fleet.inventory_path().parent().unwrap();
        dir.join("hosts").join(host)
    }

    /// Runs on `hosts` and returns each one's outcome, in order.
    fn run_on(&self, hosts: &[&str], command: &str, timeout: Option<Duration>) -> Vec<HostOutcome> {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let request = RunRequest {
            command: command.to_string(),
            per_host: Vec::new(),
            timeout,
        };
        let mut outcomes = vec![None; hosts.len()];
        self.executor.run(&hosts, &request, &mut |index, outcome| {
            assert!(outcomes[index].replace(outcome).is_none());
        });
        outcomes.into_iter().map(Option::unwrap).collect()
    }

    fn run(&self, command: &str) -> Vec<HostOutcome> {
        let names: Vec<&str> = HOSTS.iter().map(|h| h.name).collect();
        self.run_on(&names, command, None)
    }
}

/// Whether process `pid` still runs (a zombie does not: in a container
/// nobody may reap it).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to `limit` for `pid` to be gone.
fn gone_within(pid: i32, limit: Duration) -> bool {
    let started = Instant::now();
    while alive(pid) {
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn the_fleet_starts_fast_and_every_host_answers_as_itself() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let fleet = runtime.block_on(DemoFleet::start()).unwrap();
    let took = started.elapsed();
    eprintln!("demo fleet started in {took:?}");
    drop(fleet);

    let demo = Demo::start();
    let started = Instant::now();
    let rows = demo.run("cat etc/app/version; hostname; nproc; echo \"$HOME\" \"$HOSTNAME\"");
    eprintln!(
        "first run on 30 hosts (connect + exec): {:?}",
        started.elapsed()
    );
    for (host, row) in HOSTS.iter().zip(&rows) {
        assert_eq!(row.status, Status::Ok, "{}: {row:?}", host.name);
        let sandbox = demo.sandbox(host.name);
        let lines: Vec<&str> = row.stdout.lines().collect();
        assert_eq!(lines[0], host.installed);
        assert_eq!(lines[1], host.name);
        assert_eq!(lines[3], format!("{} {}", sandbox.display(), host.name));
    }
    assert_eq!(
        rows[20].stdout.lines().nth(2),
        Some("16"),
        "db01 has 16 cpus"
    );
    // The tag and the installed file disagree on api03 only.
    let drift: Vec<&str> = HOSTS
        .iter()
        .zip(&rows)
        .filter(|(host, row)| !row.stdout.starts_with(host.version))
        .map(|(host, _)| host.name)
        .collect();
    assert_eq!(drift, ["api03"]);

    // Pooled connections are reused.
    let started = Instant::now();
    assert!(demo.run("true").iter().all(|r| r.status == Status::Ok));
    eprintln!("second run on 30 hosts (pooled): {:?}", started.elapsed());
}

#[test]
fn exit_codes_and_stderr_come_back_as_from_any_host() {
    let demo = Demo::start();
    let rows = demo.run_on(&["web01", "db03"], "echo out; echo err >&2; exit 3", None);
    for row in rows {
        assert_eq!(row.status, Status::Failed);
        assert_eq!(row.exit, Some(3));
        assert_eq!(row.stdout, "out");
        assert_eq!(row.stderr, "err");
        assert_eq!(row.error.as_deref(), Some("exit 3"));
    }
    // Output larger than a channel window arrives whole.
    let rows = demo.run_on(&["api01"], "head -c 3000000 /dev/zero | tr '\\0' x", None);
    assert_eq!(rows[0].status, Status::Ok, "{:?}", rows[0].error);
    assert!(rows[0].stdout.len() >= 1_000_000);
    // Input is empty, as with `ssh -n`.
    let rows = demo.run_on(&["api01"], "cat; echo done", None);
    assert_eq!(rows[0].stdout, "done");
}

#[test]
fn the_incident_shows_in_health_config_and_bios() {
    let demo = Demo::start();
    let health = demo.run("cat etc/app/health");
    let conf = demo.run("grep max_conns etc/app/app.conf");
    let bios = demo.run("cat sys/bios_version");
    let check = demo.run("sh healthcheck.sh");
    let mut failing = Vec::new();
    for (i, host) in HOSTS.iter().enumerate() {
        let fail = health[i].stdout == "FAIL";
        assert!(fail || health[i].stdout == "OK");
        if fail {
            failing.push(host.name);
        }
        let expected_conf = if fail {
            "max_conns=64"
        } else {
            "max_conns=1024"
        };
        assert_eq!(conf[i].stdout, expected_conf, "{}", host.name);
        let expected_bios = if fail { "2.1.7" } else { "2.3.0" };
        assert_eq!(bios[i].stdout, expected_bios, "{}", host.name);
        if fail {
            assert_eq!(check[i].exit, Some(1));
            assert!(check[i].stderr.contains("503"), "{:?}", check[i]);
        } else {
            assert_eq!(
                (check[i].exit, check[i].stdout.as_str()),
                (Some(0), "healthz: 200 OK")
            );
        }
    }
    assert_eq!(
        failing,
        [
            "web04", "web10", "api04", "api06", "db03", "cache02", "queue02"
        ]
    );
}

#[test]
fn a_timed_out_command_comes_back_as_timeout_and_is_killed() {
    let demo = Demo::start();
    // Half the hosts run a command that ignores TERM: the process group is
    // killed all the same.
    let names: Vec<&str> = HOSTS.iter().map(|h| h.name).collect();
    let (plain, stubborn) = names.split_at(15);
    let run_both = || {
        std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                demo.run_on(
                    plain,
                    "sleep 30 & echo $! > sleep.pid; wait",
                    Some(Duration::from_secs(1)),
                )
            });
            let b = scope.spawn(|| {
                demo.run_on(
                    stubborn,
                    "trap '' TERM; sleep 30 & echo $! > sleep.pid; wait",
                    Some(Duration::from_secs(1)),
                )
            });
            (a.join().unwrap(), b.join().unwrap())
        })
    };
    // What matters is the status and that the process is gone; how long it
    // took is for benchmarks, not tests, on a shared 2-core machine.
    let (a, b) = run_both();
    for row in a.iter().chain(&b) {
        assert_eq!(row.status, Status::Timeout, "{row:?}");
    }
    for name in names {
        let pid = read_pid(&demo.sandbox(name).join("sleep.pid"));
        assert!(
            gone_within(pid, Duration::from_secs(2)),
            "{name}: sleep {pid} survived"
        );
    }
}

#[test]
fn dropping_the_fleet_kills_its_commands_and_removes_its_files() {
    let Demo {
        executor,
        fleet,
        runtime,
    } = Demo::start();
    let outside = tempfile::tempdir().unwrap();
    let pid_file = outside.path().join("sleep.pid");
    let dir = fleet.inventory_path().parent().unwrap().to_path_buf();
    let inventory = Inventory::load(fleet.inventory_path(), &Overrides::default()).unwrap();
    let ports: Vec<u16> = inventory.hosts.iter().map(|h| h.port).collect();
    let command = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
    std::thread::scope(|scope| {
        let running = scope.spawn(|| {
            let request = RunRequest {
                command,
                per_host: Vec::new(),
                timeout: Some(Duration::from_secs(20)),
            };
            let mut rows = Vec::new();
            executor.run(&["web01".to_string()], &request, &mut |_, row| {
                rows.push(row)
            });
            rows
        });
        let started = Instant::now();
        while !pid_file.exists() || std::fs::read_to_string(&pid_file).unwrap().is_empty() {
            assert!(started.elapsed() < Duration::from_secs(10), "never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = read_pid(&pid_file);
        drop(fleet);
        assert!(!dir.exists());
        assert!(
            gone_within(pid, Duration::from_secs(1)),
            "sleep {pid} survived"
        );
        let rows = running.join().unwrap();
        assert_ne!(rows[0].status, Status::Ok, "{:?}", rows[0]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the run waited for its timeout"
        );
    });
    // The listeners close as soon as the runtime gets to their tasks.
    let started = Instant::now();
    for port in ports {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "port {port} still open"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    drop(executor);
    drop(runtime);
}

#[test]
fn only_the_fleet_key_and_user_get_in_and_host_keys_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let other_key = dir.path().join("other");
    super::files::write_key_pair(&other_key, &super::files::new_key("other").unwrap()).unwrap();
    let hosts = ["web01", "db03"];

    let demo = Demo::start_with(&Overrides {
        identity_files: vec![other_key],
        ..Overrides::default()
    });
    for row in demo.run_on(&hosts, "true", None) {
        assert_eq!(row.status, Status::AuthFailed, "{row:?}");
    }

    let demo = Demo::start_with(&Overrides {
        user: Some("root".into()),
        ..Overrides::default()
    });
    for row in demo.run_on(&hosts, "true", None) {
        assert_eq!(row.status, Status::AuthFailed, "{row:?}");
    }

    let empty = dir.path().join("known_hosts");
    std::fs::write(&empty, "").unwrap();
    let demo = Demo::start_with(&Overrides {
        known_hosts: Some(empty),
        ..Overrides::default()
    });
    for row in demo.run_on(&hosts, "true", None) {
        assert_eq!(row.status, Status::HostkeyUnknown, "{row:?}");
    }
}

#[test]
fn facts_sees_each_hosts_bios_and_one_query_finds_the_cause() {
    let demo = Demo::start();
    let inventory = Inventory::load(demo.fleet.inventory_path(), &Overrides::default()).unwrap();
    let mut session = shoal_stdlib::Session::new(inventory.fleet());
    let query = r#"hosts | facts | run "cat etc/app/health" as health | diff where health = FAIL"#;
    let plan = shoal_stdlib::compile(query).unwrap();
    demo.executor.begin_query();
    let rows = session
        .eval(
            &plan.statements[0],
            &demo.executor,
            &mut shoal_stdlib::Quiet,
        )
        .unwrap();
    let features = shoal_stdlib::frame::texts(rows.column("feature").unwrap()).unwrap();
    assert_eq!(
        features[0].as_deref(),
        Some("bios_version = 2.1.7"),
        "{features:?}"
    );
    // The absolute path a runbook would use reads the sandbox too.
    let web04 = demo.run_on(
        &["web04"],
        "cat /sys/class/dmi/id/bios_version /etc/app/health",
        None,
    );
    assert_eq!(web04[0].stdout, "2.1.7\nFAIL");
}
