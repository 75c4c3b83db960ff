//! Any text typed at the prompt: parsing and planning must return a plan or an
//! error, never panic, and every error must render with its caret.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = shoal_stdlib::compile(source) {
        // Rendering slices the source at the error's span: a span that is
        // out of range or not on a character boundary would panic here.
        let _ = error.render(source, false);
        let _ = error.render(source, true);
    }
});
