//! A CSV inventory: a header row naming the columns, then one host per row,
//! as a spreadsheet or a CMDB export writes it.
//!
//! ```text
//! name,addr,az,role
//! web01,10.0.0.1,us-east-1a,web
//! web02,,us-east-1b,"web,canary"
//! ```
//!
//! - `name` (or `host`) is the host's name and is required; it is usually
//!   the first column, and detection without a `.csv` name relies on that.
//! - `addr`, `port` and `user`, when present, are how the host is reached
//!   (an empty cell takes the default: the name, 22, the usual user).
//! - `groups` lists the host's groups, separated by spaces or `;`
//!   (`web;prod`): each is `hosts @group`.
//! - Every other column is a tag; an empty cell leaves the tag unset.
//!
//! Column names other than the tags' are matched without regard to case.
//! Lines starting with `#` are comments, blank lines are skipped, spaces
//! around a value are trimmed, and a value holding a comma is quoted. A row
//! with more or fewer fields than the header, a header without `name`, a
//! column named twice and a host listed twice are errors at their line.

use std::collections::{HashMap, HashSet};

use indexmap::{IndexMap, IndexSet};

use super::InventoryResult;
use super::error::Source;
use super::hosts::{self, HostOrder, Read, Written};

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Name,
    Addr,
    Port,
    User,
    Groups,
    Tag(String),
}

impl Column {
    fn of(header: &str) -> Column {
        match header.to_ascii_lowercase().as_str() {
            "name" | "host" => Column::Name,
            "addr" => Column::Addr,
            "port" => Column::Port,
            "user" => Column::User,
            "groups" => Column::Groups,
            _ => Column::Tag(header.to_string()),
        }
    }
}

/// Whether `line` reads as the header of a CSV inventory: it has a comma and
/// its first field is `name` or `host`. Used by detection, so that such a
/// file is never taken for a list of hosts named `name,addr,…`.
pub(super) fn is_header(line: &str) -> bool {
    let Some((first, _)) = line.split_once(',') else {
        return false;
    };
    let first = first.trim().trim_matches('"').trim();
    first.eq_ignore_ascii_case("name") || first.eq_ignore_ascii_case("host")
}

