//! The plan model: what a checked query is, with every argument typed.
//! `planner.rs` builds it from the AST; the stages' own typed operators
//! (the `O` of [`Plan`]) live with their implementations in shoal-stdlib.
//!
//! Planning only validates what the text alone can tell (durations, counts,
//! regexes, nodeset syntax). Whether a column, a group, a host or a variable
//! exists is only known when the plan runs against an inventory, so those
//! checks happen in evaluation, using the spans kept here.

use serde::Serialize;

pub use crate::ast::{CompareOp, SetOp, TextOp};
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

/// A checked program: one entry per statement. `O` is the typed operator a
/// stage plans to, supplied by the stage catalog (`planner::Catalog`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan<O> {
    pub statements: Vec<PlannedStatement<O>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStatement<O> {
    /// `let NAME = ...` saves the result under this name.
    pub bind: Option<String>,
    /// The pipeline as written (without `let NAME =`): what the job store
    /// records, and what `rerun` runs again.
    #[serde(skip)]
    pub text: String,
    pub source: PlanSource,
    pub ops: Vec<O>,
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
    /// `jobs`: the job store's jobs, newest first.
    Jobs {
        #[serde(skip)]
        span: Span,
    },
    /// `job N`: one job's per-host rows.
    Job {
        which: JobRef,
        #[serde(skip)]
        span: Span,
    },
    /// `saved` lists the baselines; `saved NAME` loads one.
    Saved {
        name: Option<String>,
        #[serde(skip)]
        span: Span,
    },
    /// `checks`: the catalog of checks shipped with shoal, one row a check.
    Checks,
}

pub use crate::ast::JobRef;

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

/// How many rows `sample` keeps: a count, or a percentage of its input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rows {
    Count(u64),
    Percent(f64),
}
