//! The user's ssh_config (`~/.ssh/config`, or `-F FILE`), read as OpenSSH
//! 9.2's readconf.c reads it (`man ssh_config`), and what it says about one
//! host in the terms shoal uses, each value with the line that set it.
//!
//! Reading a config for a host is a pipeline: `file.rs` reads the files into
//! directives (every line checked, `Include` read where it stands), then
//! `resolve.rs` walks them for the host: `Host` and `Match` turn blocks on
//! and off, the first value obtained for each setting wins (IdentityFile and
//! CertificateFile accumulate), `%h` is expanded in `HostName`, and a
//! `Match final` asks for a second pass. Paths keep their tokens; [`tokens`]
//! expands them once the inventory has had its say (`crate::targets`), which
//! also follows each `ProxyJump` hop through the config in turn.
//!
//! Where shoal does not do what ssh would, it says so, naming the line:
//! `Match exec` (shoal never runs commands from the config), `ProxyCommand`,
//! `HostKeyAlias`, `CanonicalizeHostname` and `KnownHostsCommand`.
//! `/etc/ssh/ssh_config` is not read (as with `ssh -F`): its usual contents
//! (`SendEnv`, `GSSAPIAuthentication`) do not concern shoal. The deliberate
//! differences from `ssh -G` are listed, with their reasons, in
//! tests/parity/ssh_config/DIFFERENCES.toml, which a differential test
//! against the real `ssh` keeps current.

mod criteria;
mod file;
mod lexer;
mod pattern;
mod resolve;
pub mod tokens;

use std::path::Path;

pub use file::Proxy;
pub use resolve::{Blocked, HostConfig, Located, Origin, Query};

use crate::inventory::paths;
use file::{Directive, File};
use tokens::Local;

/// A parsed ssh_config, or none at all.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    /// The file named or found, with every file it includes; `None` when
    /// there is no config.
    root: Option<File>,
}

/// Why an ssh_config could not be used: the file, the line when one is at
/// fault, and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ssh_config {path}{}: {reason}", line.map(|n| format!(" line {n}")).unwrap_or_default())]
pub struct SshConfigError {
    pub path: String,
    pub line: Option<usize>,
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

/// Settings written in the config that shoal does not act on, and need no
/// warning: they only tell ssh how to read the rest of the file.
const QUIET: &[&str] = &["ignoreunknown"];

impl SshConfig {
    /// `-F FILE` when given (it must exist), else `~/.ssh/config` when it
    /// exists, else no config. `home` is where `~` and relative `Include`
    /// paths (under `~/.ssh`) point.
    pub fn load(explicit: Option<&Path>, home: Option<&Path>) -> Result<SshConfig, SshConfigError> {
        let (path, check_owner) = match explicit {
            Some(path) => (path.to_path_buf(), false),
            None => match home.map(|h| h.join(".ssh").join("config")) {
                Some(path) if path.is_file() => (path, true),
                _ => return Ok(SshConfig::default()),
            },
        };
        Ok(SshConfig {
            root: Some(file::read(&path, check_owner, home)?),
        })
    }

    /// [`SshConfig::load`] with the process's home directory.
    pub fn load_for_user(explicit: Option<&Path>) -> Result<SshConfig, SshConfigError> {
        let env = paths::Env::from_process();
        SshConfig::load(explicit, env.home.as_deref())
    }

    /// The file read, if any.
    pub fn path(&self) -> Option<&Path> {
        self.root.as_ref().map(|root| &*root.path)
    }

    /// What the config says about the host `query` names. `Err` names the
    /// line that stops ssh (a `HostName` token it refuses) or shoal (a
    /// `Match exec` that would decide).
    pub fn resolve(&self, query: &Query<'_>, local: &Local) -> Result<HostConfig, String> {
        match &self.root {
            Some(root) => resolve::resolve(root, query, local),
            None => Ok(HostConfig::default()),
        }
    }

    /// The names of concrete `Host` entries (no `*`, `?` or `!`), in file
    /// order, included files where they are included, each once: `hosts
    /// from ssh_config`.
    pub fn concrete_hosts(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        self.each_line(&mut |line| {
            if let Directive::Host(patterns) = &line.directive {
                for pattern in patterns {
                    if !pattern.contains(['*', '?', '!']) && !names.contains(pattern) {
                        names.push(pattern.clone());
                    }
                }
            }
        });
        names
    }

    /// Settings written in the config (or a file it includes) that shoal
    /// does not act on, spelled as first written, sorted, each once: named
    /// once in a warning.
    pub fn unsupported(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        self.each_line(&mut |line| {
            let quiet = QUIET.contains(&line.keyword.to_ascii_lowercase().as_str());
            if matches!(line.directive, Directive::Other)
                && !quiet
                && !names.iter().any(|n| n.eq_ignore_ascii_case(&line.keyword))
            {
                names.push(line.keyword.clone());
            }
        });
        names.sort_by_key(|n| n.to_ascii_lowercase());
        names
    }

    fn each_line(&self, visit: &mut dyn FnMut(&file::Line)) {
        fn walk(file: &File, visit: &mut dyn FnMut(&file::Line)) {
            for line in &file.lines {
                visit(line);
                if let Directive::Include(files) = &line.directive {
                    for included in files {
                        walk(included, visit);
                    }
                }
            }
        }
        if let Some(root) = &self.root {
            walk(root, visit);
        }
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
