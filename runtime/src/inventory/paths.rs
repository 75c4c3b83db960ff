//! Where the inventory is (shoal's own places first, then Ansible's), and how
//! paths and defaults that depend on the local machine ($HOME, the user
//! name) are worked out.

use std::path::{Path, PathBuf};

use super::InventoryError;
use super::ansible_cfg::{self, AnsibleConfig};

/// The parts of the local environment the inventory depends on. Passed in
/// rather than read where needed so that tests do not depend on (or have to
/// mutate) the process environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    pub home: Option<PathBuf>,
    pub user: Option<String>,
    pub cwd: Option<PathBuf>,
    /// `$SHOAL_INVENTORY`, when set and not empty.
    pub inventory_var: Option<PathBuf>,
    /// `$ANSIBLE_INVENTORY`, when set and not empty: a comma-separated list.
    pub ansible_inventory: Option<String>,
    /// Ansible's system-wide inventory; a field so tests can move it.
    pub ansible_hosts: PathBuf,
    /// `$ANSIBLE_CONFIG`, when set and not empty: the ansible.cfg to use,
    /// or a directory holding it.
    pub ansible_config_var: Option<PathBuf>,
    /// Ansible's system-wide ansible.cfg; a field so tests can move it.
    pub ansible_system_config: PathBuf,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let account = || {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
        };
        Env {
            home: var("HOME")
                .map(PathBuf::from)
                .or_else(|| account().map(|u| u.dir)),
            user: var("USER")
                .and_then(|u| u.into_string().ok())
                .or_else(|| account().map(|u| u.name)),
            cwd: std::env::current_dir().ok(),
            inventory_var: var("SHOAL_INVENTORY").map(PathBuf::from),
            ansible_inventory: var("ANSIBLE_INVENTORY").and_then(|v| v.into_string().ok()),
            ansible_hosts: PathBuf::from("/etc/ansible/hosts"),
            ansible_config_var: var("ANSIBLE_CONFIG").map(PathBuf::from),
            ansible_system_config: PathBuf::from("/etc/ansible/ansible.cfg"),
        }
    }
}

/// `--inventory PATH`, then `$SHOAL_INVENTORY`, then `./shoal.toml`, then
/// `~/.config/shoal/inventory.toml`, then Ansible's: the first entry of
/// `$ANSIBLE_INVENTORY`, `inventory =` in `./ansible.cfg`'s `[defaults]`,
/// then `/etc/ansible/hosts`, so shoal works in an Ansible checkout as it is.
///
/// A path the user named for shoal (the flag or `$SHOAL_INVENTORY`) is used
/// or reported missing, never silently skipped: falling through to another
/// fleet's inventory because of a typo would run commands on the wrong
/// hosts. It may be a directory (ClusterShell's `groups.d`); the places
/// searched must be files, since Ansible's inventory directories (a mix of
/// sources and `group_vars/`) are not read.
pub(super) fn locate(explicit: Option<&Path>, env: &Env) -> Result<PathBuf, InventoryError> {
    let named = explicit.map(|p| (p.to_path_buf(), "")).or_else(|| {
        env.inventory_var
            .as_ref()
            .map(|p| (p.clone(), " (from $SHOAL_INVENTORY)"))
    });
    if let Some((path, named_by)) = named {
        return if path.exists() {
            Ok(path)
        } else {
            Err(InventoryError::Missing {
                hint: missing_hint(&path, explicit.is_some()),
                named_by: named_by.to_string(),
                path,
            })
        };
    }
    // Each place looked at, as the user would recognise it, with the file it
    // names (none when it names nothing, as an ansible.cfg without one).
    let mut candidates: Vec<(Option<PathBuf>, String)> = Vec::new();
    if let Some(cwd) = &env.cwd {
        candidates.push((Some(cwd.join("shoal.toml")), "./shoal.toml".to_string()));
    }
    if let Some(home) = &env.home {
        candidates.push((
            Some(home.join(".config/shoal/inventory.toml")),
            "~/.config/shoal/inventory.toml".to_string(),
        ));
    }
    let base = env.cwd.clone().unwrap_or_default();
    if let Some(list) = &env.ansible_inventory {
        let first = list.split(',').next().unwrap_or_default().trim();
        candidates.push((
            expand(first, &base, env).ok(),
            format!("$ANSIBLE_INVENTORY={first}"),
        ));
    }
    if let (Some(config), _) = ansible_cfg::find(env) {
        let shown = ansible_cfg::shown(&config, env);
        let text = std::fs::read_to_string(&config).unwrap_or_default();
        let config = AnsibleConfig::parse(config, &text);
        candidates.push(match config.inventory(env).into_iter().next() {
            Some((inventory, path)) => {
                (Some(path), format!("`inventory = {inventory}` in {shown}"))
            }
            None => (None, shown),
        });
    } else {
        candidates.push((None, "ansible.cfg".to_string()));
    }
    candidates.push((
        Some(env.ansible_hosts.clone()),
        env.ansible_hosts.display().to_string(),
    ));
    if let Some(path) = candidates
        .iter()
        .find_map(|(path, _)| path.as_ref().filter(|p| p.is_file()))
    {
        return Ok(path.clone());
    }
    Err(InventoryError::NotFound {
        tried: candidates
            .into_iter()
            .map(|(_, described)| described)
            .collect(),
    })
}

