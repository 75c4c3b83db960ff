//! The inventory: which hosts exist, how to reach them, and named groups of
//! them, read from the inventory a user already has and validated before
//! anything runs.
//!
//! Formats, each read by its own module into the same hosts and groups:
//! - shoal's own TOML (`native.rs`):
//!
//! ```toml
//! [defaults]
//! user = "fleet"                         # default: the local user name
//! port = 22
//! identity_files = ["~/.ssh/id_ed25519"] # default: id_ed25519, id_ecdsa, id_rsa that exist
//! known_hosts = "~/.ssh/known_hosts"
//! fanout = 256
//! max_connections = 4000                 # default: what the open-file limit allows
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
//! - Ansible inventories in INI, YAML and `ansible-inventory --list` JSON
//!   (`ansible/`), the JSON also from a command (`--inventory-cmd`,
//!   `command.rs`): groups become `@group`, host vars become tags (with the
//!   `group_vars/` and `host_vars/` beside them, `ansible/vars_files.rs`);
//!   several of them, and inventory directories, merged as Ansible merges
//!   sources (`sources.rs`); ansible.cfg's defaults apply to them
//!   (`ansible_cfg.rs`); `listing.rs` prints them back as
//!   `ansible-inventory --list` does;
//! - ClusterShell group files, one or a `groups.d` directory
//!   (`clustershell.rs`);
//! - a CSV file with a header row, `name` first, other columns tags
//!   (`csv_table.rs`);
//! - a plain list of host names or nodesets (`plain.rs`).
//!
//! `detect.rs` picks the format from the file name and text, by rules it
//! lists; an error in a detected format says which format it was read as
//! and why. TOML's `[defaults]` and, for Ansible's formats, ansible.cfg set
//! connection [`Settings`]; the others take the command line's and the
//! built-in defaults.
//!
//! Invariants of a loaded [`Inventory`]: host names are unique and not empty,
//! every group member is a host, every group can be named after `@`, no tag
//! shadows a built-in column, every identity file exists, the fan-out is at
//! least 1. Command-line [`Overrides`] win over the file's defaults, and
//! `--user` wins over every host's own user. [`HostEntry::explicit`] records
//! which settings a host's own entry gave, so that settings from elsewhere
//! (ssh_config) can rank between the file's defaults and the host's own.

mod ansible;
mod ansible_cfg;
mod clustershell;
mod command;
mod csv_table;
mod detect;
mod error;
mod hosts;
mod listing;
mod native;
mod nodes;
pub(crate) mod paths;
mod plain;
mod raw;
mod settings;
mod sources;

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use shoal_stdlib::fleet::{Fleet, FleetHost};

use ansible_cfg::{AnsibleConfig, AnsibleDefaults};
use detect::{Detected, Format};
pub use error::InventoryError;
use error::Source;
use hosts::Read;
use paths::Env;
use raw::RawDefaults;

type InventoryResult<T> = Result<T, InventoryError>;

/// A validated inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// The file (or directory) it was read from, as given; for a command,
    /// `--inventory-cmd 'CMD'`.
    pub path: PathBuf,
    pub settings: Settings,
    /// Hosts in file order.
    pub hosts: Vec<HostEntry>,
    /// Group name to member host names, in inventory order.
    pub groups: IndexMap<String, Vec<String>>,
    /// The command-line flags as given, already applied to `settings` and
    /// `hosts`; kept for settings read later from elsewhere.
    pub overrides: Overrides,
    /// What the user should be told before the first query: settings read
    /// but not applied (ansible.cfg's `host_key_checking = False`, say).
    pub warnings: Vec<String>,
    /// What `ansible-inventory --list` shows of an Ansible inventory, for
    /// [`Inventory::list`]; `None` for other formats.
    pub(crate) listing: Option<listing::Listing>,
}

/// How every connection is made, after overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Private keys to offer, in order, after the ssh-agent's.
    pub identity_files: Vec<PathBuf>,
    pub known_hosts: PathBuf,
    /// Hosts in flight at once; at least 1.
    pub fanout: usize,
    /// At most this many host connections open at once, the least recently
    /// used idle one closed to make room; `None`: as many as the open-file
    /// limit allows.
    pub max_connections: Option<usize>,
    /// TCP connect, key exchange and authentication together.
    pub connect_timeout: Duration,
    /// A `run` without its own `timeout=`.
    pub command_timeout: Duration,
    /// Trust and record host keys not yet in known_hosts (never changed ones).
    pub accept_new: bool,
    /// The user of hosts the inventory does not list (ssh_config's, jump
    /// hosts): `--user`, `[defaults]`, the local user.
    pub default_user: Option<String>,
    /// The port of hosts the inventory does not list.
    pub default_port: u16,
}

