//! The persistent shell: one `sh` per pooled connection, started on a host's
//! first command and reused for the ones after, so that a warm command costs
//! the server a few forks instead of a new session, login shell and `sh`
//! (PERFORMANCE-NOTES.md: 0.13–0.15 s for 200 hosts, against 0.35–0.41 s for
//! a channel per command). This module owns starting it, running one command
//! on it with framed output, and giving it up.
//!
//! * **Start.** The channel's exec request is `exec sh -s`, run by the login
//!   shell like any command, then a probe line, and the first commands right
//!   behind it without waiting: the probe's frame is read first, then theirs
//!   (one round trip fewer on a cold host; docs/BENCHMARKS.md, "Latency").
//!   Where the probe fails the pool remembers it, and the host's commands
//!   each get a channel of their own, as exec.rs runs them, for the rest of
//!   the session. The commands sent behind the probe then run on a channel
//!   too where nothing can have read them (the exec was refused, there is no
//!   `sh`); where something might have (no answer within the connect
//!   timeout, a garbled answer), they are reported not run again, since a
//!   late shell may still run them.
//! * **Batches.** The commands of one call (the fused stages of a pipeline)
//!   go out as one line, each with its own marker, start line and frames, so
//!   each keeps its own output, exit status and output cap, and its own time
//!   limit, counted from the end of the one before. Output read past one
//!   command's frames is the next one's. A command that times out ends the
//!   shell, so the commands after it on the line never start.
//! * **Isolation.** Each command is a part of a line (remote.rs, [`remote::in_shell`])
//!   running it under the same guard as a channel of its own: in a subshell
//!   when the login shell is `sh` or `dash`, else under `"$SHELL" -c` as
//!   sshd would run it (bash syntax keeps working, at the price of one exec
//!   per command on such hosts), with stdin from /dev/null. `cd`, `export`,
//!   shell variables and stdin never reach the next command.
//! * **Framing.** After the command the shell writes `\n<marker> <status>\n`
//!   on stdout and `\n<marker>\n` on stderr; the command is over when both
//!   have arrived. frames.rs reads them back; the marker is new for every
//!   command, 128 bits from the OS's random number generator.
//! * **One command at a time.** The pool lends a host's idle shell to one
//!   command; a command that finds it lent out or dead starts another (and
//!   only one idle shell is kept per host). A shell is given back only after
//!   both frames arrived, so its streams are in step for the next command.
//! * **Timeout and cancellation** end the command as exec.rs ends one
//!   (`signal TERM`, then `signal KILL` and end of input, which fires the
//!   guard's watchdog), then the channel is closed and the host's next
//!   command starts a new shell. Both signals and the watchdog reach the
//!   session's whole process group: the shell, the command, and also anything
//!   an earlier command of the session left running in the background, which
//!   a channel per command would have left alone.
//!
//! * **Timing.** The command's [`Ran`] notes when its line was written and
//!   when the first stdout past its start line arrived (exec.rs: the exec
//!   request and the first stdout), which the row carries as its
//!   `Exchange`; `facts` sets the host's clock against them.
//!
//! Also unlike a channel per command: a background process that keeps the
//! command's stdout open does not hold the row open, and whatever it writes
//! after the frame is dropped (or, if it writes while the next command runs,
//! becomes that command's output); and a command that kills its own shell
//! (`kill $PPID`) ends as an `error` row rather than by a signal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use rand::TryRng;
use rand::rngs::SysRng;
use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf};
use shoal_stdlib::executor::HostOutcome;
use tokio_util::sync::CancellationToken;

use super::connect::Connection;
use super::exec::{self, Closing};
use super::frames::{Carry, Frames, Garbled, Marker};
use super::outcome::{Ending, Ran};
use super::remote;

/// Random bytes in a marker: 128 bits, beyond guessing.
const MARKER_BYTES: usize = 16;

/// `shoal-` and 32 hex digits: a marker no output holds by chance.
fn new_marker() -> Result<Marker, rand::rngs::SysError> {
    let mut bytes = [0u8; MARKER_BYTES];
    SysRng.try_fill_bytes(&mut bytes)?;
    Ok(Marker(format!(
        "shoal-{}",
        data_encoding::HEXLOWER.encode(&bytes)
    )))
}

