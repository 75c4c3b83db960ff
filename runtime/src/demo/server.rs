//! The SSH server of a demo host: russh's server side on a loopback
//! listener, public-key authentication for the fleet's one client key, and
//! `exec` requests run by `/bin/sh -c` in the host's sandbox.
//!
//! A command runs as sshd would run it, so shoal's client needs nothing
//! special: its own process group (the client's watchdog ends a command
//! with `kill -9 0`, which must reach the command and never shoal itself),
//! stdin from the channel, stdout as channel data, stderr as extended data 1,
//! then eof, `exit-status` (or `exit-signal`) and close. A `signal` request
//! goes to the whole group. When the command's shell exits, or the client
//! closes the channel, or the connection drops, or the fleet stops, the
//! group is killed: a demo host leaves no process behind.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use russh::keys::{PrivateKey, PublicKey};
use russh::server::{self, Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session};
use russh::{Channel, ChannelId, ChannelMsg, Disconnect, MethodKind, MethodSet, Sig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdin, Command};
use tokio_util::sync::CancellationToken;

/// The only user a demo host lets in.
pub(crate) const USER: &str = "demo";

/// How long to wait before accepting again after `accept` failed (out of
/// file descriptors, typically), instead of spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What one host's server needs to run commands.
pub(crate) struct HostContext {
    pub name: &'static str,
    pub sandbox: PathBuf,
    /// `$PATH` of its commands: the sandbox's `bin/` first.
    pub path: OsString,
}

/// What every server of the fleet shares.
pub(crate) struct Shared {
    pub client_key: PublicKey,
    pub groups: Groups,
    pub stop: CancellationToken,
}

/// The server settings of one host.
pub(crate) fn config(host_key: PrivateKey) -> server::Config {
    server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-shoal_demo".into()),
        keys: vec![host_key],
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        // No delay on refusals: shoal offers the ssh-agent's keys before
        // the fleet's key, and russh's default second per refused key would
        // be paid on every host. Constant-time refusals guard against
        // probing, which a loopback demo that lives as long as its process
        // has no use for.
        auth_rejection_time: Duration::ZERO,
        auth_rejection_time_initial: Some(Duration::ZERO),
        // shoal's pool keeps connections for a whole session.
        inactivity_timeout: None,
        nodelay: true,
        ..server::Config::default()
    }
}

/// Accepts connections until the fleet stops. Each connection runs as its
/// own task, as in sshd.
pub(crate) async fn serve(
    listener: TcpListener,
    config: Arc<server::Config>,
    host: Arc<HostContext>,
    shared: Arc<Shared>,
) {
    loop {
        let socket = tokio::select! {
            () = shared.stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Each handshake step is a small packet; Nagle would delay them.
        let _ = socket.set_nodelay(true);
        let connection = Connection {
            host: host.clone(),
            shared: shared.clone(),
            idle: HashMap::new(),
        };
        let config = config.clone();
        let stop = shared.stop.clone();
        tokio::spawn(async move {
            let session = tokio::select! {
                () = stop.cancelled() => return,
                session = server::run_stream(config, socket, connection) => match session {
                    Ok(session) => session,
                    Err(_) => return,
                },
            };
            let handle = session.handle();
            tokio::select! {
                _ = session => {}
                () = stop.cancelled() => {
                    let reason = "the demo fleet stopped".to_string();
                    let _ = handle.disconnect(Disconnect::ByApplication, reason, String::new()).await;
                }
            }
        });
    }
}

/// One client connection.
struct Connection {
    host: Arc<HostContext>,
    shared: Arc<Shared>,
    /// Session channels that have not run a command yet. A channel leaves
    /// this map for the task that runs its command.
    idle: HashMap<ChannelId, Channel<Msg>>,
}

impl Connection {
    fn check(&self, user: &str, key: &PublicKey) -> Auth {
        if user == USER && key.key_data() == self.shared.client_key.key_data() {
            Auth::Accept
        } else {
            Auth::reject()
        }
    }
}

impl server::Handler for Connection {
    type Error = russh::Error;

    /// Refuses a foreign key before the client bothers to sign with it.
    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.check(user, offer.public_key))
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.check(user, key.public_key))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.idle.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        id: ChannelId,
        command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // A second exec on the same channel finds it gone.
        let Some(channel) = self.idle.remove(&id) else {
            return session.channel_failure(id);
        };
        let Ok(child) = spawn(&self.host, command) else {
            return session.channel_failure(id);
        };
        let Some(group) = Group::new(&child, &self.shared.groups) else {
            return session.channel_failure(id);
        };
        session.channel_success(id)?;
        let handle = session.handle();
        let stop = self.shared.stop.clone();
        tokio::spawn(run(channel, child, group, handle, stop));
        Ok(())
    }

    // Commands only: no shells, terminals or subsystems (sftp).

    async fn shell_request(
        &mut self,
        id: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(id)
    }

    async fn pty_request(
        &mut self,
        id: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(id)
    }

    async fn subsystem_request(
        &mut self,
        id: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(id)
    }

    async fn channel_close(
        &mut self,
        id: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.idle.remove(&id);
        Ok(())
    }
}