/// One host and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub name: String,
    pub addr: String,
    pub port: u16,
    pub user: String,
    /// Which of `addr`, `port`, `user` and `identity_files` the host's own
    /// entry set.
    pub explicit: Explicit,
    pub tags: IndexMap<String, String>,
    /// Private keys the inventory names for this host (Ansible's
    /// `ansible_ssh_private_key_file`), each an existing file; empty when it
    /// names none, and then the inventory's [`Settings::identity_files`] or
    /// ssh_config's apply.
    pub identity_files: Vec<PathBuf>,
}

/// Which of a host's connection settings were set for that host: by its own
/// entry (TOML `[[hosts]]`, an Ansible host or group other than `all`) or,
/// for the user, by `--user`. The rest came from the file's defaults (TOML
/// `[defaults]`, Ansible's `all` vars) or the built-in ones (the name, 22,
/// the local user), which settings from elsewhere may override.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Explicit {
    pub addr: bool,
    pub port: bool,
    pub user: bool,
    pub identity_files: bool,
}

/// Command-line settings that win over the file's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces every host's user.
    pub user: Option<String>,
    /// When not empty, replaces the file's identity files.
    pub identity_files: Vec<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub fanout: Option<usize>,
    pub max_connections: Option<usize>,
    pub command_timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub accept_new: bool,
}

