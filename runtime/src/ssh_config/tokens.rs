//! The `%` tokens, `${VAR}` references and leading `~` in ssh_config values,
//! expanded as OpenSSH's misc.c expands them. Each keyword accepts its own
//! tokens (`man ssh_config`, TOKENS); one it does not accept is an error, as
//! ssh stops on it too.

use std::path::PathBuf;

use sha1::{Digest, Sha1};

/// The local side of the tokens: `%u`, `%d`, `%i`, `%l` and `%L`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Local {
    /// `%u`: the local account's name.
    pub user: Option<String>,
    /// `%d` and `~`: its home directory.
    pub home: Option<PathBuf>,
    /// `%i`: its numeric id.
    pub uid: u32,
    /// `%l`: this machine's host name (`%L` is its first label).
    pub host_name: String,
}

impl Local {
    /// The running process's user, home and machine (home and user as
    /// `$HOME` and `$USER` give them, else the password database).
    pub fn from_process() -> Local {
        let env = crate::inventory::paths::Env::from_process();
        Local {
            user: env.user,
            home: env.home,
            uid: nix::unistd::getuid().as_raw(),
            host_name: nix::unistd::gethostname()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// The remote side of the tokens, for one host.
#[derive(Debug, Clone, Copy)]
pub struct Remote<'a> {
    /// `%h`: the host name ssh connects to.
    pub host: &'a str,
    /// `%n`: the name as given (the inventory's, or a ProxyJump's).
    pub alias: &'a str,
    /// `%p`.
    pub port: u16,
    /// `%r`: the user ssh logs in as.
    pub user: &'a str,
}

/// Which tokens a value accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// `HostName`: `%%` and `%h` (the name as given).
    HostName,
    /// `ProxyJump` (and `ProxyCommand`): `%%`, `%h`, `%n`, `%p` and `%r`.
    ProxyJump,
    /// `IdentityFile`, `CertificateFile`, `UserKnownHostsFile`: `%%`, `%C`,
    /// `%d`, `%h`, `%i`, `%k`, `%L`, `%l`, `%n`, `%p`, `%r`, `%u`, and
    /// `${VAR}` and a leading `~`.
    Path,
}

impl Accepts {
    fn tokens(self) -> &'static str {
        match self {
            Accepts::HostName => "%% and %h",
            Accepts::ProxyJump => "%%, %h, %n, %p and %r",
            Accepts::Path => "%%, %C, %d, %h, %i, %k, %L, %l, %n, %p, %r and %u",
        }
    }
}

/// `text` with its tokens replaced. `Err` says which token or reference
/// could not be expanded, and what the value accepts.
pub fn expand(
    text: &str,
    accepts: Accepts,
    remote: &Remote<'_>,
    local: &Local,
) -> Result<String, String> {
    let text = match accepts {
        Accepts::Path => tilde(text, local)?,
        _ => text.to_string(),
    };
    let mut expanded = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(['%', '$']) {
        expanded.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(reference) = tail.strip_prefix("${").filter(|_| accepts == Accepts::Path) {
            let name = reference
                .split_once('}')
                .map(|(name, _)| name)
                .ok_or_else(|| format!("`${{{reference}` has no closing `}}`"))?;
            if name.is_empty() {
                return Err("`${}` names no environment variable".to_string());
            }
            let value = std::env::var(name)
                .map_err(|_| format!("the environment variable `{name}` is not set"))?;
            expanded.push_str(&value);
            rest = &reference[name.len() + 1..];
            continue;
        }
        if let Some(after) = tail.strip_prefix('$') {
            expanded.push('$');
            rest = after;
            continue;
        }
        let mut chars = tail[1..].chars();
        let token = chars
            .next()
            .ok_or_else(|| format!("a `%` ends the value (it accepts {})", accepts.tokens()))?;
        let value = value_of(token, accepts, remote, local).ok_or_else(|| {
            format!(
                "`%{token}` is not a token it accepts (it accepts {})",
                accepts.tokens()
            )
        })??;
        expanded.push_str(&value);
        rest = chars.as_str();
    }
    expanded.push_str(rest);
    Ok(expanded)
}

/// [`expand`] for a path.
pub fn expand_path(text: &str, remote: &Remote<'_>, local: &Local) -> Result<PathBuf, String> {
    expand(text, Accepts::Path, remote, local).map(PathBuf::from)
}

/// What `%token` stands for: `None` when the value does not accept it,
/// `Some(Err)` when it does but the value is not known here.
fn value_of(
    token: char,
    accepts: Accepts,
    remote: &Remote<'_>,
    local: &Local,
) -> Option<Result<String, String>> {
    let known = |value: Option<String>, what: &str| {
        value.ok_or_else(|| format!("`%{token}` needs the local {what}, which is not known"))
    };
    let value = match (accepts, token) {
        (_, '%') => "%".to_string(),
        (_, 'h') => remote.host.to_string(),
        (Accepts::HostName, _) => return None,
        (_, 'n') => remote.alias.to_string(),
        (_, 'p') => remote.port.to_string(),
        (_, 'r') => remote.user.to_string(),
        (Accepts::ProxyJump, _) => return None,
        (_, 'u') => return Some(known(local.user.clone(), "user name")),
        (_, 'd') => {
            let home = local
                .home
                .as_ref()
                .map(|h| h.to_string_lossy().into_owned());
            return Some(known(home, "home directory"));
        }
        (_, 'i') => local.uid.to_string(),
        (_, 'l') => local.host_name.clone(),
        (_, 'L') => local.host_name.split('.').next().unwrap_or("").to_string(),
        // The host key alias, which shoal never has: a host with
        // `HostKeyAlias` is not connected.
        (_, 'k') => remote.alias.to_string(),
        (_, 'C') => connection_hash(remote, local),
        _ => return None,
    };
    Some(Ok(value))
}

/// `%C`: the SHA-1, in hex, of `%l%h%p%r` (as OpenSSH 9.2 computes it;
/// later versions also hash the ProxyJump).
fn connection_hash(remote: &Remote<'_>, local: &Local) -> String {
    let mut hash = Sha1::new();
    for part in [
        local.host_name.as_str(),
        remote.host,
        &remote.port.to_string(),
        remote.user,
    ] {
        hash.update(part.as_bytes());
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A leading `~` or `~/` is the local home, `~user` that user's home.
fn tilde(text: &str, local: &Local) -> Result<String, String> {
    let Some(after) = text.strip_prefix('~') else {
        return Ok(text.to_string());
    };
    let (user, path) = match after.split_once('/') {
        Some((user, path)) => (user, path.trim_start_matches('/')),
        None => (after, ""),
    };
    let home: PathBuf = if user.is_empty() {
        local
            .home
            .clone()
            .ok_or("`~` needs the local home directory, which is not known")?
    } else {
        nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(|account| account.dir)
            .ok_or_else(|| format!("`~{user}`: there is no user {user}"))?
    };
    // OpenSSH joins with one `/`, and `~` alone keeps it: `/home/me/`.
    let home = home.to_string_lossy();
    let slash = if home.ends_with('/') { "" } else { "/" };
    Ok(format!("{home}{slash}{path}"))
}
