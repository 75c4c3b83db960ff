//! What the config says about one host, evaluated as ssh(1) evaluates it:
//! the files walked in order, `Host` and `Match` lines turning blocks on and
//! off, the first value obtained for each setting kept (`IdentityFile` and
//! `CertificateFile` accumulate), then `%h` expanded in `HostName`, and a
//! second, final pass when a `Match final` asked for one.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::HostKeyPolicy;
use super::criteria::{self, Facts, Verdict};
use super::file::{Directive, File, Line, Proxy, Setting};
use super::pattern::host_line_selects;
use super::tokens::{self, Accepts, Local, Remote};
use crate::inventory::paths;

/// Where a value was written: a file and a line of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<Path>,
    /// 1-based.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", paths::display(&self.file), self.line)
    }
}

/// A value and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub at: Origin,
}

/// One host to look up, and what ssh would be told before reading the
/// config (on its command line): those values win over the config's, since
/// ssh keeps the first value it obtains, and `Match user` sees them.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The name as given (`%n`, `Match originalhost`).
    pub host: &'a str,
    /// `-l USER`.
    pub user: Option<&'a str>,
    /// `-p PORT`.
    pub port: Option<u16>,
    /// `-J ...`: the host is reached through hops given from outside, so
    /// the config's `ProxyJump` and `ProxyCommand` do not apply to it.
    pub jumped: bool,
    /// The user `Match user` sees when neither `user` nor the config has
    /// named one yet (ssh: the local account).
    pub default_user: &'a str,
}

/// A setting shoal cannot follow, because it would change where ssh
/// connects or whose host key it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The setting as a line would write it: `ProxyCommand nc %h %p`.
    pub setting: String,
    /// What ssh would do with it.
    pub ssh_would: &'static str,
}

/// What the config says about one host; `None` or empty where it says
/// nothing. Paths are as written: their tokens depend on the final user,
/// port and host name, which the inventory may still change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`, with `%h` expanded and lowercased (unless an address),
    /// as ssh connects to it.
    pub host_name: Option<Located<String>>,
    pub user: Option<Located<String>>,
    pub port: Option<Located<u16>>,
    /// In order, each once; `none` offers no file.
    pub identity_files: Vec<Located<String>>,
    pub certificate_files: Vec<Located<String>>,
    pub identities_only: Option<Located<bool>>,
    /// `ProxyJump` or `ProxyCommand`, whichever came first.
    pub proxy: Option<Located<Proxy>>,
    /// `None` inside: `ConnectTimeout none`.
    pub connect_timeout: Option<Located<Option<Duration>>>,
    pub host_keys: Option<Located<HostKeyPolicy>>,
    /// Every `UserKnownHostsFile` of the first line that sets it.
    pub known_hosts: Option<Located<Vec<String>>>,
    /// Settings shoal cannot follow, in file order.
    pub blocking: Vec<Located<Blocked>>,
}

/// The first-obtained values that only decide whether a host is blocked.
#[derive(Debug, Default)]
struct Unfollowed {
    host_key_alias: Option<Located<String>>,
    canonicalize: Option<Located<(bool, String)>>,
    known_hosts_command: Option<Located<String>>,
}

/// `root` evaluated for `query`; `Err` names the line that stops it.
pub(super) fn resolve(root: &File, query: &Query<'_>, local: &Local) -> Result<HostConfig, String> {
    let mut walk = Walk {
        query,
        local_user: local.user.as_deref().unwrap_or_default(),
        host: query.host.to_string(),
        final_host: None,
        wants_final: false,
        found: HostConfig::default(),
        unfollowed: Unfollowed::default(),
    };
    walk.file(root, &mut true, false)?;
    let host = walk.host_name()?;
    let canonicalize = walk
        .unfollowed
        .canonicalize
        .as_ref()
        .is_some_and(|c| c.value.0);
    // Canonicalization would also ask for a final pass; such a host is
    // blocked, but what it resolves to is still shown as ssh finds it.
    if walk.wants_final || canonicalize {
        walk.host = host.clone();
        walk.final_host = Some(host.clone());
        walk.file(root, &mut true, false)?;
    }
    let mut found = walk.found;
    if let Some(set) = &mut found.host_name {
        set.value = host;
    }
    found.blocking = blocking(&found, walk.unfollowed);
    Ok(found)
}

struct Walk<'a> {
    query: &'a Query<'a>,
    local_user: &'a str,
    /// What `Host` lines match: the name as given, then, in the final
    /// pass, the final host name.
    host: String,
    /// The host name after the first pass, in the final pass: `Match host`
    /// tests it, and no `HostName` line can change it any more.
    final_host: Option<String>,
    wants_final: bool,
    found: HostConfig,
    unfollowed: Unfollowed,
}

