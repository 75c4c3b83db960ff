//! Puts a runbook's parameter values into its text: `{{KEY}}`, and `$name`
//! for each declared `param name`. Each value goes in as what stands where
//! it stands, so no value can change the meaning of the query or the
//! command: a shell word in a `run` command, a regex inside `/.../`, a host
//! selection after `hosts`, and one shoal value anywhere else.

use std::collections::{HashMap, HashSet};

use shoal_lang::ast::{SourceKind, Statement};
use shoal_lang::{Error, Result, Span, shell_quote};

/// What a placeholder stands for, from where it is in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Inside a double-quoted shoal string: a `run` command.
    String,
    /// Inside a single-quoted (raw) shoal string, which has no escapes and
    /// so no way to hold a quoted value: refused.
    RawString,
    /// Inside `/.../` after `~`, `!~` or `extract COL`.
    Regex,
    /// In a pipeline's source, after `hosts`, before the first `|`.
    Selection,
    /// Anywhere else: a value, a number, a duration, a name.
    Value,
}

/// One placeholder found in the script: where it is and the key it names.
struct Placeholder<'s> {
    key: &'s str,
    span: Span,
}

/// The next `{{KEY}}`, or `$name` of a name in `declared`, at or after
/// `from`.
fn next_placeholder<'s>(
    script: &'s str,
    from: usize,
    declared: &[&str],
) -> Result<Option<Placeholder<'s>>> {
    let mut at = from;
    loop {
        let Some(found) = script[at..].find(['{', '$']) else {
            return Ok(None);
        };
        let open = at + found;
        at = open + 1;
        if script[open..].starts_with("{{") {
            let close = script[open..].find("}}").map(|c| open + c).ok_or_else(|| {
                Error::new("`{{` without a closing `}}`", Span::new(open, open + 2))
                    .with_hint("a parameter is written {{KEY}}; a literal brace in a command is `{{` inside `run`'s own text only")
            })?;
            return Ok(Some(Placeholder {
                key: script[open + 2..close].trim(),
                span: Span::new(open, close + 2),
            }));
        }
        if script[open..].starts_with('$') {
            let name_end = script[open + 1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(script.len(), |end| open + 1 + end);
            let name = &script[open + 1..name_end];
            if declared.contains(&name) {
                return Ok(Some(Placeholder {
                    key: name,
                    span: Span::new(open, name_end),
                }));
            }
        }
    }
}

/// Replaces every `{{KEY}}`, and every `$name` whose name is in `declared`,
/// with its value in `values`, as what it stands for:
///
/// - inside a double-quoted shoal string (a `run` command), the value is
///   shell-quoted (`'...'`) and then escaped for the shoal string, so
///   `run "systemctl status {{svc}}"` runs exactly one argument;
/// - inside a regex (`filter host ~ /{{re}}/`), the value is regex syntax,
///   put in as is, with `/` escaped so it cannot end the regex;
/// - in a host selection (`hosts {{nodes}}`), the value must itself be a
///   selection (`web[001-010]`, `@web & @prod`, `~ /^db/`), and nothing
///   else: a `|` in it is refused, not run;
/// - inside a single-quoted shoal string, nothing can go: it is refused;
/// - elsewhere, a value of bare-word characters (letters, digits, `-._:/`)
///   goes in as is, so numbers, durations and `@{{group}}` work; any other
///   value becomes a double-quoted shoal string, one value however spelt.
///
/// A `$name` whose name is not declared is left alone: it is a `let`
/// result, or the shell's. Returns the text and the keys it used; a key
/// with no value is an error at its placeholder.
pub(super) fn substitute<'s>(
    script: &'s str,
    declared: &[&str],
    values: &HashMap<String, String>,
) -> Result<(String, HashSet<&'s str>)> {
    let mut out = String::with_capacity(script.len());
    let mut used: HashSet<&str> = HashSet::new();
    let mut at = 0;
    while let Some(placeholder) = next_placeholder(script, at, declared)? {
        let Placeholder { key, span } = placeholder;
        out.push_str(&script[at..span.start]);
        let value = values.get(key).ok_or_else(|| {
            Error::new(format!("the script needs the parameter `{key}`"), span).with_hint(format!(
                "pass --param {key}=VALUE, or declare it with a default: param {key}: string = \"...\""
            ))
        })?;
        used.insert(key);
        out.push_str(&insert(key, value, place_at(script, span.start), span)?);
        at = span.end;
    }
    out.push_str(&script[at..]);
    Ok((out, used))
}

