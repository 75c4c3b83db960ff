//! shoal's runtime: the inventory, the user's ssh_config, each host's route,
//! and the SSH executor with its connection pool.
pub mod demo;
pub mod inventory;
pub mod ssh;
pub mod ssh_config;
pub mod targets;
