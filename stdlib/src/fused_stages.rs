//! Fused stages: consecutive host-side stages of one pipeline (`run`,
//! `facts`) sent to each host as one batch, one round trip for the group
//! instead of one per stage.
//!
//! ```text
//!   groups(steps)        which stages fuse, from the plan alone (--explain
//!        │               prints them): a run of consecutive host-side
//!        │               stages, none of which reads a column an earlier
//!        │               one of the group writes (`run "x" as v | run
//!        │               "echo {v}"` needs x's answer before it can send)
//!        ▼
//!   collecting pass      the group evaluated with an executor that runs
//!        │               nothing: each stage's hosts and request, and any
//!        │               error a stage finds before running (run's
//!        │               seatbelt), before any host is contacted
//!        ▼
//!   Executor::run_batch  each host's requests as one batch (SSH: one line
//!        │               to its persistent shell, each command framed and
//!        │               bounded on its own); progress shows the first
//!        │               stage's label
//!        ▼
//!   replay pass          each stage evaluated again, its run answered from
//!                        the batch ([`Answered`])
//! ```
//!
//! A local stage between two host-side ones (`run A | filter … | run B`)
//! ends the group, so B never runs on hosts the filter dropped. Where the
//! collecting pass shows the group cannot go as one batch (a stage that
//! would run twice on some host, hosts that differ between stages), it runs
//! stage by stage, as it would have unfused.
//!
//! A host's batch stops at the first command that neither succeeds nor
//! fails. After a timeout (or a lost connection), the later stages of the
//! group do not start on that host: their rows are `error`, "not run",
//! naming the stage that stopped it, unless the stage is declared
//! `independent=true`, which then runs there on its own. After a host
//! could not be reached or the query was cancelled, the later stages report
//! the same.

use std::ops::Range;
use std::sync::Mutex;

use polars::prelude::DataFrame;
use shoal_lang::Result;

use crate::Step;
use crate::context::{EvalContext, RunObserver};
use crate::executor::{Executor, HostOutcome, RunRequest, Status};
use crate::history::ReadOnly;

/// What the fusing needs to know of a host-side stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSide {
    /// The columns its commands read (`{column}` placeholders).
    pub reads: Vec<String>,
    /// The columns it writes; `None` when they are too many to list
    /// (`facts`): then no later stage that reads any column joins its group.
    pub writes: Option<Vec<String>>,
    /// Runs even on a host where an earlier stage of its group stopped the
    /// host's batch (`independent=true`).
    pub independent: bool,
}

/// The stages of `steps` that fuse, as ranges of two or more.
pub fn groups(steps: &[Step]) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < steps.len() {
        let Some(first) = steps[start].op.host_side() else {
            start += 1;
            continue;
        };
        let mut written = first.writes;
        let mut end = start + 1;
        while let Some(next) = steps.get(end).and_then(|step| step.op.host_side()) {
            let reads_a_write = match &written {
                None => !next.reads.is_empty(),
                Some(columns) => next.reads.iter().any(|read| columns.contains(read)),
            };
            if reads_a_write {
                break;
            }
            written = match (written, next.writes) {
                (Some(mut columns), Some(more)) => {
                    columns.extend(more);
                    Some(columns)
                }
                _ => None,
            };
            end += 1;
        }
        if end - start >= 2 {
            groups.push(start..end);
        }
        start = end;
    }
    groups
}

