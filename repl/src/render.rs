//! Turns result frames into what the user reads: an aligned table for a
//! terminal, or JSON Lines and CSV for scripts.
//!
//! Text from hosts never drives the terminal: every control character in
//! it goes through [`visible`] (or [`visible_line`]) on its way to a table,
//! an error message, a progress line or CSV on a terminal, and comes out as
//! an escape such as `\e`, `\r` or `\x07`.

use std::borrow::Cow;
use std::fmt::Write as _;

use polars::prelude::*;
use shoal_stdlib::frame::{column_names, texts};
use tabled::builder::Builder;
use tabled::settings::object::Cell;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::{Color, Style, Width};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Output formats of `--format` and `:set format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Table, Format::Json, Format::Csv]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// How one result is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub format: Format,
    /// Table cells whole: every line, however long, and no fitting to a width.
    pub full: bool,
    /// The widest a table may be, in columns; `None` for no limit.
    pub width: Option<usize>,
    /// ANSI colour for the `status` column.
    pub color: bool,
    /// stdout is a terminal: CSV shows control characters as escapes there,
    /// and keeps the bytes exact for a file or a pipe.
    pub terminal: bool,
}

/// Longest a table line may be before it is cut with `…`, on a terminal or
/// not: a long output (a `cat` of a config file) would otherwise push every
/// other column off the screen. `--full` and `:set full` show cells whole.
pub const CELL_WIDTH: usize = 60;

/// Most lines a table cell shows; a line `… N more lines` says what is left.
pub const CELL_LINES: usize = 10;

/// Tab stops, for the tabs inside a table cell.
const TAB: usize = 8;

/// gather's column of host names (`web[01-06,09]`): wrapped, never cut.
const HOST_LIST_COLUMN: &str = "hosts";

pub fn render(df: &DataFrame, look: &Look) -> Result<String, String> {
    match look.format {
        Format::Table => table(df, look),
        Format::Json => json(df),
        Format::Csv => csv(df, look.terminal),
    }
}

/// `text` as it may reach a terminal: every control character shown as an
/// escape, so nothing a host prints can move the cursor, clear the screen,
/// set the title or the clipboard, or overwrite a row.
///
/// - ESC is `\e`, CR `\r`, other C0 controls and DEL `\xNN` (BEL `\x07`,
///   backspace `\x08`), C1 controls (U+0080–U+009F) `\u{NN}`, and the
///   bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069,
///   U+200E, U+200F, U+061C), which reorder what a line appears to say,
///   `\u{NNNN}`.
/// - Newlines stay line breaks; tabs become spaces up to the next multiple
///   of 8 columns, as `expand` does.
/// - Bytes that are not UTF-8 arrive already written `\xNN` (the runtime
///   reads host output so); a `�` the host printed is shown as it is.
pub fn visible(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// [`visible`] for one line (a header, a progress or warning line): a
/// newline is `\n` too.
pub fn visible_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

fn needs_escape(c: char, keep_newlines: bool) -> bool {
    (c.is_control() && !(keep_newlines && c == '\n')) || is_bidi_control(c)
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c, keep_newlines)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    // Display columns since the last line break, for tab stops.
    let mut column = 0;
    for c in text.chars() {
        let start = out.len();
        match c {
            '\n' if keep_newlines => {
                out.push('\n');
                column = 0;
                continue;
            }
            '\t' => {
                let spaces = TAB - column % TAB;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
                continue;
            }
            '\x1b' => out.push_str("\\e"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() || is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => {
                out.push(c);
                column += c.width().unwrap_or(0);
                continue;
            }
        }
        // An escape is plain ASCII: one column a byte.
        column += out.len() - start;
    }
    Cow::Owned(out)
}

/// A query error as the command line prints it: [`shoal_lang::Error::render`],
/// with its reason and hints (which may quote values from hosts) made
/// [`visible`]. A query whose own text holds control characters is printed
/// without colour and escaped whole.
pub fn render_error(error: &shoal_lang::Error, source: &str, color: bool) -> String {
    render_error_in(error, None, source, color)
}

/// [`render_error`] for text read from `file` (a script, a check), which
/// the location line names.
pub fn render_error_in(
    error: &shoal_lang::Error,
    file: Option<&str>,
    source: &str,
    color: bool,
) -> String {
    let render = |error: &shoal_lang::Error, color| match file {
        Some(file) => error.render_file(file, source, color),
        None => error.render(source, color),
    };
    let shown = shoal_lang::Error {
        reason: visible(&error.reason).into_owned(),
        span: error.span,
        hints: error
            .hints
            .iter()
            .map(|h| visible(h).into_owned())
            .collect(),
        kind: error.kind,
    };
    // Tabs are harmless, and expanding them would move the caret.
    if source.chars().any(|c| c != '\t' && needs_escape(c, true)) {
        visible(&render(&shown, false)).into_owned()
    } else {
        render(&shown, color)
    }
}

fn cells(df: &DataFrame) -> Result<Vec<Vec<Option<String>>>, String> {
    df.columns()
        .iter()
        .map(|c| texts(c).map_err(|e| e.reason))
        .collect()
}

fn table(df: &DataFrame, look: &Look) -> Result<String, String> {
    let names: Vec<String> = column_names(df)
        .iter()
        .map(|n| visible_line(n).into_owned())
        .collect();
    if names.is_empty() {
        return Ok(format!("{} no columns\n", rows_noun(df.height())));
    }
    let columns = cells(df)?;
    let status_column = names.iter().position(|n| n == "status");
    let host_list_column = names.iter().position(|n| n == HOST_LIST_COLUMN);
    let mut builder = Builder::default();
    builder.push_record(names);
    for row in 0..df.height() {
        builder.push_record(columns.iter().enumerate().map(|(i, c)| {
            let text = visible(c[row].as_deref().unwrap_or_default());
            if look.full {
                text.into_owned()
            } else if Some(i) == host_list_column {
                wrap_list(&text, CELL_WIDTH)
            } else {
                shorten(&text)
            }
        }));
    }
    let mut table = builder.build();
    if df.height() == 0 {
        // The line under the header would be drawn where the bottom border
        // goes, leaving the table open.
        table.with(Style::sharp().remove_horizontals());
    } else {
        table.with(Style::sharp());
    }
    // The colour goes around the cell's text when it is drawn, so widths are
    // measured on the visible text alone.
    if let (true, Some(column)) = (look.color, status_column) {
        for (row, status) in columns[column].iter().enumerate() {
            if let Some(color) = status.as_deref().and_then(status_color) {
                table.modify(Cell::new(row + 1, column), color);
            }
        }
    }
    // The widest columns give way first so the table fits; each line cut
    // ends in `…`.
    if let (false, Some(width)) = (look.full, look.width) {
        table.with(
            Width::truncate(width)
                .suffix("…")
                .multiline(true)
                .priority(PriorityMax::default()),
        );
    }
    let mut out = format!("{table}\n");
    if df.height() == 0 {
        out.push_str("0 rows\n");
    }
    Ok(out)
}

fn rows_noun(n: usize) -> String {
    format!("{n} {}", if n == 1 { "row," } else { "rows," })
}

/// Green for ok, yellow for a command that ran and failed, red for a host
/// that never ran it; for a check (`shoal check`), green for pass, red for
/// fail and error, yellow for unknown. Anything else keeps the terminal's
/// colour.
fn status_color(status: &str) -> Option<Color> {
    match status {
        "ok" | "pass" => Some(Color::FG_GREEN),
        "failed" | "timeout" | "cancelled" | "unknown" => Some(Color::FG_YELLOW),
        "unreachable" | "auth_failed" | "hostkey_unknown" | "hostkey_mismatch" | "error"
        | "fail" => Some(Color::FG_RED),
        _ => None,
    }
}

/// At most [`CELL_LINES`] lines of at most [`CELL_WIDTH`] columns: a line
/// cut ends in `…`, and lines left out are counted in a last line
/// `… N more lines`.
fn shorten(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let shown = lines.len().min(CELL_LINES);
    let mut out = String::with_capacity(text.len().min(CELL_LINES * (CELL_WIDTH + 4)));
    for (i, line) in lines[..shown].iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&cut(line, CELL_WIDTH));
    }
    if lines.len() > shown {
        let _ = write!(out, "\n… {} more lines", lines.len() - shown);
    }
    out
}

/// `line` in at most `width` columns, ending in `…` when cut.
fn cut(line: &str, width: usize) -> Cow<'_, str> {
    if line.width() <= width {
        return Cow::Borrowed(line);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// A comma-separated list (a nodeset: `db[01-02],web[01,03]`) broken after
/// commas outside brackets so that lines fit `width` where they can; no
/// part is ever dropped.
fn wrap_list(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut current = 0;
        for piece in top_level_pieces(line) {
            let w = piece.width();
            if current > 0 && current + w > width {
                out.push('\n');
                current = 0;
            }
            out.push_str(piece);
            current += w;
        }
    }
    out
}

/// `a,b[1,2],c` as `a,`, `b[1,2],`, `c`.
fn top_level_pieces(line: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in line.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                pieces.push(&line[start..=i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < line.len() || pieces.is_empty() {
        pieces.push(&line[start..]);
    }
    pieces
}

/// JSON Lines: the whole result on one line, an array of row objects whose
/// keys follow the columns' order.
fn json(df: &DataFrame) -> Result<String, String> {
    let keys: Vec<String> = column_names(df)
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let columns: Vec<Vec<serde_json::Value>> = df
        .columns()
        .iter()
        .map(json_values)
        .collect::<Result<_, _>>()?;
    let mut out = String::from("[");
    for row in 0..df.height() {
        if row > 0 {
            out.push(',');
        }
        out.push('{');
        for (i, (key, values)) in keys.iter().zip(&columns).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            out.push_str(&serde_json::to_string(&values[row]).map_err(|e| e.to_string())?);
        }
        out.push('}');
    }
    out.push(']');
    Ok(json_escape_invisible(out) + "\n")
}

/// serde_json escapes C0 controls; this escapes the rest that a terminal
/// could act on or that reorder text (DEL, C1, bidirectional controls) and
/// the line separators JavaScript rejects, as `\uNNNN`. They can only stand
/// inside JSON strings, where the escape means the same character, so the
/// text still decodes to exactly the same values.
fn json_escape_invisible(text: String) -> String {
    let special =
        |c: char| c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}');
    // serde_json has already escaped C0 controls (newlines included).
    if !text.chars().any(special) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if special(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
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

/// One CSV block: a header row, then the rows. On a terminal, control
/// characters are shown as escapes ([`visible`]); to a file or a pipe the
/// text is exact.
fn csv(df: &DataFrame, terminal: bool) -> Result<String, String> {
    let show = |text: &str| -> String {
        if terminal {
            visible(text).into_owned()
        } else {
            text.to_string()
        }
    };
    let columns = cells(df)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(column_names(df).iter().map(|n| show(n)))
        .map_err(|e| e.to_string())?;
    for row in 0..df.height() {
        writer
            .write_record(
                columns
                    .iter()
                    .map(|c| show(c[row].as_deref().unwrap_or_default())),
            )
            .map_err(|e| e.to_string())?;
    }
    String::from_utf8(writer.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
