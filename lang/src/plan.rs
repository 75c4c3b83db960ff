//! AST to Plan: a strict enum with one variant per operator, with every
//! argument checked and every duration resolved.
//!
//! Planning only validates what the text alone can tell (durations, counts,
//! regexes, nodeset syntax). Whether a column, a group, a host or a variable
//! exists is only known when the plan runs against an inventory, so those
//! checks happen in evaluation, using the spans kept here.

use std::collections::HashSet;

use serde::Serialize;

use crate::ast::{self, CompareOp, ExprKind, RunOption, SourceKind, StageKind, ValueKind};
use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::span::Span;

/// Columns shoal itself puts in a result: every host row starts with `host`
/// and `addr`, and `run` writes the rest. Nothing else may take these names
/// (not an inventory tag, not `run ... as NAME`), or a result would have two
/// columns of the same name, or a copy the very run that makes it overwrites.
pub const BUILTIN_COLUMNS: &[&str] = &[
    "host",
    "addr",
    "stdout",
    "stderr",
    "exit",
    "status",
    "error",
    "duration_ms",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub statements: Vec<PlannedStatement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStatement {
    /// `let NAME = ...` saves the result under this name.
    pub bind: Option<String>,
    pub source: PlanSource,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PlanSource {
    AllHosts,
    /// A nodeset over host names whose syntax has been checked.
    NodeSet {
        pattern: String,
        #[serde(skip)]
        span: Span,
    },
    Group {
        name: String,
        #[serde(skip)]
        span: Span,
    },
    Variable {
        name: String,
        #[serde(skip)]
        span: Span,
    },
}

/// One pipeline operator, with checked arguments.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Filter {
        predicate: Predicate,
    },
    Run {
        command: String,
        /// The per-stage timeout; `None` uses the executor's default.
        timeout_ms: Option<u64>,
        /// `as NAME`: stdout is also copied into this column.
        name: Option<String>,
        #[serde(skip)]
        span: Span,
    },
    Select {
        columns: Vec<ColumnRef>,
    },
    Sort {
        keys: Vec<SortSpec>,
    },
    Head {
        count: usize,
    },
    Count {
        by: Vec<ColumnRef>,
    },
    Distinct {
        columns: Vec<ColumnRef>,
    },
}

impl Op {
    /// The stage name that produced this operator, as the registry knows it.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Filter { .. } => "filter",
            Op::Run { .. } => "run",
            Op::Select { .. } => "select",
            Op::Sort { .. } => "sort",
            Op::Head { .. } => "head",
            Op::Count { .. } => "count",
            Op::Distinct { .. } => "distinct",
        }
    }
}

/// A column named in the query; the span points at it for "unknown column".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ColumnRef {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SortSpec {
    pub column: ColumnRef,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "pred", rename_all = "snake_case")]
pub enum Predicate {
    And {
        left: Box<Predicate>,
        right: Box<Predicate>,
    },
    Or {
        left: Box<Predicate>,
        right: Box<Predicate>,
    },
    Not {
        inner: Box<Predicate>,
    },
    Compare {
        column: ColumnRef,
        op: CompareOp,
        value: Literal,
    },
    /// `~` or, with `negated`, `!~`. The pattern is known to compile.
    Regex {
        column: ColumnRef,
        pattern: String,
        negated: bool,
    },
    In {
        column: ColumnRef,
        values: Vec<Literal>,
    },
    Exists {
        column: ColumnRef,
    },
}

/// A value to compare against: its text, and its number when it reads as
/// one. Durations read as milliseconds, so `duration_ms > 2s` works.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Literal {
    pub text: String,
    pub number: Option<f64>,
    #[serde(skip)]
    pub span: Span,
}

/// Checks the AST and turns it into a Plan.
pub fn plan(program: &ast::Program) -> Result<Plan> {
    let statements = program
        .statements
        .iter()
        .map(plan_statement)
        .collect::<Result<_>>()?;
    Ok(Plan { statements })
}

fn plan_statement(statement: &ast::Statement) -> Result<PlannedStatement> {
    let (bind, pipeline) = match statement {
        ast::Statement::Let { name, pipeline, .. } => (Some(name.name.clone()), pipeline),
        ast::Statement::Pipeline(pipeline) => (None, pipeline),
    };
    Ok(PlannedStatement {
        bind,
        source: plan_source(&pipeline.source)?,
        ops: pipeline
            .stages
            .iter()
            .map(plan_stage)
            .collect::<Result<_>>()?,
    })
}

fn plan_source(source: &ast::Source) -> Result<PlanSource> {
    Ok(match &source.kind {
        SourceKind::AllHosts => PlanSource::AllHosts,
        SourceKind::NodeSet(pattern) => {
            // The span of the nodeset itself: the source minus `hosts `.
            let span = Span::new(source.span.end - pattern.len(), source.span.end);
            pattern.parse::<nodeset::NodeSet>().map_err(|e| {
                Error::new(format!("`{pattern}` is not a valid nodeset: {e}"), span)
                    .with_hint("a nodeset looks like `web[001-020,033]` or `web1,db[1-3]`")
            })?;
            PlanSource::NodeSet {
                pattern: pattern.clone(),
                span,
            }
        }
        SourceKind::Group(name) => PlanSource::Group {
            name: name.clone(),
            span: source.span,
        },
        SourceKind::Variable(name) => PlanSource::Variable {
            name: name.clone(),
            span: source.span,
        },
    })
}

