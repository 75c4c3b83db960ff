//! Ansible's configuration file, `ansible.cfg`: found where Ansible finds it
//! and read as Ansible reads it (Python's configparser), for the settings
//! that say where the inventory is and how hosts are logged in to.
//!
//! Ansible uses the first of these that exists: `$ANSIBLE_CONFIG` (a file,
//! or a directory holding `ansible.cfg`), `./ansible.cfg` (skipped when the
//! working directory is world-writable, since anyone could have put it
//! there), `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`.
//!
//! From `[defaults]`, shoal applies:
//! - `inventory`: a comma-separated list of inventory sources, each a file
//!   or a directory, a relative one relative to the file's directory;
//! - `remote_user`, `remote_port`, `private_key_file` (`~` expanded,
//!   relative to the file's directory) and `timeout` (seconds, to connect):
//!   defaults of an Ansible inventory, below its `all` vars and below
//!   ssh_config, as Ansible's own `all` vars rank in shoal.
//!
//! Settings that would change how Ansible reaches or trusts hosts but that
//! shoal does not follow are named once in a warning (see [`AnsibleConfig::
//! ignored`]); everything else in the file (roles, plugins, output) does not
//! concern shoal and is not read.
//!
//! The syntax is configparser's: `[section]`, then `key = value` or
//! `key: value` (keys in any case), whole-line comments starting `#` or `;`,
//! and inline comments starting ` ;`. Values lose surrounding quotes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;

use super::error::InventoryError;
use super::paths::{self, Env};

/// One `ansible.cfg`, as far as shoal reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct AnsibleConfig {
    /// Where it was found.
    pub path: PathBuf,
    /// `(section, key)` to the value and its 1-based line; the first of a
    /// repeated key wins, as in configparser (which refuses repeats).
    values: IndexMap<(String, String), (String, usize)>,
}

/// The settings of an ansible.cfg that shoal applies to an Ansible
/// inventory: defaults below the inventory's own vars.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct AnsibleDefaults {
    pub remote_user: Option<String>,
    pub remote_port: Option<u16>,
    /// Expanded, and checked to exist.
    pub private_key_file: Option<PathBuf>,
    pub timeout: Option<Duration>,
}

/// Where Ansible would find its configuration, if anywhere: see the module
/// documentation. A world-writable working directory's `ansible.cfg` is
/// skipped, with a warning, as Ansible skips it.
pub(super) fn find(env: &Env) -> (Option<PathBuf>, Option<String>) {
    let mut warning = None;
    let mut candidates = Vec::new();
    let mut named_file = None;
    if let Some(named) = &env.ansible_config_var {
        let named =
            paths::expand_home(&named.to_string_lossy(), env).unwrap_or_else(|_| named.clone());
        let named = match &env.cwd {
            Some(cwd) if named.is_relative() => cwd.join(named),
            _ => named,
        };
        let named = if named.is_dir() {
            named.join("ansible.cfg")
        } else {
            named
        };
        named_file = Some(named.clone());
        candidates.push(named);
    }
    if let Some(cwd) = &env.cwd {
        let local = cwd.join("ansible.cfg");
        let world_writable = std::fs::metadata(cwd)
            .map(|m| m.permissions().mode() & 0o002 != 0)
            .unwrap_or(false);
        if !world_writable {
            candidates.push(local);
        } else if local.is_file() {
            warning = Some(format!(
                "warning: ignoring {}: the directory is world-writable, so Ansible \
                 does not trust an ansible.cfg in it and neither does shoal",
                local.display()
            ));
        }
    }
    if let Some(home) = &env.home {
        candidates.push(home.join(".ansible.cfg"));
    }
    candidates.push(env.ansible_system_config.clone());
    let found = candidates.into_iter().find(|p| p.is_file());
    if found.is_some() && found == named_file {
        // $ANSIBLE_CONFIG chose the file; the skipped one did not matter.
        warning = None;
    }
    (found, warning)
}

