//! AST to Plan: a strict enum with one variant per operator, with every
//! argument checked and every duration resolved.
//!
//! Planning only validates what the text alone can tell (durations, counts,
//! regexes, nodeset syntax). Whether a column, a group, a host or a variable
//! exists is only known when the plan runs against an inventory, so those
//! checks happen in evaluation, using the spans kept here.

use std::collections::HashSet;

use serde::Serialize;

use crate::ast::{
    self, CompareOp, DiffSplit, ExprKind, RunOption, SetOperand, SourceKind, StageKind,
    StageOption, ValueKind,
};
pub use crate::ast::{SetOp, TextOp};
use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::span::Span;

/// Columns shoal itself puts in a result: every host row starts with `host`,
/// `addr` and `groups`, and `run` writes the rest. Nothing else may take these
/// names (not an inventory tag, not `run ... as NAME`), or a result would have
/// two columns of the same name, or a copy the very run that makes it
/// overwrites.
pub const BUILTIN_COLUMNS: &[&str] = &[
    "host",
    "addr",
    "groups",
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
    /// `hosts @web & @us-east-1a`, `hosts ~ /^db/`: operands combined left
    /// to right. Every nodeset is checked and every regex compiles.
    Select {
        terms: Vec<SelectTerm>,
        /// The operands without `hosts`, for "selects no host".
        #[serde(skip)]
        span: Span,
    },
    /// `hosts from ssh_config`: the concrete `Host` entries of ssh_config.
    SshConfig {
        #[serde(skip)]
        span: Span,
    },
}

/// One operand of [`PlanSource::Select`] and how it joins the hosts before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectTerm {
    /// `Union` for the first term: a selection starts from no hosts.
    pub op: SetOp,
    pub kind: TermKind,
    /// The operand's own span, for errors about it.
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "term", rename_all = "snake_case")]
pub enum TermKind {
    Group {
        name: String,
    },
    /// A nodeset whose syntax and size have been checked.
    NodeSet {
        pattern: String,
    },
    /// Host names the pattern finds a match in; it is known to compile.
    Regex {
        pattern: String,
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
        /// The command as written, which progress lines show.
        command: String,
        /// The command split at its `{column}` placeholders (shell.rs), with
        /// `{{` and `}}` already one brace: each host runs the text with its
        /// own values shell-quoted into place.
        template: Vec<CommandPart>,
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
    Diff {
        split: Split,
        /// Features whose `pct_diff` is under this many percentage points are
        /// left out.
        threshold_pct: f64,
        #[serde(skip)]
        span: Span,
    },
    /// `gather`; no columns means the command output: stdout, stderr, status.
    Gather {
        columns: Vec<ColumnRef>,
        /// The stage, for errors about its input rather than a column.
        #[serde(skip)]
        span: Span,
    },
    Lines {
        column: ColumnRef,
    },
    /// `extract`: the pattern compiles and has at least one named group.
    Extract {
        column: ColumnRef,
        pattern: String,
        names: Vec<String>,
    },
    /// `parse`: the pattern compiled to a regex with one group per field,
    /// anchored to a whole line.
    Parse {
        column: ColumnRef,
        regex: String,
        fields: Vec<ParseField>,
    },
    Columns {
        column: ColumnRef,
    },
    Kv {
        column: ColumnRef,
    },
    Json {
        column: ColumnRef,
    },
    Facts {
        timeout_ms: Option<u64>,
        #[serde(skip)]
        span: Span,
    },
    Stats {
        column: ColumnRef,
        by: Vec<ColumnRef>,
    },
    /// `top`, or with `least`, `rare`.
    Top {
        column: ColumnRef,
        count: usize,
        least: bool,
    },
    Outliers {
        column: ColumnRef,
        by: Vec<ColumnRef>,
        /// Rows whose robust z-score is beyond this are outliers.
        threshold: f64,
        /// `keep=all`: keep every row, not only the outliers.
        keep_all: bool,
    },
}

/// A piece of a `run` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandPart {
    /// Sent as is.
    Text(String),
    /// `{name}`: the row's value of the column, shell-quoted.
    Column(ColumnRef),
}

/// How `diff` splits its input into population A and population B.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "split", rename_all = "snake_case")]
pub enum Split {
    /// A row is in A (or B) when its host is in that side's set of hosts.
    Sides { a: Side, b: Side },
    /// A is the rows that match, B the rest.
    Where { predicate: Predicate },
    /// The column's two values, in order of first appearance.
    By { column: ColumnRef },
}

/// A set of hosts for `diff A B`: a saved result's hosts or a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "side", rename_all = "snake_case")]
pub enum Side {
    Variable {
        name: String,
        #[serde(skip)]
        span: Span,
    },
    Group {
        name: String,
        #[serde(skip)]
        span: Span,
    },
}

