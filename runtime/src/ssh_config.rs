//! The user's ssh_config (`~/.ssh/config`, or `-F FILE`), read with the
//! ssh2-config crate, and what it says about one host in the terms shoal
//! uses: the settings shoal honours, and the ones it does not.
//!
//! First match wins for every setting, as in ssh(1); `IdentityFile`
//! accumulates. `/etc/ssh/ssh_config` is not read (as with `ssh -F`): its
//! usual contents (`SendEnv`, `GSSAPIAuthentication`) do not concern shoal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ssh2_config::{HostParams, ParseRule, SshConfig as Parsed};

/// A parsed ssh_config, or none at all.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    /// The file it was read from; `None` when there is no config.
    path: Option<PathBuf>,
    parsed: Parsed,
    /// The file's text, to name settings as the user spelled them (the
    /// crate lowercases them).
    text: String,
}

/// Why an ssh_config could not be used.
#[derive(Debug, thiserror::Error)]
#[error("ssh_config {path}: {reason}")]
pub struct SshConfigError {
    pub path: String,
    pub reason: String,
}

/// How host keys are checked for a host (`StrictHostKeyChecking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostKeyPolicy {
    /// Only keys already in known_hosts (`yes`, and `ask`: shoal never asks).
    Strict,
    /// Unknown keys are recorded and trusted; changed keys are refused.
    AcceptNew,
    /// Any key is accepted; unknown ones are recorded (`no`/`off`).
    Off,
}

/// What ssh_config says about one host: `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Option<Vec<PathBuf>>,
    pub identities_only: Option<bool>,
    pub certificate_file: Option<PathBuf>,
    /// The jump hosts, outermost first, as written (`[user@]host[:port]`).
    /// `ProxyJump none` is an empty list.
    pub proxy_jump: Option<Vec<String>>,
    pub connect_timeout: Option<Duration>,
    pub host_keys: Option<HostKeyPolicy>,
    /// The first `UserKnownHostsFile` (ssh writes new keys to the first).
    pub known_hosts: Option<PathBuf>,
    /// Settings that change where or how ssh would connect, which shoal
    /// cannot follow, as `Name value`: shoal refuses to connect such a host
    /// rather than connect somewhere else.
    pub blocking: Vec<String>,
}

/// Settings that would change where ssh connects or whose key it trusts.
/// Ignoring them would send commands to another machine, or past a check.
const BLOCKING: &[&str] = &[
    "proxycommand",
    "hostkeyalias",
    "canonicalizehostname",
    // Only from an included file: the main file's `Match` lines are rewritten.
    "match",
    "knownhostscommand",
];

/// Every setting shoal acts on (lowercase, as the crate names them), and
/// the keywords that structure the file.
const USED: &[&str] = &[
    "host",
    "include",
    "hostname",
    "user",
    "port",
    "identityfile",
    "identitiesonly",
    "certificatefile",
    "proxyjump",
    "connecttimeout",
    "stricthostkeychecking",
    "userknownhostsfile",
    "ignoreunknown",
];

impl SshConfig {
    /// `-F FILE` when given (it must exist), else `~/.ssh/config` when it
    /// exists, else no config.
    pub fn load(explicit: Option<&Path>, home: Option<&Path>) -> Result<SshConfig, SshConfigError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => match home.map(|h| h.join(".ssh").join("config")) {
                Some(path) if path.is_file() => path,
                _ => return Ok(SshConfig::default()),
            },
        };
        let failed = |reason: String| SshConfigError {
            path: crate::inventory::paths::display(&path),
            reason,
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| failed(format!("cannot read it: {e}")))?;
        let mut parser = Parsed::default();
        if let Some(home) = home {
            parser = parser.home_dir(home);
        }
        let parsed = parser
            .parse(
                &mut without_match_blocks(&text).as_bytes(),
                ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
            )
            .map_err(|e| failed(e.to_string()))?;
        Ok(SshConfig {
            path: Some(path),
            parsed,
            text,
        })
    }

    /// [`SshConfig::load`] with the process's home directory.
    pub fn load_for_user(explicit: Option<&Path>) -> Result<SshConfig, SshConfigError> {
        let env = crate::inventory::paths::Env::from_process();
        SshConfig::load(explicit, env.home.as_deref())
    }

    /// The lines (1-based) of the file's `Match` blocks, whose settings
    /// shoal applies to no host: ssh2-config cannot evaluate their criteria.
    pub fn match_lines(&self) -> Vec<usize> {
        self.text
            .lines()
            .enumerate()
            .filter(|(_, line)| is_match_line(line))
            .map(|(index, _)| index + 1)
            .collect()
    }

    /// The file read, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The settings for `alias` (a host name as the inventory or a
    /// `ProxyJump` names it).
    pub fn host(&self, alias: &str) -> HostSettings {
        if self.path.is_none() {
            return HostSettings::default();
        }
        settings(&self.parsed.query(alias))
    }

    /// The names of concrete `Host` entries (no `*`, `?` or `!`), in file
    /// order, each once: `hosts from ssh_config`.
    pub fn concrete_hosts(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.parsed
            .get_hosts()
            .iter()
            .flat_map(|host| &host.pattern)
            .filter(|clause| !clause.negated && !clause.pattern.contains(['*', '?']))
            .filter(|clause| seen.insert(clause.pattern.clone()))
            .map(|clause| clause.pattern.clone())
            .collect()
    }

    /// Settings written in the file (or reported by the crate from an
    /// included file) that shoal does not act on, sorted, each once: named
    /// once in a warning. The blocking ones are reported by their hosts.
    pub fn unsupported(&self) -> Vec<String> {
        let written = first_words(&self.text).map(str::to_string);
        let included = self.parsed.get_hosts().iter().flat_map(|host| {
            let params = &host.params;
            params
                .unsupported_fields
                .keys()
                .chain(params.ignored_fields.keys())
                .map(|name| self.spelled(name))
        });
        let mut names: Vec<String> = Vec::new();
        for name in written.chain(included) {
            let lower = name.to_ascii_lowercase();
            let acted_on = USED.contains(&lower.as_str()) || BLOCKING.contains(&lower.as_str());
            if !acted_on && !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                names.push(name);
            }
        }
        names.sort_by_key(|n| n.to_ascii_lowercase());
        names
    }

    /// `name` as the file first spells it, or as given when only an
    /// included file has it.
    fn spelled(&self, name: &str) -> String {
        first_words(&self.text)
            .find(|word| word.eq_ignore_ascii_case(name))
            .unwrap_or(name)
            .to_string()
    }
}

