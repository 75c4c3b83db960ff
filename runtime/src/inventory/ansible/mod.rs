//! Ansible inventories in the three forms Ansible writes them: INI, YAML and
//! `ansible-inventory --list` JSON. Each reader fills one [`Model`] (groups
//! with hosts, children and vars; hosts with their own vars), and
//! [`Model::resolve`] turns it into hosts and groups as Ansible would:
//!
//! - A group's hosts include its children's, recursively; a cycle of
//!   children is an error that names it.
//! - A host's variables are, lowest to highest (Ansible's
//!   `VariableManager.get_vars`): `all`'s vars, then each group it is in,
//!   shallower groups before deeper ones (a child beats its parent) and, at
//!   one depth, by `ansible_group_priority` (default 1, higher wins), then by
//!   name; then `group_vars/all`, then `group_vars/` of each of its groups in
//!   that order; then the host's own vars, then its `host_vars/`
//!   (`vars_files.rs` reads these directories, for each source in turn).
//! - `ansible_host`, `ansible_port` and `ansible_user` (or the older
//!   `ansible_ssh_*`) are the address, port and user, and
//!   `ansible_private_key_file` (or `ansible_ssh_private_key_file`) the key
//!   to log in with. Set by a host or any group but `all` they are the
//!   host's own ([`super::Explicit`]); set only by `all` they are the
//!   inventory's defaults.
//! - Every other `ansible_*` variable is connection plumbing shoal does not
//!   use and is dropped; the rest are tags, as text (lists and maps as
//!   compact JSON). A variable named like one of shoal's own columns
//!   (`status`, `host`, ...) is the tag `var_NAME` ([`RENAMED_PREFIX`]), and
//!   the inventory warns once about those it renamed.
//! - [`Listing`] keeps what `ansible-inventory --list` would print: each
//!   group's own hosts and children, each host's merged variables as typed
//!   values under their Ansible names.
//! - Every group but the implicit `all` and `ungrouped` is a group of the
//!   inventory, usable as `@group`.

mod ini;
mod json;
mod range;
mod vars_files;
mod yaml;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use serde_json::Value;
use shoal_lang::plan::BUILTIN_COLUMNS;

use super::InventoryResult;
use super::error::{File, Place, Source};
use super::hosts::{self, HostOrder, KeyFile, Read, Written};
use super::listing::{ListedGroup, Listing};
use vars_files::VarsFiles;

pub(super) use ini::{model as model_ini, read as read_ini};
pub(super) use json::{model as model_json, read as read_json};
pub(super) use yaml::{model as model_yaml, read as read_yaml};

/// The group every host is in, whose vars are the inventory's defaults.
const ALL: &str = "all";
/// The group Ansible puts hosts of no other group in.
const UNGROUPED: &str = "ungrouped";
/// The group variable that orders groups of one depth; not a variable of
/// the hosts.
const PRIORITY: &str = "ansible_group_priority";
/// A group's priority when it sets none.
const DEFAULT_PRIORITY: i64 = 1;
/// What a variable named like one of shoal's columns becomes: `status` is
/// the tag `var_status`, so that the inventory still loads and a query can
/// select on it.
pub(super) const RENAMED_PREFIX: &str = "var_";

/// A variable's value, and where it was written: its value's line and
/// column in INI; in YAML and JSON the mapping that holds it, since errors
/// about it start with its name.
#[derive(Debug, Clone, PartialEq)]
struct Var {
    value: Value,
    at: Place,
}

type Vars = IndexMap<String, Var>;

#[derive(Debug, Default)]
struct Group {
    /// Where it was first mentioned.
    at: Option<Place>,
    /// A set: ranges put up to a million hosts in one group, and a
    /// membership scan per host would be quadratic (found by fuzzing).
    hosts: IndexSet<String>,
    /// Each child with where it was named a child.
    children: IndexMap<String, Place>,
    vars: Vars,
}

/// An Ansible inventory as written, before children and vars are resolved.
#[derive(Debug, Default)]
pub(super) struct Model {
    /// In the order first mentioned.
    groups: IndexMap<String, Group>,
    /// Each host's own vars; hosts in the order first mentioned.
    hosts: IndexMap<String, Vars>,
    /// The directories whose `group_vars/` and `host_vars/` apply, one per
    /// source, in source order.
    vars_bases: Vec<PathBuf>,
}

