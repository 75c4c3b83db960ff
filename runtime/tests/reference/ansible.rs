//! Inventories read by shoal and by `ansible-inventory --list`.
//!
//! Compared per host: which hosts exist, the groups each is in (children's
//! hosts included, as `hosts @group` selects them), the address
//! (`ansible_host`, else the name), the port (`ansible_port`, else 22), the
//! user where the inventory sets `ansible_user`, and every variable that is
//! not one of Ansible's `ansible_*` connection variables, as the text shoal
//! selects on (strings as they are, numbers and booleans as JSON, lists and
//! maps compared as JSON). Groups without hosts, `all` and `ungrouped` are
//! left out: `ansible-inventory` drops empty groups, and shoal has no `@all`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};
use shoal_runtime::inventory::{Inventory, Overrides};

use crate::differences::{self, Disagreement};
use crate::tools;

/// The inventory directories, by name.
fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/inventories");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("the inventory corpus exists")
        .map(|e| e.expect("a readable corpus").path())
        .collect();
    cases.sort();
    cases
}

/// The case's inventory: its one entry named `inventory` or `inventory.*`.
fn source(case: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(case)
        .expect("a readable case")
        .map(|e| e.expect("a readable case").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "inventory" || n.starts_with("inventory."))
        })
        .collect();
    assert_eq!(found.len(), 1, "{} needs one inventory", case.display());
    found.remove(0)
}

/// `ansible-inventory --list` of `source`, or its error. A `.json` source is
/// `--list` JSON, which Ansible reads from an inventory script (as shoal's
/// `--inventory-cmd`), so it is served by one.
fn reference(source: &Path, scratch: &Path) -> Result<Value, String> {
    let given = if source.extension().is_some_and(|e| e == "json") {
        let script = scratch.join("inventory.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nexec cat '{}'\n", source.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        script
    } else {
        source.to_path_buf()
    };
    let output = tools::run(
        Command::new(tools::tool("ansible-inventory"))
            .arg("-i")
            .arg(&given)
            .arg("--list")
            .current_dir(scratch)
            // No ansible.cfg or ~/.ansible of this machine's: only the case.
            .env("HOME", scratch)
            .env("ANSIBLE_HOME", scratch.join(".ansible"))
            .env("ANSIBLE_LOCAL_TEMP", scratch.join(".ansible/tmp"))
            .env_remove("ANSIBLE_CONFIG")
            .env_remove("ANSIBLE_INVENTORY")
            // An inventory Ansible cannot parse is an error, not a warning
            // and an empty inventory.
            .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
            .env("PYTHONWARNINGS", "ignore"),
    );
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("unreadable --list JSON: {e}"))
}

/// shoal's reading of `source`: what it connects to, in the shape of
/// `ansible-inventory --list` (groups as `hosts @group` selects them, each
/// host's address, port and user), with the variables of `shoal inventory
/// --list`.
fn shoal(source: &Path) -> Result<Value, String> {
    let inventory = Inventory::load(source, &Overrides::default()).map_err(|e| e.to_string())?;
    let mut list = inventory.list();
    let mut top = Map::new();
    for (name, members) in &inventory.groups {
        top.insert(name.clone(), serde_json::json!({ "hosts": members }));
    }
    let grouped: BTreeSet<&String> = inventory.groups.values().flatten().collect();
    let ungrouped: Vec<&String> = inventory
        .hosts
        .iter()
        .map(|h| &h.name)
        .filter(|name| !grouped.contains(name))
        .collect();
    top.insert(
        "ungrouped".into(),
        serde_json::json!({ "hosts": ungrouped }),
    );
    let mut hostvars = Map::new();
    for host in &inventory.hosts {
        let listed = list
            .pointer_mut(&format!(
                "/_meta/hostvars/{}",
                host.name.replace('~', "~0").replace('/', "~1")
            ))
            .map(Value::take);
        let mut vars: Map<String, Value> = listed
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| !key.starts_with("ansible_"))
            .collect();
        vars.insert("ansible_host".into(), host.addr.clone().into());
        vars.insert("ansible_port".into(), host.port.into());
        vars.insert("ansible_user".into(), host.user.clone().into());
        hostvars.insert(host.name.clone(), Value::Object(vars));
    }
    top.insert("_meta".into(), serde_json::json!({ "hostvars": hostvars }));
    Ok(Value::Object(top))
}

/// What is compared of one `--list` JSON.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    hosts: BTreeSet<String>,
    /// Group to every host in it or its children; only groups with hosts.
    groups: BTreeMap<String, BTreeSet<String>>,
    addresses: BTreeMap<String, String>,
    ports: BTreeMap<String, String>,
    users: BTreeMap<String, String>,
    vars: BTreeMap<String, BTreeMap<String, Value>>,
}

