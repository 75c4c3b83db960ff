//! The one error type of the language, and its rendering with a caret.
//!
//! Errors are data (reason, span, hints) and are rendered once, at the top,
//! by whoever holds the source text. Parse, plan and evaluation errors all
//! use this type so every message looks the same.

use std::fmt::{self, Write};

use serde::Serialize;

use crate::span::{Span, floor_char_boundary};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Error {
    /// What is wrong, as a sentence without a trailing period.
    pub reason: String,
    /// Where, when the error is about a place in the query.
    pub span: Option<Span>,
    /// How to fix it.
    pub hints: Vec<String>,
    /// What sort of mistake it is, for callers that treat some apart.
    #[serde(skip)]
    pub kind: ErrorKind,
}

/// The sorts of error a caller may need to tell apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ErrorKind {
    #[default]
    Other,
    /// A column the rows do not have: known before any host is contacted
    /// whenever the columns are (see shoal-stdlib's `Session::check`).
    UnknownColumn,
    /// A mistake whatever the hosts answer, such as an unknown baseline or
    /// one `save` would overwrite: `Session::check` reports it before any
    /// host is contacted.
    Definite,
    /// An `assert` some row did not satisfy: the query ran and its answer
    /// is "no", which the command line reports as exit 1, not as a mistake.
    AssertFailed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(reason: impl Into<String>, span: impl Into<Option<Span>>) -> Self {
        Error {
            reason: reason.into(),
            span: span.into(),
            hints: Vec::new(),
            kind: ErrorKind::Other,
        }
    }

    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Renders the error against the text it came from:
    ///
    /// ```text
    /// error: unknown stage `filtr`
    ///  --> 1:9
    ///   |
    /// 1 | hosts | filtr az=x
    ///   |         ^^^^^
    ///   = hint: did you mean 'filter'?
    /// ```
    ///
    /// With `color`, the headline and caret are red for a terminal.
    pub fn render(&self, source: &str, color: bool) -> String {
        self.render_in(None, source, color)
    }

    /// [`Error::render`] for text read from a file: the location line
    /// names it, as in ` --> checks/disk.shoal:3:7`.
    pub fn render_file(&self, file: &str, source: &str, color: bool) -> String {
        self.render_in(Some(file), source, color)
    }

    fn render_in(&self, file: Option<&str>, source: &str, color: bool) -> String {
        let (red, bold, reset) = if color {
            ("\x1b[31;1m", "\x1b[1m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        let mut out = format!("{red}error{reset}{bold}: {}{reset}\n", self.reason);
        let mut gutter = String::from(" ");
        if let Some(span) = self.span {
            let (line_no, col) = span.line_col(source);
            let line = source.lines().nth(line_no - 1).unwrap_or("");
            let number = line_no.to_string();
            gutter = " ".repeat(number.len() + 1);
            let start = floor_char_boundary(source, span.start);
            let end = floor_char_boundary(source, span.end.max(span.start));
            // The caret covers the span's part of this line, at least one column.
            let on_line = source[start..end].split('\n').next().unwrap_or("");
            let width = on_line.chars().count().max(1);
            let file = file.map_or(String::new(), |f| format!("{f}:"));
            let _ = writeln!(out, "{}--> {file}{line_no}:{col}", &gutter[1..]);
            let _ = writeln!(out, "{gutter}|");
            let _ = writeln!(out, "{number} | {line}");
            let _ = writeln!(
                out,
                "{gutter}| {}{red}{}{reset}",
                " ".repeat(col - 1),
                "^".repeat(width)
            );
        }
        if let (Some(file), None) = (file, self.span) {
            let _ = writeln!(out, "{gutter}--> {file}");
        }
        for hint in &self.hints {
            let _ = writeln!(out, "{gutter}= hint: {hint}");
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)?;
        for hint in &self.hints {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_the_span_with_hints() {
        let error = Error::new("unknown stage `filtr`", Span::new(8, 13))
            .with_hint("did you mean 'filter'?");
        assert_eq!(
            error.render("hosts | filtr az=x", false),
            "error: unknown stage `filtr`\n --> 1:9\n  |\n1 | hosts | filtr az=x\n  |         ^^^^^\n  = hint: did you mean 'filter'?\n"
        );
    }

    #[test]
    fn an_error_in_a_file_names_the_file() {
        let error = Error::new("unknown stage `filtr`", Span::new(16, 21));
        assert_eq!(
            error.render_file("a.shoal", "alarm x\nhosts | filtr", false),
            "error: unknown stage `filtr`\n --> a.shoal:2:9\n  |\n2 | hosts | filtr\n  |         ^^^^^\n"
        );
        assert_eq!(
            Error::new("cannot read it", None).render_file("b.shoal", "", false),
            "error: cannot read it\n --> b.shoal\n"
        );
    }

    #[test]
    fn renders_without_a_span_and_at_end_of_input() {
        let plain = Error::new("no inventory", None).with_hint("pass --inventory");
        assert_eq!(
            plain.render("", false),
            "error: no inventory\n = hint: pass --inventory\n"
        );
        let at_end = Error::new("expected a stage", Span::new(7, 7));
        assert!(at_end.render("hosts |", false).contains("  |        ^\n"));
    }

    #[test]
    fn renders_the_file_a_source_came_from() {
        let error = Error::new("unknown level `locl`", Span::new(10, 14));
        let text = error.render_file("checks/disk.shoal", "# x\nlevel locl", false);
        assert!(text.contains(" --> checks/disk.shoal:2:7\n"), "{text}");
    }
}