impl Model {
    /// The group `name`, added (at `at`) if new.
    fn group(&mut self, name: &str, at: &Place) -> &mut Group {
        let group = self.groups.entry(name.to_string()).or_default();
        group.at.get_or_insert_with(|| at.clone());
        group
    }

    /// Host `name`'s own vars, the host added if new.
    fn host(&mut self, name: &str) -> &mut Vars {
        self.hosts.entry(name.to_string()).or_default()
    }

    /// Hosts named only, each in `ungrouped`: a plain list of hosts, which
    /// Ansible reads as an INI file of host lines.
    pub(super) fn of_hosts(read: Read) -> Model {
        let mut model = Model::default();
        let at = Place::Keys(String::new());
        for host in read.hosts {
            model.add_host(UNGROUPED, &host.name, &at);
        }
        model
    }

    /// Every place in the model, as a place in `file`: see [`Model::merge`].
    pub(super) fn within(mut self, file: &Arc<File>) -> Model {
        let relocate = |place: &mut Place| {
            *place = std::mem::replace(place, Place::Offset(0)).within(file);
        };
        for group in self.groups.values_mut() {
            if let Some(at) = &mut group.at {
                relocate(at);
            }
            group.children.values_mut().for_each(relocate);
            group
                .vars
                .values_mut()
                .for_each(|var| relocate(&mut var.at));
        }
        for vars in self.hosts.values_mut() {
            vars.values_mut().for_each(|var| relocate(&mut var.at));
        }
        self
    }

    /// Adds `other`, read after `self`, as Ansible adds one inventory source
    /// to those before it: groups and hosts are the union, a group's vars
    /// and a host's own vars from `other` replace those of the same name.
    /// Both should already be [`Model::within`] their files, so that errors
    /// found later name the right one.
    pub(super) fn merge(&mut self, other: Model) -> Result<(), String> {
        for (name, group) in other.groups {
            let mine = self.groups.entry(name).or_default();
            if mine.at.is_none() {
                mine.at = group.at;
            }
            mine.hosts.extend(group.hosts);
            for (child, at) in group.children {
                mine.children.entry(child).or_insert(at);
            }
            mine.vars.extend(group.vars);
        }
        for (name, vars) in other.hosts {
            self.hosts.entry(name).or_default().extend(vars);
        }
        self.vars_bases.extend(other.vars_bases);
        hosts::check_total(self.hosts.len())
    }

    /// Reads the `group_vars/` and `host_vars/` of `base` too (after those
    /// of the sources before), as Ansible does for a source there.
    pub(super) fn with_vars_in(mut self, base: PathBuf) -> Model {
        self.vars_bases.push(base);
        self
    }

    /// The model of the one file `path`: with the `group_vars/` and
    /// `host_vars/` beside it when it is a file on disk (not a command's
    /// output, nor text given with a made-up name).
    fn beside(self, path: &Path) -> Model {
        match path.parent() {
            Some(parent) if path.is_file() => self.with_vars_in(parent.to_path_buf()),
            _ => self,
        }
    }

    /// Whether the group `name` exists before a file is read: `all`,
    /// `ungrouped`, or a group of the sources read before it.
    fn knows(&self, name: &str) -> bool {
        name == ALL || name == UNGROUPED || self.groups.contains_key(name)
    }

    /// Refuses `more` new hosts past the inventory's bound.
    fn room_for(&self, more: usize) -> Result<(), String> {
        hosts::check_total(self.hosts.len().saturating_add(more))
    }

    /// Puts host `name` in `group`; returns the host's own vars.
    fn add_host(&mut self, group: &str, name: &str, at: &Place) -> &mut Vars {
        self.group(group, at).hosts.insert(name.to_string());
        self.host(name)
    }

    fn add_child(&mut self, parent: &str, child: &str, at: &Place) {
        self.group(child, at);
        self.group(parent, at)
            .children
            .entry(child.to_string())
            .or_insert_with(|| at.clone());
    }

