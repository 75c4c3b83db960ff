//! A check's verdict on each host: pass, fail, error or unknown, with what
//! was observed and why.
//!
//! Never `pass` without evidence: a host whose command did not run to an
//! `ok` end is `unknown` when shoal could not reach or log in to it (or the
//! run was cancelled), and `error` when the command failed or timed out,
//! whatever rows are left, unless the check's `assert` reads `status`
//! itself (a liveness check), which then judges those rows and fails them.
//! A host with rows is judged by the `assert`: `fail` if any of its rows
//! does not hold. A host the pipeline kept no row for had nothing wrong
//! found (`pass`) if a command ran on it; one that was never asked (a
//! `filter` before the first `run` left it out) is not part of the check
//! and gets no row.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;
use shoal_lang::Result;

use super::{Check, Prepared};
use crate::context::RunObserver;
use crate::executor::{HostOutcome, Status};
use crate::frame::{internal, texts};
use crate::ops::Verdict;

/// How a check ended on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckStatus {
    Pass,
    Fail,
    /// The check could not be carried out: its command failed or timed
    /// out, or the pipeline did.
    Error,
    /// shoal could not reach or log in to the host.
    Unknown,
}

impl CheckStatus {
    pub const ALL: [CheckStatus; 4] = [
        CheckStatus::Pass,
        CheckStatus::Fail,
        CheckStatus::Error,
        CheckStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::Error => "error",
            CheckStatus::Unknown => "unknown",
        }
    }
}

/// One (check, host) result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub id: String,
    pub level: &'static str,
    pub host: String,
    pub status: CheckStatus,
    /// The values the verdict rests on: `mount=/data use=97`.
    pub observed: String,
    /// Why it is not a pass: the check's message, or what went wrong.
    pub message: String,
}

/// Hears a check's runs and keeps, per host, the first outcome that was not
/// `ok`, passing every event on to `inner`.
pub struct HostRuns<'a> {
    inner: &'a mut dyn RunObserver,
    not_ok: HashMap<String, (Status, String)>,
    /// Every host a command was run on (or could not be).
    asked: HashSet<String>,
}

impl<'a> HostRuns<'a> {
    pub fn new(inner: &'a mut dyn RunObserver) -> Self {
        HostRuns {
            inner,
            not_ok: HashMap::new(),
            asked: HashSet::new(),
        }
    }

    /// The host's first status other than `ok`, with its reason.
    fn not_ok(&self, host: &str) -> Option<&(Status, String)> {
        self.not_ok.get(host)
    }
}

impl RunObserver for HostRuns<'_> {
    fn run_started(&mut self, command: &str, hosts: usize) {
        self.inner.run_started(command, hosts);
    }
    fn host_finished(&mut self, host: &str, outcome: &HostOutcome) {
        self.asked.insert(host.to_string());
        if outcome.status != Status::Ok {
            self.not_ok.entry(host.to_string()).or_insert_with(|| {
                // What the command said on its way out is the likeliest why:
                // `exit 127: sh: 1: openssl: not found`.
                let mut reason = outcome.error.clone().unwrap_or_default();
                if let Some(said) = outcome.stderr.lines().rev().find(|l| !l.trim().is_empty()) {
                    reason = format!("{reason}: {}", said.trim());
                }
                (outcome.status, reason)
            });
        }
        self.inner.host_finished(host, outcome);
    }
    fn run_finished(&mut self) {
        self.inner.run_finished();
    }
    fn fused(&mut self, later: usize) {
        self.inner.fused(later);
    }
    fn note(&mut self, stage: &str, text: &str) {
        self.inner.note(stage, text);
    }
}

/// At most this many of a host's rows are quoted in `observed`.
const QUOTED_ROWS: usize = 3;

