//! Differential tests: shoal against the tools users already trust (issue
//! 20). Every inventory in `inventories/` is read by shoal and by
//! `ansible-inventory --list`; every nodeset in `nodesets.txt` is expanded
//! and folded by shoal and by ClusterShell's `nodeset`. Both are compared
//! field by field, and a disagreement fails with a readable diff, unless
//! `differences.toml` lists it with its reason. A listed difference that no
//! longer differs fails too, so the list stays current.
//!
//! The reference tools come from `.ci/setup-references.sh`, which installs
//! them in a virtualenv (`$SHOAL_REFERENCE_VENV`, by default
//! `~/.cache/shoal-ci-venv`). A missing tool fails the test: a skipped
//! comparison would pass without comparing anything.
//!
//! Each test prints its agreement count (`cargo test -p shoal-runtime --test
//! reference -- --nocapture`).

mod ansible;
mod differences;
mod nodesets;
mod tools;
