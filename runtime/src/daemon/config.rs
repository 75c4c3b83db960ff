//! Reading a daemon's alarm and bot files: one `.shoal` file, or every
//! `.shoal` file of a directory (in name order). Each file is compiled with
//! the language's grammar and catalog, then checked against the engine's
//! inventory as a query is before it runs: the query's groups and columns,
//! the `when` condition's columns, and each bot's `act` on the rows of its
//! alarm's query. Across files, every alarm name is used once and every bot
//! names an alarm that loaded.
//!
//! A file with any error is rejected whole, with the error shown with its
//! file, line and caret; the others load. On a reload, a file that is now
//! wrong keeps the version that loaded before, so a typo saved in one
//! file never stops alarms that were running.

use std::path::{Path, PathBuf};

use shoal_lang::rules::{Alarm, Bot, Rules};
use shoal_lang::{Error, ErrorKind, did_you_mean};
use shoal_stdlib::{Plan, PlannedStatement, Session, Step};

/// One file's declarations, with its text for errors found later.
#[derive(Debug, Clone)]
pub struct File {
    pub path: PathBuf,
    pub source: String,
    pub rules: Rules<Step>,
}

/// What loaded, and every error, rendered.
#[derive(Debug, Default)]
pub struct Loaded {
    pub files: Vec<File>,
    pub errors: Vec<String>,
}

impl Loaded {
    pub fn alarms(&self) -> impl Iterator<Item = (&File, &Alarm<Step>)> {
        self.files
            .iter()
            .flat_map(|file| file.rules.alarms.iter().map(move |alarm| (file, alarm)))
    }

    pub fn bots(&self) -> impl Iterator<Item = (&File, &Bot<Step>)> {
        self.files
            .iter()
            .flat_map(|file| file.rules.bots.iter().map(move |bot| (file, bot)))
    }
}

/// Reads `path` (a file or a directory of `.shoal` files). `previous` is
/// what loaded before, on a reload: a file that is now wrong keeps it.
pub fn load(path: &Path, session: &Session, previous: &[File], color: bool) -> Loaded {
    let mut loaded = Loaded::default();
    let paths = match files(path) {
        Ok(paths) => paths,
        Err(error) => {
            loaded.errors.push(error);
            return loaded;
        }
    };
    for path in paths {
        match std::fs::read_to_string(&path) {
            Err(error) => loaded
                .errors
                .push(format!("error: cannot read {}: {error}\n", path.display())),
            Ok(source) => match compile(&source, session) {
                Ok(rules) => loaded.files.push(File {
                    path,
                    source,
                    rules,
                }),
                Err(error) => {
                    let mut text = error.render_file(&path.display().to_string(), &source, color);
                    if let Some(old) = previous.iter().find(|f| f.path == path) {
                        text.push_str("  = note: the version that loaded before keeps running\n");
                        loaded.files.push(old.clone());
                    }
                    loaded.errors.push(text);
                }
            },
        }
    }
    check_across_files(&mut loaded, session, color);
    loaded
}

/// `path` itself, or the `.shoal` files in it, in name order.
fn files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let cannot = |e: std::io::Error| format!("error: cannot read {}: {e}\n", path.display());
    if !path.is_dir() {
        std::fs::metadata(path).map_err(cannot)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(cannot)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "shoal") && p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "error: {} has no .shoal file of alarms and bots\n",
            path.display()
        ));
    }
    Ok(paths)
}

/// Compiles one file and checks each query, condition and action against
/// the session's inventory.
fn compile(source: &str, session: &Session) -> shoal_lang::Result<Rules<Step>> {
    let rules = shoal_stdlib::compile_rules(source)?;
    for alarm in &rules.alarms {
        check_alarm(alarm, session)?;
    }
    Ok(rules)
}

/// The query plans and runs on the inventory (without contacting a host),
/// and the condition reads only columns the query makes.
fn check_alarm(alarm: &Alarm<Step>, session: &Session) -> shoal_lang::Result<()> {
    let plan = Plan {
        statements: vec![alarm.query.clone()],
    };
    session.check(&plan)?;
    // `None`: the columns come from what hosts print (`kv`, `json`), so the
    // condition is checked on every tick instead.
    let Some(columns) = session.columns_after(&plan) else {
        return Ok(());
    };
    for column in alarm.when.columns() {
        if !columns.contains(&column.name) {
            let mut error = Error::new(
                format!(
                    "the query of alarm `{}` makes no column `{}`",
                    alarm.name, column.name
                ),
                column.span,
            )
            .with_kind(ErrorKind::UnknownColumn);
            if let Some(near) = did_you_mean(&column.name, columns.iter().map(String::as_str)) {
                error = error.with_hint(format!("did you mean '{near}'?"));
            }
            return Err(error.with_hint(format!("its columns: {}", columns.join(", "))));
        }
    }
    Ok(())
}

/// The rows a bot acts on are its alarm's query's, so its `act` is checked
/// after that query, as `QUERY | act ...` would be.
fn check_bot(bot: &Bot<Step>, alarm: &Alarm<Step>, session: &Session) -> shoal_lang::Result<()> {
    let mut ops = alarm.query.ops.clone();
    ops.push(bot.act.clone());
    session.check(&Plan {
        statements: vec![PlannedStatement {
            ops,
            ..alarm.query.clone()
        }],
    })
}