/// A persistent shell, idle between commands.
pub(crate) struct Shell {
    reader: ChannelReadHalf,
    writer: Closing,
    /// The connection the shell runs on, so the pool can tell a shell of a
    /// connection it has since replaced.
    connection: Arc<Connection>,
    /// A new shell's probe, whose frame has not been read yet: the first
    /// commands are sent without waiting for it, and read after it.
    probe: Option<Probe>,
}

/// The probe line a new shell was sent, and how long it has to answer.
struct Probe {
    marker: Marker,
    within: Duration,
}

/// Why a shell did not start.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoShell {
    /// The host cannot run one: not worth trying again this session.
    Unsupported,
    /// The connection failed meanwhile; a new one may do better.
    Lost,
}

/// Why a shell returned no row: the shell was already gone, no marker could
/// be made, or the shell was lost before it began the first command (it had
/// not printed the command's start line); a new shell's probe failed; or it
/// came back late or garbled, and the commands may have run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotSent {
    /// A new shell's probe failed (NoShell::Unsupported says why that
    /// happens): the host's commands should each get a channel from now on.
    Unsupported,
    /// The shell was gone; a new one, or a channel, may do better.
    Gone,
    /// A new shell's probe did not come back as written (no answer in time,
    /// or not in shoal's frames): something may be reading the commands sent
    /// behind it and may yet run them, so they must not run again elsewhere.
    /// The host's later commands each get a channel. The reason, for the row.
    Unanswered(String),
}

/// One command of a batch: the text, and how long it may run once the one
/// before it has ended.
pub(crate) struct Command<'a> {
    pub text: &'a str,
    pub timeout: Duration,
}

/// Why a shell failed when its channel closed.
const EXITED: &str = "it exited";

/// How reading a command's frames ended.
enum Read {
    /// Both frames arrived: the command's exit status.
    Framed(u32),
    /// The server refused the exec request that starts the shell.
    Refused,
    /// The shell's channel ended, or its output broke the framing.
    ShellFailed(&'static str),
    /// The connection went away.
    Lost,
}

/// How the wait for a command ended.
enum Wait {
    Read(Read),
    TimedOut,
    Cancelled,
}

impl Shell {
    /// Starts a shell on `channel`, a new session channel of `connection`:
    /// the exec request and the probe go out at once, and the probe's answer
    /// is read by the first [`Shell::run`], behind which its commands are
    /// already on their way. That saves the round trip of waiting for the
    /// shell before sending anything (docs/BENCHMARKS.md, "Latency").
    ///
    /// The cost of not waiting: where the shell then turns out not to start
    /// (the exec is refused, there is no `sh`), the commands written after
    /// the probe were read by no one, since nothing was left to read the
    /// channel, and run on channels of their own instead. Where the probe
    /// comes back late or garbled, something may have read them: they are
    /// reported not run again rather than risk running twice ([`NotSent`]).
    pub async fn start(
        channel: Channel<Msg>,
        connection: Arc<Connection>,
        within: Duration,
    ) -> Result<Shell, NoShell> {
        let (reader, writer) = channel.split();
        let writer = Closing::new(writer);
        // Without randomness there is no framing; exec needs none.
        let marker = new_marker().map_err(|_| NoShell::Unsupported)?;
        let sent = async {
            writer.half.exec(true, remote::PERSISTENT_SHELL).await?;
            writer.half.data_bytes(remote::probe(&marker.0)).await
        };
        if sent.await.is_err() {
            return Err(NoShell::Lost);
        }
        Ok(Shell {
            reader,
            writer,
            connection,
            probe: Some(Probe { marker, within }),
        })
    }

    pub fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }

