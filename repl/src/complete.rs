//! Tab completion: what may come next at the cursor, from the operator
//! registry (stages), the inventory (hosts, groups, tags and their values)
//! and the session (saved `$variables`).

use shoal_lang::plan::BUILTIN_COLUMNS;
use shoal_stdlib::Session;
use shoal_stdlib::ops::REGISTRY;

/// Candidates for the word that ends at `pos`, and where that word starts.
pub fn candidates(line: &str, pos: usize, session: &Session) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before
        .rfind(|c: char| c.is_whitespace() || "|;(),=<>~!&".contains(c))
        .map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
    let word = &before[start..];
    let context = before[..start].trim_end();
    let fleet = &session.fleet;
    let mut options: Vec<String> = if word.starts_with('$') {
        session.vars.keys().map(|v| format!("${v}")).collect()
    } else if word.starts_with('@') {
        fleet.groups.keys().map(|g| format!("@{g}")).collect()
    } else if context.is_empty() || context.ends_with(';') {
        let mut start_words: Vec<String> = ["hosts", "let", "jobs", "job", "saved"]
            .map(str::to_string)
            .to_vec();
        start_words.extend(session.vars.keys().map(|v| format!("${v}")));
        start_words
    } else if context.ends_with('|') {
        REGISTRY
            .iter()
            .flat_map(|op| op.signature().names())
            .map(str::to_string)
            .collect()
    } else if context.ends_with("hosts from") {
        vec!["ssh_config".to_string()]
    } else if context.ends_with("hosts") || after_set_operator(context) {
        let mut names: Vec<String> = fleet.hosts.iter().map(|h| h.name.clone()).collect();
        if context.ends_with("hosts") {
            names.push("from".to_string());
        }
        names
    } else if let Some(column) = compared_column(context) {
        let mut values: Vec<String> = fleet
            .hosts
            .iter()
            .filter_map(|h| h.tags.get(column).cloned())
            .collect();
        if column == "status" {
            values.extend(
                shoal_stdlib::executor::Status::ALL
                    .iter()
                    .map(|s| s.to_string()),
            );
        }
        if column == "host" {
            values.extend(fleet.hosts.iter().map(|h| h.name.clone()));
        }
        values
    } else {
        let mut columns = columns_at(context, session).unwrap_or_else(|| {
            let mut columns: Vec<String> =
                fleet.tag_names().into_iter().map(str::to_string).collect();
            columns.extend(BUILTIN_COLUMNS.iter().map(|c| c.to_string()));
            columns
        });
        columns.extend(option_names(context));
        columns
    };
    options.sort();
    options.dedup();
    options.retain(|o| o.starts_with(word));
    (start, options)
}

/// The columns the stage at the cursor can read: those the pipeline before
/// it makes (`run ... as up` makes `up`), found by checking that pipeline
/// without running it. `None` when it does not parse yet.
fn columns_at(context: &str, session: &Session) -> Option<Vec<String>> {
    let statement = context.rsplit(';').next().unwrap_or(context);
    let (before, _) = statement.rsplit_once('|')?;
    let before = match before.trim_start().strip_prefix("let ") {
        Some(rest) => rest.split_once('=').map_or(rest, |(_, pipeline)| pipeline),
        None => before,
    };
    let plan = shoal_stdlib::compile(before).ok()?;
    session.columns_after(&plan)
}

/// The `name=` options of the stage the cursor is in, from its signature:
/// `hosts | diff by az thr` completes to `threshold=`.
fn option_names(context: &str) -> Vec<String> {
    let stage = context.rsplit(['|', ';']).next().unwrap_or("");
    let Some(name) = stage.split_whitespace().next() else {
        return Vec::new();
    };
    let Some(op) = shoal_stdlib::ops::find(name) else {
        return Vec::new();
    };
    let signature = op.signature();
    let mut names: Vec<String> = signature
        .options
        .iter()
        .map(|option| format!("{}=", option.name))
        .collect();
    if signature.takes_as {
        names.push("as".to_string());
    }
    names
}

