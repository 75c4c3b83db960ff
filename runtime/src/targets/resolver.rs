//! One host's settings merged from the flags, its inventory entry,
//! ssh_config and the defaults, each with its source; and its `ProxyJump`
//! chain, every hop resolved through ssh_config as ssh resolves it.
//!
//! ssh reaches a host with `ProxyJump a,b,c` by running `ssh -J a,b c`,
//! which runs `ssh -J a b`, which runs `ssh a`: so the last hops are
//! reached through the hops written before them (their own `ProxyJump` does
//! not apply), and only the first hop's own `ProxyJump` is followed, and so
//! on recursively. A hop that comes back to a host already on the way is a
//! loop: ssh would start ssh after ssh until something gives out; shoal
//! refuses the host, naming the line.

use std::path::PathBuf;

use super::MAX_JUMPS;
use super::explained::{ExplainedEndpoint, ExplainedRoute, Resolved, Source, Sourced};
use crate::inventory::{HostEntry, Inventory};
use crate::ssh_config::tokens::{self, Accepts, Local, Remote};
use crate::ssh_config::{HostConfig, JumpSpec, Located, Origin, Proxy, Query, SshConfig};

pub(super) struct Resolver<'a> {
    pub inventory: &'a Inventory,
    pub ssh_config: &'a SshConfig,
    pub local: Local,
}

/// What ssh would be told on its command line for one host (`-l`, `-p`,
/// `-J`): these win over ssh_config.
struct Given<'a> {
    user: Option<Sourced<String>>,
    port: Option<Sourced<u16>>,
    /// Reached through hops written before it: its own proxy is ignored.
    jumped: bool,
    /// The label messages use for it.
    label: &'a str,
}

/// A host on the way to the target, as ssh would be started for it.
#[derive(PartialEq)]
struct Step {
    name: String,
    user: Option<String>,
    port: Option<u16>,
}

