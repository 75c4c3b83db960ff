//! A stage's text checked against its signature: the one place where every
//! stage's arguments and options are parsed, type-checked and defaulted,
//! into [`Args`] that the stage reads by name.
//!
//! The text is parsed one argument at a time with the grammar's `arg_*`
//! rules, in the order the signature declares, then the options and `as
//! NAME` in any order. Every error points into the source: the text is
//! parsed with everything before the argument blanked out, so pest's
//! positions are the source's own.

use std::collections::HashSet;

use crate::ast::{self, Ident, Stage, Value, ValueKind};
use crate::check::{column_ref, compile_regex, millis, plan_predicate};
use crate::error::{Error, Result};
use crate::parser::{self, Rule};
use crate::plan::{ColumnRef, Predicate, Rows, Side, SortSpec};
use crate::signature::{Kind, Param, Signature};
use crate::span::Span;

/// One checked argument or option.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A quoted string, or a [`Kind::Number`] as written.
    Value(Value),
    Int(u64),
    Rows(Rows),
    /// A [`Kind::Duration`] in milliseconds.
    Millis(u64),
    Percent(f64),
    Choice(String),
    Column(ColumnRef),
    Columns(Vec<ColumnRef>),
    SortKeys(Vec<SortSpec>),
    Predicate(Predicate),
    /// A regex known to compile.
    Regex(Value),
    Sides(Side, Side),
}

/// A stage's checked arguments, by the names its signature gives them.
#[derive(Debug)]
pub struct Args {
    /// The whole stage, for errors about it rather than one argument.
    pub span: Span,
    /// Where the stage's text ends, for "found the end of the input".
    pub end: Span,
    /// `as NAME`, when the signature takes it and it was given.
    pub as_name: Option<Ident>,
    values: Vec<(&'static str, Arg)>,
}

/// What an argument can be read as; see [`Args::get`].
pub trait FromArg: Sized {
    fn from_arg(arg: Arg) -> Option<Self>;
}

macro_rules! from_arg {
    ($($variant:ident($type:ty)),* $(,)?) => {$(
        impl FromArg for $type {
            fn from_arg(arg: Arg) -> Option<Self> {
                match arg {
                    Arg::$variant(value) => Some(value),
                    _ => None,
                }
            }
        }
    )*};
}
from_arg!(
    Int(u64),
    Rows(Rows),
    Percent(f64),
    Choice(String),
    Column(ColumnRef),
    Columns(Vec<ColumnRef>),
    SortKeys(Vec<SortSpec>),
    Predicate(Predicate),
);

impl FromArg for Value {
    fn from_arg(arg: Arg) -> Option<Self> {
        match arg {
            Arg::Value(value) | Arg::Regex(value) => Some(value),
            _ => None,
        }
    }
}

/// A [`Kind::Duration`], in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub u64);

impl FromArg for Millis {
    fn from_arg(arg: Arg) -> Option<Self> {
        match arg {
            Arg::Millis(ms) => Some(Millis(ms)),
            _ => None,
        }
    }
}

impl FromArg for (Side, Side) {
    fn from_arg(arg: Arg) -> Option<Self> {
        match arg {
            Arg::Sides(a, b) => Some((a, b)),
            _ => None,
        }
    }
}

impl Args {
    /// The argument or option `name`, or `None` when it was not given and
    /// has no default. Asking for a name the signature does not declare, or
    /// as the wrong type, is a bug in the stage, reported as an error.
    pub fn get<T: FromArg>(&mut self, name: &str) -> Result<Option<T>> {
        let Some(index) = self.values.iter().position(|(n, _)| *n == name) else {
            return Ok(None);
        };
        let (_, arg) = self.values.remove(index);
        T::from_arg(arg).map(Some).ok_or_else(|| {
            Error::new(
                format!("internal error: the argument `{name}` has another type"),
                self.span,
            )
        })
    }

