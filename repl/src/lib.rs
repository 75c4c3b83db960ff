//! shoal's front end: the command line, the interactive shell, scripts,
//! rendering of results, progress, and help generated from the registry.
mod audit;
mod check;
pub mod cli;
mod complete;
mod daemon;
mod explain_host;
pub mod help;
mod inventory_list;
mod output;
mod progress;
pub mod render;
mod repl;
mod script;
mod store_options;
mod watch;