impl Prepared {
    /// The verdict on each of `hosts` the check is about, given what the
    /// check's pipeline (without its `assert`) gave and what its runs heard.
    pub fn judge(
        &self,
        check: &Check,
        hosts: &[String],
        result: &Result<DataFrame>,
        runs: &HostRuns<'_>,
    ) -> Vec<CheckRow> {
        let row = |host: &str, status, observed: String, message: String| CheckRow {
            id: check.id.clone(),
            level: check.level.as_str(),
            host: host.to_string(),
            status,
            observed,
            message,
        };
        let judged = result
            .as_ref()
            .map_err(|error| error.reason.clone())
            .and_then(|frame| self.rows_by_host(frame).map_err(|e| e.reason));
        let assert = self.assert();
        hosts
            .iter()
            .filter_map(|host| {
                let not_ok = runs.not_ok(host);
                let unanswered = |(status, reason): &(Status, String)| {
                    let message = format!("{status}: {reason}");
                    row(host, unanswered(*status), String::new(), message)
                };
                if let Some(not_ok) = not_ok
                    && !assert.tests_status()
                {
                    return Some(unanswered(not_ok));
                }
                let judged = match &judged {
                    Ok(judged) => judged,
                    Err(reason) => {
                        return Some(row(host, CheckStatus::Error, String::new(), reason.clone()));
                    }
                };
                let rows = judged
                    .rows
                    .get(host.as_str())
                    .map_or(&[][..], Vec::as_slice);
                if rows.is_empty() {
                    return match not_ok {
                        Some(not_ok) => Some(unanswered(not_ok)),
                        None if runs.asked.contains(host) => {
                            Some(row(host, CheckStatus::Pass, String::new(), String::new()))
                        }
                        None => None,
                    };
                }
                let failing: Vec<&(Verdict, String)> =
                    rows.iter().filter(|(v, _)| *v != Verdict::Holds).collect();
                if failing.is_empty() {
                    let all: Vec<&(Verdict, String)> = rows.iter().collect();
                    return Some(row(host, CheckStatus::Pass, quote(&all), String::new()));
                }
                let status = if failing.iter().any(|(v, _)| *v == Verdict::NotOk) {
                    CheckStatus::Unknown
                } else {
                    CheckStatus::Fail
                };
                Some(row(host, status, quote(&failing), assert.message()))
            })
            .collect()
    }

    /// Each host's rows: its verdict and its evidence as `col=value`.
    fn rows_by_host(&self, frame: &DataFrame) -> Result<Judged> {
        let assert = self.assert();
        let verdicts = assert.verdicts(frame)?;
        let evidence = assert.evidence(frame)?;
        let hosts = match frame.column("host") {
            Ok(column) => texts(column)?,
            Err(_) => {
                return Err(shoal_lang::Error::new(
                    "the check's rows have no `host` column, so no host can be judged",
                    None,
                ));
            }
        };
        let columns: Vec<Vec<Option<String>>> = evidence
            .iter()
            .map(|name| texts(frame.column(name).map_err(internal)?))
            .collect::<Result<_>>()?;
        let mut rows: HashMap<String, Vec<(Verdict, String)>> = HashMap::new();
        for (index, host) in hosts.into_iter().enumerate() {
            let Some(host) = host else { continue };
            // Empty values say nothing: `error=` on a host that answered.
            let observed: Vec<String> = evidence
                .iter()
                .zip(&columns)
                .filter_map(|(name, values)| {
                    let value = values[index].as_deref().filter(|v| !v.is_empty())?;
                    Some(format!("{name}={value}"))
                })
                .collect();
            rows.entry(host)
                .or_default()
                .push((verdicts[index], observed.join(" ")));
        }
        Ok(Judged { rows })
    }
}

/// The rows of a check's result, by host.
struct Judged {
    rows: HashMap<String, Vec<(Verdict, String)>>,
}

/// What a host whose command did not end `ok` is: `unknown` when it was
/// never asked (not reached, not logged in to, cancelled), `error` when
/// it was and the command failed or ran out of time.
fn unanswered(status: Status) -> CheckStatus {
    match status {
        Status::Failed | Status::Timeout | Status::Error => CheckStatus::Error,
        _ => CheckStatus::Unknown,
    }
}

/// The evidence of some rows, the first few of them.
fn quote(rows: &[&(Verdict, String)]) -> String {
    let mut quoted: Vec<&str> = rows
        .iter()
        .take(QUOTED_ROWS)
        .map(|(_, evidence)| evidence.as_str())
        .collect();
    let more = rows.len().saturating_sub(QUOTED_ROWS);
    let more = format!("and {more} more");
    if rows.len() > QUOTED_ROWS {
        quoted.push(&more);
    }
    quoted.join("; ")
}

/// The results as the table `shoal check` prints: `check`, `level`, `host`,
/// `status`, `observed`, `message`.
pub fn results_frame(rows: &[CheckRow]) -> Result<DataFrame> {
    let text = |pick: fn(&CheckRow) -> &str| -> Vec<&str> { rows.iter().map(pick).collect() };
    let columns = vec![
        Column::new("check".into(), text(|r| &r.id)),
        Column::new("level".into(), text(|r| r.level)),
        Column::new("host".into(), text(|r| &r.host)),
        Column::new("status".into(), text(|r| r.status.as_str())),
        Column::new("observed".into(), text(|r| &r.observed)),
        Column::new("message".into(), text(|r| &r.message)),
    ];
    DataFrame::new(rows.len(), columns).map_err(internal)
}