/// A `Host` line no host name matches: what each `Match` line becomes
/// before parsing, so the settings under it apply to no host rather than to
/// the `Host` block above it (the crate does not know `Match`).
const MATCH_BLOCK: &str = "Host *.match-block-not-evaluated-by-shoal.invalid";

fn is_match_line(line: &str) -> bool {
    line.split([' ', '\t', '='])
        .find(|w| !w.is_empty())
        .is_some_and(|word| word.eq_ignore_ascii_case("match"))
}

fn without_match_blocks(text: &str) -> String {
    text.lines()
        .map(|line| {
            if is_match_line(line) {
                MATCH_BLOCK
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The setting name of each line that has one.
fn first_words(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|line| line.split([' ', '\t', '=']).find(|w| !w.is_empty()))
        .filter(|word| !word.starts_with('#'))
}

fn settings(params: &HostParams) -> HostSettings {
    let field = |name: &str| -> Option<&Vec<String>> {
        params
            .unsupported_fields
            .iter()
            .chain(&params.ignored_fields)
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, args)| args)
    };
    let first = |name: &str| field(name).and_then(|args| args.first()).cloned();
    let mut blocking: Vec<String> = BLOCKING
        .iter()
        .filter_map(|name| {
            let args = field(name)?;
            // `CanonicalizeHostname no` is the default and changes nothing.
            let harmless = *name == "canonicalizehostname"
                && args.first().is_some_and(|v| v.eq_ignore_ascii_case("no"));
            (!harmless).then(|| format!("{} {}", display_name(name), args.join(" ")))
        })
        .collect();
    blocking.sort();
    HostSettings {
        host_name: params.host_name.clone(),
        user: params.user.clone(),
        port: params.port,
        identity_files: params.identity_file.clone(),
        identities_only: first("identitiesonly").map(|v| yes(&v)),
        certificate_file: params.certificate_file.clone(),
        proxy_jump: params.proxy_jump.clone().map(|hops| {
            if hops.len() == 1 && hops[0].eq_ignore_ascii_case("none") {
                Vec::new()
            } else {
                hops
            }
        }),
        connect_timeout: params.connect_timeout,
        host_keys: first("stricthostkeychecking").map(|v| host_key_policy(&v)),
        known_hosts: first("userknownhostsfile").map(PathBuf::from),
        blocking,
    }
}

fn yes(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "yes" | "true")
}

fn host_key_policy(value: &str) -> HostKeyPolicy {
    match value.to_ascii_lowercase().as_str() {
        "accept-new" => HostKeyPolicy::AcceptNew,
        "no" | "off" | "false" => HostKeyPolicy::Off,
        // yes, ask (shoal never asks), and anything unknown: the safe side.
        _ => HostKeyPolicy::Strict,
    }
}

/// The way ssh_config(5) spells a setting, for messages.
fn display_name(lower: &str) -> &'static str {
    match lower {
        "proxycommand" => "ProxyCommand",
        "hostkeyalias" => "HostKeyAlias",
        "canonicalizehostname" => "CanonicalizeHostname",
        "match" => "Match",
        _ => "KnownHostsCommand",
    }
}

/// One hop of a `ProxyJump` list: `[user@]host[:port]` or
/// `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpSpec {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl JumpSpec {
    pub fn parse(text: &str) -> Result<JumpSpec, String> {
        let rest = text.strip_prefix("ssh://").unwrap_or(text);
        let (user, rest) = match rest.rsplit_once('@') {
            Some((user, rest)) => (Some(user.to_string()), rest),
            None => (None, rest),
        };
        // `[::1]:22` keeps its brackets off the host.
        let (host, port) = match rest.strip_prefix('[') {
            Some(inner) => match inner.split_once(']') {
                Some((host, tail)) => (host, tail.strip_prefix(':')),
                None => return Err(format!("ProxyJump `{text}`: unclosed `[`")),
            },
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        if host.is_empty() {
            return Err(format!("ProxyJump `{text}`: no host name"));
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| format!("ProxyJump `{text}`: `{p}` is not a port"))
            })
            .transpose()?;
        Ok(JumpSpec {
            user,
            host: host.to_string(),
            port,
        })
    }
}

#[cfg(test)]
mod tests;
