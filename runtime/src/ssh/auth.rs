//! Public-key authentication: the identity files (read once per executor),
//! the ssh-agent's keys, OpenSSH user certificates beside either, the order
//! they are offered in, and a failure that says which keys were tried.
//! shoal never prompts: an encrypted key it cannot use says so and points
//! at ssh-agent.
//!
//! Each connection opens its own agent client (`SSH_AUTH_SOCK`), so
//! hundreds of parallel handshakes sign in parallel rather than queue on
//! one socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{Certificate, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::{MethodKind, MethodSet};
use shoal_stdlib::executor::Status;

use super::handler::Client;
use super::known_hosts::fingerprint;
use super::outcome::Failure;
use crate::inventory::paths;
use crate::targets::Endpoint;

/// One identity file, as far as it could be read. Deliberately not `Debug`:
/// it holds private keys, which must never reach a log or a panic message.
enum IdentityFile {
    Ready {
        shown: String,
        key: Arc<PrivateKey>,
        /// Its OpenSSH user certificate (`KEY-cert.pub`, or ssh_config's
        /// `CertificateFile` when it certifies this key), offered first.
        certificate: Option<Box<Certificate>>,
    },
    /// Needs a passphrase. `public` (from the file's public part or its
    /// `.pub` twin) lets the agent's copy of the same key stand in for it.
    Encrypted {
        shown: String,
        public: Option<PublicKey>,
    },
    Unusable {
        shown: String,
        reason: String,
    },
}

/// The identity files of an executor, loaded once and shared by every
/// connection (parsing an RSA key per host would cost real time on a big
/// fleet).
#[derive(Default)]
pub(crate) struct Identities {
    files: Vec<IdentityFile>,
}

impl Identities {
    pub fn load(paths: &[PathBuf], certificate_file: Option<&Path>) -> Identities {
        let configured = certificate_file.and_then(|p| Certificate::read_file(p).ok());
        let files = paths
            .iter()
            .map(|path| {
                let mut file = load_file(path);
                if let IdentityFile::Ready {
                    key, certificate, ..
                } = &mut file
                {
                    let mut twin = path.as_os_str().to_owned();
                    twin.push("-cert.pub");
                    *certificate = configured
                        .iter()
                        .cloned()
                        .chain(Certificate::read_file(Path::new(&twin)).ok())
                        .find(|cert| cert.public_key() == key.public_key().key_data())
                        .map(Box::new);
                }
                file
            })
            .collect();
        Identities { files }
    }

    /// The public keys of the identity files: with `IdentitiesOnly`, the
    /// agent's keys that are not among them are not offered.
    fn public_keys(&self) -> Vec<KeyData> {
        self.files
            .iter()
            .filter_map(|file| match file {
                IdentityFile::Ready { key, .. } => Some(key.public_key().key_data().clone()),
                IdentityFile::Encrypted {
                    public: Some(public),
                    ..
                } => Some(public.key_data().clone()),
                _ => None,
            })
            .collect()
    }
}

fn load_file(path: &Path) -> IdentityFile {
    let shown = paths::display(path);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return IdentityFile::Unusable {
                shown,
                reason: format!("cannot read it: {e}"),
            };
        }
    };
    // OpenSSH's own format first: it keeps the public key in the clear even
    // when the private part is encrypted.
    match PrivateKey::from_openssh(&text) {
        Ok(key) if key.is_encrypted() => IdentityFile::Encrypted {
            shown,
            public: Some(key.public_key().clone()),
        },
        Ok(key) => IdentityFile::Ready {
            shown,
            key: Arc::new(key),
            certificate: None,
        },
        // PEM (PKCS#1, PKCS#8) and PuTTY keys.
        Err(_) => match russh::keys::decode_secret_key(&text, None) {
            Ok(key) => IdentityFile::Ready {
                shown,
                key: Arc::new(key),
                certificate: None,
            },
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let mut twin = path.as_os_str().to_owned();
                twin.push(".pub");
                IdentityFile::Encrypted {
                    shown,
                    public: russh::keys::load_public_key(PathBuf::from(twin)).ok(),
                }
            }
            Err(e) => IdentityFile::Unusable {
                shown,
                reason: format!("not a private key shoal can read ({e})"),
            },
        },
    }
}