    /// A required argument, or an option with a default.
    pub fn require<T: FromArg>(&mut self, name: &str) -> Result<T> {
        self.get(name)?.ok_or_else(|| {
            Error::new(
                format!("internal error: the argument `{name}` is missing"),
                self.span,
            )
        })
    }
}

/// Checks `stage`'s text against `signature`.
pub fn bind(stage: &Stage, signature: &'static Signature) -> Result<Args> {
    let mut binder = Binder {
        stage,
        signature,
        at: stage.text_span.start,
        end: stage.text_span.start + stage.text.trim_end().len(),
        last: None,
        args: Args {
            span: stage.span,
            end: Span::new(0, 0),
            as_name: None,
            values: Vec::new(),
        },
    };
    binder.args.end = Span::new(binder.end, binder.end);
    for param in signature.params {
        binder.argument(param)?;
    }
    binder.options()?;
    for option in signature.options {
        if let Some(default) = option.default
            && !binder.args.values.iter().any(|(n, _)| *n == option.name)
        {
            let value = default_value(default);
            let arg = check_value(option, &value, None)
                .map_err(|e| Error::new(format!("internal error: {}", e.reason), None))?;
            binder.args.values.push((option.name, arg));
        }
    }
    Ok(binder.args)
}

struct Binder<'s> {
    stage: &'s Stage,
    signature: &'static Signature,
    /// Where in the source the next argument starts.
    at: usize,
    /// Where the stage's text ends, trailing blanks left out.
    end: usize,
    /// The last argument parsed, and where it started: trailing text after
    /// it is reported by parsing it again with its `_end` rule.
    last: Option<(&'static Param, usize)>,
    args: Args,
}

impl Binder<'_> {
    /// The stage's text from `at` on, with everything before it blanked out
    /// so that pest's positions are the source's.
    fn text_from(&self, at: usize) -> String {
        let offset = at - self.stage.text_span.start;
        format!(
            "{}{}",
            " ".repeat(at),
            &self.stage.text[offset.min(self.stage.text.len())..]
        )
    }

    fn skip_blanks(&mut self) {
        let offset = self.at - self.stage.text_span.start;
        let rest = &self.stage.text[offset.min(self.stage.text.len())..];
        self.at += rest.len() - rest.trim_start().len();
    }

