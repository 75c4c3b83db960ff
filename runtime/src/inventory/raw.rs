//! The inventory file exactly as written: serde structs that mirror the TOML,
//! with spans on every value that is checked after parsing so its error can
//! point at it. Unknown fields are refused by serde, with toml's own span.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInventory {
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub hosts: Vec<RawHost>,
    /// Group name to a ClusterShell nodeset over host names.
    #[serde(default)]
    pub groups: IndexMap<String, Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub user: Option<String>,
    pub port: Option<Spanned<u16>>,
    pub identity_files: Option<Vec<Spanned<String>>>,
    pub known_hosts: Option<Spanned<String>>,
    pub fanout: Option<Spanned<usize>>,
    pub max_connections: Option<Spanned<usize>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub command_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHost {
    pub name: Spanned<String>,
    pub addr: Option<Spanned<String>>,
    pub port: Option<Spanned<u16>>,
    pub user: Option<String>,
    pub tags: Option<Spanned<IndexMap<String, String>>>,
}
