//! `act "CMD"`: the stage that changes hosts, in waves: a canary first,
//! then growing batches, each checked with `verify=` after `settle=`, and
//! no further wave once more than `max_fail=` hosts have failed. Every
//! selected host is a row: acted on (ok, failed, verify_failed, timeout,
//! unreachable…) or `skipped` with the reason.
//!
//! Before the first wave, and before any host is contacted by `act`: the
//! blast-radius guard (more than half the inventory, or more than
//! `max_hosts=`, is refused unless widened), then `dry_run` (the plan
//! alone), then the confirmation (the person at the terminal types the
//! number of hosts; without a terminal, `--yes` is required, which the
//! plan check finds before the pipeline contacts any host at all).

mod waves;

use std::ops::Range;
use std::time::{Duration, Instant};

use polars::prelude::*;
use serde::Serialize;
use shoal_lang::ast::Value;
use shoal_lang::plan::CommandPart;
use shoal_lang::{
    Args, Error, ErrorKind, Kind, Millis, Param, Result, Signature, Span, command_template,
};

use super::run::{RowCommand, row_commands, run_on_rows};
use super::{Example, Op, Operator, Stage};
use crate::context::EvalContext;
use crate::executor::{HostOutcome, Status};
use crate::frame::{internal, texts};
use waves::{Batch, MaxFail};

pub struct Act;

static SIGNATURE: Signature = Signature {
    name: "act",
    aliases: &[],
    summary: "Runs a command that changes hosts, in waves: a canary, then batches, each verified, stopping once more than max_fail hosts fail; every host is a row (skipped ones with the reason).",
    help: "`run` is the read path and refuses commands that look like changes; `act` is the write path. Waves follow `batch=` (counts or percentages of the selected hosts; the last repeats; default a canary of 1, then 10%). After a wave, `settle=` waits, then `verify=` runs on each host that acted: a host is ok only if both exit 0. Once more than `max_fail=` hosts have failed in all, no further wave starts and the rest are `skipped`. Before the first wave shoal shows the plan and asks you to type the number of hosts; without a terminal, pass --yes. An act on more than half the inventory (or more than max_hosts) is refused unless blast_radius=100% or --yes-all-hosts. `dry_run=true` or --dry-run prints the wave plan and changes nothing. Ctrl-C lets the wave in flight finish and starts no other (a second Ctrl-C aborts the wave). Columns added: wave, status, exit, stdout, stderr, error, duration_ms, verify (verify's output).",
    params: &[Param::arg("command", Kind::Text, "\"CMD\"")],
    options: &[
        Param::option("batch", Kind::Words, "N,P%,...")
            .example("1,5,25%")
            .doc("wave sizes, hosts or % of the selected hosts; the last repeats [default: 1,10%]"),
        Param::option("verify", Kind::Text, "\"CMD\"")
            .example("\"systemctl is-active app\"")
            .doc("run after the wave on each host that acted; non-zero exit is verify_failed"),
        Param::option("settle", Kind::Duration, "DUR")
            .example("10s")
            .doc("wait after each wave before its verify"),
        Param::option("pause", Kind::Duration, "DUR")
            .example("30s")
            .doc("wait between waves"),
        Param::option("max_fail", Kind::Words, "N|P%")
            .default("0")
            .doc("once more hosts than this have failed, no further wave starts"),
        Param::option("timeout", Kind::Duration, "DUR")
            .example("60s")
            .doc("how long each host's command may take"),
        Param::option("dry_run", Kind::Choice(&["true", "false"]), "true")
            .default("false")
            .doc("print the wave plan and change nothing"),
        Param::option("blast_radius", Kind::Percent, "P%")
            .default("50")
            .doc("the largest share of the inventory one act may change"),
        Param::option("max_hosts", Kind::Int { min: 1, unit: "hosts" }, "N")
            .example("20")
            .doc("the most hosts one act may change"),
    ],
    takes_as: false,
    data_columns: false,
};

