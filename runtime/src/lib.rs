//! shoal's runtime: the inventory file, the SSH executor and its connection pool.
pub mod demo;
pub mod inventory;
pub mod ssh;
