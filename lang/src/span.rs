//! Byte spans into the query text, and their `line:col` form for messages.

use serde::{Serialize, Serializer};

/// A half-open byte range `start..end` into the source text.
///
/// It serialises as the string `"start..end"` so AST snapshots stay short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// 1-based line and column (in characters) of `start` within `source`.
    pub fn line_col(self, source: &str) -> (usize, usize) {
        let start = floor_char_boundary(source, self.start);
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = source[line_start..start].chars().count() + 1;
        (line, col)
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(span: pest::Span<'_>) -> Self {
        Span::new(span.start(), span.end())
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{}..{}", self.start, self.end))
    }
}

/// Clamps a byte offset to the source and back to a char boundary, so a span
/// from anywhere can never make rendering panic.
pub(crate) fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        let source = "hosts |\n  filtér x=1";
        assert_eq!(Span::new(0, 1).line_col(source), (1, 1));
        assert_eq!(Span::new(10, 11).line_col(source), (2, 3));
        // Offsets past the end or inside a character clamp instead of panicking.
        assert_eq!(Span::new(99, 100).line_col(source), (2, 13));
        assert_eq!(Span::new(15, 16).line_col(source).0, 2);
    }
}
