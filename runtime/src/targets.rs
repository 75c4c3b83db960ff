//! Where and how to reach each host: its inventory entry, the user's
//! ssh_config and the command-line flags merged in one order of precedence,
//! flags, then the inventory's own entry for the host, then ssh_config, then
//! the inventory's defaults; and the `ProxyJump` chain in front of it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shoal_stdlib::fleet::{Fleet, FleetHost};

use crate::inventory::{HostEntry, Inventory, paths};
use crate::ssh_config::{HostKeyPolicy, HostSettings, JumpSpec, SshConfig};

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

/// The most jump hosts one route may have: ssh(1) has no limit, but a
/// longer chain is a config loop in all likelihood.
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
        let match_lines = ssh_config.match_lines();
        if let (false, Some(path)) = (match_lines.is_empty(), ssh_config.path()) {
            let lines: Vec<String> = match_lines.iter().map(usize::to_string).collect();
            warnings.push(format!(
                "warning: shoal does not evaluate `Match` blocks ({} line {}): their settings \
                 apply to no host",
                paths::display(path),
                lines.join(", ")
            ));
        }
        let resolver = Resolver {
            inventory,
            ssh_config,
            local: paths::Env::from_process(),
        };
        let mut routes: Vec<(String, Route)> = inventory
            .hosts
            .iter()
            .map(|host| (host.name.clone(), resolver.route(Some(host), &host.name)))
            .collect();
        for name in ssh_config.concrete_hosts() {
            if !inventory.hosts.iter().any(|h| h.name == name) {
                let route = resolver.route(None, &name);
                routes.push((name, route));
            }
        }
        Routes { routes, warnings }
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

struct Resolver<'a> {
    inventory: &'a Inventory,
    ssh_config: &'a SshConfig,
    /// `%d` and `%u` of ssh_config's path tokens.
    local: paths::Env,
}