    /// The word at the cursor, if one starts there.
    fn word(&self) -> &str {
        let offset = self.at - self.stage.text_span.start;
        let rest = &self.stage.text[offset.min(self.stage.text.len())..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        &rest[..len]
    }

    /// True when the cursor is at `name=`: an option, not an argument.
    fn at_option(&self) -> bool {
        let offset = self.at - self.stage.text_span.start;
        let rest = &self.stage.text[offset.min(self.stage.text.len())..];
        let word = self.word();
        !word.is_empty()
            && !word.starts_with(|c: char| c.is_ascii_digit())
            && rest[word.len()..].trim_start().starts_with('=')
    }

    fn at_as(&self) -> bool {
        self.signature.takes_as && self.word() == "as"
    }

    /// Which expected rules an error about this stage may name: options and
    /// `as NAME` only where the signature takes them.
    fn keep(&self) -> impl Fn(Rule) -> bool + use<> {
        let takes_as = self.signature.takes_as;
        let takes_options = !self.signature.options.is_empty();
        move |rule| match rule {
            Rule::as_option | Rule::kw_as => takes_as,
            Rule::stage_option | Rule::option_value | Rule::percent => takes_options,
            _ => true,
        }
    }

    fn argument(&mut self, param: &'static Param) -> Result<()> {
        self.skip_blanks();
        if let Some(keyword) = param.keyword {
            if self.word() != keyword {
                if param.required {
                    return Err(Error::new(
                        format!("expected `{keyword}`"),
                        Span::new(self.at, self.at + self.word().len().max(1)),
                    )
                    .with_hint(format!("`{}`", self.signature.usage())));
                }
                return Ok(());
            }
            self.at += keyword.len();
            self.skip_blanks();
        } else if !param.required && (self.at >= self.end || self.at_option() || self.at_as()) {
            return Ok(());
        }
        let start = self.at;
        let text = self.text_from(start);
        let arg = match param.kind {
            Kind::Text => {
                let pair = self.parse(&text, Rule::arg_text)?.next().expect("a string");
                self.at = pair.as_span().end();
                Arg::Value(parser::build_string(pair))
            }
            Kind::Column => {
                let pair = self
                    .parse(&text, Rule::arg_column)?
                    .next()
                    .expect("a column");
                self.at = pair.as_span().end();
                Arg::Column(column_ref(&parser::build_ident(pair)))
            }
            Kind::Columns => {
                let pair = self
                    .parse(&text, Rule::arg_columns)?
                    .next()
                    .expect("columns");
                self.at = pair.as_span().end();
                Arg::Columns(distinct_columns(
                    &parser::build_column_list(pair),
                    &self.quoted_usage(param),
                )?)
            }
            Kind::SortKeys => {
                let pair = self
                    .parse(&text, Rule::arg_sort_keys)?
                    .next()
                    .expect("keys");
                self.at = pair.as_span().end();
                Arg::SortKeys(
                    pair.into_inner()
                        .map(parser::build_sort_key)
                        .map(|key| SortSpec {
                            column: column_ref(&key.column),
                            descending: key.descending,
                        })
                        .collect(),
                )
            }
            Kind::Predicate => {
                let pair = self
                    .parse(&text, Rule::arg_predicate)?
                    .next()
                    .expect("a predicate");
                self.at = pair.as_span().end();
                Arg::Predicate(plan_predicate(&parser::build_predicate(pair))?)
            }
            Kind::Regex => {
                let pair = self.parse(&text, Rule::arg_regex)?.next().expect("a regex");
                self.at = pair.as_span().end();
                let regex = parser::build_regex(pair);
                compile_regex(&regex)?;
                Arg::Regex(regex)
            }
            Kind::Sides => {
                let mut pairs = self.parse(&text, Rule::arg_sides)?;
                let a = parser::build_diff_side(pairs.next().expect("side a"));
                let b = parser::build_diff_side(pairs.next().expect("side b"));
                self.at = b.span.end;
                Arg::Sides(side(&a), side(&b))
            }
            Kind::Int { .. }
            | Kind::Rows
            | Kind::Duration
            | Kind::Percent
            | Kind::Number
            | Kind::Words
            | Kind::Choice(_) => {
                let pair = self.parse(&text, Rule::arg_value)?.next().expect("a value");
                self.at = pair.as_span().end();
                let value = parser::build_option_value(pair);
                let written = self.written_before(start);
                check_value(param, &value, Some(&written))?
            }
        };
        self.last = Some((param, start));
        self.args.values.push((param.name, arg));
        Ok(())
    }

    /// The options and `as NAME` after the arguments, in any order.
    fn options(&mut self) -> Result<()> {
        loop {
            self.skip_blanks();
            if self.at >= self.end {
                return Ok(());
            }
            let text = self.text_from(self.at);
            if self.at_as() {
                let pair = self.parse(&text, Rule::arg_as)?.next().expect("as NAME");
                let span = Span::from(pair.as_span());
                self.at = span.end;
                let name = parser::build_ident(pair.into_inner().nth(1).expect("a name"));
                if self.args.as_name.is_some() {
                    return Err(Error::new("`as` is given twice", span).with_hint("give one name"));
                }
                self.args.as_name = Some(name);
            } else if self.at_option() && !self.signature.options.is_empty() {
                let pair = self
                    .parse(&text, Rule::arg_option)?
                    .next()
                    .expect("an option");
                self.at = pair.as_span().end();
                let option = parser::build_stage_option(pair);
                self.option(&option)?;
            } else {
                return Err(self.trailing_text());
            }
        }
    }

    fn option(&mut self, option: &ast::StageOption) -> Result<()> {
        let stage = self.signature.name;
        let name = option.name.name.as_str();
        let Some(param) = self.signature.option(name) else {
            let known: Vec<&str> = self.signature.options.iter().map(|o| o.name).collect();
            let mut error = Error::new(
                format!("`{stage}` has no option `{name}`"),
                option.name.span,
            );
            if let Some(near) = crate::did_you_mean(name, known.iter().copied()) {
                error = error.with_hint(format!("did you mean '{near}'?"));
            }
            let takes: Vec<String> = known.iter().map(|k| format!("{k}=...")).collect();
            return Err(error.with_hint(format!("`{stage}` takes: {}", takes.join(", "))));
        };
        if self.args.values.iter().any(|(n, _)| *n == param.name) {
            return Err(Error::new(format!("`{name}` is given twice"), option.span)
                .with_hint(format!("give `{name}` once")));
        }
        let arg = check_value(param, &option.value, None)?;
        self.args.values.push((param.name, arg));
        Ok(())
    }

    /// Text the signature has no place for: parse the last argument again,
    /// this time followed by nothing but options, so that pest names what
    /// could have continued it (`sort host up`: `desc` or `asc`).
    fn trailing_text(&self) -> Error {
        let (rule, from) = match self.last {
            Some((param, start)) => (end_rule(param.kind), start),
            None => (Rule::arg_tail, self.stage.text_span.start),
        };
        let text = self.text_from(from);
        match self.parse(&text, rule) {
            Err(error) => self.inner_quote_hint(error),
            // The argument and its options parse as a whole, so what stopped
            // the binder is an option where the stage takes none.
            Ok(_) => {
                let found = self.word();
                Error::new(
                    format!("`{}` takes no option `{found}`", self.signature.name),
                    Span::new(self.at, self.at + found.len().max(1)),
                )
                .with_hint(format!("`{}`", self.signature.usage()))
            }
        }
    }

    fn parse<'t>(&self, text: &'t str, rule: Rule) -> Result<pest::iterators::Pairs<'t, Rule>> {
        let start = text.len() - text.trim_start_matches(' ').len();
        parser::parse_argument(text, start.min(self.at), rule, self.keep()).map_err(|mut error| {
            // pest names options by a generic example; this stage's own are better.
            let options: Vec<String> = self
                .signature
                .options
                .iter()
                .map(|o| format!("`{}={}`", o.name, o.placeholder))
                .collect();
            if !options.is_empty() {
                error.reason = error.reason.replace(
                    "an option such as `threshold=10%`",
                    &format!("an option ({})", options.join(", ")),
                );
            }
            error
        })
    }

    /// `run "grep "max" file"`: a string ended by a quote that was meant to
    /// be inside it, so the rest of the command is left over.
    fn inner_quote_hint(&self, error: Error) -> Error {
        let offset = self.at - self.stage.text_span.start;
        let (before, rest) = self.stage.text.split_at(offset.min(self.stage.text.len()));
        if before.ends_with('"') && rest.contains('"') {
            let mut error = error;
            error
                .hints
                .retain(|h| !h.starts_with("`shoal help` describes"));
            return error.with_hint(
                "a `\"` inside a string is written `\\\"`, as in run \"grep \\\"max\\\" file\"; or quote the whole command with single quotes: run 'grep \"max\" file'",
            );
        }
        error
    }

    /// The stage as written up to `at`: `top az` in "`top az` needs ...".
    fn written_before(&self, at: usize) -> String {
        let before = &self.stage.text[..at - self.stage.text_span.start];
        format!("{} {}", self.stage.name.name, before.trim())
            .trim_end()
            .to_string()
    }

    /// How messages name the argument: `select`, `count by`.
    fn quoted_usage(&self, param: &Param) -> String {
        match param.keyword {
            Some(keyword) => format!("{} {keyword}", self.signature.name),
            None => self.signature.name.to_string(),
        }
    }
}

