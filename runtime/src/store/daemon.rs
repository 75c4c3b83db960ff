//! What `shoal daemon` keeps in the store (migration 4): each alarm tick,
//! every host's alarm state (which a restarted daemon resumes), the events,
//! every action of a bot and its outcome (which the breaker counts, so a
//! SIGKILL cannot reset it), tripped breakers, and each bot's pause and
//! reset, which `shoal bots` changes and the running daemon reads on every
//! tick.
//!
//! An action's row is written before the bot acts, as `started`, and
//! updated with how it ended: a daemon killed mid-action has still counted
//! it.

use std::collections::HashSet;

use polars::prelude::*;
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now_ms, timestamp};

/// One host's alarm state as stored (`daemon::state::HostState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmHost {
    pub host: String,
    pub state: String,
    pub streak: u64,
    pub known: String,
    pub unknown_ticks: u64,
}

/// One alarm tick: what the query saw, and the hosts whose state changed.
#[derive(Debug)]
pub struct TickRecord<'a> {
    pub alarm: &'a str,
    pub started_ms: i64,
    pub duration_ms: i64,
    pub hosts: u64,
    pub matching: u64,
    pub unknown: u64,
    /// Why the query gave no rows to judge, when it did not.
    pub error: Option<&'a str>,
    pub changed: &'a [AlarmHost],
    /// Hosts no longer tracked (gone from the inventory).
    pub forgotten: &'a [String],
}

/// An event: a firing, a resolution, an action, a tripped breaker, a bot
/// that refused, a pause. `body` is the JSON object `notify` receives.
#[derive(Debug)]
pub struct EventRecord<'a> {
    pub kind: &'a str,
    pub alarm: Option<&'a str>,
    pub bot: Option<&'a str>,
    pub body: &'a str,
}

/// A bot as the daemon loaded it.
#[derive(Debug)]
pub struct BotRecord<'a> {
    pub name: &'a str,
    pub alarm: &'a str,
    pub act: &'a str,
    /// `3 per 1h`, as written, and the window in milliseconds.
    pub limit: &'a str,
    pub per_ms: u64,
    pub file: &'a str,
}

/// What `shoal bots pause|resume|reset` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BotControl {
    pub paused: bool,
    /// Actions before this are forgotten by the breaker.
    pub reset_ms: i64,
}

/// `shoal bots pause|resume|reset NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotCommand {
    Pause,
    Resume,
    Reset,
}

impl BotCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            BotCommand::Pause => "paused",
            BotCommand::Resume => "resumed",
            BotCommand::Reset => "reset",
        }
    }
}

/// How an action row is marked when the bot did not act after all: the
/// breaker does not count these.
const NOT_ACTED: &str = "('skipped', 'refused', 'dry_run')";