/// The value of `key` as it goes in at `place`; `span` is the placeholder's.
fn insert(key: &str, value: &str, place: Place, span: Span) -> Result<String> {
    Ok(match place {
        // Braces doubled, since in a `run` command `{{` is a literal brace:
        // a `{host}` in the value stays text, never a column placeholder.
        Place::String => shoal_escape(&shell_quote(value))
            .replace('{', "{{")
            .replace('}', "}}"),
        Place::RawString => {
            return Err(Error::new(
                format!("the parameter `{key}` is inside a '...' string, which cannot quote it"),
                span,
            )
            .with_hint("write the command in double quotes: run \"... $NAME ...\""));
        }
        Place::Regex => regex_body(key, value, span)?,
        Place::Selection => {
            if !is_selection(value) {
                return Err(Error::new(
                    format!("the parameter `{key}` stands for hosts, but `{value}` is not a host selection"),
                    span,
                )
                .with_hint("give a nodeset (web[001-010]), a @group or ~ /regex/, joined with &, ! or ,"));
            }
            value.to_string()
        }
        Place::Value => {
            if is_bare(value) {
                value.to_string()
            } else {
                format!("\"{}\"", shoal_escape(value))
            }
        }
    })
}

/// Whether `value` goes in unquoted as one shoal word: letters, digits and
/// `-._:/`.
fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c))
}

/// Whether `value` is a host selection and nothing more: what may follow
/// `hosts` (`web[001-010]`, `@web & @prod`, `~ /^db/`), with no stage,
/// statement or comment after it.
pub(super) fn is_selection(value: &str) -> bool {
    let parsed = shoal_lang::parse(&format!("hosts {value}"));
    let selection = matches!(
        parsed.as_ref().map(|p| p.statements.as_slice()),
        Ok([Statement::Pipeline(pipeline)])
            if pipeline.stages.is_empty()
                && !matches!(pipeline.source.kind, SourceKind::AllHosts)
    );
    selection && !value.contains(['\n', ';', '#'])
}