impl Operator for Act {
    fn signature(&self) -> &'static Signature {
        &SIGNATURE
    }
    fn examples(&self) -> &'static [Example] {
        &[Example {
            description: "The plan of a restart of the web hosts, a canary first (nothing is changed)",
            query: "hosts @web | act \"systemctl restart app\" batch=1,50% dry_run=true | select host, wave, command",
            output: "\
host   wave  command
web01  1     systemctl restart app
web02  2     systemctl restart app
web03  2     systemctl restart app
",
        }]
    }
    fn plan(&self, mut args: Args) -> Result<Op> {
        let command: Value = args.require("command")?;
        if command.text.trim().is_empty() {
            return Err(Error::new("`act` needs a command", command.span)
                .with_hint("for example: act \"systemctl restart app\""));
        }
        let verify = match args.get::<Value>("verify")? {
            Some(verify) if verify.text.trim().is_empty() => {
                return Err(Error::new("`verify=` needs a command", verify.span)
                    .with_hint("for example: verify=\"systemctl is-active app\""));
            }
            Some(verify) => Some((command_template(&verify)?, verify.text)),
            None => None,
        };
        let dry_run: String = args.require("dry_run")?;
        Ok(Op::new(ActOp {
            template: command_template(&command)?,
            command: command.text,
            batch: match args.get::<Value>("batch")? {
                Some(value) => Batch::parse(&value)?,
                None => Batch::default(),
            },
            max_fail: MaxFail::parse(&args.require::<Value>("max_fail")?)?,
            verify_template: verify.as_ref().map(|(template, _)| template.clone()),
            verify: verify.map(|(_, text)| text),
            settle_ms: args.get::<Millis>("settle")?.map(|m| m.0),
            pause_ms: args.get::<Millis>("pause")?.map(|m| m.0),
            timeout_ms: args.get::<Millis>("timeout")?.map(|m| m.0),
            dry_run: dry_run == "true",
            blast_radius_pct: args.require("blast_radius")?,
            max_hosts: args.get::<u64>("max_hosts")?,
            span: args.span,
        }))
    }
}

/// `act`: the command, its waves, its checks and its limits.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename = "act")]
pub(crate) struct ActOp {
    command: String,
    template: Vec<CommandPart>,
    batch: Batch,
    max_fail: MaxFail,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<String>,
    #[serde(skip)]
    verify_template: Option<Vec<CommandPart>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settle_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pause_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dry_run: bool,
    blast_radius_pct: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_hosts: Option<u64>,
    #[serde(skip)]
    span: Span,
}

/// What became of one selected host.
#[derive(Debug, Clone)]
struct HostResult {
    wave: Option<u32>,
    status: String,
    exit: Option<i32>,
    stdout: Option<String>,
    stderr: Option<String>,
    error: Option<String>,
    duration_ms: u64,
    verify: Option<String>,
}

impl HostResult {
    fn skipped(reason: &str) -> HostResult {
        HostResult {
            wave: None,
            status: "skipped".into(),
            exit: None,
            stdout: None,
            stderr: None,
            error: Some(reason.into()),
            duration_ms: 0,
            verify: None,
        }
    }

    fn acted(wave: u32, outcome: &HostOutcome) -> HostResult {
        HostResult {
            wave: Some(wave),
            status: outcome.status.as_str().into(),
            exit: outcome.exit,
            stdout: outcome.ran().then(|| outcome.stdout.clone()),
            stderr: outcome.ran().then(|| outcome.stderr.clone()),
            error: outcome.error.clone(),
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
            verify: None,
        }
    }

    fn ok(&self) -> bool {
        self.status == Status::Ok.as_str()
    }
}

impl Stage for ActOp {
    fn eval(&self, input: DataFrame, ctx: &mut EvalContext<'_>) -> Result<DataFrame> {
        let dry_run = self.dry_run || ctx.safety.dry_run;
        if !dry_run && !ctx.safety.yes && !ctx.safety.interactive {
            return Err(Error::new(
                "`act` changes hosts, and there is no terminal here to confirm it on",
                self.span,
            )
            .with_hint("check the plan with --dry-run, then run again with --yes")
            .with_kind(ErrorKind::Definite));
        }
        let hosts = texts(input.column("host").map_err(|_| {
            Error::new("`act` needs a `host` column to know where to act", self.span)
        })?)?;
        if input.height() == 0 {
            ctx.observer
                .note("act", "the selection is empty: nothing to act on");
            return results(input, &[]);
        }
        self.blast_radius(&hosts, ctx)?;
        let commands = row_commands(&input, &self.template)?;
        let waves = wave_ranges(&self.batch.sizes(input.height()));
        if dry_run {
            return self.plan_table(input, &waves, &commands, ctx);
        }
        let summary = self.summary(&hosts, &waves);
        if !ctx.safety.yes {
            if !ctx.observer.confirm(&summary, input.height()) {
                return Err(Error::new("not confirmed: no host was changed", self.span));
            }
            ctx.history.note_job(&format!("{summary}; confirmed at the terminal"));
        } else {
            ctx.history.note_job(&format!("{summary}; --yes"));
        }
        ctx.safety.waves.begin();
        let acted = self.run_waves(&input, &waves, commands, ctx);
        ctx.safety.waves.end();
        results(input, &acted?)
    }
}

