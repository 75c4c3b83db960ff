//! The JSON of `ansible-inventory --list` (and of inventory scripts): each
//! top-level key is a group, an object with optional `hosts` and `children`
//! (lists of names) and `vars`, or, in older scripts, just a list of hosts.
//! `_meta.hostvars` maps each host to its own vars.
//!
//! ```json
//! {"_meta": {"hostvars": {"web1": {"ansible_host": "10.0.0.1"}}},
//!  "all": {"children": ["web", "ungrouped"]},
//!  "web": {"hosts": ["web1"], "vars": {"role": "web"}}}
//! ```

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::{Model, Var};
use crate::inventory::InventoryResult;
use crate::inventory::error::{Place, Source};
use crate::inventory::hosts::Read;

/// The key that holds host vars rather than a group.
const META: &str = "_meta";

pub(in crate::inventory) fn read(source: Source) -> InventoryResult<Read> {
    model(source)?.beside(source.path).resolve(source)
}

/// The inventory as written, to resolve alone or merged with others.
pub(in crate::inventory) fn model(source: Source) -> InventoryResult<Model> {
    let top: IndexMap<String, Value> =
        serde_json::from_str(source.text).map_err(|e| source.json_error(&e))?;
    let mut model = Model::default();
    for (name, value) in top.iter().filter(|(name, _)| *name != META) {
        let at = Place::Keys(name.clone());
        model.group(name, &at);
        match value {
            Value::Null => {}
            Value::Array(_) => add_hosts(source, &mut model, name, value, &at)?,
            Value::Object(group) => add_group(source, &mut model, name, group, &at)?,
            _ => {
                return Err(source.error(
                    &at,
                    "expected a group: an object of hosts, vars and children, or a list of hosts",
                ));
            }
        }
    }
    if let Some(meta) = top.get(META) {
        let at = Place::Keys(META.to_string());
        let hostvars = object(source, meta, &at)?.get("hostvars");
        let at = at.key("hostvars");
        for (host, vars) in hostvars
            .map(|v| object(source, v, &at))
            .transpose()?
            .into_iter()
            .flatten()
        {
            let host_at = at.key(host);
            for (key, value) in object(source, vars, &host_at)? {
                let var = Var {
                    value: value.clone(),
                    at: host_at.clone(),
                };
                model.host(host).insert(key.clone(), var);
            }
        }
    }
    Ok(model)
}

fn add_group(
    source: Source,
    model: &mut Model,
    name: &str,
    group: &Map<String, Value>,
    at: &Place,
) -> InventoryResult<()> {
    for (key, value) in group {
        let at = at.key(key);
        match key.as_str() {
            "hosts" => add_hosts(source, model, name, value, &at)?,
            "children" => {
                for child in names(source, value, &at)? {
                    model.add_child(name, child, &at);
                }
            }
            "vars" => {
                for (key, value) in object(source, value, &at)? {
                    let var = Var {
                        value: value.clone(),
                        at: at.clone(),
                    };
                    model.group(name, &at).vars.insert(key.clone(), var);
                }
            }
            other => {
                return Err(source.error(
                    &at,
                    format!("unknown key `{other}`: a group has hosts, vars and children"),
                ));
            }
        }
    }
    Ok(())
}

fn add_hosts(
    source: Source,
    model: &mut Model,
    group: &str,
    hosts: &Value,
    at: &Place,
) -> InventoryResult<()> {
    for host in names(source, hosts, at)? {
        model.add_host(group, host, at);
    }
    Ok(())
}

/// A list of names.
fn names<'v>(source: Source, value: &'v Value, at: &Place) -> InventoryResult<Vec<&'v str>> {
    let expected = || source.error(at, "expected a list of names");
    value
        .as_array()
        .ok_or_else(expected)?
        .iter()
        .map(|name| name.as_str().ok_or_else(expected))
        .collect()
}

fn object<'v>(
    source: Source,
    value: &'v Value,
    at: &Place,
) -> InventoryResult<&'v Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| source.error(at, "expected an object"))
}
