//! What every format shares once it has read its hosts: the built-in
//! defaults and the `--user` override applied the same way, which settings a
//! host set itself ([`Explicit`]), the names a tag or a group may take, and
//! nodesets bounded before they expand.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use indexmap::{IndexMap, IndexSet};
use shoal_lang::NodeSet;
use shoal_lang::plan::BUILTIN_COLUMNS;

use super::InventoryResult;
use super::error::{Place, Source};
use super::listing::Listing;
use super::paths::{self, Env};
use super::{Explicit, HostEntry, Overrides};

/// The SSH port when neither the host nor the file's defaults name one.
pub(super) const DEFAULT_PORT: u16 = 22;

/// The most hosts an inventory may name, and so any one nodeset or Ansible
/// range in it. Ranges multiply: a 324-byte file of them named 810,000
/// hosts with variables and took 17 s and 4 GB to load (found by fuzzing).
/// One shoal process keeps a connection per host, so a fleet past this is
/// better queried in parts (`--inventory` per region) anyway.
pub(super) const MAX_INVENTORY_HOSTS: u64 = 100_000;

/// A host as its format wrote it: `None` is "not set anywhere in the file",
/// and `explicit` says which of the set values the host's own entry (rather
/// than a file-wide default) gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Written {
    pub name: String,
    pub addr: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub explicit: Explicit,
    pub tags: IndexMap<String, String>,
    /// The private key the host's entry names, as written; the loader
    /// expands and checks it ([`KeyFiles`]).
    pub identity_file: Option<KeyFile>,
}

/// A private key file as an inventory wrote it for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyFile {
    /// The path as written: `~` is the home directory, and a relative path
    /// is relative to the working directory, as Ansible (whose ssh is
    /// handed the path as it is) reads it.
    pub raw: String,
    /// Where it was written, for errors.
    pub at: Place,
    /// The variable that named it, for errors (`ansible_ssh_private_key_file`).
    pub var: String,
}

/// The key files of one inventory, each expanded and checked once however
/// many hosts name it (a group's key is every member's).
pub(super) struct KeyFiles<'a> {
    source: Source<'a>,
    env: &'a Env,
    checked: HashMap<String, PathBuf>,
}

impl<'a> KeyFiles<'a> {
    pub fn new(source: Source<'a>, env: &'a Env) -> KeyFiles<'a> {
        KeyFiles {
            source,
            env,
            checked: HashMap::new(),
        }
    }

    /// The file `key` names; `Err` at its place when it cannot be used.
    pub fn path(&mut self, key: &KeyFile) -> InventoryResult<PathBuf> {
        if let Some(path) = self.checked.get(&key.raw) {
            return Ok(path.clone());
        }
        let error = |reason: String| self.source.error(&key.at, format!("{}: {reason}", key.var));
        if key.raw.contains("{{") {
            return Err(error(format!(
                "`{}` is a Jinja template, which shoal does not evaluate; write the path \
                 itself",
                key.raw
            )));
        }
        let base = self.env.cwd.clone().unwrap_or_default();
        let path = paths::expand(&key.raw, &base, self.env).map_err(error)?;
        if !path.is_file() {
            return Err(error(format!("{} does not exist", path.display())));
        }
        self.checked.insert(key.raw.clone(), path.clone());
        Ok(path)
    }
}

impl Written {
    /// A host known by name only.
    pub fn named(name: String) -> Written {
        Written {
            name,
            addr: None,
            port: None,
            user: None,
            explicit: Explicit::default(),
            tags: IndexMap::new(),
            identity_file: None,
        }
    }

    /// The host with built-in defaults filled in: the address is the name,
    /// the port 22, the user `--user`, else the file's, else the local user.
    /// `Err` says why it has no user.
    pub fn resolve(self, overrides: &Overrides, env: &Env) -> Result<HostEntry, String> {
        let mut explicit = self.explicit;
        let user = match (&overrides.user, self.user) {
            (Some(user), _) => {
                explicit.user = true;
                user.clone()
            }
            (None, Some(user)) => user,
            (None, None) => env.user.clone().ok_or_else(|| {
                format!(
                    "host \"{}\" has no user, and the local user name is unknown: \
                     pass --user or set a default user in the inventory",
                    self.name
                )
            })?,
        };
        Ok(HostEntry {
            addr: self.addr.unwrap_or_else(|| self.name.clone()),
            port: self.port.unwrap_or(DEFAULT_PORT),
            user,
            explicit,
            tags: self.tags,
            name: self.name,
            identity_files: Vec::new(),
        })
    }
}

/// Hosts and groups as a format read them, before defaults and overrides.
#[derive(Debug, Default)]
pub(super) struct Read {
    /// In inventory order, names unique.
    pub hosts: Vec<Written>,
    /// Group name to members, in inventory order; every member is a host.
    pub groups: IndexMap<String, Vec<String>>,
    /// Variables kept under another name, since they are named like one of
    /// shoal's columns (Ansible's `status` is the tag `var_status`).
    pub renamed: IndexSet<String>,
    /// What `ansible-inventory --list` shows, for Ansible's formats.
    pub listing: Option<Listing>,
}

/// `Err` when an inventory of `total` hosts would be past
/// [`MAX_INVENTORY_HOSTS`]: each pattern is bounded alone, but a few lines of
/// them could otherwise name millions.
pub(super) fn check_total(total: usize) -> Result<(), String> {
    if total as u64 > MAX_INVENTORY_HOSTS {
        return Err(format!(
            "the inventory would name more than {MAX_INVENTORY_HOSTS} hosts"
        ));
    }
    Ok(())
}