pub(super) fn read(source: Source) -> InventoryResult<Read> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(source.text.as_bytes());
    // Each record with the byte offset and line where it starts. Comments
    // are skipped here rather than by the csv crate, whose positions would
    // then point at the comment before a record.
    let mut records = reader.records().filter_map(|record| match record {
        Ok(record) if record.iter().all(str::is_empty) => None,
        Ok(record) if record.get(0).is_some_and(|first| first.starts_with('#')) => None,
        Ok(record) => {
            let (at, line) = record.position().map_or((0, 1), |p| {
                start(source.text, p.byte() as usize, p.line() as usize)
            });
            Some(Ok((at, line, record)))
        }
        Err(error) => {
            let at = error.position().map_or(0, |p| {
                start(source.text, p.byte() as usize, p.line() as usize).0
            });
            Some(Err(source.at(at, format!("not valid CSV: {error}"))))
        }
    });

    let Some(header) = records.next() else {
        return Err(source.unusable(
            "no header row: a CSV inventory starts with a row naming its columns, \
             `name` first (e.g. `name,addr,az,role`)",
        ));
    };
    let (header_at, _, header) = header?;
    let columns = header_columns(source, header_at, &header)?;
    let shown_header = header.iter().collect::<Vec<_>>().join(",");

    let mut written = Vec::new();
    // Each host's line, for the duplicate error.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut groups: IndexMap<String, HashSet<String>> = IndexMap::new();
    for record in records {
        let (at, line, record) = record?;
        if record.len() != columns.len() {
            return Err(source.at(
                at,
                format!(
                    "this row has {} but the header (`{shown_header}`) has {}: \
                     give every row one value per column (leave a cell empty with `,,`), \
                     and quote a value that holds a comma (\"a,b\")",
                    fields(record.len()),
                    columns.len()
                ),
            ));
        }
        let mut host = Written::named(String::new());
        let mut host_groups = Vec::new();
        for (column, value) in columns.iter().zip(record.iter()) {
            let invalid = |reason: String| source.at(at, reason);
            match column {
                Column::Name => host.name = value.to_string(),
                _ if value.is_empty() => {}
                Column::Addr => {
                    host.addr = Some(value.to_string());
                    host.explicit.addr = true;
                }
                Column::Port => {
                    let port = value
                        .parse::<u16>()
                        .ok()
                        .filter(|port| *port > 0)
                        .ok_or_else(|| {
                            invalid(format!("port `{value}` is not a port (1 to 65535)"))
                        })?;
                    host.port = Some(port);
                    host.explicit.port = true;
                }
                Column::User => {
                    host.user = Some(value.to_string());
                    host.explicit.user = true;
                }
                Column::Groups => {
                    for group in value
                        .split(|c: char| c == ';' || c.is_whitespace())
                        .filter(|g| !g.is_empty())
                    {
                        hosts::check_group_name(group).map_err(invalid)?;
                        host_groups.push(group);
                    }
                }
                Column::Tag(tag) => {
                    host.tags.insert(tag.clone(), value.to_string());
                }
            }
        }
        if host.name.is_empty() {
            return Err(source.at(at, "the `name` cell is empty: every host needs a name"));
        }
        if let Some(first) = seen.get(&host.name) {
            return Err(source.at(
                at,
                format!(
                    "duplicate host name \"{}\" (first listed on line {first}): \
                     list each host once",
                    host.name
                ),
            ));
        }
        hosts::check_total(written.len() + 1).map_err(|reason| source.at(at, reason))?;
        for group in host_groups {
            groups
                .entry(group.to_string())
                .or_default()
                .insert(host.name.clone());
        }
        seen.insert(host.name.clone(), line);
        written.push(host);
    }

    let order = HostOrder::new(&written);
    let groups = groups
        .into_iter()
        .map(|(group, members)| {
            let members: HashSet<&str> = members.iter().map(String::as_str).collect();
            let ordered = order.of(&members);
            (group, ordered)
        })
        .collect();
    Ok(Read {
        hosts: written,
        groups,
        ..Read::default()
    })
}

/// Where a record the csv crate places at byte `byte` of line `line` really
/// starts: the crate counts the blank lines it skipped before a record as
/// part of it. The offset and the line of the record's first character.
fn start(text: &str, byte: usize, line: usize) -> (usize, usize) {
    let byte = byte.min(text.len());
    let rest = text.get(byte..).unwrap_or_default();
    let skipped = rest.len() - rest.trim_start().len();
    let newlines = rest[..skipped].matches('\n').count();
    (byte + skipped, line + newlines)
}

fn fields(count: usize) -> String {
    match count {
        1 => "1 field".to_string(),
        n => format!("{n} fields"),
    }
}