    /// Hosts and groups as Ansible resolves them; see the module docs.
    pub(super) fn resolve(mut self, source: Source) -> InventoryResult<Read> {
        self.groups.entry(ALL.to_string()).or_default();
        self.check_cycles(source)?;
        let priorities = self.take_priorities(source)?;
        let depths = self.depths();
        let members = self.members();

        // Each host's groups, lowest precedence first: `all` (depth 0) first.
        let mut ordered: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        ordered.sort_by_key(|name| (depths[name], priorities[*name], *name));
        let mut host_groups: HashMap<&str, Vec<&str>> = HashMap::new();
        for group in &ordered {
            let names = if *group == ALL {
                self.hosts.keys().map(String::as_str).collect()
            } else {
                members[group].clone()
            };
            for host in names {
                host_groups.entry(host).or_default().push(group);
            }
        }
        let files: Vec<VarsFiles> = self
            .vars_bases
            .iter()
            .map(|base| {
                VarsFiles::read(
                    base,
                    self.groups.keys().map(String::as_str),
                    self.hosts.keys().map(String::as_str),
                )
            })
            .collect::<InventoryResult<_>>()?;

        let mut written = Vec::with_capacity(self.hosts.len());
        let mut hostvars = IndexMap::new();
        let mut renamed = IndexSet::new();
        for (name, own) in &self.hosts {
            let groups = &host_groups[name.as_str()];
            // Each layer of variables with whether it is the host's own,
            // lowest precedence first.
            let mut layers: Vec<(&Vars, bool)> = groups
                .iter()
                .map(|group| (&self.groups[*group].vars, *group != ALL))
                .collect();
            layers.extend(
                files
                    .iter()
                    .filter_map(|f| Some((f.groups.get(ALL)?, false))),
            );
            for file in &files {
                for group in groups.iter().filter(|g| **g != ALL) {
                    layers.extend(file.groups.get(*group).map(|vars| (vars, true)));
                }
            }
            layers.push((own, true));
            layers.extend(
                files
                    .iter()
                    .filter_map(|f| Some((f.hosts.get(name)?, true))),
            );

            let mut vars: IndexMap<&str, (&Var, bool)> = IndexMap::new();
            let mut listed: IndexMap<String, Value> = IndexMap::new();
            for (layer, explicit) in layers {
                for (key, var) in layer {
                    listed.insert(key.clone(), var.value.clone());
                    vars.insert(canonical(key), (var, explicit));
                }
            }
            written.push(host(source, name, &vars, &mut renamed)?);
            if !listed.is_empty() {
                hostvars.insert(name.clone(), listed);
            }
        }

        let mut groups = IndexMap::new();
        let order = HostOrder::new(&written);
        for (name, group) in &self.groups {
            if name == ALL || name == UNGROUPED {
                continue;
            }
            hosts::check_group_name(name).map_err(|reason| {
                source.error(
                    group.at.as_ref().unwrap_or(&Place::Keys(name.clone())),
                    reason,
                )
            })?;
            let members: HashSet<&str> = members[name.as_str()].iter().copied().collect();
            groups.insert(name.clone(), order.of(&members));
        }
        Ok(Read {
            hosts: written,
            groups,
            renamed,
            listing: Some(Listing {
                groups: self.listed_groups(),
                hostvars,
            }),
        })
    }

    /// Each group's `ansible_group_priority`, taken out of its variables as
    /// Ansible takes it (it is no variable of the hosts).
    fn take_priorities(&mut self, source: Source) -> InventoryResult<HashMap<String, i64>> {
        let mut priorities = HashMap::new();
        for (name, group) in &mut self.groups {
            let priority = match group.vars.shift_remove(PRIORITY) {
                None => DEFAULT_PRIORITY,
                Some(var) => text(&var.value).trim().parse::<i64>().map_err(|_| {
                    source.error(
                        &var.at,
                        format!("{PRIORITY}: `{}` is not a whole number", text(&var.value)),
                    )
                })?,
            };
            priorities.insert(name.clone(), priority);
        }
        Ok(priorities)
    }