impl Inventory {
    /// Finds the inventory and reads it: `--inventory PATH` (`explicit`),
    /// then `$SHOAL_INVENTORY`, then `./shoal.toml`, then
    /// `~/.config/shoal/inventory.toml`, then Ansible's own places:
    /// `$ANSIBLE_INVENTORY`, `inventory =` in ansible.cfg, then
    /// `/etc/ansible/hosts`, each a comma-separated list of files and
    /// directories read as one. A path the user named for shoal is never
    /// skipped for the next one: it is read or reported missing
    /// ([`InventoryError::Missing`]); [`InventoryError::NotFound`] lists the
    /// places tried when none has an inventory.
    pub fn discover(
        explicit: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Inventory, InventoryError> {
        let env = Env::from_process();
        let located = paths::locate(explicit, &env)?;
        let mut inventory = load_sources(&located.sources, overrides, &env, located.ansible)?;
        inventory.warnings.splice(0..0, located.warnings);
        Ok(inventory)
    }

    /// Reads the inventory at `path` in whichever format it is in (see
    /// `detect.rs`). A directory is ClusterShell's `groups.d` when its
    /// `*.yaml` files are ClusterShell groups, else an Ansible inventory
    /// directory (`sources.rs`).
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Inventory, InventoryError> {
        load(path, overrides, &Env::from_process())
    }

    /// Parses and validates `text` as shoal's TOML; `path` names the file in
    /// errors and is the base for relative paths inside it.
    pub fn from_toml(
        text: &str,
        path: &Path,
        overrides: &Overrides,
    ) -> Result<Inventory, InventoryError> {
        let source = Source { path, text };
        finish(
            source,
            native::read(source)?,
            overrides,
            &Env::from_process(),
        )
    }

    /// Parses and validates `text` in whichever format suits a file
    /// named `path` (see `detect.rs`).
    pub fn from_text(
        text: &str,
        path: &Path,
        overrides: &Overrides,
    ) -> Result<Inventory, InventoryError> {
        from_text(Source { path, text }, overrides, &Env::from_process())
    }

    /// Runs `sh -c CMD` and reads what it prints as `ansible-inventory
    /// --list` JSON, as Ansible runs an inventory script. The command must
    /// finish within a minute and print at most 64 MiB.
    pub fn from_command(command: &str, overrides: &Overrides) -> Result<Inventory, InventoryError> {
        let path = PathBuf::from(format!(
            "--inventory-cmd {}",
            shoal_lang::shell_quote(command)
        ));
        let text = command::run(command).map_err(|reason| InventoryError::Unusable {
            path: path.clone(),
            message: reason,
        })?;
        let source = Source {
            path: &path,
            text: &text,
        };
        let detected = Detected {
            format: Format::AnsibleJson,
            why: "it is what --inventory-cmd printed".into(),
        };
        let env = Env::from_process();
        let read = read_as(source, &detected)?;
        let ansible = Ansible::load(&env)?;
        finish_with(source, read, overrides, &env, ansible)
    }

    /// The hosts `nodesets` name (`-w 'web[01-05]'`, as pdsh and clush take
    /// it), each reached at its name, with no tags and no groups: a fleet
    /// without an inventory file. ssh_config applies to them as to any host,
    /// and `overrides` as to any inventory. A malformed nodeset, or one that
    /// names no host, is [`InventoryError::Nodes`].
    pub fn from_nodesets(
        nodesets: &[String],
        overrides: &Overrides,
    ) -> Result<Inventory, InventoryError> {
        let names = nodes::names(nodesets)?;
        let shown: Vec<String> = nodesets
            .iter()
            .map(|n| format!("-w {}", shoal_lang::shell_quote(n)))
            .collect();
        let path = PathBuf::from(shown.join(" "));
        let read = Read {
            hosts: names.into_iter().map(hosts::Written::named).collect(),
            ..Read::default()
        };
        let source = Source {
            path: &path,
            text: "",
        };
        finish(
            source,
            (read, RawDefaults::default()),
            overrides,
            &Env::from_process(),
        )
    }

    /// Only the hosts `nodesets` name (`-w` with an inventory), in inventory
    /// order; groups keep those of their members. Names the inventory does
    /// not have are an error listing them, since they are most likely typos.
    /// No nodesets leave the inventory as it is.
    pub fn restrict(mut self, nodesets: &[String]) -> Result<Inventory, InventoryError> {
        if nodesets.is_empty() {
            return Ok(self);
        }
        let names = nodes::names(nodesets)?;
        let known: std::collections::HashSet<&str> =
            self.hosts.iter().map(|h| h.name.as_str()).collect();
        let unknown: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|name| !known.contains(name))
            .collect();
        if !unknown.is_empty() {
            return Err(nodes::not_in(&unknown, &self.path));
        }
        let wanted: std::collections::HashSet<String> = names.into_iter().collect();
        self.hosts.retain(|host| wanted.contains(&host.name));
        for members in self.groups.values_mut() {
            members.retain(|name| wanted.contains(name));
        }
        Ok(self)
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

fn load(path: &Path, overrides: &Overrides, env: &Env) -> InventoryResult<Inventory> {
    load_sources(
        std::slice::from_ref(&path.to_path_buf()),
        overrides,
        env,
        false,
    )
}

/// Reads `sources` as one inventory: one file in its own format, one
/// ClusterShell `groups.d`, or Ansible inventory files and directories
/// merged. `ansible_places`: they were found through Ansible's places, so
/// ansible.cfg applies whatever their format.
fn load_sources(
    sources: &[PathBuf],
    overrides: &Overrides,
    env: &Env,
    ansible_places: bool,
) -> InventoryResult<Inventory> {
    match sources {
        [path] if path.is_dir() && sources::is_groups_d(path) => {
            let source = Source { path, text: "" };
            let read = clustershell::read_dir(path).map_err(|error| InventoryError::Detected {
                error: Box::new(error),
                read_as: format!("{} because it is a directory of them", Format::ClusterShell),
            })?;
            finish(source, (read, RawDefaults::default()), overrides, env)
        }
        [path] if !path.is_dir() => {
            let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            from_text_as(Source { path, text: &text }, overrides, env, ansible_places)
        }
        _ => {
            let shown: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
            let shown = PathBuf::from(shown.join(","));
            let read = sources::read(sources, &shown)?;
            let ansible = Ansible::load(env)?;
            let source = Source {
                path: &shown,
                text: "",
            };
            finish_with(
                source,
                (read, RawDefaults::default()),
                overrides,
                env,
                ansible,
            )
        }
    }
}

fn from_text(source: Source, overrides: &Overrides, env: &Env) -> InventoryResult<Inventory> {
    from_text_as(source, overrides, env, false)
}

/// [`from_text`]; `ansible_places` as for [`load_sources`].
fn from_text_as(
    source: Source,
    overrides: &Overrides,
    env: &Env,
    ansible_places: bool,
) -> InventoryResult<Inventory> {
    let detected = detect::detect(source.path, source.text);
    let read = read_as(source, &detected)?;
    let ansible = if ansible_places || detected.format.is_ansible() {
        Ansible::load(env)?
    } else {
        Ansible::default()
    };
    finish_with(source, read, overrides, env, ansible)
}

/// What Ansible's own configuration adds to an Ansible inventory: the
/// defaults of ansible.cfg, and warnings about what shoal does not apply.
#[derive(Debug, Default)]
struct Ansible {
    defaults: AnsibleDefaults,
    warnings: Vec<String>,
}

impl Ansible {
    /// From the ansible.cfg Ansible would use here, if any.
    fn load(env: &Env) -> InventoryResult<Ansible> {
        let (config, skipped) = AnsibleConfig::load(env)?;
        let mut warnings: Vec<String> = skipped.into_iter().collect();
        let Some(config) = config else {
            return Ok(Ansible {
                warnings,
                ..Ansible::default()
            });
        };
        warnings.extend(config.warning(env));
        Ok(Ansible {
            defaults: config.defaults(env)?,
            warnings,
        })
    }
}

/// Hosts, groups and (for TOML) `[defaults]` read from `source` as the
/// detected format; its errors say what was detected.
fn read_as(source: Source, detected: &Detected) -> InventoryResult<(Read, RawDefaults)> {
    let read = match detected.format {
        Format::Toml => native::read(source),
        Format::AnsibleIni => ansible::read_ini(source).map(without_defaults),
        Format::AnsibleYaml => ansible::read_yaml(source).map(without_defaults),
        Format::AnsibleJson => ansible::read_json(source).map(without_defaults),
        Format::ClusterShell => clustershell::read_file(source).map(without_defaults),
        Format::Csv => csv_table::read(source).map(without_defaults),
        Format::Plain => plain::read(source).map(without_defaults),
    };
    read.map_err(|error| InventoryError::Detected {
        error: Box::new(error),
        read_as: detected.to_string(),
    })
}

/// A format with no `[defaults]` of its own.
fn without_defaults(read: Read) -> (Read, RawDefaults) {
    (read, RawDefaults::default())
}

/// The inventory of what was read from `source`: settings, then every host
/// with defaults and overrides applied.
fn finish(
    source: Source,
    read: (Read, RawDefaults),
    overrides: &Overrides,
    env: &Env,
) -> InventoryResult<Inventory> {
    finish_with(source, read, overrides, env, Ansible::default())
}

/// [`finish`], with ansible.cfg's defaults below the file's own.
fn finish_with(
    source: Source,
    (read, defaults): (Read, RawDefaults),
    overrides: &Overrides,
    env: &Env,
    ansible: Ansible,
) -> InventoryResult<Inventory> {
    let settings = settings::resolve(source, &defaults, &ansible.defaults, overrides, env)?;
    let mut keys = hosts::KeyFiles::new(source, env);
    let hosts = read
        .hosts
        .into_iter()
        .map(|mut host| {
            if host.user.is_none() {
                host.user.clone_from(&ansible.defaults.remote_user);
            }
            host.port = host.port.or(ansible.defaults.remote_port);
            let key = host.identity_file.take();
            let mut entry = host
                .resolve(overrides, env)
                .map_err(|reason| source.unusable(reason))?;
            if let Some(key) = key {
                entry.identity_files = vec![keys.path(&key)?];
            }
            Ok(entry)
        })
        .collect::<InventoryResult<_>>()?;
    let mut warnings = ansible.warnings;
    if !read.renamed.is_empty() {
        warnings.push(renamed_warning(source.path, &read.renamed));
    }
    Ok(Inventory {
        path: source.path.to_path_buf(),
        settings,
        hosts,
        groups: read.groups,
        overrides: overrides.clone(),
        warnings,
        listing: read.listing,
    })
}

/// The one warning about variables kept under another name.
fn renamed_warning(path: &Path, renamed: &indexmap::IndexSet<String>) -> String {
    let prefix = ansible::RENAMED_PREFIX;
    let names: Vec<String> = renamed.iter().map(|n| format!("`{n}`")).collect();
    let tags: Vec<String> = renamed.iter().map(|n| format!("`{prefix}{n}`")).collect();
    let first = renamed.first().map_or("", String::as_str);
    format!(
        "warning: inventory {}: the variables {} are named like shoal's own columns; they are \
         the tags {} (`hosts | filter {prefix}{first} = ...`)",
        path.display(),
        names.join(", "),
        tags.join(", ")
    )
}

#[cfg(test)]
mod tests;