/// Alarm names used once across files; each bot's alarm loaded, and its
/// action fits that alarm's rows. A file with a problem is taken out, which
/// may leave another file's bot without its alarm, so this goes on until
/// nothing changes.
fn check_across_files(loaded: &mut Loaded, session: &Session, color: bool) {
    loop {
        let mut rejected = None;
        'files: for (index, file) in loaded.files.iter().enumerate() {
            for alarm in &file.rules.alarms {
                let first = loaded
                    .alarms()
                    .find(|(_, other)| other.name == alarm.name)
                    .map(|(f, _)| f);
                if let Some(first) = first.filter(|f| f.path != file.path) {
                    let error = Error::new(
                        format!("alarm `{}` is declared twice", alarm.name),
                        alarm.span,
                    )
                    .with_hint(format!("{} declares it too", first.path.display()));
                    rejected = Some((index, error));
                    break 'files;
                }
            }
            for bot in &file.rules.bots {
                let owner = loaded.bots().find(|(_, other)| other.name == bot.name);
                if let Some((first, _)) = owner.filter(|(f, _)| f.path != file.path) {
                    let error =
                        Error::new(format!("bot `{}` is declared twice", bot.name), bot.span)
                            .with_hint(format!("{} declares it too", first.path.display()));
                    rejected = Some((index, error));
                    break 'files;
                }
                let alarm = loaded.alarms().find(|(_, alarm)| alarm.name == bot.alarm);
                let error = match alarm {
                    Some((_, alarm)) => check_bot(bot, alarm, session).err(),
                    None => Some(unknown_alarm(bot, loaded)),
                };
                if let Some(error) = error {
                    rejected = Some((index, error));
                    break 'files;
                }
            }
        }
        let Some((index, error)) = rejected else {
            return;
        };
        let file = loaded.files.remove(index);
        loaded.errors.push(error.render_file(
            &file.path.display().to_string(),
            &file.source,
            color,
        ));
    }
}

fn unknown_alarm(bot: &Bot<Step>, loaded: &Loaded) -> Error {
    let names: Vec<&str> = loaded.alarms().map(|(_, a)| a.name.as_str()).collect();
    let error = Error::new(
        format!("bot `{}` is on an unknown alarm `{}`", bot.name, bot.alarm),
        bot.alarm_span,
    );
    match did_you_mean(&bot.alarm, names.iter().copied()) {
        Some(near) => error.with_hint(format!("did you mean '{near}'?")),
        None if names.is_empty() => {
            error.with_hint("no alarm loaded: declare one with `alarm NAME every DUR`")
        }
        None => error.with_hint(format!("the alarms: {}", names.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_stdlib::safety::Safety;

    const ALARM: &str = "alarm app every 1s\n  query hosts @web | run \"cat /etc/app/health\" as health\n  when health != OK\n";

    /// The example fleet (stdlib/src/example_fleet.rs), as the daemon's engine sets it up.
    fn session() -> Session {
        let mut session = Session::new(shoal_stdlib::example_fleet::fleet());
        session.safety = Safety {
            yes: true,
            ..Safety::default()
        };
        session
    }

    fn load_files(files: &[(&str, &str)], previous: &[File]) -> (Loaded, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        (load(dir.path(), &session(), previous, false), dir)
    }

    fn names(loaded: &Loaded) -> Vec<String> {
        loaded
            .files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_bad_file_is_rejected_with_its_place_and_the_others_load() {
        let (loaded, _dir) = load_files(
            &[
                ("a.shoal", ALARM),
                (
                    "b.shoal",
                    "bot fix on ap\n  act \"touch /x\" batch=1\n  limit 2 per 1h\n",
                ),
                (
                    "c.shoal",
                    "alarm db every 1s\n  query hosts @dbs\n  when exists host\n",
                ),
                (
                    "d.shoal",
                    "alarm x every 1s\n  query hosts | run \"true\" as ok\n  when helth = 1\n",
                ),
                ("notes.txt", "not a .shoal file"),
            ],
            &[],
        );
        assert_eq!(names(&loaded), ["a.shoal"]);
        let errors = loaded.errors.join("\n");
        assert!(
            errors.contains("b.shoal:1:12") && errors.contains("did you mean 'app'?"),
            "{errors}"
        );
        assert!(
            errors.contains("c.shoal:2:9") && errors.contains("did you mean '@db'?"),
            "{errors}"
        );
        assert!(
            errors.contains("d.shoal:3:8") && errors.contains("makes no column `helth`"),
            "{errors}"
        );
    }

    #[test]
    fn a_bot_may_use_another_files_alarm_and_names_are_used_once() {
        let bot = "bot fix on app\n  act \"systemctl restart {role}\"\n  limit 2 per 1h\n";
        let (loaded, _dir) = load_files(
            &[("a.shoal", ALARM), ("b.shoal", bot), ("c.shoal", ALARM)],
            &[],
        );
        assert_eq!(names(&loaded), ["a.shoal", "b.shoal"]);
        let errors = loaded.errors.join("\n");
        assert!(
            errors.contains("alarm `app` is declared twice") && errors.contains("c.shoal:1:7"),
            "{errors}"
        );
    }

    #[test]
    fn on_a_reload_a_file_that_broke_keeps_its_old_version() {
        let (first, _dir) = load_files(&[("a.shoal", ALARM)], &[]);
        let dir = first.files[0].path.parent().unwrap().to_path_buf();
        std::fs::write(dir.join("a.shoal"), "alarm app every 1s\n  query hosts |\n").unwrap();
        let again = load(&dir, &session(), &first.files, false);
        assert_eq!(again.files.len(), 1);
        assert_eq!(again.files[0].source, ALARM);
        assert!(
            again.errors[0].contains("keeps running"),
            "{:?}",
            again.errors
        );
    }
}
