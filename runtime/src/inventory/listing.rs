//! `shoal inventory --list`: the inventory as `ansible-inventory --list`
//! prints it, so that a user can diff the two: `_meta.hostvars` (each
//! host's variables, merged), `all` with its `children`, `ungrouped`, and
//! every group with its `hosts` and `children`; keys sorted, groups without
//! hosts or children left out, hosts without variables absent from
//! `hostvars`, all as Ansible leaves them.
//!
//! An Ansible inventory lists what Ansible would: variables under their own
//! names and with their types (`status`, not the tag `var_status`), groups
//! with their own hosts and their children. Other formats have no such
//! variables: their tags are listed as text, with `ansible_host`,
//! `ansible_port` and `ansible_user` where the host's entry sets them, and
//! their groups as flat lists of hosts. Neither shows `--user` or
//! ansible.cfg's defaults, which Ansible does not list either. With `-w`,
//! only the hosts it picked are listed.

use std::collections::{BTreeMap, HashSet};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::Inventory;
use super::hosts::DEFAULT_PORT;

/// What `ansible-inventory --list` shows of an Ansible inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Every group, `all` and `ungrouped` first, with its own hosts and its
    /// children, in inventory order.
    pub(super) groups: IndexMap<String, ListedGroup>,
    /// Each host's merged variables, for hosts that have some.
    pub(super) hostvars: IndexMap<String, IndexMap<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ListedGroup {
    pub hosts: Vec<String>,
    pub children: Vec<String>,
}

impl Inventory {
    /// The inventory as `ansible-inventory --list` JSON; see the module docs.
    pub fn list(&self) -> Value {
        let listing = self.listing.clone().unwrap_or_else(|| self.flat_listing());
        let kept: HashSet<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
        let mut top: BTreeMap<String, Value> = BTreeMap::new();
        for (name, group) in &listing.groups {
            let mut shown = Map::new();
            let hosts: Vec<&str> = group
                .hosts
                .iter()
                .map(String::as_str)
                .filter(|h| kept.contains(h))
                .collect();
            if !hosts.is_empty() {
                shown.insert("hosts".into(), hosts.into());
            }
            if !group.children.is_empty() {
                shown.insert("children".into(), group.children.clone().into());
            }
            if !shown.is_empty() {
                top.insert(name.clone(), Value::Object(sorted(shown)));
            }
        }
        let hostvars: BTreeMap<&String, Value> = listing
            .hostvars
            .iter()
            .filter(|(host, _)| kept.contains(host.as_str()))
            .map(|(host, vars)| {
                let vars: Map<String, Value> =
                    vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                (host, Value::Object(sorted(vars)))
            })
            .collect();
        top.insert("_meta".into(), serde_json::json!({ "hostvars": hostvars }));
        Value::Object(top.into_iter().collect())
    }

    /// The listing of an inventory in a format other than Ansible's.
    fn flat_listing(&self) -> Listing {
        let grouped: HashSet<&str> = self.groups.values().flatten().map(String::as_str).collect();
        let mut groups = IndexMap::new();
        let mut children = vec!["ungrouped".to_string()];
        children.extend(self.groups.keys().cloned());
        groups.insert(
            "all".to_string(),
            ListedGroup {
                hosts: Vec::new(),
                children,
            },
        );
        let ungrouped = self
            .hosts
            .iter()
            .map(|h| h.name.clone())
            .filter(|name| !grouped.contains(name.as_str()))
            .collect();
        groups.insert(
            "ungrouped".to_string(),
            ListedGroup {
                hosts: ungrouped,
                children: Vec::new(),
            },
        );
        for (name, members) in &self.groups {
            let group = ListedGroup {
                hosts: members.clone(),
                children: Vec::new(),
            };
            groups.insert(name.clone(), group);
        }
        let mut hostvars = IndexMap::new();
        for host in &self.hosts {
            let mut vars: IndexMap<String, Value> = IndexMap::new();
            if host.explicit.addr && host.addr != host.name {
                vars.insert("ansible_host".into(), host.addr.clone().into());
            }
            if host.explicit.port && host.port != DEFAULT_PORT {
                vars.insert("ansible_port".into(), host.port.into());
            }
            if host.explicit.user && self.overrides.user.is_none() {
                vars.insert("ansible_user".into(), host.user.clone().into());
            }
            for (tag, value) in &host.tags {
                vars.insert(tag.clone(), value.clone().into());
            }
            if !vars.is_empty() {
                hostvars.insert(host.name.clone(), vars);
            }
        }
        Listing { groups, hostvars }
    }
}

/// `map` with its keys sorted, as `ansible-inventory` prints them (whether
/// or not serde_json keeps insertion order in this build).
fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let sorted: BTreeMap<String, Value> = map.into_iter().collect();
    sorted.into_iter().collect()
}