impl Resolver<'_> {
    fn route(&self, entry: Option<&HostEntry>, name: &str) -> Route {
        let settings = self.ssh_config.host(name);
        let flags = &self.inventory.overrides;
        let defaults = &self.inventory.settings;
        let target = self.endpoint(name, entry, &settings, false);
        let connect_timeout = flags
            .connect_timeout
            .or(settings.connect_timeout)
            .unwrap_or(defaults.connect_timeout);
        let mut refused = (!settings.blocking.is_empty()).then(|| {
            format!(
                "ssh_config sets {} for this host, which shoal cannot follow; it will not \
                 connect another way (use ProxyJump, or -F with a config without it)",
                settings.blocking.join(", ")
            )
        });
        let mut jumps = Vec::new();
        for hop in settings.proxy_jump.iter().flatten() {
            match self.jump(hop) {
                Ok(endpoint) => jumps.push(endpoint),
                Err(reason) => refused = refused.or(Some(reason)),
            }
        }
        if jumps.len() > MAX_JUMPS {
            refused = refused.or(Some(format!(
                "ProxyJump chain of {} hosts; shoal allows at most {MAX_JUMPS}",
                jumps.len()
            )));
        }
        Route {
            jumps: jumps.into(),
            target,
            connect_timeout,
            refused,
        }
    }

    /// A host's endpoint. Precedence: flags, the inventory entry's own
    /// settings, ssh_config, the inventory's defaults. A jump host (`jump`)
    /// has no entry, and the flags that name fleet hosts' logins (`--user`)
    /// do not apply to it, as `ssh -l` does not apply to `-J` hosts.
    fn endpoint(
        &self,
        name: &str,
        entry: Option<&HostEntry>,
        ssh: &HostSettings,
        jump: bool,
    ) -> Endpoint {
        let flags = &self.inventory.overrides;
        let defaults = &self.inventory.settings;
        let explicit = entry.map(|e| e.explicit).unwrap_or_default();
        // An entry's values that are not explicit are the inventory's
        // defaults (or shoal's), which ssh_config overrides.
        let addr = match entry {
            Some(e) if explicit.addr => e.addr.clone(),
            _ => ssh
                .host_name
                .clone()
                .or_else(|| entry.map(|e| e.addr.clone()))
                .unwrap_or_else(|| name.to_string()),
        };
        let user = match (&flags.user, entry) {
            (Some(user), _) if !jump => user.clone(),
            (_, Some(e)) if explicit.user => e.user.clone(),
            _ => ssh
                .user
                .clone()
                .or_else(|| entry.map(|e| e.user.clone()))
                .or_else(|| defaults.default_user.clone())
                .unwrap_or_default(),
        };
        let port = match entry {
            Some(e) if explicit.port => e.port,
            _ => ssh
                .port
                .or(entry.map(|e| e.port))
                .unwrap_or(defaults.default_port),
        };
        let tokens = Tokens {
            alias: name,
            host: &addr,
            port,
            user: &user,
            local: &self.local,
        };
        // The host's own key (an Ansible host or group var) ranks with its
        // other own settings; one from `all` with the inventory's defaults.
        let own_key = entry.filter(|e| !e.identity_files.is_empty());
        let identity_files = match (own_key, &ssh.identity_files) {
            _ if !flags.identity_files.is_empty() => defaults.identity_files.clone(),
            (Some(e), _) if explicit.identity_files => e.identity_files.clone(),
            (_, Some(files)) => files.iter().map(|f| tokens.expand(f)).collect(),
            (Some(e), None) => e.identity_files.clone(),
            (None, None) => defaults.identity_files.clone(),
        };
        let known_hosts = match (&flags.known_hosts, &ssh.known_hosts) {
            (None, Some(file)) => tokens.expand(file),
            _ => defaults.known_hosts.clone(),
        };
        let host_keys = if flags.accept_new {
            HostKeyPolicy::AcceptNew
        } else {
            ssh.host_keys.unwrap_or(HostKeyPolicy::Strict)
        };
        let certificate_file = ssh.certificate_file.as_ref().map(|f| tokens.expand(f));
        Endpoint {
            label: name.to_string(),
            addr,
            port,
            user,
            identity_files,
            identities_only: ssh.identities_only.unwrap_or(false),
            certificate_file,
            known_hosts,
            host_keys,
        }
    }

    /// A jump host: `user@host:port` as written wins over ssh_config's
    /// settings for `host`, which win over the inventory's defaults. Its own
    /// ProxyJump is not followed: the chain is the list as written.
    fn jump(&self, hop: &str) -> Result<Endpoint, String> {
        let spec = JumpSpec::parse(hop)?;
        let ssh = self.ssh_config.host(&spec.host);
        if !ssh.blocking.is_empty() {
            return Err(format!(
                "ssh_config sets {} for jump host {}, which shoal cannot follow",
                ssh.blocking.join(", "),
                spec.host
            ));
        }
        let mut endpoint = self.endpoint(&spec.host, None, &ssh, true);
        endpoint.label = hop.to_string();
        if let Some(user) = spec.user {
            endpoint.user = user;
        }
        if let Some(port) = spec.port {
            endpoint.port = port;
        }
        Ok(endpoint)
    }
}

/// What ssh_config's `%` tokens in a path stand for, for one host: `%h`
/// (the address), `%n` (the name as given), `%p`, `%r` (the remote user),
/// `%u` (the local user), `%d` (the local home) and `%%`. Others are left as
/// written.
struct Tokens<'a> {
    alias: &'a str,
    host: &'a str,
    port: u16,
    user: &'a str,
    local: &'a paths::Env,
}

impl Tokens<'_> {
    fn expand(&self, path: &Path) -> PathBuf {
        let text = path.to_string_lossy();
        if !text.contains('%') {
            return path.to_path_buf();
        }
        let mut expanded = String::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                expanded.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => expanded.push('%'),
                Some('h') => expanded.push_str(self.host),
                Some('n') => expanded.push_str(self.alias),
                Some('p') => expanded.push_str(&self.port.to_string()),
                Some('r') => expanded.push_str(self.user),
                Some('u') => expanded.push_str(self.local.user.as_deref().unwrap_or("%u")),
                Some('d') => match &self.local.home {
                    Some(home) => expanded.push_str(&home.to_string_lossy()),
                    None => expanded.push_str("%d"),
                },
                Some(other) => {
                    expanded.push('%');
                    expanded.push(other);
                }
                None => expanded.push('%'),
            }
        }
        PathBuf::from(expanded)
    }
}

#[cfg(test)]
mod tests;
