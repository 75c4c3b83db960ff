//! `gather [COL, ...]` (alias `fold`): rows that agree folded into one row
//! per distinct answer, with their hosts as a nodeset (`web[01-03],db01`),
//! which `hosts` selects back exactly (`shoal_lang::fold_hosts`). The answer
//! to "which hosts differ, and how" across a fleet.

use std::collections::HashMap;

use polars::prelude::*;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Error, Result, Span, fold_hosts};

use super::lines::row_index;
use serde::Serialize;
use shoal_lang::{Args, Kind, Param, Signature};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::frame::{as_text, borrowed_texts, internal, require_columns};

pub struct Gather;

static SIGNATURE: Signature = Signature {
    name: "gather",
    aliases: &["fold"],
    summary: "One row per distinct value of the columns (default stdout, stderr, status) with its hosts folded as a nodeset and a row `count`, largest first.",
    help: "",
    params: &[Param::arg("columns", Kind::Columns, "COL, ...").optional()],
    options: &[],
    takes_as: false,
    data_columns: false,
};

/// What a command answered, as a whole: two hosts agree when they printed
/// the same and ended the same way.
const COMMAND_OUTPUT: &[&str] = &["stdout", "stderr", "status"];

/// The names `gather` gives its own columns.
const OWN_COLUMNS: &[&str] = &["hosts", "count"];

impl Operator for Gather {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Which hosts answered what; the unreachable one is a group of its own",
                query: "hosts | run \"cat /etc/app/version\" | gather",
                output: "\
hosts                 count  stdout  stderr  status
db[01-02],web[01-02]  4      2.1.0           ok
web03                 1      2.0.9           ok
cache01               1                      unreachable
",
            },
            Example {
                description: "Hosts by tag values; equal counts keep the input's order",
                query: "hosts | fold az, role",
                output: "\
hosts       count  az          role
web[01-02]  2      us-east-1a  web
web03       1      us-east-1b  web
db01        1      us-east-1a  db
db02        1      us-east-1b  db
cache01     1      us-east-1c  cache
",
            },
            Example {
                description: "The config lines not every host has",
                query: "hosts | run \"cat /etc/app/app.conf\" | lines | gather line | filter count < 5 and line !~ /^started/",
                output: "\
hosts                 count  line
db[01-02],web[01-02]  4      max_conns=256
db02,web[01,03]       3      workers=4
db01,web02            2      workers=8
web03                 1      max_conns=64
cache01               1
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(GatherOp {
            columns: args.get("columns")?.unwrap_or_default(),
            span: args.span,
        }))
    }
}

/// `gather`: the columns to fold on; none means the command output.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "gather")]
pub(crate) struct GatherOp {
    columns: Vec<ColumnRef>,
    /// The stage, for errors about its input rather than a column.
    #[serde(skip)]
    span: Span,
}

impl Stage for GatherOp {
    fn eval(&self, input: DataFrame, _ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let GatherOp { columns, span } = self;
        let keys = grouping_columns(&input, columns, *span)?;
        let host_column = input.column("host").map_err(|_| {
            Error::new(
                "`gather` needs a `host` column to say which hosts agree",
                *span,
            )
            .with_hint("gather before `select`, `count` or `distinct` drop the host column")
        })?;
        // Borrowed, not copied: outputs can be megabytes across a fleet.
        let host_text = as_text(host_column)?;
        let hosts = borrowed_texts(&host_text)?;
        let key_text: Vec<Column> = keys
            .iter()
            .map(|name| input.column(name).map_err(internal).and_then(as_text))
            .collect::<Result<_>>()?;
        let values: Vec<Vec<Option<&str>>> =
            key_text.iter().map(borrowed_texts).collect::<Result<_>>()?;
        let groups = group_rows(&hosts, &values)?;

        let mut out = vec![
            Column::new(
                "hosts".into(),
                groups
                    .iter()
                    .map(|g| fold_hosts(&g.hosts))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "count".into(),
                groups.iter().map(|g| g.rows).collect::<Vec<u64>>(),
            ),
        ];
        // The group's values from its first row, so they keep their types.
        let firsts = IdxCa::from_vec("first".into(), groups.iter().map(|g| g.first).collect());
        for name in keys {
            let column = input.column(name).map_err(internal)?;
            out.push(column.take(&firsts).map_err(internal)?);
        }
        DataFrame::new(groups.len(), out).map_err(internal)
    }
}

/// The columns to group by: those named, or the command output. `span` is
/// the stage's, for when there is no output.
fn grouping_columns<'a>(
    input: &DataFrame,
    columns: &'a [ColumnRef],
    span: Span,
) -> Result<Vec<&'a str>> {
    if columns.is_empty() {
        if input.column("stdout").is_err() {
            return Err(
                Error::new("`gather` has no command output to fold", span).with_hint(
                    "gather folds command output: run a command first, or name columns: gather az",
                ),
            );
        }
        // Whichever of stderr and status a `select` left.
        return Ok(COMMAND_OUTPUT
            .iter()
            .copied()
            .filter(|name| input.column(name).is_ok())
            .collect());
    }
    require_columns(input, columns)?;
    if let Some(own) = columns
        .iter()
        .find(|c| OWN_COLUMNS.contains(&c.name.as_str()))
    {
        return Err(Error::new(
            format!(
                "`gather` cannot group by `{}`: it writes that column itself",
                own.name
            ),
            own.span,
        )
        .with_hint("group by the other columns, or use `count by` instead"));
    }
    Ok(columns.iter().map(|c| c.name.as_str()).collect())
}

struct Group<'a> {
    /// The first row with these values.
    first: IdxSize,
    rows: u64,
    hosts: Vec<&'a str>,
}

/// Rows with equal `values` (one list per grouping column), largest group
/// first and equal sizes in first-appearance order. One hash lookup per row
/// on its values as text; a null is its own value, not "".
fn group_rows<'a>(
    hosts: &[Option<&'a str>],
    values: &[Vec<Option<&str>>],
) -> Result<Vec<Group<'a>>> {
    let mut group_of: HashMap<Vec<Option<&str>>, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (row, host) in hosts.iter().enumerate() {
        let key: Vec<Option<&str>> = values.iter().map(|v| v[row]).collect();
        let next = groups.len();
        let index = *group_of.entry(key).or_insert(next);
        if index == next {
            groups.push(Group {
                first: row_index(row)?,
                rows: 0,
                hosts: Vec::new(),
            });
        }
        let group = &mut groups[index];
        group.rows += 1;
        group.hosts.extend(*host);
    }
    // Stable, so equal counts keep first-appearance order.
    groups.sort_by_key(|g| std::cmp::Reverse(g.rows));
    Ok(groups)
}