impl Resolver<'_> {
    /// The route to `name` (with its inventory entry, if any).
    pub fn route(&self, entry: Option<&HostEntry>, name: &str) -> ExplainedRoute {
        ExplainedRoute {
            name: name.to_string(),
            in_inventory: entry.is_some(),
            resolved: self.resolve(entry, name),
        }
    }

    fn resolve(&self, entry: Option<&HostEntry>, name: &str) -> Result<Resolved, String> {
        let flags = &self.inventory.overrides;
        let explicit = entry.map(|e| e.explicit).unwrap_or_default();
        let user = match (&flags.user, entry) {
            (Some(user), _) => Some(Sourced::new(user.clone(), Source::Flag("--user"))),
            (_, Some(e)) if explicit.user => Some(Sourced::new(e.user.clone(), Source::Inventory)),
            _ => None,
        };
        let port = entry
            .filter(|_| explicit.port)
            .map(|e| Sourced::new(e.port, Source::Inventory));
        let given = Given {
            user,
            port,
            jumped: false,
            label: name,
        };
        let config = self.config(name, &given)?;
        let start = Step {
            name: name.to_string(),
            user: given.user.as_ref().map(|u| u.value.clone()),
            port: given.port.as_ref().map(|p| p.value),
        };
        let target = self.endpoint(name, entry, &config, given)?;
        let mut refused = (!config.blocking.is_empty()).then(|| {
            let settings: Vec<String> = config
                .blocking
                .iter()
                .map(|b| {
                    format!(
                        "ssh_config {} sets `{}` for this host, and ssh would {}",
                        b.at, b.value.setting, b.value.ssh_would
                    )
                })
                .collect();
            format!(
                "{}; shoal cannot follow that, and will not connect this host another way (use \
                 ProxyJump, or -F with a config without it)",
                settings.join("; ")
            )
        });
        let jumps = match &config.proxy {
            Some(Located {
                value: Proxy::Jump(hops),
                at,
            }) => match self.jumps(hops, at, &remote_of(&target, name), &mut vec![start]) {
                Ok(jumps) => jumps,
                Err(reason) => {
                    refused = refused.or(Some(reason));
                    Vec::new()
                }
            },
            _ => Vec::new(),
        };
        let defaults = &self.inventory.settings;
        let connect_timeout = match (flags.connect_timeout, &config.connect_timeout) {
            (Some(timeout), _) => Sourced::new(timeout, Source::Flag("--connect-timeout")),
            (
                None,
                Some(Located {
                    value: Some(timeout),
                    at,
                }),
            ) => Sourced::new(*timeout, Source::SshConfig(at.clone())),
            // `ConnectTimeout none` leaves it to the system in ssh; shoal
            // keeps its own, so that a dead host cannot stall a query.
            (None, _) => Sourced::new(defaults.connect_timeout, Source::Default),
        };
        Ok(Resolved {
            target,
            jumps,
            connect_timeout,
            refused,
        })
    }

    /// What ssh_config says about `name`, given what precedes it.
    fn config(&self, name: &str, given: &Given<'_>) -> Result<HostConfig, String> {
        let defaults = &self.inventory.settings;
        let query = Query {
            host: name,
            user: given.user.as_ref().map(|u| u.value.as_str()),
            port: given.port.as_ref().map(|p| p.value),
            jumped: given.jumped,
            default_user: defaults.default_user.as_deref().unwrap_or_default(),
        };
        self.ssh_config.resolve(&query, &self.local)
    }

    /// A host's endpoint. Precedence: flags, the inventory entry's own
    /// settings (and for a hop, what its `ProxyJump` writes), ssh_config,
    /// the inventory's defaults. The flags that name fleet hosts' logins
    /// (`--user`) do not apply to hops, as `ssh -l` does not apply to `-J`
    /// hosts.
    fn endpoint(
        &self,
        name: &str,
        entry: Option<&HostEntry>,
        config: &HostConfig,
        given: Given<'_>,
    ) -> Result<ExplainedEndpoint, String> {
        let flags = &self.inventory.overrides;
        let defaults = &self.inventory.settings;
        let explicit = entry.map(|e| e.explicit).unwrap_or_default();
        let from_config = |at: &Origin| Source::SshConfig(at.clone());
        // An entry's values that are not explicit are the inventory's
        // defaults (or shoal's), which ssh_config overrides.
        let addr = match (entry, &config.host_name) {
            (Some(e), _) if explicit.addr => Sourced::new(e.addr.clone(), Source::Inventory),
            (_, Some(set)) => Sourced::new(set.value.clone(), from_config(&set.at)),
            (Some(e), None) => Sourced::new(e.addr.clone(), Source::Default),
            (None, None) => Sourced::new(name.to_string(), Source::Default),
        };
        let user = match (given.user, &config.user) {
            (Some(user), _) => user,
            (None, Some(set)) => Sourced::new(set.value.clone(), from_config(&set.at)),
            (None, None) => {
                let user = entry
                    .map(|e| e.user.clone())
                    .or_else(|| defaults.default_user.clone())
                    .filter(|u| !u.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "no user to log in to {} as: the local user is not known, and \
                             neither ssh_config, --user nor the inventory names one",
                            given.label
                        )
                    })?;
                Sourced::new(user, Source::Default)
            }
        };
        let port = match (given.port, &config.port) {
            (Some(port), _) => port,
            (None, Some(set)) => Sourced::new(set.value, from_config(&set.at)),
            (None, None) => Sourced::new(
                entry.map_or(defaults.default_port, |e| e.port),
                Source::Default,
            ),
        };
        let remote = Remote {
            host: &addr.value,
            alias: name,
            port: port.value,
            user: &user.value,
        };
        let expand = |set: &Located<String>| -> Result<PathBuf, String> {
            tokens::expand_path(&set.value, &remote, &self.local)
                .map_err(|reason| format!("ssh_config {}: `{}`: {reason}", set.at, set.value))
        };
        // The host's own key (an Ansible host or group var) ranks with its
        // other own settings; one from `all` with the inventory's defaults.
        let own_key = entry.filter(|e| !e.identity_files.is_empty());
        let all = |files: &[PathBuf], source: Source| -> Vec<Sourced<PathBuf>> {
            files
                .iter()
                .map(|f| Sourced::new(f.clone(), source.clone()))
                .collect()
        };
        let identity_files = match own_key {
            _ if !flags.identity_files.is_empty() => {
                all(&defaults.identity_files, Source::Flag("--identity"))
            }
            Some(e) if explicit.identity_files => all(&e.identity_files, Source::Inventory),
            _ if !config.identity_files.is_empty() => config
                .identity_files
                .iter()
                // `IdentityFile none` offers no file, and takes the place of
                // the defaults.
                .filter(|f| !f.value.eq_ignore_ascii_case("none"))
                .map(|f| Ok(Sourced::new(expand(f)?, from_config(&f.at))))
                .collect::<Result<_, String>>()?,
            Some(e) => all(&e.identity_files, Source::Default),
            None => all(&defaults.identity_files, Source::Default),
        };
        let (known_hosts, unread_known_hosts) = match (&flags.known_hosts, &config.known_hosts) {
            (Some(_), _) => (
                Sourced::new(defaults.known_hosts.clone(), Source::Flag("--known-hosts")),
                Vec::new(),
            ),
            (None, Some(set)) => {
                let files = set
                    .value
                    .iter()
                    .map(|file| {
                        expand(&Located {
                            value: file.clone(),
                            at: set.at.clone(),
                        })
                    })
                    .collect::<Result<Vec<PathBuf>, String>>()?;
                let (first, rest) = files.split_first().ok_or_else(|| {
                    format!("ssh_config {}: UserKnownHostsFile names no file", set.at)
                })?;
                if first.as_os_str().eq_ignore_ascii_case("none") {
                    return Err(format!(
                        "ssh_config {} sets UserKnownHostsFile none: ssh would check host keys \
                         only against its global known_hosts files, which shoal does not read, \
                         so it will not connect {} (name a file, or use --known-hosts)",
                        set.at, given.label
                    ));
                }
                (
                    Sourced::new(first.clone(), from_config(&set.at)),
                    rest.to_vec(),
                )
            }
            (None, None) => (
                Sourced::new(defaults.known_hosts.clone(), Source::Default),
                Vec::new(),
            ),
        };
        let host_keys = match &config.host_keys {
            _ if flags.accept_new => Sourced::new(
                crate::ssh_config::HostKeyPolicy::AcceptNew,
                Source::Flag("--accept-new"),
            ),
            Some(set) => Sourced::new(set.value, from_config(&set.at)),
            None => Sourced::new(crate::ssh_config::HostKeyPolicy::Strict, Source::Default),
        };
        let identities_only = match &config.identities_only {
            Some(set) => Sourced::new(set.value, from_config(&set.at)),
            None => Sourced::new(false, Source::Default),
        };
        let certificate_file = match config.certificate_files.first() {
            Some(set) => Some(Sourced::new(expand(set)?, from_config(&set.at))),
            None => None,
        };
        Ok(ExplainedEndpoint {
            label: given.label.to_string(),
            addr,
            user,
            port,
            identity_files,
            identities_only,
            certificate_file,
            known_hosts,
            unread_known_hosts,
            host_keys,
        })
    }

    /// The hops of a `ProxyJump` (written at `at`, tokens expanded for the
    /// host behind them, `remote`), each resolved, outermost first. `path`
    /// holds the hosts on the way so far, to find loops.
    fn jumps(
        &self,
        hops: &[String],
        at: &Origin,
        remote: &Remote<'_>,
        path: &mut Vec<Step>,
    ) -> Result<Vec<ExplainedEndpoint>, String> {
        // Hops whose names grow with each step (`ProxyJump %h-gw`) never
        // meet again, so depth is bounded as well as loops.
        if path.len() > MAX_JUMPS {
            return Err(format!(
                "ProxyJump chain of more than {MAX_JUMPS} hosts (ssh_config {at}); shoal allows \
                 at most {MAX_JUMPS}"
            ));
        }
        let mut chain = Vec::new();
        for (index, hop) in hops.iter().enumerate() {
            let written = tokens::expand(hop, Accepts::ProxyJump, remote, &self.local)
                .map_err(|reason| format!("ssh_config {at}: ProxyJump `{hop}`: {reason}"))?;
            let spec =
                JumpSpec::parse(&written).map_err(|reason| format!("ssh_config {at}: {reason}"))?;
            let given = Given {
                user: spec
                    .user
                    .clone()
                    .map(|u| Sourced::new(u, Source::ProxyJump(at.clone()))),
                port: spec
                    .port
                    .map(|p| Sourced::new(p, Source::ProxyJump(at.clone()))),
                jumped: index > 0,
                label: &written,
            };
            let config = self.config(&spec.host, &given)?;
            if let Some(blocked) = config.blocking.first() {
                return Err(format!(
                    "ssh_config {} sets `{}` for jump host {}, and ssh would {}; shoal cannot \
                     follow that",
                    blocked.at, blocked.value.setting, spec.host, blocked.value.ssh_would
                ));
            }
            let endpoint = self.endpoint(&spec.host, None, &config, given)?;
            let step = Step {
                name: spec.host.clone(),
                user: spec.user.clone(),
                port: spec.port,
            };
            if index == 0 {
                if path.contains(&step) {
                    let names: Vec<&str> = path.iter().map(|s| s.name.as_str()).collect();
                    return Err(format!(
                        "ProxyJump loop: {} → {} (ssh_config {at}); ssh would start ssh for \
                         each hop again and again until something gives out",
                        names.join(" → "),
                        spec.host
                    ));
                }
                if let Some(Located {
                    value: Proxy::Jump(own),
                    at: own_at,
                }) = &config.proxy
                {
                    path.push(step);
                    let before = self.jumps(own, own_at, &remote_of(&endpoint, &spec.host), path);
                    path.pop();
                    chain.extend(before?);
                }
            }
            chain.push(endpoint);
        }
        if chain.len() > MAX_JUMPS {
            return Err(format!(
                "ProxyJump chain of {} hosts (ssh_config {at}); shoal allows at most {MAX_JUMPS}",
                chain.len()
            ));
        }
        Ok(chain)
    }
}

/// The tokens of a host's own `ProxyJump` stand for that host.
fn remote_of<'a>(endpoint: &'a ExplainedEndpoint, alias: &'a str) -> Remote<'a> {
    Remote {
        host: &endpoint.addr.value,
        alias,
        port: endpoint.port.value,
        user: &endpoint.user.value,
    }
}
