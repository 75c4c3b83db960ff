//! The inventory's one error type. Every problem names the file and, when it
//! comes from a place in the file, the line and column, so a user can jump
//! straight to it; nothing runs while the inventory has an error.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum InventoryError {
    /// No inventory file was found; `tried` lists each place looked at, in
    /// order, as the user would recognise it (`--inventory x`, `./shoal.toml`).
    #[error(
        "no inventory file found (tried {}); write one or pass --inventory PATH",
        tried.join(", ")
    )]
    NotFound { tried: Vec<String> },

    /// The file exists (or was named) but could not be read.
    #[error("inventory {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A problem at a place in the file. `line` and `column` count from 1.
    #[error("inventory {}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A problem with no place in the file: a command-line override, or a
    /// default that cannot be worked out on this machine.
    #[error("inventory {}: {message}", path.display())]
    Unusable { path: PathBuf, message: String },
}

impl InventoryError {
    /// An [`InventoryError::Invalid`] at byte `offset` of `text`.
    pub(super) fn at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        InventoryError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    pub(super) fn unusable(path: &Path, message: impl Into<String>) -> Self {
        InventoryError::Unusable {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
/// An offset past the end, or inside a character, is clamped rather than
/// trusted: a wrong column is better than a panic while reporting an error.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbb = \"é2\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // The column counts characters, not bytes: `2` follows a two-byte `é`.
        assert_eq!(line_column(text, text.find('2').unwrap()), (2, 8));
    }

    #[test]
    fn line_column_clamps_bad_offsets() {
        assert_eq!(line_column("ab\n", 99), (2, 1));
        assert_eq!(line_column("é", 1), (1, 1));
    }
}
