//! Runbook scripts: `shoal run FILE.shoal --param KEY=VALUE`. `{{KEY}}` in
//! the script is replaced by the parameter's value, put in as what stands
//! where it stands, so no value can change the meaning of the query or the
//! command: a shell word in a `run` command, a regex inside `/.../`, a host
//! selection after `hosts`, and one shoal value anywhere else.

use std::collections::{HashMap, HashSet};

use shoal_lang::ast::{SourceKind, Statement};
use shoal_lang::shell_quote;

/// What a `{{KEY}}` stands for, from where it is in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Inside a double-quoted shoal string: a `run` command.
    String,
    /// Inside `/.../` after `~`, `!~` or `extract COL`.
    Regex,
    /// In a pipeline's source, after `hosts`, before the first `|`.
    Selection,
    /// Anywhere else: a value, a number, a duration, a name.
    Value,
}

/// Replaces every `{{KEY}}` with its value, as what it stands for:
///
/// - inside a double-quoted shoal string (a `run` command), the value is
///   shell-quoted (`'...'`) and then escaped for the shoal string, so
///   `run "systemctl status {{svc}}"` runs exactly one argument;
/// - inside a regex (`filter host ~ /{{re}}/`), the value is regex syntax,
///   put in as is, with `/` escaped so it cannot end the regex;
/// - in a host selection (`hosts {{nodes}}`), the value must itself be a
///   selection (`web[001-010]`, `@web & @prod`, `~ /^db/`), and nothing
///   else: a `|` in it is refused, not run;
/// - elsewhere, a value of bare-word characters (letters, digits, `-._:/`)
///   goes in as is, so numbers, durations and `@{{group}}` work; any other
///   value becomes a double-quoted shoal string, one value however spelt.
///
/// A missing parameter, and one the script never uses, is an error that
/// names it: both are caught before any host is contacted.
pub fn substitute(script: &str, params: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(script.len());
    let mut used: HashSet<&str> = HashSet::new();
    let mut at = 0;
    while let Some(found) = script[at..].find("{{") {
        let open = at + found;
        out.push_str(&script[at..open]);
        let close = script[open..].find("}}").map(|c| open + c).ok_or_else(|| {
            format!(
                "`{{{{` without a closing `}}}}`: {}",
                script[open..].lines().next().unwrap_or("")
            )
        })?;
        let key = script[open + 2..close].trim();
        let value = params.get(key).ok_or_else(|| {
            format!("the script needs the parameter `{key}`: pass --param {key}=VALUE")
        })?;
        used.insert(key);
        out.push_str(&insert(key, value, place_at(script, open))?);
        at = close + 2;
    }
    out.push_str(&script[at..]);
    let mut unused: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|key| !used.contains(key))
        .collect();
    if !unused.is_empty() {
        unused.sort_unstable();
        let mut placeholders: Vec<String> = used.iter().map(|k| format!("{{{{{k}}}}}")).collect();
        placeholders.sort_unstable();
        return Err(format!(
            "the script does not use the parameter{} {}: it has {}",
            if unused.len() == 1 { "" } else { "s" },
            unused
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if placeholders.is_empty() {
                "no {{KEY}} placeholder".to_string()
            } else {
                placeholders.join(", ")
            }
        ));
    }
    Ok(out)
}

/// The value of `key` as it goes in at `place`.
fn insert(key: &str, value: &str, place: Place) -> Result<String, String> {
    Ok(match place {
        // Braces doubled, since in a `run` command `{{` is a literal brace:
        // a `{host}` in the value stays text, never a column placeholder.
        Place::String => shoal_escape(&shell_quote(value))
            .replace('{', "{{")
            .replace('}', "}}"),
        Place::Regex => regex_body(key, value)?,
        Place::Selection => {
            let parsed = shoal_lang::parse(&format!("hosts {value}"));
            let selection = matches!(
                parsed.as_ref().map(|p| p.statements.as_slice()),
                Ok([Statement::Pipeline(pipeline)])
                    if pipeline.stages.is_empty()
                        && !matches!(pipeline.source.kind, SourceKind::AllHosts)
            );
            if !selection || value.contains(['\n', ';', '#']) {
                return Err(format!(
                    "the parameter `{key}` stands for hosts, but `{value}` is not a host selection: give a nodeset (web[001-010]), a @group or ~ /regex/, joined with &, ! or ,"
                ));
            }
            value.to_string()
        }
        Place::Value => {
            let bare = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c));
            if bare {
                value.to_string()
            } else {
                format!("\"{}\"", shoal_escape(value))
            }
        }
    })
}

