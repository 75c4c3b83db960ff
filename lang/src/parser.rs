//! Text to AST: the pest parser, one `build_x` function per grammar rule, and
//! the translation of pest's errors into shoal's [`Error`].

use std::sync::LazyLock;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest_derive::Parser;

use crate::ast::*;
use crate::error::{Error, Result};
use crate::span::Span;

#[derive(Parser)]
#[grammar = "grammar.pest"]
struct ShoalParser;

/// `not` binds tighter than `and`, which binds tighter than `or`.
static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
});

/// Parses a whole program: statements separated by newlines or `;`.
pub fn parse(source: &str) -> Result<Program> {
    let mut pairs = ShoalParser::parse(Rule::program, source)
        .map_err(|error| translate_pest_error(source, error))?;
    let program = pairs.next().expect("pest yields the program rule");
    build_program(program)
}

/// Parses an alarm and bot file (`rules.rs` builds its declarations).
pub(crate) fn parse_rules_file(source: &str) -> Result<Pair<'_, Rule>> {
    let mut pairs = ShoalParser::parse(Rule::rules_file, source)
        .map_err(|error| translate_pest_error(source, error))?;
    Ok(pairs.next().expect("pest yields the rules_file rule"))
}

fn build_program(pair: Pair<Rule>) -> Result<Program> {
    let statements = pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::statement)
        .map(build_statement)
        .collect::<Result<_>>()?;
    Ok(Program { statements })
}

fn build_statement(pair: Pair<Rule>) -> Result<Statement> {
    let inner = first_inner(pair);
    match inner.as_rule() {
        Rule::let_statement => {
            let span = Span::from(inner.as_span());
            let mut parts = inner.into_inner().skip(1); // kw_let
            let name = build_ident(next(&mut parts));
            let pipeline = build_pipeline(next(&mut parts))?;
            Ok(Statement::Let {
                name,
                pipeline,
                span,
            })
        }
        Rule::pipeline => Ok(Statement::Pipeline(build_pipeline(inner)?)),
        rule => unreachable!("build_statement: unexpected {rule:?}"),
    }
}

pub(crate) fn build_pipeline(pair: Pair<Rule>) -> Result<Pipeline> {
    let span = Span::from(pair.as_span());
    let mut parts = pair.into_inner();
    let source = build_source(next(&mut parts));
    let stages = parts.map(build_stage).collect::<Result<_>>()?;
    Ok(Pipeline {
        source,
        stages,
        span,
    })
}

fn build_source(pair: Pair<Rule>) -> Source {
    let span = Span::from(pair.as_span());
    let inner = first_inner(pair);
    let kind = match inner.as_rule() {
        Rule::hosts_source => match inner.into_inner().nth(1) {
            None => SourceKind::AllHosts,
            Some(selector) => match selector.as_rule() {
                Rule::host_list => SourceKind::From {
                    name: build_ident(selector.into_inner().nth(1).expect("a list name")),
                },
                Rule::selection => build_selection(selector),
                rule => unreachable!("build_source: unexpected selector {rule:?}"),
            },
        },
        Rule::variable => SourceKind::Variable {
            name: first_inner(inner).as_str().to_string(),
        },
        Rule::jobs_source => SourceKind::Jobs,
        Rule::checks_source => SourceKind::Checks,
        Rule::job_source => {
            let which = inner.into_inner().nth(1).expect("a job reference");
            // The grammar admits `-0` and numbers past u64; those name no job.
            let which = JobRef::parse(which.as_str()).unwrap_or(JobRef::Id(0));
            SourceKind::Job { which }
        }
        Rule::saved_source => SourceKind::Saved {
            name: inner
                .into_inner()
                .nth(1)
                .map(|name| name.as_str().to_string()),
        },
        rule => unreachable!("build_source: unexpected {rule:?}"),
    };
    Source { kind, span }
}

