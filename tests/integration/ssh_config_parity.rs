//! shoal's ssh_config reader against OpenSSH itself (issue 20). Every case under
//! tests/parity/ssh_config/cases is a config file whose `# query:` lines name a host (and
//! maybe `-l USER`); each query is resolved by shoal and by the installed `ssh`, and the two
//! are compared field by field: HostName, User, Port, IdentityFile, the ProxyJump chain with
//! every hop resolved, and UserKnownHostsFile, or both refusing the config.
//!
//! OpenSSH is asked the way it answers itself: `ssh -G` for the settings; `ssh -v` through a
//! dead `ProxyCommand` for the identity files as it expands them when it loads keys (`-G`
//! prints them as written); and for a ProxyJump, `ssh -v` with argv[0] set to a recorder
//! script, so that the command ssh would run to reach the last hop (`ssh -l .. -p .. -J ..
//! HOP`, tokens expanded) is written down and resolved in turn, as ssh would resolve it.
//!
//! Deliberate differences are listed in tests/parity/ssh_config/DIFFERENCES.toml, each with
//! its reason; a disagreement not listed there fails, and so does a listed one that no
//! longer differs. No `ssh` on the machine is a failure, never a skip.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use shoal_runtime::inventory::{Inventory, Overrides};
use shoal_runtime::ssh_config::SshConfig;
use shoal_runtime::targets::Routes;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/parity/ssh_config");

/// The most hops the reference follows: ssh itself has no limit (a loop forks ssh after ssh
/// until something gives out), so past this the chain counts as an error.
const MAX_DEPTH: usize = 16;

/// The fields compared, in the order a difference is shown.
const FIELDS: [&str; 6] = [
    "HostName",
    "User",
    "Port",
    "IdentityFile",
    "ProxyJump",
    "UserKnownHostsFile",
];

/// What one side resolved for a query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    host_name: String,
    user: String,
    port: String,
    identity_files: Vec<String>,
    /// Every hop, outermost first, as `user@host:port`.
    proxy_jump: Vec<String>,
    known_hosts: Vec<String>,
}

impl Fields {
    fn get(&self, field: &str) -> Vec<String> {
        match field {
            "HostName" => vec![self.host_name.clone()],
            "User" => vec![self.user.clone()],
            "Port" => vec![self.port.clone()],
            "IdentityFile" => self.identity_files.clone(),
            "ProxyJump" => self.proxy_jump.clone(),
            "UserKnownHostsFile" => self.known_hosts.clone(),
            _ => unreachable!("no field {field}"),
        }
    }
}

/// A query: the host as given, and `-l USER` when the case has one.
#[derive(Debug, Clone)]
struct Query {
    login: Option<String>,
    host: String,
    /// As written after `# query:`, which DIFFERENCES.toml quotes.
    text: String,
}

fn queries(case: &Path, text: &str) -> Vec<Query> {
    let queries: Vec<Query> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# query:"))
        .map(|query| {
            let words: Vec<&str> = query.split_whitespace().collect();
            let (login, host) = match words.as_slice() {
                ["-l", user, host] => (Some(user.to_string()), host.to_string()),
                [host] => (None, host.to_string()),
                _ => panic!("{}: a query is `[-l USER] HOST`: {query}", case.display()),
            };
            Query {
                login,
                host,
                text: query.trim().to_string(),
            }
        })
        .collect();
    assert!(
        !queries.is_empty(),
        "{}: no `# query:` line",
        case.display()
    );
    queries
}

/// The local account, as ssh takes it: from the password database, not `$HOME`.
struct Account {
    name: String,
    home: PathBuf,
}

