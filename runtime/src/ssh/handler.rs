//! The russh client handler: it checks the server's host key against
//! known_hosts during the handshake and, when it refuses, carries the reason
//! out of russh as a typed error so the row can say `hostkey_unknown` or
//! `hostkey_mismatch` rather than "handshake failed".

use std::sync::Arc;

use russh::client;
use russh::keys::{PublicKey, PublicKeyOrCertificate};

use super::known_hosts::{KnownHostsFile, Refusal};
use crate::ssh_config::HostKeyPolicy;

/// One connection's view of the host it is talking to.
pub(crate) struct Client {
    /// The address as dialled: the name known_hosts is checked under, as
    /// OpenSSH checks the name given on its command line.
    pub addr: String,
    pub port: u16,
    pub known_hosts: Arc<KnownHostsFile>,
    pub host_keys: HostKeyPolicy,
}

/// Everything that can end a connection, as russh reports it to us.
#[derive(Debug)]
pub(crate) enum SessionError {
    Ssh(russh::Error),
    /// The host key was refused; `offered` is the key the server showed.
    HostKey {
        refusal: Refusal,
        offered: Box<PublicKey>,
    },
    /// The server presented a host certificate. shoal never asks for one,
    /// so this only happens with a misbehaving server.
    Certificate,
}

impl From<russh::Error> for SessionError {
    fn from(error: russh::Error) -> Self {
        SessionError::Ssh(error)
    }
}

impl client::Handler for Client {
    type Error = SessionError;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, SessionError> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return Err(SessionError::Certificate);
        };
        // An error, not `Ok(false)`: russh hands our error back from
        // `connect_stream`, which is how the reason reaches the row.
        self.known_hosts
            .verify(&self.addr, self.port, key, self.host_keys)
            .map(|()| true)
            .map_err(|refusal| SessionError::HostKey {
                refusal,
                offered: Box::new(key.clone()),
            })
    }
}