/// What to do about `path`, which the user named and which does not exist:
/// the file next to it that was probably meant, else the directory that is
/// missing too, and the places shoal looks without it.
fn missing_hint(path: &Path, flag: bool) -> String {
    let instead = if flag {
        "or leave out --inventory"
    } else {
        "or unset $SHOAL_INVENTORY"
    };
    let places = format!(
        "{instead} to use ./shoal.toml, ~/.config/shoal/inventory.toml or Ansible's \
         inventory (ansible.cfg, $ANSIBLE_INVENTORY, /etc/ansible/hosts)"
    );
    let parent = match path.parent() {
        Some(parent) if parent.as_os_str().is_empty() => Path::new("."),
        Some(parent) => parent,
        None => return format!("check the path, {places}"),
    };
    if !parent.is_dir() {
        return format!(
            "the directory `{}` does not exist either; check the path, {places}",
            parent.display()
        );
    }
    let wanted = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let stem = wanted.split('.').next().unwrap_or_default().to_string();
    let mut similar: Vec<String> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            let name = name.to_lowercase();
            !stem.is_empty() && name.split('.').next() == Some(stem.as_str())
        })
        .collect();
    similar.sort();
    match similar.first() {
        Some(name) => format!(
            "did you mean `{}`? Check the path, {places}",
            parent.join(name).display()
        ),
        None => format!("check the path, {places}"),
    }
}

/// Expands a path written in the inventory file: `~` is the home directory,
/// and a relative path is relative to the file's directory (so an inventory
/// can ship with its keys next to it). `Err` says why it cannot be expanded.
pub(super) fn expand(raw: &str, base: &Path, env: &Env) -> Result<PathBuf, String> {
    let path = expand_home(raw, env)?;
    Ok(if path.is_absolute() {
        path
    } else {
        base.join(path)
    })
}

/// Expands `~` in a path given on the command line; relative paths stay
/// relative to the working directory, as the shell would have them.
pub(super) fn expand_home(raw: &str, env: &Env) -> Result<PathBuf, String> {
    let rest = match raw.strip_prefix('~') {
        None => return Ok(PathBuf::from(raw)),
        Some("") => "",
        Some(rest) => match rest.strip_prefix('/') {
            Some(rest) => rest,
            // `~user/...` would need a lookup of another account; nobody
            // writes that in an inventory, so say so rather than guess.
            None => return Err(format!("`{raw}`: only `~/` is understood, not `~user/`")),
        },
    };
    let home = env
        .home
        .as_ref()
        .ok_or_else(|| format!("`{raw}`: cannot expand `~` because $HOME is not set"))?;
    Ok(home.join(rest))
}

