//! Typed parameters: the `param NAME: TYPE [= DEFAULT]` lines at the top of
//! a runbook or check, and the check of a value against its type.

use shoal_lang::{Error, Result, Span, did_you_mean};

use super::substitute::is_selection;

/// What a parameter's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Any text.
    String,
    /// A whole number, negative or not.
    Int,
    /// A finite number.
    Float,
    /// `500ms`, `5s`, `5m`, `1h`.
    Duration,
    /// A host selection: what may follow `hosts`.
    Pattern,
    /// A regular expression that compiles.
    Regex,
}

impl ParamType {
    pub const ALL: [ParamType; 6] = [
        ParamType::String,
        ParamType::Int,
        ParamType::Float,
        ParamType::Duration,
        ParamType::Pattern,
        ParamType::Regex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Duration => "duration",
            ParamType::Pattern => "pattern",
            ParamType::Regex => "regex",
        }
    }

    /// What a value of the type looks like, for hints.
    fn looks_like(self) -> &'static str {
        match self {
            ParamType::String => "any text",
            ParamType::Int => "a whole number such as 90",
            ParamType::Float => "a number such as 0.5",
            ParamType::Duration => "a duration such as 500ms, 5s, 5m or 1h",
            ParamType::Pattern => {
                "hosts: a nodeset (web[01-10]), a @group or ~ /regex/, joined with &, ! or ,"
            }
            ParamType::Regex => "a regular expression such as ^web0[1-3]$",
        }
    }

    /// Whether `value` is of this type.
    pub fn admits(self, value: &str) -> bool {
        match self {
            ParamType::String => true,
            ParamType::Int => value.parse::<i64>().is_ok(),
            ParamType::Float => value.parse::<f64>().is_ok_and(f64::is_finite),
            ParamType::Duration => shoal_lang::parse_duration(value).is_ok(),
            ParamType::Pattern => is_selection(value),
            ParamType::Regex => !value.contains('\n') && regex::Regex::new(value).is_ok(),
        }
    }
}

/// One `param` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDecl {
    pub name: String,
    pub kind: ParamType,
    /// The value when none is given; `None`: the param must be given.
    pub default: Option<String>,
    /// The whole line, for errors about the param.
    pub span: Span,
    /// The type as written, where a wrong value's caret goes.
    pub type_span: Span,
}

impl ParamDecl {
    /// `value` checked against the param's type: "param threshold expects
    /// int, got 'abc'", at the param's type.
    pub fn check(&self, value: &str) -> Result<()> {
        if self.kind.admits(value) {
            return Ok(());
        }
        Err(Error::new(
            format!(
                "param {} expects {}, got '{value}'",
                self.name,
                self.kind.as_str()
            ),
            self.type_span,
        )
        .with_hint(format!(
            "{} is {}",
            self.kind.as_str(),
            self.kind.looks_like()
        )))
    }

    /// How `--help` lists it: `threshold  int  90`.
    pub fn default_text(&self) -> String {
        match &self.default {
            Some(value) if value.is_empty() || value.contains(char::is_whitespace) => {
                format!("\"{value}\"")
            }
            Some(value) => value.clone(),
            None => "(required)".to_string(),
        }
    }
}

/// Reads the line `line`, which starts at `offset` of the script and has
/// `param` as its first word, as a declaration.
pub(super) fn parse_line(line: &str, offset: usize) -> Result<ParamDecl> {
    let span_of = |start: usize, end: usize| Span::new(offset + start, offset + end);
    let whole = span_of(0, line.trim_end().len());
    let example = "for example: param threshold: int = 90";
    let after_keyword = line.find("param").map_or(0, |at| at + "param".len());
    let rest = &line[after_keyword..];
    let Some((name_part, type_part)) = rest.split_once(':') else {
        return Err(
            Error::new("a param needs a name and a type", whole).with_hint(example.to_string())
        );
    };
    let name = name_part.trim();
    let name_start = after_keyword + name_part.find(name).unwrap_or(0);
    let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(Error::new(
            format!("`{name}` is not a param name"),
            span_of(name_start, name_start + name.len().max(1)),
        )
        .with_hint("a name is letters, digits and _, and does not start with a digit"));
    }
    let type_offset = after_keyword + name_part.len() + 1;
    let (type_text, default) = match type_part.split_once('=') {
        Some((type_text, default)) => (type_text, Some(default)),
        None => (type_part, None),
    };
    let type_word = type_text.trim();
    let type_start = type_offset + type_text.find(type_word).unwrap_or(0);
    let type_span = span_of(type_start, type_start + type_word.len().max(1));
    let kind = ParamType::ALL
        .into_iter()
        .find(|t| t.as_str() == type_word)
        .ok_or_else(|| {
            let mut error = Error::new(format!("`{type_word}` is not a param type"), type_span);
            if let Some(near) = did_you_mean(type_word, ParamType::ALL.map(ParamType::as_str)) {
                error = error.with_hint(format!("did you mean '{near}'?"));
            }
            let all: Vec<&str> = ParamType::ALL.map(ParamType::as_str).to_vec();
            error.with_hint(format!("the types: {}", all.join(", ")))
        })?;
    let decl = |default| ParamDecl {
        name: name.to_string(),
        kind,
        default,
        span: whole,
        type_span,
    };
    let Some(default) = default else {
        return Ok(decl(None));
    };
    let default_start = type_offset + type_text.len() + 1;
    let default_span = span_of(default_start, line.trim_end().len().max(default_start + 1));
    let value = default_value(default.trim()).map_err(|reason| {
        Error::new(reason, default_span).with_hint(
            "a default is a word (90, 5m, web[01-10]) or a quoted string (\"us-east-1a\")",
        )
    })?;
    let declared = decl(Some(value.clone()));
    if !kind.admits(&value) {
        return Err(Error::new(
            format!(
                "param {name} expects {}, but its default is '{value}'",
                kind.as_str()
            ),
            default_span,
        )
        .with_hint(format!("{} is {}", kind.as_str(), kind.looks_like())));
    }
    Ok(declared)
}

