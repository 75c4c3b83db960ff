//! How every connection is made ([`Settings`]): the command line's
//! [`Overrides`], else the TOML file's `[defaults]`, else the built-in
//! defaults. Other formats have no `[defaults]`, so they take the flags and
//! the built-ins only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::ansible_cfg::AnsibleDefaults;
use super::error::{InventoryError, Source};
use super::hosts::DEFAULT_PORT;
use super::paths::{self, Env};
use super::raw::RawDefaults;
use super::{Overrides, Settings};

/// Hosts in flight at once. The measured sweet spot for a few hundred hosts
/// from one 2-core machine (see PERFORMANCE-NOTES.md); each in-flight host
/// costs one socket, well under the usual 1024 open-file limit.
pub(super) const DEFAULT_FANOUT: usize = 256;
/// Long enough for a loaded host across a WAN to finish TCP, key exchange
/// and authentication; short enough that a dead host does not stall a query.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A debugging command that has not answered in a minute is itself the answer.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The keys OpenSSH tries by default, in its order, minus the DSA key it no
/// longer supports.
const DEFAULT_IDENTITY_FILES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];

/// The settings of the inventory read from `source`, whose `[defaults]` are
/// `defaults` (empty for formats that have none) and, below them, those of
/// ansible.cfg (`ansible`; empty but for Ansible's formats).
pub(super) fn resolve(
    source: Source,
    defaults: &RawDefaults,
    ansible: &AnsibleDefaults,
    overrides: &Overrides,
    env: &Env,
) -> Result<Settings, InventoryError> {
    Resolver { source, env }.settings(defaults, ansible, overrides)
}

/// One resolution: what every error needs to say where it is.
struct Resolver<'a> {
    source: Source<'a>,
    env: &'a Env,
}

impl Resolver<'_> {
    fn base_dir(&self) -> &Path {
        self.source.path.parent().unwrap_or(Path::new("."))
    }

    fn settings(
        &self,
        defaults: &RawDefaults,
        ansible: &AnsibleDefaults,
        overrides: &Overrides,
    ) -> Result<Settings, InventoryError> {
        let source = self.source;
        let identity_files = if !overrides.identity_files.is_empty() {
            self.override_identity_files(&overrides.identity_files)?
        } else if let Some(files) = &defaults.identity_files {
            self.file_identity_files(files)?
        } else if let Some(file) = &ansible.private_key_file {
            vec![file.clone()]
        } else {
            // Like OpenSSH: offer whichever of the usual keys exist.
            self.env.home.as_ref().map_or_else(Vec::new, |home| {
                DEFAULT_IDENTITY_FILES
                    .iter()
                    .map(|name| home.join(".ssh").join(name))
                    .filter(|p| p.is_file())
                    .collect()
            })
        };

        let known_hosts = match (&overrides.known_hosts, &defaults.known_hosts) {
            (Some(path), _) => paths::expand_home(&path.to_string_lossy(), self.env)
                .map_err(|reason| source.unusable(format!("--known-hosts {reason}")))?,
            (None, Some(raw)) => {
                paths::expand(raw.get_ref(), self.base_dir(), self.env).map_err(|reason| {
                    source.at(raw.span().start, format!("defaults.known_hosts: {reason}"))
                })?
            }
            (None, None) => paths::expand_home("~/.ssh/known_hosts", self.env)
                .map_err(|reason| source.unusable(format!("known_hosts: {reason}")))?,
        };

        let fanout = match (overrides.fanout, &defaults.fanout) {
            (Some(0), _) => return Err(source.unusable("--fanout must be at least 1")),
            (Some(fanout), _) => fanout,
            (None, Some(fanout)) if *fanout.get_ref() == 0 => {
                return Err(source.at(fanout.span().start, "defaults.fanout: must be at least 1"));
            }
            (None, Some(fanout)) => *fanout.get_ref(),
            (None, None) => DEFAULT_FANOUT,
        };

        let max_connections = match (overrides.max_connections, &defaults.max_connections) {
            (Some(0), _) => return Err(source.unusable("--max-connections must be at least 1")),
            (Some(most), _) => Some(most),
            (None, Some(most)) if *most.get_ref() == 0 => {
                return Err(source.at(
                    most.span().start,
                    "defaults.max_connections: must be at least 1",
                ));
            }
            (None, most) => most.as_ref().map(|most| *most.get_ref()),
        };

        let connect_timeout = match overrides.connect_timeout {
            Some(timeout) => timeout,
            None => self
                .duration("defaults.connect_timeout", &defaults.connect_timeout)?
                .or(ansible.timeout)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        };
        let command_timeout = match overrides.command_timeout {
            Some(timeout) => timeout,
            None => self
                .duration("defaults.command_timeout", &defaults.command_timeout)?
                .unwrap_or(DEFAULT_COMMAND_TIMEOUT),
        };

        Ok(Settings {
            identity_files,
            known_hosts,
            fanout,
            max_connections,
            connect_timeout,
            command_timeout,
            accept_new: overrides.accept_new,
            default_user: overrides
                .user
                .clone()
                .or_else(|| defaults.user.clone())
                .or_else(|| ansible.remote_user.clone())
                .or_else(|| self.env.user.clone()),
            default_port: defaults
                .port
                .as_ref()
                .map(|port| *port.get_ref())
                .or(ansible.remote_port)
                .unwrap_or(DEFAULT_PORT),
        })
    }

    fn file_identity_files(
        &self,
        files: &[Spanned<String>],
    ) -> Result<Vec<PathBuf>, InventoryError> {
        files
            .iter()
            .map(|raw| {
                let at = raw.span().start;
                let path =
                    paths::expand(raw.get_ref(), self.base_dir(), self.env).map_err(|reason| {
                        self.source
                            .at(at, format!("defaults.identity_files: {reason}"))
                    })?;
                if !path.is_file() {
                    return Err(self.source.at(
                        at,
                        format!("defaults.identity_files: {} does not exist", path.display()),
                    ));
                }
                Ok(path)
            })
            .collect()
    }

    fn override_identity_files(&self, files: &[PathBuf]) -> Result<Vec<PathBuf>, InventoryError> {
        files
            .iter()
            .map(|raw| {
                let path = paths::expand_home(&raw.to_string_lossy(), self.env)
                    .map_err(|reason| self.source.unusable(format!("--identity {reason}")))?;
                if !path.is_file() {
                    return Err(self.source.unusable(format!(
                        "--identity {}: the file does not exist",
                        path.display()
                    )));
                }
                Ok(path)
            })
            .collect()
    }

    fn duration(
        &self,
        field: &str,
        raw: &Option<Spanned<String>>,
    ) -> Result<Option<Duration>, InventoryError> {
        raw.as_ref()
            .map(|raw| {
                shoal_lang::parse_duration(raw.get_ref()).map_err(|reason| {
                    self.source
                        .at(raw.span().start, format!("{field}: {reason}"))
                })
            })
            .transpose()
    }
}