/// True right after `&`, `!` or `,` in a `hosts` selection, where the next
/// operand goes: `hosts @web & `, `let x = hosts web01,`.
fn after_set_operator(context: &str) -> bool {
    let statement = context.rsplit(';').next().unwrap_or(context);
    let source = statement
        .split_once('=')
        .map_or(statement, |(_, pipeline)| pipeline);
    context.ends_with(['&', '!', ','])
        && !statement.contains('|')
        && source.trim_start().starts_with("hosts")
}

/// The column being compared when the cursor is at a value: `az = `,
/// `az != `, `az in (a, `.
fn compared_column(context: &str) -> Option<&str> {
    let mut rest = context;
    // Inside `COL in (v1, v2, ` skip back over the list to `in (`.
    if let Some(open) = rest.rfind('(')
        && !rest[open..].contains(')')
        && rest[..open].trim_end().ends_with(" in")
    {
        rest = rest[..open].trim_end().strip_suffix("in")?.trim_end();
        return rest.rsplit(|c: char| c.is_whitespace() || c == '(').next();
    }
    for op in ["!=", "<=", ">=", "=", "<", ">"] {
        if let Some(left) = rest.strip_suffix(op) {
            rest = left.trim_end();
            return rest
                .rsplit(|c: char| c.is_whitespace() || c == '(')
                .next()
                .filter(|c| !c.is_empty());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_stdlib::example_fleet::fleet;

    fn complete(line: &str) -> Vec<String> {
        let session = Session::new(fleet());
        candidates(line, line.len(), &session).1
    }

    #[test]
    fn completes_the_columns_known_at_the_cursor_including_as_names() {
        assert_eq!(
            complete("hosts | run \"uptime\" as up_since | filter up"),
            ["up_since"]
        );
        assert_eq!(
            complete("hosts | run \"x\" | extract stdout /(?<load1>[0-9.]+)/ | sort lo"),
            ["load1"]
        );
        // After `select`, only what it kept.
        assert_eq!(complete("hosts | select host, az | sort a"), ["az"]);
    }

    #[test]
    fn completes_stages_after_a_pipe() {
        assert_eq!(complete("hosts | fil"), ["filter"]);
        assert_eq!(complete("jo"), ["job", "jobs"]);
        assert!(complete("hosts | ").contains(&"distinct".to_string()));
    }

    #[test]
    fn completes_tag_values_after_a_comparison() {
        assert_eq!(
            complete("hosts | filter az = us-east-1"),
            ["us-east-1a", "us-east-1b", "us-east-1c"]
        );
        assert_eq!(complete("hosts | filter role=ca"), ["cache"]);
        assert_eq!(complete("hosts | filter role in (web, d"), ["db"]);
        assert_eq!(complete("hosts | where status != time"), ["timeout"]);
    }

    #[test]
    fn completes_columns_hosts_groups_and_variables() {
        assert_eq!(complete("hosts | sort ver"), ["version"]);
        assert_eq!(
            complete("hosts | run \"x\" | count by st"),
            ["status", "stderr", "stdout"]
        );
        // Before any `run`, hosts have no status to count by.
        assert!(complete("hosts | count by st").is_empty());
        assert_eq!(complete("hosts db"), ["db01", "db02"]);
        assert_eq!(complete("hosts @w"), ["@web"]);
        assert_eq!(complete("hosts @web & db"), ["db01", "db02"]);
        assert_eq!(complete("let x = hosts @web,db"), ["db01", "db02"]);
        assert_eq!(complete("hosts @web&@d"), ["@db"]);
        assert_eq!(complete("hosts fr"), ["from"]);
        assert_eq!(complete("hosts from s"), ["ssh_config"]);
        assert_eq!(complete("hosts | sort gr"), ["groups"]);
        let mut session = Session::new(fleet());
        session.vars.insert("bad".into(), Default::default());
        assert_eq!(candidates("$b", 2, &session).1, ["$bad"]);
        assert_eq!(
            candidates("", 0, &session).1,
            ["$bad", "hosts", "job", "jobs", "let", "saved"]
        );
    }
}
