//! `-w NODESET`: hosts named on the command line, as pdsh and clush take
//! them (`-w 'web[01-05],db1'`, repeatable). Alone, the names are the whole
//! fleet, each reached at its name (ssh_config's `HostName`, `Port` and
//! `User` still apply); with an inventory they pick that inventory's hosts.

use indexmap::IndexSet;

use super::InventoryResult;
use super::error::InventoryError;
use super::hosts;

/// The names `nodesets` expand to, each once, in the order written.
pub(super) fn names(nodesets: &[String]) -> InventoryResult<Vec<String>> {
    let mut names = IndexSet::new();
    for nodeset in nodesets {
        let invalid = |message: String| InventoryError::Nodes { message };
        if nodeset.contains('@') {
            return Err(invalid(format!(
                "`{nodeset}`: -w takes host names and nodesets, not groups; select a group in \
                 the query instead (`hosts @web`)"
            )));
        }
        let set = hosts::parse_nodeset(nodeset.trim()).map_err(invalid)?;
        let before = names.len();
        names.extend(set.iter());
        if names.len() == before && set.iter().next().is_none() {
            return Err(invalid(format!("`{nodeset}` names no hosts")));
        }
        hosts::check_total(names.len()).map_err(invalid)?;
    }
    Ok(names.into_iter().collect())
}

/// The error for names of `-w` that the inventory at `path` does not have.
pub(super) fn not_in(unknown: &[&str], path: &std::path::Path) -> InventoryError {
    const SHOWN: usize = 10;
    let mut listed = unknown
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if unknown.len() > SHOWN {
        listed.push_str(&format!(" and {} more", unknown.len() - SHOWN));
    }
    let (noun, verb) = if unknown.len() == 1 {
        ("host", "is")
    } else {
        ("hosts", "are")
    };
    InventoryError::Nodes {
        message: format!(
            "{noun} {listed} {verb} not in the inventory {}: with an inventory, -w picks \
             among its hosts; leave out --inventory to reach hosts by name",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodesets_expand_in_order_each_name_once() {
        let nodesets = ["web[01-03]".to_string(), "db1,web02".to_string()];
        assert_eq!(
            names(&nodesets).unwrap(),
            ["web01", "web02", "web03", "db1"]
        );
        assert_eq!(
            names(&["web[1-3]!web2".to_string()]).unwrap(),
            ["web1", "web3"]
        );
    }

    #[test]
    fn a_malformed_or_empty_nodeset_is_an_error_naming_it() {
        let error = |nodeset: &str| names(&[nodeset.to_string()]).unwrap_err().to_string();
        let malformed = error("web[01-");
        assert!(
            malformed.starts_with("-w: \"web[01-\" is not a valid nodeset"),
            "{malformed}"
        );
        assert!(error("web1!web1").contains("`web1!web1` names no hosts"));
        assert!(error("@web").contains("-w takes host names and nodesets, not groups"));
        assert!(error("n[1-200000]").contains("names more than 100000 hosts"));
    }
}
