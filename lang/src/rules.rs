//! Alarm and bot files, which `shoal daemon` runs. They are parsed with the
//! language's own grammar (`rules_file` in grammar.pest) and planned with the
//! same catalog as queries, so a query, a condition or an `act` in one gets
//! the errors, carets and did-you-mean it gets anywhere else:
//!
//! ```text
//! alarm app_unhealthy every 10s fire_after=3 clear_after=2 severity=page
//!   query hosts @web | run "cat /etc/app/health" as health
//!   when health != OK
//!   notify "/usr/local/bin/page-oncall"
//!
//! bot restart_app on app_unhealthy
//!   act "systemctl restart app" batch=1,25% verify="systemctl is-active app"
//!   limit 3 per 1h
//! ```
//!
//! What the text alone tells is checked here: each clause given once, the
//! ones an alarm or a bot cannot do without, the header options (as a
//! stage's options are, against [`ALARM`] and [`BOT`]), the query and the
//! `act` stage as any pipeline, and `limit`. A bot must have a `limit`: a
//! bot whose action never fixes a host would otherwise act on it forever.
//! Whether the `when` columns are the query's, and whether a bot's alarm
//! exists (it may be declared in another file), is known only with the
//! inventory and every file at hand: the daemon checks those.

use pest::iterators::Pair;
use serde::Serialize;

use crate::ast::{self, Ident, Program, Statement, Value, ValueKind};
use crate::bind::{self, Args};
use crate::check::{millis, plan_predicate};
use crate::error::{Error, Result};
use crate::parser::{self, Rule, first_inner, next};
use crate::plan::{PlannedStatement, Predicate};
use crate::planner::{self, Catalog};
use crate::signature::{Kind, Param, Signature};
use crate::span::Span;

/// The options of an `alarm` header line.
pub static ALARM: Signature = Signature {
    name: "alarm",
    aliases: &[],
    summary: "Runs a query every interval and tracks, host by host, whether the condition holds: ok, pending, firing, resolving or unknown.",
    help: "`alarm NAME every DUR [options]`, then the lines `query PIPELINE` (one row per host), `when CONDITION` (over the query's columns) and, optionally, `notify \"CMD\"` (each event as one JSON object on the command's stdin). A host whose `status` is not ok is `unknown`, never ok.",
    params: &[],
    options: &[
        Param::option(
            "fire_after",
            Kind::Int {
                min: 1,
                unit: "ticks",
            },
            "N",
        )
        .default("1")
        .doc("consecutive ticks the condition must hold on a host before it fires"),
        Param::option(
            "clear_after",
            Kind::Int {
                min: 1,
                unit: "ticks",
            },
            "M",
        )
        .default("1")
        .doc("consecutive ticks without it before a firing host resolves"),
        Param::option(
            "unknown_after",
            Kind::Int {
                min: 1,
                unit: "ticks",
            },
            "K",
        )
        .default("3")
        .doc("a host unknown (not reached) for more ticks than this is an alert of its own"),
        Param::option("severity", Kind::Choice(&["info", "warn", "page"]), "LEVEL")
            .default("warn")
            .doc("passed to notify with each event"),
    ],
    takes_as: false,
    data_columns: false,
};

/// The options of a `bot` header line: none yet, so anything there is an
/// error that says so.
pub static BOT: Signature = Signature {
    name: "bot",
    aliases: &[],
    summary: "Acts, through `act` and its guards, on the hosts where an alarm fires, at most N times per host in a window.",
    help: "`bot NAME on ALARM`, then the lines `act \"CMD\" [act's options]` and `limit N per DUR`. The file is the bot's approval, so it needs no --yes; the blast-radius guard still applies. When a host has been acted on N times within DUR and still fires, the bot's breaker for that host trips: it acts there no more until `shoal bots reset NAME`.",
    params: &[],
    options: &[],
    takes_as: false,
    data_columns: false,
};

