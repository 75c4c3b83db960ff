//! `shoal daemon`: alarms evaluated on a schedule, host by host with
//! hysteresis, and bots that act on the hosts where an alarm fires, behind
//! a breaker, all over one [`Engine`] whose connections stay pooled.
//!
//! ```text
//!   config.rs    the .shoal files: compiled, checked against the inventory
//!   state.rs     one host's alarm state: ok, pending, firing, resolving, unknown
//!   correlate.rs diff of the firing hosts against the rest, for the event
//!   breaker.rs   `limit N per DUR`, over the actions the store keeps
//!   notify.rs    events as JSON on a local command's stdin, off the loop
//!   metrics.rs   Prometheus text on /metrics
//! ```
//!
//! A tick of an alarm: run its query (not recorded as a job: the tick, the
//! states that changed and the events are), judge every row (a `status`
//! other than ok is unknown, else the `when` condition), move each host's
//! state, explain a firing with `diff`, write it all to the store in one
//! transaction, hand the events to `notify`, then let the alarm's bots act.
//!
//! A bot acts through `act`, as `$firing | act ...` on the rows of the
//! hosts that are firing, with every guard of `act` but the confirmation
//! (its file is its approval): waves, verify, max_fail and the blast radius.
//! Each action is in the store before it starts, so the breaker counts it
//! even if the daemon is killed mid-action. Fail safe: with no store, or a
//! store that cannot be written, a bot does not act, says why and calls
//! `notify`; the alarms still run and log.

mod breaker;
mod config;
mod correlate;
pub mod metrics;
mod notify;
pub mod state;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use polars::prelude::*;
use serde_json::json;
use shoal_lang::plan::{PlanSource, Predicate};
use shoal_lang::rules::{Alarm, Bot};
use shoal_stdlib::frame::texts;
use shoal_stdlib::safety::{Safety, WaveSignal};
use shoal_stdlib::{PlannedStatement, Quiet, Step};

use crate::Engine;
use crate::store::{AlarmHost, BotRecord, EventRecord, Store, TickRecord, now_ms};
use breaker::Decision;
use metrics::{AlarmLabel, AlarmState, AlarmStatus, BotLabel, BotStatus, Metrics};
use notify::Notifier;
use state::{HostState, Hysteresis, Observation, State, Transition};

/// Where the daemon's log lines go (the command line prints them on
/// stderr, with the time).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// The saved result a bot's `act` reads: the firing hosts' rows.
const FIRING: &str = "firing";

/// How often the loop looks at [`Controls`] while it waits for the next
/// tick: the longest a SIGTERM or SIGHUP waits to be heard between ticks.
const POLL: Duration = Duration::from_millis(100);

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Evaluate everything and log what would be done: no `act`, no
    /// `notify`.
    pub dry_run: bool,
    /// How long a `notify` command may run before it is killed.
    pub notify_timeout: Duration,
    /// Colour in the errors of files that do not load.
    pub color: bool,
}

/// What signals ask of the running daemon; set from any thread.
#[derive(Debug, Default)]
pub struct Controls {
    stop: AtomicBool,
    reload: AtomicBool,
}

