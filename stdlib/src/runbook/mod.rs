//! Runbook scripts: `shoal run FILE.shoal --param KEY=VALUE`, and the body
//! of every check in the catalog. A script starts with typed parameters,
//! which its statements use as `$name`:
//!
//! ```text
//! # check-app.shoal: which hosts in an AZ run a bad config?
//! param az: string = "us-east-1a"
//! param threshold: int = 90
//! param hosts: pattern
//! hosts $hosts | filter az = $az | run "df -P /" | ... | assert use < $threshold
//! ```
//!
//! [`Runbook::parse`] reads the `param` lines (params.rs); [`Runbook::source`]
//! checks each value given against its param's type, takes the defaults of
//! the others, and puts every value in place (substitute.rs) as what it
//! stands for: a shell word in a command, a regex, a host selection, a
//! value. The older `{{KEY}}` placeholders go through the same
//! substitution, typed when KEY is a declared param. Every mistake is found
//! here, before any host is contacted, as an error whose span points into
//! the script as written.

mod params;
mod substitute;

use std::collections::HashMap;
use std::fmt::Write as _;

use shoal_lang::{Error, Result, Span, did_you_mean};

pub use params::{ParamDecl, ParamType};

/// A script: its declared params and its statements.
#[derive(Debug, Clone)]
pub struct Runbook {
    params: Vec<ParamDecl>,
    /// The script with its `param` lines blanked out, byte for byte, so
    /// that every offset is still the script's own.
    body: String,
}

impl Runbook {
    /// Reads the `param` lines of `script`. They come first: before them
    /// only blank lines and comments, after them the statements.
    pub fn parse(script: &str) -> Result<Runbook> {
        let mut params: Vec<ParamDecl> = Vec::new();
        let mut body = String::with_capacity(script.len());
        let mut statements_begun = false;
        let mut offset = 0;
        for line in script.split_inclusive('\n') {
            let words = line.trim_start();
            let is_param = words
                .strip_prefix("param")
                .is_some_and(|rest| rest.starts_with(char::is_whitespace));
            if is_param {
                let span = Span::new(offset, offset + line.trim_end().len());
                if statements_begun {
                    return Err(
                        Error::new("a param is declared after the first statement", span)
                            .with_hint(
                                "params come at the top of the script, before any statement",
                            ),
                    );
                }
                let decl = params::parse_line(line, offset)?;
                if params.iter().any(|p| p.name == decl.name) {
                    return Err(Error::new(
                        format!("param {} is declared twice", decl.name),
                        span,
                    ));
                }
                params.push(decl);
                body.extend(line.chars().map(|c| match c {
                    '\n' => "\n".to_string(),
                    c => " ".repeat(c.len_utf8()),
                }));
            } else {
                if !(words.is_empty() || words.starts_with('#')) {
                    statements_begun = true;
                }
                body.push_str(line);
            }
            offset += line.len();
        }
        Ok(Runbook { params, body })
    }

    /// The declared params, in the order they were declared.
    pub fn params(&self) -> &[ParamDecl] {
        &self.params
    }

    /// The statements with every param's value in place: `given` (later
    /// pairs win), each checked against its type, else the default. A
    /// declared param with neither, a value of the wrong type, a `{{KEY}}`
    /// with no value, a given key the script neither declares nor uses, and
    /// a `let` of a param's name are each an error.
    pub fn source(&self, given: &[(String, String)]) -> Result<String> {
        let mut values: HashMap<String, String> = HashMap::new();
        for param in &self.params {
            if let Some(default) = &param.default {
                values.insert(param.name.clone(), default.clone());
            }
        }
        for (key, value) in given {
            if let Some(param) = self.param(key) {
                param.check(value)?;
            }
            values.insert(key.clone(), value.clone());
        }
        if let Some(missing) = self.params.iter().find(|p| !values.contains_key(&p.name)) {
            return Err(Error::new(
                format!("param {} has no default and was not given", missing.name),
                missing.span,
            )
            .with_hint(format!("pass --param {}=VALUE", missing.name)));
        }
        self.refuse_shadowing()?;
        let declared: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        let (text, used) = substitute::substitute(&self.body, &declared, &values)?;
        if let Some((key, _)) = given
            .iter()
            .find(|(key, _)| self.param(key).is_none() && !used.contains(key.as_str()))
        {
            return Err(self.unknown(key, &used));
        }
        Ok(text)
    }

    fn param(&self, name: &str) -> Option<&ParamDecl> {
        self.params.iter().find(|p| p.name == name)
    }

    /// A given key the script has no use for, with the names it does have.
    fn unknown(&self, key: &str, used: &std::collections::HashSet<&str>) -> Error {
        let mut placeholders: Vec<&str> = used
            .iter()
            .copied()
            .filter(|k| self.param(k).is_none())
            .collect();
        placeholders.sort_unstable();
        let params = self.params.iter().map(|p| p.name.as_str());
        let mut error = Error::new(format!("the script has no param `{key}`"), None);
        if let Some(near) = did_you_mean(key, params.clone().chain(placeholders.iter().copied())) {
            error = error.with_hint(format!("did you mean '{near}'?"));
        }
        let names: Vec<String> = params
            .map(str::to_string)
            .chain(placeholders.iter().map(|k| format!("{{{{{k}}}}}")))
            .collect();
        if names.is_empty() {
            error.with_hint("it has no params and no {{KEY}} placeholder")
        } else {
            error.with_hint(format!("it has {}", names.join(", ")))
        }
    }

