//! Fuzzes the persistent shell's framing decoder (runtime/src/ssh/frames.rs), built here on
//! its own with output.rs, so that a fuzzing build does not compile the rest of shoal.
//!
//! The input picks up to four commands' stdout and stderr, the exit statuses, how the
//! streams are cut into chunks and interleaved, and garbage to append. Checked:
//! - nothing panics, whatever arrives;
//! - what a command kept is within the cap;
//! - on a well-formed stream (outputs that do not hold their own marker, which real markers,
//!   128 random bits, make impossible), every command comes back exactly: its output up to
//!   the cap, and its status, however the chunks fell.

#![no_main]

use libfuzzer_sys::fuzz_target;

// At the crate root, as in runtime/src/ssh/, so that frames.rs's `super::output` is output.rs.
#[allow(dead_code)]
#[path = "../../runtime/src/ssh/output.rs"]
mod output;

#[allow(dead_code)]
#[path = "../../runtime/src/ssh/frames.rs"]
mod frames;

use frames::{decode_batch, start_line};

/// The cap each stream is decoded under: small, so the fuzzer reaches it.
const CAP: usize = 64;

/// Takes `n` bytes from the front of `input` (fewer if it runs out).
fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = input.split_at(n.min(input.len()));
    *input = rest;
    head
}

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let Some(&shape) = take(&mut input, 1).first() else {
        return;
    };
    let commands = usize::from(shape % 4) + 1;
    let step = usize::from(shape / 4 % 16) + 1;
    let markers: Vec<String> = (0..commands)
        .map(|i| format!("shoal-{:032x}", 0xf00d + i))
        .collect();
    let mut outputs = Vec::new();
    for marker in &markers {
        let lengths = take(&mut input, 3);
        let out = take(&mut input, usize::from(*lengths.first().unwrap_or(&0) % 200));
        let err = take(&mut input, usize::from(*lengths.get(1).unwrap_or(&0) % 100));
        let status = u32::from(*lengths.get(2).unwrap_or(&0));
        let end = format!("\n{marker}");
        let holds_marker = |text: &[u8]| {
            text.windows(end.len()).any(|w| w == end.as_bytes())
                || text.starts_with(marker.as_bytes())
        };
        outputs.push((out, err, status, holds_marker(out) || holds_marker(err)));
    }
    let garbage = input;

    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    for (marker, (out, err, status, _)) in markers.iter().zip(&outputs) {
        stdout.extend_from_slice(start_line(marker).as_bytes());
        stdout.extend_from_slice(out);
        stdout.extend_from_slice(format!("\n{marker} {status}\n").as_bytes());
        stderr.extend_from_slice(err);
        stderr.extend_from_slice(format!("\n{marker}\n").as_bytes());
    }
    stdout.extend_from_slice(garbage);
    let mut chunks: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut err_chunks = stderr.chunks(step + shape as usize % 3);
    for out in stdout.chunks(step) {
        chunks.push((true, out.to_vec()));
        if let Some(err) = err_chunks.next() {
            chunks.push((false, err.to_vec()));
        }
    }
    chunks.extend(err_chunks.map(|err| (false, err.to_vec())));

    let decoded = decode_batch(&markers, &chunks, CAP);
    for (out, err, _) in &decoded {
        assert!(out.len() <= CAP && err.len() <= CAP);
    }
    // Well formed up to the first output that holds its own marker: exact.
    let clean = outputs.iter().take_while(|o| !o.3).count();
    for (index, (out, err, status, _)) in outputs.iter().take(clean).enumerate() {
        let got = &decoded[index];
        assert_eq!(got.0, out[..out.len().min(CAP)], "stdout of command {index}");
        assert_eq!(got.1, err[..err.len().min(CAP)], "stderr of command {index}");
        assert_eq!(got.2, Some(*status), "status of command {index}");
    }

    // Raw garbage on both streams: no panic, nothing past the cap.
    let raw = [(true, data.to_vec()), (false, data.to_vec())];
    for (out, err, _) in decode_batch(&markers, &raw, CAP) {
        assert!(out.len() <= CAP && err.len() <= CAP);
    }
});
