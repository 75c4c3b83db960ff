//! ssh_config files read into directives, as readconf.c reads them for any
//! host: every line is checked, so a bad value is an error even in a block
//! that applies to no host (ssh refuses such a file too), and each `Include`
//! is read where it stands, its files in glob order.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::criteria::{self, Criterion};
use super::{HostKeyPolicy, JumpSpec, SshConfigError, lexer};
use crate::inventory::paths;

/// How deep `Include` may nest: OpenSSH's `READCONF_MAX_DEPTH`.
const MAX_INCLUDE_DEPTH: usize = 16;

/// One file, its lines in order.
#[derive(Debug, Clone)]
pub(super) struct File {
    pub path: Arc<Path>,
    pub lines: Vec<Line>,
}

/// One line that says something (blank and comment lines are dropped).
#[derive(Debug, Clone)]
pub(super) struct Line {
    /// 1-based.
    pub number: usize,
    /// The keyword as written, for messages.
    pub keyword: String,
    pub directive: Directive,
}

#[derive(Debug, Clone)]
pub(super) enum Directive {
    Host(Vec<String>),
    Match(Vec<Criterion>),
    Include(Vec<File>),
    Set(Setting),
    /// A keyword shoal does not act on (OpenSSH's or not).
    Other,
}

/// A value of a keyword shoal acts on, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Setting {
    HostName(String),
    User(String),
    Port(u16),
    IdentityFile(String),
    CertificateFile(String),
    IdentitiesOnly(bool),
    /// `ProxyJump` and `ProxyCommand`: whichever comes first wins.
    Proxy(Proxy),
    /// `None` for `none`: no timeout.
    ConnectTimeout(Option<Duration>),
    StrictHostKeyChecking(HostKeyPolicy),
    UserKnownHostsFile(Vec<String>),
    HostKeyAlias(String),
    /// Whether it asks for canonicalization (`yes`, `always`), as written.
    CanonicalizeHostname(bool, String),
    KnownHostsCommand(String),
}

/// How ssh reaches a host, from `ProxyJump` or `ProxyCommand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// `ProxyJump none` or `ProxyCommand none`.
    Direct,
    /// The hops as written (`[user@]host[:port]`, or `ssh://...`),
    /// outermost first, tokens not yet expanded.
    Jump(Vec<String>),
    /// A command ssh would run and talk to.
    Command(String),
}

/// Reads `path`. `check_owner`: refuse it, and every file it includes, when
/// another user owns it or others can write it, as ssh does for
/// `~/.ssh/config` (but not for `-F FILE`).
pub(super) fn read(
    path: &Path,
    check_owner: bool,
    home: Option<&Path>,
) -> Result<File, SshConfigError> {
    let reader = Reader { home };
    reader.read(path, check_owner, &mut Vec::new())
}

struct Reader<'a> {
    /// `~` in `Include`, and the directory relative ones are read from.
    home: Option<&'a Path>,
}

