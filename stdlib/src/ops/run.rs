//! `run "CMD" [timeout=DUR] [as NAME]`: runs a command on every host of the
//! input and adds its result columns to each host's row.
//!
//! A `{column}` in CMD is the row's value of that column, shell-quoted
//! (placeholder rules in `shoal_lang`'s shell.rs). A row whose value is null
//! does not run: its host gets status `error` and the reason, never a gap.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use indexmap::IndexSet;
use polars::prelude::*;
use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::plan::{BUILTIN_COLUMNS, CommandPart};
use shoal_lang::{
    Args, Error, Kind, Millis, Param, Result, Signature, Span, command_template, render_command,
};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::executor::{HostOutcome, RunRequest, Status};
use crate::frame::{self, internal, texts};
use crate::fused_stages::HostSide;

pub struct Run;

static SIGNATURE: Signature = Signature {
    name: "run",
    aliases: &[],
    summary: "Runs CMD on every host in parallel and adds stdout, stderr, exit, status, error and duration_ms; `{col}` in CMD is the host's value of col, shell-quoted (`{{` for a literal brace); `as NAME` also copies stdout into NAME.",
    help: "Consecutive `run` and `facts` stages are fused: each host gets their commands as one batch, one round trip for all of them (`--explain` lists the groups as `fused_stages`), each command still with its own output, exit, status, time limit and 1 MiB cap. A stage whose command reads a column an earlier one of the group writes (`run \"x\" as v | run \"echo {v}\"`) starts a new group, and so does any other stage between two runs: `run A | filter ... | run B` never runs B on a host the filter dropped. On a host where a stage of the group times out or loses its connection, the later stages of the group do not start: their rows are `error`, \"not run\", naming the stage that stopped them; `independent=true` runs a stage there anyway, on its own. A host that could not be reached reports so for every stage.",
    params: &[Param::arg("command", Kind::Text, "\"CMD\"")],
    options: &[
        Param::option("timeout", Kind::Duration, "DUR")
            .example("5s")
            .doc("how long each host may take"),
        Param::option("independent", Kind::Choice(&["true", "false"]), "true")
            .doc("independent=true runs it even on a host where an earlier stage fused with it timed out"),
    ],
    takes_as: true,
    data_columns: false,
};

impl Operator for Run {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Every host answers with a row, failed ones included",
                query: "hosts | run \"cat /etc/app/version\" | select host, stdout, exit, status, error",
                output: "\
host     stdout  exit  status       error
web01    2.1.0   0     ok
web02    2.1.0   0     ok
web03    2.0.9   0     ok
db01     2.1.0   0     ok
db02     2.1.0   0     ok
cache01                unreachable  connect to 10.0.3.1:22: connection refused
",
            },
            Example {
                description: "Two commands side by side",
                query: "hosts @web | run \"nproc\" as cpus | run \"cat /etc/app/version\" as version_file | select host, cpus, version_file",
                output: "\
host   cpus  version_file
web01  4     2.1.0
web02  4     2.1.0
web03  4     2.0.9
",
            },
            Example {
                description: "A column's value in the command, shell-quoted: web hosts run `systemctl is-active 'web'`",
                query: "hosts | run \"systemctl is-active {role}\" | select host, role, stdout, status",
                output: "\
host     role   stdout  status
web01    web    active  ok
web02    web    active  ok
web03    web    active  ok
db01     db     active  ok
db02     db     active  ok
cache01  cache          unreachable
",
            },
            Example {
                description: "A host whose value is null does not run the command",
                query: "hosts db01,cache01 | run \"cat /etc/app/version\" as version | run \"systemctl is-active app@{version}\" | select host, version, status, error",
                output: "\
host     version  status  error
db01     2.1.0    ok
cache01           error   `{version}` is null on this host
",
            },
            Example {
                description: "Stages fused with one that timed out do not start on that host",
                query: "hosts @db | run \"sleep 30\" timeout=2s | run \"nproc\" as cpus | select host, cpus, status, error",
                output: "\
host  cpus  status  error
db01        error   not run: `sleep 30`, fused before it, ended `timeout`
db02        error   not run: `sleep 30`, fused before it, ended `timeout`
",
            },
            Example {
                description: "`independent=true` runs a fused stage even where an earlier one timed out",
                query: "hosts @db | run \"sleep 30\" timeout=2s | run \"nproc\" independent=true as cpus | select host, cpus, status",
                output: "\
host  cpus  status
db01  8     ok
db02  8     ok
",
            },
            Example {
                description: "A per-stage timeout",
                query: "hosts @db | run \"sleep 30\" timeout=2s | select host, status, error",
                output: "\
host  status   error
db01  timeout  `sleep 30` timed out after 2s
db02  timeout  `sleep 30` timed out after 2s
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let command: Value = args.require("command")?;
        if command.text.trim().is_empty() {
            return Err(Error::new("`run` needs a command", command.span)
                .with_hint("for example: run \"uptime\""));
        }
        if let Some(ident) = &args.as_name
            && BUILTIN_COLUMNS.contains(&ident.name.as_str())
        {
            return Err(Error::new(
                format!("`as {}` would overwrite a built-in column", ident.name),
                ident.span,
            )
            .with_hint("pick another name, for example `as kernel`"));
        }
        Ok(Op::new(RunOp {
            template: command_template(&command)?,
            command: command.text,
            timeout_ms: args.get::<Millis>("timeout")?.map(|m| m.0),
            independent: args.get::<String>("independent")?.as_deref() == Some("true"),
            name: args.as_name.map(|ident| ident.name),
            span: args.span,
        }))
    }
}

