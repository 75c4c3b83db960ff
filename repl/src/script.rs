//! Runbook scripts: `shoal run FILE.shoal --param KEY=VALUE`. `{{KEY}}` in
//! the script is replaced by the parameter's value, quoted for where it
//! stands, so no value can change the meaning of the query or the command.

use std::collections::HashMap;

use shoal_lang::shell_quote;

/// Replaces every `{{KEY}}` with its value.
///
/// - Inside a double-quoted shoal string (a `run` command), the value is
///   shell-quoted (`'...'`) and then escaped for the shoal string, so
///   `run "systemctl status {{svc}}"` runs exactly one argument.
/// - Elsewhere a value of bare-word characters (letters, digits, `-._:/`)
///   goes in as is, so `hosts @{{group}}` works; any other value becomes a
///   double-quoted shoal string, one value however it is spelt.
///
/// A missing parameter is an error that names it.
pub fn substitute(script: &str, params: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    let mut in_string = false;
    while let Some(open) = rest.find("{{") {
        let (before, after) = rest.split_at(open);
        in_string = track_quotes(before, in_string);
        out.push_str(before);
        let close = after.find("}}").ok_or_else(|| {
            format!(
                "`{{{{` without a closing `}}}}`: {}",
                after.lines().next().unwrap_or("")
            )
        })?;
        let key = after[2..close].trim();
        let value = params.get(key).ok_or_else(|| {
            format!("the script needs the parameter `{key}`: pass --param {key}=VALUE")
        })?;
        let bare = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c));
        out.push_str(&if in_string {
            // Braces doubled, since in a `run` command `{{` is a literal brace:
            // a `{host}` in the value stays text, never a column placeholder.
            shoal_escape(&shell_quote(value))
                .replace('{', "{{")
                .replace('}', "}}")
        } else if bare {
            value.clone()
        } else {
            format!("\"{}\"", shoal_escape(value))
        });
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a double-quoted string is open after `text`, given the state
/// before it. `#` comments and single-quoted raw strings are skipped.
fn track_quotes(text: &str, mut in_string: bool) -> bool {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (in_string, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') | (false, '"') => in_string = !in_string,
            (false, '\'') => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
            }
            (false, '#') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    in_string
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
    fn params_parse_as_key_value() {
        assert_eq!(
            parse_param("az=us-east-1a=x"),
            Ok(("az".into(), "us-east-1a=x".into()))
        );
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("a-b=1").is_err());
    }
}
