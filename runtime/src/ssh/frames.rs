//! The persistent shell's framing, read back (remote.rs writes it): where
//! each command's output starts and ends on the shell's stdout and stderr,
//! and its exit status. No I/O here, so the fuzz target (fuzz/) builds this
//! file on its own.
//!
//! Each command first prints its start line (`<marker> go`) on stdout, then
//! its output, then `\n<marker> <status>\n` on stdout and `\n<marker>\n`
//! on stderr. The marker is new for every command, 128 bits from the OS's
//! random number generator, and only the current one is looked for, at the
//! start of a line: output cannot end a frame early, even output that holds
//! an earlier marker. The newline before the marker is always written and
//! exactly that one is removed, so output without a final newline comes back
//! byte for byte. Only a marker's length of output is held back at a time,
//! so the output cap applies as before and the marker is still found after
//! it. What arrives past a command's frames is the next command's of the same
//! line ([`Carry`]); stdout before a start line is stray output of something
//! an earlier command left in the background, and is dropped.

use super::output::Bounded;

/// What a persistent shell prints on stdout before it begins a command:
/// a shell lost before this line arrived never ran the command. remote.rs
/// writes it with `printf '%s go\n'`.
pub(crate) fn start_line(marker: &str) -> String {
    format!("{marker} go\n")
}

/// The longest the rest of a marker's line may be: ` 4294967295` (the
/// largest exit status SSH can carry) is 11 bytes on stdout, and nothing
/// follows the marker on stderr.
const MAX_REST: usize = 16;

/// Output read past the end of a command's frames: the start of the next
/// command's, on the same line. Whatever is left after the last command is
/// no command's and is dropped.
#[derive(Default)]
pub(crate) struct Carry {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// A command's marker: `shoal-` and 32 hex digits, fresh for every command
/// (shell.rs makes them).
pub(crate) struct Marker(pub(crate) String);

/// A frame's line was not what remote.rs writes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Garbled;

/// One command's stdout and stderr frames.
pub(crate) struct Frames {
    stdout: Frame,
    stderr: Frame,
    start: Start,
    /// Stdout has gone past the start line: the command's output (or, for
    /// a command that prints nothing, its end frame) has begun to arrive.
    output_begun: bool,
}

/// Whether the shell has begun the command: it prints the command's start
/// line (remote.rs) on stdout first.
enum Start {
    /// Not yet: the stdout read so far that could still end in the start
    /// line. Anything before it is stray output of an earlier command's
    /// background process, not this command's.
    Awaiting {
        line: Vec<u8>,
        held: Vec<u8>,
    },
    Started,
}

impl Frames {
    /// Frames with no start line to wait for (the probe of a new shell).
    pub(crate) fn new(marker: &Marker) -> Frames {
        Frames {
            stdout: Frame::new(marker),
            stderr: Frame::new(marker),
            start: Start::Started,
            output_begun: false,
        }
    }

    /// Frames of a command, whose output begins after its start line.
    pub(crate) fn awaiting_start(marker: &Marker) -> Frames {
        Frames {
            start: Start::Awaiting {
                line: start_line(&marker.0).into_bytes(),
                held: Vec::new(),
            },
            ..Frames::new(marker)
        }
    }

    /// Starts with what the command before left in `carry`: output that
    /// arrived with the end of its frames.
    pub(crate) fn resume(&mut self, stdout: &mut Bounded, stderr: &mut Bounded, carry: &mut Carry) {
        let held_stdout = std::mem::take(&mut carry.stdout);
        let held_stderr = std::mem::take(&mut carry.stderr);
        self.push_stdout(&held_stdout, stdout, carry);
        self.push_stderr(&held_stderr, stderr, carry);
    }

    /// Whether stdout has gone past the start line: the command's output
    /// (or, for a command that prints nothing, its end frame) has begun to
    /// arrive.
    pub(crate) fn output_begun(&self) -> bool {
        self.output_begun
    }

    pub(crate) fn started(&self) -> bool {
        matches!(self.start, Start::Started)
    }

    /// Stdout data: the command's output once its start line has passed;
    /// what comes after its frame goes to `carry`.
    pub(crate) fn push_stdout(&mut self, data: &[u8], out: &mut Bounded, carry: &mut Carry) {
        let past = &mut carry.stdout;
        let Start::Awaiting { line, held } = &mut self.start else {
            self.output_begun |= !data.is_empty();
            self.stdout.push(data, out, past);
            return;
        };
        held.extend_from_slice(data);
        match held.windows(line.len()).position(|w| w == line.as_slice()) {
            Some(at) => {
                let rest = held.split_off(at + line.len());
                self.start = Start::Started;
                self.output_begun |= !rest.is_empty();
                self.stdout.push(&rest, out, past);
            }
            None => {
                // Only a tail shorter than the line can still be its start.
                let keep = held.len().min(line.len() - 1);
                held.drain(..held.len() - keep);
            }
        }
    }