/// A value as the inside of `/.../`: regex syntax as given, each `/` that is
/// not already escaped written `\/`. A newline or a lone `\` at the end
/// would end the regex or eat its closing `/`, so they are refused.
fn regex_body(key: &str, value: &str, span: Span) -> Result<String> {
    if value.contains('\n') {
        return Err(Error::new(
            format!("the parameter `{key}` is a regex, which cannot hold a newline"),
            span,
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
                    return Err(Error::new(
                        format!("the parameter `{key}` is a regex that ends in a lone `\\`"),
                        span,
                    )
                    .with_hint("write `\\\\` for a backslash"));
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
                if !chars.by_ref().any(|(_, c)| c == '\'') {
                    return Place::RawString;
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

    /// The script with `{{KEY}}`s (and `$name`s of `declared`) replaced.
    fn put(script: &str, declared: &[&str], pairs: &[(&str, &str)]) -> Result<String> {
        substitute(script, declared, &params(pairs)).map(|(text, _)| text)
    }

    fn braces(script: &str, pairs: &[(&str, &str)]) -> Result<String> {
        put(script, &[], pairs)
    }

    #[test]
    fn values_in_commands_are_shell_quoted_and_elsewhere_are_shoal_strings() {
        let script = "hosts @{{group}} | filter az = {{az}} | run \"systemctl status {{svc}}\"";
        let out = braces(
            script,
            &[("group", "web"), ("az", "us-east-1a"), ("svc", "nginx")],
        )
        .unwrap();
        assert_eq!(
            out,
            "hosts @web | filter az = us-east-1a | run \"systemctl status 'nginx'\""
        );
        // Anything that is not a bare word is one quoted value, never syntax.
        let out = braces("hosts | filter az = {{az}}", &[("az", "x or role = db")]).unwrap();
        assert_eq!(out, "hosts | filter az = \"x or role = db\"");
    }

    #[test]
    fn declared_names_are_replaced_where_they_stand_and_others_are_left_alone() {
        let script = "let bad = hosts $nodes | run \"df -P $dir\" | filter use > $max\n$bad | filter x ~ /$re/ | run \"echo $HOME\"";
        let out = put(
            script,
            &["nodes", "dir", "max", "re"],
            &[
                ("nodes", "web[1-3]"),
                ("dir", "/data dir"),
                ("max", "90"),
                ("re", "a/b"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "let bad = hosts web[1-3] | run \"df -P '/data dir'\" | filter use > 90\n$bad | filter x ~ /a\\/b/ | run \"echo $HOME\""
        );
        // `$maxx` is another name, not `$max` followed by `x`.
        assert_eq!(
            put("hosts | head $maxx", &["max"], &[("max", "1")]).unwrap(),
            "hosts | head $maxx"
        );
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
            for (script, declared) in [
                ("hosts | run \"echo {{v}}\"", &[][..]),
                ("hosts | run \"echo $v\"", &["v"][..]),
            ] {
                let out = put(script, declared, &[("v", evil)]).unwrap();
                let plan = crate::compile(&out).expect("still one valid query");
                // The planned `run` as `--explain` prints it: one text part, no
                // placeholder, whatever the value held.
                let run = serde_json::to_value(&plan.statements[0].ops[0]).unwrap();
                let sent = format!("echo {}", shell_quote(evil));
                let expected = serde_json::to_value([CommandPart::Text(sent)]).unwrap();
                assert_eq!(run["template"], expected, "{evil}");
            }
        }
    }

    #[test]
    fn a_value_cannot_go_into_a_raw_string() {
        let error = put("hosts | run 'echo $v'", &["v"], &[("v", "x")]).unwrap_err();
        assert!(error.reason.contains("'...' string"), "{error}");
        assert_eq!(error.span, Some(Span::new(18, 20)));
    }

    #[test]
    fn a_missing_parameter_is_named_at_its_placeholder() {
        let error = braces("hosts | filter az = {{az}}", &[]).unwrap_err();
        assert!(error.reason.contains("`az`"), "{error}");
        assert!(error.hints[0].contains("--param az="), "{error}");
        assert_eq!(error.span, Some(Span::new(20, 26)));
        assert!(braces("hosts | filter az = {{az", &[]).is_err());
    }

    #[test]
    fn quotes_in_comments_and_raw_strings_do_not_confuse_tracking() {
        let out = braces(
            "# it's \"x\nhosts | run 'a\"b' | filter az = {{az}}",
            &[("az", "1a")],
        )
        .unwrap();
        assert!(out.ends_with("filter az = 1a"), "{out}");
    }

    #[test]
    fn a_regex_parameter_is_regex_syntax_not_a_quoted_string() {
        let out = braces(
            "hosts | filter host ~ /{{re}}/ | count",
            &[("re", "^web0[0-2]")],
        )
        .unwrap();
        assert_eq!(out, "hosts | filter host ~ /^web0[0-2]/ | count");
        // A slash cannot end the regex early; an escaped one stays escaped.
        let out = braces("hosts | filter p !~ /{{re}}/", &[("re", r"a/b\/c")]).unwrap();
        assert_eq!(out, r"hosts | filter p !~ /a\/b\/c/");
        let out = braces(
            "hosts | run \"x\" | extract stdout /{{re}}/",
            &[("re", "(?<v>[0-9]+)")],
        )
        .unwrap();
        assert!(out.ends_with("/(?<v>[0-9]+)/"), "{out}");
        assert!(braces("hosts | filter a ~ /{{re}}/", &[("re", "a\\")]).is_err());
        assert!(braces("hosts | filter a ~ /{{re}}/", &[("re", "a\nb")]).is_err());
        // A path is not a regex.
        let out = braces("hosts | filter path = /etc/{{p}}", &[("p", "a b")]).unwrap();
        assert_eq!(out, "hosts | filter path = /etc/\"a b\"");
    }

    #[test]
    fn a_host_selection_parameter_is_a_selection_and_nothing_more() {
        for (value, expected) in [
            ("web[001-010]", "hosts web[001-010] | count"),
            ("@web & @prod", "hosts @web & @prod | count"),
            ("~ /^db/", "hosts ~ /^db/ | count"),
        ] {
            let out = braces("hosts {{nodes}} | count", &[("nodes", value)]).unwrap();
            assert_eq!(out, expected);
        }
        let out = braces("let x = hosts @web ! {{skip}}\n$x", &[("skip", "web[1-2]")]).unwrap();
        assert_eq!(out, "let x = hosts @web ! web[1-2]\n$x");
        for evil in [
            "web1 | run \"rm -rf /\"",
            "web1; hosts",
            "",
            "web1\nhosts | run \"x\"",
        ] {
            let error = braces("hosts {{nodes}} | count", &[("nodes", evil)]).unwrap_err();
            assert!(
                error.reason.contains("not a host selection"),
                "{evil}: {error}"
            );
        }
        // `@{{group}}` is one word: the value is a group name.
        let out = braces("hosts @{{g}}", &[("g", "web")]).unwrap();
        assert_eq!(out, "hosts @web");
    }

    #[test]
    fn numbers_and_durations_go_in_as_written() {
        let out = braces(
            "hosts | run \"x\" timeout={{t}} | filter load > {{max}} | head {{n}}",
            &[("t", "5s"), ("max", "3.5"), ("n", "10")],
        )
        .unwrap();
        assert_eq!(
            out,
            "hosts | run \"x\" timeout=5s | filter load > 3.5 | head 10"
        );
    }
}