/// A lone `@group` or nodeset is the source kind it always was; anything
/// else is a [`SourceKind::Select`].
fn build_selection(pair: Pair<Rule>) -> SourceKind {
    let mut terms = Vec::new();
    let mut op = SetOp::Union;
    for part in pair.into_inner() {
        let span = Span::from(part.as_span());
        let operand = match part.as_rule() {
            Rule::set_op => {
                op = match part.as_str() {
                    "," => SetOp::Union,
                    "&" => SetOp::Intersection,
                    "!" => SetOp::Difference,
                    other => unreachable!("build_selection: unexpected operator {other}"),
                };
                continue;
            }
            Rule::group => SetOperand::Group {
                name: first_inner(part).as_str().to_string(),
            },
            Rule::nodeset => SetOperand::NodeSet {
                pattern: part.as_str().to_string(),
            },
            Rule::host_regex => SetOperand::Regex {
                regex: build_regex(first_inner(part)),
            },
            rule => unreachable!("build_selection: unexpected {rule:?}"),
        };
        terms.push(SetTerm { op, operand, span });
    }
    if let [SetTerm { operand, .. }] = terms.as_slice() {
        match operand {
            SetOperand::Group { name } => return SourceKind::Group { name: name.clone() },
            SetOperand::NodeSet { pattern } => {
                return SourceKind::NodeSet {
                    name: pattern.clone(),
                };
            }
            SetOperand::Regex { .. } => {}
        }
    }
    SourceKind::Select { terms }
}

pub(crate) fn build_stage(pair: Pair<Rule>) -> Result<Stage> {
    let span = Span::from(pair.as_span());
    let mut parts = pair.into_inner();
    let name = build_ident(next(&mut parts));
    let text = next(&mut parts);
    Ok(Stage {
        name,
        text: text.as_str().to_string(),
        text_span: Span::from(text.as_span()),
        span,
    })
}

/// Parses one stage argument with `rule` (one of the `arg_*` rules) from
/// `text`: the stage's text with everything before offset `start` blanked
/// out, so that spans stay those of the source. Returns the argument's inner
/// pairs.
pub(crate) fn parse_argument(
    text: &str,
    start: usize,
    rule: Rule,
    keep: impl Fn(Rule) -> bool,
) -> Result<pest::iterators::Pairs<'_, Rule>> {
    let mut pairs = ShoalParser::parse(rule, text)
        .map_err(|error| translate_pest_error_keeping(text, start, error, keep))?;
    Ok(pairs
        .next()
        .expect("pest yields the argument rule")
        .into_inner())
}

pub(crate) fn build_diff_side(pair: Pair<Rule>) -> DiffSide {
    let span = Span::from(pair.as_span());
    let inner = first_inner(pair);
    let group = inner.as_rule() == Rule::group;
    let name = match inner.as_rule() {
        Rule::group | Rule::variable => first_inner(inner).as_str().to_string(),
        _ => inner.as_str().to_string(),
    };
    DiffSide { group, name, span }
}

pub(crate) fn build_stage_option(pair: Pair<Rule>) -> StageOption {
    let span = Span::from(pair.as_span());
    let mut parts = pair.into_inner();
    let name = build_ident(next(&mut parts));
    let value = build_option_value(next(&mut parts));
    StageOption { name, value, span }
}

/// A value that may also be a percentage (`10%`).
pub(crate) fn build_option_value(pair: Pair<Rule>) -> Value {
    let value = first_inner(pair);
    match value.as_rule() {
        Rule::percent => Value {
            kind: ValueKind::Percent,
            text: value.as_str().to_string(),
            span: Span::from(value.as_span()),
            escapes: Vec::new(),
        },
        Rule::word_list => Value {
            kind: ValueKind::Word,
            text: value.as_str().to_string(),
            span: Span::from(value.as_span()),
            escapes: Vec::new(),
        },
        _ => build_value(value),
    }
}

pub(crate) fn build_sort_key(pair: Pair<Rule>) -> SortKey {
    let span = Span::from(pair.as_span());
    let mut parts = pair.into_inner();
    let column = build_ident(next(&mut parts));
    let descending = parts
        .next()
        .is_some_and(|order| first_inner(order).as_rule() == Rule::kw_desc);
    SortKey {
        column,
        descending,
        span,
    }
}

pub(crate) fn build_column_list(pair: Pair<Rule>) -> Vec<Ident> {
    pair.into_inner().map(build_ident).collect()
}

pub(crate) fn build_ident(pair: Pair<Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: Span::from(pair.as_span()),
    }
}

