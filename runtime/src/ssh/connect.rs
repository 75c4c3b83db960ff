//! Opening one authenticated connection to one host within the connect
//! timeout, and naming what went wrong in the terms of a row's status.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::keys::Algorithm;
use russh::{ChannelStream, Preferred, kex};
use shoal_stdlib::executor::Status;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::auth::{self, Identities};
use super::handler::{Client, SessionError};
use super::known_hosts::{KnownHostsFile, Refusal, fingerprint, host_port};
use super::outcome::Failure;
use crate::inventory::paths;
#[cfg(test)]
use crate::ssh_config::HostKeyPolicy;
use crate::targets::Endpoint;

/// An authenticated connection, ready for channels.
pub(crate) type Connection = Handle<Client>;

/// What every connection of an executor shares: identity files and
/// known_hosts files, each read once however many hosts name it.
#[derive(Default)]
pub(crate) struct Context {
    identities: Mutex<HashMap<KeyFiles, Arc<Identities>>>,
    known_hosts: Mutex<HashMap<PathBuf, Arc<KnownHostsFile>>>,
}

impl Context {
    /// The loaded keys of `endpoint` (parsing an RSA key per host would
    /// cost real time on a big fleet).
    fn identities(&self, endpoint: &Endpoint) -> Arc<Identities> {
        let key = (
            endpoint.identity_files.clone(),
            endpoint.certificate_file.clone(),
        );
        lock(&self.identities)
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Identities::load(
                    &endpoint.identity_files,
                    endpoint.certificate_file.as_deref(),
                ))
            })
            .clone()
    }

    pub fn known_hosts(&self, path: &Path) -> Arc<KnownHostsFile> {
        lock(&self.known_hosts)
            .entry(path.to_path_buf())
            .or_insert_with(|| Arc::new(KnownHostsFile::new(path.to_path_buf())))
            .clone()
    }
}

/// The identity files and the certificate file of an endpoint.
type KeyFiles = (Vec<PathBuf>, Option<PathBuf>);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Key exchange preference: curve25519 first. OpenSSH 9.x prefers the
/// post-quantum sntrup761 hybrid, which costs the server about 60 ms of CPU
/// per handshake against a few for curve25519 (PERFORMANCE-NOTES.md: 14 s
/// versus 5 s for 200 hosts); the rest is russh's safe default order.
const KEX_ORDER: &[kex::Name] = &[
    kex::CURVE25519,
    kex::CURVE25519_PRE_RFC_8731,
    kex::MLKEM768X25519_SHA256,
    kex::DH_GEX_SHA256,
    kex::DH_G18_SHA512,
    kex::DH_G17_SHA512,
    kex::DH_G16_SHA512,
    kex::DH_G15_SHA512,
    kex::DH_G14_SHA256,
    // Pseudo-algorithms: ext-info (server-sig-algs, which picks the RSA
    // signature hash) and strict key exchange (the Terrapin fix).
    kex::EXTENSION_SUPPORT_AS_CLIENT,
    kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
];

/// How often an idle pooled connection checks the server is still there,
/// like OpenSSH's ServerAliveInterval. Pooled connections live for a whole
/// REPL session, so a silent NAT or firewall drop has to be noticed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Unanswered keepalives before the connection counts as dead (about a
/// minute), after which the pool reconnects on next use.
const KEEPALIVE_MAX: usize = 3;

/// The client configuration for a host whose known_hosts entries use
/// `recorded` algorithms: those are asked for first, as OpenSSH does, so a
/// host known by its RSA key is not reported unknown for offering Ed25519.
fn config(recorded: Vec<Algorithm>) -> client::Config {
    let mut keys = recorded;
    for algorithm in Preferred::DEFAULT.key.iter() {
        if !keys.contains(algorithm) {
            keys.push(algorithm.clone());
        }
    }
    client::Config {
        preferred: Preferred {
            kex: Cow::Borrowed(KEX_ORDER),
            key: Cow::Owned(keys),
            ..Preferred::DEFAULT
        },
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: KEEPALIVE_MAX,
        // We connect the socket ourselves, so set_nodelay happens there; this
        // keeps the two in agreement.
        nodelay: true,
        ..client::Config::default()
    }
}

/// Key exchange and authentication with `endpoint` over `stream`: a TCP
/// socket, or a tunnel through a jump host. The caller bounds the time.
pub(crate) async fn handshake<S>(
    endpoint: &Endpoint,
    context: &Context,
    stream: S,
) -> Result<Connection, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let known_hosts = context.known_hosts(&endpoint.known_hosts);
    let recorded = known_hosts
        .current()
        .map(|known| known.algorithms_for(&endpoint.addr, endpoint.port))
        .unwrap_or_default();
    let client = Client {
        addr: endpoint.addr.clone(),
        port: endpoint.port,
        known_hosts: known_hosts.clone(),
        host_keys: endpoint.host_keys,
    };
    let mut handle = client::connect_stream(Arc::new(config(recorded)), stream, client)
        .await
        .map_err(|e| handshake_failure(endpoint, &known_hosts, e))?;
    let identities = context.identities(endpoint);
    auth::authenticate(&mut handle, endpoint, &identities).await?;
    Ok(handle)
}

