//! `group_vars/` and `host_vars/` beside an inventory source, found and read
//! as Ansible's `host_group_vars` vars plugin and its loader do
//! (`vars/host_group_vars.py`, `DataLoader.find_vars_files`):
//!
//! - beside a file source, in its directory; in a directory source, in the
//!   directory itself;
//! - for a group or host `NAME`, the first of `NAME`, `NAME.yml`,
//!   `NAME.yaml`, `NAME.json` that exists; a directory of that name is read
//!   whole, its files (no extension or one of those three) and
//!   subdirectories in name order, skipping hidden names and names ending
//!   in `~`; later files replace earlier files' variables;
//! - only for groups and hosts the inventory has (`group_vars/all` is the
//!   `all` group's), each file a YAML (or JSON) mapping; an empty file sets
//!   nothing.
//!
//! A file that cannot be read, is not YAML, is encrypted with ansible-vault
//! or is not a mapping is an error naming it (and the line, for YAML),
//! where Ansible stops too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::{Var, Vars};
use crate::inventory::InventoryResult;
use crate::inventory::error::{File, InventoryError, Place};

/// The extensions Ansible reads variables from (its `YAML_FILENAME_EXTENSIONS`).
const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The variables of the files of one base directory, by group and by host.
#[derive(Debug, Default)]
pub(super) struct VarsFiles {
    pub groups: HashMap<String, Vars>,
    pub hosts: HashMap<String, Vars>,
}

impl VarsFiles {
    /// Reads `base`'s `group_vars/` for each of `groups` and `host_vars/`
    /// for each of `hosts`.
    pub fn read<'n>(
        base: &Path,
        groups: impl Iterator<Item = &'n str>,
        hosts: impl Iterator<Item = &'n str>,
    ) -> InventoryResult<VarsFiles> {
        let mut files = VarsFiles::default();
        let mut cache: HashMap<PathBuf, Arc<Vars>> = HashMap::new();
        for (dir, names, into) in [
            ("group_vars", groups.collect::<Vec<_>>(), &mut files.groups),
            ("host_vars", hosts.collect::<Vec<_>>(), &mut files.hosts),
        ] {
            let dir = base.join(dir);
            if !dir.is_dir() {
                continue;
            }
            for name in names {
                let mut vars = Vars::new();
                for file in found(&dir, name)? {
                    let read = match cache.get(&file) {
                        Some(read) => read.clone(),
                        None => {
                            let read = Arc::new(read_file(&file)?);
                            cache.insert(file, read.clone());
                            read
                        }
                    };
                    vars.extend(read.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                if !vars.is_empty() {
                    into.insert(name.to_string(), vars);
                }
            }
        }
        Ok(files)
    }
}

/// `find_vars_files`: the files of `name` in `dir`, in the order read.
fn found(dir: &Path, name: &str) -> InventoryResult<Vec<PathBuf>> {
    // A name with a path separator would reach outside the directory, and
    // Ansible skips names starting with one.
    if name.contains('/') {
        return Ok(Vec::new());
    }
    let candidates = std::iter::once(dir.join(name)).chain(
        EXTENSIONS
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}"))),
    );
    for path in candidates {
        if path.is_dir() {
            let mut files = Vec::new();
            walk(&path, &mut files)?;
            return Ok(files);
        }
        if path.exists() {
            return Ok(vec![path]);
        }
    }
    Ok(Vec::new())
}

/// `_get_dir_vars_files`: the files under `dir`, in name order.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> InventoryResult<()> {
    let unreadable = |source| InventoryError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        names.push(entry.map_err(unreadable)?.file_name());
    }
    names.sort();
    for name in names {
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let path = dir.join(&name);
        let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
        if path.is_dir() && extension.is_none() {
            walk(&path, files)?;
        } else if path.is_file() && extension.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            files.push(path);
        }
    }
    Ok(())
}

/// The variables of one file; each remembers the file for errors about it.
fn read_file(path: &Path) -> InventoryResult<Vars> {
    let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = Arc::new(File {
        path: path.to_path_buf(),
        text,
    });
    let source = file.source();
    if file.text.trim_start().starts_with("$ANSIBLE_VAULT") {
        return Err(source.unusable(
            "encrypted with ansible-vault, which shoal cannot decrypt; set the variables \
             shoal needs (ansible_host, ansible_user, tags) in a file that is not encrypted",
        ));
    }
    let parsed: Option<Value> =
        serde_norway::from_str(&file.text).map_err(|e| source.yaml_error(&e))?;
    let map = match parsed {
        None | Some(Value::Null) => return Ok(Vars::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            let kind = match other {
                Value::Array(_) => "a list",
                _ => "a single value",
            };
            return Err(source.unusable(format!(
                "a vars file must be a mapping of variable names to values, not {kind}"
            )));
        }
    };
    let vars: IndexMap<String, Var> = map
        .into_iter()
        .map(|(key, value)| {
            // Errors about a variable start with its name.
            let at = Place::Keys(String::new()).within(&file);
            (key, Var { value, at })
        })
        .collect();
    Ok(vars)
}