/// A path for messages: the home directory shown as `~`, as users write it.
pub fn display(path: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return Path::new("~").join(rest).display().to_string();
    }
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(home: &Path, cwd: &Path) -> Env {
        Env {
            home: Some(home.to_path_buf()),
            user: Some("me".into()),
            cwd: Some(cwd.to_path_buf()),
            inventory_var: None,
            ansible_inventory: None,
            ansible_hosts: cwd.join("etc-ansible-hosts"),
            ansible_config_var: None,
            ansible_system_config: cwd.join("etc-ansible.cfg"),
        }
    }

    #[test]
    fn expands_home_and_relative_paths() {
        let env = env(Path::new("/home/me"), Path::new("/work"));
        let base = Path::new("/etc/shoal");
        assert_eq!(
            expand("~/.ssh/k", base, &env).unwrap(),
            Path::new("/home/me/.ssh/k")
        );
        assert_eq!(expand("~", base, &env).unwrap(), Path::new("/home/me"));
        assert_eq!(
            expand("keys/k", base, &env).unwrap(),
            Path::new("/etc/shoal/keys/k")
        );
        assert_eq!(expand("/abs/k", base, &env).unwrap(), Path::new("/abs/k"));
        assert!(expand("~bob/k", base, &env).unwrap_err().contains("~user"));
        assert_eq!(expand_home("keys/k", &env).unwrap(), Path::new("keys/k"));
    }

    #[test]
    fn tilde_without_home_is_an_error_not_a_guess() {
        let env = Env::default();
        assert!(
            expand("~/.ssh/k", Path::new("/"), &env)
                .unwrap_err()
                .contains("$HOME")
        );
    }

    #[test]
    fn locate_prefers_the_flag_then_the_variable_then_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cwd = dir.path().join("cwd");
        std::fs::create_dir_all(home.join(".config/shoal")).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        let mut env = env(&home, &cwd);

        let error = locate(None, &env).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "no inventory file found (tried ./shoal.toml, ~/.config/shoal/inventory.toml, \
                 ansible.cfg, {}); write one or pass --inventory PATH or --inventory-cmd CMD",
                env.ansible_hosts.display()
            )
        );

        let user_file = home.join(".config/shoal/inventory.toml");
        std::fs::write(&user_file, "").unwrap();
        assert_eq!(locate(None, &env).unwrap(), user_file);

        let local = cwd.join("shoal.toml");
        std::fs::write(&local, "").unwrap();
        assert_eq!(locate(None, &env).unwrap(), local);

        let from_var = dir.path().join("var.toml");
        env.inventory_var = Some(from_var.clone());
        let error = locate(None, &env).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "inventory file `{}` (from $SHOAL_INVENTORY) does not exist\n  = hint: ",
                from_var.display()
            )),
            "{error}"
        );
        std::fs::write(&from_var, "").unwrap();
        assert_eq!(locate(None, &env).unwrap(), from_var);

        let flag = dir.path().join("flag.toml");
        let error = locate(Some(&flag), &env).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "inventory file `{}` does not exist\n  = hint: check the path, or leave out \
                 --inventory to use ./shoal.toml, ~/.config/shoal/inventory.toml or Ansible's \
                 inventory (ansible.cfg, $ANSIBLE_INVENTORY, /etc/ansible/hosts)",
                flag.display()
            )
        );
        std::fs::write(&flag, "").unwrap();
        assert_eq!(locate(Some(&flag), &env).unwrap(), flag);
        // A directory the user names is ClusterShell's groups.d.
        assert_eq!(locate(Some(dir.path()), &env).unwrap(), dir.path());
    }

    #[test]
    fn a_missing_named_path_hints_at_the_file_next_to_it_or_the_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let env = env(&dir.path().join("home"), dir.path());
        std::fs::write(dir.path().join("hosts.ini"), "web1\n").unwrap();
        let error = locate(Some(&dir.path().join("hosts")), &env)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!(
                "= hint: did you mean `{}`? Check the path, or leave out --inventory",
                dir.path().join("hosts.ini").display()
            )),
            "{error}"
        );
        let error = locate(Some(&dir.path().join("prod/hosts")), &env)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!(
                "= hint: the directory `{}` does not exist either; check the path",
                dir.path().join("prod").display()
            )),
            "{error}"
        );
    }

    #[test]
    fn after_shoals_places_come_ansibles_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("checkout");
        std::fs::create_dir_all(&cwd).unwrap();
        let mut env = env(&dir.path().join("home"), &cwd);
        let system = env.ansible_hosts.clone();
        std::fs::write(&system, "web1\n").unwrap();
        assert_eq!(locate(None, &env).unwrap(), system);
        std::fs::remove_file(&system).unwrap();

        std::fs::write(
            cwd.join("ansible.cfg"),
            "[ssh_connection]\ninventory = wrong\n[defaults]\n# comment\n\
             inventory = inventories/prod.ini, other.yml ; comment\n",
        )
        .unwrap();
        let error = locate(None, &env).unwrap_err().to_string();
        assert!(
            error.contains("`inventory = inventories/prod.ini` in ./ansible.cfg"),
            "an ansible.cfg naming a missing file is tried, not used: {error}"
        );
        let from_config = cwd.join("inventories/prod.ini");
        std::fs::create_dir_all(from_config.parent().unwrap()).unwrap();
        std::fs::write(&from_config, "").unwrap();
        assert_eq!(locate(None, &env).unwrap(), from_config);

        env.ansible_inventory = Some("missing.yml,other".into());
        assert_eq!(
            locate(None, &env).unwrap(),
            from_config,
            "a missing one is skipped"
        );
        let from_var = cwd.join("hosts.yml");
        std::fs::write(&from_var, "").unwrap();
        env.ansible_inventory = Some("hosts.yml, missing".into());
        assert_eq!(locate(None, &env).unwrap(), from_var);

        std::fs::write(cwd.join("shoal.toml"), "").unwrap();
        assert_eq!(
            locate(None, &env).unwrap(),
            cwd.join("shoal.toml"),
            "shoal's own first"
        );
    }
}
