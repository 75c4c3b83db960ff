//! The inventory: which hosts exist, how to reach them, and named groups of
//! them, read from a TOML file and validated before anything runs.
//!
//! ```toml
//! [defaults]
//! user = "fleet"                         # default: the local user name
//! port = 22
//! identity_files = ["~/.ssh/id_ed25519"] # default: id_ed25519, id_ecdsa, id_rsa that exist
//! known_hosts = "~/.ssh/known_hosts"
//! fanout = 256
//! connect_timeout = "10s"
//! command_timeout = "60s"
//!
//! [[hosts]]
//! name = "web001"                        # required, unique
//! addr = "127.0.1.1"                     # default: name
//! port = 22
//! user = "fleet"
//! tags = { az = "us-east-1a", role = "web" }
//!
//! [groups]
//! canary = "web[001-003]"                # a ClusterShell nodeset over host names
//! ```
//!
//! Invariants of a loaded [`Inventory`]: host names are unique and not empty,
//! every group member is a host, every identity file exists, the fan-out is
//! at least 1. Command-line [`Overrides`] win over `[defaults]`, and `--user`
//! wins over every host's own user.

mod error;
pub(crate) mod paths;
mod raw;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use shoal_lang::plan::BUILTIN_COLUMNS;
use shoal_stdlib::fleet::{Fleet, FleetHost};
use toml::Spanned;

pub use error::InventoryError;
use paths::Env;
use raw::{RawDefaults, RawHost, RawInventory};

/// The SSH port when neither the host nor `[defaults]` names one.
const DEFAULT_PORT: u16 = 22;
/// Hosts in flight at once. The measured sweet spot for a few hundred hosts
/// from one 2-core machine (see PERFORMANCE-NOTES.md); each in-flight host
/// costs one socket, well under the usual 1024 open-file limit.
const DEFAULT_FANOUT: usize = 256;
/// Long enough for a loaded host across a WAN to finish TCP, key exchange
/// and authentication; short enough that a dead host does not stall a query.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A debugging command that has not answered in a minute is itself the answer.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The keys OpenSSH tries by default, in its order, minus the DSA key it no
/// longer supports.
const DEFAULT_IDENTITY_FILES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];

/// A validated inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// The file it was read from, as given.
    pub path: PathBuf,
    pub settings: Settings,
    /// Hosts in file order.
    pub hosts: Vec<HostEntry>,
    /// Group name to member host names, in inventory order.
    pub groups: IndexMap<String, Vec<String>>,
}

/// How every connection is made, after overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Private keys to offer, in order, after the ssh-agent's.
    pub identity_files: Vec<PathBuf>,
    pub known_hosts: PathBuf,
    /// Hosts in flight at once; at least 1.
    pub fanout: usize,
    /// TCP connect, key exchange and authentication together.
    pub connect_timeout: Duration,
    /// A `run` without its own `timeout=`.
    pub command_timeout: Duration,
    /// Trust and record host keys not yet in known_hosts (never changed ones).
    pub accept_new: bool,
}

/// One host and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub name: String,
    pub addr: String,
    pub port: u16,
    pub user: String,
    pub tags: IndexMap<String, String>,
}

/// Command-line settings that win over the file's `[defaults]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces every host's user.
    pub user: Option<String>,
    /// When not empty, replaces the file's identity files.
    pub identity_files: Vec<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub fanout: Option<usize>,
    pub command_timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub accept_new: bool,
}

impl Inventory {
    /// `--inventory PATH`, then `$SHOAL_INVENTORY`, then `./shoal.toml`, then
    /// `~/.config/shoal/inventory.toml`; the error lists what was tried. A
    /// path the user named is never skipped for the next one.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, InventoryError> {
        paths::locate(explicit, &Env::from_process())
    }

    pub fn load(path: &Path, overrides: &Overrides) -> Result<Inventory, InventoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Inventory::from_toml(&text, path, overrides)
    }

    /// Parses and validates `text`; `path` names the file in errors and is
    /// the base for relative paths inside it.
    pub fn from_toml(
        text: &str,
        path: &Path,
        overrides: &Overrides,
    ) -> Result<Inventory, InventoryError> {
        Loader {
            text,
            path,
            env: &Env::from_process(),
        }
        .load(overrides)
    }

    /// The query-visible view: names, addresses, tags and groups.
    pub fn fleet(&self) -> Fleet {
        Fleet {
            hosts: self
                .hosts
                .iter()
                .map(|h| FleetHost {
                    name: h.name.clone(),
                    addr: h.addr.clone(),
                    tags: h.tags.clone(),
                })
                .collect(),
            groups: self.groups.clone(),
            ssh_config: Vec::new(),
        }
    }
}