/// `run`: the command, split at its placeholders, and how long it may take.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "run")]
pub(crate) struct RunOp {
    /// The command as written, which progress lines show.
    command: String,
    /// The command split at its `{column}` placeholders (shoal_lang's
    /// shell.rs), with `{{` and `}}` already one brace: each host runs the
    /// text with its own values shell-quoted into place.
    template: Vec<CommandPart>,
    /// The per-stage timeout; `None` uses the executor's default.
    timeout_ms: Option<u64>,
    /// `independent=true`: runs on hosts where an earlier stage fused with
    /// it stopped the host's batch (fused_stages.rs).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    independent: bool,
    /// `as NAME`: stdout is also copied into this column.
    name: Option<String>,
    #[serde(skip)]
    span: Span,
}

impl Stage for RunOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let RunOp {
            command,
            template,
            timeout_ms,
            name,
            span,
            independent: _,
        } = self;
        seatbelt(command, *span, ctx)?;
        let commands = row_commands(&input, template)?;
        let timeout = timeout_ms.map(Duration::from_millis);
        let outcomes = run_on_rows(&input, "run", command, commands, timeout, *span, ctx)?;
        let rows: Vec<&HostOutcome> = outcomes.rows().map(|a| &a.outcome).collect();
        add_result_columns(input, &rows, name.as_deref())
    }

    fn host_side(&self) -> Option<HostSide> {
        let reads = self
            .template
            .iter()
            .filter_map(|part| match part {
                CommandPart::Column(column) => Some(column.name.clone()),
                CommandPart::Text(_) => None,
            })
            .collect();
        let writes = RESULT_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(self.name.clone())
            .collect();
        Some(HostSide {
            reads,
            writes: Some(writes),
            independent: self.independent,
        })
    }
}

/// The columns every `run` writes, in the order it adds them.
const RESULT_COLUMNS: [&str; 6] = ["stdout", "stderr", "exit", "status", "error", "duration_ms"];

/// `run` is the read path: a command that looks like a change is refused
/// (before any host is contacted: `Session::check` sees it), unless
/// `--force-run`.
fn seatbelt(command: &str, span: Span, ctx: &EvalContext<'_>) -> Result<()> {
    if ctx.safety.force_run {
        return Ok(());
    }
    match crate::seatbelt::looks_like_a_change(command) {
        None => Ok(()),
        Some(why) => Err(Error::new(
            format!("`run` is the read path, and this command looks like a change: {why}"),
            span,
        )
        .with_hint("change hosts with `act`, in waves behind a canary: act \"CMD\" batch=1,10%")
        .with_hint("if it only reads, pass --force-run")
        .with_kind(shoal_lang::ErrorKind::Definite)),
    }
}

