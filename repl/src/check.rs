//! `shoal check [LEVEL|ID ...] [--dir DIR] [--param KEY=VALUE ...]`: runs
//! checks of the catalog (shoal-stdlib's `checks`) on every host, and prints
//! one row per (check, host), then a summary with the fix of each check that
//! failed.
//!
//! Every check's first command on a host goes out in one fused command per
//! host, over the pooled connections, and each check is then its own job in
//! the job store (shoal-runtime's `Engine::run_checks`). Exit 0 when every row passes; 1
//! when any is `fail`, `error` or `unknown`; 2 when nothing could run, or
//! every check passed but some file of the catalog is broken (those are
//! reported with file and line, and the rest still runs).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use shoal_runtime::checks::ChecksRun;
use shoal_stdlib::checks::{Catalog, CatalogError, Check, CheckStatus, results_frame};
use shoal_stdlib::runbook;

use crate::cli::{
    EXIT_HOSTS_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Options, fail, open_engine, printer,
};
use crate::progress::Progress;
use crate::render::{render_error_in, visible};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Levels (liveness, local, dependency, anomaly) or check ids (SHOAL-0007) to run; none runs every check.
    #[arg(value_name = "LEVEL|ID")]
    pub selectors: Vec<String>,
    /// Run the checks of this directory (its *.shoal files) instead of those shoal ships.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A check parameter, given to every selected check that declares it (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = runbook::parse_param)]
    pub params: Vec<(String, String)>,
}

/// Runs `shoal check`.
pub fn run(args: &CheckArgs, options: &Options, color: bool) -> ExitCode {
    let read;
    let catalog = match &args.dir {
        Some(dir) => match read_dir(dir) {
            Ok(catalog) => {
                read = catalog;
                &read
            }
            Err(message) => return fail(&message),
        },
        None => Catalog::builtin(),
    };
    let mut broken = catalog.errors.len();
    for error in &catalog.errors {
        eprint!("{}", show(error, color));
    }
    let selected = match catalog.select(&args.selectors) {
        Ok(selected) => selected,
        Err(message) => return fail(&format!("error: {message}\n")),
    };
    if selected.is_empty() {
        return fail("error: there is no check to run\n");
    }
    if let Err(message) = known_params(&selected, &args.params, color) {
        return fail(&message);
    }
    let Some(mut engine) = open_engine(options) else {
        return ExitCode::from(EXIT_USAGE);
    };
    let started = Instant::now();
    let show_bar = !options.quiet && std::io::stderr().is_terminal();
    let mut progress = Progress::new(show_bar, false).with_queue(engine.connection_queue());
    let run = engine.run_checks(&selected, &args.params, &mut progress);
    broken += run.broken.len();
    for error in &run.broken {
        eprint!("{}", show(error, color));
    }
    match results_frame(&run.rows) {
        Ok(frame) => printer(options).print(&frame),
        Err(error) => eprintln!("error: {}", visible(&error.reason)),
    }
    if let Some(warning) = &run.store_warning {
        eprintln!("{}", visible(warning));
    }
    if !options.quiet {
        let hosts = engine.session().fleet.hosts.len();
        eprint!("{}", summary(&run, hosts, started.elapsed().as_secs_f64()));
    }
    if run.interrupted {
        eprintln!("cancelled: the rows above are the checks that finished before Ctrl-C");
        ExitCode::from(EXIT_INTERRUPTED)
    } else if run.rows.iter().any(|r| r.status != CheckStatus::Pass) {
        ExitCode::from(EXIT_HOSTS_FAILED)
    } else if broken > 0 {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

/// The `.shoal` files of `dir` as a catalog.
fn read_dir(dir: &Path) -> Result<Catalog, String> {
    let cannot = |e: std::io::Error| format!("error: cannot read {}: {e}\n", dir.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(cannot)? {
        let path = entry.map_err(cannot)?.path();
        if path.extension().is_some_and(|e| e == "shoal") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("error: cannot read {}: {e}\n", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    if files.is_empty() {
        return Err(format!("error: {} holds no .shoal file\n", dir.display()));
    }
    Ok(Catalog::from_files(files))
}

/// Every `--param` names a param of some selected check, and has the type
/// each of them declares: a mistake is found before any host is contacted,
/// shown at the param's line.
fn known_params(
    selected: &[&Check],
    params: &[(String, String)],
    color: bool,
) -> Result<(), String> {
    let declared: Vec<&str> = selected
        .iter()
        .flat_map(|c| c.runbook.params())
        .map(|p| p.name.as_str())
        .collect();
    for (key, value) in params {
        if !declared.contains(&key.as_str()) {
            let mut message = format!("error: no selected check has a param `{key}`");
            if let Some(near) = shoal_lang::did_you_mean(key, declared.iter().copied()) {
                let _ = write!(message, "; did you mean '{near}'?");
            }
            message.push('\n');
            return Err(message);
        }
        for check in selected {
            let typed = check.runbook.params().iter().find(|p| &p.name == key);
            if let Some(Err(error)) = typed.map(|p| p.check(value)) {
                return Err(render_error_in(
                    &error,
                    Some(&check.file),
                    &check.text,
                    color,
                ));
            }
        }
    }
    Ok(())
}

fn show(error: &CatalogError, color: bool) -> String {
    render_error_in(&error.error, Some(&error.file), &error.text, color)
}

/// The counts per check and status, then the fix of each check that failed.
fn summary(run: &ChecksRun<'_>, hosts: usize, seconds: f64) -> String {
    let (ran, rows) = (&run.ran, &run.rows);
    let count = |id: Option<&str>, status: CheckStatus| {
        rows.iter()
            .filter(|r| id.is_none_or(|id| r.id == id) && r.status == status)
            .count()
    };
    let totals: Vec<String> = CheckStatus::ALL
        .iter()
        .map(|&s| format!("{} {}", count(None, s), s.as_str()))
        .collect();
    let mut out = format!(
        "\n{} checks on {} hosts: {} · {seconds:.2} s ({:.2} s the fused round trip)\n",
        ran.len(),
        hosts,
        totals.join(", "),
        run.round_trip.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "{:<11} {:<10} {:>4} {:>4} {:>5} {:>7}  title",
        "check", "level", "pass", "fail", "error", "unknown"
    );
    for check in ran.iter() {
        let n = |s| count(Some(&check.id), s);
        let _ = writeln!(
            out,
            "{:<11} {:<10} {:>4} {:>4} {:>5} {:>7}  {}",
            check.id,
            check.level.as_str(),
            n(CheckStatus::Pass),
            n(CheckStatus::Fail),
            n(CheckStatus::Error),
            n(CheckStatus::Unknown),
            check.title
        );
    }
    let failing: Vec<&&Check> = ran
        .iter()
        .filter(|check| count(Some(&check.id), CheckStatus::Fail) > 0)
        .collect();
    if !failing.is_empty() {
        out.push_str("\nFailing:\n");
        for check in failing {
            let hosts: Vec<&str> = rows
                .iter()
                .filter(|r| r.id == check.id && r.status == CheckStatus::Fail)
                .map(|r| r.host.as_str())
                .collect();
            let _ = writeln!(
                out,
                "  {} {} on {}\n    fix: {}",
                check.id,
                check.title,
                shoal_lang::fold_hosts(&hosts),
                check.fix
            );
        }
    }
    visible(&out).into_owned()
}