/// A tunnel to `endpoint` through the jump host connection `via`
/// (`direct-tcpip`, what `ssh -J` asks the jump host for).
pub(crate) async fn tunnel(
    via: &Connection,
    jump: &Endpoint,
    endpoint: &Endpoint,
) -> Result<ChannelStream<Msg>, Failure> {
    let channel = via
        .channel_open_direct_tcpip(
            endpoint.addr.as_str(),
            u32::from(endpoint.port),
            "127.0.0.1",
            0,
        )
        .await
        .map_err(|e| {
            let why = match e {
                russh::Error::ChannelOpenFailure(why) => why.description().to_string(),
                other => other.to_string(),
            };
            Failure::new(
                Status::Unreachable,
                format!(
                    "jump host {} could not reach {}: {why}",
                    jump.label,
                    host_port(&endpoint.addr, endpoint.port)
                ),
            )
        })?;
    Ok(channel.into_stream())
}

/// Resolves and connects, trying each address in turn as ssh(1) does.
pub(crate) async fn tcp(target: &Endpoint) -> Result<TcpStream, Failure> {
    let addrs: Vec<_> = tokio::net::lookup_host((target.addr.as_str(), target.port))
        .await
        .map_err(|e| {
            Failure::new(
                Status::Unreachable,
                format!("cannot resolve {}: {e}", target.addr),
            )
        })?
        .collect();
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Each SSH round trip is a small packet; Nagle would hold
                // them back and add latency to every handshake step.
                stream
                    .set_nodelay(true)
                    .map_err(|e| tcp_failure(target, &e))?;
                return Ok(stream);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => tcp_failure(target, &e),
        None => Failure::new(
            Status::Unreachable,
            format!("{} resolves to no address", target.addr),
        ),
    })
}

fn tcp_failure(target: &Endpoint, error: &io::Error) -> Failure {
    let reason = match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => format!("cannot connect to port {}: {error}", target.port),
    };
    Failure::new(Status::Unreachable, reason)
}

fn handshake_failure(
    target: &Endpoint,
    known_hosts: &KnownHostsFile,
    error: SessionError,
) -> Failure {
    let name = host_port(&target.addr, target.port);
    let file = paths::display(known_hosts.path());
    match error {
        SessionError::HostKey { refusal, offered } => {
            let key = format!("{} {}", offered.algorithm().as_str(), fingerprint(&offered));
            match refusal {
                Refusal::Unknown => {
                    let port = if target.port == 22 {
                        String::new()
                    } else {
                        format!("-p {} ", target.port)
                    };
                    Failure::new(
                        Status::HostkeyUnknown,
                        format!(
                            "host key for {name} is not in {file} (the server offers {key}); \
                             trust it on first use with --accept-new, or add it with: \
                             ssh-keyscan {port}{} >> {file}",
                            target.addr
                        ),
                    )
                }
                Refusal::Changed { line } => Failure::new(
                    Status::HostkeyMismatch,
                    format!(
                        "HOST KEY CHANGED for {name}: the server offers {key}, but {file}:{line} \
                         records a different key; refusing to connect (this may be a \
                         man-in-the-middle; if the host was rebuilt, remove the old key with: \
                         ssh-keygen -R '{name}' -f {file})"
                    ),
                ),
                Refusal::Revoked { line } => Failure::new(
                    Status::HostkeyMismatch,
                    format!(
                        "the host key of {name} ({key}) is marked @revoked in {file}:{line}; \
                         refusing to connect"
                    ),
                ),
                Refusal::Unreadable(reason) => Failure::new(Status::Error, reason),
            }
        }
        SessionError::Certificate => Failure::new(
            Status::HostkeyUnknown,
            format!("{name} presented a host certificate; shoal checks plain host keys only"),
        ),
        SessionError::Ssh(error) => ssh_failure(error),
    }
}

