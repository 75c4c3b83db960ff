//! Which format an inventory file is in, and why: the rules run in this
//! order and the first that matches decides.
//!
//! 1. The name ends in `.toml` → shoal's TOML; `.json` → Ansible `--list`
//!    JSON; `.ini` → Ansible INI; `.yml`/`.yaml` → YAML (rule 7 says which);
//!    `.csv` → CSV.
//! 2. The text starts with `{` → Ansible `--list` JSON.
//! 3. The first line that is not blank or a comment has a comma and its
//!    first field is `name` or `host` → CSV with a header row. This comes
//!    before the rules below so that a CSV file is never read as a list of
//!    hosts named `name,addr,…`.
//! 4. A line is `[[hosts]]` or `[defaults]`, or starts `hosts = [` → TOML.
//! 5. The first line that is not blank or a comment is `---`, or a bare YAML
//!    key (`all:`, `local: {…}`) → YAML (rule 7 says which).
//! 6. A line is a `[section]` header, sets a variable after a host name
//!    (`web1 ansible_host=…`), names a port (`web1:2222`) or has an Ansible
//!    range (`web[01:20]`) → Ansible INI.
//! 7. YAML whose every top-level value maps group names to nodeset strings
//!    (or lists of them) → ClusterShell groups; any other YAML, including
//!    YAML that does not parse, → an Ansible YAML inventory, whose reader
//!    then says what is wrong with it.
//! 8. Anything else → a plain list of host names or nodesets, one per line.
//!
//! A directory is ClusterShell's `groups.d` when its `*.yaml` files are
//! ClusterShell groups, else an Ansible inventory directory whose files are
//! each detected by these rules (`sources.rs`).

use std::fmt;
use std::path::Path;

use serde_norway::Value;

use super::csv_table;
use super::error::lines;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Toml,
    AnsibleIni,
    AnsibleYaml,
    AnsibleJson,
    ClusterShell,
    Csv,
    Plain,
}

impl Format {
    /// One of Ansible's own formats, to which ansible.cfg's settings apply.
    pub fn is_ansible(self) -> bool {
        matches!(
            self,
            Format::AnsibleIni | Format::AnsibleYaml | Format::AnsibleJson
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "shoal's TOML inventory",
            Format::AnsibleIni => "an Ansible INI inventory",
            Format::AnsibleYaml => "an Ansible YAML inventory",
            Format::AnsibleJson => "Ansible inventory JSON (as `ansible-inventory --list` prints)",
            Format::ClusterShell => "ClusterShell groups (namespace: group: nodeset)",
            Format::Csv => "a CSV inventory (a header row, then one host per row)",
            Format::Plain => "a plain list of hosts",
        })
    }
}

/// A format and the rule that chose it, for errors in that format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Detected {
    pub format: Format,
    /// Completes "read as FORMAT because …".
    pub why: String,
}

impl fmt::Display for Detected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} because {}", self.format, self.why)
    }
}

/// The format of the file at `path` whose contents are `text`.
pub(super) fn detect(path: &Path, text: &str) -> Detected {
    let detected = |format, why: String| Detected { format, why };
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if let Some(extension) = extension {
        let why = format!("its name ends in `.{extension}`");
        match extension.as_str() {
            "toml" => return detected(Format::Toml, why),
            "json" => return detected(Format::AnsibleJson, why),
            "ini" => return detected(Format::AnsibleIni, why),
            "yml" | "yaml" => return yaml(text, why),
            "csv" => return detected(Format::Csv, why),
            _ => {}
        }
    }
    if text.trim_start().starts_with('{') {
        return detected(Format::AnsibleJson, "it starts with `{`".into());
    }
    let meaningful = || {
        lines(text)
            .enumerate()
            .map(|(i, (_, line))| (i + 1, line.trim()))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with(['#', ';']))
    };
    if let Some((number, line)) = meaningful().next()
        && csv_table::is_header(line)
    {
        return detected(
            Format::Csv,
            format!("line {number} is `{line}`, a CSV header (its first field names the host)"),
        );
    }
    if let Some((number, line)) = meaningful().find(|(_, line)| {
        matches!(*line, "[[hosts]]" | "[defaults]") || line.starts_with("hosts = [")
    }) {
        return detected(Format::Toml, format!("line {number} is `{line}`"));
    }
    if let Some((number, line)) = meaningful().next()
        && (line == "---" || is_yaml_key(line))
    {
        return yaml(text, format!("line {number} is `{line}`, which is YAML"));
    }
    if let Some((number, why)) =
        meaningful().find_map(|(number, line)| ini_marker(line).map(|why| (number, why)))
    {
        return detected(Format::AnsibleIni, format!("line {number} {why}"));
    }
    detected(
        Format::Plain,
        "no rule for TOML, JSON, CSV, YAML or INI matched it".into(),
    )
}