impl ActOp {
    /// Refuses an act on more than `blast_radius` of the inventory, or more
    /// than `max_hosts`, unless `--yes-all-hosts`.
    fn blast_radius(&self, hosts: &[Option<String>], ctx: &EvalContext<'_>) -> Result<()> {
        if ctx.safety.all_hosts {
            return Ok(());
        }
        let selected = hosts.len();
        let inventory = ctx.fleet.hosts.len().max(1);
        let share = 100.0 * selected as f64 / inventory as f64;
        let names: Vec<&str> = hosts.iter().flatten().map(String::as_str).collect();
        let which = shoal_lang::fold_hosts(&names);
        let refuse = |why: String| {
            Error::new(format!("`act` would change {selected} hosts ({which}): {why}"), self.span)
                .with_hint("narrow the selection, or widen the limit with blast_radius=100% (and max_hosts=N) or --yes-all-hosts")
        };
        if share > self.blast_radius_pct {
            return Err(refuse(format!(
                "{share:.0}% of the inventory's {inventory}, more than the blast radius of {}%",
                self.blast_radius_pct
            )));
        }
        match self.max_hosts {
            Some(max) if selected as u64 > max => Err(refuse(format!("more than max_hosts={max}"))),
            _ => Ok(()),
        }
    }

    /// What the person confirming reads.
    fn summary(&self, hosts: &[Option<String>], waves: &[Range<usize>]) -> String {
        let names: Vec<&str> = hosts.iter().flatten().map(String::as_str).collect();
        let sizes: Vec<String> = waves.iter().map(|w| w.len().to_string()).collect();
        let mut text = format!(
            "act `{}` on {} hosts ({}) in {} waves of {}",
            self.command,
            hosts.len(),
            shoal_lang::fold_hosts(&names),
            waves.len(),
            sizes.join(", ")
        );
        if let Some(verify) = &self.verify {
            text.push_str(&format!(", verified by `{verify}`"));
        }
        text.push_str(&format!(
            ", stopping once more than {} fail",
            self.max_fail.allowed(hosts.len())
        ));
        text
    }

