//! `notify "CMD"`: each event goes to a local command as one JSON object on
//! its stdin, from a thread of its own, so a slow or hanging command never
//! holds up the alarm loop.
//!
//! The loop hands events over through a bounded queue and never waits: when
//! the queue is full the event is dropped and the log says so (the event is
//! in the job store either way). Each command runs under `sh -c` in a
//! process group of its own, is killed with its children once it outlives
//! the timeout, and a failure (a non-zero exit, a timeout, a command that
//! cannot start) is logged and tried again after a backoff that doubles.
//! When the daemon stops, what is queued gets one try each, no backoff.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Log;
use super::metrics::Metrics;

/// Events waiting for their command, at most. An alarm loop that outruns
/// its notify command this far is dropping events anyway.
const QUEUE: usize = 256;

/// Tries after the first, and the first backoff, which doubles.
const RETRIES: u32 = 3;
const BACKOFF: Duration = Duration::from_secs(1);

/// How much of a failed command's stderr the log shows.
const STDERR_KEPT: usize = 2048;

struct Job {
    command: String,
    event: String,
}

/// The notify thread and its queue.
pub struct Notifier {
    queue: Option<SyncSender<Job>>,
    closing: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    log: Log,
}

impl Notifier {
    pub fn start(timeout: Duration, log: Log, metrics: Arc<Metrics>) -> Notifier {
        let (queue, jobs) = sync_channel(QUEUE);
        let closing = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("shoal-notify".into())
            .spawn({
                let (log, closing) = (log.clone(), closing.clone());
                move || deliver(&jobs, timeout, &log, &metrics, &closing)
            })
            .ok();
        Notifier {
            queue: Some(queue),
            closing,
            thread,
            log,
        }
    }

    /// Queues `event` for `command`; never blocks.
    pub fn send(&self, command: &str, event: String) {
        let Some(queue) = &self.queue else { return };
        let job = Job {
            command: command.to_string(),
            event,
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = queue.try_send(job) {
            (self.log)(&format!(
                "notify `{command}`: {QUEUE} events are already waiting; this one is dropped (the job store has it)"
            ));
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn deliver(
    jobs: &Receiver<Job>,
    timeout: Duration,
    log: &Log,
    metrics: &Metrics,
    closing: &AtomicBool,
) {
    for job in jobs {
        let mut backoff = BACKOFF;
        for attempt in 0..=RETRIES {
            let Err(why) = run(&job.command, &job.event, timeout) else {
                break;
            };
            metrics.notify_failures.inc();
            let last = attempt == RETRIES || closing.load(Ordering::SeqCst);
            let next = if last {
                "giving up on this event".to_string()
            } else {
                format!("trying again in {}s", backoff.as_secs())
            };
            log(&format!("notify `{}` failed: {why}; {next}", job.command));
            if last {
                break;
            }
            std::thread::sleep(backoff);
            backoff *= 2;
        }
    }
}

/// Runs `command` with `event` on its stdin, killing its process group
/// once it outlives `timeout`.
fn run(command: &str, event: &str, timeout: Duration) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    // Written and read from threads of their own: a command that reads
    // nothing, or writes a lot, must not stall this one past the timeout.
    let mut stdin = child.stdin.take();
    let event = format!("{event}\n");
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stdin.write_all(event.as_bytes());
        }
    });
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.take(STDERR_KEPT as u64).read_to_end(&mut kept);
            // Drain the rest, so the command never blocks on a full pipe.
            let _ = std::io::copy(stderr, &mut std::io::sink());
        }
        String::from_utf8_lossy(&kept).trim().to_string()
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    };
    let Some(status) = status else {
        let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = child.wait();
        let _ = writer.join();
        return Err(format!(
            "still running after {}s, killed",
            timeout.as_secs_f64()
        ));
    };
    let _ = writer.join();
    let stderr = reader.join().unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        Err(match stderr.is_empty() {
            true => format!("{status}"),
            false => format!("{status}: {stderr}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collecting() -> (Log, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log: Log = Arc::new({
            let lines = lines.clone();
            move |line: &str| lines.lock().unwrap().push(line.to_string())
        });
        (log, lines)
    }

    #[test]
    fn the_event_arrives_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("event.json");
        let (log, lines) = collecting();
        let notifier = Notifier::start(Duration::from_secs(5), log, Arc::default());
        notifier.send(
            &format!("cat > {}", out.display()),
            r#"{"kind":"firing"}"#.into(),
        );
        drop(notifier);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"kind\":\"firing\"}\n"
        );
        assert!(lines.lock().unwrap().is_empty());
    }

    #[test]
    fn a_hanging_command_is_killed_after_the_timeout() {
        let started = Instant::now();
        let error = run("sleep 30", "{}", Duration::from_millis(200)).unwrap_err();
        assert!(error.contains("killed"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn failures_are_logged_and_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let tries = dir.path().join("tries");
        let (log, lines) = collecting();
        let metrics = Arc::new(Metrics::default());
        let notifier = Notifier::start(Duration::from_secs(5), log, metrics.clone());
        // Fails twice, then works: it counts its tries in a file.
        let command = format!(
            "echo x >> {0}; [ $(wc -l < {0}) -ge 3 ] || {{ echo nope >&2; exit 1; }}",
            tries.display()
        );
        notifier.send(&command, "{}".into());
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::read_to_string(&tries)
            .map(|t| t.lines().count())
            .unwrap_or(0)
            < 3
        {
            assert!(Instant::now() < deadline, "the third try never came");
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(notifier);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("exit status: 1: nope") && lines[0].contains("trying again"));
        assert_eq!(metrics.notify_failures.get(), 2);
    }
}
