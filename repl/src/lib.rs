//! shoal's front end: the command line, the interactive shell, scripts,
//! rendering of results, progress, and help generated from the registry.
mod audit;
mod check;
pub mod cli;
mod complete;
pub mod help;
mod output;
mod progress;
pub mod render;
mod repl;
mod script;
mod store_options;
