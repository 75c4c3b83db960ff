//! `facts [families=F,...] [etc=PATH,...] [max_bytes=N] [timeout=DUR]`: one
//! command per host that gathers what a fleet debugger asks first (OS,
//! kernel, CPUs, memory, load, uptime, disk, BIOS, boot id, clock skew) into
//! typed columns, and the host's fingerprint in families (packages, changed
//! config files, hashes of /etc files, sysctls, boot parameters, modules,
//! CPU model and microcode, NIC drivers, mounts, failed units, time sync,
//! resolvers, listening ports; families.rs), one text column each.
//!
//! Every scalar fact is one entry of [`FACTS`]: its column name, how to
//! parse it and a shell probe that prints its value. The command sent to
//! hosts and the parsing of what they print are both generated from that
//! table and from [`families::FAMILIES`], so adding a fact is adding one entry.
//!
//! The command is `sh -c '<script>'`, and the script is one line with no
//! single quote and no backslash but the `\n` of a format string, so that
//! any login shell passes it to `sh` unchanged: csh cannot quote a newline,
//! and inside single quotes fish reads only `\\` and `\'` as escapes. The
//! script is POSIX `sh` (dash, busybox ash): it sends its own stderr to
//! /dev/null and each probe runs in its own command substitution or
//! section, so a missing file or command leaves that one value empty (or
//! that family null) and the rest still print. Its first line is the host's
//! clock (clock.rs), then each scalar prints `name=value` on its own line,
//! then each family its `#@name` section; an empty or unparsable value is
//! null, never an error.
//!
//! Bounds: each family's section is cut on the host at its share of
//! `max_bytes` (256 KiB by default) and the host has `timeout` (2 s by
//! default) in all. A family cut short, by its share or by the timeout, keeps
//! its whole lines and says so in `facts_notes`; a host that ran out of time
//! after its scalars is still `ok`.
//!
//! Each row also gets `run`'s exit, status, error and duration_ms, so a
//! host that fails keeps its row, with every fact null and the reason in
//! `error`. The raw output is dropped: the fact columns are what it said.

mod clock;
mod families;

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use polars::prelude::*;
use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::{Args, Error, Param, Result, Signature};
use shoal_lang::{Millis, Span};

use super::run::{Arrival, add_result_columns, run_on_rows};
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::executor::{HostOutcome, Status};
use crate::frame::internal;
use crate::fused_stages::HostSide;
use families::{FAMILIES, Family, Shape};

pub use families::ETC_DEFAULT;

/// Columns whose values change from one read to the next, or differ on
/// every host for no reason worth a diagnosis: `diff` should not take them
/// for causes unless asked.
pub const VOLATILE: &[&str] = &[
    "hostname",
    "mem_avail_mb",
    "load1",
    "load5",
    "load15",
    "uptime_s",
    "boot_id",
    "clock_skew_ms",
    "clock_skew_err_ms",
];

/// Per host, unless `max_bytes=` says otherwise.
const DEFAULT_MAX_BYTES: u64 = 256 * 1024;

/// Per host, unless `timeout=` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a fact's printed value becomes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    /// Int64; anything but a whole number is null.
    Int,
    /// Float64; anything but a finite number is null.
    Float,
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
];

/// Opens the script: a no-op that names it, so a reader of process lists
/// or logs (and the example fleet's scripted executor) can tell what it is.
const MARKER: &str = ": shoal facts";

/// Starts each family's section in the output; `#@end` ends the script.
const SECTION: &str = "#@";

pub struct Facts;

