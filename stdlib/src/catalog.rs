//! The catalog of checks: availability risks an SRE looks for in the first
//! minute of an incident, each a `.shoal` file that a header describes.
//! Running them is `checks`' part.
//!
//! ```text
//! # id: SHOAL-0004
//! # title: A local filesystem is nearly full
//! # level: local
//! # why: Data volumes fill before the root filesystem does, ...
//! #   (a line indented past `# ` continues the field above)
//! # source: Google SRE book, "Monitoring Distributed Systems"
//! # fix: Find what grew with du -xh --max-depth=2 MOUNT, ...
//! param threshold: int = 90
//!
//! hosts | run "df -P -l ..." | lines | parse line "..." | assert use < $threshold show=mount
//! ```
//!
//! The header is the comment lines at the top, `# key: text`; the body is a
//! runbook (crate::runbook): typed params, then one pipeline ending in
//! `assert`, whose condition each host is judged by (see the `checks` module). Levels
//! follow the health checks of chaos engineering: liveness (the host
//! answers), local (its own resources), dependency (what it relies on) and
//! anomaly (it differs from the rest of the fleet).
//!
//! The repository's `checks/` is built into the library (build.rs), so the
//! catalog is there from any directory; `shoal check --dir` reads another.
//! A file whose header is wrong is reported with its file and line, and the
//! rest of the catalog is still there.

use std::fmt::Write as _;
use std::sync::LazyLock;

use polars::prelude::*;
use shoal_lang::{Error, Result, Span, did_you_mean};

use crate::frame::internal;
use crate::runbook::Runbook;

include!(concat!(env!("OUT_DIR"), "/builtin_checks.rs"));

/// How deep a check looks, after chaos engineering's four levels of health
/// checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The host answers at all.
    Liveness,
    /// The host's own resources: disks, clock, memory, kernel.
    Local,
    /// What the host relies on: DNS, the network, other services.
    Dependency,
    /// The host differs from the rest of the fleet.
    Anomaly,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Liveness,
        Level::Local,
        Level::Dependency,
        Level::Anomaly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Liveness => "liveness",
            Level::Local => "local",
            Level::Dependency => "dependency",
            Level::Anomaly => "anomaly",
        }
    }

    fn named(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// The header fields, in the order a file gives them.
const FIELDS: [&str; 6] = ["id", "title", "level", "why", "source", "fix"];

/// One check of the catalog.
#[derive(Debug, Clone)]
pub struct Check {
    /// `SHOAL-0004`: stable, so that runbooks and tickets can name it.
    pub id: String,
    pub title: String,
    pub level: Level,
    /// Why it matters, in a sentence or two.
    pub why: String,
    /// The public source `why` rests on: a postmortem or vendor document.
    pub source: String,
    /// What to do when it fails.
    pub fix: String,
    /// Where it was read from, as errors and listings name it.
    pub file: String,
    /// The file as written, which errors point into.
    pub text: String,
    pub runbook: Runbook,
}

/// A file of the catalog that cannot be used, with the place it is wrong.
#[derive(Debug, Clone)]
pub struct CatalogError {
    pub file: String,
    /// The text the error's span points into.
    pub text: String,
    pub error: Box<Error>,
}

impl CatalogError {
    /// `error: ...` with ` --> checks/x.shoal:3:1` and the line.
    pub fn render(&self, color: bool) -> String {
        self.error.render_file(&self.file, &self.text, color)
    }
}

/// A set of checks, sorted by id, and the files that could not be read as
/// checks.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub checks: Vec<Check>,
    pub errors: Vec<CatalogError>,
}

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::from_files(
        FILES
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string())),
    )
});

