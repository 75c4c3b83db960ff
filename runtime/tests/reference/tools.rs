//! Finding and running the reference tools.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Where `.ci/setup-references.sh` installs the tools.
fn venv() -> PathBuf {
    if let Some(venv) = std::env::var_os("SHOAL_REFERENCE_VENV") {
        return PathBuf::from(venv);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    PathBuf::from(home).join(".cache/shoal-ci-venv")
}

/// The reference tool `name`; panics, saying how to install it, when it is
/// missing.
pub fn tool(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.is_file(),
        "the reference tool {} is missing: run `bash .ci/setup-references.sh` (or set \
         SHOAL_REFERENCE_VENV to a virtualenv with ansible-core and ClusterShell)",
        path.display()
    );
    path
}

/// Runs `command`, which must start; its output.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}