/// `path` as the user would recognise it: `./ansible.cfg` in the working
/// directory, else with the home directory as `~`.
pub(super) fn shown(path: &Path, env: &Env) -> String {
    match (&env.cwd, path.parent()) {
        (Some(cwd), Some(parent)) if cwd == parent => "./ansible.cfg".to_string(),
        _ => paths::display(path),
    }
}

impl AnsibleConfig {
    /// The configuration Ansible would use here, if any, and a warning
    /// about one it skipped. An unreadable file is an error: Ansible would
    /// not run either.
    pub fn load(env: &Env) -> Result<(Option<AnsibleConfig>, Option<String>), InventoryError> {
        let (found, warning) = find(env);
        let Some(path) = found else {
            return Ok((None, warning));
        };
        let text = std::fs::read_to_string(&path).map_err(|source| InventoryError::Read {
            path: path.clone(),
            source,
        })?;
        Ok((Some(AnsibleConfig::parse(path, &text)), warning))
    }

    pub fn parse(path: PathBuf, text: &str) -> AnsibleConfig {
        let mut values = IndexMap::new();
        let mut section = String::new();
        // Whether a key was just read: an indented line then continues its
        // value (shoal's settings are all one line, so it is left out).
        let mut in_value = false;
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if in_value && raw.starts_with([' ', '\t']) {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                section = rest
                    .split(']')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                in_value = false;
                continue;
            }
            in_value = true;
            let Some(split) = line.find(['=', ':']) else {
                continue;
            };
            let key = line[..split].trim().to_ascii_lowercase();
            let value = without_inline_comment(&line[split + 1..]);
            values
                .entry((section.clone(), key))
                .or_insert((unquote(value).to_string(), number + 1));
        }
        AnsibleConfig { path, values }
    }

    fn get(&self, section: &str, key: &str) -> Option<(&str, usize)> {
        self.values
            .get(&(section.to_string(), key.to_string()))
            .map(|(value, line)| (value.as_str(), *line))
    }

    /// The directory relative paths in the file are relative to.
    fn base(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// `inventory =`: each source as written and as a path, relative ones
    /// resolved against the file's directory. Empty when it names none.
    pub fn inventory(&self, env: &Env) -> Vec<(String, PathBuf)> {
        let Some((value, _)) = self.get("defaults", "inventory") else {
            return Vec::new();
        };
        value
            .split(',')
            .map(str::trim)
            .filter(|source| !source.is_empty())
            .filter_map(|source| {
                let path = paths::expand(source, self.base(), env).ok()?;
                Some((source.to_string(), path))
            })
            .collect()
    }

    /// The settings shoal applies; `Err` names the line of a value Ansible
    /// would refuse too (a port that is not a number, a key that does not
    /// exist).
    pub fn defaults(&self, env: &Env) -> Result<AnsibleDefaults, InventoryError> {
        let invalid = |line: usize, message: String| InventoryError::Invalid {
            path: self.path.clone(),
            line,
            column: 1,
            message,
        };
        let text = |key: &str| {
            self.get("defaults", key)
                .filter(|(value, _)| !value.is_empty())
        };
        let remote_port = text("remote_port")
            .map(|(value, line)| match value.parse::<u16>() {
                Ok(port) if port > 0 => Ok(port),
                _ => Err(invalid(
                    line,
                    format!("remote_port: `{value}` is not a port (1 to 65535)"),
                )),
            })
            .transpose()?;
        let timeout = text("timeout")
            .map(|(value, line)| match value.parse::<u64>() {
                Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
                _ => Err(invalid(
                    line,
                    format!("timeout: `{value}` is not a number of seconds"),
                )),
            })
            .transpose()?;
        let private_key_file = text("private_key_file")
            .map(|(value, line)| {
                let path = paths::expand(value, self.base(), env)
                    .map_err(|reason| invalid(line, format!("private_key_file: {reason}")))?;
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(invalid(
                        line,
                        format!("private_key_file: {} does not exist", path.display()),
                    ))
                }
            })
            .transpose()?;
        Ok(AnsibleDefaults {
            remote_user: text("remote_user").map(|(value, _)| value.to_string()),
            remote_port,
            private_key_file,
            timeout,
        })
    }

    /// The settings present that would change how Ansible reaches or trusts
    /// hosts but that shoal does not follow, each as `name (why)`.
    pub fn ignored(&self) -> Vec<String> {
        let mut ignored = Vec::new();
        let set = |section: &str, key: &str| self.get(section, key).map(|(value, _)| value);
        if set("defaults", "host_key_checking").is_some_and(|v| !boolean(v)) {
            ignored.push(
                "host_key_checking = False (host keys are still checked against known_hosts; \
                 --accept-new adds unknown ones)"
                    .to_string(),
            );
        }
        if set("defaults", "ask_pass").is_some_and(boolean) {
            ignored.push("ask_pass (shoal logs in with keys only)".to_string());
        }
        if set("privilege_escalation", "become").is_some_and(boolean) {
            ignored.push(
                "become (commands run as the login user; write `sudo` in the command)".to_string(),
            );
        }
        if set("ssh_connection", "ssh_args").is_some() {
            ignored.push(
                "ssh_args (shoal does not run ssh; put options in ~/.ssh/config)".to_string(),
            );
        }
        for (section, key) in [
            ("defaults", "inventory_ignore_extensions"),
            ("defaults", "inventory_ignore_patterns"),
            ("inventory", "ignore_extensions"),
            ("inventory", "ignore_patterns"),
        ] {
            if set(section, key).is_some() {
                ignored.push(format!(
                    "{key} (inventory directories skip Ansible's default extensions)"
                ));
            }
        }
        ignored
    }

    /// The warning naming [`Self::ignored`], if any.
    pub fn warning(&self, env: &Env) -> Option<String> {
        let ignored = self.ignored();
        (!ignored.is_empty()).then(|| {
            format!(
                "warning: shoal does not apply these settings of {}: {}",
                shown(&self.path, env),
                ignored.join("; ")
            )
        })
    }
}

