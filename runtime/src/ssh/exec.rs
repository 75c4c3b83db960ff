//! One command on one channel: exec the wrapped command, read stdout, stderr
//! and the exit status, and on timeout or cancellation end the remote
//! command. The channel is always closed, whatever happens: OpenSSH allows
//! only MaxSessions (10 by default) open channels per connection, and the
//! pool reuses each connection for every run. The persistent shell
//! (shell.rs) shares the closing and the ending.

use std::sync::Arc;
use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use shoal_stdlib::executor::HostOutcome;
use tokio_util::sync::CancellationToken;

use super::outcome::{Ending, Ran};
use super::remote;

/// How long each step of ending a command waits for the server to confirm
/// the command is gone: first after `signal TERM`, then after `signal KILL`
/// plus end of input (which fires the remote watchdog). Two steps stay under
/// the one second a cancelled query has to return in, and a command that
/// exits on TERM at all does so well within 300 ms.
const GRACE: Duration = Duration::from_millis(300);

/// The write side of a channel that is closed when dropped, so that even a
/// panic or an abandoned future cannot leave a session open on the server.
pub(crate) struct Closing {
    pub half: Arc<ChannelWriteHalf<Msg>>,
    closed: bool,
}

impl Closing {
    pub fn new(half: ChannelWriteHalf<Msg>) -> Closing {
        Closing {
            half: Arc::new(half),
            closed: false,
        }
    }

    pub async fn close(&mut self) {
        // Closing a channel the server already closed is a no-op in russh.
        let _ = self.half.close().await;
        self.closed = true;
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let half = self.half.clone();
            runtime.spawn(async move {
                let _ = half.close().await;
            });
        }
    }
}

/// How the wait for the command ended.
enum Wait {
    Ended(Ending),
    TimedOut,
    Cancelled,
}

/// Runs `command` on a freshly opened session channel.
pub(crate) async fn run(
    channel: Channel<Msg>,
    command: &str,
    timeout: Duration,
    cancel: &CancellationToken,
) -> HostOutcome {
    let (mut reader, writer) = channel.split();
    let mut writer = Closing::new(writer);
    let mut ran = Ran::default();
    ran.sending();
    if let Err(e) = writer.half.exec(true, remote::wrap(command)).await {
        writer.close().await;
        return ran.into_outcome(Ending::Lost(e.to_string()));
    }
    let wait = tokio::select! {
        ending = read_until_closed(&mut reader, &mut ran) => Wait::Ended(ending),
        () = tokio::time::sleep(timeout) => Wait::TimedOut,
        () = cancel.cancelled() => Wait::Cancelled,
    };
    let ending = match wait {
        Wait::Ended(ending) => ending,
        Wait::TimedOut => {
            end_command(&mut reader, &writer, &mut ran).await;
            Ending::TimedOut(timeout)
        }
        Wait::Cancelled => {
            end_command(&mut reader, &writer, &mut ran).await;
            Ending::Cancelled
        }
    };
    writer.close().await;
    ran.into_outcome(ending)
}

/// Reads the channel until the server closes it. Cancel-safe: it can be
/// dropped between messages and called again without losing any.
async fn read_until_closed(reader: &mut ChannelReadHalf, ran: &mut Ran) -> Ending {
    loop {
        let Some(message) = reader.wait().await else {
            // The connection went away under the channel. With an exit
            // status in hand the command did finish; only output may be cut.
            return if ran.exit.is_some() || ran.signal.is_some() {
                Ending::Completed
            } else {
                Ending::Lost("the connection closed".to_string())
            };
        };
        match message {
            ChannelMsg::Data { data } => {
                ran.output_arrived();
                ran.stdout.push(&data);
            }
            // Extended data type 1 is stderr (RFC 4254 §5.2); no other is defined.
            ChannelMsg::ExtendedData { data, ext: 1 } => ran.stderr.push(&data),
            ChannelMsg::ExitStatus { exit_status } => ran.exit = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => ran.signal = Some(signal(&signal_name)),
            // The only request sent with want_reply is the exec.
            ChannelMsg::Failure => return Ending::Refused,
            ChannelMsg::Close => {
                ran.closed = true;
                return Ending::Completed;
            }
            _ => {}
        }
    }
}

/// Ends a command shoal has given up on, politely then firmly: `signal TERM`
/// (which OpenSSH delivers to the session's process group), then `signal
/// KILL` and end of input (which fires the remote watchdog even on a server
/// that ignores signals). Output keeps being collected meanwhile, unframed.
pub(crate) async fn end_command(reader: &mut ChannelReadHalf, writer: &Closing, ran: &mut Ran) {
    let _ = writer.half.signal(Sig::TERM).await;
    if tokio::time::timeout(GRACE, read_until_closed(reader, ran))
        .await
        .is_ok()
    {
        return;
    }
    let _ = writer.half.signal(Sig::KILL).await;
    let _ = writer.half.eof().await;
    let _ = tokio::time::timeout(GRACE, read_until_closed(reader, ran)).await;
}

fn signal(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name,
    }
    .to_string()
}