/// `key:` alone or followed by a space: how a YAML mapping starts, and never
/// an INI line (whose `host:port` has no space after the colon).
fn is_yaml_key(line: &str) -> bool {
    let Some((key, rest)) = line.split_once(':') else {
        return false;
    };
    !key.is_empty()
        && !key.contains(char::is_whitespace)
        && !key.starts_with('[')
        && (rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Why `line` can only be Ansible INI, if it can.
fn ini_marker(line: &str) -> Option<&'static str> {
    if line.starts_with('[') {
        return Some("is a `[section]` header");
    }
    let mut words = line.split_whitespace();
    let host = words.next()?;
    if words.next().is_some_and(|word| word.contains('=')) {
        return Some("sets a variable after a host name");
    }
    let range = host
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .is_some_and(|(inside, _)| inside.contains(':'));
    if range {
        return Some("has an Ansible host range (`[01:20]`)");
    }
    let port = host.rsplit_once(':').is_some_and(|(name, port)| {
        !name.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
    });
    port.then_some("names a port after a host name")
}

/// Ansible's YAML or ClusterShell's, by the shape of the top level.
fn yaml(text: &str, why: String) -> Detected {
    let Ok(Value::Mapping(top)) = serde_norway::from_str::<Value>(text) else {
        return Detected {
            format: Format::AnsibleYaml,
            why: format!("{why}, and YAML that is not a mapping of groups is taken for Ansible's"),
        };
    };
    let nodeset = |value: &Value| match value {
        Value::String(_) => true,
        Value::Sequence(items) => items.iter().all(Value::is_string),
        _ => false,
    };
    let clustershell = !top.is_empty()
        && top.values().all(|namespace| {
            namespace
                .as_mapping()
                .is_some_and(|groups| !groups.is_empty() && groups.values().all(nodeset))
        });
    if clustershell {
        return Detected {
            format: Format::ClusterShell,
            why: format!("{why}, and each top-level key maps group names to nodeset strings"),
        };
    }
    Detected {
        format: Format::AnsibleYaml,
        why: format!("{why}, and its top level is not namespaces of nodeset strings"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(name: &str, text: &str) -> Format {
        detect(Path::new(name), text).format
    }

    #[test]
    fn the_extension_decides_first() {
        assert_eq!(format("shoal.toml", "web1\n"), Format::Toml);
        assert_eq!(format("inv.json", "[]"), Format::AnsibleJson);
        assert_eq!(format("hosts.ini", "web1\n"), Format::AnsibleIni);
        assert_eq!(format("hosts.yml", "all:\n  hosts:\n"), Format::AnsibleYaml);
        assert_eq!(
            format("cluster.yaml", "local:\n  web: web[1-2]\n"),
            Format::ClusterShell
        );
        assert_eq!(format("fleet.CSV", "web1\n"), Format::Csv);
    }

    #[test]
    fn without_an_extension_the_text_decides() {
        let cases = [
            ("  {\"all\": {}}", Format::AnsibleJson),
            ("# fleet\n[[hosts]]\nname = \"a\"\n", Format::Toml),
            ("[defaults]\nuser = \"x\"\n", Format::Toml),
            ("hosts = [{ name = \"a\" }]\n", Format::Toml),
            ("---\nall:\n", Format::AnsibleYaml),
            ("# x\nall:\n  hosts:\n    a:\n", Format::AnsibleYaml),
            (
                "local: {web: \"web[01-04]\", db: \"db[1-2]\"}\n",
                Format::ClusterShell,
            ),
            ("roles:\n  all: ['@web', db1]\n", Format::ClusterShell),
            ("web1\n\n[web]\nweb1\n", Format::AnsibleIni),
            ("web1 ansible_port=2222\n", Format::AnsibleIni),
            ("web[01:20].example.com\n", Format::AnsibleIni),
            ("web1:2222\nweb2\n", Format::AnsibleIni),
            ("# fleet\nweb[01-20]\ndb1\n", Format::Plain),
            ("name,addr,az,role\nweb1,10.0.0.1,a,web\n", Format::Csv),
            ("# export\n\nHost, az\nweb1, a\n", Format::Csv),
            ("web1,web2\n", Format::Plain),
            ("", Format::Plain),
        ];
        for (text, expected) in cases {
            assert_eq!(format("inv", text), expected, "{text:?}");
        }
    }

    #[test]
    fn the_reason_names_the_rule_and_the_line() {
        let detected = detect(Path::new("inv"), "; comment\nweb1\n[web]\n");
        assert_eq!(
            detected.to_string(),
            "an Ansible INI inventory because line 3 is a `[section]` header"
        );
        let detected = detect(Path::new("x.yml"), "local:\n  web: [a\n");
        assert_eq!(detected.format, Format::AnsibleYaml);
        assert!(
            detected.why.starts_with("its name ends in `.yml`, and"),
            "{detected}"
        );
        let detected = detect(Path::new("inv"), "local:\n  web: web1\n");
        assert_eq!(
            detected.why,
            "line 1 is `local:`, which is YAML, and each top-level key maps group names \
             to nodeset strings"
        );
    }
}