    /// The groups as `ansible-inventory --list` shows them: `all` with the
    /// groups no other group names as a child, `ungrouped` with the hosts
    /// of no other group, and every group with its own hosts and children.
    fn listed_groups(&self) -> IndexMap<String, ListedGroup> {
        let mut in_group: HashSet<&str> = HashSet::new();
        let mut children_of_some: HashSet<&str> = HashSet::new();
        for (name, group) in &self.groups {
            if name != ALL && name != UNGROUPED {
                in_group.extend(group.hosts.iter().map(String::as_str));
            }
            if name != ALL {
                children_of_some.extend(group.children.keys().map(String::as_str));
            }
        }
        let mut top: IndexSet<String> = IndexSet::from([UNGROUPED.to_string()]);
        top.extend(self.groups[ALL].children.keys().cloned());
        top.extend(
            self.groups
                .keys()
                .filter(|name| *name != ALL && !children_of_some.contains(name.as_str()))
                .cloned(),
        );
        let mut listed = IndexMap::new();
        listed.insert(
            ALL.to_string(),
            ListedGroup {
                hosts: Vec::new(),
                children: top.into_iter().collect(),
            },
        );
        let ungrouped = ListedGroup {
            hosts: self
                .hosts
                .keys()
                .filter(|host| !in_group.contains(host.as_str()))
                .cloned()
                .collect(),
            children: Vec::new(),
        };
        listed.insert(UNGROUPED.to_string(), ungrouped);
        for (name, group) in &self.groups {
            if name != ALL && name != UNGROUPED {
                let group = ListedGroup {
                    hosts: group.hosts.iter().cloned().collect(),
                    children: group.children.keys().cloned().collect(),
                };
                listed.insert(name.clone(), group);
            }
        }
        listed
    }

    /// An error naming the first cycle of children, at the child that closes it.
    fn check_cycles(&self, source: Source) -> InventoryResult<()> {
        /// Depth-first from `group`; `path` is the chain of groups above it.
        fn visit<'m>(
            model: &'m Model,
            group: &'m str,
            path: &mut Vec<&'m str>,
            done: &mut HashSet<&'m str>,
        ) -> Result<(), (Vec<&'m str>, &'m Place)> {
            if done.contains(group) {
                return Ok(());
            }
            path.push(group);
            for (child, at) in &model.groups[group].children {
                if let Some(start) = path.iter().position(|g| g == child) {
                    let mut cycle = path[start..].to_vec();
                    cycle.push(child);
                    return Err((cycle, at));
                }
                visit(model, child, path, done)?;
            }
            path.pop();
            done.insert(group);
            Ok(())
        }
        let mut done = HashSet::new();
        for group in self.groups.keys() {
            visit(self, group, &mut Vec::new(), &mut done).map_err(|(cycle, at)| {
                source.error(
                    at,
                    format!(
                        "group \"{}\" contains itself through its children: {}",
                        cycle[0],
                        cycle.join(" → ")
                    ),
                )
            })?;
        }
        Ok(())
    }

    /// Each group's depth, as Ansible counts it: `all` is 0, a group with no
    /// other parent 1, and a child one more than its deepest parent.
    /// Requires a model without cycles.
    fn depths(&self) -> HashMap<&str, usize> {
        let mut parents: HashMap<&str, Vec<&str>> = HashMap::new();
        for (name, group) in &self.groups {
            for (child, _) in &group.children {
                parents.entry(child).or_default().push(name);
            }
        }
        fn depth<'m>(
            group: &'m str,
            parents: &HashMap<&'m str, Vec<&'m str>>,
            depths: &mut HashMap<&'m str, usize>,
        ) -> usize {
            if let Some(&known) = depths.get(group) {
                return known;
            }
            let found = if group == ALL {
                0
            } else {
                let above = parents.get(group).map_or(&[][..], Vec::as_slice);
                1 + above
                    .iter()
                    .map(|p| depth(p, parents, depths))
                    .max()
                    .unwrap_or(0)
            };
            depths.insert(group, found);
            found
        }
        let mut depths = HashMap::new();
        for name in self.groups.keys() {
            depth(name, &parents, &mut depths);
        }
        depths
    }

    /// Each group's hosts, its children's included, in inventory order
    /// (`all`'s are not listed: it has every host). Requires no cycles.
    fn members(&self) -> HashMap<&str, Vec<&str>> {
        /// Adds the hosts of `group` and its descendants, each group once
        /// (`visited`), so that diamonds of children do not multiply the work.
        fn collect<'m>(
            model: &'m Model,
            group: &'m str,
            into: &mut HashSet<&'m str>,
            visited: &mut HashSet<&'m str>,
        ) {
            if !visited.insert(group) {
                return;
            }
            let group = &model.groups[group];
            into.extend(group.hosts.iter().map(String::as_str));
            for (child, _) in &group.children {
                collect(model, child, into, visited);
            }
        }
        self.groups
            .keys()
            .filter(|name| *name != ALL)
            .map(|name| {
                let mut set = HashSet::new();
                collect(self, name, &mut set, &mut HashSet::new());
                // Sorted by inventory position rather than filtered from
                // every host: a group costs its own size, not the fleet's.
                let mut ordered: Vec<&str> = set.into_iter().collect();
                ordered.sort_by_key(|host| self.hosts.get_index_of(*host));
                (name.as_str(), ordered)
            })
            .collect()
    }
}