static SIGNATURE: Signature = Signature {
    name: "facts",
    aliases: &[],
    summary: "Gathers each host's OS, kernel, CPUs, memory, load, uptime, root disk use, BIOS, boot id and clock skew (host minus shoal, NTP-style, with its error bound) into typed columns, and its fingerprint in families (packages, changed config files, /etc hashes, sysctls, …), one text column each with one `key=value` a line; one command per host. Like `run`, it sets status, exit, error and duration_ms; its raw output is not kept, and stdout and stderr are removed.",
    help: "Families (all by default; pick with `families=packages,sysctl`), each a column, with its probe and typical size per host:\n\n\
  - `cpu_model`: `model name` of /proc/cpuinfo; one line\n\
  - `microcode`: `microcode` of /proc/cpuinfo (x86); one line\n\
  - `cmdline`: /proc/cmdline, one boot parameter a line; ~0.2 KiB\n\
  - `modules`: /proc/modules, one module a line; ~1-3 KiB\n\
  - `resolvers`: nameserver, search, options of /etc/resolv.conf; ~0.1 KiB\n\
  - `listening`: TCP LISTEN sockets of /proc/net/tcp{,6} as port=address; ~1 KiB\n\
  - `mounts`: /proc/mounts as mountpoint=fstype options, no pseudo or container mounts; ~1-5 KiB\n\
  - `nic`: per device: driver (/sys/class/net), version and firmware (ethtool -i); ~0.1 KiB\n\
  - `failed_units`: systemctl --failed (null without systemd); usually empty\n\
  - `time_sync`: synced=yes|no and source= from timedatectl, chronyc or ntpq; ~0.1 KiB\n\
  - `sysctl`: kernel. vm. fs. net.core. net.ipv4.tcp_ from /proc/sys, no counters; ~10-20 KiB\n\
  - `etc`: path=hash (md5, 12 digits) of /etc/sysctl.conf, sysctl.d, security/limits*, systemd drop-ins, resolv.conf, hosts, nsswitch.conf, ssh/sshd_config*, chrony, ntp.conf, timesyncd.conf, and `etc=` paths; ~1 KiB\n\
  - `packages`: name=version from dpkg-query, rpm -qa or apk info -v; ~20-80 KiB\n\
  - `modified`: package config files changed on disk (dpkg conffiles vs md5sums, or rpm -Va: slow) as path=changed|missing; usually small\n\n\
A family whose tool is missing is null; one cut short (its share of `max_bytes`, or the timeout) keeps its whole lines and says so in `facts_notes`, and the host stays ok. `clock_skew_err_ms` bounds `clock_skew_ms`. Volatile columns (hostname, load, free memory, uptime, boot id, clock skew) differ between reads.",
    params: &[],
    options: &[
        Param::option("families", shoal_lang::Kind::Words, "F,...")
            .example("packages,sysctl")
            .doc("which families to collect (default: all of them)"),
        Param::option("etc", shoal_lang::Kind::Words, "PATH,...")
            .example("/etc/app,/opt/x/conf")
            .doc("more files or directories for `etc` to hash, absolute paths"),
        Param::option(
            "max_bytes",
            shoal_lang::Kind::Int {
                min: 4096,
                unit: "bytes",
            },
            "N",
        )
        .example("1048576")
        .doc("the most each host may print, shared among the families (default: 262144)"),
        Param::option("timeout", shoal_lang::Kind::Duration, "DUR")
            .example("5s")
            .doc("how long each host may take (default: 2s)"),
    ],
    takes_as: false,
    data_columns: false,
};

impl Operator for Facts {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        EXAMPLES
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let families = match args.get::<Value>("families")? {
            None => FAMILIES.iter().map(|f| f.name.to_string()).collect(),
            Some(value) => family_names(&value)?,
        };
        let etc = match args.get::<Value>("etc")? {
            None => Vec::new(),
            Some(value) => etc_paths(&value)?,
        };
        Ok(Op::new(FactsOp {
            families,
            etc,
            max_bytes: args.get::<u64>("max_bytes")?.unwrap_or(DEFAULT_MAX_BYTES),
            timeout_ms: args.get::<Millis>("timeout")?.map(|m| m.0),
            span: args.span,
        }))
    }
}

