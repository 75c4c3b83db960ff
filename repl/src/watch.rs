//! `shoal watch --every 10s -c QUERY` and `:watch 10s QUERY` in the shell:
//! the query again on a schedule, over the same engine, so the connection
//! pool stays warm between ticks.
//!
//! On a terminal each tick redraws the screen in place; otherwise each tick
//! is a block of its own under a header line, so a log file reads tick by
//! tick. A `change` column in front marks the rows that are `new` since the
//! last tick or `changed` (a row is the same row when its `host` is; without
//! a `host` column, when its first column is). Ctrl-C stops: during a
//! query it cancels it first, as it always does.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use polars::prelude::*;
use shoal_runtime::{Engine, Error};
use shoal_stdlib::frame::texts;

use crate::output::Printer;
use crate::render::render_error;

/// The column that marks new and changed rows.
const MARK: &str = "change";

/// How often the wait between ticks looks for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

/// How watching ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Ctrl-C.
    Stopped,
    /// The query does not compile, or a statement failed.
    Failed,
}

/// Runs `source` every `every` until Ctrl-C.
pub fn watch(engine: &mut Engine, printer: &Printer, every: Duration, source: &str) -> Ended {
    if let Err(error) = engine.compile(source) {
        eprint!("{}", render_error(&error, source, printer.color));
        return Ended::Failed;
    }
    let presses = interrupts();
    let seen = presses.load(Ordering::SeqCst);
    let stopped = || presses.load(Ordering::SeqCst) != seen;
    let mut previous: Option<HashMap<String, String>> = None;
    let mut tick = 0u64;
    loop {
        tick += 1;
        let started = Instant::now();
        let frame = match engine.query(source) {
            Ok(frame) => frame,
            Err(Error::Cancelled { .. }) => return Ended::Stopped,
            Err(error) => {
                eprint!("{}", error.render(source, printer.color));
                return Ended::Failed;
            }
        };
        let took = started.elapsed();
        let (marked, rows) = match mark(&frame, previous.as_ref()) {
            Ok(marked) => marked,
            Err(error) => {
                eprintln!("error: {error}");
                return Ended::Failed;
            }
        };
        previous = Some(rows);
        let header = format!(
            "every {} · tick {tick} · {} · {:.2} s · Ctrl-C stops",
            humantime(every),
            shoal_runtime::store::timestamp(shoal_runtime::store::now_ms()),
            took.as_secs_f64()
        );
        let mut stdout = std::io::stdout().lock();
        if printer.terminal {
            // Home and clear: the table is redrawn in place.
            let _ = write!(stdout, "\x1b[H\x1b[2J{header}\n\n");
        } else {
            let _ = writeln!(stdout, "{}--- {header}", if tick > 1 { "\n" } else { "" });
        }
        let _ = stdout.flush();
        drop(stdout);
        printer.print(&marked);
        let next = started + every;
        while Instant::now() < next {
            if stopped() {
                return Ended::Stopped;
            }
            std::thread::sleep(POLL.min(next.saturating_duration_since(Instant::now())));
        }
        if stopped() {
            return Ended::Stopped;
        }
    }
}

/// The frame with a `change` column in front, and each row's key and text
/// for the next tick. Nothing is marked on the first tick.
fn mark(
    frame: &DataFrame,
    previous: Option<&HashMap<String, String>>,
) -> Result<(DataFrame, HashMap<String, String>), String> {
    let columns: Vec<Vec<Option<String>>> = frame
        .columns()
        .iter()
        .map(|c| texts(c).map_err(|e| e.reason))
        .collect::<Result<_, _>>()?;
    let key_column = frame
        .get_column_names()
        .iter()
        .position(|name| name.as_str() == "host")
        .unwrap_or(0);
    let mut rows = HashMap::new();
    let mut marks = Vec::with_capacity(frame.height());
    for row in 0..frame.height() {
        let key = columns
            .get(key_column)
            .and_then(|c| c[row].clone())
            .unwrap_or_default();
        let text: Vec<String> = columns
            .iter()
            .map(|c| c[row].clone().unwrap_or_default())
            .collect();
        let text = text.join("\u{1f}");
        marks.push(match previous.map(|p| p.get(&key)) {
            None => "",
            Some(None) => "new",
            Some(Some(before)) if *before != text => "changed",
            Some(Some(_)) => "",
        });
        rows.insert(key, text);
    }
    let mut out = vec![Column::new(MARK.into(), marks)];
    out.extend(
        frame
            .columns()
            .iter()
            .filter(|c| c.name().as_str() != MARK)
            .cloned(),
    );
    let marked = DataFrame::new(frame.height(), out).map_err(|e| e.to_string())?;
    Ok((marked, rows))
}

/// Ctrl-C presses, counted from a thread that listens for SIGINT for the
/// rest of the process: watching ends when the count moves.
fn interrupts() -> &'static AtomicU64 {
    static PRESSES: OnceLock<&'static AtomicU64> = OnceLock::new();
    PRESSES.get_or_init(|| {
        let presses: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        let listening = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .and_then(|runtime| {
                let stream = {
                    let _entered = runtime.enter();
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?
                };
                Ok((runtime, stream))
            });
        if let Ok((runtime, mut stream)) = listening {
            std::thread::spawn(move || {
                runtime.block_on(async {
                    while stream.recv().await.is_some() {
                        presses.fetch_add(1, Ordering::SeqCst);
                    }
                })
            });
        }
        presses
    })
}

/// `10s`, `200ms`, `2m`: the interval as it is written.
fn humantime(every: Duration) -> String {
    match every.as_millis() {
        ms if ms > 0 && ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms > 0 && ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_changed_rows_are_marked_by_host() {
        let first = df!("host" => ["a", "b"], "v" => ["1", "2"]).unwrap();
        let (marked, rows) = mark(&first, None).unwrap();
        assert_eq!(marked.get_column_names()[0].as_str(), "change");
        let marks = |frame: &DataFrame| texts(frame.column("change").unwrap()).unwrap();
        assert_eq!(marks(&marked), [Some(String::new()), Some(String::new())]);
        let second = df!("host" => ["a", "b", "c"], "v" => ["1", "3", "4"]).unwrap();
        let (marked, _) = mark(&second, Some(&rows)).unwrap();
        assert_eq!(
            marks(&marked),
            [
                Some(String::new()),
                Some("changed".into()),
                Some("new".into())
            ]
        );
    }

    #[test]
    fn intervals_print_as_written() {
        assert_eq!(humantime(Duration::from_secs(10)), "10s");
        assert_eq!(humantime(Duration::from_secs(120)), "2m");
        assert_eq!(humantime(Duration::from_millis(1500)), "1500ms");
    }
}