/// The one name of a variable Ansible spells two ways.
fn canonical(key: &str) -> &str {
    match key {
        "ansible_ssh_host" => "ansible_host",
        "ansible_ssh_port" => "ansible_port",
        "ansible_ssh_user" => "ansible_user",
        "ansible_ssh_private_key_file" => "ansible_private_key_file",
        other => other,
    }
}

/// Host `name` from its merged vars: each with whether it is the host's own
/// (set by the host or a group other than `all`). A variable named like a
/// column of shoal's is kept as `var_NAME`, and its name added to `renamed`.
fn host(
    source: Source,
    name: &str,
    vars: &IndexMap<&str, (&Var, bool)>,
    renamed: &mut IndexSet<String>,
) -> InventoryResult<Written> {
    let mut written = Written::named(name.to_string());
    for (key, (var, explicit)) in vars {
        let invalid = |reason: String| source.error(&var.at, format!("{key}: {reason}"));
        match *key {
            "ansible_host" => {
                written.addr = Some(not_empty(&var.value).map_err(invalid)?);
                written.explicit.addr = *explicit;
            }
            "ansible_port" => {
                written.port = Some(port(&var.value).map_err(invalid)?);
                written.explicit.port = *explicit;
            }
            "ansible_user" => {
                written.user = Some(not_empty(&var.value).map_err(invalid)?);
                written.explicit.user = *explicit;
            }
            "ansible_private_key_file" => {
                written.identity_file = Some(KeyFile {
                    raw: not_empty(&var.value).map_err(invalid)?,
                    at: var.at.clone(),
                    var: (*key).to_string(),
                });
                written.explicit.identity_files = *explicit;
            }
            plumbing if plumbing.starts_with("ansible_") => {}
            column if BUILTIN_COLUMNS.contains(&column) => {
                let tag = format!("{RENAMED_PREFIX}{column}");
                if vars.contains_key(tag.as_str()) {
                    return Err(source.error(
                        &var.at,
                        format!(
                            "`{column}` is one of shoal's columns, so shoal keeps it as the tag \
                             `{tag}`, but `{tag}` is set too; rename one of them"
                        ),
                    ));
                }
                renamed.insert(column.to_string());
                written.tags.insert(tag, text(&var.value));
            }
            tag => {
                written.tags.insert(tag.to_string(), text(&var.value));
            }
        }
    }
    Ok(written)
}

/// A variable as tag text: strings as they are, numbers and booleans as
/// written, null as empty, lists and maps as compact JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn not_empty(value: &Value) -> Result<String, String> {
    match text(value) {
        empty if empty.trim().is_empty() => Err("cannot be empty".into()),
        text => Ok(text),
    }
}

fn port(value: &Value) -> Result<u16, String> {
    let text = text(value);
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("`{text}` is not a port (1 to 65535)")),
    }
}

#[cfg(test)]
mod tests;