    /// Whether this idle shell can take a command: its connection is open
    /// and the shell has not exited. Output that arrived while it was idle,
    /// from something an earlier command left in the background, belongs to
    /// no command and is dropped.
    pub fn is_ready(&mut self) -> bool {
        if self.connection.is_closed() {
            return false;
        }
        while let Some(message) = self.reader.wait().now_or_never() {
            match message {
                None
                | Some(
                    ChannelMsg::Eof
                    | ChannelMsg::Close
                    | ChannelMsg::ExitStatus { .. }
                    | ChannelMsg::ExitSignal { .. },
                ) => return false,
                Some(_) => {}
            }
        }
        true
    }

    /// Runs `commands` one after another as one line (one round trip for
    /// all of them: remote.rs, [`remote::in_shell`]) and returns a row for
    /// each, with the shell when it can take the next line (`None`: it was
    /// given up and its channel closed). Each command's output is framed and
    /// bounded on its own, and its time limit counts from the end of the one
    /// before it (from `begun` for the first), as does its `duration`.
    ///
    /// Fewer rows than commands: a command timed out, was cancelled or lost
    /// its shell, and ended the line there (its row says which); or the
    /// shell was lost between two commands, before the next one began (the
    /// last row is then `ok` or `failed`, and the rest may run elsewhere).
    pub async fn run(
        mut self,
        commands: &[Command<'_>],
        begun: Instant,
        cancel: &CancellationToken,
    ) -> Result<(Vec<HostOutcome>, Option<Shell>), NotSent> {
        let markers = commands
            .iter()
            .map(|_| new_marker())
            .collect::<Result<Vec<Marker>, _>>()
            .map_err(|_| NotSent::Gone)?;
        let line = remote::in_shell(
            commands
                .iter()
                .zip(&markers)
                .map(|(command, marker)| (command.text, marker.0.as_str())),
        );
        let mut sending = Ran::default();
        sending.sending();
        if self.writer.half.data_bytes(line).await.is_err() {
            return Err(NotSent::Gone);
        }
        let mut carry = Carry::default();
        if let Some(probe) = self.probe.take() {
            let mut frames = Frames::new(&probe.marker);
            // What the login shell printed before `sh` started (a chatty rc
            // file) is no command's output.
            let mut discarded = Ran::default();
            let answered = read_frames(&mut self.reader, &mut frames, &mut discarded, &mut carry);
            // `self.writer` closes the channel as it drops.
            match tokio::time::timeout(probe.within, answered).await {
                Ok(Read::Framed(0)) => {}
                Ok(Read::Lost) => return Err(NotSent::Gone),
                // The exec was refused, or the login shell exited (no `sh`):
                // nothing read the commands.
                Ok(Read::Refused | Read::ShellFailed(EXITED)) => return Err(NotSent::Unsupported),
                Ok(Read::Framed(_) | Read::ShellFailed(_)) => {
                    return Err(NotSent::Unanswered(
                        "shoal's shell on the host answered its probe in a form shoal does not \
                         write; the command may have run, so it was not run again"
                            .into(),
                    ));
                }
                Err(_) => {
                    return Err(NotSent::Unanswered(format!(
                        "shoal's shell on the host did not answer within {} (the connect \
                         timeout); the command may still run there, so it was not run again",
                        super::outcome::human(probe.within)
                    )));
                }
            }
        }
        let mut outcomes = Vec::with_capacity(commands.len());
        let mut begun = begun;
        for (command, marker) in commands.iter().zip(&markers) {
            let mut ran = Ran {
                sent: sending.sent,
                ..Ran::default()
            };
            let mut frames = Frames::awaiting_start(marker);
            let wait = tokio::select! {
                read = read_frames(&mut self.reader, &mut frames, &mut ran, &mut carry) => Wait::Read(read),
                () = tokio::time::sleep(command.timeout) => Wait::TimedOut,
                () = cancel.cancelled() => Wait::Cancelled,
            };
            if !frames.started() && matches!(wait, Wait::Read(Read::Lost | Read::ShellFailed(_))) {
                // A pooled connection found dead only now (a host that
                // rebooted between queries), or a shell lost between two
                // commands: this command never began, so it may run on a new
                // connection instead of being reported lost.
                self.writer.close().await;
                if outcomes.is_empty() {
                    return Err(NotSent::Gone);
                }
                return Ok((outcomes, None));
            }
            let ending = match wait {
                Wait::Read(Read::Framed(status)) => {
                    ran.exit = Some(status);
                    ran.closed = true;
                    let mut outcome = ran.into_outcome(Ending::Completed);
                    outcome.duration = begun.elapsed();
                    begun = Instant::now();
                    outcomes.push(outcome);
                    continue;
                }
                Wait::Read(Read::Refused) => {
                    Ending::ShellFailed("the server refused a request".into())
                }
                Wait::Read(Read::ShellFailed(why)) => Ending::ShellFailed(why.into()),
                Wait::Read(Read::Lost) => Ending::Lost("the connection closed".into()),
                Wait::TimedOut => Ending::TimedOut(command.timeout),
                Wait::Cancelled => Ending::Cancelled,
            };
            // The frames will not end now: what they held back is output too.
            frames.flush(&mut ran.stdout, &mut ran.stderr);
            if matches!(ending, Ending::TimedOut(_) | Ending::Cancelled) {
                exec::end_command(&mut self.reader, &self.writer, &mut ran).await;
            }
            // Closing also ends the input of the guard's watchdog, so
            // whatever is left of the command is killed, and the commands
            // after it on the line never start.
            self.writer.close().await;
            let mut outcome = ran.into_outcome(ending);
            outcome.duration = begun.elapsed();
            outcomes.push(outcome);
            return Ok((outcomes, None));
        }
        Ok((outcomes, Some(self)))
    }
}

/// Reads the shell's channel into `ran` through `frames` until both frames
/// have ended, starting with what `carry` holds from the command before; what
/// arrives past the frames is left in `carry`. Cancel-safe, like exec.rs's
/// reading: it can be dropped between messages.
async fn read_frames(
    reader: &mut ChannelReadHalf,
    frames: &mut Frames,
    ran: &mut Ran,
    carry: &mut Carry,
) -> Read {
    frames.resume(&mut ran.stdout, &mut ran.stderr, carry);
    loop {
        if frames.output_begun() {
            ran.output_arrived();
        }
        match frames.status() {
            Some(Ok(status)) => return Read::Framed(status),
            Some(Err(Garbled)) => {
                return Read::ShellFailed("its output did not end as shoal frames it");
            }
            None => {}
        }
        let Some(message) = reader.wait().await else {
            return Read::Lost;
        };
        match message {
            ChannelMsg::Data { data } => {
                frames.push_stdout(&data, &mut ran.stdout, carry);
            }
            // Extended data type 1 is stderr (RFC 4254 §5.2).
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                frames.push_stderr(&data, &mut ran.stderr, carry);
            }
            // The only request sent with want_reply is the exec that starts
            // the shell.
            ChannelMsg::Failure => return Read::Refused,
            // An exit status or end of output can still be followed by
            // output already on its way; the close cannot.
            ChannelMsg::Close => return Read::ShellFailed(EXITED),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read as _, Write};
    use std::process::{ChildStderr, ChildStdout, Command, Stdio};

    use super::*;

    fn marker() -> Marker {
        new_marker().expect("the OS random number generator")
    }

    #[test]
    fn markers_are_fresh_and_long_enough() {
        let (a, b) = (marker(), marker());
        assert_ne!(a.0, b.0);
        assert_eq!(a.0.len(), "shoal-".len() + 2 * MARKER_BYTES);
        assert!(a.0["shoal-".len()..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    /// A local `sh -s` standing in for a host's persistent shell, in its own
    /// session as sshd would start it.
    struct LocalShell {
        child: std::process::Child,
        stdout: BufReader<ChildStdout>,
        stderr: BufReader<ChildStderr>,
    }

    impl LocalShell {
        /// The shell, for a user whose login shell is `login_shell`.
        fn start(login_shell: &str) -> LocalShell {
            let mut child = Command::new("setsid")
                .args(["sh", "-s"])
                .env("SHELL", login_shell)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start sh");
            let stdout = BufReader::new(child.stdout.take().expect("stdout"));
            let stderr = BufReader::new(child.stderr.take().expect("stderr"));
            LocalShell {
                child,
                stdout,
                stderr,
            }
        }

        /// Runs `command` as shell.rs would: (stdout, stderr, exit status).
        fn run(&mut self, command: &str) -> (String, String, u32) {
            let m = marker();
            let stdin = self.child.stdin.as_mut().expect("stdin");
            stdin
                .write_all(remote::in_shell([(command, m.0.as_str())]).as_bytes())
                .expect("write");
            let mut frames = Frames::awaiting_start(&m);
            let mut ran = Ran::default();
            // The frame's line is the last one the shell writes on each
            // stream, so reading line by line never blocks past it.
            while !frames.ended().0 {
                let line = read_line(&mut self.stdout);
                frames.push_stdout(&line, &mut ran.stdout, &mut Carry::default());
            }
            assert!(frames.started(), "the start line came first");
            while !frames.ended().1 {
                let line = read_line(&mut self.stderr);
                frames.push_stderr(&line, &mut ran.stderr, &mut Carry::default());
            }
            let status = frames.status().expect("both ended").expect("well formed");
            let (stdout, _) = ran.stdout.finish("stdout");
            let (stderr, _) = ran.stderr.finish("stderr");
            (stdout, stderr, status)
        }
    }

    fn read_line(stream: &mut impl BufRead) -> Vec<u8> {
        let mut line = Vec::new();
        let read = stream.read_until(b'\n', &mut line).expect("read");
        assert!(read > 0, "the shell ended");
        line
    }

    impl Drop for LocalShell {
        fn drop(&mut self) {
            drop(self.child.stdin.take());
            let _ = self.child.wait();
        }
    }

    #[test]
    fn a_local_shell_runs_commands_apart() {
        let mut shell = LocalShell::start("/bin/sh");
        let run = |shell: &mut LocalShell, command: &str| shell.run(command);
        assert_eq!(
            run(&mut shell, "printf 'a\\nb '"),
            ("a\nb ".into(), "".into(), 0)
        );
        assert_eq!(
            run(&mut shell, "echo out; echo err >&2; exit 3"),
            ("out".into(), "err".into(), 3)
        );
        assert_eq!(run(&mut shell, "cat; echo eof").0, "eof");
        run(
            &mut shell,
            "cd /; export SHOAL_X=1; SHOAL_Y=2; exec 4>/dev/null",
        );
        let (stdout, _, status) = run(
            &mut shell,
            "echo \"$0 $# [${SHOAL_X-}] [${SHOAL_Y-}] [${shoal_c-}${shoal_w-}${shoal_r-}]\"; \
             pwd; if [ -e /dev/fd/4 ]; then echo fd4; fi",
        );
        let here = std::env::current_dir().expect("cwd");
        assert_eq!(stdout, format!("sh 0 [] [] []\n{}", here.display()));
        assert_eq!(status, 0);
        let (_, stderr, status) = run(&mut shell, "if then");
        assert_eq!(status, 2, "a syntax error exits 2 as with sh -c");
        assert!(!stderr.is_empty());
        assert_eq!(run(&mut shell, "echo still here").0, "still here");
        // Nothing of the watchdogs is left: the shell has no children.
        let mut children = String::new();
        let pid = shell.child.id();
        let _ = std::fs::File::open(format!("/proc/{pid}/task/{pid}/children"))
            .and_then(|mut f| f.read_to_string(&mut children));
        assert_eq!(children.trim(), "");
    }

    #[test]
    fn a_local_shell_runs_commands_as_another_login_shell_would() {
        let mut shell = LocalShell::start("/bin/bash");
        let (stdout, _, status) = shell.run("[[ -n $BASH_VERSION ]] && echo bash; exit 4");
        assert_eq!((stdout.as_str(), status), ("bash", 4));
        shell.run("SHOAL_X=1; cd /");
        let (stdout, _, _) = shell.run("echo \"[${SHOAL_X-}]\"; pwd");
        let here = std::env::current_dir().expect("cwd");
        assert_eq!(stdout, format!("[]\n{}", here.display()));
    }
}