/// One `{name}` or `{name:type}` of a `parse` pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseField {
    pub name: String,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// `{name}`: any text, as short as the rest of the line allows.
    Text,
    /// `{name:word}`: text without blanks.
    Word,
    /// `{name:int}`
    Int,
    /// `{name:float}`
    Float,
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
            Op::Diff { .. } => "diff",
            Op::Gather { .. } => "gather",
            Op::Lines { .. } => "lines",
            Op::Extract { .. } => "extract",
            Op::Parse { .. } => "parse",
            Op::Columns { .. } => "columns",
            Op::Kv { .. } => "kv",
            Op::Json { .. } => "json",
            Op::Facts { .. } => "facts",
            Op::Stats { .. } => "stats",
            Op::Top { least: false, .. } => "top",
            Op::Top { least: true, .. } => "rare",
            Op::Outliers { .. } => "outliers",
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
    /// `has`: a line of the column equals `text`; `contains`: a substring.
    Text {
        column: ColumnRef,
        op: TextOp,
        text: String,
    },
}

impl Predicate {
    /// Every column the predicate reads, each once, in order of appearance.
    pub fn columns(&self) -> Vec<&ColumnRef> {
        let mut out: Vec<&ColumnRef> = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a ColumnRef>) {
        let column = match self {
            Predicate::And { left, right } | Predicate::Or { left, right } => {
                left.collect_columns(out);
                right.collect_columns(out);
                return;
            }
            Predicate::Not { inner } => return inner.collect_columns(out),
            Predicate::Compare { column, .. }
            | Predicate::Regex { column, .. }
            | Predicate::In { column, .. }
            | Predicate::Exists { column }
            | Predicate::Text { column, .. } => column,
        };
        if !out.iter().any(|c| c.name == column.name) {
            out.push(column);
        }
    }
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
        SourceKind::NodeSet { name: pattern } => {
            // The span of the nodeset itself: the source minus `hosts `.
            let span = Span::new(source.span.end - pattern.len(), source.span.end);
            check_nodeset(pattern, span)?;
            PlanSource::NodeSet {
                pattern: pattern.clone(),
                span,
            }
        }
        SourceKind::Group { name } => PlanSource::Group {
            name: name.clone(),
            span: source.span,
        },
        SourceKind::Variable { name } => PlanSource::Variable {
            name: name.clone(),
            span: source.span,
        },
        SourceKind::Select { terms } => PlanSource::Select {
            terms: terms.iter().map(plan_term).collect::<Result<_>>()?,
            span: terms
                .iter()
                .map(|t| t.span)
                .reduce(Span::join)
                .unwrap_or(source.span),
        },
        SourceKind::From { name } => plan_host_list(name, source.span)?,
    })
}

fn plan_term(term: &ast::SetTerm) -> Result<SelectTerm> {
    let kind = match &term.operand {
        SetOperand::Group { name } => TermKind::Group { name: name.clone() },
        SetOperand::NodeSet { pattern } => {
            check_nodeset(pattern, term.span)?;
            TermKind::NodeSet {
                pattern: pattern.clone(),
            }
        }
        SetOperand::Regex { regex } => {
            compile_regex(regex)?;
            TermKind::Regex {
                pattern: regex.text.clone(),
            }
        }
    };
    Ok(SelectTerm {
        op: term.op,
        kind,
        span: term.span,
    })
}

/// The lists `hosts from NAME` can read: each names hosts that live outside
/// the inventory, and the runtime fills them in.
const HOST_LISTS: &[&str] = &["ssh_config"];

fn plan_host_list(name: &ast::Ident, span: Span) -> Result<PlanSource> {
    if name.name == "ssh_config" {
        return Ok(PlanSource::SshConfig { span });
    }
    let mut error = Error::new(format!("unknown host list `{}`", name.name), name.span);
    if let Some(near) = crate::did_you_mean(&name.name, HOST_LISTS.iter().copied()) {
        error = error.with_hint(format!("did you mean '{near}'?"));
    }
    Err(error
        .with_hint("`hosts from ssh_config` selects the hosts named by `Host` lines of ssh_config"))
}

/// A nodeset operand is small enough to expand and is valid ClusterShell
/// syntax; `span` is the nodeset's own.
fn check_nodeset(pattern: &str, span: Span) -> Result<()> {
    check_nodeset_size(pattern, span)?;
    crate::parse_nodeset(pattern).map_err(|e| {
        Error::new(format!("`{pattern}` is not a valid nodeset: {e}"), span)
            .with_hint("a nodeset looks like `web[001-020,033]` or `web1,db[1-3]`")
    })?;
    Ok(())
}