/// The declarations of one file, planned.
#[derive(Debug, Clone, Serialize)]
pub struct Rules<O> {
    pub alarms: Vec<Alarm<O>>,
    pub bots: Vec<Bot<O>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alarm<O> {
    pub name: String,
    /// The name where it is declared.
    #[serde(skip)]
    pub span: Span,
    pub every_ms: u64,
    pub fire_after: u64,
    pub clear_after: u64,
    pub unknown_after: u64,
    pub severity: String,
    pub query: PlannedStatement<O>,
    pub when: Predicate,
    /// The condition as written, for events and logs.
    pub when_text: String,
    pub notify: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bot<O> {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    /// The alarm it acts on, and where it is named.
    pub alarm: String,
    #[serde(skip)]
    pub alarm_span: Span,
    /// The planned `act` stage, and its text, for the job store's record.
    pub act: O,
    pub act_text: String,
    #[serde(skip)]
    pub act_span: Span,
    pub limit: Limit,
}

/// `limit N per DUR`: at most `count` actions on one host within `per_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub count: u64,
    pub per_ms: u64,
}

/// Parses and plans an alarm and bot file, with stages from `catalog`.
pub fn compile_rules<C: Catalog>(source: &str, catalog: &C) -> Result<Rules<C::Op>> {
    let file = parser::parse_rules_file(source)?;
    let mut rules = Rules {
        alarms: Vec::new(),
        bots: Vec::new(),
    };
    for declaration in file.into_inner() {
        match declaration.as_rule() {
            Rule::alarm => {
                let alarm = build_alarm(declaration, source, catalog)?;
                unique(
                    &alarm.name,
                    alarm.span,
                    rules.alarms.iter().map(|a| &a.name),
                    "alarm",
                )?;
                rules.alarms.push(alarm);
            }
            Rule::bot => {
                let bot = build_bot(declaration, source, catalog)?;
                unique(
                    &bot.name,
                    bot.span,
                    rules.bots.iter().map(|b| &b.name),
                    "bot",
                )?;
                rules.bots.push(bot);
            }
            Rule::EOI => {}
            rule => unreachable!("compile_rules: unexpected {rule:?}"),
        }
    }
    Ok(rules)
}

fn unique<'a>(
    name: &str,
    span: Span,
    mut earlier: impl Iterator<Item = &'a String>,
    what: &str,
) -> Result<()> {
    if earlier.any(|n| n == name) {
        return Err(
            Error::new(format!("{what} `{name}` is declared twice"), span)
                .with_hint(format!("give each {what} a name of its own")),
        );
    }
    Ok(())
}

fn build_alarm<C: Catalog>(pair: Pair<Rule>, source: &str, catalog: &C) -> Result<Alarm<C::Op>> {
    let header = Span::from(pair.as_span());
    let mut parts = pair.into_inner();
    let keyword = parser::build_ident(next(&mut parts));
    let name = parser::build_ident(next(&mut parts));
    next(&mut parts); // kw_every
    let every = duration_value(next(&mut parts));
    let every_ms = millis(&every, "interval", "10s")?;
    let mut options = header_args(&ALARM, &keyword, next(&mut parts), header)?;
    let (mut query, mut when, mut notify) = (None, None, None);
    for clause in parts {
        let keyword = Span::from(first_inner(clause.clone()).as_span());
        match clause.as_rule() {
            Rule::query_clause => {
                once(&query, "query", keyword, &name)?;
                let pipeline =
                    parser::build_pipeline(clause.into_inner().nth(1).expect("a pipeline"))?;
                query = Some(plan_query(pipeline, source, catalog)?);
            }
            Rule::when_clause => {
                once(&when, "when", keyword, &name)?;
                let pair = clause.into_inner().nth(1).expect("a predicate");
                let text = pair.as_str().trim().to_string();
                when = Some((plan_predicate(&parser::build_predicate(pair))?, text));
            }
            Rule::notify_clause => {
                once(&notify, "notify", keyword, &name)?;
                let command = parser::build_string(clause.into_inner().nth(1).expect("a string"));
                if command.text.trim().is_empty() {
                    return Err(Error::new("`notify` needs a command", command.span)
                        .with_hint("for example: notify \"/usr/local/bin/page-oncall\""));
                }
                notify = Some(command.text);
            }
            rule => unreachable!("build_alarm: unexpected {rule:?}"),
        }
    }
    let query = query.ok_or_else(|| {
        missing(
            &name,
            "alarm",
            "query",
            "query hosts @web | run \"cat /etc/app/health\" as health",
        )
    })?;
    let (when, when_text) =
        when.ok_or_else(|| missing(&name, "alarm", "when", "when health != OK"))?;
    Ok(Alarm {
        every_ms,
        fire_after: options.require("fire_after")?,
        clear_after: options.require("clear_after")?,
        unknown_after: options.require("unknown_after")?,
        severity: options.require("severity")?,
        query,
        when,
        when_text,
        notify,
        name: name.name,
        span: name.span,
    })
}

