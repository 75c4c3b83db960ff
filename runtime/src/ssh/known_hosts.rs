//! Strict host-key checking against an OpenSSH known_hosts file: plain,
//! wildcard, negated and hashed (`|1|salt|hash`) host patterns, `[host]:port`
//! for ports other than 22, `@revoked` keys, and trust-on-first-use appends.
//!
//! russh ships a known_hosts reader, but it splits on single spaces, stops at
//! the first malformed line, miscounts lines after comments and does not
//! understand markers or wildcards, so shoal reads the file itself, the way
//! OpenSSH's hostfile.c does: a line it cannot parse is skipped, not fatal.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;

use crate::ssh_config::HostKeyPolicy;

/// One usable line of a known_hosts file.
#[derive(Debug, Clone)]
struct Entry {
    /// 1-based line number, for messages.
    line: usize,
    marker: Marker,
    /// The comma-separated host patterns, or one hashed name.
    hosts: String,
    key: PublicKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    /// A certificate authority key. shoal does not ask servers for host
    /// certificates, so these lines never vouch for a key.
    CertAuthority,
}

/// The parsed contents of a known_hosts file.
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownHosts {
    entries: Vec<Entry>,
    /// Lines in the file, so an appended entry knows its line number.
    lines: usize,
    /// The entries whose patterns are all plain names (no wildcard, no
    /// negation, not hashed), by each lowercased name: found at once, where
    /// scanning every entry for every host would cost a 10,000-host fleet
    /// 10,000 × 10,000 pattern matches (docs/BENCHMARKS.md, "Scale").
    by_name: HashMap<String, Vec<usize>>,
    /// The other entries, in file order, which each host is matched against.
    patterns: Vec<usize>,
}

/// What known_hosts says about the key a server offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A line for this host records exactly this key.
    Known,
    /// No line for this host records a key of this type.
    Unknown,
    /// A line for this host records a different key of the same type.
    Changed { line: usize },
    /// The key is listed as `@revoked` for this host.
    Revoked { line: usize },
}

impl KnownHosts {
    pub fn parse(text: &str) -> KnownHosts {
        let entries: Vec<Entry> = text
            .lines()
            .enumerate()
            .filter_map(|(index, line)| parse_line(index + 1, line))
            .collect();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut patterns = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let plain = !entry.hosts.starts_with('|') && !entry.hosts.contains(['*', '?', '!']);
            if plain {
                for name in entry.hosts.split(',') {
                    by_name
                        .entry(name.to_ascii_lowercase())
                        .or_default()
                        .push(index);
                }
            } else {
                patterns.push(index);
            }
        }
        KnownHosts {
            entries,
            lines: text.lines().count(),
            by_name,
            patterns,
        }
    }

    /// The entries for the host OpenSSH calls `name` (`host_port`), in file
    /// order.
    fn entries_for(&self, name: &str) -> impl Iterator<Item = &Entry> {
        let mut indices: Vec<usize> = self
            .by_name
            .get(name)
            .into_iter()
            .flatten()
            .chain(&self.patterns)
            .copied()
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
            .into_iter()
            .map(|index| &self.entries[index])
            .filter(move |entry| matches_host(&entry.hosts, name))
    }

    /// Checks `key` for the host OpenSSH would call `host_port(host, port)`.
    /// Like OpenSSH, a revoked key loses even if another line trusts it, and a
    /// matching line wins over one that records a different key of the type.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        let name = host_port(host, port);
        let offered = key.key_data();
        let mut changed = None;
        let mut known = false;
        for entry in self.entries_for(&name) {
            let same_key = entry.key.key_data() == offered;
            match entry.marker {
                Marker::Revoked if same_key => return Verdict::Revoked { line: entry.line },
                Marker::Revoked | Marker::CertAuthority => {}
                Marker::None if same_key => known = true,
                Marker::None => {
                    if entry.key.algorithm() == key.algorithm() {
                        changed.get_or_insert(entry.line);
                    }
                }
            }
        }
        match (known, changed) {
            (true, _) => Verdict::Known,
            (false, Some(line)) => Verdict::Changed { line },
            (false, None) => Verdict::Unknown,
        }
    }

    /// The host-key algorithms recorded for the host, to ask the server for
    /// first. OpenSSH does the same: a server that has an RSA key on file and
    /// also an Ed25519 key we have never seen should be verified with the one
    /// we can check, not reported unknown.
    pub fn algorithms_for(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let name = host_port(host, port);
        let mut algorithms = Vec::new();
        for entry in self.entries_for(&name) {
            if entry.marker != Marker::None {
                continue;
            }
            let recorded = entry.key.algorithm();
            let preferred: &[Algorithm] = match recorded {
                // The SHA-2 signature variants; SHA-1 `ssh-rsa` stays last in
                // the default list as a fallback.
                Algorithm::Rsa { .. } => &[
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha512),
                    },
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha256),
                    },
                ],
                _ => std::slice::from_ref(&recorded),
            };
            for algorithm in preferred {
                if !algorithms.contains(algorithm) {
                    algorithms.push(algorithm.clone());
                }
            }
        }
        algorithms
    }
}