fn account() -> Account {
    let uid = run_text(Command::new("id").arg("-u"));
    let entry = run_text(Command::new("getent").args(["passwd", uid.trim()]));
    let fields: Vec<&str> = entry.trim().split(':').collect();
    assert!(fields.len() >= 6, "getent passwd {uid}: {entry}");
    let account = Account {
        name: fields[0].to_string(),
        home: PathBuf::from(fields[5]),
    };
    // shoal takes `~`, `%d` and `%u` from the environment, ssh from the password
    // database; on a machine where they differ every token comparison would say so.
    let home = std::env::var_os("HOME").map(PathBuf::from);
    assert_eq!(
        home.as_deref(),
        Some(account.home.as_path()),
        "run the parity test with HOME={} (ssh takes ~ from the password database)",
        account.home.display()
    );
    if let Ok(user) = std::env::var("USER") {
        assert_eq!(
            user, account.name,
            "run the parity test with USER={} (ssh takes %u from the password database)",
            account.name
        );
    }
    account
}

fn run_text(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(output.status.success(), "{command:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The corpus copied into `dir` with `@DIR@` replaced by `dir`, so that `Include` lines name
/// absolute paths (ssh reads a relative Include under ~/.ssh, even with -F).
fn copy_corpus(dir: &Path) -> Vec<PathBuf> {
    let mut cases = Vec::new();
    for sub in ["cases", "include"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
        let mut names: Vec<PathBuf> = fs::read_dir(Path::new(CORPUS).join(sub))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        names.sort();
        for source in names {
            let target = dir.join(sub).join(source.file_name().unwrap());
            let text = fs::read_to_string(&source).unwrap();
            fs::write(&target, text.replace("@DIR@", &dir.to_string_lossy())).unwrap();
            // ssh refuses an included file that others can write.
            fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
            if sub == "cases" {
                cases.push(target);
            }
        }
    }
    cases
}

/// OpenSSH's answer, asked as the module doc says.
struct Reference<'a> {
    ssh: PathBuf,
    recorder: &'a Path,
    record: &'a Path,
    home: &'a Path,
}

impl Reference<'_> {
    fn resolve(&self, config: &Path, query: &Query) -> Result<Fields, String> {
        let mut args = Vec::new();
        if let Some(user) = &query.login {
            args.extend(["-l".to_string(), user.clone()]);
        }
        args.push(query.host.clone());
        self.resolve_args(config, &args, 0)
    }

    fn ssh(&self, config: &Path, before: &[&str], args: &[String]) -> Command {
        let mut command = Command::new(&self.ssh);
        command
            .args(before)
            .arg("-F")
            .arg(config)
            .args(args)
            .stdin(Stdio::null())
            .env("SHOAL_PARITY_RECORD", self.record);
        command
    }

    fn resolve_args(&self, config: &Path, args: &[String], depth: usize) -> Result<Fields, String> {
        if depth > MAX_DEPTH {
            return Err(format!("more than {MAX_DEPTH} nested jump hosts"));
        }
        let printed = output(&mut self.ssh(config, &["-G"], args));
        if !printed.status.success() {
            return Err(String::from_utf8_lossy(&printed.stderr).trim().to_string());
        }
        let settings = String::from_utf8_lossy(&printed.stdout).into_owned();
        let value = |key: &str| {
            settings
                .lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
                .map(str::to_string)
        };
        let jumps = value("proxyjump").is_some();
        // The identity files as ssh loads them, and the command it runs for a ProxyJump.
        let mut verbose = if jumps {
            let mut command = self.ssh(config, &["-v"], args);
            command.arg0(self.recorder);
            command
        } else {
            self.ssh(config, &["-v", "-o", "ProxyCommand=true"], args)
        };
        let _ = fs::remove_file(self.record);
        let loaded = output(verbose.arg("true"));
        let mut identity_files: Vec<String> = Vec::new();
        for line in String::from_utf8_lossy(&loaded.stderr).lines() {
            let Some(rest) = line.strip_prefix("debug1: identity file ") else {
                continue;
            };
            let path = rest.rsplit_once(" type ").map_or(rest, |(path, _)| path);
            // Each key's default certificate is tried after it, as KEY-cert.
            if identity_files.last().map(|last| format!("{last}-cert")) != Some(path.into()) {
                identity_files.push(path.to_string());
            }
        }
        let proxy_jump = if jumps {
            let recorded = fs::read_to_string(self.record).map_err(|e| {
                format!(
                    "ssh ran no ProxyJump command ({e}):\n{}",
                    String::from_utf8_lossy(&loaded.stderr)
                )
            })?;
            let hop_args = next_hop(&recorded);
            let hop = self.resolve_args(config, &hop_args, depth + 1)?;
            let mut chain = hop.proxy_jump.clone();
            chain.push(format!("{}@{}:{}", hop.user, hop.host_name, hop.port));
            chain
        } else {
            Vec::new()
        };
        let home = self.home.to_string_lossy();
        Ok(Fields {
            host_name: value("hostname").unwrap_or_default(),
            user: value("user").unwrap_or_default(),
            port: value("port").unwrap_or_default(),
            identity_files,
            proxy_jump,
            known_hosts: value("userknownhostsfile")
                .unwrap_or_default()
                .split_whitespace()
                .map(|file| file.replacen('~', &home, 1))
                .collect(),
        })
    }
}

