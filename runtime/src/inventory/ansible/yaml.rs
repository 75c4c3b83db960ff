//! Ansible's YAML inventory: top-level keys are groups (usually just `all`),
//! each with optional `hosts` (name or range → that host's vars), `vars` and
//! `children` (name → a group of the same shape):
//!
//! ```yaml
//! all:
//!   vars: {ansible_user: ops}
//!   children:
//!     web:
//!       hosts:
//!         web[01:03]:
//!         web04: {ansible_host: 10.0.0.4, role: canary}
//! ```
//!
//! Any other key in a group is an error: a misspelt `hosts:` would otherwise
//! drop its hosts without a word.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::{Model, Var, range};
use crate::inventory::InventoryResult;
use crate::inventory::error::{Place, Source};
use crate::inventory::hosts::Read;

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a group: a mapping of hosts, vars and children"
)]
struct RawGroup {
    #[serde(default)]
    hosts: Option<IndexMap<String, Option<IndexMap<String, Value>>>>,
    #[serde(default)]
    vars: Option<IndexMap<String, Value>>,
    #[serde(default)]
    children: Option<IndexMap<String, Option<RawGroup>>>,
}

pub(in crate::inventory) fn read(source: Source) -> InventoryResult<Read> {
    model(source)?.beside(source.path).resolve(source)
}

/// The inventory as written, to resolve alone or merged with others.
pub(in crate::inventory) fn model(source: Source) -> InventoryResult<Model> {
    if let Ok(serde_norway::Value::Mapping(top)) = serde_norway::from_str(source.text)
        && let Some(serde_norway::Value::String(plugin)) = top.get("plugin")
    {
        return Err(source.unusable(format!(
            "this is the configuration of Ansible's inventory plugin `{plugin}`, which \
             shoal cannot run; pass --inventory-cmd 'ansible-inventory -i {} --list'",
            source.path.display()
        )));
    }
    let top: Option<IndexMap<String, Option<RawGroup>>> =
        serde_norway::from_str(source.text).map_err(|e| source.yaml_error(&e))?;
    let mut model = Model::default();
    for (name, group) in top.iter().flatten() {
        add_group(
            source,
            &mut model,
            name,
            group.as_ref(),
            &Place::Keys(name.clone()),
        )?;
    }
    Ok(model)
}

fn add_group(
    source: Source,
    model: &mut Model,
    name: &str,
    group: Option<&RawGroup>,
    at: &Place,
) -> InventoryResult<()> {
    model.group(name, at);
    let Some(group) = group else {
        return Ok(());
    };
    for (pattern, vars) in group.hosts.iter().flatten() {
        let host_at = at.key("hosts").key(pattern);
        let names = range::expand(pattern).map_err(|reason| source.error(&host_at, reason))?;
        model
            .room_for(names.len())
            .map_err(|reason| source.error(&host_at, reason))?;
        for host in names {
            let own = model.add_host(name, &host, &host_at);
            for (key, value) in vars.iter().flatten() {
                let var = Var {
                    value: value.clone(),
                    at: host_at.clone(),
                };
                own.insert(key.clone(), var);
            }
        }
    }
    let vars_at = at.key("vars");
    for (key, value) in group.vars.iter().flatten() {
        let var = Var {
            value: value.clone(),
            at: vars_at.clone(),
        };
        model.group(name, at).vars.insert(key.clone(), var);
    }
    for (child, sub) in group.children.iter().flatten() {
        let child_at = at.key("children").key(child);
        model.add_child(name, child, &child_at);
        add_group(source, model, child, sub.as_ref(), &child_at)?;
    }
    Ok(())
}