fn plan_stage(stage: &ast::Stage) -> Result<Op> {
    Ok(match &stage.kind {
        StageKind::Filter { predicate } => Op::Filter {
            predicate: plan_predicate(predicate)?,
        },
        StageKind::Run { command, options } => plan_run(command, options, stage.span)?,
        StageKind::Select { columns } => Op::Select {
            columns: distinct_columns(columns, "select")?,
        },
        StageKind::Sort { keys } => Op::Sort {
            keys: keys
                .iter()
                .map(|key| SortSpec {
                    column: column_ref(&key.column),
                    descending: key.descending,
                })
                .collect(),
        },
        StageKind::Head { count } => Op::Head {
            count: count
                .text
                .parse()
                .ok()
                .filter(|_| count.kind == ValueKind::Number)
                .ok_or_else(|| {
                    Error::new(
                        format!("`head` needs a whole number of rows, not `{}`", count.text),
                        count.span,
                    )
                    .with_hint("for example: head 10")
                })?,
        },
        StageKind::Count { by } => Op::Count {
            by: distinct_columns(by, "count by")?,
        },
        StageKind::Distinct { columns } => Op::Distinct {
            columns: distinct_columns(columns, "distinct")?,
        },
    })
}

fn plan_run(command: &ast::Value, options: &[RunOption], span: Span) -> Result<Op> {
    if command.text.trim().is_empty() {
        return Err(Error::new("`run` needs a command", command.span)
            .with_hint("for example: run \"uptime\""));
    }
    let mut timeout_ms = None;
    let mut name = None;
    for option in options {
        match option {
            RunOption::Timeout { value, span } => {
                if timeout_ms.is_some() {
                    return Err(
                        Error::new("`timeout` is given twice", *span).with_hint("give one timeout")
                    );
                }
                let duration = parse_duration(&value.text)
                    .map_err(|reason| Error::new("bad timeout", value.span).with_hint(reason))?;
                if duration.is_zero() {
                    return Err(
                        Error::new("the timeout must be longer than zero", value.span)
                            .with_hint("for example: timeout=5s"),
                    );
                }
                timeout_ms = Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
            }
            RunOption::As { name: ident, span } => {
                if name.is_some() {
                    return Err(Error::new("`as` is given twice", *span).with_hint("give one name"));
                }
                if BUILTIN_COLUMNS.contains(&ident.name.as_str()) {
                    return Err(Error::new(
                        format!("`as {}` would overwrite a built-in column", ident.name),
                        ident.span,
                    )
                    .with_hint("pick another name, for example `as kernel`"));
                }
                name = Some(ident.name.clone());
            }
        }
    }
    Ok(Op::Run {
        command: command.text.clone(),
        timeout_ms,
        name,
        span,
    })
}

fn plan_predicate(expr: &ast::Expr) -> Result<Predicate> {
    Ok(match &expr.kind {
        ExprKind::And { left, right } => Predicate::And {
            left: Box::new(plan_predicate(left)?),
            right: Box::new(plan_predicate(right)?),
        },
        ExprKind::Or { left, right } => Predicate::Or {
            left: Box::new(plan_predicate(left)?),
            right: Box::new(plan_predicate(right)?),
        },
        ExprKind::Not { inner } => Predicate::Not {
            inner: Box::new(plan_predicate(inner)?),
        },
        ExprKind::Compare { column, op, value } => Predicate::Compare {
            column: column_ref(column),
            op: *op,
            value: literal(value)?,
        },
        ExprKind::Match {
            column,
            negated,
            regex,
        } => {
            regex::Regex::new(&regex.text).map_err(|e| {
                Error::new(format!("bad regex: {}", regex_reason(&e)), regex.span)
                    .with_hint("escape special characters with `\\`, for example /1\\.2/")
            })?;
            Predicate::Regex {
                column: column_ref(column),
                pattern: regex.text.clone(),
                negated: *negated,
            }
        }
        ExprKind::In { column, values } => Predicate::In {
            column: column_ref(column),
            values: values.iter().map(literal).collect::<Result<_>>()?,
        },
        ExprKind::Exists { column } => Predicate::Exists {
            column: column_ref(column),
        },
    })
}

/// The last line of the regex crate's message is the useful one
/// ("error: unclosed group"); the rest repeats the pattern.
fn regex_reason(error: &regex::Error) -> String {
    let message = error.to_string();
    let last = message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_string()
}

fn literal(value: &ast::Value) -> Result<Literal> {
    let number = match value.kind {
        ValueKind::Duration => {
            let duration = parse_duration(&value.text)
                .map_err(|reason| Error::new("bad duration", value.span).with_hint(reason))?;
            Some(duration.as_secs_f64() * 1000.0)
        }
        _ => value
            .text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite()),
    };
    Ok(Literal {
        text: value.text.clone(),
        number,
        span: value.span,
    })
}

fn column_ref(ident: &ast::Ident) -> ColumnRef {
    ColumnRef {
        name: ident.name.clone(),
        span: ident.span,
    }
}

fn distinct_columns(columns: &[ast::Ident], stage: &str) -> Result<Vec<ColumnRef>> {
    let mut seen = HashSet::new();
    columns
        .iter()
        .map(|ident| {
            if !seen.insert(ident.name.as_str()) {
                return Err(Error::new(
                    format!("`{}` is named twice in `{stage}`", ident.name),
                    ident.span,
                )
                .with_hint("name each column once"));
            }
            Ok(column_ref(ident))
        })
        .collect()
}