/// The arguments of the ssh command a ProxyJump runs (one per line, as the recorder wrote
/// them) without those that are not about the hop: `-F` (given again), `-v` and `-W`.
fn next_hop(recorded: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut words = recorded.lines();
    while let Some(word) = words.next() {
        match word {
            "-F" | "-W" => {
                words.next();
            }
            _ if word.starts_with("-v") => {}
            _ => args.push(word.to_string()),
        }
    }
    args
}

fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {command:?}: {e}; the ssh_config parity test needs OpenSSH's client \
             (openssh-client, which .ci/setup-sshd.sh installs)"
        )
    })
}

/// shoal's answer: the route it would take to the host, as `-w HOST` or an inventory entry
/// with no settings of its own would get it.
fn shoal(config: &Path, query: &Query, home: &Path) -> (Result<Fields, String>, Fields) {
    let overrides = Overrides {
        user: query.login.clone(),
        ..Overrides::default()
    };
    let toml = format!(
        "[[hosts]]\nname = {}\n",
        toml::Value::String(query.host.clone())
    );
    let inventory =
        Inventory::from_toml(&toml, Path::new("(parity)"), &overrides).expect("an inventory");
    let defaults = Fields {
        host_name: String::new(),
        user: String::new(),
        port: String::new(),
        identity_files: display_all(&inventory.settings.identity_files),
        proxy_jump: Vec::new(),
        known_hosts: display_all(std::slice::from_ref(&inventory.settings.known_hosts)),
    };
    let config = match SshConfig::load(Some(config), Some(home)) {
        Ok(config) => config,
        Err(error) => return (Err(error.to_string()), defaults),
    };
    let routes = Routes::resolve(&inventory, &config);
    let (_, route) = routes
        .routes
        .iter()
        .find(|(name, _)| *name == query.host)
        .expect("the host's route");
    if let Some(reason) = &route.refused {
        return (Err(reason.clone()), defaults);
    }
    let hop = |e: &shoal_runtime::targets::Endpoint| format!("{}@{}:{}", e.user, e.addr, e.port);
    let fields = Fields {
        host_name: route.target.addr.clone(),
        user: route.target.user.clone(),
        port: route.target.port.to_string(),
        identity_files: display_all(&route.target.identity_files),
        proxy_jump: route.jumps.iter().map(hop).collect(),
        known_hosts: display_all(std::slice::from_ref(&route.target.known_hosts)),
    };
    (Ok(fields), defaults)
}

