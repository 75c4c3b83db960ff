//! The job store against real OpenSSH hosts and the real `shoal` binary: a SIGKILL mid-job
//! loses only the hosts in flight, `rerun` contacts only the failed hosts, `drift from`
//! finds what changed on the failing hosts, two shoal processes write one store at once,
//! and a corrupt store, a read-only directory and a full disk each get their own answer.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

/// A fleet of `hosts` with `files` on each, and its inventory's path.
fn fleet(
    hosts: usize,
    files: impl Fn(usize) -> Vec<(String, String)> + 'static,
) -> (SshdFleet, PathBuf) {
    let mut spec = FleetSpec::new(hosts);
    spec.files = Box::new(files);
    let fleet = SshdFleet::start(spec);
    let inventory = fleet.dir().join("shoal.toml");
    fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    (fleet, inventory)
}

/// Runs shoal with the fleet's inventory and `args`, with the job store at `store`.
fn shoal(fleet: &SshdFleet, inventory: &Path, store: &Path, args: &[&str]) -> Output {
    let mut command = shoal_command(fleet.dir());
    command
        .env("SHOAL_STORE", store)
        .arg("--inventory")
        .arg(inventory)
        .args(args);
    command.output().unwrap()
}

/// The JSON rows `args` print (`--format json`), asserting the exit code.
fn rows(
    fleet: &SshdFleet,
    inventory: &Path,
    store: &Path,
    code: i32,
    query: &str,
) -> Vec<serde_json::Value> {
    let args = ["--format", "json", "-c", query];
    let out = shoal(fleet, inventory, store, &args);
    assert_eq!(out.status.code(), Some(code), "{}", describe(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", describe(&args, &out)))
}

fn text(row: &serde_json::Value, key: &str) -> String {
    match &row[key] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn a_sigkill_mid_job_leaves_it_interrupted_with_every_finished_hosts_row() {
    // Odd hosts hang; even hosts answer at once.
    let (fleet, inventory) = fleet(50, |i| {
        if i % 2 == 1 {
            vec![("slow".into(), "1".into())]
        } else {
            Vec::new()
        }
    });
    let store = fleet.dir().join("store/shoal.db");
    let query = "hosts | run \"if [ -e /etc/app/slow ]; then sleep 120; fi; hostname\"";
    let mut child = shoal_command(fleet.dir())
        .env("SHOAL_STORE", &store)
        .arg("--inventory")
        .arg(&inventory)
        .args(["-q", "-c", query])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Waits for the 25 fast hosts' rows, read by a second shoal while the first runs.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = shoal(
            &fleet,
            &inventory,
            &store,
            &["--format", "json", "-c", "jobs"],
        );
        let listed: Vec<serde_json::Value> =
            serde_json::from_slice(&out.stdout).unwrap_or_default();
        let finished = if listed.is_empty() {
            0
        } else {
            let rows = rows(&fleet, &inventory, &store, 0, "job last | count");
            rows[0]["count"].as_u64().unwrap()
        };
        if finished >= 25 {
            assert_eq!(
                text(&listed[0], "status"),
                "running",
                "the live job is left running"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the fast hosts never all answered: {finished}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let jobs = rows(&fleet, &inventory, &store, 0, "jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(text(&jobs[0], "status"), "interrupted");
    assert_eq!(text(&jobs[0], "hosts"), "25");
    let finished = rows(
        &fleet,
        &inventory,
        &store,
        0,
        "job last | filter status = ok | select host, stdout",
    );
    let mut hosts: Vec<String> = finished.iter().map(|r| text(r, "host")).collect();
    hosts.sort();
    let mut fast: Vec<String> = (0..50)
        .step_by(2)
        .map(|i| fleet.hosts()[i].name.clone())
        .collect();
    fast.sort();
    assert_eq!(hosts, fast);
    for row in &finished {
        assert_eq!(text(row, "stdout"), text(row, "host"), "{row}");
    }
}

#[test]
fn rerun_contacts_only_the_hosts_that_failed() {
    let broken = [2usize, 5];
    let (fleet, inventory) = fleet(8, move |i| {
        if broken.contains(&i) {
            vec![("broken".into(), "1".into())]
        } else {
            Vec::new()
        }
    });
    let store = fleet.dir().join("shoal.db");
    for node in fleet.hosts() {
        // The login user writes its marker where the test reads it.
        fs::set_permissions(&node.data_dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    // The marker is a write, which `run`'s seatbelt refuses without --force-run.
    let forced = |query: &str| {
        let args = ["--force-run", "--format", "json", "-c", query];
        let out = shoal(&fleet, &inventory, &store, &args);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&args, &out));
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    };
    let first = forced("hosts | run \"echo ran >> /etc/app/runs; test ! -e /etc/app/broken\"");
    assert_eq!(first.len(), 8);
    let again = forced("job last | filter status != ok | rerun");
    let mut reran: Vec<String> = again.iter().map(|r| text(r, "host")).collect();
    reran.sort();
    let expected: Vec<String> = broken
        .iter()
        .map(|&i| fleet.hosts()[i].name.clone())
        .collect();
    assert_eq!(reran, expected);
    for (i, node) in fleet.hosts().iter().enumerate() {
        let runs = fs::read_to_string(node.data_dir.join("runs")).unwrap();
        let want = if broken.contains(&i) { 2 } else { 1 };
        assert_eq!(runs.lines().count(), want, "{}", node.name);
    }
    let jobs = rows(&fleet, &inventory, &store, 0, "jobs");
    assert_eq!(text(&jobs[0], "parent"), text(&jobs[1], "id"), "{jobs:?}");
    assert_eq!(text(&jobs[0], "hosts"), "2");
    assert_eq!(
        fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Rows that came from no job have no command to run again.
    let args = ["-c", "hosts | rerun"];
    let out = shoal(&fleet, &inventory, &store, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no `job` column"),
        "{}",
        describe(&args, &out)
    );

    // The audit has both jobs, and only the rerun for a host that was not broken is absent.
    let args = [
        "audit",
        "--host",
        &fleet.hosts()[0].name,
        "--since",
        "1h",
        "--format",
        "json",
    ];
    let out = shoal(&fleet, &inventory, &store, &args);
    let audit: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit.len(), 1, "{}", describe(&args, &out));
    let args = [
        "audit",
        "--host",
        &fleet.hosts()[2].name,
        "--format",
        "json",
    ];
    let out = shoal(&fleet, &inventory, &store, &args);
    let audit: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit.len(), 2, "{}", describe(&args, &out));
    assert!(text(&audit[0], "query").contains("echo ran"));
}

#[test]
fn drift_from_a_baseline_puts_what_changed_on_the_failing_hosts_first() {
    let (fleet, inventory) = fleet(12, |_| {
        vec![
            ("app.conf".into(), "timeout=30\nworkers=8\n".into()),
            ("health".into(), "OK\n".into()),
        ]
    });
    let store = fleet.dir().join("shoal.db");
    rows(
        &fleet,
        &inventory,
        &store,
        0,
        "hosts | run \"cat /etc/app/app.conf\" | kv | save before-upgrade",
    );
    // After the "upgrade", four hosts have a new timeout and fail; one other host has a new
    // worker count and is fine.
    let failing = [1usize, 4, 7, 10];
    for (i, node) in fleet.hosts().iter().enumerate() {
        if failing.contains(&i) {
            fs::write(node.data_dir.join("app.conf"), "timeout=5\nworkers=8\n").unwrap();
            fs::write(node.data_dir.join("health"), "FAIL\n").unwrap();
        } else if i == 0 {
            fs::write(node.data_dir.join("app.conf"), "timeout=30\nworkers=16\n").unwrap();
        }
    }
    let now = "hosts | run \"cat /etc/app/app.conf\" | kv | run \"cat /etc/app/health\" as health";
    let ranked = rows(
        &fleet,
        &inventory,
        &store,
        0,
        &format!("{now} | drift from before-upgrade where health = FAIL"),
    );
    let top = &ranked[0];
    assert!(
        text(top, "feature").contains("timeout 30 → 5"),
        "{ranked:#?}"
    );
    assert_eq!(
        (text(top, "count_a"), text(top, "count_b")),
        ("4".into(), "0".into())
    );
    assert!(top["q"].as_f64().unwrap() < 0.05, "{top}");

    let shared = rows(
        &fleet,
        &inventory,
        &store,
        0,
        &format!("{now} | drift from before-upgrade"),
    );
    assert_eq!(text(&shared[0], "change"), "timeout 30 → 5");
    assert_eq!(text(&shared[0], "hosts"), "4");
    assert_eq!(text(&shared[1], "change"), "workers 8 → 16");

    // A name that is not saved gets a did-you-mean, and nothing runs.
    let args = ["-c", "hosts | run \"true\" | drift from before-upgrad"];
    let out = shoal(&fleet, &inventory, &store, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did you mean `before-upgrade`"),
        "{}",
        describe(&args, &out)
    );
    // Saving over the baseline by accident is refused, before any host is contacted.
    let jobs_before = rows(&fleet, &inventory, &store, 0, "jobs").len();
    let args = ["-c", "hosts | run \"true\" | save before-upgrade"];
    let out = shoal(&fleet, &inventory, &store, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    assert_eq!(
        rows(&fleet, &inventory, &store, 0, "jobs").len(),
        jobs_before
    );
}

#[test]
fn two_shoal_processes_write_one_store_at_once() {
    let (fleet, inventory) = fleet(8, |_| Vec::new());
    let store = fleet.dir().join("shoal.db");
    let spawn = |tag: &str| {
        shoal_command(fleet.dir())
            .env("SHOAL_STORE", &store)
            .arg("--inventory")
            .arg(&inventory)
            .args([
                "-q",
                "-c",
                &format!("hosts | run \"sleep 0.3; echo {tag}\"; hosts | run \"echo {tag} again\""),
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn("a"), spawn("b"));
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let jobs = rows(&fleet, &inventory, &store, 0, "jobs");
    assert_eq!(jobs.len(), 4, "{jobs:#?}");
    for job in &jobs {
        assert_eq!(
            (text(job, "status"), text(job, "ok")),
            ("ok".into(), "8".into()),
            "{job}"
        );
    }
}

#[test]
fn a_corrupt_store_is_refused_by_name_and_left_as_it_is() {
    let (fleet, inventory) = fleet(2, |_| Vec::new());
    let store = fleet.dir().join("shoal.db");
    let garbage = b"SQLite format 3\0this is not a database page at all".repeat(200);
    fs::write(&store, &garbage).unwrap();
    let args = ["-c", "hosts | run \"true\""];
    let out = shoal(&fleet, &inventory, &store, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(store.to_str().unwrap()) && stderr.contains("--no-store"),
        "{stderr}"
    );
    assert_eq!(fs::read(&store).unwrap(), garbage);
    assert_eq!(fleet.accepted_connections(0), 0, "no host is contacted");
    // --no-store runs the query, and history is an error that says why.
    let out = shoal(
        &fleet,
        &inventory,
        &store,
        &["--no-store", "-c", "hosts | run \"true\""],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = shoal(&fleet, &inventory, &store, &["--no-store", "-c", "jobs"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job store"));
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: PathBuf, options: &str) -> Tmpfs {
        fs::create_dir_all(&at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs at {}", at.display());
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_store_directory_is_an_error_before_any_host_is_contacted() {
    let (fleet, inventory) = fleet(2, |_| Vec::new());
    let mount = Tmpfs::mount(fleet.dir().join("ro"), "ro,size=1m");
    let store = mount.0.join("shoal.db");
    let args = ["-c", "hosts | run \"true\""];
    let out = shoal(&fleet, &inventory, &store, &args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot open the job store") && stderr.contains("Read-only"),
        "{stderr}"
    );
    assert_eq!(fleet.accepted_connections(0), 0);
}

#[test]
fn on_a_full_disk_the_result_is_printed_and_shoal_warns_it_was_not_recorded() {
    let (fleet, inventory) = fleet(4, |_| Vec::new());
    let mount = Tmpfs::mount(fleet.dir().join("full"), "size=2m");
    let store = mount.0.join("shoal.db");
    // The store exists, then the disk fills up but for a little room: the store opens,
    // and the first big row does not fit.
    rows(&fleet, &inventory, &store, 0, "hosts | run \"true\"");
    let filler_path = mount.0.join("filler");
    let mut filler = std::io::BufWriter::new(fs::File::create(&filler_path).unwrap());
    let block = vec![b'x'; 16 * 1024];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    drop(filler);
    let filler = fs::OpenOptions::new()
        .write(true)
        .open(&filler_path)
        .unwrap();
    let full = filler.metadata().unwrap().len();
    filler.set_len(full.saturating_sub(256 * 1024)).unwrap();
    let query = "hosts | run \"head -c 300000 /dev/zero | tr '\\\\0' x; echo\" | count by status";
    let args = ["--format", "json", "-c", query];
    let check = |expected: &str| {
        let out = shoal(&fleet, &inventory, &store, &args);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
        let counted: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(text(&counted[0], "count"), "4", "{}", describe(&args, &out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{}", describe(&args, &out));
    };
    check("could not be recorded whole");
    // No room at all: the store cannot even open, and the query still runs.
    filler.set_len(full + 512 * 1024).unwrap();
    let mut filler = fs::OpenOptions::new()
        .append(true)
        .open(&filler_path)
        .unwrap();
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    check("this run is not recorded");
}

#[test]
fn the_demo_keeps_its_history_in_memory() {
    let state = tempfile::tempdir().unwrap();
    let args = [
        "demo",
        "-c",
        "hosts | run \"true\" | count; jobs | select id, hosts, status",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_shoal"))
        .env("NO_COLOR", "1")
        .env_remove("SHOAL_STORE")
        .env("XDG_STATE_HOME", state.path())
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let jobs: Vec<serde_json::Value> =
        serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(jobs.len(), 1, "{stdout}");
    assert_eq!(text(&jobs[0], "hosts"), "30");
    assert_eq!(
        fs::read_dir(state.path()).unwrap().count(),
        0,
        "no file is written"
    );
}
