//! A command's stdout or stderr, kept up to a cap and then counted but
//! dropped, and turned into text the way `$(...)` would.

/// The most of each stream kept per host. A debugging query compares small
/// answers across many hosts; 1 MiB is far more than a table cell can show,
/// and keeps a runaway `cat` on 1,000 hosts to a few GiB at worst rather
/// than unbounded. Beyond it output is read and discarded, never left unread,
/// so the channel's flow-control window keeps moving and the command ends.
pub const OUTPUT_CAP: usize = 1024 * 1024;

#[derive(Debug)]
pub(crate) struct Bounded {
    kept: Vec<u8>,
    cap: usize,
    dropped: u64,
}

impl Default for Bounded {
    fn default() -> Self {
        Bounded::with_cap(OUTPUT_CAP)
    }
}

impl Bounded {
    pub fn with_cap(cap: usize) -> Bounded {
        Bounded {
            kept: Vec::new(),
            cap,
            dropped: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        let room = self.cap.saturating_sub(self.kept.len());
        let (keep, drop) = data.split_at(room.min(data.len()));
        self.kept.extend_from_slice(keep);
        self.dropped += drop.len() as u64;
    }

    /// What was kept, byte for byte, and how much was dropped.
    #[cfg(any(test, fuzzing))]
    pub fn parts(&self) -> (&[u8], u64) {
        (&self.kept, self.dropped)
    }

    /// The text, without trailing newlines as `$(...)` removes them, and
    /// with each byte that is not valid UTF-8 written `\xNN` (as Python's
    /// `backslashreplace` does), so it is seen rather than rejected or lost. The second value is
    /// a note for the `error` column when output was cut, naming `stream`.
    pub fn finish(mut self, stream: &str) -> (String, Option<String>) {
        let end = self
            .kept
            .iter()
            .rposition(|&b| b != b'\n')
            .map_or(0, |i| i + 1);
        self.kept.truncate(end);
        let note = (self.dropped > 0).then(|| {
            format!(
                "{stream} truncated at {} ({} discarded)",
                size(self.cap),
                bytes(self.dropped)
            )
        });
        let text = match String::from_utf8(self.kept) {
            Ok(text) => text,
            Err(e) => backslash_replace(e.as_bytes()),
        };
        (text, note)
    }
}

/// `bytes` as text, each byte of an invalid UTF-8 sequence written `\xNN`.
fn backslash_replace(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(error) => {
                let (valid, rest) = bytes.split_at(error.valid_up_to());
                out.push_str(std::str::from_utf8(valid).expect("checked valid"));
                // A sequence cut off at the end is `None`: every byte left.
                let bad = error.error_len().unwrap_or(rest.len());
                for byte in &rest[..bad] {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

/// `1 MiB`, `64 KiB` or `100 bytes`: the cap as a person would write it.
fn size(count: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    match count {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => bytes(b as u64),
    }
}

fn bytes(count: u64) -> String {
    match count {
        1 => "1 byte".to_string(),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_newlines_go_like_command_substitution() {
        let mut out = Bounded::default();
        out.push(b"a\n\nb\n\n\n");
        assert_eq!(out.finish("stdout"), ("a\n\nb".to_string(), None));

        let mut out = Bounded::default();
        out.push(b"\n\n");
        assert_eq!(out.finish("stdout"), (String::new(), None));

        // Only newlines: `$(...)` keeps a trailing space or carriage return.
        let mut out = Bounded::default();
        out.push(b"a \r\n");
        assert_eq!(out.finish("stdout").0, "a \r");
    }

    #[test]
    fn output_beyond_the_cap_is_counted_and_noted() {
        let mut out = Bounded::with_cap(4);
        out.push(b"ab");
        out.push(b"cdef");
        out.push(b"ghi");
        assert_eq!(
            out.finish("stderr"),
            (
                "abcd".to_string(),
                Some("stderr truncated at 4 bytes (5 bytes discarded)".to_string())
            )
        );
    }

    #[test]
    fn the_default_cap_is_one_mebibyte() {
        let mut out = Bounded::default();
        out.push(&vec![b'x'; OUTPUT_CAP + 10]);
        let (text, note) = out.finish("stdout");
        assert_eq!(text.len(), OUTPUT_CAP);
        assert_eq!(
            note.as_deref(),
            Some("stdout truncated at 1 MiB (10 bytes discarded)")
        );
    }

    #[test]
    fn invalid_utf8_is_written_as_escapes_not_rejected_or_dropped() {
        let mut out = Bounded::default();
        out.push(b"ok \xff\xfe end, caf\xc3\xa9, cut \xe2\x82\n");
        assert_eq!(
            out.finish("stdout").0,
            "ok \\xff\\xfe end, caf\u{e9}, cut \\xe2\\x82"
        );
    }
}