/// Starts `sh -c COMMAND` in the host's sandbox, in a new process group,
/// with the small clean environment sshd would give it.
fn spawn(host: &HostContext, command: &[u8]) -> std::io::Result<Child> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(OsStr::from_bytes(command))
        .current_dir(&host.sandbox)
        .env_clear()
        .env("HOME", &host.sandbox)
        .env("HOSTNAME", host.name)
        .env("USER", USER)
        .env("LOGNAME", USER)
        .env("SHELL", "/bin/sh")
        .env("PATH", &host.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
}

/// Relays one command's output and input until it ends or is abandoned.
async fn run(
    channel: Channel<Msg>,
    mut child: Child,
    group: Group,
    session: server::Handle,
    stop: CancellationToken,
) {
    let id = channel.id();
    let (mut reader, writer) = channel.split();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return;
    };
    let mut stdin = child.stdin.take();
    let finished = async {
        let (status, _, _) = tokio::join!(
            async {
                let status = child.wait().await;
                // Whatever the command left running would hold the output
                // pipes open; a demo host keeps nothing behind.
                group.signal(Signal::SIGKILL);
                status
            },
            writer.data(stdout),
            writer.extended_data(1, stderr),
        );
        status
    };
    tokio::select! {
        status = finished => {
            let _ = writer.eof().await;
            // Without a status (wait failed: not seen in practice) the
            // client reports the command ended without one.
            if let Ok(status) = status {
                report(status, id, &writer, &session).await;
            }
            let _ = writer.close().await;
        }
        // The client closed the channel or the connection went away.
        () = relay_input(&mut reader, &mut stdin, &group) => {}
        () = stop.cancelled() => {}
    }
    // `group` drops here and kills whatever is left.
}

/// Sends how the command ended: its exit code, or the signal that killed it.
async fn report(
    status: ExitStatus,
    id: ChannelId,
    writer: &russh::ChannelWriteHalf<Msg>,
    session: &server::Handle,
) {
    if let Some(code) = status.code() {
        let _ = writer.exit_status(code as u32).await;
    } else if let Some(number) = status.signal() {
        let _ = session
            .exit_signal_request(
                id,
                sig_of(number),
                status.core_dumped(),
                String::new(),
                String::new(),
            )
            .await;
    }
}

/// Passes the channel's data to the command's stdin, closes it on eof, and
/// delivers `signal` requests; returns when the channel is gone.
async fn relay_input(
    reader: &mut russh::ChannelReadHalf,
    stdin: &mut Option<ChildStdin>,
    group: &Group,
) {
    loop {
        match reader.wait().await {
            None | Some(ChannelMsg::Close) => return,
            Some(ChannelMsg::Data { data }) => {
                if let Some(pipe) = stdin.as_mut()
                    && pipe.write_all(&data).await.is_err()
                {
                    *stdin = None;
                }
            }
            Some(ChannelMsg::Eof) => *stdin = None,
            Some(ChannelMsg::Signal { signal }) => {
                if let Some(signal) = signal_of(&signal) {
                    group.signal(signal);
                }
            }
            Some(_) => {}
        }
    }
}

