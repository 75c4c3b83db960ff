//! What shoal resolved for one host, each value with where it came from:
//! what `shoal hosts --explain HOST` prints, and what every [`Route`] is
//! made from, so the two cannot disagree.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::{Endpoint, Route};
use crate::ssh_config::{HostKeyPolicy, Origin};

/// Where a connection setting came from, in the order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, as spelled (`--user`).
    Flag(&'static str),
    /// The host's own inventory entry.
    Inventory,
    /// Written in a `ProxyJump` hop itself (`user@host:port`).
    ProxyJump(Origin),
    /// A line of ssh_config.
    SshConfig(Origin),
    /// The inventory's defaults, else shoal's own (the host's name, port
    /// 22, the local user, `~/.ssh/id_*`, `~/.ssh/known_hosts`).
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Inventory => write!(f, "inventory"),
            Source::ProxyJump(at) => write!(f, "ProxyJump at {at}"),
            Source::SshConfig(at) => write!(f, "{at}"),
            Source::Default => write!(f, "default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    pub(super) fn new(value: T, source: Source) -> Sourced<T> {
        Sourced { value, source }
    }
}

/// One SSH server to log in to, every setting with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedEndpoint {
    /// How messages name it: the host's name, or the hop as written.
    pub label: String,
    pub addr: Sourced<String>,
    pub user: Sourced<String>,
    pub port: Sourced<u16>,
    /// Private keys to offer after the agent's, in order.
    pub identity_files: Vec<Sourced<PathBuf>>,
    pub identities_only: Sourced<bool>,
    pub certificate_file: Option<Sourced<PathBuf>>,
    /// The known_hosts file shoal reads and writes.
    pub known_hosts: Sourced<PathBuf>,
    /// Further `UserKnownHostsFile` files, which ssh would also read and
    /// shoal does not.
    pub unread_known_hosts: Vec<PathBuf>,
    pub host_keys: Sourced<HostKeyPolicy>,
}

impl ExplainedEndpoint {
    /// The endpoint, without the sources.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            label: self.label.clone(),
            addr: self.addr.value.clone(),
            port: self.port.value,
            user: self.user.value.clone(),
            identity_files: self
                .identity_files
                .iter()
                .map(|f| f.value.clone())
                .collect(),
            identities_only: self.identities_only.value,
            certificate_file: self.certificate_file.as_ref().map(|f| f.value.clone()),
            known_hosts: self.known_hosts.value.clone(),
            host_keys: self.host_keys.value,
        }
    }
}

/// How shoal would reach a host that it can resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub target: ExplainedEndpoint,
    /// Jump hosts, outermost first, each resolved through the config.
    pub jumps: Vec<ExplainedEndpoint>,
    pub connect_timeout: Sourced<Duration>,
    /// Why shoal will not connect it even so (a setting it cannot follow).
    pub refused: Option<String>,
}

/// One host explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainedRoute {
    pub name: String,
    /// Whether the inventory lists it (else it is resolved as `-w NAME`
    /// or a `Host` of ssh_config would be).
    pub in_inventory: bool,
    /// `Err`: why nothing about the host can be resolved (a line of
    /// ssh_config that stops it), which is also why it is not connected.
    pub resolved: Result<Resolved, String>,
}

impl ExplainedRoute {
    /// The route the executor follows. A host that cannot be resolved gets
    /// a route that is refused with the reason, and is never connected.
    pub fn route(&self, defaults: &crate::inventory::Settings) -> Route {
        match &self.resolved {
            Ok(resolved) => Route {
                jumps: resolved.jumps.iter().map(|j| j.endpoint()).collect(),
                target: resolved.target.endpoint(),
                connect_timeout: resolved.connect_timeout.value,
                refused: resolved.refused.clone(),
            },
            Err(reason) => Route {
                jumps: Vec::new().into(),
                target: Endpoint {
                    label: self.name.clone(),
                    addr: self.name.clone(),
                    port: defaults.default_port,
                    user: defaults.default_user.clone().unwrap_or_default(),
                    identity_files: Vec::new(),
                    identities_only: false,
                    certificate_file: None,
                    known_hosts: defaults.known_hosts.clone(),
                    host_keys: HostKeyPolicy::Strict,
                },
                connect_timeout: defaults.connect_timeout,
                refused: Some(reason.clone()),
            },
        }
    }
}
