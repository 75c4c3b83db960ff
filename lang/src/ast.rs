//! The syntax tree: what the user wrote, with a span on every node.
//!
//! The AST keeps values as written (`5s` stays text); checking and resolving
//! them is the planner's job.

use serde::Serialize;

use crate::span::Span;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "statement", rename_all = "snake_case")]
pub enum Statement {
    /// `let NAME = pipeline`
    Let {
        name: Ident,
        pipeline: Pipeline,
        span: Span,
    },
    /// A bare pipeline, whose result is shown.
    Pipeline(Pipeline),
}

/// A name the user wrote: a column, a variable, a `run ... as` name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub source: Source,
    pub stages: Vec<Stage>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub kind: SourceKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "name", rename_all = "snake_case")]
pub enum SourceKind {
    /// `hosts`
    AllHosts,
    /// `hosts web[001-020,033]`
    NodeSet(String),
    /// `hosts @canary`
    Group(String),
    /// `$bad`
    Variable(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    pub kind: StageKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum StageKind {
    /// `filter PRED`, or its alias `where PRED`
    Filter { predicate: Expr },
    /// `run "CMD" [timeout=DUR] [as NAME]`
    Run {
        command: Value,
        options: Vec<RunOption>,
    },
    /// `select COL, ...`
    Select { columns: Vec<Ident> },
    /// `sort COL [desc], ...`
    Sort { keys: Vec<SortKey> },
    /// `head N`
    Head { count: Value },
    /// `count` or `count by COL, ...`
    Count { by: Vec<Ident> },
    /// `distinct COL, ...`
    Distinct { columns: Vec<Ident> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "option", rename_all = "snake_case")]
pub enum RunOption {
    Timeout { value: Value, span: Span },
    As { name: Ident, span: Span },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SortKey {
    pub column: Ident,
    pub descending: bool,
    pub span: Span,
}

/// A predicate of `filter`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "expr", rename_all = "snake_case")]
pub enum ExprKind {
    And {
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Or {
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Not {
        inner: Box<Expr>,
    },
    /// `COL = V`, `!=`, `<`, `<=`, `>`, `>=`
    Compare {
        column: Ident,
        op: CompareOp,
        value: Value,
    },
    /// `COL ~ /re/` or `COL !~ /re/`
    Match {
        column: Ident,
        negated: bool,
        regex: Value,
    },
    /// `COL in (V, ...)`
    In {
        column: Ident,
        values: Vec<Value>,
    },
    /// `exists COL`
    Exists {
        column: Ident,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CompareOp {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A literal as written. `text` is already unescaped for strings and regexes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Value {
    pub kind: ValueKind,
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// An unquoted word: `us-east-1a`, `2.1.0`
    Word,
    /// A quoted string
    String,
    Number,
    /// `200ms`, `5s`
    Duration,
    /// The inside of `/.../`
    Regex,
}