/// The most hosts one nodeset may name. The nodeset crate stores every id of
/// a range, so `hosts 1-99999999` would take gigabytes before anything could
/// say no (found by fuzzing); no fleet is that large.
const MAX_NODESET_HOSTS: u64 = 1_000_000;

/// Rejects a nodeset whose ranges (`a-b`, inside brackets or not) add up to
/// more than [`MAX_NODESET_HOSTS`], before the nodeset crate expands them.
fn check_nodeset_size(pattern: &str, span: Span) -> Result<()> {
    // Malformed ranges count as one: the nodeset parser then reports them.
    let number = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().unwrap_or(u64::MAX))
    };
    let mut total: u64 = 0;
    for piece in pattern.split([',', '[', ']']) {
        let size = match piece.split_once('-').map(|(l, h)| (number(l), number(h))) {
            Some((Some(low), Some(high))) => high.saturating_sub(low).saturating_add(1),
            _ => 1,
        };
        total = total.saturating_add(size);
    }
    if total > MAX_NODESET_HOSTS {
        return Err(Error::new(
            format!("`{pattern}` names more than {MAX_NODESET_HOSTS} hosts"),
            span,
        )
        .with_hint("a nodeset names hosts of the inventory, such as `web[001-020]`"));
    }
    Ok(())
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
        StageKind::Diff { split, options } => plan_diff(split, options, stage.span)?,
        StageKind::Gather { columns } => Op::Gather {
            columns: distinct_columns(columns, "gather")?,
            span: stage.span,
        },
        StageKind::Lines { column } => Op::Lines {
            column: column_or_stdout(column.as_ref(), stage.span),
        },
        StageKind::Extract { column, regex } => plan_extract(column, regex)?,
        StageKind::Parse { column, pattern } => {
            let (regex, fields) = crate::pattern::compile(pattern)?;
            Op::Parse {
                column: column_ref(column),
                regex,
                fields,
            }
        }
        StageKind::Columns { column } => Op::Columns {
            column: column_or_stdout(column.as_ref(), stage.span),
        },
        StageKind::Kv { column } => Op::Kv {
            column: column_or_stdout(column.as_ref(), stage.span),
        },
        StageKind::Json { column } => Op::Json {
            column: column_or_stdout(column.as_ref(), stage.span),
        },
        StageKind::Facts { options } => {
            let options = Options::check(options, "facts", &["timeout"])?;
            Op::Facts {
                timeout_ms: options.get("timeout").map(timeout_ms).transpose()?,
                span: stage.span,
            }
        }
        StageKind::Stats { column, by } => Op::Stats {
            column: column_ref(column),
            by: distinct_columns(by, "stats by")?,
        },
        StageKind::Top {
            column,
            count,
            least,
        } => Op::Top {
            column: column_ref(column),
            count: match count {
                Some(count) => {
                    let stage = if *least { "rare" } else { "top" };
                    whole_number(count, &format!("{stage} {}", column.name))?
                }
                None => 10,
            },
            least: *least,
        },
        StageKind::Outliers {
            column,
            by,
            options,
        } => plan_outliers(column, by, options)?,
    })
}

/// `lines`, `columns`, `kv` and `json` read stdout unless told otherwise;
/// an "unknown column" error then points at the stage itself.
fn column_or_stdout(column: Option<&ast::Ident>, stage: Span) -> ColumnRef {
    column.map_or_else(
        || ColumnRef {
            name: "stdout".to_string(),
            span: stage,
        },
        column_ref,
    )
}

fn plan_diff(split: &DiffSplit, options: &[StageOption], span: Span) -> Result<Op> {
    let options = Options::check(options, "diff", &["threshold"])?;
    let threshold_pct = match options.get("threshold") {
        None => 5.0,
        Some(value) => percent(value)?,
    };
    let side = |side: &ast::DiffSide| {
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
    };
    let split = match split {
        DiffSplit::Sides { a, b } => {
            if a.name == b.name && a.group == b.group {
                return Err(Error::new(
                    "`diff` compares a population with itself",
                    a.span.join(b.span),
                )
                .with_hint("give two different sides, for example: diff $bad $good"));
            }
            Split::Sides {
                a: side(a),
                b: side(b),
            }
        }
        DiffSplit::Where { predicate } => Split::Where {
            predicate: plan_predicate(predicate)?,
        },
        DiffSplit::By { column } => Split::By {
            column: column_ref(column),
        },
    };
    Ok(Op::Diff {
        split,
        threshold_pct,
        span,
    })
}

/// `threshold=10%` or `threshold=10`: percentage points, 0 to 100.
fn percent(value: &ast::Value) -> Result<f64> {
    value
        .text
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| {
            Error::new(
                format!("`{}` is not a percentage from 0 to 100", value.text),
                value.span,
            )
            .with_hint("for example: threshold=10%")
        })
}

