//! The inventory's one error type, and the [`Place`] a problem points at.
//! Every problem names the file and, when it comes from a place in the file,
//! the line and column (or, in YAML and JSON, the path of keys to the value),
//! so a user can jump straight to it; nothing runs while the inventory has an
//! error.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum InventoryError {
    /// No inventory file was found; `tried` lists each place looked at, in
    /// order, as the user would recognise it (`--inventory x`, `./shoal.toml`).
    #[error(
        "no inventory file found (tried {}); write one or pass --inventory PATH or --inventory-cmd CMD",
        tried.join(", ")
    )]
    NotFound { tried: Vec<String> },

    /// A path the user named (`--inventory PATH`, `$SHOAL_INVENTORY`) does
    /// not exist; shoal never falls back to another inventory then.
    /// `named_by` says where the path came from when not the flag, and
    /// `hint` what to do.
    #[error("inventory file `{}`{named_by} does not exist\n  = hint: {hint}", path.display())]
    Missing {
        path: PathBuf,
        named_by: String,
        hint: String,
    },

    /// `-w NODESET` is malformed, names no host, or (with an inventory)
    /// names hosts the inventory does not have.
    #[error("-w: {message}")]
    Nodes { message: String },

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

    /// A problem with no line in the file: a command-line override, a
    /// default that cannot be worked out on this machine, a value in YAML or
    /// JSON (the message starts with its path of keys), or an inventory
    /// command that failed.
    #[error("inventory {}: {message}", path.display())]
    Unusable { path: PathBuf, message: String },

    /// A problem in an inventory whose format was detected rather than
    /// declared: says which format it was read as and why, since a wrong
    /// guess makes every other message confusing.
    #[error("{error}\n  = note: read as {read_as}")]
    Detected {
        error: Box<InventoryError>,
        /// "an Ansible INI inventory because line 2 is a `[section]` header".
        read_as: String,
    },
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

/// Where in its input a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    /// A byte offset into the text: reported as line and column.
    Offset(usize),
    /// The keys leading to a value in YAML or JSON (`all.vars.ansible_port`),
    /// whose parsers keep no positions once a document has parsed.
    Keys(String),
    /// A place in one of several files read as one inventory (an Ansible
    /// inventory directory): the file, then the place in it.
    In(Arc<File>, Box<Place>),
}

/// An input kept for errors found once it has been merged with others.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct File {
    pub path: PathBuf,
    pub text: String,
}

impl File {
    pub fn source(&self) -> Source<'_> {
        Source {
            path: &self.path,
            text: &self.text,
        }
    }
}

impl Place {
    /// The place of `key` inside the value at `self` (for [`Place::Keys`]);
    /// an offset stays where it is.
    pub fn key(&self, key: &str) -> Place {
        match self {
            Place::Offset(offset) => Place::Offset(*offset),
            Place::Keys(keys) if keys.is_empty() => Place::Keys(key.to_string()),
            Place::Keys(keys) => Place::Keys(format!("{keys}.{key}")),
            Place::In(file, inner) => Place::In(file.clone(), Box::new(inner.key(key))),
        }
    }

    /// The place, in `file`: how a place found while reading `file` alone is
    /// kept once `file` is merged with others.
    pub fn within(self, file: &Arc<File>) -> Place {
        match self {
            Place::In(..) => self,
            other => Place::In(file.clone(), Box::new(other)),
        }
    }
}

/// One input being read: the name errors give and the text they point into.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// An error at byte `offset`.
    pub fn at(&self, offset: usize, message: impl Into<String>) -> InventoryError {
        InventoryError::at(self.path, self.text, offset, message)
    }

    /// An error at `place`.
    pub fn error(&self, place: &Place, message: impl AsRef<str>) -> InventoryError {
        match place {
            Place::Offset(offset) => self.at(*offset, message.as_ref()),
            Place::Keys(keys) if keys.is_empty() => self.unusable(message.as_ref()),
            Place::Keys(keys) => self.unusable(format!("{keys}: {}", message.as_ref())),
            Place::In(file, inner) => file.source().error(inner, message),
        }
    }

    /// An error about the input as a whole.
    pub fn unusable(&self, message: impl Into<String>) -> InventoryError {
        InventoryError::unusable(self.path, message)
    }

    /// A YAML parser's error, at its place when it has one.
    pub fn yaml_error(&self, error: &serde_norway::Error) -> InventoryError {
        let message = error.to_string();
        match error.location() {
            Some(location) => self.at(location.index(), without_position(&message)),
            None => self.unusable(message),
        }
    }

    /// A JSON parser's error, at its line and column.
    pub fn json_error(&self, error: &serde_json::Error) -> InventoryError {
        let message = error.to_string();
        let offset = offset_of(self.text, error.line(), error.column());
        self.at(offset, without_position(&message))
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

/// A YAML or JSON parser's message without the " at line L column C" both
/// append: the error reports its place itself.
fn without_position(message: &str) -> &str {
    message
        .rsplit_once(" at line ")
        .map_or(message, |(message, _)| message)
}

/// The byte offset of 1-based `line` and `column` (in bytes) in `text`,
/// clamped to the text.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = lines(text)
        .nth(line.saturating_sub(1))
        .map_or(text.len(), |(start, _)| start);
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// Each line of `text` without its line break, with the byte offset where it
/// starts, so a problem found in a line can be reported at its column.
pub(super) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |start, line| {
        let at = *start;
        *start += line.len();
        Some((at, line.trim_end_matches(['\n', '\r'])))
    })
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
