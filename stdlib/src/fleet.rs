//! The query-visible view of an inventory: host names, addresses, tags and
//! groups, and the hosts of ssh_config. The runtime builds it from its inventory file; tests build it by
//! hand. Connection details (ports, users, keys) stay in the runtime.

use std::collections::HashMap;

use indexmap::IndexMap;

/// One host as the language sees it: it becomes the `host`, `addr` and tag
/// columns of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetHost {
    pub name: String,
    pub addr: String,
    pub tags: IndexMap<String, String>,
}

/// The hosts in inventory order, the named groups over them, and the hosts
/// of ssh_config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fleet {
    pub hosts: Vec<FleetHost>,
    /// Group name to member host names, in inventory order.
    pub groups: IndexMap<String, Vec<String>>,
    /// Hosts named by concrete `Host` patterns of ssh_config (no `*`, `?` or
    /// `!`), in file order: what `hosts from ssh_config` selects. Filled by
    /// the runtime.
    pub ssh_config: Vec<FleetHost>,
}

impl Fleet {
    /// Tag names in first-seen order: the tag columns of `hosts`.
    pub fn tag_names(&self) -> Vec<&str> {
        let mut names: indexmap::IndexSet<&str> = indexmap::IndexSet::new();
        for host in &self.hosts {
            names.extend(host.tags.keys().map(String::as_str));
        }
        names.into_iter().collect()
    }

    /// Each host's groups, in inventory group order, joined with `,`: the
    /// `groups` column. Empty for a host in no group.
    pub fn groups_of(&self, hosts: &[&FleetHost]) -> Vec<String> {
        let mut of: HashMap<&str, Vec<&str>> = HashMap::new();
        for (group, members) in &self.groups {
            for member in members {
                let groups = of.entry(member.as_str()).or_default();
                // A member listed twice still names its group once.
                if groups.last() != Some(&group.as_str()) {
                    groups.push(group);
                }
            }
        }
        hosts
            .iter()
            .map(|h| {
                of.get(h.name.as_str())
                    .map_or_else(String::new, |g| g.join(","))
            })
            .collect()
    }
}
