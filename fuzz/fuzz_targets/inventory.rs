//! Any inventory file: loading must return an inventory or an error naming the
//! file and place, never panic. The text is read as TOML, and in whichever
//! format detection picks for a file with no telling extension.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use shoal_runtime::inventory::{Inventory, Overrides};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let overrides = Overrides::default();
    for loaded in [
        Inventory::from_toml(text, Path::new("fuzz.toml"), &overrides),
        Inventory::from_text(text, Path::new("fuzz"), &overrides),
    ] {
        match loaded {
            Ok(inventory) => {
                let _ = inventory.fleet();
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
});
