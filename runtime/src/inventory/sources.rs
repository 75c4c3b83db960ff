//! Several Ansible inventory sources read as one inventory, as Ansible reads
//! them: the entries of `inventory = a, b` in ansible.cfg or of
//! `$ANSIBLE_INVENTORY`, and inventory directories.
//!
//! A directory is read the way Ansible reads one: every entry in name order,
//! subdirectories recursively, skipping the names Ansible skips: hidden ones
//! (`.git`), `group_vars`, `host_vars` and `vars_plugins`, and names ending
//! in one of Ansible's `INVENTORY_IGNORE_EXTS` (`~`, `.orig`, `.bak`, `.swp`,
//! `.cfg`, `.retry`, `.md`, `.txt`, `.rst`, `.rpm`, `.pyc`, `.pyo`). Each file
//! is read in the format detected for it, which must be one of Ansible's
//! (INI, YAML, `--list` JSON) or a plain list of hosts (Ansible's INI reads
//! one as ungrouped hosts); the files are then merged as Ansible merges
//! sources (see `ansible::Model::merge`) and resolved together. An INI file
//! may name as children the groups of the files read before it, as in
//! Ansible, whose INI parser checks each name against the groups it has.
//!
//! Where Ansible would skip a file it cannot parse with a warning, shoal
//! stops with the error: running on part of an inventory would run on the
//! wrong hosts. An executable inventory script (`#!`) is refused too; shoal
//! runs a command only when told to (`--inventory-cmd`).
//!
//! `group_vars/` and `host_vars/` apply as Ansible applies them: those in a
//! directory source, and those beside a file source, in source order
//! (`ansible/vars_files.rs`).

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::InventoryResult;
use super::ansible::{self, Model};
use super::detect::{self, Format};
use super::error::{File, InventoryError, Source};
use super::hosts::Read;
use super::plain;

/// Names ending in these are skipped in an inventory directory: Ansible's
/// default `INVENTORY_IGNORE_EXTS` (its `REJECT_EXTS` plus `.orig`, `.cfg`
/// and `.retry`).
const IGNORED_ENDINGS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];
/// Entries Ansible never reads as inventory sources in a directory.
const IGNORED_NAMES: [&str; 3] = ["group_vars", "host_vars", "vars_plugins"];

/// Whether Ansible skips the entry `name` of an inventory directory.
pub(super) fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || IGNORED_NAMES.contains(&name)
        || IGNORED_ENDINGS.iter().any(|end| name.ends_with(end))
}

/// Whether `dir` is ClusterShell's `groups.d` rather than an Ansible
/// inventory directory: it holds `*.yaml` files and each reads as
/// ClusterShell groups.
pub(super) fn is_groups_d(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut any = false;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_file() || path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            return false;
        };
        if detect::detect(&path, &text).format != Format::ClusterShell {
            return false;
        }
        any = true;
    }
    any
}

/// Reads every source in `paths` (files and directories) and merges them.
pub(super) fn read(paths: &[PathBuf], shown: &Path) -> InventoryResult<Read> {
    let mut merged = Model::default();
    let mut any = false;
    let mut seen = HashSet::new();
    for path in paths {
        let mut files = Vec::new();
        collect(path, &mut files, &mut seen)?;
        for file in &files {
            let text = std::fs::read_to_string(file).map_err(|source| InventoryError::Read {
                path: file.clone(),
                source,
            })?;
            let file = Arc::new(File {
                path: file.clone(),
                text,
            });
            let model = model(&file, &merged)?.within(&file);
            merged
                .merge(model)
                .map_err(|reason| InventoryError::unusable(&file.path, reason))?;
        }
        any |= !files.is_empty();
        // Ansible's `basedir` of a source: a directory itself, a file's own.
        let base = if path.is_dir() {
            Some(path.as_path())
        } else {
            path.parent()
        };
        if let Some(base) = base {
            merged = merged.with_vars_in(base.to_path_buf());
        }
    }
    if !any {
        return Err(InventoryError::unusable(
            shown,
            "no inventory files here: an Ansible inventory directory holds INI, YAML or JSON \
             inventories (names starting with `.` or ending in .md, .txt, .bak, ~ and the like \
             are skipped, as Ansible skips them); ClusterShell's groups.d holds *.yaml files \
             of groups",
        ));
    }
    let source = Source {
        path: shown,
        text: "",
    };
    merged.resolve(source)
}

/// The files of `path`, in the order Ansible reads them. `seen` holds the
/// directories read so far, so that a symlink back up the tree (or a
/// directory named twice) is read once rather than for ever.
fn collect(
    path: &Path,
    files: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> InventoryResult<()> {
    if !path.is_dir() {
        if !path.exists() {
            return Err(InventoryError::Missing {
                path: path.to_path_buf(),
                named_by: String::new(),
                hint: "check the inventory setting that names it".into(),
            });
        }
        files.push(path.to_path_buf());
        return Ok(());
    }
    let unreadable = |source| InventoryError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !seen.insert(path.canonicalize().map_err(unreadable)?) {
        return Ok(());
    }
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(path).map_err(unreadable)? {
        names.push(
            entry
                .map_err(unreadable)?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    names.sort();
    for name in names.iter().filter(|name| !ignored(name)) {
        collect(&path.join(name), files, seen)?;
    }
    Ok(())
}

/// One file of several, as an Ansible inventory model; `before` holds the
/// files read before it.
fn model(file: &File, before: &Model) -> InventoryResult<Model> {
    let source = file.source();
    let executable = std::fs::metadata(&file.path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    if executable && file.text.starts_with("#!") {
        return Err(source.unusable(format!(
            "an inventory script, which Ansible would run; shoal runs a command only when \
             told to: pass --inventory-cmd '{} --list' (its output is then the whole \
             inventory)",
            file.path.display()
        )));
    }
    let detected = detect::detect(&file.path, &file.text);
    let model = match detected.format {
        Format::AnsibleIni => ansible::model_ini(source, before),
        Format::AnsibleYaml => ansible::model_yaml(source),
        Format::AnsibleJson => ansible::model_json(source),
        Format::Plain => plain::read(source).map(Model::of_hosts),
        other => Err(source.unusable(format!(
            "{other} cannot be merged with Ansible inventories; move it out of the \
             inventory directory, or give it a name Ansible skips (ending in .txt, say)"
        ))),
    };
    model.map_err(|error| InventoryError::Detected {
        error: Box::new(error),
        read_as: detected.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansible_skips_hidden_names_vars_directories_and_its_ignored_extensions() {
        for name in [
            ".git",
            "group_vars",
            "host_vars",
            "hosts~",
            "hosts.bak",
            "hosts.orig",
            "notes.md",
            "list.txt",
            "ansible.cfg",
            "site.retry",
        ] {
            assert!(ignored(name), "{name}");
        }
        for name in ["hosts", "prod.ini", "web.yml", "cloud.json", "hosts.yaml"] {
            assert!(!ignored(name), "{name}");
        }
    }

    #[test]
    fn a_symlink_back_up_the_tree_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("inventory");
        std::fs::create_dir_all(inventory.join("sub")).unwrap();
        std::fs::write(inventory.join("hosts"), "web1\n").unwrap();
        std::os::unix::fs::symlink(&inventory, inventory.join("sub/loop")).unwrap();
        let read = read(std::slice::from_ref(&inventory), &inventory).unwrap();
        let names: Vec<&str> = read.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["web1"]);
    }
}
