//! shoal's front end: the command line, rendering of results, and help
//! generated from the operator registry.
pub mod cli;
pub mod help;
pub mod render;