/// Evaluates a fused group (a range [`groups`] gave) on `frame`.
pub(crate) fn eval(
    steps: &[Step],
    frame: DataFrame,
    ctx: &mut EvalContext<'_>,
) -> Result<DataFrame> {
    let Some(batch) = collect(steps, &frame, ctx)? else {
        return one_by_one(steps, frame, ctx);
    };
    let Collected {
        hosts,
        requests,
        labels,
    } = batch;
    let mut answers: Vec<Vec<HostOutcome>> = vec![Vec::new(); hosts.len()];
    ctx.observer.fused(steps.len() - 1);
    ctx.observer.run_started(&labels[0], hosts.len());
    ctx.executor
        .run_batch(&hosts, &requests, &mut |index, outcomes| {
            if let (Some(host), Some(first)) = (hosts.get(index), outcomes.first()) {
                ctx.observer.host_finished(host, first);
            }
            if let Some(slot) = answers.get_mut(index) {
                *slot = outcomes;
            }
        });
    ctx.observer.run_finished();

    let mut frame = frame;
    for (step_index, step) in steps.iter().enumerate() {
        let answered = Answered {
            step: step_index,
            hosts: &hosts,
            request: &requests[step_index],
            answers: &answers,
            labels: &labels,
            independent: step.op.host_side().is_some_and(|side| side.independent),
            live: ctx.executor,
        };
        // The first stage's progress was the batch's; the others', answered
        // at once, still reach the observer (and so the job store) as steps.
        let mut muted;
        let observer: &mut dyn RunObserver = if step_index == 0 {
            muted = Muted(&mut *ctx.observer);
            &mut muted
        } else {
            &mut *ctx.observer
        };
        let mut stage_ctx = EvalContext {
            fleet: ctx.fleet,
            vars: ctx.vars,
            executor: &answered,
            observer,
            history: ctx.history,
            safety: ctx.safety,
        };
        frame = step.op.eval(frame, &mut stage_ctx)?;
    }
    Ok(frame)
}

/// The group's stages one at a time, unfused.
fn one_by_one(
    steps: &[Step],
    mut frame: DataFrame,
    ctx: &mut EvalContext<'_>,
) -> Result<DataFrame> {
    for step in steps {
        frame = step.op.eval(frame, ctx)?;
    }
    Ok(frame)
}

/// What the collecting pass found: the hosts, one request per stage, and
/// each stage's progress label.
struct Collected {
    hosts: Vec<String>,
    requests: Vec<RunRequest>,
    labels: Vec<String>,
}

/// Evaluates the group without running anything, to learn each stage's
/// request. An error a stage finds there is the error it would give, before
/// any host is contacted. `None`: the group cannot go as one batch (a host
/// with two rows, a row that cannot run, hosts that differ by stage).
fn collect(steps: &[Step], frame: &DataFrame, ctx: &EvalContext<'_>) -> Result<Option<Collected>> {
    let collector = Collector::default();
    let mut labels = Labels::default();
    let mut collect_ctx = EvalContext {
        fleet: ctx.fleet,
        vars: ctx.vars,
        executor: &collector,
        observer: &mut labels,
        history: &ReadOnly(ctx.history),
        safety: ctx.safety,
    };
    let mut probe = frame.clone();
    for step in steps {
        probe = step.op.eval(probe, &mut collect_ctx)?;
    }
    let runs = collector
        .runs
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let Some((hosts, _)) = runs.first() else {
        return Ok(None);
    };
    // One run per stage, each on every row's host, a row each: then every
    // row of every stage is answered by the batch, and nothing a stage
    // reports on its own (a row whose placeholder is null) goes unheard.
    let one_run_per_stage = runs.len() == steps.len() && labels.0.len() == steps.len();
    let a_row_each = hosts.len() == frame.height();
    if !one_run_per_stage || !a_row_each || hosts.is_empty() || runs.iter().any(|(h, _)| h != hosts)
    {
        return Ok(None);
    }
    let hosts = hosts.clone();
    Ok(Some(Collected {
        hosts,
        requests: runs.into_iter().map(|(_, request)| request).collect(),
        labels: labels.0,
    }))
}

/// The collecting pass's executor: keeps each run's hosts and request and
/// answers every host `cancelled`, contacting no one.
#[derive(Default)]
struct Collector {
    runs: Mutex<Vec<(Vec<String>, RunRequest)>>,
}

impl Executor for Collector {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((hosts.to_vec(), request.clone()));
        for index in 0..hosts.len() {
            on_result(
                index,
                HostOutcome::not_run(Status::Cancelled, "not run: collecting"),
            );
        }
    }
}