impl Reader<'_> {
    /// `stack`: the files being read, outermost first, to find loops.
    fn read(
        &self,
        path: &Path,
        check_owner: bool,
        stack: &mut Vec<PathBuf>,
    ) -> Result<File, SshConfigError> {
        let failed = |line: Option<usize>, reason: String| SshConfigError {
            path: paths::display(path),
            line,
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| failed(None, format!("cannot read it: {e}")))?;
        if check_owner {
            owner_check(path).map_err(|reason| failed(None, reason))?;
        }
        stack.push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
        let mut lines = Vec::new();
        for (index, text) in text.lines().enumerate() {
            let number = index + 1;
            let Some((keyword, rest)) = lexer::keyword(text) else {
                continue;
            };
            let directive =
                self.directive(keyword, rest, stack)
                    .map_err(|reason| match reason {
                        Failure::Here(reason) => failed(Some(number), reason),
                        Failure::Included(error) => error,
                    })?;
            lines.push(Line {
                number,
                keyword: keyword.to_string(),
                directive,
            });
        }
        stack.pop();
        Ok(File {
            path: Arc::from(path),
            lines,
        })
    }

    fn directive(
        &self,
        keyword: &str,
        rest: &str,
        stack: &mut Vec<PathBuf>,
    ) -> Result<Directive, Failure> {
        if rest.is_empty() {
            return Err(format!("`{keyword}` has no value (ssh refuses the file too)").into());
        }
        let args = lexer::arguments(rest)
            .map_err(|()| "a quote is not closed (ssh refuses the file too)".to_string())?;
        let lower = keyword.to_ascii_lowercase();
        let one = || one(keyword, &args);
        let set = Directive::Set;
        Ok(match lower.as_str() {
            "host" => {
                if args.iter().any(String::is_empty) {
                    return Err(empty(keyword).into());
                }
                Directive::Host(args)
            }
            "match" => Directive::Match(criteria::parse(rest)?),
            "include" => Directive::Include(self.include(keyword, &args, stack)?),
            "hostname" => set(Setting::HostName(one()?)),
            "user" => set(Setting::User(one()?)),
            "port" => set(Setting::Port(port(&one()?)?)),
            "identityfile" => set(Setting::IdentityFile(one()?)),
            "certificatefile" => set(Setting::CertificateFile(one()?)),
            "identitiesonly" => set(Setting::IdentitiesOnly(flag(keyword, &one()?)?)),
            "hostkeyalias" => set(Setting::HostKeyAlias(one()?)),
            "proxyjump" => set(Setting::Proxy(proxy_jump(rest)?)),
            "proxycommand" => set(Setting::Proxy(if rest == "none" {
                Proxy::Direct
            } else {
                Proxy::Command(rest.to_string())
            })),
            "knownhostscommand" => set(Setting::KnownHostsCommand(rest.to_string())),
            "connecttimeout" => set(Setting::ConnectTimeout(timeout(&one()?)?)),
            "stricthostkeychecking" => {
                let policy = match one()?.to_ascii_lowercase().as_str() {
                    "yes" | "true" => HostKeyPolicy::Strict,
                    // shoal never asks: an unknown key is refused.
                    "ask" => HostKeyPolicy::Strict,
                    "accept-new" => HostKeyPolicy::AcceptNew,
                    "no" | "off" | "false" => HostKeyPolicy::Off,
                    other => return Err(unknown_value(keyword, other).into()),
                };
                set(Setting::StrictHostKeyChecking(policy))
            }
            "userknownhostsfile" => {
                if args.iter().any(String::is_empty) {
                    return Err(empty(keyword).into());
                }
                if args.len() > 1 && args.iter().any(|a| a.eq_ignore_ascii_case("none")) {
                    return Err(format!(
                        "`{keyword} none` must stand alone (ssh refuses the file too)"
                    )
                    .into());
                }
                set(Setting::UserKnownHostsFile(args))
            }
            "canonicalizehostname" => {
                let value = one()?;
                let on = match value.to_ascii_lowercase().as_str() {
                    "yes" | "true" | "always" => true,
                    "no" | "false" => false,
                    other => return Err(unknown_value(keyword, other).into()),
                };
                set(Setting::CanonicalizeHostname(on, value))
            }
            _ => Directive::Other,
        })
    }

    /// The files an `Include` line names, each read in full.
    fn include(
        &self,
        keyword: &str,
        args: &[String],
        stack: &mut Vec<PathBuf>,
    ) -> Result<Vec<File>, Failure> {
        let mut files = Vec::new();
        for arg in args {
            if arg.is_empty() {
                return Err(empty(keyword).into());
            }
            let home = || {
                self.home.ok_or_else(|| {
                    format!("`{keyword} {arg}` needs the home directory, which is not known")
                })
            };
            // Relative paths are under ~/.ssh, even in a file given with -F.
            let pattern = match arg.strip_prefix('~') {
                Some(rest) => home()?.join(rest.trim_start_matches('/')),
                None if Path::new(arg).is_absolute() => PathBuf::from(arg),
                None => home()?.join(".ssh").join(arg),
            };
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: true,
            };
            let matched = glob::glob_with(&pattern.to_string_lossy(), options)
                .map_err(|e| format!("`{keyword} {arg}` is not a valid pattern: {e}"))?;
            let mut found: Vec<PathBuf> = matched.filter_map(Result::ok).collect();
            found.sort();
            for path in found {
                // A directory reads as an empty file in ssh.
                if path.is_dir() {
                    continue;
                }
                let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if let Some(start) = stack.iter().position(|open| *open == canonical) {
                    let chain: Vec<String> = stack[start..]
                        .iter()
                        .chain([&canonical])
                        .map(|p| paths::display(p))
                        .collect();
                    return Err(format!(
                        "`{keyword}` loop: {} (ssh gives up after {MAX_INCLUDE_DEPTH} nested \
                         includes)",
                        chain.join(" includes ")
                    )
                    .into());
                }
                if stack.len() > MAX_INCLUDE_DEPTH {
                    return Err(format!(
                        "`{keyword}` nests more than {MAX_INCLUDE_DEPTH} files deep (ssh \
                         refuses that too)"
                    )
                    .into());
                }
                files.push(self.read(&path, true, stack).map_err(Failure::Included)?);
            }
        }
        Ok(files)
    }
}

