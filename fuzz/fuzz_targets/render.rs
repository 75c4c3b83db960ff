//! Whatever a (possibly compromised) host prints: rendering it as a table,
//! as CSV for a terminal, or as JSON must never panic, and the table and the
//! terminal CSV (drawn without colour) must hold no control character at
//! all (ESC, BEL, CR, backspace, C1), only their visible escapes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_repl::render::{Format, Look, render};
use shoal_stdlib::DataFrame;
use polars::prelude::Column;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 reaches rendering as `\xNN` text (runtime/src/ssh/output.rs);
    // lossy decoding is near enough to exercise the renderer.
    let output = String::from_utf8_lossy(data).into_owned();
    let frame = DataFrame::new(
        2,
        vec![
            Column::new("host".into(), ["web01", "web02"]),
            Column::new("stdout".into(), [output.as_str(), "ok"]),
            Column::new("status".into(), ["ok", "failed"]),
        ],
    )
    .expect("a two-row frame");
    for (format, terminal) in [
        (Format::Table, true),
        (Format::Csv, true),
        (Format::Json, false),
    ] {
        for full in [false, true] {
            let look = Look {
                format,
                full,
                width: Some(80),
                color: false,
                terminal,
            };
            let text = render(&frame, &look).expect("renders");
            if format != Format::Json {
                assert!(
                    !text.chars().any(|c| c.is_control() && c != '\n'),
                    "a control character reached the terminal: {text:?}"
                );
            }
        }
    }
});