/// What one row's host is to run: the command, or why it cannot (which
/// becomes the row's `error`).
pub(crate) type RowCommand<'a> = std::result::Result<Cow<'a, str>, String>;

/// Each row's command: the template with the row's values shell-quoted into
/// its placeholders. A placeholder naming no column fails the whole stage
/// before anything runs.
pub(crate) fn row_commands<'a>(input: &DataFrame, template: &'a [CommandPart]) -> Result<Vec<RowCommand<'a>>> {
    if let [CommandPart::Text(text)] = template {
        return Ok(vec![Ok(Cow::Borrowed(text.as_str())); input.height()]);
    }
    let mut values: HashMap<&str, Vec<Option<String>>> = HashMap::new();
    for part in template {
        if let CommandPart::Column(column) = part {
            values.insert(&column.name, texts(frame::column(input, column)?)?);
        }
    }
    Ok((0..input.height())
        .map(|row| {
            render_command(template, |column| {
                values.get(column.name.as_str())?.get(row)?.as_deref()
            })
            .map(Cow::Owned)
        })
        .collect())
}

/// One host's outcome, and when shoal received it.
pub(crate) struct Arrival {
    pub(crate) outcome: HostOutcome,
    /// The wall-clock time the result arrived, which `facts` sets each
    /// host's clock against.
    pub(crate) at: SystemTime,
}

/// The outcomes of running commands on the hosts of a frame: one per host
/// and distinct command, and for each row the one it belongs to.
pub(crate) struct RowOutcomes {
    runs: Vec<Arrival>,
    row_run: Vec<usize>,
}

impl RowOutcomes {
    /// Each row's outcome, in row order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = &Arrival> {
        self.row_run.iter().map(|&run| &self.runs[run])
    }
}