pub(crate) fn build_predicate(pair: Pair<Rule>) -> Expr {
    PRATT
        .map_primary(|primary| match primary.as_rule() {
            Rule::predicate => build_predicate(primary),
            Rule::exists => {
                let span = Span::from(primary.as_span());
                let column = build_ident(primary.into_inner().nth(1).expect("exists has a column"));
                Expr {
                    kind: ExprKind::Exists { column },
                    span,
                }
            }
            Rule::comparison => build_comparison(primary),
            rule => unreachable!("build_predicate: unexpected primary {rule:?}"),
        })
        .map_prefix(|op, inner| match op.as_rule() {
            Rule::op_not => Expr {
                span: Span::from(op.as_span()).join(inner.span),
                kind: ExprKind::Not {
                    inner: Box::new(inner),
                },
            },
            rule => unreachable!("build_predicate: unexpected prefix {rule:?}"),
        })
        .map_infix(|left, op, right| {
            let span = left.span.join(right.span);
            let (left, right) = (Box::new(left), Box::new(right));
            let kind = match op.as_rule() {
                Rule::op_and => ExprKind::And { left, right },
                Rule::op_or => ExprKind::Or { left, right },
                rule => unreachable!("build_predicate: unexpected infix {rule:?}"),
            };
            Expr { kind, span }
        })
        .parse(pair.into_inner())
}

fn build_comparison(pair: Pair<Rule>) -> Expr {
    let span = Span::from(pair.as_span());
    let mut parts = pair.into_inner();
    let column = build_ident(next(&mut parts));
    let test = next(&mut parts);
    let rule = test.as_rule();
    let mut args = test.into_inner();
    let kind = match rule {
        Rule::regex_test => ExprKind::Match {
            column,
            negated: next(&mut args).as_str() == "!~",
            regex: build_regex(next(&mut args)),
        },
        Rule::membership => ExprKind::In {
            column,
            values: args.skip(1).map(build_value).collect(), // skip kw_in
        },
        Rule::compare => ExprKind::Compare {
            column,
            op: match next(&mut args).as_str() {
                "=" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                other => unreachable!("build_comparison: unexpected operator {other}"),
            },
            value: build_value(next(&mut args)),
        },
        Rule::text_test => ExprKind::Text {
            column,
            op: match next(&mut args).as_rule() {
                Rule::kw_has => TextOp::Has,
                _ => TextOp::Contains,
            },
            value: build_value(next(&mut args)),
        },
        rule => unreachable!("build_comparison: unexpected {rule:?}"),
    };
    Expr { kind, span }
}

pub(crate) fn build_value(pair: Pair<Rule>) -> Value {
    let inner = first_inner(pair);
    let span = Span::from(inner.as_span());
    let kind = match inner.as_rule() {
        Rule::string => return build_string(inner),
        Rule::duration => ValueKind::Duration,
        Rule::number => ValueKind::Number,
        Rule::bare_word => ValueKind::Word,
        rule => unreachable!("build_value: unexpected {rule:?}"),
    };
    Value {
        kind,
        text: inner.as_str().to_string(),
        span,
        escapes: Vec::new(),
    }
}

pub(crate) fn build_string(pair: Pair<Rule>) -> Value {
    let span = Span::from(pair.as_span());
    let inner = first_inner(pair);
    let (text, escapes) = match inner.as_rule() {
        Rule::string_inner => unescape(inner.as_str()),
        Rule::raw_inner => (inner.as_str().to_string(), Vec::new()),
        rule => unreachable!("build_string: unexpected {rule:?}"),
    };
    Value {
        kind: ValueKind::String,
        text,
        span,
        escapes,
    }
}

pub(crate) fn build_regex(pair: Pair<Rule>) -> Value {
    let span = Span::from(pair.as_span());
    // `\/` is how a slash is written inside `/.../`; the regex engine wants `/`.
    let text = first_inner(pair).as_str().replace("\\/", "/");
    Value {
        kind: ValueKind::Regex,
        text,
        span,
        escapes: Vec::new(),
    }
}

/// Resolves `\"`, `\\`, `\n` and `\t`; any other escaped character stands for
/// itself, so `"\$HOME"` is `$HOME`. Also returns where in the result the
/// escaped characters are ([`Value::escapes`]).
fn unescape(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut escapes = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let at = out.len();
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            // A lone backslash at the end (which the grammar never lets
            // through) is itself, not an escape.
            None => {
                out.push('\\');
                continue;
            }
        }
        escapes.push(at);
    }
    (out, escapes)
}

pub(crate) fn first_inner(pair: Pair<Rule>) -> Pair<Rule> {
    pair.into_inner()
        .next()
        .expect("grammar guarantees an inner rule")
}

