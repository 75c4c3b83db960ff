//! `facts [timeout=DUR]`: one command per host that gathers what a fleet
//! debugger asks first (OS, kernel, CPUs, memory, load, uptime, disk, BIOS,
//! boot id, clock skew) into typed columns.
//!
//! Every fact is one entry of [`FACTS`]: its column name, how to parse it and
//! a shell probe that prints its value. The command sent to hosts and the
//! parsing of what they print are both generated from that table, so adding
//! a fact is adding one entry.
//!
//! The command is `sh -c '<script>'`, and the script is one line with no
//! single quote and no backslash but printf's `\n`, so that any login shell
//! passes it to `sh` unchanged: csh cannot quote a newline, and inside single
//! quotes fish reads only `\\` and `\'` as escapes. The script is POSIX `sh` (dash, busybox ash): it sends its
//! own stderr to /dev/null and each probe runs in its own command
//! substitution, so a missing file or command leaves that one value empty
//! and the rest still print. Each probe prints `name=value` on its own line;
//! an empty or unparsable value is null, never an error.
//!
//! Each row also gets `run`'s exit, status, error and duration_ms, so a
//! host that fails keeps its row, with every fact null and the reason in
//! `error`. The raw output is dropped: the fact columns are what it said.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use polars::prelude::*;
use shoal_lang::Result;

use super::run::{Arrival, add_result_columns, run_on_rows};
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::executor::HostOutcome;
use crate::frame::internal;
use serde::Serialize;
use shoal_lang::{Args, Param, Signature};
use shoal_lang::{Millis, Span};

/// What a fact's printed value becomes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    /// Int64; anything but a whole number is null.
    Int,
    /// Float64; anything but a finite number is null.
    Float,
    /// The host prints its clock in epoch milliseconds; the column is Int64,
    /// the host's clock minus shoal's at the same moment.
    ClockSkew,
}

struct Fact {
    name: &'static str,
    kind: Kind,
    /// POSIX `sh` that prints the value on one line, or nothing.
    probe: &'static str,
}

/// Every fact, in column order. Probes may not contain `'` or `\` (see the
/// module doc), and run with stderr already discarded.
const FACTS: &[Fact] = &[
    Fact {
        name: "hostname",
        kind: Kind::Text,
        probe: "uname -n",
    },
    // os-release is defined to be sourceable by sh; `.` of a missing file
    // ends only the command substitution it runs in.
    Fact {
        name: "os",
        kind: Kind::Text,
        probe: "f=/etc/os-release; [ -r $f ] || f=/usr/lib/os-release; . $f; echo $ID",
    },
    Fact {
        name: "os_version",
        kind: Kind::Text,
        probe: "f=/etc/os-release; [ -r $f ] || f=/usr/lib/os-release; . $f; echo $VERSION_ID",
    },
    Fact {
        name: "kernel",
        kind: Kind::Text,
        probe: "uname -r",
    },
    Fact {
        name: "arch",
        kind: Kind::Text,
        probe: "uname -m",
    },
    Fact {
        name: "cpus",
        kind: Kind::Int,
        probe: "getconf _NPROCESSORS_ONLN || nproc || grep -c ^processor /proc/cpuinfo",
    },
    Fact {
        name: "mem_total_mb",
        kind: Kind::Int,
        probe: "while read k v u; do [ \"$k\" = MemTotal: ] && echo $((v / 1024)); done </proc/meminfo",
    },
    Fact {
        name: "mem_avail_mb",
        kind: Kind::Int,
        probe: "while read k v u; do [ \"$k\" = MemAvailable: ] && echo $((v / 1024)); done </proc/meminfo",
    },
    Fact {
        name: "load1",
        kind: Kind::Float,
        probe: "read a b c r </proc/loadavg; echo $a",
    },
    Fact {
        name: "load5",
        kind: Kind::Float,
        probe: "read a b c r </proc/loadavg; echo $b",
    },
    Fact {
        name: "load15",
        kind: Kind::Float,
        probe: "read a b c r </proc/loadavg; echo $c",
    },
    Fact {
        name: "uptime_s",
        kind: Kind::Int,
        probe: "read u r </proc/uptime; echo ${u%%.*}",
    },
    // `df -P` keeps each filesystem on one line, whatever its name's length.
    Fact {
        name: "root_used_pct",
        kind: Kind::Int,
        probe: "df -P / | { read h; read f s u a p m; echo ${p%%%}; }",
    },
    Fact {
        name: "bios_vendor",
        kind: Kind::Text,
        probe: "cat /sys/class/dmi/id/bios_vendor",
    },
    Fact {
        name: "bios_version",
        kind: Kind::Text,
        probe: "cat /sys/class/dmi/id/bios_version",
    },
    Fact {
        name: "boot_id",
        kind: Kind::Text,
        probe: "cat /proc/sys/kernel/random/boot_id",
    },
    // GNU and recent busybox `date` know %N; elsewhere `%3N` prints as is,
    // and whole seconds are the best the host can say. `(pattern)` because
    // some shells end `$(` at the `)` of a bare case pattern.
    Fact {
        name: "clock_skew_ms",
        kind: Kind::ClockSkew,
        probe: "t=$(date +%s%3N); case $t in (*[!0-9]*) t=;; esac; [ ${#t} = 13 ] || { t=$(date +%s) && t=${t}000; }; echo $t",
    },
];

/// Opens the script: a no-op that names it, so a reader of process lists
/// or logs (and the example fleet's scripted executor) can tell what it is.
const MARKER: &str = ": shoal facts";

pub struct Facts;