    /// `let NAME = ...` where NAME is a param: `$NAME` would mean the param.
    fn refuse_shadowing(&self) -> Result<()> {
        let mut offset = 0;
        for line in self.body.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("let ") {
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if self.param(&name).is_some() {
                    let start = offset + (line.len() - trimmed.len());
                    return Err(Error::new(
                        format!("`let {name}` has the name of a param"),
                        Span::new(start, start + 4 + name.len()),
                    )
                    .with_hint(format!(
                        "`${name}` means the param here; give the result another name"
                    )));
                }
            }
            offset += line.len();
        }
        Ok(())
    }

    /// The params as `shoal run FILE --help` lists them, one a line:
    /// name, type and default.
    pub fn describe_params(&self) -> String {
        if self.params.is_empty() {
            return "  (none)\n".to_string();
        }
        let width = self.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for param in &self.params {
            let _ = writeln!(
                out,
                "  {:<width$}  {:<8}  {}",
                param.name,
                param.kind.as_str(),
                param.default_text()
            );
        }
        out
    }
}

/// Parses `KEY=VALUE` for `--param`.
pub fn parse_param(text: &str) -> std::result::Result<(String, String), String> {
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
    use super::*;

    const SCRIPT: &str = "\
# check-app.shoal
param az: string = \"us-east-1a\"
param threshold: int = 90
param hosts: pattern

hosts $hosts | filter az = $az | run \"df -P /\" | extract stdout /(?<use>[0-9]+)%/ | assert use < $threshold
";

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn params_take_defaults_and_given_values_in_place() {
        let runbook = Runbook::parse(SCRIPT).unwrap();
        let names: Vec<&str> = runbook.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["az", "threshold", "hosts"]);
        let text = runbook
            .source(&given(&[("hosts", "@web & @prod"), ("threshold", "80")]))
            .unwrap();
        let statement = text.lines().last().unwrap();
        assert_eq!(
            statement,
            "hosts @web & @prod | filter az = us-east-1a | run \"df -P /\" | extract stdout /(?<use>[0-9]+)%/ | assert use < 80"
        );
        // The param lines are blank, so lines keep their numbers.
        assert_eq!(text.lines().count(), SCRIPT.lines().count());
        assert!(crate::compile(&text).is_ok());
    }

    #[test]
    fn a_wrong_type_a_missing_param_and_an_unknown_one_are_errors() {
        let runbook = Runbook::parse(SCRIPT).unwrap();
        let error = runbook
            .source(&given(&[("hosts", "@web"), ("threshold", "abc")]))
            .unwrap_err();
        assert_eq!(error.reason, "param threshold expects int, got 'abc'");
        let rendered = error.render(SCRIPT, false);
        assert!(
            rendered.contains("3 | param threshold: int = 90\n"),
            "{rendered}"
        );
        let error = runbook.source(&[]).unwrap_err();
        assert_eq!(error.reason, "param hosts has no default and was not given");
        assert_eq!(error.hints, ["pass --param hosts=VALUE"]);
        let error = runbook
            .source(&given(&[("hosts", "@web"), ("treshold", "80")]))
            .unwrap_err();
        assert_eq!(error.reason, "the script has no param `treshold`");
        assert_eq!(error.hints[0], "did you mean 'threshold'?");
    }

    #[test]
    fn braces_still_work_and_are_typed_when_declared() {
        let runbook =
            Runbook::parse("param n: int = 3\nhosts | head {{n}} | filter az = {{az}}").unwrap();
        let text = runbook.source(&given(&[("az", "b")])).unwrap();
        assert_eq!(text.lines().last(), Some("hosts | head 3 | filter az = b"));
        assert!(runbook.source(&given(&[("az", "b"), ("n", "x")])).is_err());
        let error = runbook
            .source(&given(&[("az", "b"), ("zone", "c")]))
            .unwrap_err();
        assert!(error.hints.last().unwrap().contains("{{az}}"), "{error}");
    }

    #[test]
    fn params_come_first_and_do_not_hide_results() {
        let error = Runbook::parse("hosts | count\nparam n: int = 1").unwrap_err();
        assert!(
            error.reason.contains("after the first statement"),
            "{error}"
        );
        let error = Runbook::parse("param n: int\nparam n: int").unwrap_err();
        assert!(error.reason.contains("twice"), "{error}");
        let runbook = Runbook::parse("param bad: int = 1\nlet bad = hosts\n$bad | count").unwrap();
        let error = runbook.source(&[]).unwrap_err();
        assert!(error.reason.contains("`let bad`"), "{error}");
        // A `let` result of another name is still `$name`.
        let runbook = Runbook::parse("param n: int = 1\nlet all = hosts | head $n\n$all").unwrap();
        assert_eq!(runbook.source(&[]).unwrap().lines().last(), Some("$all"));
    }

    #[test]
    fn help_lists_each_param_with_its_type_and_default() {
        let runbook = Runbook::parse(SCRIPT).unwrap();
        assert_eq!(
            runbook.describe_params(),
            "  az         string    us-east-1a\n  threshold  int       90\n  hosts      pattern   (required)\n"
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