/// Why the keys so far were not enough, gathered while trying them.
#[derive(Default)]
struct Attempts {
    /// Keys the server refused, as shown to the user.
    tried: Vec<String>,
    /// Keys offered so far, so an identity file the agent already holds is
    /// not offered twice (each refusal counts against MaxAuthTries).
    offered: Vec<KeyData>,
    /// Problems that are not refusals: encrypted or unreadable keys, an
    /// agent that did not answer.
    notes: Vec<String>,
    /// Set when the server stops taking public keys.
    stop: Option<Failure>,
    /// The RSA signature hash the server takes, once asked.
    rsa_hash: Option<Option<HashAlg>>,
}

impl Attempts {
    /// Records a refusal of a key (`Some`) or of a certificate (`None`: its
    /// plain key may still be worth offering); returns true to keep trying.
    fn refused(&mut self, shown: String, key: Option<&KeyData>, remaining: &MethodSet) -> bool {
        self.tried.push(shown);
        self.offered.extend(key.cloned());
        if remaining.contains(&MethodKind::PublicKey) {
            return true;
        }
        let others: Vec<&str> = remaining.iter().map(<&str>::from).collect();
        self.stop = Some(Failure::new(
            Status::AuthFailed,
            if others.is_empty() {
                "the server stopped accepting keys".to_string()
            } else {
                format!(
                    "the server stopped accepting keys (it still offers {}, which shoal does not use)",
                    others.join(", ")
                )
            },
        ));
        false
    }

    /// An authentication call failed outright: the connection is gone.
    fn broken(&mut self, error: impl std::fmt::Display) {
        let reason = if self.tried.is_empty() {
            format!("the connection failed during authentication: {error}")
        } else {
            // Typically sshd's MaxAuthTries: it disconnects after too many keys.
            format!(
                "the server closed the connection after refusing {} (too many keys for its MaxAuthTries?)",
                self.tried.join(", ")
            )
        };
        self.stop = Some(Failure::new(Status::AuthFailed, reason));
    }

    async fn rsa_hash(&mut self, handle: &Handle<Client>) -> Option<HashAlg> {
        if let Some(hash) = self.rsa_hash {
            return hash;
        }
        // `None` means the server did not say (no server-sig-algs): only
        // then fall back to SHA-1 `ssh-rsa`.
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        self.rsa_hash = Some(hash);
        hash
    }

    fn into_failure(self, user: &str) -> Failure {
        if let Some(stop) = self.stop {
            return stop;
        }
        let mut parts = Vec::new();
        if self.tried.is_empty() {
            parts.push(format!("no usable key for user {user}"));
            if self.notes.is_empty() {
                parts.push(
                    "no identity file exists and no ssh-agent is running \
                     (set identity_files in the inventory, --identity, or SSH_AUTH_SOCK)"
                        .to_string(),
                );
            }
        } else {
            parts.push(format!(
                "the server refused every key for user {user} (tried {})",
                self.tried.join(", ")
            ));
        }
        parts.extend(self.notes);
        Failure::new(Status::AuthFailed, parts.join("; "))
    }
}