fn parse_line(line: usize, text: &str) -> Option<Entry> {
    let mut fields = text.split_whitespace();
    let mut first = fields.next()?;
    if first.starts_with('#') {
        return None;
    }
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        marker if marker.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next()?;
    }
    let _key_type = fields.next()?;
    let key = russh::keys::parse_public_key_base64(fields.next()?).ok()?;
    Some(Entry {
        line,
        marker,
        hosts: first.to_string(),
        key,
    })
}

/// The name a host goes by in known_hosts: `host` on port 22, else
/// `[host]:port`. Host names compare case-insensitively, as in OpenSSH.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// OpenSSH's match_hostname: a hashed name matches by HMAC; otherwise any
/// matching pattern matches, unless a matching `!pattern` vetoes the line.
fn matches_host(hosts: &str, name: &str) -> bool {
    if let Some(hashed) = hosts.strip_prefix("|1|") {
        return matches_hashed(hashed, name);
    }
    let mut matched = false;
    for pattern in hosts.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if glob(&negated.to_ascii_lowercase(), name) => return false,
            Some(_) => {}
            None => matched |= glob(&pattern.to_ascii_lowercase(), name),
        }
    }
    matched
}

/// `salt|hash`, both base64: the name matches when HMAC-SHA1(salt, name) is
/// the hash.
fn matches_hashed(salt_and_hash: &str, name: &str) -> bool {
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// Wildcard match: `*` is any run of characters, `?` is one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point: linear in practice and no
    // recursion depth to worry about on hostile input.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The known_hosts file of one executor. It is re-read when it changes on
/// disk, so a key added with ssh-keyscan after a `hostkey_unknown` row is
/// seen by the next query in the same session.
#[derive(Debug)]
pub(crate) struct KnownHostsFile {
    path: PathBuf,
    /// The parsed file and the stamp it was parsed at. The mutex also
    /// serialises appends, so concurrent first-use connections cannot
    /// interleave their lines.
    cache: Mutex<Option<(Stamp, Arc<KnownHosts>)>>,
}

/// Enough of a file's metadata to notice that it changed.
type Stamp = Option<(u64, SystemTime)>;

fn stamp(path: &Path) -> Stamp {
    let meta = fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Why a host key was not accepted, or why it could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unknown,
    Changed {
        line: usize,
    },
    Revoked {
        line: usize,
    },
    /// The file exists but cannot be read, or a new key cannot be recorded.
    Unreadable(String),
}

impl KnownHostsFile {
    pub fn new(path: PathBuf) -> KnownHostsFile {
        KnownHostsFile {
            path,
            cache: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current contents; a missing file is an empty one.
    pub fn current(&self) -> Result<Arc<KnownHosts>, String> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.refresh(&mut cache)
    }

    fn refresh(
        &self,
        cache: &mut Option<(Stamp, Arc<KnownHosts>)>,
    ) -> Result<Arc<KnownHosts>, String> {
        let now = stamp(&self.path);
        if let Some((seen, parsed)) = cache.as_ref()
            && *seen == now
        {
            return Ok(parsed.clone());
        }
        let parsed = match fs::read_to_string(&self.path) {
            Ok(text) => KnownHosts::parse(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => KnownHosts::default(),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        let parsed = Arc::new(parsed);
        *cache = Some((now, parsed.clone()));
        Ok(parsed)
    }

    /// Accepts `key` for the host if known_hosts trusts it, or, unless the
    /// policy is strict, if the host has no key of its type yet (the key is
    /// then recorded). A changed or revoked key is refused unless the user's
    /// ssh_config turned checking off for the host.
    pub fn verify(
        &self,
        host: &str,
        port: u16,
        key: &PublicKey,
        policy: HostKeyPolicy,
    ) -> Result<(), Refusal> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = self.refresh(&mut cache).map_err(Refusal::Unreadable)?;
        match known.check(host, port, key) {
            Verdict::Known => Ok(()),
            Verdict::Changed { .. } | Verdict::Revoked { .. } if policy == HostKeyPolicy::Off => {
                Ok(())
            }
            Verdict::Changed { line } => Err(Refusal::Changed { line }),
            Verdict::Revoked { line } => Err(Refusal::Revoked { line }),
            Verdict::Unknown if policy == HostKeyPolicy::Strict => Err(Refusal::Unknown),
            Verdict::Unknown => {
                append(&self.path, host, port, key).map_err(|e| {
                    Refusal::Unreadable(format!(
                        "cannot record the key in {}: {e}",
                        self.path.display()
                    ))
                })?;
                // Keep the parsed copy in step with the file rather than
                // re-reading it once per host on a first run over a fleet,
                // and in place where no lookup holds it: a copy per new key
                // would make a first run over 10,000 hosts quadratic.
                drop(known);
                let Some((seen, parsed)) = cache.as_mut() else {
                    return Ok(());
                };
                let updated = Arc::make_mut(parsed);
                updated.lines += 1;
                let name = host_port(host, port);
                updated
                    .by_name
                    .entry(name.clone())
                    .or_default()
                    .push(updated.entries.len());
                updated.entries.push(Entry {
                    line: updated.lines,
                    marker: Marker::None,
                    hosts: name,
                    key: key.clone(),
                });
                *seen = stamp(&self.path);
                Ok(())
            }
        }
    }
}

/// Appends `host key` as OpenSSH's accept-new does (unhashed, so the file
/// stays readable; OpenSSH hashes only when HashKnownHosts is set).
fn append(path: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut line = String::new();
    if file.seek(SeekFrom::End(-1)).is_ok() {
        let mut last = [0u8; 1];
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.push('\n');
        }
    }
    let mut bare = key.clone();
    bare.set_comment("");
    let text = bare.to_openssh().map_err(io::Error::other)?;
    line.push_str(&format!("{} {}\n", host_port(host, port), text.trim_end()));
    // One write call: appends from one process do not interleave mid-line.
    file.write_all(line.as_bytes())
}

/// `SHA256:...`, as `ssh-keygen -l` prints it.
pub(crate) fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of `[127.0.0.1]:2222` in the hashed line below, made with
    /// `ssh-keygen -H`.
    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIGnb1blMBd8ajs1IzTtERhA7L1Jy4XM5blxzSYbSpBCT";
    const HASHED_A: &str = "|1|zjGveT23vQcKtTUEgifCEqb/Ha8=|xguTPg9vUY7j5xrLjRIPdYf+8+s=";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIG5NvOEhk3ZDUbq4QI4IbV657Gn3XNINV7sWW3RVERHQ";

    fn key(base64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(base64).unwrap()
    }

    #[test]
    fn plain_entries_match_on_port_22_and_bracketed_entries_elsewhere() {
        let known = KnownHosts::parse(&format!(
            "web001 ssh-ed25519 {KEY_A}\n[web002]:2222 ssh-ed25519 {KEY_B}\n"
        ));
        assert_eq!(known.check("web001", 22, &key(KEY_A)), Verdict::Known);
        assert_eq!(known.check("WEB001", 22, &key(KEY_A)), Verdict::Known);
        assert_eq!(known.check("web001", 2222, &key(KEY_A)), Verdict::Unknown);
        assert_eq!(known.check("web002", 2222, &key(KEY_B)), Verdict::Known);
        assert_eq!(known.check("web002", 22, &key(KEY_B)), Verdict::Unknown);
    }

    #[test]
    fn hashed_entries_match_by_hmac() {
        let known = KnownHosts::parse(&format!("{HASHED_A} ssh-ed25519 {KEY_A}\n"));
        assert_eq!(known.check("127.0.0.1", 2222, &key(KEY_A)), Verdict::Known);
        assert_eq!(
            known.check("127.0.0.2", 2222, &key(KEY_A)),
            Verdict::Unknown
        );
        assert_eq!(
            known.check("127.0.0.1", 2222, &key(KEY_B)),
            Verdict::Changed { line: 1 }
        );
    }

    #[test]
    fn russh_hashed_vector_matches_too() {
        // The vector from russh's own tests: `example.com` on port 22.
        let line = "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= ssh-ed25519 \
                    AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";
        let offered = key("AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF");
        assert_eq!(
            KnownHosts::parse(line).check("example.com", 22, &offered),
            Verdict::Known
        );
    }

    #[test]
    fn a_different_key_of_the_same_type_is_a_change_with_its_line() {
        let known = KnownHosts::parse(&format!("# comment\n\nweb001 ssh-ed25519 {KEY_A}\n"));
        assert_eq!(
            known.check("web001", 22, &key(KEY_B)),
            Verdict::Changed { line: 3 }
        );
    }

    #[test]
    fn indexed_names_and_patterns_are_checked_together_in_file_order() {
        let mut text = format!("*.example.com ssh-ed25519 {KEY_B}\n");
        for i in 0..1000 {
            text.push_str(&format!(
                "web{i:04}.example.com,[Web{i:04}]:2222 ssh-ed25519 {KEY_A}\n"
            ));
        }
        let known = KnownHosts::parse(&text);
        assert_eq!(known.by_name.len(), 2000);
        assert_eq!(known.patterns, [0]);
        // The wildcard line (1) records another key, but a plain line vouches.
        assert_eq!(
            known.check("WEB0500.example.com", 22, &key(KEY_A)),
            Verdict::Known
        );
        assert_eq!(known.check("web0500", 2222, &key(KEY_A)), Verdict::Known);
        // An unrecorded key: the first line that names the host is the change.
        let other = "AAAAC3NzaC1lZDI1NTE5AAAAINI+aIbqS+unAHM2ATzn1NF7h990/JRKZHXGApz2A7SG";
        assert_eq!(
            known.check("web0500.example.com", 22, &key(other)),
            Verdict::Changed { line: 1 }
        );
        assert_eq!(
            known.check("db1.example.com", 22, &key(KEY_B)),
            Verdict::Known
        );
        assert_eq!(known.check("web0500", 22, &key(KEY_A)), Verdict::Unknown);
    }

    #[test]
    fn a_matching_line_wins_over_a_changed_one() {
        let known = KnownHosts::parse(&format!(
            "web001 ssh-ed25519 {KEY_B}\nweb001 ssh-ed25519 {KEY_A}\n"
        ));
        assert_eq!(known.check("web001", 22, &key(KEY_A)), Verdict::Known);
    }

    #[test]
    fn patterns_lists_wildcards_and_negation() {
        let known = KnownHosts::parse(&format!(
            "db1,web*.example.com,!web9.example.com,10.0.0.? ssh-ed25519 {KEY_A}\n"
        ));
        let a = key(KEY_A);
        assert_eq!(known.check("db1", 22, &a), Verdict::Known);
        assert_eq!(known.check("web1.example.com", 22, &a), Verdict::Known);
        assert_eq!(known.check("web9.example.com", 22, &a), Verdict::Unknown);
        assert_eq!(known.check("10.0.0.7", 22, &a), Verdict::Known);
        assert_eq!(known.check("10.0.0.17", 22, &a), Verdict::Unknown);
    }

    #[test]
    fn glob_matches_like_openssh() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("[*]:2222", "[web]:2222"));
        assert!(!glob("?", ""));
    }

    #[test]
    fn revoked_keys_lose_and_cert_authorities_do_not_vouch() {
        let known = KnownHosts::parse(&format!(
            "web001 ssh-ed25519 {KEY_A}\n@revoked * ssh-ed25519 {KEY_A}\n@cert-authority * ssh-ed25519 {KEY_B}\n"
        ));
        assert_eq!(
            known.check("web001", 22, &key(KEY_A)),
            Verdict::Revoked { line: 2 }
        );
        assert_eq!(known.check("web002", 22, &key(KEY_B)), Verdict::Unknown);
    }

    #[test]
    fn malformed_lines_are_skipped_and_line_numbers_stay_right() {
        let known = KnownHosts::parse(&format!(
            "garbage\nweb001 ssh-ed25519 not-base64!\n@bogus web001 ssh-ed25519 {KEY_B}\n\tweb001   ssh-ed25519\t{KEY_A}  comment here\n"
        ));
        assert_eq!(known.check("web001", 22, &key(KEY_A)), Verdict::Known);
        assert_eq!(
            known.check("web001", 22, &key(KEY_B)),
            Verdict::Changed { line: 4 }
        );
    }

    #[test]
    fn recorded_algorithms_come_first() {
        let known = KnownHosts::parse(&format!(
            "[h]:2222 ssh-ed25519 {KEY_A}\nother ssh-ed25519 {KEY_B}\n"
        ));
        assert_eq!(known.algorithms_for("h", 2222), [Algorithm::Ed25519]);
        assert!(known.algorithms_for("h", 22).is_empty());
    }

    #[test]
    fn accept_new_records_unknown_keys_and_still_refuses_changed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssh/known_hosts");
        let file = KnownHostsFile::new(path.clone());
        let a = key(KEY_A);
        assert_eq!(
            file.verify("10.0.0.1", 2222, &a, HostKeyPolicy::Strict),
            Err(Refusal::Unknown)
        );
        assert_eq!(
            file.verify("10.0.0.1", 2222, &a, HostKeyPolicy::AcceptNew),
            Ok(())
        );
        assert_eq!(
            file.verify("10.0.0.1", 2222, &a, HostKeyPolicy::Strict),
            Ok(())
        );
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("[10.0.0.1]:2222 ssh-ed25519 {KEY_A}\n"));
        let changed = Err(Refusal::Changed { line: 1 });
        assert_eq!(
            file.verify("10.0.0.1", 2222, &key(KEY_B), HostKeyPolicy::AcceptNew),
            changed
        );
        // A fresh reader agrees with the in-memory copy.
        let fresh = KnownHostsFile::new(path.clone());
        assert_eq!(
            fresh.verify("10.0.0.1", 2222, &key(KEY_B), HostKeyPolicy::AcceptNew),
            changed
        );
    }

    #[test]
    fn appends_start_on_a_new_line_and_edits_are_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        fs::write(&path, format!("web001 ssh-ed25519 {KEY_B}")).unwrap();
        let file = KnownHostsFile::new(path.clone());
        assert_eq!(
            file.verify("web002", 22, &key(KEY_A), HostKeyPolicy::Strict),
            Err(Refusal::Unknown)
        );
        assert_eq!(
            file.verify("web002", 22, &key(KEY_A), HostKeyPolicy::AcceptNew),
            Ok(())
        );
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("web001 ssh-ed25519 {KEY_B}\nweb002 ssh-ed25519 {KEY_A}\n")
        );

        // Someone runs ssh-keyscan >> known_hosts during the session.
        fs::write(
            &path,
            format!("{text}web003 ssh-ed25519 {KEY_A} extra-long-comment\n"),
        )
        .unwrap();
        assert_eq!(
            file.verify("web003", 22, &key(KEY_A), HostKeyPolicy::Strict),
            Ok(())
        );
    }

    #[test]
    fn fingerprints_print_like_ssh_keygen() {
        assert_eq!(
            fingerprint(&key(KEY_A)),
            "SHA256:BbVgxq6jvspv30Ssw4TvamI8Adtfcq46BV9YcyyzqxQ"
        );
    }
}