/// Why a line could not be read: its own fault, or that of a file it
/// includes (which names its own file and line).
enum Failure {
    Here(String),
    Included(SshConfigError),
}

impl From<String> for Failure {
    fn from(reason: String) -> Failure {
        Failure::Here(reason)
    }
}

/// ssh's check on its own config files: owned by the user or root, and
/// writable by no one else.
fn owner_check(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    let me = nix::unistd::getuid().as_raw();
    if (meta.uid() != 0 && meta.uid() != me) || meta.mode() & 0o022 != 0 {
        return Err(
            "bad owner or permissions: another user owns it or others can write it, and ssh \
             refuses such a file too (chmod go-w, or chown it)"
                .to_string(),
        );
    }
    Ok(())
}

fn one(keyword: &str, args: &[String]) -> Result<String, String> {
    match args {
        [value] if !value.is_empty() => Ok(value.clone()),
        [] | [_] => Err(format!(
            "`{keyword}` has no value (ssh refuses the file too)"
        )),
        _ => Err(format!(
            "`{keyword}` takes one value, not {} (ssh refuses the file too)",
            args.len()
        )),
    }
}

fn empty(keyword: &str) -> String {
    format!("`{keyword}` has an empty value (ssh refuses the file too)")
}

fn unknown_value(keyword: &str, value: &str) -> String {
    format!("`{keyword} {value}`: not a value ssh knows (ssh refuses the file too)")
}

fn flag(keyword: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        other => Err(unknown_value(keyword, other)),
    }
}

fn port(value: &str) -> Result<u16, String> {
    value.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| {
        format!(
            "`Port {value}` is not a port number from 1 to 65535 (ssh refuses the file too, \
             unless it names a service in /etc/services, which shoal does not read)"
        )
    })
}

/// OpenSSH's `convtime()`: `none`, or numbers with an optional unit each
/// (`s`, `m`, `h`, `d`, `w`), added up: `90`, `1m30s`.
fn timeout(value: &str) -> Result<Option<Duration>, String> {
    if value == "none" {
        return Ok(None);
    }
    let bad = || format!("`ConnectTimeout {value}` is not a time (ssh refuses the file too)");
    let mut total: u64 = 0;
    let mut rest = value;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let (unit, after) = match rest.chars().next() {
            None => (1, rest),
            Some(c) => {
                let unit = match c.to_ascii_lowercase() {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86400,
                    'w' => 604800,
                    _ => return Err(bad()),
                };
                (unit, &rest[c.len_utf8()..])
            }
        };
        rest = after;
        total = number
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .filter(|&t| t <= i32::MAX as u64)
            .ok_or_else(bad)?;
    }
    Ok(Some(Duration::from_secs(total)))
}

/// A `ProxyJump` value checked as ssh's `parse_jump()` checks it: `none`,
/// or hops separated by commas, each `[user@]host[:port]` or
/// `ssh://[user@]host[:port]`; a `#` starts a comment.
fn proxy_jump(rest: &str) -> Result<Proxy, String> {
    let text = rest.split('#').next().unwrap_or("").trim_end();
    if text.eq_ignore_ascii_case("none") {
        return Ok(Proxy::Direct);
    }
    let hops: Vec<String> = text.split(',').map(str::to_string).collect();
    for hop in &hops {
        JumpSpec::parse(hop).map_err(|reason| format!("{reason} (ssh refuses the file too)"))?;
    }
    Ok(Proxy::Jump(hops))
}