pub(crate) fn next<'i>(pairs: &mut impl Iterator<Item = Pair<'i, Rule>>) -> Pair<'i, Rule> {
    pairs.next().expect("grammar guarantees the next part")
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// The human name of a grammar rule, as it appears in "expected ..." messages.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::program | Rule::statement | Rule::pipeline => {
            "a pipeline such as `hosts | run \"uptime\"`"
        }
        Rule::let_statement => "`let NAME = pipeline`",
        Rule::source | Rule::hosts_source | Rule::kw_hosts => {
            "`hosts`, `jobs`, `job N`, `saved`, `checks` or a `$variable`"
        }
        Rule::jobs_source | Rule::kw_jobs => "`jobs`",
        Rule::job_source | Rule::kw_job => "`job N`",
        Rule::job_ref => "a job: its id, `last`, or `-2` for the one before the last",
        Rule::saved_source | Rule::kw_saved => "`saved` or `saved NAME`",
        Rule::checks_source | Rule::kw_checks => "`checks`",
        Rule::baseline_name => "a baseline name such as `before-upgrade`",
        Rule::variable => "a `$variable`",
        // The three operands of a selection, named once as one choice.
        Rule::group | Rule::nodeset | Rule::host_regex => {
            "`@group`, a nodeset such as `web[001-020]` or `~ /regex/`"
        }
        Rule::group_name => "a group name after `@`",
        Rule::selection => "a host selection such as `@web & @us-east-1a`",
        Rule::set_op => "`&`, `!` or `,`",
        Rule::host_list | Rule::kw_from => "`from ssh_config`",
        Rule::list_name => "a host list such as `ssh_config`",
        Rule::stage | Rule::stage_name => "a stage",
        Rule::as_option | Rule::kw_as => "`as NAME`",
        Rule::sort_keys | Rule::sort_key => "a column to sort by",
        Rule::sort_order | Rule::kw_desc | Rule::kw_asc => "`desc` or `asc`",
        Rule::column_list | Rule::column => "a column name",
        Rule::diff_side => {
            "`where CONDITION`, `by COLUMN`, or two saved results such as `$bad $good`"
        }
        Rule::stage_option | Rule::option_value | Rule::percent => {
            "an option such as `threshold=10%`"
        }
        Rule::stage_end => "the end of the statement",

        Rule::predicate | Rule::comparison => "a condition such as `az = us-east-1a`",
        Rule::exists | Rule::kw_exists => "`exists COLUMN`",
        Rule::compare
        | Rule::compare_op
        | Rule::regex_test
        | Rule::match_op
        | Rule::membership
        | Rule::kw_in
        | Rule::text_test
        | Rule::kw_has
        | Rule::kw_contains => {
            "a comparison operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `!~`, `in`, `has`, `contains`)"
        }
        Rule::op_and => "`and`",
        Rule::op_or => "`or`",
        Rule::op_not => "`not`",
        Rule::identifier => "a name",
        Rule::value | Rule::bare_word | Rule::number => "a value",
        Rule::duration => "a duration such as `5s`",
        Rule::string | Rule::string_inner | Rule::raw_inner | Rule::escape => "a quoted string",
        Rule::regex | Rule::regex_inner => "a regex such as `/error|warn/`",
        Rule::kw_let => "`let`",
        Rule::rules_file | Rule::alarm | Rule::bot | Rule::kw_alarm | Rule::kw_bot => {
            "`alarm NAME every DUR` or `bot NAME on ALARM`"
        }
        Rule::query_clause | Rule::kw_query => "`query PIPELINE`",
        Rule::when_clause | Rule::kw_when => "`when CONDITION`",
        Rule::notify_clause | Rule::kw_notify => "`notify \"CMD\"`",
        Rule::act_clause | Rule::kw_act => "`act \"CMD\" ...`",
        Rule::limit_clause | Rule::kw_limit => "`limit N per DUR`",
        Rule::kw_every => "`every DUR`",
        Rule::kw_on => "`on ALARM`",
        Rule::kw_per => "`per DUR`",
        Rule::header_text => "options such as `fire_after=3`",
        Rule::EOI => "the end of the statement",
        _ => return None,
    })
}

fn translate_pest_error(source: &str, error: pest::error::Error<Rule>) -> Error {
    translate_pest_error_keeping(source, 0, error, |_| true)
}