impl Walk<'_> {
    /// Walks `file`; `active` is whether the block the line is in applies,
    /// `never` that nothing in this file may apply (it was included from a
    /// block that did not).
    fn file(&mut self, file: &File, active: &mut bool, never: bool) -> Result<(), String> {
        for (index, line) in file.lines.iter().enumerate() {
            let at = || Origin {
                file: file.path.clone(),
                line: line.number,
            };
            match &line.directive {
                Directive::Host(patterns) => {
                    *active = !never && host_line_selects(patterns, &self.host);
                }
                Directive::Match(criteria) => {
                    let host = self.match_host()?;
                    let user = self
                        .query
                        .user
                        .or(self.found.user.as_ref().map(|u| u.value.as_str()))
                        .unwrap_or(self.query.default_user);
                    let facts = Facts {
                        host: &host,
                        original: self.query.host,
                        user,
                        local_user: self.local_user,
                        final_pass: self.final_host.is_some(),
                    };
                    let verdict = criteria::evaluate(criteria, &facts, &mut self.wants_final);
                    *active = match verdict {
                        _ if never => false,
                        Verdict::Matches(matches) => matches,
                        Verdict::Exec { command, negated } => {
                            if self.block_matters(&file.lines[index + 1..]) {
                                return Err(exec_refused(&at(), &command, negated));
                            }
                            // Nothing in the block would change what shoal
                            // uses, so the command's answer does not matter.
                            false
                        }
                    };
                }
                Directive::Include(files) => {
                    let including = *active;
                    for included in files {
                        self.file(included, active, never || !including)?;
                        *active = including;
                    }
                }
                Directive::Set(setting) if *active && self.takes(setting) => {
                    self.apply(setting, at());
                }
                Directive::Set(_) | Directive::Other => {}
            }
        }
        Ok(())
    }

    /// What `Match host` tests: the final host name in the final pass, else
    /// `HostName` with `%h` expanded if one is set, else the name as given.
    fn match_host(&self) -> Result<String, String> {
        match (&self.final_host, &self.found.host_name) {
            (Some(host), _) => Ok(host.clone()),
            (None, Some(set)) => expand_host_name(set, self.query.host),
            (None, None) => Ok(self.query.host.to_string()),
        }
    }

    /// The host name after the first pass: `HostName` with `%h` expanded,
    /// or the name as given; lowercased unless it is an address.
    fn host_name(&self) -> Result<String, String> {
        let host = match &self.found.host_name {
            Some(set) => expand_host_name(set, self.query.host)?,
            None => self.query.host.to_string(),
        };
        Ok(if host.parse::<std::net::IpAddr>().is_ok() {
            host
        } else {
            host.to_ascii_lowercase()
        })
    }

    /// Whether a `Match exec` block (the lines after it, up to the next
    /// `Host` or `Match`) has a setting that would change what shoal uses.
    fn block_matters(&self, after: &[Line]) -> bool {
        after
            .iter()
            .take_while(|line| !matches!(line.directive, Directive::Host(_) | Directive::Match(_)))
            .any(|line| match &line.directive {
                Directive::Set(setting) => self.takes(setting),
                // What an included file would do depends on its own blocks:
                // it matters if it sets anything.
                Directive::Include(files) => files.iter().any(sets_anything),
                _ => false,
            })
    }

    /// Whether `setting` would be taken now: no earlier value, nothing
    /// given from outside, or a file not yet in a list that accumulates.
    fn takes(&self, setting: &Setting) -> bool {
        let found = &self.found;
        let unfollowed = &self.unfollowed;
        match setting {
            Setting::HostName(_) => self.final_host.is_none() && found.host_name.is_none(),
            Setting::User(_) => self.query.user.is_none() && found.user.is_none(),
            Setting::Port(_) => self.query.port.is_none() && found.port.is_none(),
            Setting::IdentityFile(file) => !found.identity_files.iter().any(|f| f.value == *file),
            Setting::CertificateFile(file) => {
                !found.certificate_files.iter().any(|f| f.value == *file)
            }
            Setting::IdentitiesOnly(_) => found.identities_only.is_none(),
            Setting::Proxy(_) => !self.query.jumped && found.proxy.is_none(),
            Setting::ConnectTimeout(_) => found.connect_timeout.is_none(),
            Setting::StrictHostKeyChecking(_) => found.host_keys.is_none(),
            // With no file (only a comment after it), ssh sets nothing.
            Setting::UserKnownHostsFile(files) => !files.is_empty() && found.known_hosts.is_none(),
            Setting::HostKeyAlias(_) => unfollowed.host_key_alias.is_none(),
            Setting::CanonicalizeHostname(..) => unfollowed.canonicalize.is_none(),
            Setting::KnownHostsCommand(_) => unfollowed.known_hosts_command.is_none(),
        }
    }

    fn apply(&mut self, setting: &Setting, at: Origin) {
        fn set<T: Clone>(slot: &mut Option<Located<T>>, value: &T, at: Origin) {
            *slot = Some(Located {
                value: value.clone(),
                at,
            });
        }
        let found = &mut self.found;
        let unfollowed = &mut self.unfollowed;
        match setting {
            Setting::HostName(v) => set(&mut found.host_name, v, at),
            Setting::User(v) => set(&mut found.user, v, at),
            Setting::Port(v) => set(&mut found.port, v, at),
            Setting::IdentityFile(v) => found.identity_files.push(Located {
                value: v.clone(),
                at,
            }),
            Setting::CertificateFile(v) => found.certificate_files.push(Located {
                value: v.clone(),
                at,
            }),
            Setting::IdentitiesOnly(v) => set(&mut found.identities_only, v, at),
            Setting::Proxy(v) => set(&mut found.proxy, v, at),
            Setting::ConnectTimeout(v) => set(&mut found.connect_timeout, v, at),
            Setting::StrictHostKeyChecking(v) => set(&mut found.host_keys, v, at),
            Setting::UserKnownHostsFile(v) => set(&mut found.known_hosts, v, at),
            Setting::HostKeyAlias(v) => set(&mut unfollowed.host_key_alias, v, at),
            Setting::CanonicalizeHostname(on, text) => {
                set(&mut unfollowed.canonicalize, &(*on, text.clone()), at);
            }
            Setting::KnownHostsCommand(v) => set(&mut unfollowed.known_hosts_command, v, at),
        }
    }
}