/// The signal an SSH `signal` request names (RFC 4254 §6.9: without `SIG`).
fn signal_of(sig: &Sig) -> Option<Signal> {
    Some(match sig {
        Sig::ABRT => Signal::SIGABRT,
        Sig::ALRM => Signal::SIGALRM,
        Sig::FPE => Signal::SIGFPE,
        Sig::HUP => Signal::SIGHUP,
        Sig::ILL => Signal::SIGILL,
        Sig::INT => Signal::SIGINT,
        Sig::KILL => Signal::SIGKILL,
        Sig::PIPE => Signal::SIGPIPE,
        Sig::QUIT => Signal::SIGQUIT,
        Sig::SEGV => Signal::SIGSEGV,
        Sig::TERM => Signal::SIGTERM,
        Sig::USR1 => Signal::SIGUSR1,
        Sig::Custom(name) => return format!("SIG{name}").parse().ok(),
    })
}

/// The SSH name of signal `number`, for `exit-signal`.
fn sig_of(number: i32) -> Sig {
    let Ok(signal) = Signal::try_from(number) else {
        return Sig::Custom(number.to_string());
    };
    match signal {
        Signal::SIGABRT => Sig::ABRT,
        Signal::SIGALRM => Sig::ALRM,
        Signal::SIGFPE => Sig::FPE,
        Signal::SIGHUP => Sig::HUP,
        Signal::SIGILL => Sig::ILL,
        Signal::SIGINT => Sig::INT,
        Signal::SIGKILL => Sig::KILL,
        Signal::SIGPIPE => Sig::PIPE,
        Signal::SIGQUIT => Sig::QUIT,
        Signal::SIGSEGV => Sig::SEGV,
        Signal::SIGTERM => Sig::TERM,
        Signal::SIGUSR1 => Sig::USR1,
        other => Sig::Custom(other.as_str().trim_start_matches("SIG").to_string()),
    }
}

/// The process groups of the commands running now, so that stopping the
/// fleet can kill them at once, even when its runtime is already gone.
#[derive(Clone, Default)]
pub(crate) struct Groups(Arc<Mutex<HashSet<i32>>>);

impl Groups {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn kill_all(&self) {
        for &group in self.lock().iter() {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
}

/// A command's process group, killed when dropped.
///
/// The group is also signalled after its leader was reaped (to end what the
/// command left behind). Should the group be empty by then, its id could in
/// principle name a new group; Linux hands out process ids in sequence, so
/// that would take the whole pid space cycling in microseconds.
struct Group {
    pgid: i32,
    registry: Groups,
}

impl Group {
    /// The group `child` leads. None unless it has a real process id: a
    /// group id of 0 would mean shoal's own group.
    fn new(child: &Child, registry: &Groups) -> Option<Group> {
        let pgid = i32::try_from(child.id()?).ok().filter(|&pid| pid > 1)?;
        registry.lock().insert(pgid);
        Some(Group {
            pgid,
            registry: registry.clone(),
        })
    }

    /// Best effort: the group may be gone already.
    fn signal(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pgid), signal);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
        self.registry.lock().remove(&self.pgid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_round_trip() {
        for number in [1, 2, 3, 6, 9, 10, 12, 13, 14, 15] {
            let sig = sig_of(number);
            assert_eq!(signal_of(&sig).map(|s| s as i32), Some(number), "{sig:?}");
        }
        assert!(matches!(sig_of(12), Sig::Custom(name) if name == "USR2"));
        assert_eq!(signal_of(&Sig::Custom("NOPE".into())), None);
    }
}