static SIGNATURE: Signature = Signature {
    name: "facts",
    aliases: &[],
    summary: "Gathers each host's OS, kernel, CPUs, memory, load, uptime, root disk use, BIOS, boot id and clock skew (host minus shoal, in ms) into typed columns, with one command per host. Like `run`, it sets status, exit, error and duration_ms; its raw output is not kept, and stdout and stderr are removed.",
    help: "",
    params: &[],
    options: &[Param::option("timeout", shoal_lang::Kind::Duration, "DUR")
        .example("5s")
        .doc("how long each host may take")],
    takes_as: false,
    data_columns: false,
};

impl Operator for Facts {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "The basics of every host",
                query: "hosts | facts | select host, status, os, cpus, mem_total_mb, load1, bios_version",
                output: "\
host     status       os      cpus  mem_total_mb  load1  bios_version
web01    ok           debian  4     15990         0.52   2.1.0
web02    ok           debian  4     15990         0.61   2.1.0
web03    ok           debian  4     15990         7.9    2.1.7
db01     ok           debian  8     32093         1.2    2.1.0
db02     ok           debian  8     32093         0.9    2.1.0
cache01  unreachable
",
            },
            Example {
                description: "Hosts whose clock is more than a second off",
                query: "hosts | facts | filter clock_skew_ms > 1000 or clock_skew_ms < -1000 | select host",
                output: "\
host
db02
",
            },
            Example {
                description: "Which BIOS the fleet runs; the blank is cache01, which never answered",
                query: "hosts | facts | count by bios_version",
                output: "\
bios_version  count
2.1.0         4
2.1.7         1
              1
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        Ok(Op::new(FactsOp {
            timeout_ms: args.get::<Millis>("timeout")?.map(|m| m.0),
            span: args.span,
        }))
    }
}

/// `facts`: the per-host timeout, if not the executor's.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "facts")]
pub(crate) struct FactsOp {
    timeout_ms: Option<u64>,
    #[serde(skip)]
    span: Span,
}

impl Stage for FactsOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let FactsOp { timeout_ms, span } = self;
        let command = command();
        let commands = vec![Ok(Cow::Borrowed(command.as_str())); input.height()];
        let timeout = timeout_ms.map(Duration::from_millis);
        let outcomes = run_on_rows(&input, "facts", "facts", commands, timeout, *span, ctx)?;
        let rows: Vec<&Arrival> = outcomes.rows().collect();
        let results: Vec<&HostOutcome> = rows.iter().map(|a| &a.outcome).collect();
        let mut output = add_result_columns(input, &results, None)?;
        // The raw `name=value` lines are what the fact columns already say;
        // left in `stdout` they would repeat every fact as text (and as a
        // line feature in `diff`). status, exit and error still say how the
        // host answered.
        for raw in ["stdout", "stderr"] {
            output = output.drop(raw).map_err(internal)?;
        }
        let printed: Vec<HashMap<&str, &str>> =
            rows.iter().map(|a| printed(&a.outcome.stdout)).collect();
        for fact in FACTS {
            let values: Vec<Option<&str>> =
                printed.iter().map(|p| p.get(fact.name).copied()).collect();
            output
                .with_column(fact_column(fact, &values, &rows))
                .map_err(internal)?;
        }
        Ok(output)
    }
}

/// The command sent to every host: the probes in table order, each printing
/// `name=value`, as one `sh -c` line.
fn command() -> String {
    let mut script = format!("{MARKER}; exec 2>/dev/null");
    for fact in FACTS {
        script.push_str(&format!(
            "; printf \"%s=%s\\n\" {} \"$({})\"",
            fact.name, fact.probe
        ));
    }
    format!("sh -c '{script}'")
}

/// The `name=value` lines of a host's output, for known names only: values
/// are trimmed, empty ones left out, a name printed twice keeps its first
/// value, and anything else (a stray line, a login banner) is ignored.
fn printed(stdout: &str) -> HashMap<&str, &str> {
    let mut values = HashMap::new();
    for line in stdout.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        if !value.is_empty() && FACTS.iter().any(|f| f.name == name) {
            values.entry(name).or_insert(value);
        }
    }
    values
}

/// One fact's column: each row's printed value parsed by the fact's kind.
fn fact_column(fact: &Fact, values: &[Option<&str>], rows: &[&Arrival]) -> Column {
    let name = fact.name.into();
    match fact.kind {
        Kind::Text => Column::new(name, values),
        Kind::Int => Column::new(name, parsed::<i64>(values)),
        Kind::Float => {
            let floats: Vec<Option<f64>> = parsed::<f64>(values)
                .into_iter()
                .map(|v| v.filter(|f| f.is_finite()))
                .collect();
            Column::new(name, floats)
        }
        Kind::ClockSkew => {
            let skews: Vec<Option<i64>> = parsed::<i64>(values)
                .into_iter()
                .zip(rows)
                .map(|(host_ms, arrival)| host_ms?.checked_sub(controller_ms(arrival)?))
                .collect();
            Column::new(name, skews)
        }
    }
}

fn parsed<T: std::str::FromStr>(values: &[Option<&str>]) -> Vec<Option<T>> {
    values
        .iter()
        .map(|v| v.and_then(|v| v.parse().ok()))
        .collect()
}

/// shoal's clock, in epoch milliseconds, when the host most likely read its
/// own: halfway through the command, assuming the way there took as long as
/// the way back. The estimate is off by at most half the command's duration.
fn controller_ms(arrival: &Arrival) -> Option<i64> {
    let arrived = arrival.at.duration_since(UNIX_EPOCH).ok()?;
    let midway = arrived.checked_sub(arrival.outcome.duration / 2)?;
    i64::try_from(midway.as_millis()).ok()
}