/// `value` without an inline comment: ` ;` and what follows, as Ansible's
/// configparser is set up (`#` inside a value is part of it).
fn without_inline_comment(value: &str) -> &str {
    let mut end = value.len();
    for (i, c) in value.char_indices() {
        if c == ';' && value[..i].ends_with([' ', '\t']) {
            end = i;
            break;
        }
    }
    value[..end].trim()
}

/// A value without the quotes around it, as Ansible unquotes ini values.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// Ansible's lenient boolean: `yes`, `on`, `1`, `true`, `t`, `y` (in any
/// case) are true, anything else false.
fn boolean(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path) -> Env {
        Env {
            home: Some(dir.join("home")),
            user: Some("me".into()),
            cwd: Some(dir.join("checkout")),
            ansible_system_config: dir.join("etc-ansible.cfg"),
            ansible_hosts: dir.join("etc-hosts"),
            ..Env::default()
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn it_is_found_where_ansible_looks_first_match_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = env(dir.path());
        let cwd = env.cwd.clone().unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find(&env), (None, None));

        write(&env.ansible_system_config, "");
        assert_eq!(find(&env).0, Some(env.ansible_system_config.clone()));
        let user = dir.path().join("home/.ansible.cfg");
        write(&user, "");
        assert_eq!(find(&env).0, Some(user));
        write(&cwd.join("ansible.cfg"), "");
        assert_eq!(find(&env).0, Some(cwd.join("ansible.cfg")));

        let named = dir.path().join("elsewhere");
        write(&named.join("ansible.cfg"), "");
        env.ansible_config_var = Some(named.clone());
        assert_eq!(
            find(&env).0,
            Some(named.join("ansible.cfg")),
            "a directory holds it"
        );
        env.ansible_config_var = Some(PathBuf::from("../elsewhere/ansible.cfg"));
        assert_eq!(
            find(&env).0,
            Some(cwd.join("../elsewhere/ansible.cfg")),
            "relative to the working directory"
        );
        env.ansible_config_var = None;

        std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o777)).unwrap();
        let (found, warning) = find(&env);
        assert_eq!(found, Some(dir.path().join("home/.ansible.cfg")));
        assert!(
            warning.unwrap().contains("the directory is world-writable"),
            "a world-writable directory's is skipped, saying so"
        );
    }

    #[test]
    fn settings_are_read_as_configparser_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let env = env(dir.path());
        let path = dir.path().join("checkout/ansible.cfg");
        write(&dir.path().join("checkout/keys/deploy"), "key");
        let config = AnsibleConfig::parse(
            path.clone(),
            "# comment\n[ssh_connection]\nremote_user = wrong\n\n[defaults]\n\
             ; another\nInventory: inventories/prod, /abs/hosts ; a comment\n\
             remote_user = \"deploy\"\nremote_port=2222\nprivate_key_file = keys/deploy\n\
             timeout = 30\nforks = 50\n",
        );
        assert_eq!(
            config.inventory(&env),
            [
                (
                    "inventories/prod".to_string(),
                    dir.path().join("checkout/inventories/prod")
                ),
                ("/abs/hosts".to_string(), PathBuf::from("/abs/hosts")),
            ]
        );
        assert_eq!(
            config.defaults(&env).unwrap(),
            AnsibleDefaults {
                remote_user: Some("deploy".into()),
                remote_port: Some(2222),
                private_key_file: Some(dir.path().join("checkout/keys/deploy")),
                timeout: Some(Duration::from_secs(30)),
            }
        );
        assert_eq!(
            config.warning(&env),
            None,
            "forks and the rest are not warned about"
        );
    }

    #[test]
    fn bad_values_are_errors_at_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let env = env(dir.path());
        let path = dir.path().join("ansible.cfg");
        let error = |text: &str| {
            AnsibleConfig::parse(path.clone(), text)
                .defaults(&env)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("[defaults]\n\nremote_port = ssh\n"),
            format!(
                "inventory {}:3:1: remote_port: `ssh` is not a port (1 to 65535)",
                path.display()
            )
        );
        assert!(error("[defaults]\ntimeout = soon\n").contains(":2:1: timeout: `soon`"));
        assert!(
            error("[defaults]\nprivate_key_file = ~/.ssh/nope\n").contains(&format!(
                "private_key_file: {} does not exist",
                dir.path().join("home/.ssh/nope").display()
            ))
        );
    }

    #[test]
    fn settings_shoal_does_not_follow_are_named_once() {
        let config = AnsibleConfig::parse(
            PathBuf::from("/checkout/ansible.cfg"),
            "[defaults]\nhost_key_checking = False\nask_pass = yes\n\
             [privilege_escalation]\nbecome = True\n\
             [ssh_connection]\nssh_args = -o ControlMaster=auto\n[inventory]\nignore_patterns = x\n",
        );
        assert_eq!(
            config.warning(&Env::default()).unwrap(),
            "warning: shoal does not apply these settings of /checkout/ansible.cfg: \
             host_key_checking = False (host keys are still checked against known_hosts; \
             --accept-new adds unknown ones); ask_pass (shoal logs in with keys only); \
             become (commands run as the login user; write `sudo` in the command); ssh_args \
             (shoal does not run ssh; put options in ~/.ssh/config); ignore_patterns \
             (inventory directories skip Ansible's default extensions)"
        );
        let strict = AnsibleConfig::parse(
            PathBuf::from("ansible.cfg"),
            "[defaults]\nhost_key_checking = True\nbecome = yes\n",
        );
        assert_eq!(
            strict.warning(&Env::default()),
            None,
            "only what would differ is named"
        );
    }
}
