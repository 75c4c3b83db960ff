//! ssh_config's patterns, as OpenSSH's match.c matches them: `*` and `?`
//! wildcards, comma-separated lists where a `!` pattern that matches vetoes
//! the list, and `Host` lines whose negated patterns veto the block.

/// `*` is any run of characters, `?` exactly one; everything else matches
/// itself, case-sensitively.
pub(super) fn matches(text: &str, pattern: &str) -> bool {
    wildcard(text.as_bytes(), pattern.as_bytes())
}

/// Greedy matching that backtracks only to the last `*`: linear in
/// practice, where trying every split at every `*` is exponential.
fn wildcard(text: &[u8], pattern: &[u8]) -> bool {
    let (mut t, mut p) = (0, 0);
    // Where the last `*` was, and how much text it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((after, taken)) => {
                    star = Some((after, taken + 1));
                    p = after;
                    t = taken + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// What a comma-separated list of patterns says about a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListMatch {
    /// A `!pattern` matched: the list refuses the text whatever else matches.
    Negated,
    Matched,
    NotMatched,
}

/// OpenSSH's `match_pattern_list()`; `lowercase` lowers the patterns (for
/// host names, which the caller lowers too).
pub(super) fn match_list(text: &str, list: &str, lowercase: bool) -> ListMatch {
    let mut matched = false;
    for pattern in list.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let pattern = if lowercase {
            pattern.to_ascii_lowercase()
        } else {
            pattern.to_string()
        };
        if matches(text, &pattern) {
            if negated {
                return ListMatch::Negated;
            }
            matched = true;
        }
    }
    if matched {
        ListMatch::Matched
    } else {
        ListMatch::NotMatched
    }
}

/// OpenSSH's `match_hostname()`: a list matched against a host name,
/// ignoring case.
pub(super) fn match_host(host: &str, list: &str) -> ListMatch {
    match_list(&host.to_ascii_lowercase(), list, true)
}

/// Whether a `Host` line's patterns (each its own word, `!` to negate)
/// select `host`: one plain pattern must match and no negated one.
pub(super) fn host_line_selects(patterns: &[String], host: &str) -> bool {
    let mut selected = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(negated) if matches(host, negated) => return false,
            Some(_) => {}
            None => selected |= matches(host, pattern),
        }
    }
    selected
}
