//! ClusterShell group files: a `groups.d` directory of `*.yaml` files, or
//! one such file, each mapping namespaces to groups to nodesets.
//!
//! ```yaml
//! local:
//!   web: "web[01-04]"
//!   db: [db1, db2]          # a list is the union of its items
//!   all: "@web,@db"         # another group, `@group` or `@namespace:group`
//! rack:
//!   r1: "web[01-02],db1"
//! ```
//!
//! Groups of the `local` namespace (ClusterShell's usual default), or of the
//! first namespace when there is none, keep their names: `hosts @web`. The
//! others are `NAMESPACE.GROUP` (`hosts @rack.r1`), since `@` in a query
//! cannot spell ClusterShell's `:`. Hosts are the members of every group, in
//! the order first seen, each reached at its name. Within a nodeset `,` `!`
//! `&` `^` are union, difference, intersection and symmetric difference,
//! applied left to right as ClusterShell applies them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use shoal_lang::NodeSet;

use super::InventoryResult;
use super::error::{InventoryError, Source};
use super::hosts::{self, HostOrder, MAX_INVENTORY_HOSTS, NODESET_OPERATORS, Read, Written};

/// The namespace whose groups keep their own names, when a file has it.
const DEFAULT_NAMESPACE: &str = "local";

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawNodes {
    One(String),
    Many(Vec<String>),
}

/// One group as written: its nodeset and where.
#[derive(Debug)]
struct Definition {
    nodeset: String,
    file: PathBuf,
    /// `namespace.group`, for errors.
    keys: String,
}

impl Definition {
    fn error(&self, reason: impl AsRef<str>) -> InventoryError {
        InventoryError::unusable(&self.file, format!("{}: {}", self.keys, reason.as_ref()))
    }
}

/// Namespace to group to definition, from every file read.
#[derive(Debug, Default)]
struct Groups {
    namespaces: IndexMap<String, IndexMap<String, Definition>>,
}

/// The groups of one file.
pub(super) fn read_file(source: Source) -> InventoryResult<Read> {
    let mut groups = Groups::default();
    groups.add(source)?;
    groups.resolve()
}

/// The groups of every `*.yaml` file in `dir`, in file name order.
pub(super) fn read_dir(dir: &Path) -> InventoryResult<Read> {
    let unreadable = |source| InventoryError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "yaml") {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(InventoryError::unusable(
            dir,
            "no *.yaml files here: a directory is read as ClusterShell's groups.d \
             (for another format, pass the file itself)",
        ));
    }
    files.sort();
    let mut groups = Groups::default();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|source| InventoryError::Read {
            path: file.clone(),
            source,
        })?;
        groups.add(Source {
            path: file,
            text: &text,
        })?;
    }
    groups.resolve()
}

impl Groups {
    fn add(&mut self, source: Source) -> InventoryResult<()> {
        let raw: Option<IndexMap<String, Option<IndexMap<String, RawNodes>>>> =
            serde_norway::from_str(source.text).map_err(|e| source.yaml_error(&e))?;
        for (namespace, groups) in raw.iter().flatten() {
            let known = self.namespaces.entry(namespace.clone()).or_default();
            for (group, nodes) in groups.iter().flatten() {
                let keys = format!("{namespace}.{group}");
                if let Some(first) = known.get(group) {
                    return Err(source.unusable(format!(
                        "{keys}: already defined in {}",
                        first.file.display()
                    )));
                }
                let nodeset = match nodes {
                    RawNodes::One(nodeset) => nodeset.clone(),
                    RawNodes::Many(items) => items.join(","),
                };
                let definition = Definition {
                    nodeset,
                    file: source.path.to_path_buf(),
                    keys,
                };
                known.insert(group.clone(), definition);
            }
        }
        Ok(())
    }

    fn resolve(&self) -> InventoryResult<Read> {
        let default = match self.namespaces.get_index_of(DEFAULT_NAMESPACE) {
            Some(_) => DEFAULT_NAMESPACE,
            None => self.namespaces.keys().next().map_or("", String::as_str),
        };
        let mut sets = HashMap::new();
        let mut written: Vec<Written> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut named: Vec<(String, &Definition, NodeSet)> = Vec::new();
        for (namespace, groups) in &self.namespaces {
            for (group, definition) in groups {
                let set = self.evaluate(namespace, group, &mut sets, &mut Vec::new())?;
                for host in set.iter() {
                    if seen.insert(host.clone()) {
                        written.push(Written::named(host));
                    }
                }
                // After each group: one group's set is bounded already.
                hosts::check_total(seen.len()).map_err(|reason| definition.error(reason))?;
                let name = if namespace == default {
                    group.clone()
                } else {
                    format!("{namespace}.{group}")
                };
                named.push((name, definition, set));
            }
        }

        let mut groups: IndexMap<String, Vec<String>> = IndexMap::new();
        let order = HostOrder::new(&written);
        for (name, definition, set) in named {
            hosts::check_group_name(&name).map_err(|reason| definition.error(reason))?;
            if groups.contains_key(&name) {
                return Err(definition.error(format!(
                    "its name in queries, `@{name}`, is taken by a group of the {default} \
                     namespace"
                )));
            }
            let members: Vec<String> = set.iter().collect();
            let members: HashSet<&str> = members.iter().map(String::as_str).collect();
            groups.insert(name, order.of(&members));
        }
        Ok(Read {
            hosts: written,
            groups,
            ..Read::default()
        })
    }

