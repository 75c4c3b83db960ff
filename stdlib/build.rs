//! Embeds the catalog of checks (the repository's `checks/*.shoal`) in the
//! library, so `shoal check` and the `checks` source work from any
//! directory: writes `$OUT_DIR/builtin_checks.rs`, one `include_str!` per
//! file, which also makes cargo rebuild when a check changes.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../checks");
    // A file added or removed changes the directory.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".shoal"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut out = String::from(
        "/// Every file of the repository's checks/, as (path, text), by name.\n\
         pub(crate) static FILES: &[(&str, &str)] = &[\n",
    );
    for name in files {
        let path = dir.join(&name);
        let path = path.canonicalize().unwrap_or(path);
        let _ = writeln!(
            out,
            "    (\"checks/{name}\", include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let target =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_checks.rs");
    std::fs::write(&target, out).expect("OUT_DIR is writable");
}