impl Catalog {
    /// The catalog shoal ships: the repository's `checks/`.
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// Reads `(path, text)` pairs as checks. A file with a bad header, or
    /// an id an earlier file (by path) already has, becomes an error; the
    /// rest are checks.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Catalog {
        let mut files: Vec<(String, String)> = files.into_iter().collect();
        files.sort();
        let mut catalog = Catalog::default();
        for (file, text) in files {
            let parsed = Check::parse(&file, &text).and_then(|check| {
                match catalog.checks.iter().find(|c| c.id == check.id) {
                    Some(first) => Err(Error::new(
                        format!("{} is also the id of {}", check.id, first.file),
                        header_line(&text, "id"),
                    )
                    .with_hint("ids are never reused: take the next free one")),
                    None => Ok(check),
                }
            });
            match parsed {
                Ok(check) => catalog.checks.push(check),
                Err(error) => catalog.errors.push(CatalogError {
                    file,
                    text,
                    error: Box::new(error),
                }),
            }
        }
        catalog.checks.sort_by(|a, b| a.id.cmp(&b.id));
        catalog
    }

    /// The checks `selectors` name, in catalog order: each a level
    /// (`local`) or an id (`SHOAL-0007`, any case); none selects them all.
    /// An unknown one is an error with a did-you-mean.
    pub fn select(&self, selectors: &[String]) -> std::result::Result<Vec<&Check>, String> {
        if selectors.is_empty() {
            return Ok(self.checks.iter().collect());
        }
        let mut picked: Vec<bool> = vec![false; self.checks.len()];
        for selector in selectors {
            let wanted = id_or_level(selector);
            let mut found = false;
            for (check, picked) in self.checks.iter().zip(&mut picked) {
                if check.level.as_str() == wanted || check.id.to_ascii_lowercase() == wanted {
                    *picked = true;
                    found = true;
                }
            }
            if !found {
                let known: Vec<String> = Level::ALL
                    .iter()
                    .map(|l| l.as_str().to_string())
                    .chain(self.checks.iter().map(|c| c.id.clone()))
                    .collect();
                let lower: Vec<String> = known.iter().map(|k| k.to_ascii_lowercase()).collect();
                let mut message = format!("no check or level `{selector}`");
                match did_you_mean(&wanted, lower.iter().map(String::as_str)) {
                    Some(near) => {
                        let index = lower.iter().position(|l| l == near).unwrap_or(0);
                        let _ = write!(message, "; did you mean '{}'?", known[index]);
                    }
                    None => {
                        let levels: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
                        let _ = write!(
                            message,
                            "; the levels are {}, and `shoal -c checks` lists the ids",
                            levels.join(", ")
                        );
                    }
                }
                return Err(message);
            }
        }
        Ok(self
            .checks
            .iter()
            .zip(picked)
            .filter_map(|(check, picked)| picked.then_some(check))
            .collect())
    }

    /// The `checks` source: one row a check, with its header and params.
    pub fn frame(&self) -> Result<DataFrame> {
        let text =
            |pick: fn(&Check) -> String| -> Vec<String> { self.checks.iter().map(pick).collect() };
        let columns = vec![
            Column::new("id".into(), text(|c| c.id.clone())),
            Column::new("level".into(), text(|c| c.level.as_str().to_string())),
            Column::new("title".into(), text(|c| c.title.clone())),
            Column::new("why".into(), text(|c| c.why.clone())),
            Column::new("source".into(), text(|c| c.source.clone())),
            Column::new("fix".into(), text(|c| c.fix.clone())),
            Column::new("params".into(), text(Check::params_text)),
            Column::new("file".into(), text(|c| c.file.clone())),
        ];
        DataFrame::new(self.checks.len(), columns).map_err(internal)
    }

    /// checks/README.md: a table of every check, generated from the headers.
    pub fn readme(&self) -> String {
        let mut out = String::from(
            "# The check catalog\n\n\
             `shoal check` runs every check below on every host; `shoal check local`, \
             `shoal check SHOAL-0004` or `shoal check --dir DIR` run a part of it, or your own. \
             Each is a `.shoal` file of this directory: a header, typed params \
             (`shoal check ID --param NAME=VALUE`) and one pipeline ending in `assert`.\n\n\
             This table is generated from the headers and a test keeps it in sync: after \
             changing a check, run `UPDATE_CHECKS=1 cargo test -p shoal-stdlib --test checks_catalog`.\n\n\
             | id | level | title | why | fix | params |\n|---|---|---|---|---|---|\n",
        );
        for check in &self.checks {
            let cell = |text: &str| text.replace('|', "\\|");
            let params = match check.params_text() {
                params if params.is_empty() => String::new(),
                params => format!("`{}`", params.replace(", ", "`, `")),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} Source: {}. | {} | {} |",
                check.id,
                check.level.as_str(),
                cell(&check.title),
                cell(&check.why),
                cell(check.source.trim_end_matches('.')),
                cell(&check.fix),
                cell(&params)
            );
        }
        out
    }
}