/// The command a plain `facts` (every family, the default /etc list) sends
/// to each host, for setting `facts` beside a `run` of the same probes
/// (tests/benches/facts.rs).
pub fn default_probe() -> String {
    FactsOp {
        families: FAMILIES.iter().map(|f| f.name.to_string()).collect(),
        etc: Vec::new(),
        max_bytes: DEFAULT_MAX_BYTES,
        timeout_ms: None,
        span: Span::default(),
    }
    .command()
}

/// `packages,sysctl`: known family names, in the script's order.
fn family_names(value: &Value) -> Result<Vec<String>> {
    let mut picked = Vec::new();
    for name in value.text.split(',').map(str::trim) {
        if families::find(name).is_none() {
            let mut error = Error::new(format!("`facts` has no family `{name}`"), value.span);
            if let Some(near) = shoal_lang::did_you_mean(name, FAMILIES.iter().map(|f| f.name)) {
                error = error.with_hint(format!("did you mean '{near}'?"));
            }
            let all: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
            return Err(error.with_hint(format!("the families: {}", all.join(", "))));
        }
        picked.push(name);
    }
    Ok(FAMILIES
        .iter()
        .filter(|f| picked.contains(&f.name))
        .map(|f| f.name.to_string())
        .collect())
}

/// `/etc/app,/opt/x/conf`: absolute paths of characters the script can
/// carry unquoted.
fn etc_paths(value: &Value) -> Result<Vec<String>> {
    value
        .text
        .split(',')
        .map(str::trim)
        .map(|path| {
            let plain = path.starts_with('/')
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-+@%:".contains(c));
            if plain {
                Ok(path.to_string())
            } else {
                Err(Error::new(
                    format!("`etc` needs absolute paths of letters, digits and /._-+@%:, not `{path}`"),
                    value.span,
                )
                .with_hint("for example: facts etc=/etc/app,/opt/x/conf"))
            }
        })
        .collect()
}

/// `facts`: which families, the extra `etc` paths and the bounds.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "facts")]
pub(crate) struct FactsOp {
    /// The families picked, in script order; `--explain` leaves out the
    /// default, all of them.
    #[serde(skip_serializing_if = "is_every_family")]
    families: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    etc: Vec<String>,
    #[serde(skip_serializing_if = "is_default_max_bytes")]
    max_bytes: u64,
    /// `timeout=`, or `None` for [`DEFAULT_TIMEOUT`]: kept apart so that
    /// `--explain` of a plain `facts` prints what it always printed.
    timeout_ms: Option<u64>,
    #[serde(skip)]
    span: Span,
}

fn is_default_max_bytes(max_bytes: &u64) -> bool {
    *max_bytes == DEFAULT_MAX_BYTES
}

fn is_every_family(families: &[String]) -> bool {
    families.len() == FAMILIES.len()
}

impl FactsOp {
    fn timeout(&self) -> Duration {
        self.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis)
    }

    fn families(&self) -> impl Iterator<Item = &'static Family> + '_ {
        FAMILIES
            .iter()
            .filter(|f| self.families.iter().any(|n| n == f.name))
    }

    /// A family's cap on the host, in bytes: its share of `max_bytes`.
    fn cap(&self, family: &Family) -> usize {
        usize::try_from(self.max_bytes)
            .unwrap_or(usize::MAX)
            .saturating_mul(family.share)
            / 256
    }
}

