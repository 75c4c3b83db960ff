//! Turns result frames into what the user reads: an aligned table for a
//! terminal, or JSON (an array of row objects) and CSV for scripts.

use polars::prelude::*;
use shoal_stdlib::frame::{column_names, texts};
use tabled::builder::Builder;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::{Style, Width};

/// Output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Longest a table cell may be before it is cut with `…`, on a terminal or
/// not. Long outputs (a `cat` of a config file) would otherwise push every
/// other column off the screen; on a terminal the table is also cut to its
/// width. `--full` shows cells whole.
const CELL_WIDTH: usize = 60;

pub fn render(df: &DataFrame, format: Format, full: bool, color: bool) -> Result<String, String> {
    match format {
        Format::Table => Ok(table(df, full, color)?),
        Format::Json => json(df),
        Format::Csv => csv(df),
    }
}

fn cells(df: &DataFrame) -> Result<Vec<Vec<Option<String>>>, String> {
    df.columns()
        .iter()
        .map(|c| texts(c).map_err(|e| e.reason))
        .collect()
}

fn table(df: &DataFrame, full: bool, color: bool) -> Result<String, String> {
    let columns = cells(df)?;
    let names = column_names(df);
    let status_column = names.iter().position(|n| n == "status");
    let mut builder = Builder::default();
    builder.push_record(names.clone());
    for row in 0..df.height() {
        builder.push_record(columns.iter().enumerate().map(|(i, c)| {
            let text = c[row].clone().unwrap_or_default();
            let text = if full { text } else { shorten(&text) };
            if color && Some(i) == status_column {
                paint_status(&text)
            } else {
                text
            }
        }));
    }
    let mut table = builder.build();
    table.with(Style::sharp());
    // On a terminal, the widest columns give way first so the table fits.
    if let (false, Some((terminal_size::Width(columns), _))) =
        (full, terminal_size::terminal_size())
    {
        table.with(
            Width::truncate(usize::from(columns))
                .suffix("…")
                .priority(PriorityMax::default()),
        );
    }
    Ok(format!("{table}\n"))
}

/// Green for ok, yellow for a command that ran and failed, red for a host
/// that never ran it.
fn paint_status(status: &str) -> String {
    let code = match status {
        "ok" => "32",
        "failed" | "timeout" | "cancelled" => "33",
        _ => "31",
    };
    format!("\x1b[{code}m{status}\x1b[0m")
}

/// First line only, at most `CELL_WIDTH` characters, marking any cut with `…`.
fn shorten(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let multi_line = text.contains('\n');
    if first.chars().count() > CELL_WIDTH {
        let cut: String = first.chars().take(CELL_WIDTH - 1).collect();
        format!("{cut}…")
    } else if multi_line {
        format!("{first}…")
    } else {
        first.to_string()
    }
}

fn json(df: &DataFrame) -> Result<String, String> {
    let names = column_names(df);
    let mut rows = vec![serde_json::Map::new(); df.height()];
    for (name, column) in names.iter().zip(df.columns()) {
        for (row, value) in rows.iter_mut().zip(json_values(column)?) {
            row.insert(name.clone(), value);
        }
    }
    serde_json::to_string_pretty(&rows)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// Numbers stay numbers in JSON (integers without a fraction); everything
/// else is text or null.
fn json_values(column: &Column) -> Result<Vec<serde_json::Value>, String> {
    if column.dtype().is_primitive_numeric() {
        let integer = column.dtype().is_integer();
        let floats = column.cast(&DataType::Float64).map_err(|e| e.to_string())?;
        let floats = floats.f64().map_err(|e| e.to_string())?;
        // Integer columns here are exit codes, counts and milliseconds, far
        // below 2^53, so the round trip through f64 is exact.
        return Ok(floats
            .iter()
            .map(|v| match v {
                Some(v) if integer => (v as i64).into(),
                v => v.into(),
            })
            .collect());
    }
    Ok(texts(column)
        .map_err(|e| e.reason)?
        .into_iter()
        .map(|v| v.into())
        .collect())
}

fn csv(df: &DataFrame) -> Result<String, String> {
    let columns = cells(df)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(column_names(df))
        .map_err(|e| e.to_string())?;
    for row in 0..df.height() {
        writer
            .write_record(columns.iter().map(|c| c[row].clone().unwrap_or_default()))
            .map_err(|e| e.to_string())?;
    }
    String::from_utf8(writer.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_multi_line_cells_are_cut_with_an_ellipsis() {
        assert_eq!(shorten("short"), "short");
        assert_eq!(shorten("a\nb"), "a…");
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), CELL_WIDTH);
        assert!(shorten(&long).ends_with('…'));
    }
}
