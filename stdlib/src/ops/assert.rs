//! `assert PRED [message="TEXT"] [show=COL,...] [allow_unreachable=true]`:
//! passes its rows on unchanged when every one satisfies PRED, and
//! otherwise fails the query, naming the hosts whose rows do not.
//!
//! A runbook's way to stop on a condition, and the verdict of every check
//! in the catalog (shoal-stdlib's `checks`), which judges host by host with
//! [`AssertOp::verdicts`] rather than failing.
//!
//! Fail-closed, so that a host that did not answer is never taken for one
//! that is fine: a row whose `status` is not `ok` fails, whatever PRED says,
//! unless PRED reads `status` itself (`assert status = ok` is how a liveness
//! check says "reachable"), or `allow_unreachable=true` lets through the
//! hosts shoal could not reach or log in to. A missing value satisfies only
//! the negative tests, as in `filter`, so a number that could not be read
//! fails `use < 90`.

use polars::prelude::*;
use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::plan::{ColumnRef, Predicate};
use shoal_lang::{Args, Error, ErrorKind, Kind, Param, Result, Signature, Span, fold_hosts};

use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::executor::Status;
use crate::frame::{self, internal, texts};
use crate::predicate::mask;

pub struct Assert;

static SIGNATURE: Signature = Signature {
    name: "assert",
    aliases: &[],
    summary: "Passes the rows on when every row satisfies PRED; otherwise the query fails (exit 1), printing the rows that do not and naming their hosts. A row whose `status` is not ok never passes, unless PRED tests `status` or allow_unreachable=true.",
    help: "The condition is written as for `filter`. On failure the offending rows are printed with `host`, the `show` columns, the columns PRED reads, and `status` and `error` where a host did not answer; the error names the hosts and the message. A missing value satisfies only !=, !~ and not, so a value that could not be read fails. On no rows an assert holds: there is nothing to fail.",
    params: &[Param::arg("predicate", Kind::Predicate, "PRED")],
    options: &[
        Param::option("message", Kind::Text, "\"TEXT\"")
            .example("\"root disk above 90%\"")
            .doc("what the failure says, in the operator's words"),
        Param::option("show", Kind::Words, "COL,...")
            .example("mount")
            .doc("columns printed beside the host and PRED's columns when rows fail"),
        Param::option("allow_unreachable", Kind::Choice(&["true", "false"]), "true")
            .default("false")
            .doc("allow_unreachable=true lets through hosts that could not be reached or logged in to (unreachable, auth_failed, hostkey_unknown, hostkey_mismatch)"),
    ],
    takes_as: false,
    data_columns: false,
};

impl Operator for Assert {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[
            Example {
                description: "Every database host has at least 8 CPUs: the rows go on",
                query: "hosts @db | run \"nproc\" as cpus | assert cpus >= 8 message=\"db hosts need 8 CPUs\" | select host, cpus",
                output: "\
host  cpus
db01  8
db02  8
",
            },
            Example {
                description: "A host that cannot be reached is let through only when asked",
                query: "hosts | run \"cat /etc/app/version\" as version | assert version ~ /^2\\./ allow_unreachable=true | count by status",
                output: "\
status       count
ok           5
unreachable  1
",
            },
        ]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let show = match args.get::<Value>("show")? {
            None => Vec::new(),
            Some(value) => value
                .text
                .split(',')
                .map(|name| ColumnRef {
                    name: name.trim().to_string(),
                    span: value.span,
                })
                .collect(),
        };
        Ok(Op::new(AssertOp {
            predicate: args.require("predicate")?,
            message: args.get::<Value>("message")?.map(|v| v.text),
            show,
            allow_unreachable: args.require::<String>("allow_unreachable")? == "true",
            span: args.span,
        }))
    }
}

/// `assert`: the condition every row must meet, and how a failure reads.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "assert")]
pub struct AssertOp {
    predicate: Predicate,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    show: Vec<ColumnRef>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_unreachable: bool,
    #[serde(skip)]
    span: Span,
}

/// How one row fares against an assert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The row satisfies the condition (or is a host let through by
    /// `allow_unreachable=true`).
    Holds,
    /// The row's values do not satisfy the condition.
    Fails,
    /// The row's command did not end `ok`, so its values say nothing.
    NotOk,
}

/// The statuses of hosts shoal could not reach or log in to, which
/// `allow_unreachable=true` lets through.
const UNREACHED: &[Status] = &[
    Status::Unreachable,
    Status::AuthFailed,
    Status::HostkeyUnknown,
    Status::HostkeyMismatch,
];

impl AssertOp {
    /// What the failure says: the message, or the condition that failed.
    pub fn message(&self) -> String {
        match &self.message {
            Some(message) => message.clone(),
            None => format!("{} does not hold", self.predicate),
        }
    }

    /// Whether the condition itself reads `status`: then it decides about
    /// hosts that are not ok, as `assert status = ok` does.
    pub fn tests_status(&self) -> bool {
        self.predicate.columns().iter().any(|c| c.name == "status")
    }

    /// Each row's verdict, in row order.
    pub fn verdicts(&self, frame: &DataFrame) -> Result<Vec<Verdict>> {
        let holds = mask(frame, &self.predicate)?;
        let statuses = match frame.column("status") {
            Ok(column) if !self.tests_status() => texts(column)?,
            _ => vec![None; frame.height()],
        };
        Ok(holds
            .into_iter()
            .zip(statuses)
            .map(|(holds, status)| match status.as_deref() {
                None | Some("ok") => {
                    if holds {
                        Verdict::Holds
                    } else {
                        Verdict::Fails
                    }
                }
                Some(status)
                    if self.allow_unreachable
                        && UNREACHED.iter().any(|s| s.as_str() == status) =>
                {
                    Verdict::Holds
                }
                Some(_) => Verdict::NotOk,
            })
            .collect())
    }

