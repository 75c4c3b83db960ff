//! `--inventory-cmd 'CMD'`: runs `sh -c CMD` and takes what it prints as
//! `ansible-inventory --list` JSON, the way Ansible runs an inventory script.
//!
//! The command gets no input (a prompt would wait for ever), its output is
//! bounded, and it must finish in time: on a timeout or too much output its
//! whole process group is killed, so a script's own children go with it.

use std::io::Read as _;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the command may take. `ansible-inventory --list` over a cloud
/// API takes seconds; a minute means it is stuck (on a login, say).
const TIMEOUT: Duration = Duration::from_secs(60);
/// The most output read. A 100,000-host inventory with a dozen variables
/// each is about 30 MiB of JSON; more means the command is not printing an
/// inventory.
const MAX_OUTPUT: u64 = 64 * 1024 * 1024;
/// How much of the end of stderr an error quotes: the lines that say why.
const STDERR_TAIL_LINES: usize = 5;
/// How much of stderr is kept while reading it: enough for the tail.
const STDERR_KEPT: usize = 64 * 1024;

/// What the reader threads and the waiter report, in the order they happen.
enum Event {
    Stdout(std::io::Result<Vec<u8>>),
    Stderr(Vec<u8>),
    Exited(std::io::Result<ExitStatus>),
}

/// The command's standard output. `Err` says why there is none usable: it
/// could not start, failed, timed out or printed too much.
pub(super) fn run(command: &str) -> Result<String, String> {
    run_within(command, TIMEOUT, MAX_OUTPUT)
}

fn run_within(command: &str, timeout: Duration, max_output: u64) -> Result<String, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let kill = || {
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    };

    let (events, report) = mpsc::channel();
    let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    let sender = events.clone();
    thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout
            .as_mut()
            .map_or(Ok(0), |s| s.take(max_output + 1).read_to_end(&mut out));
        let _ = sender.send(Event::Stdout(read.map(|_| out)));
    });
    let sender = events.clone();
    thread::spawn(move || {
        let _ = sender.send(Event::Stderr(tail(stderr.as_mut())));
    });
    thread::spawn(move || {
        let _ = events.send(Event::Exited(child.wait()));
    });

    let deadline = Instant::now() + timeout;
    let (mut out, mut err, mut status) = (None, None, None);
    while out.is_none() || err.is_none() || status.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match report.recv_timeout(left) {
            Ok(Event::Stdout(read)) => {
                let read = read.map_err(|e| format!("cannot read its output: {e}"))?;
                if read.len() as u64 > max_output {
                    kill();
                    return Err(format!(
                        "it printed more than {max_output} bytes, too much for an inventory; \
                         killed it"
                    ));
                }
                out = Some(read);
            }
            Ok(Event::Stderr(tail)) => err = Some(tail),
            Ok(Event::Exited(exited)) => {
                status = Some(exited.map_err(|e| format!("cannot wait for it: {e}"))?);
            }
            Err(_) => {
                kill();
                return Err(format!("it did not finish within {timeout:?}; killed it"));
            }
        }
    }
    let (Some(out), Some(err), Some(status)) = (out, err, status) else {
        unreachable!("the loop ends once all three have arrived");
    };
    if status.success() {
        return String::from_utf8(out).map_err(|_| "its output is not UTF-8 text".to_string());
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "failed".to_string(),
    };
    Err(format!("{how}{}", quoted_stderr(&err)))
}

/// The last [`STDERR_KEPT`] bytes the stream gives.
fn tail(stream: Option<&mut std::process::ChildStderr>) -> Vec<u8> {
    let Some(stream) = stream else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(read @ 1..) = stream.read(&mut buffer) {
        kept.extend_from_slice(&buffer[..read]);
        if kept.len() > 2 * STDERR_KEPT {
            kept.drain(..kept.len() - STDERR_KEPT);
        }
    }
    kept
}

/// "; its stderr ended:" and the last lines, indented, or "" when silent.
fn quoted_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let last = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
    format!("; its stderr ended:\n    {}", last.join("\n    "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_of_a_successful_command_is_returned() {
        assert_eq!(run("echo '{}'; echo noise >&2").unwrap(), "{}\n");
    }

    #[test]
    fn a_failure_gives_the_status_and_the_end_of_stderr() {
        let error = run("for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 3").unwrap_err();
        assert_eq!(
            error,
            "exited with status 3; its stderr ended:\n    line3\n    line4\n    line5\n    line6\n    line7"
        );
        assert_eq!(run("kill -9 $$").unwrap_err(), "was killed by signal 9");
        assert_eq!(run("exit 1").unwrap_err(), "exited with status 1");
    }

    #[test]
    fn a_command_that_hangs_or_floods_is_killed() {
        let error = run_within("sleep 30", Duration::from_millis(200), MAX_OUTPUT).unwrap_err();
        assert_eq!(error, "it did not finish within 200ms; killed it");
        let error = run_within("yes", TIMEOUT, 1000).unwrap_err();
        assert_eq!(
            error,
            "it printed more than 1000 bytes, too much for an inventory; killed it"
        );
    }

    #[test]
    fn a_command_reading_stdin_sees_its_end_at_once() {
        assert_eq!(run("cat; echo done").unwrap(), "done\n");
    }
}