/// Authenticates as the endpoint's user: the agent's keys first (only those
/// of the identity files with `IdentitiesOnly`), then the identity files, as
/// OpenSSH does; a key's certificate before the key.
pub(crate) async fn authenticate(
    handle: &mut Handle<Client>,
    endpoint: &Endpoint,
    identities: &Identities,
) -> Result<(), Failure> {
    let user = endpoint.user.as_str();
    let mut attempts = Attempts::default();
    let allowed = endpoint.identities_only.then(|| identities.public_keys());
    if try_agent(handle, user, allowed.as_deref(), &mut attempts).await {
        return Ok(());
    }
    for file in &identities.files {
        if attempts.stop.is_some() {
            break;
        }
        match file {
            IdentityFile::Ready {
                shown,
                key,
                certificate,
            } => {
                let data = key.public_key().key_data();
                if attempts.offered.contains(data) {
                    continue;
                }
                if let Some(certificate) = certificate {
                    let certificate = Certificate::clone(certificate);
                    match handle
                        .authenticate_openssh_cert(user, key.clone(), certificate)
                        .await
                    {
                        Ok(AuthResult::Success) => return Ok(()),
                        Ok(AuthResult::Failure {
                            remaining_methods, ..
                        }) => {
                            let shown = format!("certificate of {shown}");
                            if !attempts.refused(shown, None, &remaining_methods) {
                                break;
                            }
                        }
                        Err(e) => {
                            attempts.broken(e);
                            break;
                        }
                    }
                }
                let hash = if data.is_rsa() {
                    attempts.rsa_hash(handle).await
                } else {
                    None
                };
                let signer = PrivateKeyWithHashAlg::new(key.clone(), hash);
                match handle.authenticate_publickey(user, signer).await {
                    Ok(AuthResult::Success) => return Ok(()),
                    Ok(AuthResult::Failure {
                        remaining_methods, ..
                    }) => {
                        attempts.refused(shown.clone(), Some(data), &remaining_methods);
                    }
                    Err(e) => attempts.broken(e),
                }
            }
            IdentityFile::Encrypted { shown, public } => {
                let in_agent = public
                    .as_ref()
                    .is_some_and(|p| attempts.offered.contains(p.key_data()));
                if !in_agent {
                    attempts
                        .notes
                        .push(format!("key {shown} is encrypted; add it to ssh-agent"));
                }
            }
            IdentityFile::Unusable { shown, reason } => {
                attempts.notes.push(format!("key {shown}: {reason}"));
            }
        }
    }
    Err(attempts.into_failure(user))
}

/// Offers the agent's keys (those in `allowed`, when given) and
/// certificates; true once one is accepted. No agent is fine.
async fn try_agent(
    handle: &mut Handle<Client>,
    user: &str,
    allowed: Option<&[KeyData]>,
    attempts: &mut Attempts,
) -> bool {
    let mut agent = match AgentClient::connect_env().await {
        Ok(agent) => agent,
        Err(russh::keys::Error::EnvVar(_)) => return false,
        Err(e) => {
            attempts.notes.push(format!("cannot use ssh-agent: {e}"));
            return false;
        }
    };
    let identities = match agent.request_identities().await {
        Ok(identities) => identities,
        Err(e) => {
            attempts
                .notes
                .push(format!("ssh-agent did not list its keys: {e}"));
            return false;
        }
    };
    // Certificates first, as ssh(1) offers them: a host that trusts the
    // user CA but lists no keys takes only those.
    let mut identities = identities;
    identities.sort_by_key(|identity| !is_certificate(identity));
    for identity in identities {
        let key = identity.public_key().into_owned();
        if allowed.is_some_and(|keys| !keys.contains(key.key_data())) {
            continue;
        }
        let certificate = is_certificate(&identity);
        let kind = if certificate { "certificate" } else { "key" };
        let shown = match &identity {
            AgentIdentity::PublicKey { comment, .. }
            | AgentIdentity::Certificate { comment, .. }
                if !comment.is_empty() =>
            {
                format!("agent {kind} {comment} ({})", fingerprint(&key))
            }
            _ => format!("agent {kind} {}", fingerprint(&key)),
        };
        if !certificate && attempts.offered.contains(key.key_data()) {
            continue;
        }
        let hash = if key.key_data().is_rsa() {
            attempts.rsa_hash(handle).await
        } else {
            None
        };
        let data = key.key_data().clone();
        let answer = match identity {
            AgentIdentity::Certificate { certificate, .. } => {
                handle
                    .authenticate_certificate_with(user, certificate, hash, &mut agent)
                    .await
            }
            _ => {
                handle
                    .authenticate_publickey_with(user, key, hash, &mut agent)
                    .await
            }
        };
        match answer {
            Ok(AuthResult::Success) => return true,
            Ok(AuthResult::Failure {
                remaining_methods, ..
            }) => {
                let refused_key = (!certificate).then_some(&data);
                if !attempts.refused(shown, refused_key, &remaining_methods) {
                    return false;
                }
            }
            Err(russh::AgentAuthError::Send(e)) => {
                attempts.broken(e);
                return false;
            }
            Err(russh::AgentAuthError::Key(e)) => {
                attempts
                    .notes
                    .push(format!("ssh-agent could not sign with {shown}: {e}"));
            }
        }
    }
    false
}

