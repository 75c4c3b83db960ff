//! Ansible inventories in the three forms Ansible writes them: INI, YAML and
//! `ansible-inventory --list` JSON. Each reader fills one [`Model`] (groups
//! with hosts, children and vars; hosts with their own vars), and
//! [`Model::resolve`] turns it into hosts and groups as Ansible would:
//!
//! - A group's hosts include its children's, recursively; a cycle of
//!   children is an error that names it.
//! - A host's variables are, lowest to highest: `all`'s vars, then each group
//!   it is in, shallower groups before deeper ones (a child beats its parent)
//!   and, at one depth, by name; then the host's own vars.
//! - `ansible_host`, `ansible_port` and `ansible_user` (or the older
//!   `ansible_ssh_*`) are the address, port and user, and
//!   `ansible_private_key_file` (or `ansible_ssh_private_key_file`) the key
//!   to log in with. Set by a host or any group but `all` they are the
//!   host's own ([`super::Explicit`]); set only by `all` they are the
//!   inventory's defaults.
//! - Every other `ansible_*` variable is connection plumbing shoal does not
//!   use and is dropped; the rest are tags, as text (lists and maps as
//!   compact JSON).
//! - Every group but the implicit `all` and `ungrouped` is a group of the
//!   inventory, usable as `@group`.

mod ini;
mod json;
mod range;
mod yaml;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use serde_json::Value;

use super::InventoryResult;
use super::error::{File, Place, Source};
use super::hosts::{self, HostOrder, KeyFile, Read, Written};

pub(super) use ini::{model as model_ini, read as read_ini};
pub(super) use json::{model as model_json, read as read_json};
pub(super) use yaml::{model as model_yaml, read as read_yaml};

/// The group every host is in, whose vars are the inventory's defaults.
const ALL: &str = "all";
/// The group Ansible puts hosts of no other group in.
const UNGROUPED: &str = "ungrouped";

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
        hosts::check_total(self.hosts.len())
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
        let depths = self.depths();
        let members = self.members();

        // Each host's groups, lowest precedence first: `all` (depth 0) first.
        let mut ordered: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        ordered.sort_by_key(|name| (depths[name], *name));
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

        let mut written = Vec::with_capacity(self.hosts.len());
        for (name, own) in &self.hosts {
            let mut vars: IndexMap<&str, (&Var, bool)> = IndexMap::new();
            for group in &host_groups[name.as_str()] {
                let explicit = *group != ALL;
                for (key, var) in &self.groups[*group].vars {
                    vars.insert(canonical(key), (var, explicit));
                }
            }
            for (key, var) in own {
                vars.insert(canonical(key), (var, true));
            }
            written.push(host(source, name, &vars)?);
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
        })
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
/// (set by the host or a group other than `all`).
fn host(
    source: Source,
    name: &str,
    vars: &IndexMap<&str, (&Var, bool)>,
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
            tag => {
                hosts::check_tag_name(tag).map_err(|reason| source.error(&var.at, reason))?;
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