    /// The hosts of `namespace.group`; `stack` holds the groups whose
    /// nodesets are being evaluated, to catch a group that refers to itself.
    fn evaluate<'g>(
        &'g self,
        namespace: &'g str,
        group: &'g str,
        sets: &mut HashMap<(&'g str, &'g str), NodeSet>,
        stack: &mut Vec<(&'g str, &'g str)>,
    ) -> InventoryResult<NodeSet> {
        if let Some(set) = sets.get(&(namespace, group)) {
            return Ok(set.clone());
        }
        let definition = &self.namespaces[namespace][group];
        if let Some(start) = stack.iter().position(|g| *g == (namespace, group)) {
            let cycle: Vec<String> = stack[start..]
                .iter()
                .chain([&(namespace, group)])
                .map(|(n, g)| format!("@{n}:{g}"))
                .collect();
            return Err(
                definition.error(format!("the group refers to itself: {}", cycle.join(" → ")))
            );
        }
        stack.push((namespace, group));
        let mut result: Option<NodeSet> = None;
        for (operator, term) in
            hosts::split_outside_brackets(&definition.nodeset, &NODESET_OPERATORS)
        {
            let term = term.trim();
            let set = match term.strip_prefix('@') {
                Some(reference) => {
                    let (to_namespace, to_group) =
                        reference.split_once(':').unwrap_or((namespace, reference));
                    let Some((to_namespace, to_group)) = self
                        .namespaces
                        .get_key_value(to_namespace)
                        .and_then(|(n, groups)| {
                            groups.get_key_value(to_group).map(|(g, _)| (n, g))
                        })
                    else {
                        return Err(definition
                            .error(format!("`@{reference}` is not a group of these files")));
                    };
                    self.evaluate(to_namespace, to_group, sets, stack)?
                }
                None => hosts::parse_nodeset(term).map_err(|reason| definition.error(reason))?,
            };
            result = Some(match (result, operator) {
                (None, _) => set,
                (Some(before), Some('!')) => before.difference(&set),
                (Some(before), Some('&')) => before.intersection(&set),
                (Some(before), Some('^')) => before.symmetric_difference(&set),
                (Some(before), _) => before.union(&set),
            });
        }
        stack.pop();
        let set = result.unwrap_or_default();
        if set.len() as u64 > MAX_INVENTORY_HOSTS {
            return Err(definition.error(format!(
                "the group names more than {MAX_INVENTORY_HOSTS} hosts"
            )));
        }
        sets.insert((namespace, group), set.clone());
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> InventoryResult<Read> {
        read_file(Source {
            path: Path::new("groups.yaml"),
            text,
        })
    }

    #[test]
    fn the_local_namespace_keeps_its_names_and_others_are_prefixed() {
        let read = read(
            "rack:\n  r1: \"web[01-02],db1\"\n\
             local:\n  web: \"web[01-04]\"\n  db: [db1, db2]\n  all: \"@web,@db!web04\"\n",
        )
        .unwrap();
        let names: Vec<&str> = read.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["db1", "web01", "web02", "web03", "web04", "db2"],
            "first seen: groups in file order, each in its nodeset's order"
        );
        assert!(
            read.hosts
                .iter()
                .all(|h| h.addr.is_none() && h.tags.is_empty())
        );
        let groups: Vec<&str> = read.groups.keys().map(String::as_str).collect();
        assert_eq!(groups, ["rack.r1", "web", "db", "all"]);
        assert_eq!(
            read.groups["all"],
            ["db1", "web01", "web02", "web03", "db2"]
        );
        assert_eq!(read.groups["rack.r1"], ["db1", "web01", "web02"]);
    }

    #[test]
    fn without_local_the_first_namespace_is_the_default() {
        let read =
            read("roles:\n  adm: \"mgmt[1-2]\"\nracks:\n  a: \"@roles:adm&mgmt1\"\n").unwrap();
        assert_eq!(read.groups["adm"], ["mgmt1", "mgmt2"]);
        assert_eq!(read.groups["racks.a"], ["mgmt1"]);
    }

    #[test]
    fn bad_groups_name_the_file_and_the_group() {
        let error = |text: &str| read(text).unwrap_err().to_string();
        assert_eq!(
            error("local:\n  a: \"@b\"\n  b: \"x,@a\"\n"),
            "inventory groups.yaml: local.a: the group refers to itself: \
             @local:a → @local:b → @local:a"
        );
        assert_eq!(
            error("local:\n  a: \"@nope\"\n"),
            "inventory groups.yaml: local.a: `@nope` is not a group of these files"
        );
        assert!(
            error("local:\n  a: \"web[1-\"\n")
                .starts_with("inventory groups.yaml: local.a: \"web[1-\" is not a valid nodeset"),
        );
        assert!(
            error("local:\n  \"my group\": web1\n")
                .contains("local.my group: group \"my group\" cannot be named in a query"),
        );
        let syntax = error("local:\n  a: [web1\n");
        assert!(
            syntax.starts_with("inventory groups.yaml:3:1: "),
            "{syntax}"
        );
    }

    #[test]
    fn a_directory_reads_every_yaml_file_and_refuses_a_group_twice() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "local:\n  web: web[1-2]\n").unwrap();
        std::fs::write(dir.path().join("b.yaml"), "local:\n  db: db1\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not read").unwrap();
        let read = read_dir(dir.path()).unwrap();
        assert_eq!(read.groups.keys().collect::<Vec<_>>(), ["web", "db"]);

        std::fs::write(dir.path().join("c.yaml"), "local:\n  web: web3\n").unwrap();
        let error = read_dir(dir.path()).unwrap_err().to_string();
        let path = |name: &str| dir.path().join(name).display().to_string();
        assert_eq!(
            error,
            format!(
                "inventory {}: local.web: already defined in {}",
                path("c.yaml"),
                path("a.yaml")
            )
        );

        let empty = tempfile::tempdir().unwrap();
        let error = read_dir(empty.path()).unwrap_err().to_string();
        assert!(error.contains("no *.yaml files here"), "{error}");
    }
}
