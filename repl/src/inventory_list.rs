//! `shoal inventory --list`: the inventory shoal resolved, printed as
//! `ansible-inventory --list` prints one (the shape is `Inventory::list`'s),
//! so that a user can diff the two. No ssh_config is read: it changes how
//! hosts are reached, not which hosts and variables the inventory has.

use std::process::ExitCode;

use serde::Serialize;
use shoal_runtime::ssh_config::SshConfig;

use crate::cli::{EXIT_OK, EXIT_USAGE, Options, load_inventory};
use crate::render::visible;

/// Prints the JSON, after the inventory's warnings (unless `--quiet`).
pub fn run(options: &Options) -> ExitCode {
    let inventory = match load_inventory(options, &SshConfig::default(), false) {
        Ok(inventory) => inventory,
        Err(error) => {
            eprintln!("error: {}", visible(&error.to_string()));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !options.quiet {
        for warning in &inventory.warnings {
            eprintln!("{}", visible(warning));
        }
    }
    // Indented by four, as ansible-inventory indents, so the two diff
    // line by line.
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    inventory
        .list()
        .serialize(&mut serializer)
        .expect("JSON values serialise");
    println!("{}", String::from_utf8_lossy(&out));
    ExitCode::from(EXIT_OK)
}
