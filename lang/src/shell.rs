//! Shell text: POSIX quoting, and the `{column}` placeholders of a `run`
//! command, which take each host's value of the column, quoted.
//!
//! A placeholder is `{NAME}` with NAME a column name (`[A-Za-z_][A-Za-z0-9_]*`).
//! Everything else stays the shell's: `${HOME}` and `\{x}` (a `{` after `$` or
//! a backslash), `{print $1}`, `{ a; b; }`, `{a,b}`, `{}` (find's), and an
//! unclosed `{name`. `{{` and `}}` stand for one literal brace, as in `parse`
//! patterns, so `{{name}}` is the text `{name}`.
//!
//! Quoting a value makes it one literal word only where the shell reads
//! words: so a placeholder must stand in plain command text (at the top, or
//! inside `$(...)`). Inside quotes, backquotes, arithmetic, a comment or a
//! here-document, the shell would read the quoted value differently (`"'$(x)'"`
//! still runs `x`), and planning rejects it. To find where it stands, the
//! command is read with a small model of POSIX `sh` lexing, which errs on the
//! side of rejecting. The value is still code to a command that evaluates its
//! arguments (`eval`, `sh -c`, bash's `[[ $x -eq 1 ]]`): quoting cannot change
//! what such a command does with it.

use crate::ast::Value;
use crate::error::{Error, Result};
use crate::plan::{ColumnRef, CommandPart};

/// Quotes `text` as one POSIX shell word: single quotes, with each `'`
/// written as `'\''`. Safe for any text, newlines and `$` included.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The command one host runs: the text, with each placeholder's value on
/// that host shell-quoted into place. `value` gives a column's value, `None`
/// for null. `Err` says why the host cannot run it, for its `error` column.
pub fn render_command<'v>(
    parts: &[CommandPart],
    mut value: impl FnMut(&ColumnRef) -> Option<&'v str>,
) -> std::result::Result<String, String> {
    let mut command = String::new();
    for part in parts {
        match part {
            CommandPart::Text(text) => command.push_str(text),
            CommandPart::Column(column) => match value(column) {
                None => return Err(format!("`{{{}}}` is null on this host", column.name)),
                // C strings end at NUL: the shell would see a cut-off command.
                Some(v) if v.contains('\0') => {
                    return Err(format!(
                        "`{{{}}}` holds a NUL byte, which a shell command cannot carry",
                        column.name
                    ));
                }
                Some(v) => command.push_str(&shell_quote(v)),
            },
        }
    }
    Ok(command)
}

/// Splits a `run` command into text and `{column}` placeholders.
pub fn template(command: &Value) -> Result<Vec<CommandPart>> {
    let text = command.text.as_str();
    let mut lexer = Lexer::default();
    let mut parts: Vec<CommandPart> = Vec::new();
    let mut literal = String::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            literal.push_str(&rest[..1]);
            // A brace never changes the shell's context, but it may be the
            // character a backslash escapes.
            lexer.read(&rest[..1]);
            at += 2;
            continue;
        }
        if let Some(name) = placeholder(rest).filter(|_| lexer.may_start_placeholder()) {
            let end = at + name.len() + 2;
            if let Some((reason, hint)) = lexer.unquotable() {
                return Err(
                    Error::new(format!("`{{{name}}}` {reason}"), command.span_of(at..end))
                        .with_hint(hint.replace("NAME", name)),
                );
            }
            if !literal.is_empty() {
                parts.push(CommandPart::Text(std::mem::take(&mut literal)));
            }
            parts.push(CommandPart::Column(ColumnRef {
                name: name.to_string(),
                span: command.span_of(at..end),
            }));
            lexer.placeholder();
            at = end;
            continue;
        }
        let taken = lexer.read(rest);
        literal.push_str(&rest[..taken]);
        at += taken;
    }
    if !literal.is_empty() || parts.is_empty() {
        parts.push(CommandPart::Text(literal));
    }
    Ok(parts)
}

/// The NAME of a `{NAME}` at the start of `text`.
fn placeholder(text: &str) -> Option<&str> {
    let inside = text.strip_prefix('{')?;
    let name = &inside[..inside.find('}')?];
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// What the shell is reading at a point of the command, as far as quoting
/// goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Commands: the top level, or inside `$(...)` with `parens` unclosed
    /// `(` of its own.
    Code { parens: usize },
    /// `` `...` ``
    Backquote,
    /// `'...'`
    Single,
    /// `$'...'`, where a backslash escapes.
    AnsiC,
    /// `"..."`
    Double,
    /// `$((...))` or `((...))`, with `parens` unclosed `(` of its own.
    Arithmetic { parens: usize },
    /// `#` to the end of the line.
    Comment,
    /// From the line after `<<` to the end: never left, to be safe.
    HereDocument,
}

