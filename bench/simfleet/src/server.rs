//! One simulated host's SSH server: russh's server side on the host's own
//! listener, public-key authentication for the fleet's one client key, and
//! every exec request answered by the fake shell (shell.rs) without starting
//! a process, so that thousands of hosts cost this process little and the
//! client's CPU and memory can be measured apart from theirs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{PrivateKey, PublicKey};
use russh::server::{self, Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session};
use russh::{Channel, ChannelId, ChannelMsg, MethodKind, MethodSet};
use tokio::net::TcpListener;

use crate::shell::{self, Exec, Host, Lines, Unrecognised};

/// How long to wait before accepting again after `accept` failed (out of
/// file descriptors, typically), instead of spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What every host of the fleet shares: who may log in.
pub struct Shared {
    pub user: String,
    pub client_key: PublicKey,
}

/// The server settings of one host.
pub fn config(host_key: PrivateKey) -> server::Config {
    server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-shoal_simfleet".into()),
        keys: vec![host_key],
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        // shoal may offer an agent's keys before the fleet's; russh's default
        // second per refused key would be paid on every host.
        auth_rejection_time: Duration::ZERO,
        auth_rejection_time_initial: Some(Duration::ZERO),
        // shoal's pool keeps its connections for the whole process.
        inactivity_timeout: None,
        nodelay: true,
        ..server::Config::default()
    }
}

/// Accepts connections for `host` for as long as the process runs; each
/// connection is a task of its own, as in sshd.
pub async fn serve(
    listener: TcpListener,
    config: Arc<server::Config>,
    host: Arc<Host>,
    shared: Arc<Shared>,
) {
    loop {
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(_) => {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let connection = Connection {
            host: host.clone(),
            shared: shared.clone(),
            idle: HashMap::new(),
        };
        let config = config.clone();
        tokio::spawn(async move {
            if let Ok(session) = server::run_stream(config, socket, connection).await {
                let _ = session.await;
            }
        });
    }
}

/// One client connection.
struct Connection {
    host: Arc<Host>,
    shared: Arc<Shared>,
    /// Session channels that have no exec request yet.
    idle: HashMap<ChannelId, Channel<Msg>>,
}

impl Connection {
    fn check(&self, user: &str, key: &PublicKey) -> Auth {
        if user == self.shared.user && key.key_data() == self.shared.client_key.key_data() {
            Auth::Accept
        } else {
            Auth::reject()
        }
    }
}

impl server::Handler for Connection {
    type Error = russh::Error;

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
        let Some(channel) = self.idle.remove(&id) else {
            return session.channel_failure(id);
        };
        let host = self.host.clone();
        match shell::exec_request(command) {
            Ok(Exec::Shell) => {
                session.channel_success(id)?;
                tokio::spawn(persistent_shell(channel, host));
            }
            Ok(Exec::Command(command)) => {
                session.channel_success(id)?;
                tokio::spawn(one_command(channel, host, command));
            }
            Err(Unrecognised(text)) => {
                eprintln!("simfleet: {}: refused exec request {text:?}", host.name);
                return session.channel_failure(id);
            }
        }
        Ok(())
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

/// `exec sh -s`: answers each line as it completes, until the client closes
/// the channel or sends a line this shell cannot read (then it exits, as a
/// shell with a syntax error in its input would, and says why on stderr).
async fn persistent_shell(channel: Channel<Msg>, host: Arc<Host>) {
    let (mut reader, writer) = channel.split();
    let mut lines = Lines::default();
    while let Some(message) = reader.wait().await {
        match message {
            ChannelMsg::Data { data } => {
                for line in lines.push(&data) {
                    match shell::run_line(&host, &line) {
                        Ok((stdout, stderr)) => {
                            let _ = writer.data_bytes(stdout).await;
                            let _ = writer.extended_data_bytes(1, stderr).await;
                        }
                        Err(Unrecognised(text)) => {
                            eprintln!("simfleet: {}: cannot read line {text:?}", host.name);
                            let why = format!("simfleet: cannot read {text:?}\n");
                            let _ = writer.extended_data_bytes(1, why.into_bytes()).await;
                            let _ = writer.exit_status(2).await;
                            let _ = writer.eof().await;
                            let _ = writer.close().await;
                            return;
                        }
                    }
                }
            }
            // `sh -s` exits at the end of its input.
            ChannelMsg::Eof => {
                let _ = writer.exit_status(0).await;
                let _ = writer.eof().await;
                let _ = writer.close().await;
                return;
            }
            ChannelMsg::Close => return,
            _ => {}
        }
    }
}

/// A command on a channel of its own: its output, exit status, then close.
async fn one_command(channel: Channel<Msg>, host: Arc<Host>, command: String) {
    let output = shell::answer(&host, &command);
    let _ = channel.data_bytes(output.stdout).await;
    let _ = channel.extended_data_bytes(1, output.stderr).await;
    let _ = channel.exit_status(output.status).await;
    let _ = channel.eof().await;
    let _ = channel.close().await;
}