/// Translates a pest error, naming only the expected rules that `keep`
/// accepts: a stage without options is not told it could take one. Nothing
/// before `start` was parsed, so an error never points there.
fn translate_pest_error_keeping(
    source: &str,
    start: usize,
    error: pest::error::Error<Rule>,
    keep: impl Fn(Rule) -> bool,
) -> Error {
    let mut at = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    // At the end of the input, point just past the last thing written rather
    // than at an empty line below it.
    if source[crate::span::floor_char_boundary(source, at)..]
        .trim()
        .is_empty()
    {
        at = at.min(source.trim_end().len()).max(start);
    }
    let found = found_token(source, at);
    let span = Span::new(at, at + found.len());
    let found_words = if found.is_empty() {
        "the end of the input".to_string()
    } else {
        format!("`{found}`")
    };
    let mut expected: Vec<&str> = Vec::new();
    let mut expected_rules: Vec<Rule> = Vec::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives.iter().filter(|rule| keep(**rule)) {
            if let Some(name) = rule_name(*rule)
                && !expected.contains(&name)
            {
                expected.push(name);
                expected_rules.push(*rule);
            }
        }
    }
    let reason = if expected.is_empty() {
        format!("unexpected {found_words}")
    } else {
        format!("expected {}, found {found_words}", join_or(&expected))
    };
    let mut error = Error::new(reason, span);
    for hint in hints_for(source, at, &expected_rules, found) {
        error = error.with_hint(hint);
    }
    if error.hints.is_empty() {
        error =
            error.with_hint("`shoal help` describes the language; `shoal help STAGE` one stage");
    }
    error
}

/// The word at `at`: what the user sees as "the thing that is wrong".
fn found_token(source: &str, at: usize) -> &str {
    let rest = &source[crate::span::floor_char_boundary(source, at)..];
    let rest = rest.split('\n').next().unwrap_or("");
    if rest.trim().is_empty() {
        return "";
    }
    if rest.starts_with(['"', '\'', '/']) {
        return rest; // an unclosed string or regex: show all of it
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || "|;()=,".contains(c))
        .map_or(rest.len(), |i| {
            i.max(rest.chars().next().map_or(0, char::len_utf8))
        });
    &rest[..end]
}