/// A model of how `sh` reads quotes, one piece of text at a time.
#[derive(Debug)]
struct Lexer {
    /// Innermost last; the bottom is the top level.
    stack: Vec<Context>,
    /// The last character was an unquoted backslash: the next is literal.
    escaped: bool,
    /// The last character ends a word, so a `#` here starts a comment.
    word_start: bool,
    /// The last character was a `$`, so a `{` here is `${...}`.
    dollar: bool,
    /// A `<<` was read: its here-document starts at the next line.
    here_document: bool,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer {
            stack: vec![Context::Code { parens: 0 }],
            escaped: false,
            word_start: true,
            dollar: false,
            here_document: false,
        }
    }
}

impl Lexer {
    fn top(&self) -> Context {
        self.stack
            .last()
            .copied()
            .unwrap_or(Context::Code { parens: 0 })
    }

    /// Whether a `{` here may start a placeholder: not `\{`, not `${`.
    fn may_start_placeholder(&self) -> bool {
        !self.escaped && !self.dollar
    }

    /// Why a quoted value would not be one literal word here, and a hint in
    /// which NAME stands for the placeholder's name; `None` where it would.
    fn unquotable(&self) -> Option<(&'static str, &'static str)> {
        let reason = |context: &Context| match context {
            Context::Code { .. } => None,
            Context::Single | Context::AnsiC | Context::Double => Some((
                "is inside shell quotes, where shoal cannot quote its value",
                "shoal quotes the value itself: remove the quotes around {NAME}, \
                 or write {{NAME}} for the literal text {NAME}",
            )),
            Context::Backquote => Some((
                "is inside backquotes, where shoal cannot quote its value",
                "write $(...) instead of `...`, or write {{NAME}} for the literal text {NAME}",
            )),
            Context::Arithmetic { .. } => Some((
                "is inside shell arithmetic, which would run its value as code",
                "use test or expr, which read it as data: [ {NAME} -gt 3 ], expr {NAME} + 1; \
                 or write {{NAME}} for the literal text {NAME}",
            )),
            Context::Comment => Some((
                "is in a shell comment, which a value with a newline would end",
                "move {NAME} before the #, or write {{NAME}} for the literal text {NAME}",
            )),
            Context::HereDocument => Some((
                "is inside a here-document, where shoal cannot quote its value",
                "pass the value as an argument, as in printf '%s\\n' {NAME} | CMD, \
                 or write {{NAME}} for the literal text {NAME}",
            )),
        };
        // The innermost context decides, except that backquotes and
        // arithmetic re-read everything inside them, `$(...)` included.
        reason(&self.top()).or_else(|| {
            self.stack
                .iter()
                .rev()
                .find(|c| matches!(c, Context::Backquote | Context::Arithmetic { .. }))
                .and_then(reason)
        })
    }

    /// A placeholder was put here: to the shell, a quoted word.
    fn placeholder(&mut self) {
        self.word_start = false;
        self.dollar = false;
    }

    /// Reads the shell text at the start of `text`: one character, or an
    /// operator such as `$((`. Returns how many bytes it took.
    fn read(&mut self, text: &str) -> usize {
        let Some(c) = text.chars().next() else {
            return 0;
        };
        if std::mem::take(&mut self.escaped) {
            self.word_start = false;
            self.dollar = c == '$';
            return c.len_utf8();
        }
        let taken = match self.top() {
            Context::Code { .. } | Context::Backquote => self.read_code(text),
            Context::Double => self.read_double(text),
            Context::Single | Context::AnsiC => {
                match c {
                    '\\' if self.top() == Context::AnsiC => self.escaped = true,
                    '\'' => {
                        self.stack.pop();
                    }
                    _ => {}
                }
                c.len_utf8()
            }
            Context::Arithmetic { .. } => self.read_arithmetic(text),
            Context::Comment if c == '\n' => {
                // The newline that ends a comment still ends the line, which
                // may start a here-document.
                self.stack.pop();
                return self.read(text);
            }
            Context::Comment | Context::HereDocument => c.len_utf8(),
        };
        let last = text[..taken].chars().next_back().unwrap_or(c);
        self.word_start = !self.escaped
            && (last.is_whitespace() || ";&|()<>`".contains(last))
            && matches!(self.top(), Context::Code { .. } | Context::Backquote);
        self.dollar = taken == 1 && c == '$';
        taken
    }

    /// Opens `context` with the `taken` bytes that start it.
    fn open(&mut self, context: Context, taken: usize) -> usize {
        self.stack.push(context);
        taken
    }

