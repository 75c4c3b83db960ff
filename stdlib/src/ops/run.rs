//! `run "CMD" [timeout=DUR] [as NAME]`: runs a command on every host of the
//! input and adds its result columns to each host's row.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use indexmap::IndexSet;
use polars::prelude::*;
use shoal_lang::plan::Op;
use shoal_lang::{Error, Result, Span};

use super::{Example, Operator, wrong_op};
use crate::eval::EvalContext;
use crate::executor::{HostOutcome, RunRequest, Status};
use crate::frame::{internal, texts};

pub struct Run;

impl Operator for Run {
    fn name(&self) -> &'static str {
        "run"
    }
    fn usage(&self) -> &'static str {
        "run \"CMD\" [timeout=DUR] [as NAME]"
    }
    fn description(&self) -> &'static str {
        "Runs CMD on every host in parallel and adds stdout, stderr, exit, status, error and duration_ms; `as NAME` also copies stdout into NAME."
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
    fn eval(&self, op: &Op, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let Op::Run {
            command,
            timeout_ms,
            name,
            span,
        } = op
        else {
            return Err(wrong_op("run", op));
        };
        let request = RunRequest {
            command: command.clone(),
            timeout: timeout_ms.map(Duration::from_millis),
        };
        let outcomes = run_on_rows(&input, "run", command, &request, *span, ctx)?;
        let rows: Vec<&HostOutcome> = outcomes.rows().map(|a| &a.outcome).collect();
        add_result_columns(input, &rows, name.as_deref())
    }
}

/// One host's outcome, and when shoal received it.
pub(crate) struct Arrival {
    pub(crate) outcome: HostOutcome,
    /// The wall-clock time the result arrived, which `facts` sets each
    /// host's clock against.
    pub(crate) at: SystemTime,
}

/// The outcomes of one command run on the hosts of a frame: one per host,
/// and for each row the host it belongs to.
pub(crate) struct RowOutcomes {
    hosts: Vec<Arrival>,
    row_host: Vec<usize>,
}

impl RowOutcomes {
    /// Each row's outcome, in row order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = &Arrival> {
        self.row_host.iter().map(|&host| &self.hosts[host])
    }
}

/// Runs `request` once on each host of `input`'s `host` column, telling the
/// observer as hosts finish (`label` names the run on the progress line).
/// `stage` and `span` locate the error when there is no `host` column.
pub(crate) fn run_on_rows(
    input: &DataFrame,
    stage: &str,
    label: &str,
    request: &RunRequest,
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
    // A host may appear on several rows; it still runs the command once.
    // First-seen order, so hosts start in the order the user sees them.
    let hosts: IndexSet<String> = row_hosts.iter().cloned().collect();
    let hosts: Vec<String> = hosts.into_iter().collect();
    let index_of: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();

    ctx.observer.run_started(label, hosts.len());
    let mut arrivals: Vec<Option<Arrival>> = Vec::new();
    arrivals.resize_with(hosts.len(), || None);
    ctx.executor.run(&hosts, request, &mut |index, outcome| {
        // Read the clock first: the observer may take time drawing.
        let at = SystemTime::now();
        if let Some(slot) = arrivals.get_mut(index) {
            ctx.observer.host_finished(&hosts[index], &outcome);
            *slot = Some(Arrival { outcome, at });
        }
    });
    ctx.observer.run_finished();
    let arrivals: Vec<Arrival> = arrivals
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
    Ok(RowOutcomes {
        hosts: arrivals,
        row_host: row_hosts.iter().map(|h| index_of[h.as_str()]).collect(),
    })
}

/// Adds (or replaces) the run columns, in the documented order.
pub(crate) fn add_result_columns(
    mut df: DataFrame,
    rows: &[&HostOutcome],
    name: Option<&str>,
) -> Result<DataFrame> {
    // Output exists only where the command ran; elsewhere it is null, so
    // "missing" never looks like "printed nothing". A command cut short by a
    // timeout, Ctrl-C or a lost connection keeps what it printed.
    let ran = |o: &HostOutcome| {
        o.exit.is_some()
            || o.status == Status::Timeout
            || !o.stdout.is_empty()
            || !o.stderr.is_empty()
    };
    let text = |pick: fn(&HostOutcome) -> &str| -> Vec<Option<&str>> {
        rows.iter().map(|o| ran(o).then(|| pick(o))).collect()
    };
    let stdout = text(|o| &o.stdout);
    let mut columns = vec![
        Column::new("stdout".into(), &stdout),
        Column::new("stderr".into(), text(|o| &o.stderr)),
        Column::new(
            "exit".into(),
            rows.iter().map(|o| o.exit).collect::<Vec<_>>(),
        ),
        Column::new(
            "status".into(),
            rows.iter().map(|o| o.status.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "error".into(),
            rows.iter().map(|o| o.error.as_deref()).collect::<Vec<_>>(),
        ),
        Column::new(
            "duration_ms".into(),
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