fn plan_extract(column: &ast::Ident, regex: &ast::Value) -> Result<Op> {
    let compiled = compile_regex(regex)?;
    let names: Vec<String> = compiled
        .capture_names()
        .flatten()
        .map(String::from)
        .collect();
    if names.is_empty() {
        return Err(
            Error::new("`extract` needs at least one named group", regex.span)
                .with_hint("name each part to keep: /load (?<load1>[0-9.]+)/"),
        );
    }
    if let Some(name) = names.iter().find(|n| BUILTIN_COLUMNS.contains(&n.as_str())) {
        return Err(Error::new(
            format!("the group `{name}` would overwrite a built-in column"),
            regex.span,
        )
        .with_hint("rename the group, for example (?<app_version>...)"));
    }
    Ok(Op::Extract {
        column: column_ref(column),
        pattern: regex.text.clone(),
        names,
    })
}

fn plan_outliers(column: &ast::Ident, by: &[ast::Ident], options: &[StageOption]) -> Result<Op> {
    let options = Options::check(options, "outliers", &["keep", "threshold"])?;
    let keep_all = match options.get("keep") {
        None => false,
        Some(value) => match value.text.as_str() {
            "all" => true,
            "outliers" => false,
            other => {
                return Err(
                    Error::new(format!("`keep={other}` is not a choice"), value.span).with_hint(
                        "keep=all keeps every row; keep=outliers (the default) only outliers",
                    ),
                );
            }
        },
    };
    let threshold = match options.get("threshold") {
        None => 3.5,
        Some(value) => value
            .text
            .parse::<f64>()
            .ok()
            .filter(|z| *z > 0.0 && z.is_finite())
            .ok_or_else(|| {
                Error::new(
                    format!("`{}` is not a positive score", value.text),
                    value.span,
                )
                .with_hint("the threshold is a robust z-score; 3.5 is usual: threshold=3.5")
            })?,
    };
    Ok(Op::Outliers {
        column: column_ref(column),
        by: distinct_columns(by, "outliers by")?,
        threshold,
        keep_all,
    })
}

/// A stage's `NAME=VALUE` options, each known to the stage and given once.
struct Options<'a>(Vec<(&'a str, &'a ast::Value)>);

impl<'a> Options<'a> {
    fn check(options: &'a [StageOption], stage: &str, known: &[&str]) -> Result<Self> {
        let mut checked: Vec<(&str, &ast::Value)> = Vec::new();
        for option in options {
            let name = option.name.name.as_str();
            if !known.contains(&name) {
                let mut error = Error::new(
                    format!("`{stage}` has no option `{name}`"),
                    option.name.span,
                );
                if let Some(near) = crate::did_you_mean(name, known.iter().copied()) {
                    error = error.with_hint(format!("did you mean '{near}'?"));
                }
                return Err(error.with_hint(format!(
                    "`{stage}` takes: {}",
                    known
                        .iter()
                        .map(|k| format!("{k}=..."))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if checked.iter().any(|(seen, _)| *seen == name) {
                return Err(Error::new(format!("`{name}` is given twice"), option.span)
                    .with_hint(format!("give `{name}` once")));
            }
            checked.push((name, &option.value));
        }
        Ok(Options(checked))
    }

    fn get(&self, name: &str) -> Option<&'a ast::Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// A positive count of rows; `usage` is the stage as written, up to the count.
fn whole_number(value: &ast::Value, usage: &str) -> Result<usize> {
    value
        .text
        .parse()
        .ok()
        .filter(|n: &usize| value.kind == ValueKind::Number && *n > 0)
        .ok_or_else(|| {
            Error::new(
                format!(
                    "`{usage}` needs a whole number of rows, not `{}`",
                    value.text
                ),
                value.span,
            )
            .with_hint(format!("for example: {usage} 10"))
        })
}

fn timeout_ms(value: &ast::Value) -> Result<u64> {
    let duration = parse_duration(&value.text)
        .map_err(|reason| Error::new("bad timeout", value.span).with_hint(reason))?;
    if duration.is_zero() {
        return Err(
            Error::new("the timeout must be longer than zero", value.span)
                .with_hint("for example: timeout=5s"),
        );
    }
    Ok(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
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
                timeout_ms = Some(self::timeout_ms(value)?);
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
        template: crate::shell::template(command)?,
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
            compile_regex(regex)?;
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
        ExprKind::Text { column, op, value } => Predicate::Text {
            column: column_ref(column),
            op: *op,
            text: value.text.clone(),
        },
    })
}

fn compile_regex(regex: &ast::Value) -> Result<regex::Regex> {
    regex::Regex::new(&regex.text).map_err(|e| {
        Error::new(format!("bad regex: {}", regex_reason(&e)), regex.span)
            .with_hint("escape special characters with `\\`, for example /1\\.2/")
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