impl Stage for FactsOp {
    /// Its command reads no column; its columns are too many to list.
    fn host_side(&self) -> Option<HostSide> {
        Some(HostSide {
            reads: Vec::new(),
            writes: None,
            independent: false,
        })
    }

    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let command = self.command();
        let commands = vec![Ok(Cow::Borrowed(command.as_str())); input.height()];
        let timeout = Some(self.timeout());
        let outcomes = run_on_rows(&input, "facts", "facts", commands, timeout, self.span, ctx)?;
        let rows: Vec<&Arrival> = outcomes.rows().collect();
        let outputs: Vec<Output> = rows.iter().map(|a| self.output(&a.outcome)).collect();
        // A host that ran out of time once its scalars were in is not failed
        // for it: the families it did not finish say so in facts_notes.
        let results: Vec<HostOutcome> = rows
            .iter()
            .zip(&outputs)
            .map(|(a, out)| {
                let mut outcome = a.outcome.clone();
                if outcome.status == Status::Timeout && out.scalars_done {
                    outcome.status = Status::Ok;
                    outcome.error = None;
                }
                outcome
            })
            .collect();
        let result_refs: Vec<&HostOutcome> = results.iter().collect();
        let mut output = add_result_columns(input, &result_refs, None)?;
        // The raw lines are what the fact columns already say; left in
        // `stdout` they would repeat every fact as text (and as a line
        // feature in `diff`). status, exit and error still say how the host
        // answered.
        for raw in ["stdout", "stderr"] {
            output = output.drop(raw).map_err(internal)?;
        }
        for fact in FACTS {
            let values: Vec<Option<&str>> = outputs
                .iter()
                .map(|o| o.scalars.get(fact.name).copied())
                .collect();
            output
                .with_column(fact_column(fact, &values))
                .map_err(internal)?;
        }
        let skews: Vec<Option<(i64, i64)>> = outputs
            .iter()
            .zip(&rows)
            .map(|(o, a)| clock::skew(o.scalars.get(clock::LINE).copied(), a))
            .collect();
        for (name, pick) in [
            ("clock_skew_ms", (|s: (i64, i64)| s.0) as fn((i64, i64)) -> i64),
            ("clock_skew_err_ms", |s| s.1),
        ] {
            let values: Vec<Option<i64>> = skews.iter().map(|s| s.map(pick)).collect();
            output
                .with_column(Column::new(name.into(), values))
                .map_err(internal)?;
        }
        for (index, family) in self.families().enumerate() {
            let values: Vec<Option<&str>> = outputs
                .iter()
                .map(|o| o.families.get(index).and_then(|v| v.as_deref()))
                .collect();
            output
                .with_column(Column::new(family.name.into(), values))
                .map_err(internal)?;
        }
        let notes: Vec<Option<String>> = outputs
            .iter()
            .map(|o| (!o.notes.is_empty()).then(|| o.notes.join("; ")))
            .collect();
        output
            .with_column(Column::new("facts_notes".into(), notes))
            .map_err(internal)?;
        Ok(output)
    }
}

/// What one host printed, read.
#[derive(Debug, Default)]
struct Output<'a> {
    /// The scalar lines by name (the clock's included).
    scalars: HashMap<&'a str, &'a str>,
    /// The script got past its scalars, to the first family or its end.
    scalars_done: bool,
    /// Each selected family's column value, in [`FactsOp::families`] order.
    families: Vec<Option<String>>,
    notes: Vec<String>,
}

impl FactsOp {
    /// The command sent to every host: the clock, then the scalars, each
    /// printing `name=value`, then each family's section, as one `sh -c`
    /// line.
    fn command(&self) -> String {
        let mut script = format!("{MARKER}; exec 2>/dev/null; {}", clock::PROBE);
        for fact in FACTS {
            script.push_str(&format!(
                "; printf \"%s=%s\\n\" {} \"$({})\"",
                fact.name, fact.probe
            ));
        }
        for family in self.families() {
            let probe = if family.name == "etc" {
                let paths: Vec<&str> = ETC_DEFAULT
                    .iter()
                    .copied()
                    .chain(self.etc.iter().map(String::as_str))
                    .collect();
                family.probe.replace(families::ETC_PATHS, &paths.join(" "))
            } else {
                family.probe.to_string()
            };
            script.push_str(&format!(
                "; if {}; then echo \"{SECTION}{}\"; {{ {probe}; }} | head -c {}; echo; fi",
                family.needs,
                family.name,
                self.cap(family) + 1
            ));
        }
        script.push_str(&format!("; echo \"{SECTION}end\""));
        format!("sh -c '{script}'")
    }