    /// The columns that show why a row failed: the `show` columns, then
    /// those the condition reads, without `host`.
    pub fn evidence(&self, frame: &DataFrame) -> Result<Vec<String>> {
        frame::require_columns(frame, &self.show)?;
        let mut names: Vec<String> = Vec::new();
        let read = self.predicate.columns();
        for column in self.show.iter().chain(read.iter().copied()) {
            let present = frame.column(&column.name).is_ok();
            if present && column.name != "host" && !names.contains(&column.name) {
                names.push(column.name.clone());
            }
        }
        Ok(names)
    }

    /// The rows at `rows` with `host`, the evidence, and `status` and
    /// `error` when some of them did not answer: the table a failure prints.
    fn offending(&self, frame: &DataFrame, rows: &[usize], not_ok: bool) -> Result<DataFrame> {
        let mut names = vec!["host".to_string()];
        names.extend(self.evidence(frame)?);
        if not_ok {
            for name in ["status", "error"] {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        names.retain(|name| frame.column(name).is_ok());
        let indices: Vec<IdxSize> = rows
            .iter()
            .map(|&row| super::lines::row_index(row))
            .collect::<Result<_>>()?;
        frame
            .select(names)
            .and_then(|selected| selected.take(&IdxCa::from_vec("rows".into(), indices)))
            .map_err(internal)
    }
}

impl Stage for AssertOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let verdicts = self.verdicts(&input)?;
        // Checked even when every row holds, so a typo in `show` is found
        // before any host is contacted.
        self.evidence(&input)?;
        let failed: Vec<usize> = (0..input.height())
            .filter(|&row| verdicts[row] != Verdict::Holds)
            .collect();
        if failed.is_empty() {
            return Ok(input);
        }
        let not_ok = failed.iter().any(|&row| verdicts[row] == Verdict::NotOk);
        ctx.observer
            .rejected("assert", &self.offending(&input, &failed, not_ok)?);
        let hosts: Vec<String> = match input.column("host") {
            Ok(column) => {
                let all = texts(column)?;
                let mut hosts: Vec<String> = Vec::new();
                for &row in &failed {
                    if let Some(host) = &all[row]
                        && !hosts.contains(host)
                    {
                        hosts.push(host.clone());
                    }
                }
                hosts
            }
            Err(_) => Vec::new(),
        };
        let on = match hosts.len() {
            0 => String::new(),
            1 => format!(" on {}", hosts[0]),
            n => {
                let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
                format!(" on {n} hosts: {}", fold_hosts(&names))
            }
        };
        let mut error = Error::new(
            format!(
                "assert failed{on}: {} ({} of {} rows)",
                self.message(),
                failed.len(),
                input.height()
            ),
            self.span,
        )
        .with_kind(ErrorKind::AssertFailed);
        if not_ok {
            error = error.with_hint(
                "a row whose status is not ok never passes an assert; allow_unreachable=true lets through hosts that could not be reached",
            );
        }
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::DataFrame;
    use shoal_lang::ErrorKind;

    use crate::example_fleet::{ScriptedExecutor, fleet};
    use crate::{RunObserver, Session};

    #[derive(Default)]
    struct Rejected(Option<DataFrame>);

    impl RunObserver for Rejected {
        fn rejected(&mut self, _stage: &str, rows: &DataFrame) {
            self.0 = Some(rows.clone());
        }
    }

    fn eval(query: &str) -> (shoal_lang::Result<DataFrame>, Option<DataFrame>) {
        let plan = crate::compile(query).unwrap();
        let mut rejected = Rejected::default();
        let result =
            Session::new(fleet()).eval(&plan.statements[0], &ScriptedExecutor, &mut rejected);
        (result, rejected.0)
    }

    #[test]
    fn a_failed_assert_names_the_hosts_and_hands_over_their_rows() {
        let (result, rejected) = eval(
            "hosts | run \"cat /etc/app/version\" as version | assert version = 2.1.0 message=\"one version everywhere\"",
        );
        let error = result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::AssertFailed);
        assert_eq!(
            error.reason,
            "assert failed on 2 hosts: cache01,web03: one version everywhere (2 of 6 rows)"
        );
        assert!(error.hints[0].contains("allow_unreachable=true"), "{error}");
        let rows = crate::frame::to_text(&rejected.unwrap()).unwrap();
        assert_eq!(
            rows,
            "host     version  status       error\nweb03    2.0.9    ok\ncache01           unreachable  connect to 10.0.3.1:22: connection refused\n"
        );
    }

    #[test]
    fn without_a_message_the_condition_is_quoted_and_status_tests_judge_themselves() {
        let (result, _) = eval("hosts @web | run \"nproc\" as cpus | assert cpus > 4");
        assert_eq!(
            result.unwrap_err().reason,
            "assert failed on 3 hosts: web[01-03]: cpus > 4 does not hold (3 of 3 rows)"
        );
        // `status` in the condition: the unreachable host is judged by it alone.
        let (result, rejected) = eval("hosts | run \"hostname\" | assert status in (ok, unreachable)");
        assert!(result.is_ok() && rejected.is_none());
    }

    #[test]
    fn the_dry_run_passes_an_assert_on_no_rows_and_still_checks_its_columns() {
        let session = Session::new(fleet());
        let check = |query: &str| session.check(&crate::compile(query).unwrap());
        assert!(check("hosts | run \"x\" as v | assert v = 1 show=host").is_ok());
        let error = check("hosts | run \"x\" as v | assert v = 1 show=hots").unwrap_err();
        assert_eq!(error.reason, "unknown column `hots`");
        assert!(check("hosts | run \"x\" as v | assert w = 1").is_err());
    }
}