/// A variable as shoal's tags hold it: text, with lists and maps kept as
/// JSON so that their key order does not count.
fn normal(value: &Value) -> Value {
    match value {
        Value::String(text) if text.starts_with(['[', '{']) => {
            serde_json::from_str(text).unwrap_or_else(|_| value.clone())
        }
        Value::String(_) | Value::Array(_) | Value::Object(_) => value.clone(),
        Value::Null => Value::String(String::new()),
        other => Value::String(other.to_string()),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn seen(list: &Value) -> Seen {
    let empty = Map::new();
    let top = list.as_object().unwrap_or(&empty);
    let names = |group: &Value, key: &str| -> Vec<String> {
        group
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    fn members(
        top: &Map<String, Value>,
        group: &str,
        names: &dyn Fn(&Value, &str) -> Vec<String>,
        into: &mut BTreeSet<String>,
        visited: &mut BTreeSet<String>,
    ) {
        if !visited.insert(group.to_string()) {
            return;
        }
        let Some(value) = top.get(group) else { return };
        into.extend(names(value, "hosts"));
        for child in names(value, "children") {
            members(top, &child, names, into, visited);
        }
    }
    let mut seen = Seen::default();
    for (name, group) in top.iter().filter(|(name, _)| *name != "_meta") {
        seen.hosts.extend(names(group, "hosts"));
        if name == "all" || name == "ungrouped" {
            continue;
        }
        let mut hosts = BTreeSet::new();
        members(top, name, &names, &mut hosts, &mut BTreeSet::new());
        if !hosts.is_empty() {
            seen.groups.insert(name.clone(), hosts);
        }
    }
    let hostvars = list.pointer("/_meta/hostvars").and_then(Value::as_object);
    for host in &seen.hosts {
        let vars = hostvars
            .and_then(|h| h.get(host))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        // Ansible's ssh connection takes the older `ansible_ssh_*` names too.
        let get = |key: &str| {
            vars.get(key)
                .or_else(|| vars.get(&key.replace("ansible_", "ansible_ssh_")))
                .map(text)
        };
        seen.addresses
            .insert(host.clone(), get("ansible_host").unwrap_or(host.clone()));
        seen.ports
            .insert(host.clone(), get("ansible_port").unwrap_or("22".into()));
        if let Some(user) = get("ansible_user") {
            seen.users.insert(host.clone(), user);
        }
        let tags = vars
            .iter()
            .filter(|(key, _)| !key.starts_with("ansible_"))
            .map(|(key, value)| (key.clone(), normal(value)))
            .collect();
        seen.vars.insert(host.clone(), tags);
    }
    seen
}

/// Each aspect in which `shoal` differs from `reference`.
fn compare(case: &str, reference: &Seen, shoal: &Seen) -> Vec<Disagreement> {
    let mut found = Vec::new();
    let mut aspect = |aspect: &'static str, ours: String, theirs: String| {
        if ours != theirs {
            found.push(Disagreement {
                case: case.to_string(),
                aspect,
                diff: format!("  ansible-inventory: {theirs}\n  shoal:             {ours}"),
            });
        }
    };
    aspect(
        "hosts",
        format!("{:?}", shoal.hosts),
        format!("{:?}", reference.hosts),
    );
    aspect(
        "groups",
        format!("{:?}", shoal.groups),
        format!("{:?}", reference.groups),
    );
    aspect(
        "addresses",
        format!("{:?}", shoal.addresses),
        format!("{:?}", reference.addresses),
    );
    aspect(
        "ports",
        format!("{:?}", shoal.ports),
        format!("{:?}", reference.ports),
    );
    let users: BTreeMap<&String, Option<&String>> = reference
        .users
        .keys()
        .map(|host| (host, shoal.users.get(host)))
        .collect();
    let wanted: BTreeMap<&String, Option<&String>> =
        reference.users.iter().map(|(h, u)| (h, Some(u))).collect();
    aspect("users", format!("{users:?}"), format!("{wanted:?}"));
    for host in reference.hosts.union(&shoal.hosts) {
        let (theirs, ours) = (reference.vars.get(host), shoal.vars.get(host));
        if theirs != ours {
            aspect(
                "vars",
                format!("{host}: {}", serde_json::to_string(&ours).unwrap()),
                format!("{host}: {}", serde_json::to_string(&theirs).unwrap()),
            );
        }
    }
    found
}

/// How shoal and `ansible-inventory` disagree about the inventory `case`.
fn differ(case: &Path) -> Vec<Disagreement> {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let scratch = tempfile::tempdir().unwrap();
    let source = source(case);
    match (reference(&source, scratch.path()), shoal(&source)) {
        (Ok(theirs), Ok(ours)) => compare(&name, &seen(&theirs), &seen(&ours)),
        (Err(_), Err(_)) => Vec::new(),
        (theirs, ours) => vec![Disagreement {
            case: name,
            aspect: "outcome",
            diff: format!(
                "  ansible-inventory: {}\n  shoal:             {}",
                theirs.map_or_else(|e| format!("error: {e}"), |_| "read it".into()),
                ours.map_or_else(|e| format!("error: {e}"), |_| "read it".into()),
            ),
        }],
    }
}

#[test]
fn inventories_read_as_ansible_inventory_reads_them() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the corpus has {} inventories",
        cases.len()
    );
    // Two at a time: each ansible-inventory run is a Python start-up.
    let (first, second) = cases.split_at(cases.len() / 2);
    let found: Vec<Disagreement> = std::thread::scope(|scope| {
        let second = scope.spawn(|| second.iter().flat_map(|c| differ(c)).collect::<Vec<_>>());
        let mut found: Vec<Disagreement> = first.iter().flat_map(|c| differ(c)).collect();
        found.extend(second.join().expect("the comparisons run"));
        found
    });
    differences::check("ansible-inventory", cases.len(), &found);
}
