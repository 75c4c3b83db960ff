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

/// Where the inventory is, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Located {
    /// One path, or (from Ansible's places) every source of a list that
    /// exists: files and directories.
    pub sources: Vec<PathBuf>,
    /// Found through Ansible's places, so Ansible's settings apply to it
    /// whatever its format.
    pub ansible: bool,
    /// Sources of a list that do not exist, each named once.
    pub warnings: Vec<String>,
}

impl Located {
    fn one(path: PathBuf) -> Located {
        Located {
            sources: vec![path],
            ansible: false,
            warnings: Vec::new(),
        }
    }
}

/// `--inventory PATH`, then `$SHOAL_INVENTORY`, then `./shoal.toml`, then
/// `~/.config/shoal/inventory.toml`, then Ansible's places:
/// `$ANSIBLE_INVENTORY`, `inventory =` in ansible.cfg's `[defaults]` (the
/// ansible.cfg Ansible would use), then `/etc/ansible/hosts`, so shoal works
/// in an Ansible checkout as it is.
///
/// A path the user named for shoal (the flag or `$SHOAL_INVENTORY`) is used
/// or reported missing, never silently skipped: falling through to another
/// fleet's inventory because of a typo would run commands on the wrong
/// hosts. Ansible's places hold comma-separated lists of sources, files or
/// directories, as Ansible reads them: the first place with any source that
/// exists is used, all of its sources that exist, with a warning naming
/// those that do not (Ansible warns and goes on too).
pub(super) fn locate(explicit: Option<&Path>, env: &Env) -> Result<Located, InventoryError> {
    let named = explicit.map(|p| (p.to_path_buf(), "")).or_else(|| {
        env.inventory_var
            .as_ref()
            .map(|p| (p.clone(), " (from $SHOAL_INVENTORY)"))
    });
    if let Some((path, named_by)) = named {
        return if path.exists() {
            Ok(Located::one(path))
        } else {
            Err(InventoryError::Missing {
                hint: missing_hint(&path, explicit.is_some()),
                named_by: named_by.to_string(),
                path,
            })
        };
    }
    let mut tried = Vec::new();
    for (file, shown) in [
        (
            env.cwd.as_ref().map(|cwd| cwd.join("shoal.toml")),
            "./shoal.toml",
        ),
        (
            env.home
                .as_ref()
                .map(|home| home.join(".config/shoal/inventory.toml")),
            "~/.config/shoal/inventory.toml",
        ),
    ] {
        match file {
            Some(file) if file.is_file() => return Ok(Located::one(file)),
            Some(_) => tried.push(shown.to_string()),
            None => {}
        }
    }
    // Ansible's places: each a list of (source as written, path), and how
    // the user would recognise the place.
    let mut places: Vec<(Vec<(String, PathBuf)>, String)> = Vec::new();
    let base = env.cwd.clone().unwrap_or_default();
    if let Some(list) = &env.ansible_inventory {
        let sources = list
            .split(',')
            .map(str::trim)
            .filter(|source| !source.is_empty())
            .filter_map(|source| Some((source.to_string(), expand(source, &base, env).ok()?)))
            .collect();
        places.push((sources, format!("$ANSIBLE_INVENTORY={list}")));
    }
    match ansible_cfg::find(env) {
        (Some(config), _) => {
            let shown = ansible_cfg::shown(&config, env);
            let text = std::fs::read_to_string(&config).unwrap_or_default();
            let sources = AnsibleConfig::parse(config, &text).inventory(env);
            let described = if sources.is_empty() {
                shown
            } else {
                let written: Vec<&str> = sources.iter().map(|(s, _)| s.as_str()).collect();
                format!("`inventory = {}` in {shown}", written.join(", "))
            };
            places.push((sources, described));
        }
        (None, _) => places.push((Vec::new(), "ansible.cfg".to_string())),
    }
    places.push((
        vec![(
            env.ansible_hosts.display().to_string(),
            env.ansible_hosts.clone(),
        )],
        env.ansible_hosts.display().to_string(),
    ));
    for (sources, described) in places {
        let (present, missing): (Vec<_>, Vec<_>) =
            sources.into_iter().partition(|(_, path)| path.exists());
        if present.is_empty() {
            tried.push(described);
            continue;
        }
        let warnings = missing
            .iter()
            .map(|(source, _)| {
                format!(
                    "warning: inventory source `{source}` ({described}) does not exist; \
                     reading the others"
                )
            })
            .collect();
        return Ok(Located {
            sources: present.into_iter().map(|(_, path)| path).collect(),
            ansible: true,
            warnings,
        });
    }
    Err(InventoryError::NotFound { tried })
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

    fn sources(located: Result<Located, InventoryError>) -> Vec<PathBuf> {
        located.unwrap().sources
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
        assert_eq!(sources(locate(None, &env)), [user_file]);

        let local = cwd.join("shoal.toml");
        std::fs::write(&local, "").unwrap();
        assert_eq!(sources(locate(None, &env)), [local]);

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
        assert_eq!(sources(locate(None, &env)), [from_var]);

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
        assert_eq!(sources(locate(Some(&flag), &env)), [flag]);
        // A directory the user names is read as a directory.
        assert_eq!(sources(locate(Some(dir.path()), &env)), [dir.path()]);
        assert!(!locate(Some(dir.path()), &env).unwrap().ansible);
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
    fn after_shoals_places_come_ansibles_that_exist_each_a_list_of_sources() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("checkout");
        std::fs::create_dir_all(&cwd).unwrap();
        let mut env = env(&dir.path().join("home"), &cwd);
        let system = env.ansible_hosts.clone();
        std::fs::write(&system, "web1\n").unwrap();
        let located = locate(None, &env).unwrap();
        assert_eq!(located.sources, std::slice::from_ref(&system));
        assert!(
            located.ansible,
            "Ansible's settings apply to what Ansible's places name"
        );
        std::fs::remove_file(&system).unwrap();

        std::fs::write(
            cwd.join("ansible.cfg"),
            "[ssh_connection]\ninventory = wrong\n[defaults]\n# comment\n\
             inventory = inventories/prod, other.yml ; comment\n",
        )
        .unwrap();
        let error = locate(None, &env).unwrap_err().to_string();
        assert!(
            error.contains("`inventory = inventories/prod, other.yml` in ./ansible.cfg"),
            "an ansible.cfg naming missing sources is tried, not used: {error}"
        );
        // A directory is a source too.
        let from_config = cwd.join("inventories/prod");
        std::fs::create_dir_all(&from_config).unwrap();
        let located = locate(None, &env).unwrap();
        assert_eq!(located.sources, std::slice::from_ref(&from_config));
        assert_eq!(
            located.warnings,
            [
                "warning: inventory source `other.yml` (`inventory = inventories/prod, \
              other.yml` in ./ansible.cfg) does not exist; reading the others"
            ]
        );
        std::fs::write(cwd.join("other.yml"), "").unwrap();
        let located = locate(None, &env).unwrap();
        assert_eq!(
            located.sources,
            [from_config.clone(), cwd.join("other.yml")]
        );
        assert!(located.warnings.is_empty());

        // $ANSIBLE_CONFIG names another ansible.cfg, whose paths are relative to it.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(elsewhere.join("inv")).unwrap();
        std::fs::write(
            elsewhere.join("ansible.cfg"),
            "[defaults]\ninventory = inv\n",
        )
        .unwrap();
        env.ansible_config_var = Some(elsewhere.join("ansible.cfg"));
        assert_eq!(sources(locate(None, &env)), [elsewhere.join("inv")]);
        env.ansible_config_var = None;

        env.ansible_inventory = Some("missing.yml,other".into());
        assert_eq!(
            sources(locate(None, &env)),
            [from_config.clone(), cwd.join("other.yml")],
            "a variable naming nothing that exists is skipped"
        );
        let from_var = cwd.join("hosts.yml");
        std::fs::write(&from_var, "").unwrap();
        env.ansible_inventory = Some("hosts.yml, missing, inventories/prod".into());
        let located = locate(None, &env).unwrap();
        assert_eq!(located.sources, [from_var, from_config]);
        assert_eq!(located.warnings.len(), 1, "{:?}", located.warnings);

        std::fs::write(cwd.join("shoal.toml"), "").unwrap();
        let located = locate(None, &env).unwrap();
        assert_eq!(
            located.sources,
            [cwd.join("shoal.toml")],
            "shoal's own first"
        );
        assert!(!located.ansible);
    }
}