impl Store {
    /// Writes a tick, its host states and its events in one transaction.
    pub fn record_tick(
        &self,
        tick: &TickRecord<'_>,
        events: &[EventRecord<'_>],
    ) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let write = |connection: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            transaction.execute(
                "INSERT INTO daemon_ticks (alarm, started_ms, duration_ms, hosts, matching, unknown, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    tick.alarm,
                    tick.started_ms,
                    tick.duration_ms,
                    tick.hosts as i64,
                    tick.matching as i64,
                    tick.unknown as i64,
                    tick.error
                ],
            )?;
            {
                let mut upsert = transaction.prepare_cached(
                    "INSERT INTO alarm_hosts (alarm, host, state, streak, known, unknown_ticks, changed_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (alarm, host) DO UPDATE SET state = ?3, streak = ?4, known = ?5,
                        unknown_ticks = ?6, changed_ms = ?7",
                )?;
                for host in tick.changed {
                    upsert.execute(params![
                        tick.alarm,
                        host.host,
                        host.state,
                        host.streak as i64,
                        host.known,
                        host.unknown_ticks as i64,
                        now_ms()
                    ])?;
                }
                let mut forget = transaction
                    .prepare_cached("DELETE FROM alarm_hosts WHERE alarm = ?1 AND host = ?2")?;
                for host in tick.forgotten {
                    forget.execute(params![tick.alarm, host])?;
                }
            }
            insert_events(&transaction, &self.user, events)?;
            transaction.commit()
        };
        write(&mut connection).map_err(|e| self.sql(e))
    }

    /// Writes events that belong to no tick (a bot's, a pause).
    pub fn record_events(&self, events: &[EventRecord<'_>]) -> Result<(), StoreError> {
        let connection = self.connection();
        insert_events(&connection, &self.user, events).map_err(|e| self.sql(e))
    }

    /// Every host's stored state for `alarm`: what a restarted daemon
    /// resumes from.
    pub fn alarm_hosts(&self, alarm: &str) -> Result<Vec<AlarmHost>, StoreError> {
        let connection = self.connection();
        let read = || -> rusqlite::Result<Vec<AlarmHost>> {
            connection
                .prepare(
                    "SELECT host, state, streak, known, unknown_ticks FROM alarm_hosts WHERE alarm = ?1",
                )?
                .query_map([alarm], |row| {
                    Ok(AlarmHost {
                        host: row.get(0)?,
                        state: row.get(1)?,
                        streak: row.get::<_, i64>(2)?.max(0) as u64,
                        known: row.get(3)?,
                        unknown_ticks: row.get::<_, i64>(4)?.max(0) as u64,
                    })
                })?
                .collect()
        };
        read().map_err(|e| self.sql(e))
    }

    /// Notes a bot the daemon loaded, keeping its pause and reset.
    pub fn register_bot(&self, bot: &BotRecord<'_>) -> Result<(), StoreError> {
        self.connection()
            .execute(
                "INSERT INTO bots (name, alarm, act, lim, per_ms, file, seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (name) DO UPDATE SET alarm = ?2, act = ?3, lim = ?4, per_ms = ?5, file = ?6, seen_ms = ?7",
                params![bot.name, bot.alarm, bot.act, bot.limit, bot.per_ms as i64, bot.file, now_ms()],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// The bot's pause and reset, as `shoal bots` last set them.
    pub fn bot_control(&self, bot: &str) -> Result<BotControl, StoreError> {
        self.connection()
            .query_row(
                "SELECT paused, reset_ms FROM bots WHERE name = ?1",
                [bot],
                |row| {
                    Ok(BotControl {
                        paused: row.get::<_, i64>(0)? != 0,
                        reset_ms: row.get(1)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(|e| self.sql(e))
    }

    /// When the bot acted on each host since `since_ms`, leaving out
    /// actions that did not happen (dry runs, skipped, refused).
    pub fn bot_actions(&self, bot: &str, since_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let connection = self.connection();
        let read = || -> rusqlite::Result<Vec<(String, i64)>> {
            connection
                .prepare(&format!(
                    "SELECT host, at_ms FROM bot_actions
                     WHERE bot = ?1 AND at_ms >= ?2 AND dry_run = 0 AND status NOT IN {NOT_ACTED}"
                ))?
                .query_map(params![bot, since_ms], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        };
        read().map_err(|e| self.sql(e))
    }

    /// Rows for actions about to start, `started`; their ids, in `hosts`'
    /// order.
    pub fn begin_actions(
        &self,
        bot: &str,
        hosts: &[String],
        dry_run: bool,
    ) -> Result<Vec<i64>, StoreError> {
        let mut connection = self.connection();
        let write = |connection: &mut rusqlite::Connection| -> rusqlite::Result<Vec<i64>> {
            let transaction = connection.transaction()?;
            let at = now_ms();
            let mut ids = Vec::with_capacity(hosts.len());
            for host in hosts {
                transaction.execute(
                    "INSERT INTO bot_actions (bot, host, at_ms, status, dry_run) VALUES (?1, ?2, ?3, 'started', ?4)",
                    params![bot, host, at, dry_run as i64],
                )?;
                ids.push(transaction.last_insert_rowid());
            }
            transaction.commit()?;
            Ok(ids)
        };
        write(&mut connection).map_err(|e| self.sql(e))
    }

    /// How each action ended: `(id, status)`.
    pub fn end_actions(&self, ended: &[(i64, &str)]) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let write = |connection: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            for (id, status) in ended {
                transaction.execute(
                    "UPDATE bot_actions SET status = ?2 WHERE id = ?1",
                    params![id, status],
                )?;
            }
            transaction.commit()
        };
        write(&mut connection).map_err(|e| self.sql(e))
    }

    /// The hosts whose breaker for `bot` is open.
    pub fn tripped(&self, bot: &str) -> Result<HashSet<String>, StoreError> {
        let connection = self.connection();
        let read = || -> rusqlite::Result<HashSet<String>> {
            connection
                .prepare("SELECT host FROM bot_breakers WHERE bot = ?1")?
                .query_map([bot], |row| row.get(0))?
                .collect()
        };
        read().map_err(|e| self.sql(e))
    }

    /// Opens `bot`'s breaker on `hosts`, with the reason.
    pub fn trip(&self, bot: &str, hosts: &[String], reason: &str) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let write = |connection: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            for host in hosts {
                transaction.execute(
                    "INSERT OR REPLACE INTO bot_breakers (bot, host, tripped_ms, reason) VALUES (?1, ?2, ?3, ?4)",
                    params![bot, host, now_ms(), reason],
                )?;
            }
            transaction.commit()
        };
        write(&mut connection).map_err(|e| self.sql(e))
    }

    /// The names of the bots any daemon has loaded.
    pub fn bot_names(&self) -> Result<Vec<String>, StoreError> {
        let connection = self.connection();
        let read = || -> rusqlite::Result<Vec<String>> {
            connection
                .prepare("SELECT name FROM bots ORDER BY name")?
                .query_map([], |row| row.get(0))?
                .collect()
        };
        read().map_err(|e| self.sql(e))
    }

    /// `shoal bots pause|resume|reset NAME`, recorded as an event with who
    /// ran it. A reset closes every breaker of the bot and makes it forget
    /// its earlier actions. False when there is no such bot.
    pub fn control_bot(&self, bot: &str, command: BotCommand) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let write = |connection: &mut rusqlite::Connection| -> rusqlite::Result<bool> {
            let transaction = connection.transaction()?;
            let sql = match command {
                BotCommand::Pause => "UPDATE bots SET paused = 1 WHERE name = ?1",
                BotCommand::Resume => "UPDATE bots SET paused = 0 WHERE name = ?1",
                BotCommand::Reset => "UPDATE bots SET reset_ms = ?2 WHERE name = ?1",
            };
            let changed = if command == BotCommand::Reset {
                transaction.execute(sql, params![bot, now_ms()])?
            } else {
                transaction.execute(sql, [bot])?
            };
            if changed == 0 {
                return Ok(false);
            }
            let mut reopened = 0;
            if command == BotCommand::Reset {
                reopened = transaction.execute("DELETE FROM bot_breakers WHERE bot = ?1", [bot])?;
            }
            let body = serde_json::json!({
                "kind": format!("bot_{}", command.as_str()),
                "bot": bot,
                "user": self.user,
                "at": timestamp(now_ms()),
                "breakers_closed": reopened,
            })
            .to_string();
            insert_events(
                &transaction,
                &self.user,
                &[EventRecord {
                    kind: &format!("bot_{}", command.as_str()),
                    alarm: None,
                    bot: Some(bot),
                    body: &body,
                }],
            )?;
            transaction.commit()?;
            Ok(true)
        };
        write(&mut connection).map_err(|e| self.sql(e))
    }

    /// `shoal bots`: each bot with its state, its limit, how often it acted
    /// within its window, the hosts whose breaker is open, and who last
    /// paused, resumed or reset it.
    pub fn bots(&self) -> Result<DataFrame, StoreError> {
        let connection = self.connection();
        let now = now_ms();
        let read = || -> rusqlite::Result<Vec<[Option<String>; 8]>> {
            connection
                .prepare(&format!(
                    "SELECT b.name, b.alarm, CASE b.paused WHEN 1 THEN 'paused' ELSE 'active' END, b.lim,
                        (SELECT count(*) FROM bot_actions a WHERE a.bot = b.name AND a.dry_run = 0
                            AND a.status NOT IN {NOT_ACTED} AND a.at_ms >= max(b.reset_ms, ?1 - b.per_ms)),
                        (SELECT group_concat(host, ',') FROM (SELECT host FROM bot_breakers k WHERE k.bot = b.name ORDER BY host)),
                        (SELECT kind || ' by ' || user FROM daemon_events e WHERE e.bot = b.name
                            AND e.kind IN ('bot_paused', 'bot_resumed', 'bot_reset') ORDER BY id DESC LIMIT 1),
                        b.file
                     FROM bots b ORDER BY b.name"
                ))?
                .query_map([now], |row| {
                    Ok([
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        Some(row.get::<_, i64>(4)?.to_string()),
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                    ])
                })?
                .collect()
        };
        let rows = read().map_err(|e| self.sql(e))?;
        let names = [
            "bot", "alarm", "state", "limit", "acted", "tripped", "changed", "file",
        ];
        let columns = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let values: Vec<Option<String>> = rows
                    .iter()
                    .map(|row| match (i, &row[i]) {
                        // The hosts whose breaker is open, folded as a nodeset.
                        (5, Some(hosts)) => Some(shoal_lang::fold_hosts(
                            &hosts.split(',').collect::<Vec<_>>(),
                        )),
                        (_, value) => value.clone(),
                    })
                    .collect();
                Column::new((*name).into(), values)
            })
            .collect();
        DataFrame::new(rows.len(), columns).map_err(|e| StoreError::Open {
            path: self.label.clone().into(),
            why: e.to_string(),
        })
    }
}

fn insert_events(
    connection: &rusqlite::Connection,
    user: &str,
    events: &[EventRecord<'_>],
) -> rusqlite::Result<()> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO daemon_events (at_ms, kind, alarm, bot, user, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for event in events {
        insert.execute(params![
            now_ms(),
            event.kind,
            event.alarm,
            event.bot,
            user,
            event.body
        ])?;
    }
    Ok(())
}