fn build_bot<C: Catalog>(pair: Pair<Rule>, source: &str, catalog: &C) -> Result<Bot<C::Op>> {
    let header = Span::from(pair.as_span());
    let mut parts = pair.into_inner();
    let keyword = parser::build_ident(next(&mut parts));
    let name = parser::build_ident(next(&mut parts));
    next(&mut parts); // kw_on
    let alarm = parser::build_ident(next(&mut parts));
    header_args(&BOT, &keyword, next(&mut parts), header)?;
    let (mut act, mut limit) = (None, None);
    for clause in parts {
        let keyword = Span::from(first_inner(clause.clone()).as_span());
        match clause.as_rule() {
            Rule::act_clause => {
                once(&act, "act", keyword, &name)?;
                let stage = parser::build_stage(first_inner(clause))?;
                let signature = catalog
                    .signatures()
                    .into_iter()
                    .find(|s| s.name == "act")
                    .ok_or_else(|| Error::new("this shoal has no `act` stage", stage.name.span))?;
                let op = catalog.build(signature, bind::bind(&stage, signature)?)?;
                let text = source[stage.span.start..stage.span.end].trim().to_string();
                act = Some((op, text, stage.span));
            }
            Rule::limit_clause => {
                once(&limit, "limit", keyword, &name)?;
                limit = Some(build_limit(clause)?);
            }
            rule => unreachable!("build_bot: unexpected {rule:?}"),
        }
    }
    let (act, act_text, act_span) = act.ok_or_else(|| {
        missing(
            &name,
            "bot",
            "act",
            "act \"systemctl restart app\" verify=\"systemctl is-active app\"",
        )
    })?;
    let limit = limit.ok_or_else(|| {
        missing(&name, "bot", "limit", "limit 3 per 1h").with_hint(
            "a bot needs a breaker: without one, an action that never fixes a host repeats forever",
        )
    })?;
    Ok(Bot {
        alarm: alarm.name,
        alarm_span: alarm.span,
        act,
        act_text,
        act_span,
        limit,
        name: name.name,
        span: name.span,
    })
}

/// `limit N per DUR`: N a whole number of actions, at least one; DUR longer
/// than zero.
fn build_limit(pair: Pair<Rule>) -> Result<Limit> {
    let mut parts = pair.into_inner().skip(1); // kw_limit
    let count = next(&mut parts);
    let count_span = Span::from(count.as_span());
    let count = count
        .as_str()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            Error::new(
                format!("`{}` is not a number of actions", count.as_str()),
                count_span,
            )
            .with_hint("a limit is a whole number of actions, at least 1: limit 3 per 1h")
        })?;
    next(&mut parts); // kw_per
    let window = duration_value(next(&mut parts));
    Ok(Limit {
        count,
        per_ms: millis(&window, "window", "1h")?,
    })
}

/// The pipeline of a `query` line, planned as a statement of its own.
fn plan_query<C: Catalog>(
    pipeline: ast::Pipeline,
    source: &str,
    catalog: &C,
) -> Result<PlannedStatement<C::Op>> {
    let span = pipeline.span;
    let program = Program {
        statements: vec![Statement::Pipeline(pipeline)],
    };
    let mut statement = planner::plan(&program, catalog)?.statements.remove(0);
    statement.text = source[span.start..span.end].trim().to_string();
    Ok(statement)
}

/// The options after a header's name, checked against `signature` as a
/// stage's options are.
fn header_args(
    signature: &'static Signature,
    keyword: &Ident,
    text: Pair<Rule>,
    header: Span,
) -> Result<Args> {
    let stage = ast::Stage {
        name: keyword.clone(),
        text: text.as_str().to_string(),
        text_span: Span::from(text.as_span()),
        span: Span::new(header.start, text.as_span().end()),
    };
    bind::bind(&stage, signature)
}

fn duration_value(pair: Pair<Rule>) -> Value {
    Value {
        kind: ValueKind::Duration,
        text: pair.as_str().to_string(),
        span: Span::from(pair.as_span()),
        escapes: Vec::new(),
    }
}

fn once<T>(seen: &Option<T>, clause: &str, at: Span, owner: &Ident) -> Result<()> {
    match seen {
        Some(_) => Err(Error::new(
            format!("`{clause}` is given twice for `{}`", owner.name),
            at,
        )
        .with_hint(format!("each alarm and bot takes one `{clause}` line"))),
        None => Ok(()),
    }
}