impl Controls {
    /// SIGTERM: finish the tick (and the wave) in flight, start nothing
    /// new, and return from [`Daemon::run`].
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// SIGHUP: read the files again before the next tick.
    pub fn reload(&self) {
        self.reload.store(true, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

struct AlarmRun {
    alarm: Alarm<Step>,
    hosts: IndexMap<String, HostState>,
    next: Instant,
    /// The `status` values the last tick's metrics named, to zero later.
    statuses: HashSet<String>,
}

struct BotRun {
    bot: Bot<Step>,
    /// `$firing | act ...`
    statement: PlannedStatement,
}

/// The running daemon; see the [module documentation](self).
pub struct Daemon {
    engine: Engine,
    path: PathBuf,
    options: Options,
    log: Log,
    files: Vec<config::File>,
    alarms: Vec<AlarmRun>,
    bots: Vec<BotRun>,
    store: Option<Arc<Store>>,
    notifier: Notifier,
    metrics: Arc<Metrics>,
    /// False once a write to the store failed, until one succeeds: bots do
    /// not act meanwhile.
    store_ok: bool,
}

impl Daemon {
    /// Loads the alarms and bots at `path` (a file or a directory) for
    /// `engine`, logging every file that does not load. `None` when nothing
    /// loaded.
    pub fn start(mut engine: Engine, path: &Path, options: Options, log: Log) -> Option<Daemon> {
        // The bot file is the approval; every other guard of `act` stays.
        engine.set_safety(Safety {
            yes: true,
            dry_run: options.dry_run,
            ..Safety::default()
        });
        engine.record_jobs(false);
        let loaded = config::load(path, engine.session(), &[], options.color);
        for error in &loaded.errors {
            log(error.trim_end());
        }
        if loaded.files.is_empty() {
            log(&format!(
                "nothing to run: no alarm loaded from {}",
                path.display()
            ));
            return None;
        }
        let metrics = Arc::new(Metrics::default());
        let mut daemon = Daemon {
            store: engine.shared_store(),
            engine,
            path: path.to_path_buf(),
            notifier: Notifier::start(options.notify_timeout, log.clone(), metrics.clone()),
            options,
            log,
            files: Vec::new(),
            alarms: Vec::new(),
            bots: Vec::new(),
            metrics,
            store_ok: true,
        };
        if daemon.store.is_none() {
            (daemon.log)(
                "there is no job store (--no-store): alarms run, but bots will not act, since their breakers could not count",
            );
        }
        daemon.install(loaded.files);
        Some(daemon)
    }

    /// The daemon's metrics, to serve with [`Metrics::serve`].
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// What SIGTERM tells: let the wave in flight finish, start no other.
    pub fn waves(&self) -> Arc<WaveSignal> {
        self.engine.session().safety.waves.clone()
    }

    /// Runs the alarms until [`Controls::stop`].
    pub fn run(&mut self, controls: &Controls) {
        let names: Vec<&str> = self.alarms.iter().map(|a| a.alarm.name.as_str()).collect();
        (self.log)(&format!(
            "running {} alarms ({}) and {} bots{}",
            names.len(),
            names.join(", "),
            self.bots.len(),
            if self.options.dry_run {
                "; dry run: nothing is acted on or notified"
            } else {
                ""
            }
        ));
        while !controls.stopping() {
            if controls.reload.swap(false, Ordering::SeqCst) {
                self.reload();
            }
            let now = Instant::now();
            if let Some(index) = self.alarms.iter().position(|a| a.next <= now) {
                self.tick(index, controls);
                let run = &mut self.alarms[index];
                let every = Duration::from_millis(run.alarm.every_ms);
                run.next += every;
                // A tick that overran its interval: the missed ticks are skipped.
                let after = Instant::now();
                if run.next <= after {
                    run.next = after + every;
                }
                continue;
            }
            let next = self
                .alarms
                .iter()
                .map(|a| a.next)
                .min()
                .unwrap_or(now + POLL);
            std::thread::sleep(next.saturating_duration_since(now).min(POLL));
        }
        (self.log)("stopped");
    }

    /// SIGHUP: the files again; one that is now wrong keeps its old version.
    fn reload(&mut self) {
        (self.log)(&format!("reloading {}", self.path.display()));
        let loaded = config::load(
            &self.path,
            self.engine.session(),
            &self.files,
            self.options.color,
        );
        for error in &loaded.errors {
            (self.log)(error.trim_end());
        }
        if loaded.files.is_empty() {
            (self.log)("nothing loaded: the configuration that was running keeps running");
            return;
        }
        self.install(loaded.files);
        (self.log)(&format!(
            "reloaded: {} alarms, {} bots",
            self.alarms.len(),
            self.bots.len()
        ));
    }

    /// Makes `files` the running configuration. An alarm that was running
    /// keeps its hosts' states and its schedule; a new one resumes the
    /// states the store has for its name.
    fn install(&mut self, files: Vec<config::File>) {
        let mut old: HashMap<String, AlarmRun> = self
            .alarms
            .drain(..)
            .map(|run| (run.alarm.name.clone(), run))
            .collect();
        let now = Instant::now();
        let mut alarms = Vec::new();
        let mut bots = Vec::new();
        for file in &files {
            for alarm in &file.rules.alarms {
                let run = match old.remove(&alarm.name) {
                    Some(run) => AlarmRun {
                        alarm: alarm.clone(),
                        ..run
                    },
                    None => AlarmRun {
                        hosts: self.resume(&alarm.name),
                        alarm: alarm.clone(),
                        next: now,
                        statuses: HashSet::new(),
                    },
                };
                alarms.push(run);
            }
            for bot in &file.rules.bots {
                if let Some(store) = &self.store {
                    let limit = format!(
                        "{} per {}",
                        bot.limit.count,
                        duration_text(bot.limit.per_ms)
                    );
                    let record = BotRecord {
                        name: &bot.name,
                        alarm: &bot.alarm,
                        act: &bot.act_text,
                        limit: &limit,
                        per_ms: bot.limit.per_ms,
                        file: &file.path.display().to_string(),
                    };
                    if let Err(error) = store.register_bot(&record) {
                        self.store_failed(&error.to_string());
                    }
                }
                bots.push(BotRun {
                    statement: PlannedStatement {
                        bind: None,
                        text: format!("${FIRING} | {}", bot.act_text),
                        source: PlanSource::Variable {
                            name: FIRING.to_string(),
                            span: bot.act_span,
                        },
                        ops: vec![bot.act.clone()],
                    },
                    bot: bot.clone(),
                });
            }
        }
        self.alarms = alarms;
        self.bots = bots;
        self.files = files;
    }

    /// The hosts' states the store kept for alarm `name`.
    fn resume(&mut self, name: &str) -> IndexMap<String, HostState> {
        let Some(store) = &self.store else {
            return IndexMap::new();
        };
        match store.alarm_hosts(name) {
            Ok(rows) => {
                let hosts: IndexMap<String, HostState> = rows
                    .into_iter()
                    .filter_map(|row| {
                        Some((
                            row.host,
                            HostState {
                                state: State::parse(&row.state)?,
                                streak: row.streak,
                                known: State::parse(&row.known)?,
                                unknown_ticks: row.unknown_ticks,
                            },
                        ))
                    })
                    .collect();
                if !hosts.is_empty() {
                    (self.log)(&format!(
                        "alarm {name}: resumed the states of {} hosts from the job store",
                        hosts.len()
                    ));
                }
                hosts
            }
            Err(error) => {
                self.store_failed(&error.to_string());
                IndexMap::new()
            }
        }
    }

    /// One tick of alarm `index`: query, judge, move states, explain,
    /// record, notify, then the bots.
    fn tick(&mut self, index: usize, controls: &Controls) {
        let alarm = self.alarms[index].alarm.clone();
        let name = alarm.name.as_str();
        let started_ms = now_ms();
        let clock = Instant::now();
        self.engine.record_jobs(false);
        let outcome = self.engine.run(&alarm.query, &mut Quiet);
        let took = clock.elapsed();
        let label = AlarmLabel {
            alarm: name.to_string(),
        };
        self.metrics.ticks.get_or_create(&label).inc();
        self.metrics
            .query_seconds
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        let judged = outcome
            .result
            .and_then(|frame| judge(&frame, &alarm.when).map(|seen| (frame, seen)));
        let (frame, seen, error) = match judged {
            Ok((frame, seen)) => (Some(frame), seen, None),
            Err(error) => {
                let error = error.to_string();
                (self.log)(&format!(
                    "alarm {name}: the query failed, so its hosts are unknown this tick: {error}"
                ));
                (None, Vec::new(), Some(error))
            }
        };
        let inventory: HashSet<&str> = self
            .engine
            .inventory()
            .hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect();
        let run = &mut self.alarms[index];
        let mut observed: IndexMap<String, Observation> = IndexMap::new();
        for (host, seen) in seen {
            let entry = observed.entry(host).or_insert(seen);
            // A host with several rows: not reached on any is unknown, bad on any is bad.
            *entry = match (*entry, seen) {
                (Observation::Unknown, _) | (_, Observation::Unknown) => Observation::Unknown,
                (Observation::Bad, _) | (_, Observation::Bad) => Observation::Bad,
                _ => Observation::Good,
            };
        }
        // A host the alarm tracks that the query no longer returns is not
        // known to be fine; one gone from the inventory is forgotten.
        let mut forgotten = Vec::new();
        for host in run.hosts.keys() {
            if !observed.contains_key(host) {
                if inventory.contains(host.as_str()) {
                    observed.insert(host.clone(), Observation::Unknown);
                } else {
                    forgotten.push(host.clone());
                }
            }
        }
        for host in &forgotten {
            run.hosts.shift_remove(host);
        }
        let limits = Hysteresis {
            fire_after: alarm.fire_after,
            clear_after: alarm.clear_after,
            unknown_after: alarm.unknown_after,
        };
        let mut changed = Vec::new();
        let mut transitions: IndexMap<Transition, Vec<String>> = IndexMap::new();
        for (host, seen) in &observed {
            let state = run.hosts.entry(host.clone()).or_default();
            let before = *state;
            for transition in state.observe(*seen, &limits) {
                transitions
                    .entry(transition)
                    .or_default()
                    .push(host.clone());
            }
            if *state != before {
                changed.push(AlarmHost {
                    host: host.clone(),
                    state: state.state.as_str().into(),
                    streak: state.streak,
                    known: state.known.as_str().into(),
                    unknown_ticks: state.unknown_ticks,
                });
            }
        }
        let in_state = |wanted: State| -> Vec<String> {
            run.hosts
                .iter()
                .filter(|(_, s)| s.state == wanted)
                .map(|(h, _)| h.clone())
                .collect()
        };
        let firing = in_state(State::Firing);
        let resolving = in_state(State::Resolving);
        let unreached: HashSet<String> = in_state(State::Unknown).into_iter().collect();
        for wanted in State::ALL {
            let count = run.hosts.values().filter(|s| s.state == wanted).count();
            self.metrics
                .hosts
                .get_or_create(&AlarmState {
                    alarm: name.to_string(),
                    state: wanted.as_str().to_string(),
                })
                .set(count as i64);
        }
        let statuses = frame.as_ref().map(status_counts).unwrap_or_default();
        for stale in run.statuses.difference(&statuses.keys().cloned().collect()) {
            self.metrics
                .query_hosts
                .get_or_create(&AlarmStatus {
                    alarm: name.to_string(),
                    status: stale.clone(),
                })
                .set(0);
        }
        for (status, count) in &statuses {
            self.metrics
                .query_hosts
                .get_or_create(&AlarmStatus {
                    alarm: name.to_string(),
                    status: status.clone(),
                })
                .set(*count as i64);
        }
        run.statuses = statuses.into_keys().collect();

        let correlation = match (transitions.get(&Transition::Fired), &frame) {
            (Some(_), Some(frame)) => {
                let population: HashSet<String> =
                    firing.iter().chain(&resolving).cloned().collect();
                Some(correlate::correlate(
                    &mut self.engine,
                    frame,
                    &population,
                    &unreached,
                    &alarm.when,
                ))
            }
            _ => None,
        };
        let mut bodies = Vec::new();
        for (transition, hosts) in &transitions {
            let mut body = json!({
                "kind": transition.as_str(),
                "alarm": name,
                "severity": alarm.severity,
                "at": crate::store::timestamp(now_ms()),
                "condition": alarm.when_text,
                "hosts": hosts,
                "firing": firing.iter().chain(&resolving).collect::<Vec<_>>(),
                "dry_run": self.options.dry_run,
            });
            let mut line = format!(
                "alarm {name} ({}): {} on {}",
                alarm.severity,
                transition.as_str(),
                fold(hosts)
            );
            if *transition == Transition::Fired {
                match &correlation {
                    Some(Ok(features)) => {
                        body["correlation"] = json!(features);
                        let texts: Vec<String> = features.iter().map(|f| f.text()).collect();
                        if !texts.is_empty() {
                            line.push_str(&format!("; what sets them apart: {}", texts.join("; ")));
                        }
                    }
                    Some(Err(why)) => body["correlation_error"] = json!(why),
                    None => {}
                }
            }
            (self.log)(&line);
            bodies.push((transition.as_str(), body.to_string()));
        }
        let events: Vec<EventRecord<'_>> = bodies
            .iter()
            .map(|(kind, body)| EventRecord {
                kind,
                alarm: Some(name),
                bot: None,
                body,
            })
            .collect();
        let tick = TickRecord {
            alarm: name,
            started_ms,
            duration_ms: i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
            hosts: observed.len() as u64,
            matching: observed
                .values()
                .filter(|o| **o == Observation::Bad)
                .count() as u64,
            unknown: observed
                .values()
                .filter(|o| **o == Observation::Unknown)
                .count() as u64,
            error: error.as_deref(),
            changed: &changed,
            forgotten: &forgotten,
        };
        if let Some(store) = self.store.clone() {
            match store.record_tick(&tick, &events) {
                Ok(()) => self.store_recovered(),
                Err(error) => self.store_failed(&error.to_string()),
            }
        }
        for (_, body) in &bodies {
            self.notify(alarm.notify.as_deref(), body.clone());
        }
        let Some(frame) = frame else { return };
        for index in 0..self.bots.len() {
            if self.bots[index].bot.alarm != alarm.name || firing.is_empty() {
                continue;
            }
            if controls.stopping() {
                (self.log)(&format!(
                    "bot {}: stopping, so it does not act this tick",
                    self.bots[index].bot.name
                ));
                continue;
            }
            self.act(index, &alarm, &frame, &firing);
        }
    }

    /// Bot `index` acts on the `firing` hosts its breaker lets it.
    fn act(&mut self, index: usize, alarm: &Alarm<Step>, frame: &DataFrame, firing: &[String]) {
        let bot = self.bots[index].bot.clone();
        let name = bot.name.as_str();
        let Some(store) = self.store.clone() else {
            return self.refuse(
                &bot,
                alarm,
                firing,
                "there is no job store (--no-store), so its breaker could not count its actions",
            );
        };
        if !self.store_ok {
            return self.refuse(&bot, alarm, firing, "the job store cannot be written, so its breaker could not count its actions; it acts again once a write succeeds");
        }
        let counted = (|| {
            let control = store.bot_control(name)?;
            let now = now_ms();
            let since = control
                .reset_ms
                .max(now.saturating_sub(i64::try_from(bot.limit.per_ms).unwrap_or(i64::MAX)));
            Ok::<_, crate::store::StoreError>((
                control,
                store.tripped(name)?,
                store.bot_actions(name, since)?,
                now,
            ))
        })();
        let (control, tripped, actions, now) = match counted {
            Ok(counted) => counted,
            Err(error) => {
                self.store_failed(&error.to_string());
                return self.refuse(
                    &bot,
                    alarm,
                    firing,
                    "its breaker could not be read from the job store",
                );
            }
        };
        if control.paused {
            (self.log)(&format!(
                "bot {name} is paused: not acting on {} (`shoal bots resume {name}`)",
                fold(firing)
            ));
            return;
        }
        let mut acted: HashMap<&str, Vec<i64>> = HashMap::new();
        for (host, at) in &actions {
            acted.entry(host.as_str()).or_default().push(*at);
        }
        let (mut act_on, mut trip, mut open) = (Vec::new(), Vec::new(), Vec::new());
        for host in firing {
            let times = acted.get(host.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            match breaker::decide(&bot.limit, tripped.contains(host), times, now) {
                Decision::Act => act_on.push(host.clone()),
                Decision::Trip { .. } => trip.push(host.clone()),
                Decision::Open => open.push(host.clone()),
            }
        }
        if !trip.is_empty() {
            let reason = format!(
                "acted {} times within {} and the host still fires",
                bot.limit.count,
                duration_text(bot.limit.per_ms)
            );
            if let Err(error) = store.trip(name, &trip, &reason) {
                self.store_failed(&error.to_string());
                return self.refuse(
                    &bot,
                    alarm,
                    firing,
                    "its breaker could not be written to the job store",
                );
            }
            self.metrics
                .breaker_trips
                .get_or_create(&BotLabel { bot: name.into() })
                .inc_by(trip.len() as u64);
            let body = json!({
                "kind": "breaker_tripped",
                "bot": name,
                "alarm": alarm.name,
                "severity": alarm.severity,
                "at": crate::store::timestamp(now_ms()),
                "hosts": trip,
                "reason": reason,
                "reset": format!("shoal bots reset {name}"),
            });
            (self.log)(&format!(
                "bot {name}: breaker tripped on {}: {reason}; it acts there no more until `shoal bots reset {name}`",
                fold(&trip)
            ));
            self.event(alarm, Some(name), "breaker_tripped", body.to_string());
        }
        if !open.is_empty() {
            (self.log)(&format!(
                "bot {name}: breaker open on {}: not acting there (`shoal bots reset {name}`)",
                fold(&open)
            ));
        }
        if act_on.is_empty() {
            return;
        }
        let ids = match store.begin_actions(name, &act_on, self.options.dry_run) {
            Ok(ids) => ids,
            Err(error) => {
                self.store_failed(&error.to_string());
                return self.refuse(
                    &bot,
                    alarm,
                    &act_on,
                    "its action could not be recorded in the job store before it started",
                );
            }
        };
        let rows = match rows_of(frame, &act_on) {
            Ok(rows) => rows,
            Err(error) => return self.refuse(&bot, alarm, &act_on, &error),
        };
        self.engine.bind(FIRING, rows);
        self.engine.record_jobs(true);
        let outcome = self.engine.run(&self.bots[index].statement, &mut Quiet);
        self.engine.record_jobs(false);
        if let Some(warning) = outcome.store_warning {
            self.store_failed(&warning);
        }
        let result = outcome.result.and_then(|result| {
            let statuses = if self.options.dry_run {
                vec![Some("dry_run".to_string()); act_on.len()]
            } else {
                per_host(&result, &act_on, "status")?
            };
            Ok((
                statuses,
                per_host(&result, &act_on, "error").unwrap_or_default(),
            ))
        });
        match result {
            Ok((statuses, errors)) => {
                let statuses: Vec<String> = statuses
                    .into_iter()
                    .map(|s| s.unwrap_or_else(|| "unknown".into()))
                    .collect();
                let ended: Vec<(i64, &str)> = ids
                    .iter()
                    .copied()
                    .zip(statuses.iter().map(String::as_str))
                    .collect();
                if let Err(error) = store.end_actions(&ended) {
                    self.store_failed(&error.to_string());
                }
                for status in &statuses {
                    self.metrics
                        .actions
                        .get_or_create(&BotStatus {
                            bot: name.into(),
                            status: status.clone(),
                        })
                        .inc();
                }
                let hosts: Vec<_> = act_on
                    .iter()
                    .zip(&statuses)
                    .zip(errors.iter().chain(std::iter::repeat(&None)))
                    .map(|((host, status), error)| json!({"host": host, "status": status, "error": error}))
                    .collect();
                let verb = if self.options.dry_run {
                    "would act"
                } else {
                    "acted"
                };
                let summary: Vec<String> = act_on
                    .iter()
                    .zip(&statuses)
                    .map(|(host, status)| format!("{host} {status}"))
                    .collect();
                (self.log)(&format!(
                    "bot {name}: {verb} on {} ({}): {}",
                    fold(&act_on),
                    bot.act_text,
                    summary.join(", ")
                ));
                let body = json!({
                    "kind": "acted",
                    "bot": name,
                    "alarm": alarm.name,
                    "at": crate::store::timestamp(now_ms()),
                    "act": bot.act_text,
                    "hosts": hosts,
                    "dry_run": self.options.dry_run,
                });
                self.record(alarm, Some(name), "acted", &body.to_string());
            }
            Err(error) => {
                let ended: Vec<(i64, &str)> = ids.iter().map(|id| (*id, "refused")).collect();
                if let Err(error) = store.end_actions(&ended) {
                    self.store_failed(&error.to_string());
                }
                self.refuse(&bot, alarm, &act_on, &error.to_string());
            }
        }
    }

    /// A bot that does not act says why, in the log, the store and notify.
    fn refuse(&mut self, bot: &Bot<Step>, alarm: &Alarm<Step>, hosts: &[String], why: &str) {
        (self.log)(&format!(
            "bot {}: not acting on {}: {why}",
            bot.name,
            fold(hosts)
        ));
        let body = json!({
            "kind": "bot_refused",
            "bot": bot.name,
            "alarm": alarm.name,
            "severity": alarm.severity,
            "at": crate::store::timestamp(now_ms()),
            "hosts": hosts,
            "reason": why,
        });
        self.event(alarm, Some(&bot.name), "bot_refused", body.to_string());
    }

    /// Records an event and hands it to the alarm's notify.
    fn event(&mut self, alarm: &Alarm<Step>, bot: Option<&str>, kind: &str, body: String) {
        self.record(alarm, bot, kind, &body);
        self.notify(alarm.notify.as_deref(), body);
    }

    fn record(&mut self, alarm: &Alarm<Step>, bot: Option<&str>, kind: &str, body: &str) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let event = EventRecord {
            kind,
            alarm: Some(&alarm.name),
            bot,
            body,
        };
        // Only a whole tick written says the store is back (`store_recovered`).
        if let Err(error) = store.record_events(&[event]) {
            self.store_failed(&error.to_string());
        }
    }

    fn notify(&self, command: Option<&str>, body: String) {
        let Some(command) = command else { return };
        if self.options.dry_run {
            (self.log)(&format!("dry run: would notify `{command}` with {body}"));
        } else {
            self.notifier.send(command, body);
        }
    }

    fn store_failed(&mut self, why: &str) {
        self.metrics.store_write_errors.inc();
        if self.store_ok {
            (self.log)(&format!(
                "the job store failed: {why}; alarms go on, bots do not act until it can be written"
            ));
        }
        self.store_ok = false;
    }

    fn store_recovered(&mut self) {
        if !self.store_ok {
            (self.log)("the job store can be written again: bots act again");
        }
        self.store_ok = true;
    }
}

/// Every row's host and what the tick saw there: a `status` other than ok
/// is unknown; otherwise the condition decides.
fn judge(frame: &DataFrame, when: &Predicate) -> shoal_lang::Result<Vec<(String, Observation)>> {
    let hosts = frame.column("host").map_err(|_| {
        shoal_lang::Error::new("the query's rows have no `host` column", None)
            .with_hint("an alarm's query yields one row per host: start it with `hosts`")
    })?;
    let hosts = texts(hosts)?;
    let statuses = match frame.column("status") {
        Ok(column) => texts(column)?,
        Err(_) => vec![None; frame.height()],
    };
    let matching = shoal_stdlib::predicate::mask(frame, when)?;
    Ok(hosts
        .into_iter()
        .zip(statuses)
        .zip(matching)
        .filter_map(|((host, status), bad)| {
            let seen = match status.as_deref() {
                Some(status) if status != "ok" => Observation::Unknown,
                _ if bad => Observation::Bad,
                _ => Observation::Good,
            };
            Some((host?, seen))
        })
        .collect())
}

/// How many rows have each `status` (all `ok` when there is no such column).
fn status_counts(frame: &DataFrame) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let statuses = match frame.column("status") {
        Ok(column) => texts(column).unwrap_or_default(),
        Err(_) => vec![Some("ok".to_string()); frame.height()],
    };
    for status in statuses {
        *counts
            .entry(status.unwrap_or_else(|| "none".into()))
            .or_insert(0) += 1;
    }
    counts
}

/// The rows of `frame` whose host is one of `hosts`.
fn rows_of(frame: &DataFrame, hosts: &[String]) -> Result<DataFrame, String> {
    let wanted: HashSet<&str> = hosts.iter().map(String::as_str).collect();
    let column = frame.column("host").map_err(|e| e.to_string())?;
    let keep: BooleanChunked = texts(column)
        .map_err(|e| e.reason)?
        .iter()
        .map(|h| h.as_deref().is_some_and(|h| wanted.contains(h)))
        .collect();
    frame.filter(&keep).map_err(|e| e.to_string())
}

/// `column`'s value for each of `hosts`, from `act`'s result.
fn per_host(
    result: &DataFrame,
    hosts: &[String],
    column: &str,
) -> shoal_lang::Result<Vec<Option<String>>> {
    let names = texts(
        result
            .column("host")
            .map_err(shoal_stdlib::frame::internal)?,
    )?;
    let values = texts(
        result
            .column(column)
            .map_err(shoal_stdlib::frame::internal)?,
    )?;
    let by_host: HashMap<&str, &Option<String>> = names
        .iter()
        .zip(&values)
        .filter_map(|(h, v)| Some((h.as_deref()?, v)))
        .collect();
    Ok(hosts
        .iter()
        .map(|h| by_host.get(h.as_str()).and_then(|v| (*v).clone()))
        .collect())
}

fn fold(hosts: &[String]) -> String {
    shoal_lang::fold_hosts(&hosts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `3600000` as `1h`, `90000` as `90s`: a window as a person writes it.
fn duration_text(ms: u64) -> String {
    match ms {
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_print_as_written() {
        assert_eq!(duration_text(3_600_000), "1h");
        assert_eq!(duration_text(120_000), "2m");
        assert_eq!(duration_text(90_000), "90s");
        assert_eq!(duration_text(1500), "1500ms");
    }

    #[test]
    fn a_row_is_unknown_unless_its_status_is_ok() {
        let frame = df!(
            "host" => ["a", "b", "c", "d"],
            "status" => [Some("ok"), Some("ok"), Some("unreachable"), None],
            "health" => [Some("OK"), Some("FAIL"), None, Some("FAIL")],
        )
        .unwrap();
        let when =
            shoal_stdlib::compile_rules("alarm x every 1s\n query hosts\n when health != OK\n")
                .unwrap()
                .alarms
                .remove(0)
                .when;
        let seen = judge(&frame, &when).unwrap();
        assert_eq!(
            seen,
            [
                ("a".to_string(), Observation::Good),
                ("b".to_string(), Observation::Bad),
                ("c".to_string(), Observation::Unknown),
                ("d".to_string(), Observation::Bad),
            ]
        );
    }
}