/// One load of one file: carries what every error needs to say where it is.
struct Loader<'a> {
    text: &'a str,
    path: &'a Path,
    env: &'a Env,
}

impl Loader<'_> {
    fn load(&self, overrides: &Overrides) -> Result<Inventory, InventoryError> {
        let raw: RawInventory = toml::from_str(self.text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            self.at(offset, e.message().trim_end())
        })?;
        let settings = self.settings(&raw.defaults, overrides)?;
        let default_user = overrides
            .user
            .clone()
            .or_else(|| raw.defaults.user.clone())
            .or_else(|| self.env.user.clone());
        let default_port = match &raw.defaults.port {
            Some(port) => self.port("defaults.port", port)?,
            None => DEFAULT_PORT,
        };
        let hosts = self.hosts(
            &raw.hosts,
            default_user.as_deref(),
            overrides.user.is_some(),
            default_port,
        )?;
        let groups = self.groups(&raw.groups, &hosts)?;
        Ok(Inventory {
            path: self.path.to_path_buf(),
            settings,
            hosts,
            groups,
        })
    }

    fn at(&self, offset: usize, message: impl Into<String>) -> InventoryError {
        InventoryError::at(self.path, self.text, offset, message)
    }

    fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    fn settings(
        &self,
        defaults: &RawDefaults,
        overrides: &Overrides,
    ) -> Result<Settings, InventoryError> {
        let identity_files = if !overrides.identity_files.is_empty() {
            self.override_identity_files(&overrides.identity_files)?
        } else if let Some(files) = &defaults.identity_files {
            self.file_identity_files(files)?
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
                .map_err(|reason| self.unusable(format!("--known-hosts {reason}")))?,
            (None, Some(raw)) => {
                paths::expand(raw.get_ref(), self.base_dir(), self.env).map_err(|reason| {
                    self.at(raw.span().start, format!("defaults.known_hosts: {reason}"))
                })?
            }
            (None, None) => paths::expand_home("~/.ssh/known_hosts", self.env)
                .map_err(|reason| self.unusable(format!("known_hosts: {reason}")))?,
        };

        let fanout = match (overrides.fanout, &defaults.fanout) {
            (Some(0), _) => return Err(self.unusable("--fanout must be at least 1")),
            (Some(fanout), _) => fanout,
            (None, Some(fanout)) if *fanout.get_ref() == 0 => {
                return Err(self.at(fanout.span().start, "defaults.fanout: must be at least 1"));
            }
            (None, Some(fanout)) => *fanout.get_ref(),
            (None, None) => DEFAULT_FANOUT,
        };

        let connect_timeout = match overrides.connect_timeout {
            Some(timeout) => timeout,
            None => self
                .duration("defaults.connect_timeout", &defaults.connect_timeout)?
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
            connect_timeout,
            command_timeout,
            accept_new: overrides.accept_new,
        })
    }

    fn unusable(&self, message: impl Into<String>) -> InventoryError {
        InventoryError::unusable(self.path, message)
    }

    fn file_identity_files(
        &self,
        files: &[Spanned<String>],
    ) -> Result<Vec<PathBuf>, InventoryError> {
        files
            .iter()
            .map(|raw| {
                let at = raw.span().start;
                let path = paths::expand(raw.get_ref(), self.base_dir(), self.env)
                    .map_err(|reason| self.at(at, format!("defaults.identity_files: {reason}")))?;
                if !path.is_file() {
                    return Err(self.at(
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
                    .map_err(|reason| self.unusable(format!("--identity {reason}")))?;
                if !path.is_file() {
                    return Err(self.unusable(format!(
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
                shoal_lang::parse_duration(raw.get_ref())
                    .map_err(|reason| self.at(raw.span().start, format!("{field}: {reason}")))
            })
            .transpose()
    }

    fn port(&self, field: &str, port: &Spanned<u16>) -> Result<u16, InventoryError> {
        match *port.get_ref() {
            0 => Err(self.at(
                port.span().start,
                format!("{field} must be between 1 and 65535"),
            )),
            port => Ok(port),
        }
    }

    fn hosts(
        &self,
        raw_hosts: &[RawHost],
        default_user: Option<&str>,
        user_overridden: bool,
        default_port: u16,
    ) -> Result<Vec<HostEntry>, InventoryError> {
        // Name to the byte offset where it was first defined.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut hosts = Vec::with_capacity(raw_hosts.len());
        for raw in raw_hosts {
            let name = raw.name.get_ref();
            let name_at = raw.name.span().start;
            if name.trim().is_empty() {
                return Err(self.at(name_at, "hosts.name: a host name cannot be empty"));
            }
            if let Some(&first) = seen.get(name.as_str()) {
                let (first_line, _) = error::line_column(self.text, first);
                return Err(self.at(
                    name_at,
                    format!("duplicate host name \"{name}\" (first defined on line {first_line})"),
                ));
            }
            seen.insert(name, name_at);

            let addr = match &raw.addr {
                Some(addr) if addr.get_ref().trim().is_empty() => {
                    return Err(self.at(
                        addr.span().start,
                        format!("host \"{name}\": addr cannot be empty"),
                    ));
                }
                Some(addr) => addr.get_ref().clone(),
                None => name.clone(),
            };
            let port = match &raw.port {
                Some(port) => self.port(&format!("host \"{name}\": port"), port)?,
                None => default_port,
            };
            let user = match (user_overridden, &raw.user) {
                (false, Some(user)) => user.clone(),
                _ => default_user.map(str::to_string).ok_or_else(|| {
                    self.at(
                        name_at,
                        format!(
                            "host \"{name}\" has no user, and the local user name is unknown: \
                             set `user` in [defaults]"
                        ),
                    )
                })?,
            };
            let tags = match &raw.tags {
                Some(tags) => {
                    if let Some(bad) = tags
                        .get_ref()
                        .keys()
                        .find(|k| BUILTIN_COLUMNS.contains(&k.as_str()))
                    {
                        return Err(self.at(
                            tags.span().start,
                            format!(
                                "host \"{name}\": tag `{bad}` cannot be a tag name, it is already a column \
                                 (reserved: {})",
                                BUILTIN_COLUMNS.join(", ")
                            ),
                        ));
                    }
                    tags.get_ref().clone()
                }
                None => IndexMap::new(),
            };
            hosts.push(HostEntry {
                name: name.clone(),
                addr,
                port,
                user,
                tags,
            });
        }
        Ok(hosts)
    }

    fn groups(
        &self,
        raw_groups: &IndexMap<String, Spanned<String>>,
        hosts: &[HostEntry],
    ) -> Result<IndexMap<String, Vec<String>>, InventoryError> {
        let known: HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        let mut groups = IndexMap::with_capacity(raw_groups.len());
        for (group, raw) in raw_groups {
            let at = raw.span().start;
            let set = shoal_lang::parse_nodeset(raw.get_ref()).map_err(|e| {
                self.at(
                    at,
                    format!(
                        "groups.{group}: \"{}\" is not a valid nodeset: {e}",
                        raw.get_ref()
                    ),
                )
            })?;
            let members: HashSet<String> = set.iter().collect();
            let mut unknown: Vec<&str> = members
                .iter()
                .map(String::as_str)
                .filter(|m| !known.contains(m))
                .collect();
            if !unknown.is_empty() {
                unknown.sort_unstable();
                return Err(self.at(at, format!("groups.{group}: {}", not_hosts(&unknown))));
            }
            // Inventory order, not nodeset order, so a group lists like `hosts`.
            let ordered = hosts
                .iter()
                .filter(|h| members.contains(&h.name))
                .map(|h| h.name.clone())
                .collect();
            groups.insert(group.clone(), ordered);
        }
        Ok(groups)
    }
}

/// "web004 is not a host in the inventory", for one name or a few.
fn not_hosts(unknown: &[&str]) -> String {
    /// Enough names to recognise the mistake without flooding the terminal.
    const SHOWN: usize = 5;
    match unknown {
        [one] => format!("\"{one}\" is not a host in the inventory"),
        _ => {
            let mut listed: Vec<String> = unknown
                .iter()
                .take(SHOWN)
                .map(|n| format!("\"{n}\""))
                .collect();
            if unknown.len() > SHOWN {
                listed.push(format!("and {} more", unknown.len() - SHOWN));
            }
            format!("{} are not hosts in the inventory", listed.join(", "))
        }
    }
}

#[cfg(test)]
mod tests;