    /// `$(`, `$((` and `` ` ``, which work alike in commands and inside
    /// double quotes.
    fn read_substitution(&mut self, text: &str) -> Option<usize> {
        if text.starts_with("$((") {
            Some(self.open(Context::Arithmetic { parens: 0 }, 3))
        } else if text.starts_with("$(") {
            Some(self.open(Context::Code { parens: 0 }, 2))
        } else if !text.starts_with('`') {
            None
        } else if self.top() == Context::Backquote {
            self.stack.pop();
            Some(1)
        } else {
            Some(self.open(Context::Backquote, 1))
        }
    }

    fn read_code(&mut self, text: &str) -> usize {
        if let Some(taken) = self.read_substitution(text) {
            return taken;
        }
        // Only a `$(...)` ends at a `)`; at the top level it is a subshell's.
        let nested = self.stack.len() > 1;
        let c = text.chars().next().unwrap_or(' ');
        match c {
            '\\' => self.escaped = true,
            '\'' => return self.open(Context::Single, 1),
            '"' => return self.open(Context::Double, 1),
            '$' if text.starts_with("$'") => return self.open(Context::AnsiC, 2),
            '(' if text.starts_with("((") => {
                return self.open(Context::Arithmetic { parens: 0 }, 2);
            }
            '#' if self.word_start => return self.open(Context::Comment, 1),
            '<' if text.starts_with("<<<") => return 3,
            '<' if text.starts_with("<<") => self.here_document = true,
            '\n' if self.here_document => return self.open(Context::HereDocument, 1),
            '(' | ')' if nested => {
                if let Some(Context::Code { parens }) = self.stack.last_mut() {
                    match (c, *parens) {
                        ('(', _) => *parens += 1,
                        (_, 0) => {
                            self.stack.pop();
                        }
                        _ => *parens -= 1,
                    }
                }
            }
            _ => {}
        }
        c.len_utf8()
    }

    fn read_double(&mut self, text: &str) -> usize {
        if let Some(taken) = self.read_substitution(text) {
            return taken;
        }
        let c = text.chars().next().unwrap_or(' ');
        match c {
            '\\' => self.escaped = true,
            '"' => {
                self.stack.pop();
            }
            _ => {}
        }
        c.len_utf8()
    }