    /// The exit status once both frames have ended.
    pub(crate) fn status(&self) -> Option<Result<u32, Garbled>> {
        let (State::Ended(stdout), State::Ended(stderr)) = (&self.stdout.state, &self.stderr.state)
        else {
            return self.stdout.garbled().or(self.stderr.garbled());
        };
        let status = stdout
            .strip_prefix(b" ")
            .filter(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse().ok());
        Some(match status {
            Some(status) if stderr.is_empty() => Ok(status),
            _ => Err(Garbled),
        })
    }

    /// Stderr data: the command's; what comes after its frame goes to
    /// `carry`.
    pub(crate) fn push_stderr(&mut self, data: &[u8], out: &mut Bounded, carry: &mut Carry) {
        self.stderr.push(data, out, &mut carry.stderr);
    }

    /// Passes on the output still held back.
    pub(crate) fn flush(&mut self, stdout: &mut Bounded, stderr: &mut Bounded) {
        self.stdout.flush(stdout);
        self.stderr.flush(stderr);
    }

    /// Whether each stream's frame has ended (or is garbled): stdout's,
    /// stderr's.
    #[cfg(test)]
    pub(crate) fn ended(&self) -> (bool, bool) {
        let ended = |frame: &Frame| matches!(frame.state, State::Ended(_) | State::Garbled);
        (ended(&self.stdout), ended(&self.stderr))
    }
}

/// Where one stream is in its frame.
#[derive(Debug, PartialEq, Eq)]
enum State {
    /// The command's output. The bytes held could be the start of the
    /// marker, so they are passed on only once more output shows they are
    /// not.
    Output(Vec<u8>),
    /// The marker was seen; the rest of its line so far.
    Marker(Vec<u8>),
    /// The marker's line ended: what followed the marker on it.
    Ended(Vec<u8>),
    /// The marker's line was longer than any shoal writes.
    Garbled,
}

/// One stream of one command, up to the end of its frame.
struct Frame {
    /// A newline and the marker: where the frame's end starts.
    end: Vec<u8>,
    state: State,
}

impl Frame {
    fn new(marker: &Marker) -> Frame {
        Frame {
            end: [b"\n", marker.0.as_bytes()].concat(),
            state: State::Output(Vec::new()),
        }
    }

    /// Passes the command's output in `data` to `out`, and reads the end of
    /// the frame. Anything after the frame is not the command's and goes to
    /// `past`.
    fn push(&mut self, data: &[u8], out: &mut Bounded, past: &mut Vec<u8>) {
        match &mut self.state {
            State::Output(held) => {
                held.extend_from_slice(data);
                if let Some(at) = find(held, &self.end) {
                    out.push(&held[..at]);
                    let rest = held.split_off(at + self.end.len());
                    self.state = State::Marker(Vec::new());
                    self.push(&rest, out, past);
                } else {
                    let pass = held.len() - held.len().min(self.end.len() - 1);
                    out.push(&held[..pass]);
                    held.drain(..pass);
                }
            }
            State::Marker(line) => {
                let (rest, after) = match data.iter().position(|&b| b == b'\n') {
                    Some(newline) => (&data[..newline], Some(&data[newline + 1..])),
                    None => (data, None),
                };
                line.extend_from_slice(rest);
                if line.len() > MAX_REST {
                    self.state = State::Garbled;
                } else if let Some(after) = after {
                    self.state = State::Ended(std::mem::take(line));
                    past.extend_from_slice(after);
                }
            }
            State::Ended(_) => past.extend_from_slice(data),
            State::Garbled => {}
        }
    }

    fn garbled(&self) -> Option<Result<u32, Garbled>> {
        (self.state == State::Garbled).then_some(Err(Garbled))
    }