/// Each host's position in the inventory, to list a group's members in
/// inventory order at the cost of the group's size, not the fleet's (a
/// fleet of a million hosts may have hundreds of groups).
pub(super) struct HostOrder<'h>(HashMap<&'h str, usize>);

impl<'h> HostOrder<'h> {
    pub fn new(hosts: &'h [Written]) -> HostOrder<'h> {
        HostOrder(
            hosts
                .iter()
                .enumerate()
                .map(|(i, h)| (h.name.as_str(), i))
                .collect(),
        )
    }

    /// The hosts of `members` that are in the inventory, in inventory order:
    /// a group lists like `hosts`, whatever order its file lists it in.
    pub fn of(&self, members: &HashSet<&str>) -> Vec<String> {
        let mut listed: Vec<(usize, &str)> = members
            .iter()
            .filter_map(|name| Some((*self.0.get(name)?, *name)))
            .collect();
        listed.sort_unstable();
        listed
            .into_iter()
            .map(|(_, name)| name.to_string())
            .collect()
    }
}

/// `Err` says why `name` cannot be a tag: it would shadow a built-in column.
pub(super) fn check_tag_name(name: &str) -> Result<(), String> {
    if BUILTIN_COLUMNS.contains(&name) {
        return Err(format!(
            "`{name}` cannot be a tag name, it is already a column (reserved: {})",
            BUILTIN_COLUMNS.join(", ")
        ));
    }
    Ok(())
}

/// `Err` says why `name` cannot be a group: a query could not name it, since
/// `@` takes letters, digits, `_`, `.` and `-` only. An error rather than a
/// group silently left out: `hosts @x` would then say "no such group" about
/// a group the user can see in the file.
pub(super) fn check_group_name(name: &str) -> Result<(), String> {
    let spellable = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if name.is_empty() || !name.chars().all(spellable) {
        return Err(format!(
            "group \"{name}\" cannot be named in a query: `@` takes letters, digits, \
             `_`, `.` and `-`; rename the group"
        ));
    }
    Ok(())
}

/// Parses a ClusterShell nodeset such as `web[01-20],db1`, refusing one that
/// names more than [`MAX_INVENTORY_HOSTS`] hosts (the parser itself refuses
/// one past [`shoal_lang::MAX_NODESET_NAMES`] before expanding it).
pub(super) fn parse_nodeset(pattern: &str) -> Result<NodeSet, String> {
    let set = shoal_lang::parse_nodeset(pattern).map_err(|e| match e {
        shoal_lang::NodeSetError::Syntax(reason) => {
            format!("\"{pattern}\" is not a valid nodeset: {reason}")
        }
        too_many => too_many.to_string(),
    })?;
    if set.len() as u64 > MAX_INVENTORY_HOSTS {
        return Err(format!(
            "`{pattern}` names more than {MAX_INVENTORY_HOSTS} hosts"
        ));
    }
    Ok(set)
}

/// The nodeset operators: union, difference, intersection and symmetric
/// difference, applied left to right.
pub(super) const NODESET_OPERATORS: [char; 4] = [',', '!', '&', '^'];

/// `text` cut at each of `separators` outside brackets, each piece with the
/// separator before it (`None` for the first): `a[1,2],b` is `a[1,2]` and `b`.
pub(super) fn split_outside_brackets<'a>(
    text: &'a str,
    separators: &[char],
) -> Vec<(Option<char>, &'a str)> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let (mut start, mut before) = (0, None);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 && separators.contains(&c) => {
                pieces.push((before, &text[start..i]));
                (start, before) = (i + c.len_utf8(), Some(c));
            }
            _ => {}
        }
    }
    pieces.push((before, &text[start..]));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodesets_are_bounded_by_the_inventory_limit() {
        assert_eq!(
            split_outside_brackets("@a,b[1,2]!c", &NODESET_OPERATORS),
            [(None, "@a"), (Some(','), "b[1,2]"), (Some('!'), "c")]
        );
        let error = parse_nodeset("web[1-200000]").unwrap_err();
        assert_eq!(error, "`web[1-200000]` names more than 100000 hosts");
        let error = parse_nodeset("web[1-99999999]").unwrap_err();
        assert!(error.contains("shoal's limit for one nodeset"), "{error}");
        assert_eq!(parse_nodeset("web[01-03]").unwrap().len(), 3);
    }

    #[test]
    fn group_names_must_be_spellable_after_at() {
        assert!(check_group_name("web-1.prod_a").is_ok());
        let error = check_group_name("web servers").unwrap_err();
        assert!(
            error.starts_with("group \"web servers\" cannot be named"),
            "{error}"
        );
        assert!(check_group_name("").is_err());
    }

    #[test]
    fn the_user_comes_from_the_flag_then_the_file_then_the_local_account() {
        let env = Env {
            user: Some("local".into()),
            ..Env::default()
        };
        let written = Written {
            user: Some("file".into()),
            ..Written::named("a".into())
        };
        let host = written
            .clone()
            .resolve(&Overrides::default(), &env)
            .unwrap();
        assert_eq!((host.user.as_str(), host.explicit.user), ("file", false));
        assert_eq!((host.addr.as_str(), host.port), ("a", DEFAULT_PORT));
        let flag = Overrides {
            user: Some("flag".into()),
            ..Overrides::default()
        };
        let host = written.resolve(&flag, &env).unwrap();
        assert_eq!((host.user.as_str(), host.explicit.user), ("flag", true));
        let host = Written::named("b".into())
            .resolve(&Overrides::default(), &env)
            .unwrap();
        assert_eq!(host.user, "local");
        let error = Written::named("c".into())
            .resolve(&Overrides::default(), &Env::default())
            .unwrap_err();
        assert!(error.contains("pass --user"), "{error}");
    }
}