/// A value as the inside of `/.../`: regex syntax as given, each `/` that is
/// not already escaped written `\/`. A newline or a lone `\` at the end
/// would end the regex or eat its closing `/`, so they are refused.
fn regex_body(key: &str, value: &str) -> Result<String, String> {
    if value.contains('\n') {
        return Err(format!(
            "the parameter `{key}` is a regex, which cannot hold a newline"
        ));
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => {
                    return Err(format!(
                        "the parameter `{key}` is a regex that ends in a lone `\\`: write `\\\\` for a backslash"
                    ));
                }
            },
            '/' => out.push_str("\\/"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Where in the script offset `at` is: inside a string, a regex, a host
/// selection, or none of these.
fn place_at(script: &str, at: usize) -> Place {
    let mut in_string = false;
    let mut in_regex = false;
    // The current statement's text outside strings and regexes, to tell
    // whether `at` is in its source.
    let mut statement = String::new();
    let mut chars = script[..at].char_indices();
    while let Some((i, c)) = chars.next() {
        match (in_string, in_regex, c) {
            (true, _, '\\') | (_, true, '\\') => {
                chars.next();
            }
            (true, _, '"') => in_string = false,
            (_, true, '/') => in_regex = false,
            (true, _, _) | (_, true, _) => {}
            (false, false, '"') => in_string = true,
            (false, false, '/') if opens_regex(&script[..i]) => in_regex = true,
            (false, false, '\'') => {
                for (_, c) in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
            }
            (false, false, '#') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                statement.clear();
            }
            (false, false, '\n' | ';') => statement.clear(),
            (false, false, c) => statement.push(c),
        }
    }
    if in_string {
        return Place::String;
    }
    if in_regex {
        return Place::Regex;
    }
    let pipeline = match statement.trim_start().strip_prefix("let ") {
        Some(rest) => rest.split_once('=').map_or("", |(_, p)| p),
        None => statement.as_str(),
    };
    let pipeline = pipeline.trim_start();
    let in_source = !pipeline.contains('|')
        && pipeline
            .strip_prefix("hosts")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
    // `hosts @{{group}}` builds one word: that is a value, not a selection.
    let starts_operand = script[..at].ends_with(|c: char| c.is_whitespace() || "&!,".contains(c));
    if in_source && starts_operand {
        Place::Selection
    } else {
        Place::Value
    }
}

/// Whether a `/` after `before` opens a regex: after `~` or `!~`, or as the
/// pattern of `extract COL`.
fn opens_regex(before: &str) -> bool {
    let before = before.trim_end();
    if before.ends_with('~') {
        return true;
    }
    let mut words = before.rsplit(char::is_whitespace).filter(|w| !w.is_empty());
    words.next().is_some() && words.next() == Some("extract")
}

/// Escapes `\` and `"` for a double-quoted shoal string.
fn shoal_escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Parses `KEY=VALUE` for `--param`.
pub fn parse_param(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{key}` is not a parameter name (letters, digits and _)"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use shoal_lang::plan::CommandPart;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_in_commands_are_shell_quoted_and_elsewhere_are_shoal_strings() {
        let script = "hosts @{{group}} | filter az = {{az}} | run \"systemctl status {{svc}}\"";
        let out = substitute(
            script,
            &params(&[("group", "web"), ("az", "us-east-1a"), ("svc", "nginx")]),
        )
        .unwrap();
        assert_eq!(
            out,
            "hosts @web | filter az = us-east-1a | run \"systemctl status 'nginx'\""
        );
        // Anything that is not a bare word is one quoted value, never syntax.
        let out = substitute(
            "hosts | filter az = {{az}}",
            &params(&[("az", "x or role = db")]),
        )
        .unwrap();
        assert_eq!(out, "hosts | filter az = \"x or role = db\"");
    }

    #[test]
    fn hostile_values_stay_one_shell_word() {
        for evil in [
            "x; rm -rf /",
            "$(touch /tmp/pwned)",
            "`id`",
            "a'b",
            "a\"b",
            "line\nbreak",
            "{host} ${HOME} }}{{",
        ] {
            let out = substitute("hosts | run \"echo {{v}}\"", &params(&[("v", evil)])).unwrap();
            let plan = shoal_stdlib::compile(&out).expect("still one valid query");
            // The planned `run` as `--explain` prints it: one text part, no
            // placeholder, whatever the value held.
            let run = serde_json::to_value(&plan.statements[0].ops[0]).unwrap();
            let sent = format!("echo {}", shell_quote(evil));
            let expected = serde_json::to_value([CommandPart::Text(sent)]).unwrap();
            assert_eq!(run["template"], expected, "{evil}");
        }
    }

    #[test]
    fn a_missing_parameter_is_named() {
        let error = substitute("hosts | filter az = {{az}}", &HashMap::new()).unwrap_err();
        assert!(
            error.contains("`az`") && error.contains("--param az="),
            "{error}"
        );
    }

    #[test]
    fn quotes_in_comments_and_raw_strings_do_not_confuse_tracking() {
        let out = substitute(
            "# it's \"x\nhosts | run 'a\"b' | filter az = {{az}}",
            &params(&[("az", "1a")]),
        )
        .unwrap();
        assert!(out.ends_with("filter az = 1a"), "{out}");
    }

    #[test]
    fn a_regex_parameter_is_regex_syntax_not_a_quoted_string() {
        let out = substitute(
            "hosts | filter host ~ /{{re}}/ | count",
            &params(&[("re", "^web0[0-2]")]),
        )
        .unwrap();
        assert_eq!(out, "hosts | filter host ~ /^web0[0-2]/ | count");
        // A slash cannot end the regex early; an escaped one stays escaped.
        let out = substitute(
            "hosts | filter p !~ /{{re}}/",
            &params(&[("re", r"a/b\/c")]),
        )
        .unwrap();
        assert_eq!(out, r"hosts | filter p !~ /a\/b\/c/");
        let out = substitute(
            "hosts | run \"x\" | extract stdout /{{re}}/",
            &params(&[("re", "(?<v>[0-9]+)")]),
        )
        .unwrap();
        assert!(out.ends_with("/(?<v>[0-9]+)/"), "{out}");
        assert!(substitute("hosts | filter a ~ /{{re}}/", &params(&[("re", "a\\")])).is_err());
        assert!(substitute("hosts | filter a ~ /{{re}}/", &params(&[("re", "a\nb")])).is_err());
        // A path is not a regex.
        let out = substitute("hosts | filter path = /etc/{{p}}", &params(&[("p", "a b")])).unwrap();
        assert_eq!(out, "hosts | filter path = /etc/\"a b\"");
    }

    #[test]
    fn a_host_selection_parameter_is_a_selection_and_nothing_more() {
        for (value, expected) in [
            ("web[001-010]", "hosts web[001-010] | count"),
            ("@web & @prod", "hosts @web & @prod | count"),
            ("~ /^db/", "hosts ~ /^db/ | count"),
        ] {
            let out = substitute("hosts {{nodes}} | count", &params(&[("nodes", value)])).unwrap();
            assert_eq!(out, expected);
        }
        let out = substitute(
            "let x = hosts @web ! {{skip}}\n$x",
            &params(&[("skip", "web[1-2]")]),
        )
        .unwrap();
        assert_eq!(out, "let x = hosts @web ! web[1-2]\n$x");
        for evil in [
            "web1 | run \"rm -rf /\"",
            "web1; hosts",
            "",
            "web1\nhosts | run \"x\"",
        ] {
            let error =
                substitute("hosts {{nodes}} | count", &params(&[("nodes", evil)])).unwrap_err();
            assert!(error.contains("not a host selection"), "{evil}: {error}");
        }
        // `@{{group}}` is one word: the value is a group name.
        let out = substitute("hosts @{{g}}", &params(&[("g", "web")])).unwrap();
        assert_eq!(out, "hosts @web");
    }

    #[test]
    fn numbers_and_durations_go_in_as_written() {
        let out = substitute(
            "hosts | run \"x\" timeout={{t}} | filter load > {{max}} | head {{n}}",
            &params(&[("t", "5s"), ("max", "3.5"), ("n", "10")]),
        )
        .unwrap();
        assert_eq!(
            out,
            "hosts | run \"x\" timeout=5s | filter load > 3.5 | head 10"
        );
    }

    #[test]
    fn an_unused_parameter_is_named() {
        let error = substitute(
            "hosts | filter az = {{az}}",
            &params(&[("az", "a"), ("zone", "b")]),
        )
        .unwrap_err();
        assert!(
            error.contains("`zone`") && error.contains("{{az}}"),
            "{error}"
        );
    }

    #[test]
    fn params_parse_as_key_value() {
        assert_eq!(
            parse_param("az=us-east-1a=x"),
            Ok(("az".into(), "us-east-1a=x".into()))
        );
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("a-b=1").is_err());
    }
}
