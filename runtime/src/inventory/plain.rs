//! A plain list of hosts: one host name or nodeset (`web[01-20]`) per line,
//! blank lines and `#` comments ignored. Every host is reached at its name;
//! a name listed twice is an error that gives both lines.

use std::collections::HashMap;

use super::InventoryResult;
use super::error::{Source, lines};
use super::hosts::{self, Read, Written};

pub(super) fn read(source: Source) -> InventoryResult<Read> {
    // Each name's line, for the duplicate error.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut written = Vec::new();
    for (number, (start, line)) in lines(source.text).enumerate() {
        let line = line.split('#').next().unwrap_or_default();
        let entry = line.trim();
        if entry.is_empty() {
            continue;
        }
        let at = start + (line.len() - line.trim_start().len());
        if let Some(space) = entry.find(char::is_whitespace) {
            return Err(source.at(
                at + space,
                format!("`{entry}`: one host name or nodeset per line"),
            ));
        }
        let names = if entry.contains(['[', ',']) {
            let set = hosts::parse_nodeset(entry).map_err(|reason| source.at(at, reason))?;
            set.iter().collect()
        } else {
            vec![entry.to_string()]
        };
        hosts::check_total(seen.len() + names.len()).map_err(|reason| source.at(at, reason))?;
        for name in names {
            if let Some(first) = seen.get(&name) {
                return Err(source.at(
                    at,
                    format!("duplicate host name \"{name}\" (first listed on line {first})"),
                ));
            }
            seen.insert(name.clone(), number + 1);
            written.push(Written::named(name));
        }
    }
    Ok(Read {
        hosts: written,
        groups: Default::default(),
        ..Read::default()
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn read(text: &str) -> InventoryResult<Read> {
        super::read(Source {
            path: Path::new("hosts.txt"),
            text,
        })
    }

    #[test]
    fn names_and_nodesets_one_per_line() {
        let read =
            read("# the fleet\nbastion.example.com\n\n  web[01-03]  # the web tier\ndb1,db2\n")
                .unwrap();
        let names: Vec<&str> = read.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bastion.example.com",
                "web01",
                "web02",
                "web03",
                "db1",
                "db2"
            ]
        );
        assert!(read.groups.is_empty());
    }

    #[test]
    fn duplicates_and_bad_lines_are_located() {
        let error = |text: &str| read(text).unwrap_err().to_string();
        assert_eq!(
            error("web01\ndb1\n  web[01-02]\n"),
            "inventory hosts.txt:3:3: duplicate host name \"web01\" (first listed on line 1)"
        );
        assert_eq!(
            error("web01 web02\n"),
            "inventory hosts.txt:1:6: `web01 web02`: one host name or nodeset per line"
        );
        assert!(
            error("ok\nweb[01-\n")
                .starts_with("inventory hosts.txt:2:1: \"web[01-\" is not a valid nodeset"),
        );
    }

    #[test]
    fn lines_of_nodesets_may_not_name_more_than_the_inventory_bound() {
        let error = read("a[1-60000]\nb[1-60000]\n").unwrap_err().to_string();
        assert!(
            error.starts_with(
                "inventory hosts.txt:2:1: the inventory would name more than 100000 hosts"
            ),
            "{error}"
        );
    }
}