    /// `dry_run`: each host's wave and command, and nothing changed.
    fn plan_table(
        &self,
        input: DataFrame,
        waves: &[Range<usize>],
        commands: &[RowCommand<'_>],
        ctx: &mut EvalContext<'_>,
    ) -> Result<DataFrame> {
        let mut wave = vec![0u32; input.height()];
        for (number, range) in waves.iter().enumerate() {
            for row in range.clone() {
                wave[row] = number as u32 + 1;
            }
        }
        let command: Vec<String> = commands
            .iter()
            .map(|c| match c {
                Ok(command) => command.to_string(),
                Err(reason) => format!("(not run: {reason})"),
            })
            .collect();
        ctx.observer.note(
            "act",
            &format!(
                "dry run: {} hosts in {} waves; nothing was changed",
                input.height(),
                waves.len()
            ),
        );
        let mut out = input;
        out.with_column(Column::new("wave".into(), wave))
            .map_err(internal)?;
        out.with_column(Column::new("command".into(), command))
            .map_err(internal)?;
        Ok(out)
    }

    /// The waves, one after another, until they are done, too many hosts
    /// have failed, or Ctrl-C asked to stop.
    fn run_waves(
        &self,
        input: &DataFrame,
        waves: &[Range<usize>],
        commands: Vec<RowCommand<'_>>,
        ctx: &mut EvalContext<'_>,
    ) -> Result<Vec<HostResult>> {
        let allowed = self.max_fail.allowed(input.height());
        let timeout = self.timeout_ms.map(Duration::from_millis);
        let mut results: Vec<Option<HostResult>> = vec![None; input.height()];
        let mut failed = 0;
        for (index, range) in waves.iter().enumerate() {
            let number = index as u32 + 1;
            if index > 0 {
                if failed > allowed {
                    return Ok(finish(results, &format!(
                        "not reached: {failed} hosts failed, more than max_fail={allowed}, so wave {number} did not start"
                    )));
                }
                if !self.wait(self.pause_ms, ctx) {
                    return Ok(finish(results, &format!(
                        "not reached: Ctrl-C stopped the waves before wave {number}"
                    )));
                }
            }
            let rows = input.slice(range.start as i64, range.len());
            let label = format!("act wave {number}/{}: {}", waves.len(), self.command);
            let wave_commands = commands[range.clone()].to_vec();
            let outcomes = run_on_rows(&rows, "act", &label, wave_commands, timeout, self.span, ctx)?;
            let mut acted: Vec<HostResult> = outcomes
                .rows()
                .map(|arrival| HostResult::acted(number, &arrival.outcome))
                .collect();
            self.verify_wave(&rows, &mut acted, number, waves.len(), timeout, ctx)?;
            failed += acted.iter().filter(|r| !r.ok()).count();
            for (offset, result) in acted.into_iter().enumerate() {
                results[range.start + offset] = Some(result);
            }
        }
        Ok(finish(results, "not reached"))
    }

    /// `settle`, then `verify` on the hosts of the wave whose action ended ok.
    fn verify_wave(
        &self,
        rows: &DataFrame,
        acted: &mut [HostResult],
        number: u32,
        waves: usize,
        timeout: Option<Duration>,
        ctx: &mut EvalContext<'_>,
    ) -> Result<()> {
        let (Some(template), Some(verify)) = (&self.verify_template, &self.verify) else {
            return Ok(());
        };
        // A Ctrl-C during settle still verifies this wave: it has acted.
        self.wait(self.settle_ms, ctx);
        let ok: Vec<usize> = (0..acted.len()).filter(|&i| acted[i].ok()).collect();
        if ok.is_empty() {
            return Ok(());
        }
        let mask: BooleanChunked = (0..acted.len()).map(|i| acted[i].ok()).collect();
        let verified = rows.filter(&mask).map_err(internal)?;
        let commands = row_commands(&verified, template)?;
        let label = format!("verify wave {number}/{waves}: {verify}");
        let outcomes = run_on_rows(&verified, "act", &label, commands, timeout, self.span, ctx)?;
        for (&row, arrival) in ok.iter().zip(outcomes.rows()) {
            let outcome = &arrival.outcome;
            let result = &mut acted[row];
            result.verify = Some(outcome.stdout.clone());
            if outcome.status != Status::Ok {
                result.status = "verify_failed".into();
                result.error = Some(match &outcome.error {
                    Some(error) => format!("verify `{verify}`: {error}"),
                    None => format!("verify `{verify}` ended {}", outcome.status),
                });
            }
        }
        Ok(())
    }

    /// Waits `ms`, in short steps so that Ctrl-C is heard; false when Ctrl-C
    /// asked the waves to stop.
    fn wait(&self, ms: Option<u64>, ctx: &EvalContext<'_>) -> bool {
        let until = Instant::now() + Duration::from_millis(ms.unwrap_or(0));
        while Instant::now() < until && !ctx.safety.waves.stop_requested() {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
        !ctx.safety.waves.stop_requested()
    }
}

/// The rows each wave takes, in order.
fn wave_ranges(sizes: &[usize]) -> Vec<Range<usize>> {
    let mut start = 0;
    sizes
        .iter()
        .map(|size| {
            let range = start..start + size;
            start += size;
            range
        })
        .collect()
}

/// Every host not reached is `skipped`, with `reason`.
fn finish(results: Vec<Option<HostResult>>, reason: &str) -> Vec<HostResult> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| HostResult::skipped(reason)))
        .collect()
}

/// The input with act's columns added, one result per row.
fn results(mut input: DataFrame, acted: &[HostResult]) -> Result<DataFrame> {
    let text = |name: &str, pick: fn(&HostResult) -> Option<&str>| {
        Column::new(name.into(), acted.iter().map(pick).collect::<Vec<_>>())
    };
    let columns = [
        Column::new(
            "wave".into(),
            acted.iter().map(|r| r.wave).collect::<Vec<_>>(),
        ),
        text("status", |r| Some(&r.status)),
        Column::new(
            "exit".into(),
            acted.iter().map(|r| r.exit).collect::<Vec<_>>(),
        ),
        text("stdout", |r| r.stdout.as_deref()),
        text("stderr", |r| r.stderr.as_deref()),
        text("error", |r| r.error.as_deref()),
        Column::new(
            "duration_ms".into(),
            acted.iter().map(|r| r.duration_ms).collect::<Vec<_>>(),
        ),
        text("verify", |r| r.verify.as_deref()),
    ];
    for column in columns {
        input.with_column(column).map_err(internal)?;
    }
    Ok(input)
}