    /// Reads a host's output: its scalar lines, then its family sections,
    /// cut where a section overran its cap or the host ran out of time.
    fn output<'a>(&self, outcome: &'a HostOutcome) -> Output<'a> {
        let stdout = outcome.stdout.as_str();
        let mut out = Output::default();
        let mut sections: HashMap<&str, &str> = HashMap::new();
        let mut ended = false;
        let mut rest = stdout;
        let mut current: Option<(&str, usize)> = None;
        let mut offset = 0;
        while !rest.is_empty() {
            let (line, next) = match rest.find('\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            if let Some(name) = line.strip_prefix(SECTION) {
                if let Some((prev, start)) = current.take() {
                    sections.insert(prev, &stdout[start..offset]);
                }
                out.scalars_done = true;
                if name == "end" {
                    ended = true;
                } else if let Some(family) = families::find(name) {
                    current = Some((family.name, offset + line.len() + 1));
                }
            } else if current.is_none()
                && !out.scalars_done
                && let Some((name, value)) = line.split_once('=')
            {
                let value = value.trim();
                let known = name == clock::LINE || FACTS.iter().any(|f| f.name == name);
                if !value.is_empty() && known {
                    out.scalars.entry(name).or_insert(value);
                }
            }
            offset += line.len() + 1;
            rest = next;
        }
        // The section the host was in when it was stopped.
        let unfinished = current.map(|(name, start)| {
            sections.insert(name, stdout.get(start..).unwrap_or(""));
            name
        });
        let stopped = match outcome.status {
            Status::Timeout => Some(format!(
                "timed out after {}",
                human_ms(self.timeout().as_millis() as u64)
            )),
            Status::Cancelled => Some("cancelled".to_string()),
            _ if !ended && out.scalars_done => Some("its output ended early".to_string()),
            _ => None,
        };
        for family in self.families() {
            let value = match sections.get(family.name) {
                Some(text) => {
                    let cap = self.cap(family);
                    let text = if text.len() > cap {
                        out.notes.push(format!(
                            "{} cut at {} bytes",
                            family.name, cap
                        ));
                        whole_lines(text, cap)
                    } else if unfinished == Some(family.name) {
                        if let Some(why) = &stopped {
                            out.notes.push(format!("{} cut: {why}", family.name));
                        }
                        whole_lines(text, text.len())
                    } else {
                        text
                    };
                    Some(members(family, text))
                }
                None if stopped.is_some() && out.scalars_done && !ended && unfinished.is_none_or(|u| {
                    FAMILIES.iter().position(|f| f.name == u)
                        < FAMILIES.iter().position(|f| f.name == family.name)
                }) => {
                    if let Some(why) = &stopped {
                        out.notes.push(format!("{} not collected: {why}", family.name));
                    }
                    None
                }
                None => None,
            };
            out.families.push(value.flatten());
        }
        out
    }
}

/// `text` up to `cap` bytes, without a last line cut in the middle.
fn whole_lines(text: &str, cap: usize) -> &str {
    let mut end = cap.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &text[..end];
    if cut.len() == text.len() && text.ends_with('\n') {
        return cut;
    }
    cut.rfind('\n').map_or("", |i| &cut[..=i])
}

/// A family's column value from its section.
fn members(family: &Family, text: &str) -> Option<String> {
    match family.shape {
        Shape::Scalar(parse) => parse(text).into_iter().next(),
        Shape::Set(parse) => {
            let mut members = parse(text);
            members.sort();
            members.dedup();
            Some(members.join("\n"))
        }
    }
}

fn human_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// One fact's column: each row's printed value parsed by the fact's kind.
fn fact_column(fact: &Fact, values: &[Option<&str>]) -> Column {
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
    }
}

fn parsed<T: std::str::FromStr>(values: &[Option<&str>]) -> Vec<Option<T>> {
    values
        .iter()
        .map(|v| v.and_then(|v| v.parse().ok()))
        .collect()
}

/// The operator examples, run as tests against the example fleet.
static EXAMPLES: &[Example] = &[
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
];

#[cfg(test)]
mod tests;