/// A selector as ids and levels are compared: lower case, and a short id
/// (`7`, `shoal-7`) written out (`shoal-0007`).
fn id_or_level(selector: &str) -> String {
    let lower = selector.to_ascii_lowercase();
    let number = lower.strip_prefix("shoal-").unwrap_or(&lower);
    match number.parse::<u16>() {
        Ok(n) if n <= 9999 && number.bytes().all(|b| b.is_ascii_digit()) => {
            format!("shoal-{n:04}")
        }
        _ => lower,
    }
}

/// The span of the `# key:` line of a header (the first line if none).
fn header_line(text: &str, key: &str) -> Span {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line
            .strip_prefix("# ")
            .and_then(|l| l.strip_prefix(key))
            .is_some_and(|l| l.starts_with(':'))
        {
            return Span::new(offset, offset + line.trim_end().len());
        }
        offset += line.len();
    }
    let first = text.lines().next().unwrap_or("");
    Span::new(0, first.len())
}

impl Check {
    /// Reads one file: its header, then its params.
    pub fn parse(file: &str, text: &str) -> Result<Check> {
        let mut fields: Vec<(&str, String, Span)> = Vec::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let span = Span::new(offset, offset + line.trim_end().len());
            offset += line.len();
            let Some(comment) = line.trim_end().strip_prefix('#') else {
                break;
            };
            let field = comment.strip_prefix(' ').and_then(|rest| {
                let (key, value) = rest.split_once(':')?;
                (!key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase()))
                    .then_some((key, value.trim()))
            });
            match (field, fields.last_mut()) {
                (Some((key, value)), _) => {
                    let key = FIELDS.iter().find(|f| **f == key).ok_or_else(|| {
                        let mut error = Error::new(format!("unknown header field `{key}`"), span);
                        if let Some(near) = did_you_mean(key, FIELDS) {
                            error = error.with_hint(format!("did you mean '{near}'?"));
                        }
                        error.with_hint(format!("the fields: {}", FIELDS.join(", ")))
                    })?;
                    if fields.iter().any(|(k, _, _)| k == key) {
                        return Err(Error::new(format!("`{key}` is given twice"), span));
                    }
                    fields.push((key, value.to_string(), span));
                }
                // An indented line goes on with the field before it.
                (None, Some((_, value, _))) if comment.starts_with("  ") => {
                    value.push(' ');
                    value.push_str(comment.trim());
                }
                (None, _) => {}
            }
        }
        let get = |key: &str| -> Result<(String, Span)> {
            match fields.iter().find(|(k, _, _)| *k == key) {
                Some((_, value, span)) if !value.is_empty() => Ok((value.clone(), *span)),
                Some((_, _, span)) => Err(Error::new(format!("`{key}` is empty"), *span)),
                None => Err(Error::new(
                    format!("the header has no `{key}`"),
                    Span::new(0, text.lines().next().unwrap_or("").len()),
                )
                .with_hint(format!(
                    "a check starts with comment lines {}",
                    FIELDS.map(|f| format!("`# {f}: ...`")).join(", ")
                ))),
            }
        };
        let (id, id_span) = get("id")?;
        let valid_id = id
            .strip_prefix("SHOAL-")
            .is_some_and(|n| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit()));
        if !valid_id {
            return Err(Error::new(format!("`{id}` is not a check id"), id_span)
                .with_hint("an id is SHOAL- and four digits, such as SHOAL-0042"));
        }
        let (level, level_span) = get("level")?;
        let level = Level::named(&level).ok_or_else(|| {
            let names = Level::ALL.map(Level::as_str);
            let mut error = Error::new(format!("unknown level `{level}`"), level_span);
            if let Some(near) = did_you_mean(&level, names) {
                error = error.with_hint(format!("did you mean '{near}'?"));
            }
            error.with_hint(format!("the levels: {}", names.join(", ")))
        })?;
        Ok(Check {
            id,
            title: get("title")?.0,
            level,
            why: get("why")?.0,
            source: get("source")?.0,
            fix: get("fix")?.0,
            file: file.to_string(),
            text: text.to_string(),
            runbook: Runbook::parse(text)?,
        })
    }

    /// `threshold: int = 90, mount: string = /`.
    pub fn params_text(&self) -> String {
        let params: Vec<String> = self
            .runbook
            .params()
            .iter()
            .map(|p| match &p.default {
                Some(_) => format!("{}: {} = {}", p.name, p.kind.as_str(), p.default_text()),
                None => format!("{}: {}", p.name, p.kind.as_str()),
            })
            .collect();
        params.join(", ")
    }

    /// The check's pipeline with its params in place: `given` where this
    /// check declares them, defaults elsewhere.
    pub fn source(&self, given: &[(String, String)]) -> std::result::Result<String, CatalogError> {
        let mine: Vec<(String, String)> = given
            .iter()
            .filter(|(key, _)| self.runbook.params().iter().any(|p| &p.name == key))
            .cloned()
            .collect();
        self.runbook
            .source(&mine)
            .map_err(|error| self.error(error, &self.text))
    }

    /// An error about this check, in `text` (the file, or its pipeline).
    pub fn error(&self, error: Error, text: &str) -> CatalogError {
        CatalogError {
            file: self.file.clone(),
            text: text.to_string(),
            error: Box::new(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "# id: SHOAL-0042\n# title: A title\n# level: local\n# why: One line,\n#   and its continuation.\n# source: A source\n# fix: Do this.\n";

    #[test]
    fn a_header_reads_its_fields_and_continuations() {
        let check = Check::parse(
            "x.shoal",
            &format!("{HEADER}param n: int = 3\nhosts | head $n | assert exists host\n"),
        )
        .unwrap();
        assert_eq!(
            (check.id.as_str(), check.level),
            ("SHOAL-0042", Level::Local)
        );
        assert_eq!(check.why, "One line, and its continuation.");
        assert_eq!(check.params_text(), "n: int = 3");
    }

    #[test]
    fn header_mistakes_are_errors_at_their_line() {
        let error = Check::parse("x.shoal", &HEADER.replace("# fix:", "# fx:")).unwrap_err();
        assert_eq!(error.reason, "unknown header field `fx`");
        assert_eq!(error.hints[0], "did you mean 'fix'?");
        assert_eq!(
            error.render_file("x.shoal", HEADER, false).lines().nth(1),
            Some(" --> x.shoal:7:1")
        );
        let error = Check::parse("x.shoal", &HEADER.replace("SHOAL-0042", "CHECK-42")).unwrap_err();
        assert_eq!(error.reason, "`CHECK-42` is not a check id");
        let error = Check::parse("x.shoal", &HEADER.replace("# title: A title\n", "")).unwrap_err();
        assert_eq!(error.reason, "the header has no `title`");
    }

    #[test]
    fn a_duplicate_id_keeps_the_first_file_and_selection_suggests() {
        let catalog = Catalog::from_files([
            ("b.shoal".to_string(), HEADER.to_string()),
            ("a.shoal".to_string(), HEADER.to_string()),
        ]);
        assert_eq!(catalog.checks.len(), 1);
        assert_eq!(catalog.checks[0].file, "a.shoal");
        assert_eq!(catalog.errors[0].file, "b.shoal");
        assert_eq!(
            catalog.errors[0].error.reason,
            "SHOAL-0042 is also the id of a.shoal"
        );
        assert_eq!(catalog.select(&["shoal-0042".into()]).unwrap().len(), 1);
        assert_eq!(catalog.select(&["42".into()]).unwrap().len(), 1);
        assert_eq!(catalog.select(&["SHOAL-42".into()]).unwrap().len(), 1);
        assert_eq!(catalog.select(&["LOCAL".into()]).unwrap().len(), 1);
        let error = catalog.select(&["SHOAL-0043".into()]).unwrap_err();
        assert_eq!(
            error,
            "no check or level `SHOAL-0043`; did you mean 'SHOAL-0042'?"
        );
        let error = catalog.select(&["disk".into()]).unwrap_err();
        assert!(
            error.contains("the levels are liveness, local, dependency, anomaly"),
            "{error}"
        );
    }
}