/// The `_end` rule of an argument kind: the argument, then only options.
fn end_rule(kind: Kind) -> Rule {
    match kind {
        Kind::Text => Rule::arg_text_end,
        Kind::Column => Rule::arg_column_end,
        Kind::Columns => Rule::arg_columns_end,
        Kind::SortKeys => Rule::arg_sort_keys_end,
        Kind::Predicate => Rule::arg_predicate_end,
        Kind::Regex => Rule::arg_regex_end,
        Kind::Sides => Rule::arg_sides_end,
        Kind::Int { .. }
        | Kind::Rows
        | Kind::Duration
        | Kind::Percent
        | Kind::Number
        | Kind::Words
        | Kind::Choice(_) => Rule::arg_value_end,
    }
}

/// A default as the planner reads it: a number, a percentage, or a word.
fn default_value(text: &'static str) -> Value {
    let kind = if text.ends_with('%') {
        ValueKind::Percent
    } else if text.parse::<f64>().is_ok() {
        ValueKind::Number
    } else {
        ValueKind::Word
    };
    Value {
        kind,
        text: text.to_string(),
        span: Span::new(0, 0),
        escapes: Vec::new(),
    }
}

/// Checks a value against a scalar kind. `written` is the stage as written
/// up to a positional argument (`top az`); options have `None` and are
/// named `name=...`.
fn check_value(param: &Param, value: &Value, written: Option<&str>) -> Result<Arg> {
    let name = param.name;
    let example = match written {
        Some(written) => format!("for example: {written} {}", param.example),
        None => format!("for example: {name}={}", param.example),
    };
    let subject = written.map_or_else(|| format!("`{name}`"), |w| format!("`{w}`"));
    let text = value.text.as_str();
    Ok(match param.kind {
        Kind::Int { min, unit } => {
            let what = match unit {
                "" => "a whole number".to_string(),
                unit => format!("a whole number of {unit}"),
            };
            let number = text
                .parse::<u64>()
                .ok()
                .filter(|n| value.kind == ValueKind::Number && *n >= min);
            Arg::Int(number.ok_or_else(|| {
                Error::new(format!("{subject} needs {what}, not `{text}`"), value.span)
                    .with_hint(example.clone())
            })?)
        }
        Kind::Rows => Arg::Rows(rows(value, &subject, &example)?),
        Kind::Duration => Arg::Millis(millis(value, name, param.example)?),
        Kind::Percent => Arg::Percent(
            text.trim_end_matches('%')
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| {
                    Error::new(
                        format!("`{text}` is not a percentage from 0 to 100"),
                        value.span,
                    )
                    .with_hint(example.clone())
                })?,
        ),
        Kind::Number => Arg::Value(value.clone()),
        Kind::Words => match value.kind {
            // A number or a percentage is a word too: `batch=5`, `max_fail=10%`.
            ValueKind::Word | ValueKind::String | ValueKind::Number | ValueKind::Percent => {
                Arg::Value(value.clone())
            }
            _ => {
                return Err(Error::new(
                    format!("{subject} needs words separated by `,`, not `{text}`"),
                    value.span,
                )
                .with_hint(example));
            }
        },
        Kind::Choice(choices) => {
            if !choices.contains(&text) {
                let hint = if param.doc.is_empty() {
                    format!("`{name}` is one of: {}", choices.join(", "))
                } else {
                    param.doc.to_string()
                };
                return Err(
                    Error::new(format!("`{name}={text}` is not a choice"), value.span)
                        .with_hint(hint),
                );
            }
            Arg::Choice(text.to_string())
        }
        Kind::Text => {
            if value.kind != ValueKind::String {
                return Err(
                    Error::new(format!("{subject} needs a quoted string"), value.span)
                        .with_hint(example),
                );
            }
            Arg::Value(value.clone())
        }
        Kind::Column
        | Kind::Columns
        | Kind::SortKeys
        | Kind::Predicate
        | Kind::Regex
        | Kind::Sides => {
            return Err(Error::new(
                format!("internal error: `{name}` cannot be an option"),
                value.span,
            ));
        }
    })
}