/// A protocol-level failure during the handshake. A connection cut short is
/// `unreachable` (sshd's MaxStartups drops connections this way); anything
/// else is an `error` with russh's reason.
fn ssh_failure(error: russh::Error) -> Failure {
    match error {
        russh::Error::IO(e) => Failure::new(
            Status::Unreachable,
            format!("the connection failed during the handshake: {e}"),
        ),
        russh::Error::Disconnect | russh::Error::HUP => Failure::new(
            Status::Unreachable,
            "the server closed the connection during the handshake",
        ),
        other => Failure::new(Status::Error, format!("SSH handshake failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(addr: &str, port: u16) -> Endpoint {
        Endpoint {
            label: addr.into(),
            addr: addr.into(),
            port,
            user: "fleet".into(),
            identity_files: Vec::new(),
            identities_only: false,
            certificate_file: None,
            known_hosts: "/k/known_hosts".into(),
            host_keys: HostKeyPolicy::Strict,
        }
    }

    fn known_hosts() -> KnownHostsFile {
        KnownHostsFile::new("/k/known_hosts".into())
    }

    fn offered() -> Box<russh::keys::PublicKey> {
        Box::new(
            russh::keys::parse_public_key_base64(
                "AAAAC3NzaC1lZDI1NTE5AAAAIGnb1blMBd8ajs1IzTtERhA7L1Jy4XM5blxzSYbSpBCT",
            )
            .unwrap(),
        )
    }

    #[test]
    fn unknown_keys_give_the_fingerprint_and_both_remedies() {
        let failure = handshake_failure(
            &target("10.0.0.1", 2222),
            &known_hosts(),
            SessionError::HostKey {
                refusal: Refusal::Unknown,
                offered: offered(),
            },
        );
        assert_eq!(failure.status, Status::HostkeyUnknown);
        assert_eq!(
            failure.reason,
            "host key for [10.0.0.1]:2222 is not in /k/known_hosts (the server offers ssh-ed25519 \
             SHA256:BbVgxq6jvspv30Ssw4TvamI8Adtfcq46BV9YcyyzqxQ); trust it on first use with \
             --accept-new, or add it with: ssh-keyscan -p 2222 10.0.0.1 >> /k/known_hosts"
        );
    }

    #[test]
    fn changed_and_revoked_keys_are_mismatches() {
        let changed = handshake_failure(
            &target("10.0.0.1", 22),
            &known_hosts(),
            SessionError::HostKey {
                refusal: Refusal::Changed { line: 7 },
                offered: offered(),
            },
        );
        assert_eq!(changed.status, Status::HostkeyMismatch);
        assert!(
            changed.reason.starts_with(
                "HOST KEY CHANGED for 10.0.0.1: the server offers ssh-ed25519 SHA256:"
            )
        );
        assert!(
            changed
                .reason
                .contains("/k/known_hosts:7 records a different key")
        );

        let revoked = handshake_failure(
            &target("10.0.0.1", 22),
            &known_hosts(),
            SessionError::HostKey {
                refusal: Refusal::Revoked { line: 2 },
                offered: offered(),
            },
        );
        assert_eq!(revoked.status, Status::HostkeyMismatch);
        assert!(revoked.reason.contains("@revoked in /k/known_hosts:2"));
    }

    #[test]
    fn cut_connections_are_unreachable_and_protocol_errors_are_errors() {
        assert_eq!(
            ssh_failure(russh::Error::Disconnect).status,
            Status::Unreachable
        );
        let io = russh::Error::IO(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(ssh_failure(io).status, Status::Unreachable);
        assert_eq!(ssh_failure(russh::Error::Kex).status, Status::Error);
        let refused = tcp_failure(
            &target("10.0.0.1", 22),
            &io::Error::from(io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(
            refused,
            Failure::new(Status::Unreachable, "connection refused")
        );
    }

    #[test]
    fn recorded_host_key_algorithms_are_asked_for_first() {
        let config = config(vec![Algorithm::Rsa {
            hash: Some(russh::keys::HashAlg::Sha512),
        }]);
        assert_eq!(
            config.preferred.key[0],
            Algorithm::Rsa {
                hash: Some(russh::keys::HashAlg::Sha512)
            }
        );
        assert_eq!(config.preferred.key.len(), Preferred::DEFAULT.key.len());
        assert_eq!(config.preferred.kex[0], kex::CURVE25519);
        assert!(config.nodelay);
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_a_bad_name_does_not_resolve() {
        // Bind then drop a listener: the port is free, so nothing answers.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let failure = tcp(&target("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(
            failure,
            Failure::new(Status::Unreachable, "connection refused")
        );

        // Without a reachable DNS server the lookup may hang instead of
        // failing; the connect timeout (tested in mod.rs) bounds that.
        let nowhere = target("no-such-host.invalid", 22);
        if let Ok(result) = tokio::time::timeout(Duration::from_secs(3), tcp(&nowhere)).await {
            let failure = result.unwrap_err();
            assert_eq!(failure.status, Status::Unreachable);
            assert!(
                failure
                    .reason
                    .starts_with("cannot resolve no-such-host.invalid"),
                "{}",
                failure.reason
            );
        }
    }
}
