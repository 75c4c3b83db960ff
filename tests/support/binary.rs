//! The built `shoal` binary, run as a user would run it, and a failed expectation about it
//! described with its arguments, exit code and output.

use std::path::Path;
use std::process::{Command, Output};

/// `shoal` to run in `dir`, without colour and without the inventory variables of the
/// environment (shoal's or Ansible's), so it finds only the inventory the test sets up,
/// and with a job store of the test's own in `dir`.
pub fn shoal_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shoal"));
    command
        .env("NO_COLOR", "1")
        .env("SHOAL_STORE", dir.join(".shoal/shoal.db"))
        .env_remove("SHOAL_INVENTORY")
        .env_remove("ANSIBLE_INVENTORY")
        .current_dir(dir);
    command
}

/// What a test prints when shoal, run with `args`, did not do what it expected.
pub fn describe(args: &[&str], out: &Output) -> String {
    format!(
        "shoal {args:?}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