    fn read_arithmetic(&mut self, text: &str) -> usize {
        let c = text.chars().next().unwrap_or(' ');
        if let Some(Context::Arithmetic { parens }) = self.stack.last_mut() {
            match c {
                '(' => *parens += 1,
                ')' if *parens > 0 => *parens -= 1,
                ')' if text.starts_with("))") => {
                    self.stack.pop();
                    return 2;
                }
                _ => {}
            }
        }
        c.len_utf8()
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::span::Span;

    /// The template of a command, or the error's reason and hint.
    fn parts(command: &str) -> std::result::Result<Vec<CommandPart>, String> {
        let value = Value {
            kind: crate::ast::ValueKind::String,
            text: command.into(),
            span: Span::new(0, command.len() + 2),
            escapes: Vec::new(),
        };
        template(&value).map_err(|e| format!("{e:?}"))
    }

    fn text(text: &str) -> CommandPart {
        CommandPart::Text(text.into())
    }

    fn names(parts: &[CommandPart]) -> Vec<&str> {
        parts
            .iter()
            .filter_map(|p| match p {
                CommandPart::Column(c) => Some(c.name.as_str()),
                CommandPart::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn quoting_survives_every_awkward_character() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        for text in ["it's", "$HOME `id` \"x\"", "a\nb", "'''", "\\", "!*?[a]"] {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(text)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
        }
    }

    #[test]
    fn a_placeholder_is_a_column_name_in_braces() {
        let parts = parts("systemctl status {service} --lines={n_2}").unwrap();
        assert_eq!(names(&parts), ["service", "n_2"]);
        assert_eq!(parts[0], text("systemctl status "));
        assert_eq!(parts[2], text(" --lines="));
    }

    #[test]
    fn other_braces_are_the_shells() {
        for command in [
            "echo ${HOME} ${x:-y}",
            "echo \\{x}",
            "awk '{print $1}'",
            "{ a; b; }",
            "echo {a,b} {1..3} {9x} { x } {x-y}",
            "find /tmp -name x -exec ls {} +",
            "echo {service",
            "echo }",
        ] {
            assert_eq!(parts(command).unwrap(), [text(command)], "{command}");
        }
    }

    #[test]
    fn doubled_braces_are_one_literal_brace() {
        assert_eq!(parts("echo {{x}}").unwrap(), [text("echo {x}")]);
        assert_eq!(
            parts("docker ps --format {{{{.Names}}}}").unwrap(),
            [text("docker ps --format {{.Names}}")]
        );
        let parts = parts("echo {{{x}}}").unwrap();
        assert_eq!(parts, [text("echo {"), parts[1].clone(), text("}")]);
        assert_eq!(names(&parts), ["x"]);
    }

    #[test]
    fn placeholders_stand_where_the_shell_reads_words() {
        for command in [
            "echo $(cat {x}) \"$(printf %s {x})\"",
            "echo 'it'\\''s' {x} \"a\\\"b\" {x} $'a\\'b' {x}",
            "# it's a comment\necho {x}",
            "echo a#'b' {x} ${#x} {x}",
            "echo $((1 + (2))) {x} $(echo (a)) {x}",
            "echo `date` {x} <<< {x}",
            "FOO={x} env",
        ] {
            let parts = parts(command).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                names(&parts),
                vec!["x"; command.matches("{x}").count()],
                "{command}"
            );
        }
    }

    #[test]
    fn placeholders_inside_quotes_and_the_like_are_rejected() {
        for (command, says) in [
            ("grep '{x}' f", "inside shell quotes"),
            ("echo \"{x}\"", "inside shell quotes"),
            ("echo \"a\\\"{x}\"", "inside shell quotes"),
            ("echo $'{x}'", "inside shell quotes"),
            ("echo `cat {x}`", "inside backquotes"),
            ("echo `echo $(cat {x})`", "inside backquotes"),
            ("echo $(( {x} + 1 ))", "inside shell arithmetic"),
            ("(( {x} > 1 ))", "inside shell arithmetic"),
            ("echo hi # {x}", "in a shell comment"),
            ("echo \\# '{x}'", "inside shell quotes"),
            ("cat <<EOF\n{x}\nEOF", "inside a here-document"),
        ] {
            let error = parts(command).expect_err(command);
            assert!(error.contains(says), "{command}: {error}");
            assert!(error.contains("{{x}}"), "{command}: {error}");
        }
    }

    #[test]
    fn a_placeholder_is_located_in_the_source_past_escapes() {
        let query = "hosts | run \"echo \\\"a\\\" {nope}\"";
        let command: Value = crate::planner::test_catalog::first_stage(query)
            .require("command")
            .unwrap();
        let template = template(&command).unwrap();
        let CommandPart::Column(column) = &template[1] else {
            panic!("not a column: {template:?}");
        };
        assert_eq!(&query[column.span.start..column.span.end], "{nope}");
    }

    #[test]
    fn a_value_without_a_safe_text_does_not_render() {
        let parts = parts("echo {x}").unwrap();
        assert_eq!(
            render_command(&parts, |_| None).unwrap_err(),
            "`{x}` is null on this host"
        );
        assert!(render_command(&parts, |_| Some("a\0b")).is_err());
    }

    /// What the shells print for each allowed template and hostile value:
    /// always the value itself, and nothing runs.
    #[test]
    fn shells_read_every_rendered_value_as_one_literal_word() {
        let dir = std::env::temp_dir().join(format!("shoal-quote-{}", std::process::id()));
        let canary = dir.join("pwned");
        std::fs::create_dir_all(&dir).unwrap();
        let touch = format!("touch {}", canary.display());
        // Each a way to run TOUCH if the value were read as code.
        let values: Vec<String> = [
            "x; TOUCH",
            "$(TOUCH)",
            "`TOUCH`",
            "a'b\"c'; TOUCH; '",
            "line\nTOUCH",
            "a[$(TOUCH)]",
            "",
        ]
        .iter()
        .map(|shape| shape.replace("TOUCH", &touch))
        .collect();
        let templates = [
            "printf %s {x}",
            "printf %s \"$(printf %s {x})\"",
            "# it's\nprintf %s {x}",
            "y=${y:-{x}}; printf %s \"$y\"",
            "printf %s {x} <<< ignored",
        ];
        for shell in ["sh", "bash"] {
            for template in templates {
                // `<<<` is bash's.
                if shell == "sh" && template.contains("<<<") {
                    continue;
                }
                let parts = parts(template).unwrap_or_else(|e| panic!("{e}"));
                for value in &values {
                    let command = render_command(&parts, |_| Some(value)).unwrap();
                    let Ok(out) = Command::new(shell).arg("-c").arg(&command).output() else {
                        continue;
                    };
                    assert_eq!(
                        String::from_utf8_lossy(&out.stdout),
                        *value,
                        "{shell}: {command}"
                    );
                    assert!(!canary.exists(), "{shell} ran a value: {command}");
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
