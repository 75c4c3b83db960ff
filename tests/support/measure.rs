//! Runs a tool to the end and measures it: wall time, CPU (its own and its reaped
//! children's), peak RSS and peak open file descriptors. Used by the benchmarks
//! (tests/benches/fanout.rs, tests/benches/load.rs) and by tests that bound shoal's memory.

use std::fs::{self, File};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How often the open file descriptors of a measured process are counted.
const FD_SAMPLE_INTERVAL: Duration = Duration::from_millis(10);

/// One finished process: its wall time, its CPU (its own plus every child it waited for,
/// from wait4's rusage: for the peers that includes all their `ssh` processes), and what it
/// printed.
pub struct Finished {
    pub wall: Duration,
    pub cpu: Duration,
    /// The process's peak resident memory (wait4's ru_maxrss), in KiB.
    pub peak_rss_kib: u64,
    /// The most file descriptors it had open at once, sampled every 10 ms from /proc.
    #[allow(dead_code, reason = "read only by tests/benches/load.rs")]
    pub peak_fds: usize,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to the end with stdout and stderr in files (a pipe left unread could
/// fill and stall the tool, which would be timed), reaping it with wait4 for its rusage.
// The child is reaped by wait4, not Child::wait, because only wait4 returns its rusage.
#[expect(clippy::zombie_processes, reason = "reaped by libc::wait4 below")]
pub fn measure(command: &mut Command, scratch: &Path, deadline: Duration) -> Finished {
    let out_path = scratch.join("stdout");
    let err_path = scratch.join("stderr");
    let create = |path: &Path| {
        File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()))
    };
    command
        .stdin(Stdio::null())
        .stdout(create(&out_path))
        .stderr(create(&err_path))
        // Its own process group, so that a hung tool is killed with all its ssh children.
        .process_group(0);
    let started = Instant::now();
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = libc::pid_t::try_from(child.id()).expect("pids fit in pid_t");

    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        let fd_dir = PathBuf::from(format!("/proc/{pid}/fd"));
        thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                if let Ok(entries) = fs::read_dir(&fd_dir) {
                    peak = peak.max(entries.count());
                }
                thread::sleep(FD_SAMPLE_INTERVAL);
            }
            peak
        })
    };
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if finished.recv_timeout(deadline).is_err() {
            // SAFETY: kill(2) takes plain integers. The group cannot have been reaped
            // and reused yet: the main thread signals `done` right after wait4 returns.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    });
    let mut raw_status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals of the right types; wait4 only writes them.
    let reaped = unsafe { libc::wait4(pid, &mut raw_status, 0, &mut usage) };
    let wall = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let peak_fds = sampler.join().unwrap_or(0);
    let _ = done.send(());
    let _ = watchdog.join();
    assert_eq!(
        reaped,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let read = |path: &Path| String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into();
    Finished {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        peak_fds,
        status: ExitStatus::from_raw(raw_status),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}