/// Runs each row's command on the row's host (`input`'s `host` column),
/// telling the observer as hosts finish (`label` names the run on the
/// progress line). `stage` and `span` locate the error when there is no
/// `host` column.
///
/// A host runs each distinct command once, however many rows ask for it.
/// Hosts run in parallel, as the executor allows, each with its own
/// rendered command; only a host asked for two different commands runs the
/// second after the first.
pub(crate) fn run_on_rows(
    input: &DataFrame,
    stage: &str,
    label: &str,
    commands: Vec<RowCommand<'_>>,
    timeout: Option<Duration>,
    span: Span,
    ctx: &mut EvalContext<'_>,
) -> Result<RowOutcomes> {
    let host_column = input.column("host").map_err(|_| {
        Error::new(
            format!("`{stage}` needs a `host` column to know where to run"),
            span,
        )
        .with_hint(format!(
            "{stage} before `select`, `count` or `distinct` drop the host column"
        ))
    })?;
    let row_hosts: Vec<String> = texts(host_column)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();

    // The distinct (host, command) runs, in first-seen order so that hosts
    // start in the order the user sees them.
    let mut runs: IndexSet<(&str, &str)> = IndexSet::new();
    let targets: Vec<std::result::Result<usize, &str>> = row_hosts
        .iter()
        .zip(&commands)
        .map(|(host, command)| match command {
            Ok(command) => Ok(runs.insert_full((host.as_str(), command.as_ref())).0),
            Err(reason) => Err(reason.as_str()),
        })
        .collect();
    let unrunnable = targets.iter().filter(|t| t.is_err()).count();
    ctx.observer.run_started(label, runs.len() + unrunnable);

    // One slot per run, then one per row that cannot run, which ends before
    // anything starts.
    let mut slots: Vec<Option<Arrival>> = Vec::with_capacity(runs.len() + unrunnable);
    slots.resize_with(runs.len(), || None);
    let mut row_run = Vec::with_capacity(targets.len());
    for (target, host) in targets.into_iter().zip(&row_hosts) {
        row_run.push(match target {
            Ok(run) => run,
            Err(reason) => {
                let outcome = HostOutcome::not_run(Status::Error, reason);
                ctx.observer.host_finished(host, &outcome);
                slots.push(Some(Arrival {
                    outcome,
                    at: SystemTime::now(),
                }));
                slots.len() - 1
            }
        });
    }

    // One executor run per round, each host at most once per round: nearly
    // always a single round, in which every host runs its own rendered
    // command in parallel. A host asked for two different commands (rows
    // repeated by `lines`, say) runs the second in the next round.
    let mut rounds: Vec<(Vec<String>, Vec<String>, Vec<usize>)> = Vec::new();
    let mut round_of_host: HashMap<&str, usize> = HashMap::new();
    for (run, &(host, command)) in runs.iter().enumerate() {
        let round = round_of_host.entry(host).or_insert(0);
        if *round == rounds.len() {
            rounds.push(Default::default());
        }
        let (hosts, commands, host_runs) = &mut rounds[*round];
        hosts.push(host.to_string());
        commands.push(command.to_string());
        host_runs.push(run);
        *round += 1;
    }
    for (hosts, commands, host_runs) in rounds {
        // Every host the same command (no placeholders, or equal values):
        // a plain request, as every executor understands it.
        let same = commands.windows(2).all(|pair| pair[0] == pair[1]);
        let request = match commands.first() {
            Some(command) if same => RunRequest {
                command: command.clone(),
                per_host: Vec::new(),
                timeout,
            },
            _ => RunRequest {
                command: label.to_string(),
                per_host: commands,
                timeout,
            },
        };
        ctx.executor.run(&hosts, &request, &mut |index, outcome| {
            // Read the clock first: the observer may take time drawing.
            let at = SystemTime::now();
            if let (Some(host), Some(&run)) = (hosts.get(index), host_runs.get(index)) {
                ctx.observer.host_finished(host, &outcome);
                slots[run] = Some(Arrival { outcome, at });
            }
        });
    }
    ctx.observer.run_finished();
    let runs: Vec<Arrival> = slots
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| Arrival {
                outcome: HostOutcome::not_run(
                    Status::Error,
                    "the executor reported no result for this host",
                ),
                at: SystemTime::now(),
            })
        })
        .collect();
    Ok(RowOutcomes { runs, row_run })
}

/// Adds (or replaces) the run columns, in the documented order.
pub(crate) fn add_result_columns(
    mut df: DataFrame,
    rows: &[&HostOutcome],
    name: Option<&str>,
) -> Result<DataFrame> {
    // Output exists only where the command ran (`HostOutcome::ran`).
    let text = |pick: fn(&HostOutcome) -> &str| -> Vec<Option<&str>> {
        rows.iter().map(|o| o.ran().then(|| pick(o))).collect()
    };
    let stdout = text(|o| &o.stdout);
    let [stdout_name, stderr_name, exit_name, status_name, error_name, duration_name] =
        RESULT_COLUMNS;
    let mut columns = vec![
        Column::new(stdout_name.into(), &stdout),
        Column::new(stderr_name.into(), text(|o| &o.stderr)),
        Column::new(
            exit_name.into(),
            rows.iter().map(|o| o.exit).collect::<Vec<_>>(),
        ),
        Column::new(
            status_name.into(),
            rows.iter().map(|o| o.status.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            error_name.into(),
            rows.iter().map(|o| o.error.as_deref()).collect::<Vec<_>>(),
        ),
        Column::new(
            duration_name.into(),
            rows.iter()
                .map(|o| u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX))
                .collect::<Vec<_>>(),
        ),
    ];
    if let Some(name) = name {
        columns.push(Column::new(name.into(), &stdout));
    }
    for column in columns {
        df.with_column(column).map_err(internal)?;
    }
    Ok(df)
}
