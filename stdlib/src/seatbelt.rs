//! `run`'s seatbelt: a command that looks like a change (a restart, a
//! removal, a package install, a write through `>`) is refused by `run`,
//! which is the read path, with a pointer to `act` (waves, canary, verify)
//! or `--force-run`. It guards against slips, not against intent: a
//! command can always be written so that it slips through (`sh -c`,
//! `eval`, a script on the host), and the README says so.

/// Programs that change a host whatever their arguments.
pub const ALWAYS: &[&str] = &[
    "reboot", "shutdown", "poweroff", "halt", "rm", "rmdir", "unlink", "shred", "kill", "pkill",
    "killall", "mv", "chmod", "chown", "chgrp", "tee", "dd", "mkfs", "truncate", "useradd",
    "userdel", "usermod", "passwd", "iptables", "nft",
];

/// Programs that change a host when one of these words follows them.
pub const WITH_WORD: &[(&str, &[&str])] = &[
    (
        "systemctl",
        &[
            "start",
            "stop",
            "restart",
            "reload",
            "try-restart",
            "reload-or-restart",
            "enable",
            "disable",
            "mask",
            "unmask",
            "kill",
            "isolate",
            "daemon-reload",
            "reboot",
            "poweroff",
            "halt",
            "set-property",
        ],
    ),
    (
        "service",
        &["start", "stop", "restart", "reload", "force-reload"],
    ),
    (
        "apt",
        &[
            "install",
            "remove",
            "purge",
            "upgrade",
            "full-upgrade",
            "dist-upgrade",
            "autoremove",
        ],
    ),
    (
        "apt-get",
        &[
            "install",
            "remove",
            "purge",
            "upgrade",
            "dist-upgrade",
            "autoremove",
        ],
    ),
    (
        "yum",
        &[
            "install",
            "remove",
            "erase",
            "update",
            "upgrade",
            "downgrade",
        ],
    ),
    (
        "dnf",
        &[
            "install",
            "remove",
            "erase",
            "update",
            "upgrade",
            "downgrade",
        ],
    ),
    ("zypper", &["install", "in", "remove", "rm", "update", "up"]),
    ("apk", &["add", "del", "upgrade"]),
    ("pip", &["install", "uninstall"]),
    ("pip3", &["install", "uninstall"]),
    (
        "dpkg",
        &["-i", "--install", "-r", "--remove", "-P", "--purge"],
    ),
    (
        "rpm",
        &["-i", "-U", "-e", "--install", "--upgrade", "--erase"],
    ),
    ("sed", &["-i"]),
    ("init", &["0", "6"]),
    ("sysctl", &["-w"]),
];

/// Words that run the command after them: `sudo systemctl restart x` is a
/// restart.
const PREFIXES: &[&str] = &[
    "sudo", "env", "nohup", "nice", "ionice", "command", "exec", "time", "timeout", "xargs",
];

/// Why `command` looks like a change, or `None`.
pub fn looks_like_a_change(command: &str) -> Option<String> {
    if let Some(target) = redirect_target(command) {
        return Some(format!("it writes to `{target}` with `>`"));
    }
    let separators = |c: char| matches!(c, ';' | '&' | '|' | '\n' | '(' | ')' | '`' | '{' | '}');
    for simple in command.split(separators) {
        let mut words = simple
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
            .skip_while(|w| PREFIXES.contains(w) || w.starts_with('-') || w.contains('='))
            .skip_while(|w| w.chars().all(|c| c.is_ascii_digit() || c == '.'));
        let Some(program) = words.next() else {
            continue;
        };
        let program = program.rsplit('/').next().unwrap_or(program);
        if ALWAYS.contains(&program) {
            return Some(format!("`{program}` changes the host"));
        }
        if let Some((_, changing)) = WITH_WORD.iter().find(|(name, _)| *name == program) {
            let args: Vec<&str> = words.collect();
            if let Some(word) = args.iter().find(|a| changing.contains(a)) {
                return Some(format!("`{program} {word}` changes the host"));
            }
        }
    }
    None
}

/// The file a `>` or `>>` outside quotes writes to, unless it is
/// `/dev/null` or another descriptor (`2>&1`).
fn redirect_target(command: &str) -> Option<String> {
    let mut quote: Option<char> = None;
    let chars: Vec<char> = command.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '>') => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j] == '>' || chars[j] == '|') {
                    j += 1;
                }
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let target: String = chars[j..]
                    .iter()
                    .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '&' | '|' | ')'))
                    .collect();
                let to_descriptor = chars.get(j) == Some(&'&');
                if !to_descriptor && target != "/dev/null" && !target.is_empty() {
                    return Some(target);
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_caught_and_reads_pass() {
        for change in [
            "systemctl restart app",
            "sudo systemctl stop nginx",
            "/usr/bin/rm -rf /tmp/x",
            "reboot",
            "cd /etc && sed -i s/a/b/ app.conf",
            "echo 1 > /proc/sys/vm/drop_caches",
            "date >> /var/log/x",
            "apt-get -y install curl",
            "kill -9 123",
            "echo x | tee /etc/motd",
            "sudo env A=1 mv a b",
            "timeout 5 rm x",
        ] {
            assert!(looks_like_a_change(change).is_some(), "{change}");
        }
        for read in [
            "systemctl status app",
            "systemctl is-active app",
            "cat /etc/app/app.conf",
            "grep -c x f 2>/dev/null",
            "ls 2>&1",
            "echo 'rm -rf /'",
            "journalctl -u app | tail -5",
            "df -P / ; uptime",
            "awk '$1 > 5' f",
            "dpkg -l",
        ] {
            assert_eq!(looks_like_a_change(read), None, "{read}");
        }
    }

    /// The README lists every program of the seatbelt.
    #[test]
    fn the_readme_lists_the_seatbelt() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("**The seatbelt on `run`.**")
            .expect("the section");
        let section = &readme[start..start + readme[start..].find("\n\n").unwrap()];
        for program in ALWAYS.iter().chain(WITH_WORD.iter().map(|(p, _)| p)) {
            assert!(section.contains(&format!("`{program}")), "{program}");
        }
    }
}