fn is_certificate(identity: &AgentIdentity) -> bool {
    matches!(identity, AgentIdentity::Certificate { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keygen(dir: &Path, name: &str, kind: &str, passphrase: &str, format: &[&str]) -> PathBuf {
        let path = dir.join(name);
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", passphrase, "-C", "test", "-f"])
            .arg(&path)
            .args(format)
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success());
        path
    }

    #[test]
    fn identity_files_are_sorted_into_ready_encrypted_and_unusable() {
        let dir = tempfile::tempdir().unwrap();
        let plain = keygen(dir.path(), "plain", "ed25519", "", &[]);
        let locked = keygen(dir.path(), "locked", "ed25519", "secret", &[]);
        let pem = keygen(dir.path(), "pem", "rsa", "", &["-m", "PEM"]);
        let locked_pem = keygen(dir.path(), "locked_pem", "rsa", "secret", &["-m", "PEM"]);
        let garbage = dir.path().join("garbage");
        std::fs::write(&garbage, "not a key").unwrap();
        let missing = dir.path().join("missing");

        let loaded = Identities::load(
            &[
                plain,
                locked.clone(),
                pem,
                locked_pem.clone(),
                garbage,
                missing,
            ],
            None,
        );
        let kinds: Vec<&str> = loaded
            .files
            .iter()
            .map(|f| match f {
                IdentityFile::Ready { .. } => "ready",
                IdentityFile::Encrypted {
                    public: Some(_), ..
                } => "encrypted+public",
                IdentityFile::Encrypted { public: None, .. } => "encrypted",
                IdentityFile::Unusable { .. } => "unusable",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "ready",
                "encrypted+public",
                "ready",
                "encrypted+public",
                "unusable",
                "unusable"
            ]
        );
        // The public part of an encrypted key is the one in its `.pub` file.
        let IdentityFile::Encrypted {
            public: Some(public),
            ..
        } = &loaded.files[1]
        else {
            unreachable!("checked above");
        };
        let twin = russh::keys::load_public_key(locked.with_extension("pub")).unwrap();
        assert_eq!(public.key_data(), twin.key_data());
    }

    #[test]
    fn failures_name_the_user_the_keys_and_the_encrypted_ones() {
        let mut attempts = Attempts::default();
        attempts
            .notes
            .push("key ~/.ssh/id_x is encrypted; add it to ssh-agent".into());
        assert_eq!(
            attempts.into_failure("fleet"),
            Failure::new(
                Status::AuthFailed,
                "no usable key for user fleet; key ~/.ssh/id_x is encrypted; add it to ssh-agent"
            )
        );

        let mut attempts = Attempts::default();
        let key = russh::keys::parse_public_key_base64(
            "AAAAC3NzaC1lZDI1NTE5AAAAIGnb1blMBd8ajs1IzTtERhA7L1Jy4XM5blxzSYbSpBCT",
        )
        .unwrap()
        .key_data()
        .clone();
        let publickey = MethodSet::from(&[MethodKind::PublicKey][..]);
        assert!(attempts.refused("~/.ssh/id_ed25519".into(), Some(&key), &publickey));
        assert_eq!(
            attempts.into_failure("fleet").reason,
            "the server refused every key for user fleet (tried ~/.ssh/id_ed25519)"
        );

        let failure = Attempts::default().into_failure("root");
        assert!(
            failure
                .reason
                .starts_with("no usable key for user root; no identity file exists")
        );
    }

    #[test]
    fn a_server_that_stops_taking_keys_ends_the_attempts() {
        let mut attempts = Attempts::default();
        let key = russh::keys::parse_public_key_base64(
            "AAAAC3NzaC1lZDI1NTE5AAAAIGnb1blMBd8ajs1IzTtERhA7L1Jy4XM5blxzSYbSpBCT",
        )
        .unwrap();
        let password_only = MethodSet::from(&[MethodKind::Password][..]);
        assert!(!attempts.refused("k".into(), Some(key.key_data()), &password_only));
        assert_eq!(
            attempts.into_failure("u").reason,
            "the server stopped accepting keys (it still offers password, which shoal does not use)"
        );
    }
}
