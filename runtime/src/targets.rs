//! Where and how to reach each host: its inventory entry, the user's
//! ssh_config and the command-line flags merged in one order of precedence,
//! flags, then the inventory's own entry for the host, then ssh_config, then
//! the inventory's defaults; and the `ProxyJump` chain in front of it
//! (`resolver.rs`). Every value keeps where it came from
//! (`explained.rs`), which `shoal hosts --explain` prints.

mod explained;
mod resolver;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use shoal_stdlib::fleet::{Fleet, FleetHost};

pub use explained::{ExplainedEndpoint, ExplainedRoute, Resolved, Source, Sourced};

use crate::inventory::{Inventory, paths};
use crate::ssh_config::tokens::Local;
use crate::ssh_config::{HostKeyPolicy, SshConfig};
use resolver::Resolver;

/// One SSH server to log in to: a host of the fleet or a jump host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// How messages name it: the host's name, or the jump host as written.
    pub label: String,
    pub addr: String,
    pub port: u16,
    pub user: String,
    /// Private keys to offer after the agent's, in order.
    pub identity_files: Vec<PathBuf>,
    /// Offer only these keys, not every key the agent holds.
    pub identities_only: bool,
    /// An OpenSSH user certificate to present with its key.
    pub certificate_file: Option<PathBuf>,
    pub known_hosts: PathBuf,
    pub host_keys: HostKeyPolicy,
}

/// How to reach one host of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Jump hosts, outermost first; empty for a direct connection.
    pub jumps: Arc<[Endpoint]>,
    pub target: Endpoint,
    /// TCP, key exchange and authentication of the target, jumps included.
    pub connect_timeout: Duration,
    /// Why shoal will not connect this host at all (an ssh_config setting
    /// it cannot follow); its rows say this instead of connecting.
    pub refused: Option<String>,
}

/// Every host's route, and what the user should be told about them.
#[derive(Debug, Clone)]
pub struct Routes {
    pub routes: Vec<(String, Route)>,
    /// Printed once, before the first query.
    pub warnings: Vec<String>,
}

/// The most jump hosts one route may have: ssh(1) has no limit, and loops
/// are found as loops, but a chain this long is a mistake in all
/// likelihood, and each hop is a handshake in front of every command.
const MAX_JUMPS: usize = 8;

impl Routes {
    /// The route of every inventory host, and of every concrete `Host` of
    /// ssh_config that is not also in the inventory (`hosts from ssh_config`).
    pub fn resolve(inventory: &Inventory, ssh_config: &SshConfig) -> Routes {
        let mut warnings = inventory.warnings.clone();
        let unsupported = ssh_config.unsupported();
        if let (false, Some(path)) = (unsupported.is_empty(), ssh_config.path()) {
            warnings.push(format!(
                "warning: shoal does not use these settings of {}: {}",
                paths::display(path),
                unsupported.join(", ")
            ));
        }
        let resolver = Resolver {
            inventory,
            ssh_config,
            local: Local::from_process(),
        };
        let defaults = &inventory.settings;
        let mut routes: Vec<(String, Route)> = inventory
            .hosts
            .iter()
            .map(|host| {
                let route = resolver.route(Some(host), &host.name).route(defaults);
                (host.name.clone(), route)
            })
            .collect();
        for name in ssh_config.concrete_hosts() {
            if !inventory.hosts.iter().any(|h| h.name == name) {
                let route = resolver.route(None, &name).route(defaults);
                routes.push((name, route));
            }
        }
        Routes { routes, warnings }
    }

    /// How shoal would reach `name`, every setting with its source: the
    /// inventory's host of that name, else a host the inventory does not
    /// list (as `-w NAME` or ssh_config's `Host NAME` would be reached).
    pub fn explain(inventory: &Inventory, ssh_config: &SshConfig, name: &str) -> ExplainedRoute {
        let resolver = Resolver {
            inventory,
            ssh_config,
            local: Local::from_process(),
        };
        let entry = inventory.hosts.iter().find(|h| h.name == name);
        resolver.route(entry, name)
    }

    /// The query-visible view: the inventory's hosts, addressed where shoal
    /// will really connect, and ssh_config's concrete hosts.
    pub fn fleet(&self, inventory: &Inventory, ssh_config: &SshConfig) -> Fleet {
        let addrs: HashMap<&str, &str> = self
            .routes
            .iter()
            .map(|(name, route)| (name.as_str(), route.target.addr.as_str()))
            .collect();
        let addr_of = |name: &str| addrs.get(name).map_or(name, |a| a).to_string();
        let mut fleet = inventory.fleet();
        for host in &mut fleet.hosts {
            host.addr = addr_of(&host.name);
        }
        fleet.ssh_config = ssh_config
            .concrete_hosts()
            .into_iter()
            .map(|name| FleetHost {
                addr: addr_of(&name),
                name,
                tags: Default::default(),
            })
            .collect();
        fleet
    }
}

#[cfg(test)]
mod tests;