fn display_all(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// DIFFERENCES.toml: the deliberate differences, each with its reason.
struct Differences {
    /// `[[difference]]`: (case, query, field), as listed.
    listed: Vec<(String, String, String)>,
    /// `[[default]]`: a field whose built-in default differs; ssh's default, `~` expanded.
    defaults: Vec<(String, Vec<String>)>,
}

fn differences(home: &Path) -> Differences {
    let path = Path::new(CORPUS).join("DIFFERENCES.toml");
    let text = fs::read_to_string(&path).unwrap();
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for key in table.keys() {
        assert!(
            ["default", "difference", "unchecked"].contains(&key.as_str()),
            "{}: `{key}` is not a kind of difference",
            path.display()
        );
    }
    let entries = |key: &str| -> Vec<toml::Table> {
        table.get(key).map_or(Vec::new(), |list| {
            list.as_array()
                .unwrap_or_else(|| panic!("{}: `{key}` is a list", path.display()))
                .iter()
                .map(|entry| entry.as_table().cloned().expect("a table"))
                .collect()
        })
    };
    let text_of = |entry: &toml::Table, key: &str| -> String {
        let value = entry.get(key).and_then(toml::Value::as_str);
        let value = value.unwrap_or_else(|| panic!("{}: {entry:?} has no `{key}`", path.display()));
        value.to_string()
    };
    let home = home.to_string_lossy();
    let mut listed = Vec::new();
    for entry in entries("difference") {
        text_of(&entry, "reason");
        let field = text_of(&entry, "field");
        assert!(
            FIELDS.contains(&field.as_str()) || field == "Outcome",
            "{}: no field `{field}`",
            path.display()
        );
        listed.push((text_of(&entry, "case"), text_of(&entry, "query"), field));
    }
    for entry in entries("unchecked") {
        text_of(&entry, "what");
        text_of(&entry, "reason");
    }
    let mut defaults = Vec::new();
    for entry in entries("default") {
        text_of(&entry, "reason");
        let ssh = entry
            .get("ssh")
            .and_then(toml::Value::as_array)
            .expect("`ssh`: ssh's default, a list")
            .iter()
            .map(|v| v.as_str().expect("a path").replacen('~', &home, 1))
            .collect();
        defaults.push((text_of(&entry, "field"), ssh));
    }
    Differences { listed, defaults }
}

/// One field on which the two sides disagree.
struct Mismatch {
    case: String,
    query: String,
    field: String,
    shoal: String,
    ssh: String,
}

/// The fields on which shoal and ssh disagree; `used` collects the `[[default]]` fields that
/// made two values agree.
fn compare(
    shoal: &Result<Fields, String>,
    shoal_defaults: &Fields,
    ssh: &Result<Fields, String>,
    defaults: &[(String, Vec<String>)],
    used: &mut BTreeSet<String>,
) -> Vec<(String, String, String)> {
    match (shoal, ssh) {
        (Ok(shoal), Ok(ssh)) => FIELDS
            .iter()
            .filter_map(|field| {
                let (ours, theirs) = (shoal.get(field), ssh.get(field));
                if ours == theirs {
                    return None;
                }
                let both_default = defaults.iter().any(|(name, ssh_default)| {
                    name == field && theirs == *ssh_default && ours == shoal_defaults.get(field)
                });
                if both_default {
                    used.insert(field.to_string());
                    return None;
                }
                Some((field.to_string(), ours.join(" "), theirs.join(" ")))
            })
            .collect(),
        (Err(ours), Err(theirs)) => {
            // Where ssh names the line at fault, shoal must name the same one.
            match line_named(theirs) {
                Some(line) if !ours.contains(&format!("line {line}")) => vec![(
                    "Outcome".to_string(),
                    format!("error: {ours}"),
                    format!("error: {theirs}"),
                )],
                _ => Vec::new(),
            }
        }
        (ours, theirs) => vec![("Outcome".to_string(), outcome(ours), outcome(theirs))],
    }
}

fn outcome(result: &Result<Fields, String>) -> String {
    match result {
        Ok(_) => "resolves".to_string(),
        Err(error) => format!("error: {error}"),
    }
}

/// The line number in an OpenSSH error (`FILE line N: ...`), if it names one.
fn line_named(error: &str) -> Option<usize> {
    let (_, rest) = error.split_once(" line ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[test]
fn shoal_resolves_every_corpus_case_as_ssh_g_does() {
    let ssh = PathBuf::from("/usr/bin/ssh");
    assert!(
        ssh.is_file(),
        "{} is missing: the ssh_config parity test needs OpenSSH's client \
         (openssh-client, which .ci/setup-sshd.sh installs)",
        ssh.display()
    );
    let account = account();
    let dir = tempfile::tempdir().unwrap();
    let recorder = dir.path().join("record-proxy-command");
    fs::write(
        &recorder,
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$SHOAL_PARITY_RECORD\"\n",
    )
    .unwrap();
    fs::set_permissions(&recorder, fs::Permissions::from_mode(0o755)).unwrap();
    let record = dir.path().join("recorded");
    let reference = Reference {
        ssh,
        recorder: &recorder,
        record: &record,
        home: &account.home,
    };
    let listed = differences(&account.home);

    let mut queries_run = 0;
    let mut agreeing = 0;
    let mut mismatches: Vec<Mismatch> = Vec::new();
    let mut used_defaults = BTreeSet::new();
    let cases = copy_corpus(dir.path());
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(case).unwrap();
        for query in queries(case, &text) {
            queries_run += 1;
            let theirs = reference.resolve(case, &query);
            let (ours, shoal_defaults) = shoal(case, &query, &account.home);
            let found = compare(
                &ours,
                &shoal_defaults,
                &theirs,
                &listed.defaults,
                &mut used_defaults,
            );
            if found.is_empty() {
                agreeing += 1;
            }
            mismatches.extend(found.into_iter().map(|(field, shoal, ssh)| Mismatch {
                case: name.clone(),
                query: query.text.clone(),
                field,
                shoal,
                ssh,
            }));
        }
    }
    assert!(cases.len() >= 40, "only {} cases", cases.len());

    let is_listed = |m: &Mismatch| {
        listed
            .listed
            .iter()
            .any(|(case, query, field)| *case == m.case && *query == m.query && *field == m.field)
    };
    let unlisted: Vec<String> = mismatches
        .iter()
        .filter(|m| !is_listed(m))
        .map(|m| {
            format!(
                "{} (query `{}`): {}\n    shoal: {}\n    ssh:   {}",
                m.case, m.query, m.field, m.shoal, m.ssh
            )
        })
        .collect();
    let stale: Vec<String> = listed
        .listed
        .iter()
        .filter(|(case, query, field)| {
            !mismatches
                .iter()
                .any(|m| m.case == *case && m.query == *query && m.field == *field)
        })
        .map(|(case, query, field)| format!("{case} (query `{query}`): {field}"))
        .chain(
            listed
                .defaults
                .iter()
                .filter(|(field, _)| !used_defaults.contains(field))
                .map(|(field, _)| format!("[[default]] {field}: no query falls back to it")),
        )
        .collect();
    let summary = format!(
        "ssh_config parity: {agreeing} of {queries_run} queries ({} cases) agree with ssh -G \
         field by field; {} differ as DIFFERENCES.toml lists",
        cases.len(),
        queries_run - agreeing - unlisted_queries(&mismatches, &is_listed),
    );
    eprintln!("{summary}");
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "{summary}\n\nshoal and ssh -G disagree, and DIFFERENCES.toml does not list it:\n{}\n\n\
         listed in DIFFERENCES.toml but no longer different:\n{}",
        unlisted.join("\n"),
        stale.join("\n")
    );
}

/// How many queries have a disagreement that is not listed.
fn unlisted_queries(mismatches: &[Mismatch], is_listed: &dyn Fn(&Mismatch) -> bool) -> usize {
    let queries: BTreeSet<(&str, &str)> = mismatches
        .iter()
        .filter(|m| !is_listed(m))
        .map(|m| (m.case.as_str(), m.query.as_str()))
        .collect();
    queries.len()
}