/// The collecting pass's observer: each run's label, as progress would show it.
#[derive(Default)]
struct Labels(Vec<String>);

impl RunObserver for Labels {
    fn run_started(&mut self, command: &str, _hosts: usize) {
        self.0.push(command.to_string());
    }
}

/// Passes on everything but a run's progress.
struct Muted<'a>(&'a mut dyn RunObserver);

impl RunObserver for Muted<'_> {
    fn note(&mut self, stage: &str, text: &str) {
        self.0.note(stage, text);
    }

    fn confirm(&mut self, summary: &str, expected: usize) -> bool {
        self.0.confirm(summary, expected)
    }

    fn rejected(&mut self, stage: &str, rows: &DataFrame) {
        self.0.rejected(stage, rows);
    }
}

/// One stage's executor in the replay pass: answers its run from the batch.
struct Answered<'a> {
    step: usize,
    hosts: &'a [String],
    request: &'a RunRequest,
    /// Each host's rows from the batch, a row per step it ran.
    answers: &'a [Vec<HostOutcome>],
    labels: &'a [String],
    independent: bool,
    live: &'a dyn Executor,
}

impl Answered<'_> {
    /// The row of host `index` for this stage, or `None` when it should run
    /// live: the host's batch stopped before it, and the stage is
    /// independent.
    fn answer(&self, index: usize) -> Option<HostOutcome> {
        let rows = &self.answers[index];
        if let Some(row) = rows.get(self.step) {
            return Some(row.clone());
        }
        let Some(last) = rows.last() else {
            return Some(HostOutcome::not_run(
                Status::Error,
                "the executor reported no result for this host",
            ));
        };
        if !last.ran() {
            // Unreachable, refused, cancelled: as true of this stage.
            return Some(last.clone());
        }
        if self.independent {
            return None;
        }
        let stopped_by = self.labels.get(rows.len() - 1).map_or("", String::as_str);
        Some(HostOutcome::not_run(
            Status::Error,
            format!(
                "not run: `{stopped_by}`, fused before it, ended `{}`",
                last.status
            ),
        ))
    }
}

