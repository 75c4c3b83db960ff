//! shoal's own TOML inventory, read into hosts and groups with every error at
//! its line and column. Its `[defaults]` go back to the caller, which turns
//! them into [`super::Settings`] the way it does for every format.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use toml::Spanned;

use super::error::{self, Source};
use super::hosts::{self, HostOrder, Read, Written};
use super::raw::{RawDefaults, RawHost, RawInventory};
use super::{Explicit, InventoryResult};

/// Reads `source` as TOML: its hosts and groups, and its `[defaults]`.
pub(super) fn read(source: Source) -> InventoryResult<(Read, RawDefaults)> {
    let raw: RawInventory = toml::from_str(source.text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        source.at(offset, e.message().trim_end())
    })?;
    let default_port = raw
        .defaults
        .port
        .as_ref()
        .map(|port| check_port(source, "defaults.port", port))
        .transpose()?;
    let written = hosts(source, &raw.hosts, &raw.defaults, default_port)?;
    let groups = groups(source, &raw.groups, &written)?;
    Ok((
        Read {
            hosts: written,
            groups,
            ..Read::default()
        },
        raw.defaults,
    ))
}

fn check_port(source: Source, field: &str, port: &Spanned<u16>) -> InventoryResult<u16> {
    match *port.get_ref() {
        0 => Err(source.at(
            port.span().start,
            format!("{field} must be between 1 and 65535"),
        )),
        port => Ok(port),
    }
}

fn hosts(
    source: Source,
    raw_hosts: &[RawHost],
    defaults: &RawDefaults,
    default_port: Option<u16>,
) -> InventoryResult<Vec<Written>> {
    // Name to the byte offset where it was first defined.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut written = Vec::with_capacity(raw_hosts.len());
    for raw in raw_hosts {
        let name = raw.name.get_ref();
        let name_at = raw.name.span().start;
        if name.trim().is_empty() {
            return Err(source.at(name_at, "hosts.name: a host name cannot be empty"));
        }
        if let Some(&first) = seen.get(name.as_str()) {
            let (first_line, _) = error::line_column(source.text, first);
            return Err(source.at(
                name_at,
                format!("duplicate host name \"{name}\" (first defined on line {first_line})"),
            ));
        }
        seen.insert(name, name_at);

        if let Some(addr) = &raw.addr
            && addr.get_ref().trim().is_empty()
        {
            return Err(source.at(
                addr.span().start,
                format!("host \"{name}\": addr cannot be empty"),
            ));
        }
        let port = raw
            .port
            .as_ref()
            .map(|port| check_port(source, &format!("host \"{name}\": port"), port))
            .transpose()?;
        let tags = match &raw.tags {
            Some(tags) => {
                for tag in tags.get_ref().keys() {
                    hosts::check_tag_name(tag).map_err(|reason| {
                        source.at(tags.span().start, format!("host \"{name}\": tag {reason}"))
                    })?;
                }
                tags.get_ref().clone()
            }
            None => IndexMap::new(),
        };
        written.push(Written {
            name: name.clone(),
            addr: raw.addr.as_ref().map(|addr| addr.get_ref().clone()),
            port: port.or(default_port),
            user: raw.user.clone().or_else(|| defaults.user.clone()),
            explicit: Explicit {
                addr: raw.addr.is_some(),
                port: port.is_some(),
                user: raw.user.is_some(),
                identity_files: false,
            },
            tags,
            identity_file: None,
        });
    }
    Ok(written)
}

fn groups(
    source: Source,
    raw_groups: &IndexMap<String, Spanned<String>>,
    written: &[Written],
) -> InventoryResult<IndexMap<String, Vec<String>>> {
    let known: HashSet<&str> = written.iter().map(|h| h.name.as_str()).collect();
    let mut groups = IndexMap::with_capacity(raw_groups.len());
    let order = HostOrder::new(written);
    for (group, raw) in raw_groups {
        let at = raw.span().start;
        let located = |reason: String| source.at(at, format!("groups.{group}: {reason}"));
        hosts::check_group_name(group).map_err(located)?;
        let set = hosts::parse_nodeset(raw.get_ref()).map_err(located)?;
        let members: Vec<String> = set.iter().collect();
        let members: HashSet<&str> = members.iter().map(String::as_str).collect();
        let mut unknown: Vec<&str> = members
            .iter()
            .copied()
            .filter(|m| !known.contains(m))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(located(not_hosts(&unknown)));
        }
        groups.insert(group.clone(), order.of(&members));
    }
    Ok(groups)
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