    fn flush(&mut self, out: &mut Bounded) {
        if let State::Output(held) = &mut self.state {
            out.push(held);
            held.clear();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The decoder on its own, for the fuzz target (fuzz/) and the tests: the
/// commands of one batch, framed by `markers`, read from `chunks` of the
/// shell's output in the order they arrive, each `(true, bytes)` on stdout
/// or `(false, bytes)` on stderr, as shell.rs reads them from the channel.
/// Returns each command that ended: its stdout and stderr as kept under
/// `cap`, and its exit status (`None` where its frames were garbled).
#[cfg(any(test, fuzzing))]
pub fn decode_batch(
    markers: &[String],
    chunks: &[(bool, Vec<u8>)],
    cap: usize,
) -> Vec<(Vec<u8>, Vec<u8>, Option<u32>)> {
    let mut decoded = Vec::new();
    let mut carry = Carry::default();
    let mut chunks = chunks.iter();
    for marker in markers {
        let mut frames = Frames::awaiting_start(&Marker(marker.clone()));
        let (mut stdout, mut stderr) = (Bounded::with_cap(cap), Bounded::with_cap(cap));
        frames.resume(&mut stdout, &mut stderr, &mut carry);
        let status = loop {
            if let Some(status) = frames.status() {
                break status;
            }
            let Some((on_stdout, data)) = chunks.next() else {
                return decoded;
            };
            if *on_stdout {
                frames.push_stdout(data, &mut stdout, &mut carry);
            } else {
                frames.push_stderr(data, &mut stderr, &mut carry);
            }
        };
        decoded.push((
            stdout.parts().0.to_vec(),
            stderr.parts().0.to_vec(),
            status.ok(),
        ));
    }
    decoded
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::super::output::OUTPUT_CAP;
    use super::*;

    /// A marker of the real form, different each call.
    fn marker() -> Marker {
        static NEXT: AtomicU64 = AtomicU64::new(0x5eed);
        Marker(format!(
            "shoal-{:032x}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// `data` pushed through a frame in pieces of `step` bytes: the output
    /// passed on, and the state after.
    fn framed(marker: &Marker, data: &[u8], step: usize, cap: usize) -> (Vec<u8>, State, u64) {
        let mut frame = Frame::new(marker);
        let mut out = Bounded::with_cap(cap);
        for piece in data.chunks(step) {
            frame.push(piece, &mut out, &mut Vec::new());
            if let State::Output(held) = &frame.state {
                assert!(
                    held.len() < frame.end.len(),
                    "holds back no more than it must"
                );
            }
        }
        let (kept, dropped) = out.parts();
        (kept.to_vec(), frame.state, dropped)
    }

    #[test]
    fn output_comes_back_byte_for_byte_in_any_pieces() {
        let m = marker();
        for output in [
            &b""[..],
            b"no newline",
            b"one\n",
            b"a\n\nb\n\n",
            b"\n",
            b"x \r",
        ] {
            let stream = [output, b"\n", m.0.as_bytes(), b" 3\n"].concat();
            for step in [1, 2, 7, stream.len()] {
                let (kept, state, _) = framed(&m, &stream, step, OUTPUT_CAP);
                assert_eq!(kept, output, "step {step}");
                assert_eq!(state, State::Ended(b" 3".to_vec()), "step {step}");
            }
        }
    }

    #[test]
    fn only_the_current_marker_ends_a_frame() {
        let (old, current) = (marker(), marker());
        let output = [
            b"\n",
            old.0.as_bytes(),
            b" 0\n",
            b"x",
            current.0.as_bytes(),
            b" 0\n",
        ]
        .concat();
        let stream = [&output[..], b"\n", current.0.as_bytes(), b"\n"].concat();
        let (kept, state, _) = framed(&current, &stream, 5, OUTPUT_CAP);
        assert_eq!(kept, output, "a marker not at a line's start is output too");
        assert_eq!(state, State::Ended(Vec::new()));
    }

    #[test]
    fn the_frame_ends_after_the_cap_and_drops_what_follows() {
        let m = marker();
        let big = vec![b'y'; 10_000];
        let stream = [&big[..], b"\n", m.0.as_bytes(), b" 0\nlate output\n"].concat();
        let (kept, state, dropped) = framed(&m, &stream, 4096, 100);
        assert_eq!((kept.len(), dropped), (100, 9_900));
        assert_eq!(state, State::Ended(b" 0".to_vec()));
    }

    #[test]
    fn statuses_are_read_and_garbled_lines_refused() {
        let m = marker();
        let frames = |stdout: &[u8], stderr: &[u8]| {
            let mut frames = Frames::new(&m);
            let mut out = Bounded::default();
            frames.stdout.push(stdout, &mut out, &mut Vec::new());
            frames.stderr.push(stderr, &mut out, &mut Vec::new());
            frames.status()
        };
        let end = |rest: &str| format!("\n{}{rest}", m.0).into_bytes();
        assert_eq!(frames(&end(" 0\n"), &end("\n")), Some(Ok(0)));
        assert_eq!(frames(&end(" 255\n"), &end("\n")), Some(Ok(255)));
        assert_eq!(frames(&end(" 0\n"), b"no end yet"), None);
        assert_eq!(frames(&end(" 0"), &end("\n")), None, "the line goes on");
        for bad in [" x\n", " \n", "0\n", " -1\n", " 99999999999\n"] {
            assert_eq!(frames(&end(bad), &end("\n")), Some(Err(Garbled)), "{bad:?}");
        }
        assert_eq!(frames(&end(" 0\n"), &end(" 0\n")), Some(Err(Garbled)));
        let endless = end(&" ".repeat(MAX_REST + 1));
        assert_eq!(frames(&endless, b""), Some(Err(Garbled)));
    }

    #[test]
    fn output_before_the_start_line_is_not_the_commands_and_a_split_line_is_found() {
        let m = marker();
        let line = start_line(&m.0);
        let stream = format!("stray from the background\n{line}out");
        // Cut the stream at every byte: the start line is found across reads.
        for cut in 0..stream.len() {
            let mut frames = Frames::awaiting_start(&m);
            let (mut stdout, mut stderr) = (Bounded::default(), Bounded::default());
            frames.push_stdout(
                &stream.as_bytes()[..cut],
                &mut stdout,
                &mut Carry::default(),
            );
            frames.push_stdout(
                &stream.as_bytes()[cut..],
                &mut stdout,
                &mut Carry::default(),
            );
            assert!(frames.started(), "cut at {cut}");
            frames.flush(&mut stdout, &mut stderr);
            assert_eq!(stdout.parts().0, b"out", "cut at {cut}");
        }
        let mut frames = Frames::awaiting_start(&m);
        frames.push_stdout(
            b"nothing yet",
            &mut Bounded::default(),
            &mut Carry::default(),
        );
        assert!(!frames.started());
    }

    /// The stream a shell writes for one batch: each command's start line,
    /// output and frames, on stdout and on stderr.
    fn batch_streams(markers: &[String], outputs: &[(&[u8], &[u8], u32)]) -> (Vec<u8>, Vec<u8>) {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        for (marker, (out, err, status)) in markers.iter().zip(outputs) {
            stdout.extend_from_slice(start_line(marker).as_bytes());
            stdout.extend_from_slice(out);
            stdout.extend_from_slice(format!("\n{marker} {status}\n").as_bytes());
            stderr.extend_from_slice(err);
            stderr.extend_from_slice(format!("\n{marker}\n").as_bytes());
        }
        (stdout, stderr)
    }

    #[test]
    fn a_batch_splits_back_per_command_however_its_streams_arrive() {
        let markers: Vec<String> = (0..3).map(|_| marker().0).collect();
        let outputs: [(&[u8], &[u8], u32); 3] = [
            (b"one\nno newline", b"", 0),
            (b"", b"err only\n", 3),
            (b"y".repeat(300).leak(), b"late", 0),
        ];
        let (stdout, stderr) = batch_streams(&markers, &outputs);
        let expected: Vec<(Vec<u8>, Vec<u8>, Option<u32>)> = outputs
            .iter()
            .map(|(out, err, status)| {
                (
                    out[..out.len().min(100)].to_vec(),
                    err.to_vec(),
                    Some(*status),
                )
            })
            .collect();
        // Every chunk size, each stream's chunks interleaved with the other's
        // in either order: the carry hands each command's start to the next.
        for step in [1, 2, 3, 5, 64, 4096] {
            for stderr_first in [false, true] {
                let mut chunks: Vec<(bool, Vec<u8>)> = Vec::new();
                let (out_chunks, err_chunks) = (stdout.chunks(step), stderr.chunks(step));
                let mut err_chunks = err_chunks.peekable();
                for out in out_chunks {
                    if stderr_first && let Some(err) = err_chunks.next() {
                        chunks.push((false, err.to_vec()));
                    }
                    chunks.push((true, out.to_vec()));
                    if !stderr_first && let Some(err) = err_chunks.next() {
                        chunks.push((false, err.to_vec()));
                    }
                }
                chunks.extend(err_chunks.map(|err| (false, err.to_vec())));
                assert_eq!(
                    decode_batch(&markers, &chunks, 100),
                    expected,
                    "step {step}, stderr first {stderr_first}"
                );
            }
        }
    }
}