fn hints_for(source: &str, at: usize, expected: &[Rule], found: &str) -> Vec<String> {
    let mut hints = Vec::new();
    if expected.contains(&Rule::regex) && found.starts_with(['"', '\'']) {
        // `stdout ~ "error"`: a string where a regex goes.
        let text = found.trim_matches(['"', '\'']);
        let before = source[..crate::span::floor_char_boundary(source, at)].trim_end();
        let column = before
            .trim_end_matches('~')
            .trim_end_matches('!')
            .split_whitespace()
            .next_back()
            .unwrap_or("COLUMN");
        hints.push(format!(
            "a regex goes between slashes: ~ /{text}/; for plain text, use `contains`: {column} contains \"{text}\""
        ));
    }
    let lower = found.to_lowercase();
    if lower != found && (lower == "hosts" || lower == "let") {
        hints.push(format!("keywords are lower-case: `{lower}`"));
    }
    if source.matches('(').count() > source.matches(')').count() {
        hints.push("a `(` is never closed: add `)`".to_string());
    }
    if found.starts_with('=') && expected.contains(&Rule::value) {
        hints.push("equality is a single `=`: az = us-east-1a".to_string());
    }
    if expected.contains(&Rule::column)
        || expected.contains(&Rule::column_list)
        || expected.contains(&Rule::sort_keys)
    {
        hints.push("name a column, such as `host`, `status` or a tag like `az`".to_string());
    }
    if expected.contains(&Rule::sort_order) {
        hints
            .push("after a sort column comes `desc`, `asc`, or `,` and another column".to_string());
    }
    if expected.contains(&Rule::identifier) && source.trim_start().starts_with("let") {
        hints.push("for example: let bad = hosts | filter status != ok".to_string());
    }
    if expected.contains(&Rule::value) && !found.starts_with('=') {
        hints.push(
            "a value is a word (us-east-1a), a number (3), a duration (5s) or \"quoted text\""
                .to_string(),
        );
    }
    if (found.starts_with('"') && !found[1..].contains('"'))
        || (found.starts_with('\'') && !found[1..].contains('\''))
    {
        hints.push("this string is never closed: add the closing quote".to_string());
    } else if found.starts_with('/') && !found[1..].contains('/') {
        hints.push("this regex is never closed: add the closing `/`".to_string());
    }
    if expected.contains(&Rule::diff_side) {
        hints.push(
            "diff compares two populations: `diff $bad $good`, `diff where health = FAIL` or `diff by az`"
                .to_string(),
        );
    }
    if expected.contains(&Rule::stage) || expected.contains(&Rule::stage_name) {
        hints.push("`shoal help` lists every stage, for example filter, run and count".to_string());
    }
    if expected
        .iter()
        .any(|r| matches!(r, Rule::predicate | Rule::comparison))
    {
        hints.push(
            "a condition looks like `az = us-east-1a`, `exit != 0`, `stdout ~ /error/` or `exists bios`"
                .to_string(),
        );
    }
    if expected.iter().any(|r| {
        matches!(
            r,
            Rule::compare
                | Rule::compare_op
                | Rule::regex_test
                | Rule::match_op
                | Rule::membership
                | Rule::kw_in
                | Rule::text_test
        )
    }) {
        hints.push("compare a column with a value: `status = ok`".to_string());
    }
    if expected.contains(&Rule::string) && !found.starts_with(['"', '\'']) {
        hints.push("put the command in quotes: run \"uptime\"".to_string());
    }
    if expected
        .iter()
        .any(|r| matches!(r, Rule::group | Rule::nodeset | Rule::host_regex))
    {
        hints.push(
            "`&`, `!` and `,` join two operands: `hosts @web & @us-east-1a ! web[001-003], @db`"
                .to_string(),
        );
    }
    if expected.contains(&Rule::source) {
        hints.push(
            "a pipeline starts with `hosts`, `hosts @group`, `hosts web[01-10]` or `$name`"
                .to_string(),
        );
    }
    hints
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_resolves_known_escapes_and_keeps_others() {
        let (text, escapes) = unescape(r#"a\"b\\c\nd\te\$f"#);
        assert_eq!(text, "a\"b\\c\nd\te$f");
        assert_eq!(escapes, [1, 3, 5, 7, 9]);
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        use crate::plan::Predicate;
        let predicate = crate::planner::test_catalog::predicate("not a=1 and b=2 or c=3");
        let Predicate::Or { left, .. } = &predicate else {
            panic!("`or` should be at the root: {predicate:?}");
        };
        let Predicate::And { left: not, .. } = left.as_ref() else {
            panic!("`and` should be under `or`");
        };
        assert!(matches!(not.as_ref(), Predicate::Not { .. }));
    }

    fn source_kind(query: &str) -> SourceKind {
        let program = parse(query).unwrap_or_else(|e| panic!("{}", e.render(query, false)));
        let Statement::Pipeline(pipeline) = &program.statements[0] else {
            panic!("expected a pipeline");
        };
        pipeline.source.kind.clone()
    }

    #[test]
    fn from_is_a_host_name_unless_a_list_name_follows() {
        for (query, nodeset) in [
            ("hosts from", "from"),
            ("hosts from | count", "from"),
            ("hosts from-1", "from-1"),
            ("hosts from[1-3]", "from[1-3]"),
            ("hosts from,db1", "from,db1"),
        ] {
            assert_eq!(
                source_kind(query),
                SourceKind::NodeSet {
                    name: nodeset.to_string()
                },
                "{query}"
            );
        }
        assert!(matches!(
            source_kind("hosts from ssh_config"),
            SourceKind::From { name } if name.name == "ssh_config"
        ));
    }

    #[test]
    fn a_comma_followed_by_a_blank_or_an_operand_is_the_union_operator() {
        let nodeset = |name: &str| SourceKind::NodeSet {
            name: name.to_string(),
        };
        assert_eq!(
            source_kind("hosts web[1,3],db[1-2]"),
            nodeset("web[1,3],db[1-2]")
        );
        for query in [
            "hosts web1, @db",
            "hosts web1,@db",
            "hosts web1 ,db1",
            "hosts @web,@db",
        ] {
            let SourceKind::Select { terms } = source_kind(query) else {
                panic!("expected a selection: {query}");
            };
            assert_eq!(terms.len(), 2, "{query}");
            assert_eq!(terms[1].op, SetOp::Union, "{query}");
        }
    }
}
