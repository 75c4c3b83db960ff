//! `parse` patterns: `"{name} uses {pct:int}%"` compiled to one regex with a
//! named group per field, anchored to a whole line.

use crate::ast::Value;
use crate::error::{Error, Result};
use crate::plan::{BUILTIN_COLUMNS, FieldKind, ParseField};

/// Compiles a pattern. Literal text matches itself, except that a run of
/// blanks matches any run of blanks (aligned output pads with spaces), and
/// `{{` and `}}` stand for braces.
pub fn compile(pattern: &Value) -> Result<(String, Vec<ParseField>)> {
    let text = pattern.text.as_str();
    let fail = |reason: String, hint: &str| Error::new(reason, pattern.span).with_hint(hint);
    let mut regex = String::from("(?m)^[ \\t]*");
    let mut fields: Vec<ParseField> = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            regex.push_str(&regex::escape(&rest[..1]));
            rest = &rest[2..];
        } else if c == '{' {
            let Some(close) = rest.find('}') else {
                return Err(fail(
                    "a `{` in the pattern is never closed".into(),
                    "a field looks like {name} or {name:int}; write {{ for a literal brace",
                ));
            };
            let field = field(&rest[1..close]).map_err(|reason| {
                fail(
                    reason,
                    "a field looks like {name}, {name:word}, {name:int} or {name:float}",
                )
            })?;
            if fields.iter().any(|f| f.name == field.name) {
                return Err(fail(
                    format!("the field `{}` is named twice", field.name),
                    "name each field once",
                ));
            }
            regex.push_str(&format!("(?P<{}>{})", field.name, field_regex(field.kind)));
            fields.push(field);
            rest = &rest[close + 1..];
        } else if c == '}' {
            return Err(fail(
                "a `}` in the pattern has no `{`".into(),
                "write }} for a literal brace",
            ));
        } else if c.is_whitespace() {
            regex.push_str("[ \\t]+");
            rest = rest.trim_start();
        } else {
            regex.push_str(&regex::escape(&rest[..c.len_utf8()]));
            rest = &rest[c.len_utf8()..];
        }
    }
    regex.push_str("[ \\t]*$");
    if fields.is_empty() {
        return Err(fail(
            "the pattern has no fields to keep".into(),
            "mark what to keep: parse stdout \"load {load1:float}\"",
        ));
    }
    Ok((regex, fields))
}

fn field(spec: &str) -> std::result::Result<ParseField, String> {
    let (name, kind) = spec.split_once(':').unwrap_or((spec, ""));
    let name = name.trim();
    let kind = match kind.trim() {
        "" | "text" => FieldKind::Text,
        "word" => FieldKind::Word,
        "int" => FieldKind::Int,
        "float" => FieldKind::Float,
        other => return Err(format!("`{other}` is not a field type")),
    };
    let is_identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_identifier {
        return Err(format!(
            "`{{{spec}}}` needs a name made of letters, digits and `_`"
        ));
    }
    if BUILTIN_COLUMNS.contains(&name) {
        return Err(format!(
            "the field `{name}` would overwrite a built-in column"
        ));
    }
    Ok(ParseField {
        name: name.to_string(),
        kind,
    })
}

fn field_regex(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => ".*?",
        FieldKind::Word => "\\S+",
        FieldKind::Int => "[-+]?\\d+",
        FieldKind::Float => "[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::ValueKind;
    use crate::span::Span;

    fn compiled(text: &str) -> Result<regex::Regex> {
        let value = Value {
            kind: ValueKind::String,
            text: text.into(),
            span: Span::new(0, text.len()),
            escapes: Vec::new(),
        };
        compile(&value).map(|(re, _)| regex::Regex::new(&re).expect("compiles"))
    }

    #[test]
    fn fields_match_a_whole_line_and_blanks_match_any_run_of_blanks() {
        let re = compiled("{mount} used {pct:int}%").unwrap();
        let caps = re.captures("tmp\n/var  used   42%\n").unwrap();
        assert_eq!(&caps["mount"], "/var");
        assert_eq!(&caps["pct"], "42");
        assert!(re.captures("/var used 42% extra").is_none());
    }

    #[test]
    fn braces_are_escaped_by_doubling_and_regex_characters_are_literal() {
        let re = compiled("{{a}} (x) {v:float}").unwrap();
        assert_eq!(&re.captures("{a} (x) -1.5e3").unwrap()["v"], "-1.5e3");
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in [
            "no fields",
            "{open",
            "{a} {a}",
            "{a:date}",
            "{9x}",
            "{stdout}",
            "x }",
        ] {
            assert!(compiled(bad).is_err(), "{bad} should be rejected");
        }
    }
}