/// A default as written: `"text"` with `\"`, `\\`, `\n` and `\t` escapes,
/// `'raw'`, or a bare word up to a `#` comment.
fn default_value(written: &str) -> std::result::Result<String, String> {
    let unclosed = |quote: char| format!("the default's {quote} is not closed on its line");
    if let Some(raw) = written.strip_prefix('\'') {
        let (value, after) = raw.split_once('\'').ok_or_else(|| unclosed('\''))?;
        return only_comment_after(after).map(|()| value.to_string());
    }
    if let Some(quoted) = written.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => return only_comment_after(&quoted[at + 1..]).map(|()| value),
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(c) => value.push(c),
                    None => break,
                },
                c => value.push(c),
            }
        }
        return Err(unclosed('"'));
    }
    let word = written.split('#').next().unwrap_or("").trim();
    if word.is_empty() {
        return Err("`=` needs a default value after it".to_string());
    }
    if word.contains(char::is_whitespace) {
        return Err(format!("`{word}` has blanks: quote it, \"{word}\""));
    }
    Ok(word.to_string())
}

/// Nothing but blanks or a comment may follow a quoted default.
fn only_comment_after(after: &str) -> std::result::Result<(), String> {
    let after = after.trim();
    if after.is_empty() || after.starts_with('#') {
        Ok(())
    } else {
        Err(format!("`{after}` after the default's closing quote"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(line: &str) -> Result<ParamDecl> {
        parse_line(line, 0)
    }

    #[test]
    fn declarations_read_their_type_and_default() {
        let d = decl("param az: string = \"us-east-1a\"  # the zone").unwrap();
        assert_eq!(
            (d.name.as_str(), d.kind, d.default.as_deref()),
            ("az", ParamType::String, Some("us-east-1a"))
        );
        let d = decl("param threshold: int = 90").unwrap();
        assert_eq!(d.default.as_deref(), Some("90"));
        assert_eq!(d.type_span, Span::new(17, 20));
        let d = decl("param window: duration = 5m").unwrap();
        assert_eq!(d.kind, ParamType::Duration);
        let d = decl("param hosts: pattern").unwrap();
        assert_eq!((d.kind, d.default), (ParamType::Pattern, None));
        let d = decl("param re: regex = '^a\\d'").unwrap();
        assert_eq!(d.default.as_deref(), Some("^a\\d"));
    }

    #[test]
    fn a_wrong_value_names_the_param_its_type_and_the_value() {
        let d = decl("param threshold: int = 90").unwrap();
        let error = d.check("abc").unwrap_err();
        assert_eq!(error.reason, "param threshold expects int, got 'abc'");
        assert_eq!(error.span, Some(Span::new(17, 20)));
        assert!(d.check("-3").is_ok());
        for (kind, good, bad) in [
            (ParamType::Float, "0.5", "nan"),
            (ParamType::Duration, "5m", "5"),
            (ParamType::Pattern, "@web & web[1-3]", "web1 | run \"x\""),
            (ParamType::Regex, "^a+$", "(unclosed"),
        ] {
            assert!(kind.admits(good), "{kind:?} {good}");
            assert!(!kind.admits(bad), "{kind:?} {bad}");
        }
    }

    #[test]
    fn mistakes_in_a_declaration_point_at_their_place() {
        let error = decl("param n: durtion = 3s").unwrap_err();
        assert_eq!(error.reason, "`durtion` is not a param type");
        assert_eq!(error.hints[0], "did you mean 'duration'?");
        assert_eq!(error.span, Some(Span::new(9, 16)));
        let error = decl("param n: int = many").unwrap_err();
        assert_eq!(
            error.reason,
            "param n expects int, but its default is 'many'"
        );
        assert!(decl("param 9lives: int").is_err());
        assert!(decl("param n int").is_err());
        assert!(decl("param s: string = \"open").is_err());
        assert!(decl("param s: string = two words").is_err());
        assert!(decl("param s: string =").is_err());
    }
}