fn sets_anything(file: &File) -> bool {
    file.lines.iter().any(|line| match &line.directive {
        Directive::Set(_) => true,
        Directive::Include(files) => files.iter().any(sets_anything),
        _ => false,
    })
}

/// `HostName` with `%h` (and `%%`) expanded: the only tokens it accepts.
fn expand_host_name(set: &Located<String>, alias: &str) -> Result<String, String> {
    // Only `%h` and `%%` can appear, so the other values are never read.
    let remote = Remote {
        host: alias,
        alias,
        port: 0,
        user: "",
    };
    tokens::expand(&set.value, Accepts::HostName, &remote, &Local::default()).map_err(|reason| {
        format!(
            "ssh_config {}: HostName `{}`: {reason}; ssh refuses it too",
            set.at, set.value
        )
    })
}

fn exec_refused(at: &Origin, command: &str, negated: bool) -> String {
    let exits = if negated { "non-zero" } else { "0" };
    format!(
        "ssh_config {at}: `Match {}exec` decides this host's settings, and shoal does not run \
         commands from ssh_config; ssh would run `{command}` with the user's shell and apply \
         the block below it if it exits {exits}. Decide it with `Host` or another `Match` \
         criterion, or use -F with a config without it",
        if negated { "!" } else { "" }
    )
}

/// The settings that would make ssh connect elsewhere or trust another key.
fn blocking(found: &HostConfig, unfollowed: Unfollowed) -> Vec<Located<Blocked>> {
    let blocked = |at: &Origin, setting: String, ssh_would: &'static str| Located {
        value: Blocked { setting, ssh_would },
        at: at.clone(),
    };
    let mut blocking = Vec::new();
    if let Some(Located {
        value: Proxy::Command(command),
        at,
    }) = &found.proxy
    {
        blocking.push(blocked(
            at,
            format!("ProxyCommand {command}"),
            "run that command and speak SSH over its input and output",
        ));
    }
    if let Some(alias) = &unfollowed.host_key_alias {
        blocking.push(blocked(
            &alias.at,
            format!("HostKeyAlias {}", alias.value),
            "look the host key up in known_hosts under that name instead",
        ));
    }
    if let Some(Located {
        value: (true, value),
        at,
    }) = &unfollowed.canonicalize
    {
        blocking.push(blocked(
            at,
            format!("CanonicalizeHostname {value}"),
            "look the name up in DNS under each CanonicalDomains suffix and read the config \
             again for the name it finds",
        ));
    }
    if let Some(command) = unfollowed.known_hosts_command.filter(|c| c.value != "none") {
        blocking.push(blocked(
            &command.at,
            format!("KnownHostsCommand {}", command.value),
            "run that command for more known_hosts lines",
        ));
    }
    blocking.sort_by_key(|b| (b.at.file.clone(), b.at.line));
    blocking
}
