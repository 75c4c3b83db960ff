//! DataFrame helpers shared by the operators: finding a named column (with the
//! "unknown column" error), reading columns as text or numbers, building the
//! host table, and a plain text rendering used by examples and tests.

use polars::prelude::*;
use shoal_lang::plan::ColumnRef;
use shoal_lang::{Error, Result, did_you_mean};

use crate::fleet::{Fleet, FleetHost};

/// Turns a polars error into shoal's error. Polars errors on our own frames
/// are bugs, not user mistakes, so they carry no span.
pub fn internal(error: PolarsError) -> Error {
    Error::new(format!("internal error: {error}"), None)
        .with_hint("this is a bug in shoal; please report the query that caused it")
}

/// The column a query names, or an error that lists the columns there are.
pub fn column<'a>(df: &'a DataFrame, column: &ColumnRef) -> Result<&'a Column> {
    df.column(&column.name)
        .map_err(|_| unknown_column(df, &column.name, column.span))
}

/// Checks that every named column exists, before an operator does any work.
pub fn require_columns(df: &DataFrame, columns: &[ColumnRef]) -> Result<()> {
    columns.iter().try_for_each(|c| column(df, c).map(|_| ()))
}

pub fn unknown_column(df: &DataFrame, name: &str, span: shoal_lang::Span) -> Error {
    let names: Vec<&str> = df
        .get_column_names()
        .into_iter()
        .map(|n| n.as_str())
        .collect();
    let mut error = Error::new(format!("unknown column `{name}`"), span);
    if let Some(near) = did_you_mean(name, names.iter().copied()) {
        error = error.with_hint(format!("did you mean '{near}'?"));
    }
    let available = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    error
        .with_hint(format!("available columns: {available}"))
        .with_kind(shoal_lang::ErrorKind::UnknownColumn)
}

pub fn column_names(df: &DataFrame) -> Vec<String> {
    df.get_column_names()
        .into_iter()
        .map(|n| n.to_string())
        .collect()
}

/// True for integer and float columns: they compare as numbers.
pub fn is_numeric(column: &Column) -> bool {
    column.dtype().is_primitive_numeric()
}

/// The column's values as text; numbers print the way they display.
pub fn texts(column: &Column) -> Result<Vec<Option<String>>> {
    let as_text = column.cast(&DataType::String).map_err(internal)?;
    Ok(as_text
        .str()
        .map_err(internal)?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// The column cast to text, for [`borrowed_texts`]: the cast is kept by the
/// caller so that the borrowed values can point into it.
pub fn as_text(column: &Column) -> Result<Column> {
    column.cast(&DataType::String).map_err(internal)
}

/// A text column's values without copying them, for operators that read
/// every value of large outputs (`diff`, `gather`). `column` comes from
/// [`as_text`].
pub fn borrowed_texts(column: &Column) -> Result<Vec<Option<&str>>> {
    Ok(column.str().map_err(internal)?.iter().collect())
}

/// The column's values as numbers, when it has them.
///
/// Numeric columns always do. A text column does when every non-null value
/// parses as a number, so `load1 > 3` works on text captured from a host.
/// `Err` carries the first value that is not a number, for the message.
pub fn numbers(column: &Column) -> Result<Result<Vec<Option<f64>>, String>> {
    if is_numeric(column) {
        let floats = column.cast(&DataType::Float64).map_err(internal)?;
        return Ok(Ok(floats.f64().map_err(internal)?.iter().collect()));
    }
    let mut out = Vec::with_capacity(column.len());
    for value in texts(column)? {
        match value {
            None => out.push(None),
            Some(text) => match text.trim().parse::<f64>() {
                Ok(number) => out.push(Some(number)),
                Err(_) => return Ok(Err(text)),
            },
        }
    }
    Ok(Ok(out))
}

/// One row per host: `host`, `addr`, `groups` (see [`Fleet::groups_of`]),
/// then one text column per inventory tag (null where a host lacks the tag).
pub fn host_table(fleet: &Fleet, hosts: &[&FleetHost]) -> Result<DataFrame> {
    let mut columns = vec![
        Column::new(
            "host".into(),
            hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "addr".into(),
            hosts.iter().map(|h| h.addr.as_str()).collect::<Vec<_>>(),
        ),
        Column::new("groups".into(), fleet.groups_of(hosts)),
    ];
    for tag in fleet.tag_names() {
        let values: Vec<Option<&str>> = hosts
            .iter()
            .map(|h| h.tags.get(tag).map(String::as_str))
            .collect();
        columns.push(Column::new(tag.into(), values));
    }
    DataFrame::new(hosts.len(), columns).map_err(internal)
}

/// Renders a frame as aligned plain text: a header line, then one line per
/// row. Nulls are blank. This is the form operator examples are written in,
/// so it must stay stable; the REPL has its own richer rendering.
pub fn to_text(df: &DataFrame) -> Result<String> {
    let names = column_names(df);
    let mut cells: Vec<Vec<String>> = vec![names.clone()];
    let columns: Vec<Vec<Option<String>>> =
        df.columns().iter().map(texts).collect::<Result<_>>()?;
    for row in 0..df.height() {
        cells.push(
            columns
                .iter()
                .map(|c| c[row].clone().unwrap_or_default().replace('\n', "\\n"))
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..names.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    Ok(out)
}