fn missing(owner: &Ident, what: &str, clause: &str, example: &str) -> Error {
    Error::new(
        format!("{what} `{}` has no `{clause}` line", owner.name),
        owner.span,
    )
    .with_hint(format!("add one below it, for example: {example}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::test_catalog::TestCatalog;

    /// The issue's example, as written there.
    const EXAMPLE: &str = r#"alarm app_unhealthy every 10s fire_after=3 clear_after=2 severity=page
  query hosts @web | run "cat /etc/app/bios" as bios | run "cat /etc/app/health" as health
  when health != OK
  notify "/usr/local/bin/page-oncall"

bot restart_app on app_unhealthy
  act "systemctl restart app" batch=1,25% verify="systemctl is-active app"
  limit 3 per 1h
"#;

    fn error(source: &str) -> String {
        match compile_rules(source, &TestCatalog) {
            Ok(_) => panic!("expected an error for:\n{source}"),
            Err(error) => error.render_file("x.shoal", source, false),
        }
    }

    #[test]
    fn the_issues_example_plans() {
        let rules = compile_rules(EXAMPLE, &TestCatalog)
            .unwrap_or_else(|e| panic!("{}", e.render(EXAMPLE, false)));
        let alarm = &rules.alarms[0];
        assert_eq!(alarm.name, "app_unhealthy");
        assert_eq!(
            (
                alarm.every_ms,
                alarm.fire_after,
                alarm.clear_after,
                alarm.unknown_after
            ),
            (10_000, 3, 2, 3)
        );
        assert_eq!(alarm.severity, "page");
        assert_eq!(alarm.query.ops.len(), 2);
        assert!(
            alarm.query.text.starts_with("hosts @web | run"),
            "{}",
            alarm.query.text
        );
        assert_eq!(alarm.when_text, "health != OK");
        assert_eq!(alarm.notify.as_deref(), Some("/usr/local/bin/page-oncall"));
        let bot = &rules.bots[0];
        assert_eq!(
            (bot.name.as_str(), bot.alarm.as_str()),
            ("restart_app", "app_unhealthy")
        );
        assert_eq!(bot.act.0, "act");
        assert_eq!(
            bot.act_text,
            r#"act "systemctl restart app" batch=1,25% verify="systemctl is-active app""#
        );
        assert_eq!(
            bot.limit,
            Limit {
                count: 3,
                per_ms: 3_600_000
            }
        );
    }

    #[test]
    fn defaults_comments_and_a_query_over_several_lines() {
        let source = "# checks\nalarm a every 500ms   # fast\n  query hosts |\n    run \"true\"\n  when exit != 0\n";
        let rules = compile_rules(source, &TestCatalog).unwrap();
        let alarm = &rules.alarms[0];
        assert_eq!(
            (alarm.fire_after, alarm.clear_after, alarm.severity.as_str()),
            (1, 1, "warn")
        );
        assert_eq!(alarm.query.ops.len(), 1);
        assert_eq!(alarm.notify, None);
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let text = error("alarm a every 10s fire_aftr=3\n  query hosts\n  when x = 1\n");
        assert!(text.contains(" --> x.shoal:1:19"), "{text}");
        assert!(text.contains("fire_after"), "{text}");

        let text = error("alarm a every 10s\n  query hosts | filtr x = 1\n  when x = 1\n");
        assert!(text.contains(" --> x.shoal:2:17"), "{text}");
        assert!(text.contains("did you mean 'filter'?"), "{text}");

        let text = error("alarm a every 10s\n  query hosts\n  when x = \n");
        assert!(text.contains(" --> x.shoal:3"), "{text}");
        assert!(text.contains("expected"), "{text}");
    }

    #[test]
    fn a_bad_limit_is_an_error() {
        for (limit, wanted) in [
            ("limit 0 per 1h", "`0` is not a number of actions"),
            ("limit 2.5 per 1h", "`2.5` is not a number of actions"),
            ("limit 3 per hour", "expected a duration"),
            ("limit 3 per 0s", "the window must be longer than zero"),
            ("limit 3", "expected `per DUR`"),
        ] {
            let source = format!("bot b on a\n  act \"x\"\n  {limit}\n");
            let text = error(&source);
            assert!(text.contains(wanted), "{limit}: {text}");
            assert!(text.contains(" --> x.shoal:3:"), "{limit}: {text}");
        }
    }

    #[test]
    fn clauses_are_given_once_and_the_needed_ones_are_there() {
        let text = error("alarm a every 10s\n  query hosts\n  when x = 1\n  when x = 2\n");
        assert!(
            text.contains("`when` is given twice for `a`") && text.contains("x.shoal:4:3"),
            "{text}"
        );
        let text = error("alarm a every 10s\n  when x = 1\n");
        assert!(text.contains("alarm `a` has no `query` line"), "{text}");
        let text = error("bot b on a\n  act \"x\"\n");
        assert!(
            text.contains("bot `b` has no `limit` line") && text.contains("breaker"),
            "{text}"
        );
        let text = error("bot b on a\n  limit 1 per 1h\n");
        assert!(text.contains("bot `b` has no `act` line"), "{text}");
        let text = error("bot b on a\n  run \"x\"\n  limit 1 per 1h\n");
        assert!(text.contains("x.shoal:2:3"), "{text}");
        let text = error(
            "alarm a every 10s\n  query hosts\n  when x = 1\nalarm a every 5s\n  query hosts\n  when x = 1\n",
        );
        assert!(text.contains("alarm `a` is declared twice"), "{text}");
        let text = error("bot b on a extra=1\n  act \"x\"\n  limit 1 per 1h\n");
        assert!(text.contains("x.shoal:1:12"), "{text}");
    }
}