/// The columns the header names; `Err` for a header shoal cannot use.
fn header_columns(
    source: Source,
    at: usize,
    header: &csv::StringRecord,
) -> InventoryResult<Vec<Column>> {
    let mut columns = Vec::with_capacity(header.len());
    let mut names: IndexSet<String> = IndexSet::new();
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(source.at(
                at,
                format!(
                    "column {} of the header has no name: name every column \
                     (`name` first, then `addr` and tags)",
                    i + 1
                ),
            ));
        }
        let column = Column::of(name);
        let key = match &column {
            Column::Tag(tag) => tag.clone(),
            other => format!("{other:?}"),
        };
        if !names.insert(key) {
            return Err(source.at(
                at,
                format!("column `{name}` is named twice in the header: rename or remove one"),
            ));
        }
        if let Column::Tag(tag) = &column {
            hosts::check_tag_name(tag)
                .map_err(|reason| source.at(at, format!("header: {reason}")))?;
        }
        columns.push(column);
    }
    if !columns.contains(&Column::Name) {
        let shown: Vec<&str> = header.iter().collect();
        return Err(source.at(
            at,
            format!(
                "the header `{}` has no `name` column: add one holding each host's \
                 name, first (e.g. `name,addr,az,role`)",
                shown.join(",")
            ),
        ));
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn read(text: &str) -> InventoryResult<Read> {
        super::read(Source {
            path: Path::new("fleet.csv"),
            text,
        })
    }

    fn error(text: &str) -> String {
        read(text).unwrap_err().to_string()
    }

    #[test]
    fn a_header_then_a_host_per_row() {
        let read = read(
            "# exported from the CMDB\nname, addr, az, role, Port, USER, groups\n\
             web01,10.0.0.1,us-east-1a,web,2222,deploy,web prod\n\
             \n\
             web02,,us-east-1b,\"web,canary\",,,web;canary\n\
             db01,10.0.0.9,,db,,,\n",
        )
        .unwrap();
        let names: Vec<&str> = read.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["web01", "web02", "db01"]);
        let web01 = &read.hosts[0];
        assert_eq!(web01.addr.as_deref(), Some("10.0.0.1"));
        assert_eq!(web01.port, Some(2222));
        assert_eq!(web01.user.as_deref(), Some("deploy"));
        assert!(web01.explicit.addr && web01.explicit.port && web01.explicit.user);
        assert_eq!(web01.tags["az"], "us-east-1a");
        let web02 = &read.hosts[1];
        assert_eq!((web02.addr.as_deref(), web02.port), (None, None));
        assert_eq!(web02.tags["role"], "web,canary");
        assert!(!web02.explicit.addr);
        assert!(
            !read.hosts[2].tags.contains_key("az"),
            "an empty cell is no tag"
        );
        assert_eq!(read.groups["web"], ["web01", "web02"]);
        assert_eq!(read.groups["prod"], ["web01"]);
        assert_eq!(read.groups["canary"], ["web02"]);
        assert_eq!(read.groups.len(), 3);
    }

    #[test]
    fn host_is_another_name_for_the_name_column_and_it_may_come_later() {
        let read = read("az,HOST\nus-east-1a,web01\n").unwrap();
        assert_eq!(read.hosts[0].name, "web01");
        assert_eq!(read.hosts[0].tags["az"], "us-east-1a");
    }

    #[test]
    fn a_header_is_recognised_by_its_first_field() {
        assert!(is_header("name,addr,az"));
        assert!(is_header("\"Host\" , az"));
        assert!(!is_header("name"));
        assert!(!is_header("web01,web02"));
        assert!(!is_header("hostname,addr"));
    }

    #[test]
    fn malformed_files_are_refused_at_their_line_with_what_to_do() {
        assert_eq!(
            error("name,addr,az\nweb01,10.0.0.1,a\nweb02,10.0.0.2\n"),
            "inventory fleet.csv:3:1: this row has 2 fields but the header \
             (`name,addr,az`) has 3: give every row one value per column (leave a cell \
             empty with `,,`), and quote a value that holds a comma (\"a,b\")"
        );
        assert_eq!(
            error("# hosts\naddr,az\n10.0.0.1,a\n"),
            "inventory fleet.csv:2:1: the header `addr,az` has no `name` column: add one \
             holding each host's name, first (e.g. `name,addr,az,role`)"
        );
        assert_eq!(
            error("name,az\nweb01,a\nweb02,b\nweb01,c\n"),
            "inventory fleet.csv:4:1: duplicate host name \"web01\" (first listed on \
             line 2): list each host once"
        );
        assert!(error("name,az,AZ,az\n").contains("column `az` is named twice"));
        assert!(error("name,,az\n").contains("column 2 of the header has no name"));
        assert!(error("name,status\n").contains("`status` cannot be a tag name"));
        assert!(error("name,port\nweb01,99999\n").contains("port `99999` is not a port"));
        assert!(error(",az\n,a\n").contains("column 1 of the header has no name"));
        assert!(error("name,az\n,a\n").contains("the `name` cell is empty"));
        assert!(error("name,groups\nweb01,web/1\n").contains("group \"web/1\" cannot be named"));
        assert!(error("# nothing\n\n").contains("no header row"));
        assert!(
            (error("name,az\n# a, comment\n\nweb01\n")).starts_with("inventory fleet.csv:4:1: "),
            "comments and blank lines count as lines"
        );
    }
}
