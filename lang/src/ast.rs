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

impl Statement {
    /// The pipeline, with or without `let NAME =`.
    pub fn pipeline(&self) -> &Pipeline {
        match self {
            Statement::Let { pipeline, .. } | Statement::Pipeline(pipeline) => pipeline,
        }
    }
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

/// Where a pipeline's rows come from. A single `@group` or nodeset keeps a
/// variant of its own, as before selections could combine them, so plans
/// and snapshots of those forms did not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum SourceKind {
    /// `hosts`
    AllHosts,
    /// `hosts web[001-020,033]`
    NodeSet { name: String },
    /// `hosts @canary`
    Group { name: String },
    /// `$bad`
    Variable { name: String },
    /// `jobs`: the job store's jobs, newest first.
    Jobs,
    /// `job 12`, `job last`, `job -2`: one job's rows.
    Job { which: JobRef },
    /// `saved`: the baselines; `saved NAME`: one of them.
    Saved { name: Option<String> },
    /// `checks`: the catalog of checks shipped with shoal.
    Checks,
    /// `hosts @web & @us-east-1a`, `hosts ~ /^db/`: two or more operands, or
    /// a regex.
    Select { terms: Vec<SetTerm> },
    /// `hosts from ssh_config`
    From { name: Ident },
}

/// One operand of a host selection and how it joins the hosts before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetTerm {
    /// `Union` for the first operand: a selection starts from no hosts.
    pub op: SetOp,
    pub operand: SetOperand,
    /// The operand's own span, without the operator.
    pub span: Span,
}

/// ClusterShell's nodeset operators, applied left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum SetOp {
    /// `a, b`: the hosts of either.
    #[serde(rename = ",")]
    Union,
    /// `a & b`: the hosts of both.
    #[serde(rename = "&")]
    Intersection,
    /// `a ! b`: the hosts of `a` that are not in `b`.
    #[serde(rename = "!")]
    Difference,
}

impl SetOp {
    pub fn as_str(self) -> &'static str {
        match self {
            SetOp::Union => ",",
            SetOp::Intersection => "&",
            SetOp::Difference => "!",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "operand", rename_all = "snake_case")]
pub enum SetOperand {
    /// `@web`
    Group { name: String },
    /// `web[001-003]`
    NodeSet { pattern: String },
    /// `~ /^db-/`: host names the regex finds a match in.
    Regex { regex: Value },
}

/// One stage as written: its name, and its text up to the next `|`, which
/// the planner checks against the stage's signature (`bind.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub name: Ident,
    /// Everything after the name; its span is where it stands in the source.
    pub text: String,
    pub text_span: Span,
    pub span: Span,
}

/// `NAME=VALUE` after a stage's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageOption {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

/// One side of `diff A B`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffSide {
    /// True for `@group`; false for `$name` and a bare name, both of which
    /// mean a saved result.
    pub group: bool,
    pub name: String,
    pub span: Span,
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
    /// `COL has "line"` or `COL contains "text"`
    Text {
        column: Ident,
        op: TextOp,
        value: Value,
    },
}

/// The two text tests `diff` prints and `filter` reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextOp {
    /// One line of the column equals the text.
    Has,
    /// The column contains the text anywhere.
    Contains,
}

impl TextOp {
    pub fn as_str(self) -> &'static str {
        match self {
            TextOp::Has => "has",
            TextOp::Contains => "contains",
        }
    }
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
    /// Byte offsets in `text` of the characters that were written with a
    /// backslash (`\"`, `\n`), so that a part of `text` can be located in
    /// the source: see [`Value::span_of`].
    #[serde(skip)]
    pub escapes: Vec<usize>,
}

impl Value {
    /// The source span of `text[range]`, for errors about one part of a
    /// string, such as a `{column}` in a `run` command.
    pub fn span_of(&self, range: std::ops::Range<usize>) -> Span {
        // Each escape is one source byte (the backslash) more than its text;
        // what remains of the span beyond that is the delimiters, as many
        // before `text` as after it.
        let delimiters = self
            .span
            .end
            .saturating_sub(self.span.start + self.text.len() + self.escapes.len());
        let to_source = |offset: usize| {
            let escaped_before = self.escapes.iter().filter(|&&e| e < offset).count();
            self.span.start + delimiters / 2 + offset + escaped_before
        };
        // An escaped character at the start of the range starts at its
        // backslash, which is where `to_source` puts it.
        Span::new(to_source(range.start), to_source(range.end))
    }
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
    /// `10%`, only as an option's value
    Percent,
}

/// Which job `job` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobRef {
    /// `job 12`: the job with this id.
    Id(u64),
    /// `job last` (also `job -1`): the newest job.
    Last,
    /// `job -2`: counting back from the newest, which is `-1`.
    Back(u64),
}

impl JobRef {
    /// `last`, `12` or `-2`, as written.
    pub fn parse(text: &str) -> Option<JobRef> {
        match text {
            "last" | "-1" => Some(JobRef::Last),
            _ => match text.strip_prefix('-') {
                Some(back) => back.parse().ok().filter(|n| *n > 0).map(JobRef::Back),
                None => text.parse().ok().map(JobRef::Id),
            },
        }
    }
}

impl std::fmt::Display for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobRef::Id(id) => write!(f, "{id}"),
            JobRef::Last => f.write_str("last"),
            JobRef::Back(n) => write!(f, "-{n}"),
        }
    }
}