/// `N` rows (at least one) or `N%` of them (more than 0, at most 100).
fn rows(value: &Value, subject: &str, example: &str) -> Result<Rows> {
    let text = value.text.as_str();
    let bad = |reason: String| {
        Error::new(reason, value.span)
            .with_hint(example.to_string())
            .with_hint("a count keeps that many rows; a percentage (10%) that share of them")
    };
    if value.kind == ValueKind::Percent {
        let percent: f64 = text.trim_end_matches('%').parse().unwrap_or(f64::NAN);
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(bad(format!(
                "`{text}` is not a percentage above 0 and at most 100"
            )));
        }
        return Ok(Rows::Percent(percent));
    }
    match text.parse::<u64>() {
        Ok(count) if value.kind == ValueKind::Number && count >= 1 => Ok(Rows::Count(count)),
        Ok(0) => Err(bad(format!("{subject} needs at least one row, not `0`"))),
        _ => Err(bad(format!(
            "{subject} needs a number of rows or a percentage, not `{text}`"
        ))),
    }
}

fn side(side: &ast::DiffSide) -> Side {
    if side.group {
        Side::Group {
            name: side.name.clone(),
            span: side.span,
        }
    } else {
        Side::Variable {
            name: side.name.clone(),
            span: side.span,
        }
    }
}

fn distinct_columns(columns: &[Ident], usage: &str) -> Result<Vec<ColumnRef>> {
    let mut seen = HashSet::new();
    columns
        .iter()
        .map(|ident| {
            if !seen.insert(ident.name.as_str()) {
                return Err(Error::new(
                    format!("`{}` is named twice in `{usage}`", ident.name),
                    ident.span,
                )
                .with_hint("name each column once"));
            }
            Ok(column_ref(ident))
        })
        .collect()
}