impl Executor for Answered<'_> {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        if hosts != self.hosts || request != self.request {
            // Not what the collecting pass saw: nothing to answer from.
            self.live.run(hosts, request, on_result);
            return;
        }
        let mut live = Vec::new();
        for index in 0..hosts.len() {
            match self.answer(index) {
                Some(outcome) => on_result(index, outcome),
                None => live.push(index),
            }
        }
        if live.is_empty() {
            return;
        }
        let live_hosts: Vec<String> = live.iter().map(|&i| hosts[i].clone()).collect();
        self.live.run(
            &live_hosts,
            &request.subset(&live),
            &mut |index, outcome| {
                if let Some(&original) = live.get(index) {
                    on_result(original, outcome);
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::context::Quiet;
    use crate::{Session, compile, example_fleet};

    /// Each fused group of the query's first statement, as (start, end).
    fn fused(query: &str) -> Vec<(usize, usize)> {
        let plan = compile(query).expect("compiles");
        groups(&plan.statements[0].ops)
            .into_iter()
            .map(|group| (group.start, group.end))
            .collect()
    }

    #[test]
    fn consecutive_host_side_stages_fuse_unless_one_reads_what_another_wrote() {
        assert_eq!(fused("hosts | run \"a\" | run \"b\" | run \"c\""), [(0, 3)]);
        assert_eq!(fused("hosts | facts | run \"uptime\" as up"), [(0, 2)]);
        // A local stage in between ends the group: `c` runs only where the
        // filter kept the host.
        assert_eq!(
            fused("hosts | run \"a\" | run \"b\" | filter status = ok | run \"c\""),
            [(0, 2)]
        );
        assert!(fused("hosts | run \"x\" as v | run \"echo {v}\"").is_empty());
        assert!(fused("hosts | run \"x\" | run \"echo {stdout}\"").is_empty());
        // An inventory column is known before anything runs.
        assert_eq!(fused("hosts | run \"x\" | run \"echo {role}\""), [(0, 2)]);
        // facts writes too many columns to list: no read may follow it.
        assert!(fused("hosts | facts | run \"echo {role}\"").is_empty());
        assert!(fused("hosts | run \"a\" | count").is_empty());
    }

    /// What a fake executor was asked, and how it answers: every command
    /// prints itself, except that `sleep` times out on db01 and every
    /// command on cache01 finds the host unreachable.
    #[derive(Default)]
    struct Fake {
        /// Each call, as `run CMD on N` or `batch CMD,CMD on N`.
        calls: Mutex<Vec<String>>,
        /// Whether it sends a batch in one call (as SSH does) or leaves
        /// it to the default, one `run` per step.
        batches: bool,
    }

    fn answer(host: &str, command: &str) -> HostOutcome {
        match (host, command) {
            ("cache01", _) => HostOutcome::not_run(Status::Unreachable, "connection refused"),
            ("db01", "sleep") => HostOutcome {
                stdout: "partial".into(),
                stderr: String::new(),
                exit: None,
                status: Status::Timeout,
                error: Some("timed out after 1s".into()),
                duration: Duration::from_secs(1),
                exchange: None,
            },
            _ => HostOutcome {
                stdout: format!("{command}@{host}"),
                stderr: String::new(),
                exit: Some(0),
                status: Status::Ok,
                error: None,
                duration: Duration::from_millis(1),
                exchange: None,
            },
        }
    }

    impl Executor for Fake {
        fn run(
            &self,
            hosts: &[String],
            request: &RunRequest,
            on_result: &mut dyn FnMut(usize, HostOutcome),
        ) {
            self.calls
                .lock()
                .unwrap()
                .push(format!("run {} on {}", request.command, hosts.len()));
            for (index, host) in hosts.iter().enumerate() {
                on_result(index, answer(host, request.command_for(index)));
            }
        }

        fn run_batch(
            &self,
            hosts: &[String],
            steps: &[RunRequest],
            on_result: &mut dyn FnMut(usize, Vec<HostOutcome>),
        ) {
            if !self.batches {
                // The trait's own: one `run` per step.
                return RunOnly(self).run_batch(hosts, steps, on_result);
            }
            let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
            self.calls.lock().unwrap().push(format!(
                "batch {} on {}",
                commands.join(","),
                hosts.len()
            ));
            for (index, host) in hosts.iter().enumerate() {
                let mut rows = Vec::new();
                for step in steps {
                    let row = answer(host, step.command_for(index));
                    let go_on = row.completed();
                    rows.push(row);
                    if !go_on {
                        break;
                    }
                }
                on_result(index, rows);
            }
        }
    }

    /// A [`Fake`] seen through the trait's default `run_batch`.
    struct RunOnly<'a>(&'a Fake);

    impl Executor for RunOnly<'_> {
        fn run(
            &self,
            hosts: &[String],
            request: &RunRequest,
            on_result: &mut dyn FnMut(usize, HostOutcome),
        ) {
            self.0.run(hosts, request, on_result);
        }
    }

    /// The query's rows as `host status stdout error` lines, per stage
    /// column suffix, and the executor's calls.
    fn evaluate(query: &str, batches: bool) -> (String, Vec<String>) {
        let mut session = Session::new(example_fleet::fleet());
        let plan = compile(query).expect("compiles");
        let fake = Fake {
            batches,
            ..Fake::default()
        };
        let frame = session
            .eval(&plan.statements[0], &fake, &mut Quiet)
            .expect("evaluates");
        (lines(&frame), fake.calls.into_inner().unwrap())
    }

    /// Each row's values, space-separated, a line per row.
    fn lines(frame: &DataFrame) -> String {
        let columns: Vec<Vec<Option<String>>> = frame
            .columns()
            .iter()
            .map(|c| crate::frame::texts(c).unwrap())
            .collect();
        (0..frame.height())
            .map(|row| {
                let values: Vec<&str> = columns
                    .iter()
                    .map(|c| c[row].as_deref().unwrap_or("null"))
                    .collect();
                values.join(" ") + "\n"
            })
            .collect()
    }

    #[test]
    fn a_fused_group_is_one_batch_and_gives_the_rows_stages_one_by_one_would() {
        let query = "hosts db01,db02 | run \"a\" as a | run \"b\" as b | select host, a, b, status";
        let (batched, calls) = evaluate(query, true);
        assert_eq!(calls, ["batch a,b on 2"]);
        let (stepped, calls) = evaluate(query, false);
        assert_eq!(calls, ["run a on 2", "run b on 2"]);
        assert_eq!(batched, stepped);
        assert!(batched.contains("b@db02"), "{batched}");
    }

    #[test]
    fn after_a_timeout_the_later_stages_do_not_run_on_that_host_unless_independent() {
        let query = "hosts db01,db02,cache01 | run \"sleep\" as s | run \"after\" as x | select host, s, x, status, error";
        for batches in [true, false] {
            let (rows, _) = evaluate(query, batches);
            let db01 = rows.lines().find(|l| l.contains("db01")).unwrap();
            assert!(
                db01.contains("partial"),
                "the timed-out stage keeps its output: {rows}"
            );
            assert!(
                db01.contains("not run: `sleep`, fused before it, ended `timeout`"),
                "{rows}"
            );
            let db02 = rows.lines().find(|l| l.contains("db02")).unwrap();
            assert!(db02.contains("after@db02"), "{rows}");
            let cache = rows.lines().find(|l| l.contains("cache01")).unwrap();
            assert!(cache.contains("unreachable"), "{rows}");
        }
        let independent = "hosts db01,db02 | run \"sleep\" | run \"after\" independent=true as x | select host, x";
        let (rows, calls) = evaluate(independent, true);
        assert!(rows.contains("after@db01"), "{rows}");
        assert_eq!(calls, ["batch sleep,after on 2", "run after on 1"]);
    }

    #[test]
    fn a_group_that_cannot_go_as_one_batch_runs_stage_by_stage() {
        // Two rows of db01 with different roles: `run "echo {role}"` sends
        // it two commands, one after the other.
        let query = "hosts db01 | run \"echo {role}\" | run \"b\"";
        let plan = compile(query).unwrap();
        let session = Session::new(example_fleet::fleet());
        let fake = Fake {
            batches: true,
            ..Fake::default()
        };
        let two_rows = session.source(&plan.statements[0].source).unwrap();
        let mut two_rows = two_rows.vstack(&two_rows.clone()).unwrap();
        two_rows
            .with_column(polars::prelude::Column::new("role".into(), ["x", "y"]))
            .unwrap();
        let mut ctx = EvalContext {
            fleet: &session.fleet,
            vars: &session.vars,
            executor: &fake,
            observer: &mut Quiet,
            history: session.history.0.as_ref(),
            safety: &session.safety,
        };
        let frame = eval(&plan.statements[0].ops, two_rows, &mut ctx).unwrap();
        assert_eq!(frame.height(), 2);
        // One `run` per stage and round, as unfused.
        assert_eq!(
            fake.calls.lock().unwrap().as_slice(),
            ["run echo 'x' on 1", "run echo 'y' on 1", "run b on 1"]
        );
    }

    #[test]
    fn a_stage_that_refuses_to_run_stops_the_group_before_any_host_is_contacted() {
        let mut session = Session::new(example_fleet::fleet());
        let plan = compile("hosts | run \"uptime\" | run \"systemctl restart app\"").unwrap();
        let fake = Fake {
            batches: true,
            ..Fake::default()
        };
        let error = session
            .eval(&plan.statements[0], &fake, &mut Quiet)
            .unwrap_err();
        assert!(
            error.reason.contains("looks like a change"),
            "{}",
            error.reason
        );
        assert!(fake.calls.lock().unwrap().is_empty());
    }
}
