//! One pooled connection per host for the life of an executor, and on it the
//! host's persistent shell (shell.rs). A host's first use connects;
//! concurrent users of the same host wait on that one connect; a connection
//! found dead is re-established once, transparently, before the host is
//! reported. A shell is lent to one command at a time and kept only while
//! its connection is the pooled one.
//!
//! Jump hosts (`ProxyJump`) are pooled too, by chain: every host behind the
//! same bastion tunnels through its one connection. A jump host that failed
//! is not tried again by the other hosts of the same query.
//!
//! At most `max_connections` host connections are open at once (the
//! open-file limit's budget): a host that needs one when they are all taken
//! closes the least recently used idle one, or waits until one is idle. So
//! a fleet larger than the fd budget is reached whole, a part at a time,
//! instead of its excess ending `unreachable` (too many open files).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use russh::Channel;
use russh::client::Msg;
use shoal_stdlib::executor::Status;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::connect::{self, Connection, Context};
use super::outcome::{Failure, human};
use super::shell::{NoShell, Shell};
use crate::targets::{Endpoint, Route};

/// Counters that let tests (and `--explain`-style diagnostics) see reuse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections established (handshake and authentication done), over
    /// the executor's life. Equal to the number of hosts used when every
    /// connection was reused.
    pub connections_opened: usize,
    /// Idle connections closed to make room for others (at most
    /// `max_connections` are open at once).
    pub connections_closed: usize,
    /// Session channels opened: one per persistent shell started (a host's
    /// first run, and its first after a timeout or cancellation gave its
    /// shell up), plus one per run on a host that has no shell.
    pub channels_opened: usize,
    /// Connections to jump hosts (each also counted in `connections_opened`).
    pub jump_connections: usize,
}

struct Slot {
    route: Route,
    /// The pooled connection. The async mutex is held across a connect, so
    /// concurrent users of the host wait for it rather than racing their own.
    connection: tokio::sync::Mutex<Option<Pooled>>,
    /// When the host last asked for its connection, on the pool's clock:
    /// the least recently used idle connection is the one closed for room.
    last_used: AtomicU64,
    /// The host's persistent shell while no command has it.
    idle_shell: Mutex<Option<Shell>>,
    /// A shell could not start on this host: each command gets a channel.
    no_shell: AtomicBool,
}

/// A pooled connection and its place among the `max_connections`.
struct Pooled {
    connection: Arc<Connection>,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    /// Whether the pooled connection can be closed without cutting a
    /// command short: its shell is idle, or (on a host that runs commands
    /// in shells) no shell holds it at all.
    fn idle(&self, pooled: &Pooled) -> bool {
        lock(&self.idle_shell).is_some()
            || (!self.no_shell.load(Ordering::Relaxed)
                && Arc::strong_count(&pooled.connection) == 1)
    }

    /// The idle shell, if it can take a command; a dead one is dropped,
    /// which closes its channel.
    fn take_shell(&self) -> Option<Shell> {
        let mut shell = lock(&self.idle_shell).take()?;
        shell.is_ready().then_some(shell)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) struct Pool {
    slots: HashMap<String, Slot>,
    /// Jump host connections by chain (outermost first).
    jumps: Mutex<HashMap<Vec<Endpoint>, Arc<JumpSlot>>>,
    context: Context,
    /// One permit per host connection that may be open at once.
    room: Arc<Semaphore>,
    /// Hosts waiting for room right now: what the progress line shows as
    /// queued.
    queued: Arc<AtomicUsize>,
    /// Ticks each time a host asks for its connection (`Slot::last_used`).
    clock: AtomicU64,
    /// Bumped by each query, so a jump host's failure is remembered for the
    /// rest of its query only.
    query: AtomicU64,
    connections_opened: AtomicUsize,
    connections_closed: AtomicUsize,
    channels_opened: AtomicUsize,
    jump_connections: AtomicUsize,
}

/// How often a host waiting for room among busy connections looks again.
const ROOM_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// A host counted in [`Pool::queued`] until this drops, however its wait
/// ends (room found, or the query cancelled).
struct Queued(Arc<AtomicUsize>);

impl Queued {
    fn join(queue: &Arc<AtomicUsize>) -> Queued {
        queue.fetch_add(1, Ordering::Relaxed);
        Queued(queue.clone())
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One jump host chain's pooled connection, or its failure in a query.
#[derive(Default)]
struct JumpSlot {
    state: tokio::sync::Mutex<JumpState>,
}

#[derive(Default)]
enum JumpState {
    #[default]
    None,
    Up(Arc<Connection>),
    Failed {
        query: u64,
        failure: Failure,
    },
}

/// Why a channel could not be opened on a connection.
enum OpenError {
    /// The connection is dead or not answering: worth one reconnect.
    Dead(String),
    /// The server refused the channel on a live connection; reconnecting
    /// would not help and would leak a connection.
    Refused(String),
}

impl Pool {
    /// A pool for `routes`, keeping at most `max_connections` host
    /// connections open at once.
    pub fn new(
        routes: impl IntoIterator<Item = (String, Route)>,
        context: Context,
        max_connections: usize,
    ) -> Pool {
        Pool {
            slots: routes
                .into_iter()
                .map(|(name, route)| {
                    let slot = Slot {
                        route,
                        connection: tokio::sync::Mutex::new(None),
                        last_used: AtomicU64::new(0),
                        idle_shell: Mutex::new(None),
                        no_shell: AtomicBool::new(false),
                    };
                    (name, slot)
                })
                .collect(),
            jumps: Mutex::new(HashMap::new()),
            context,
            room: Arc::new(Semaphore::new(
                max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
            queued: Arc::new(AtomicUsize::new(0)),
            clock: AtomicU64::new(0),
            query: AtomicU64::new(0),
            connections_opened: AtomicUsize::new(0),
            connections_closed: AtomicUsize::new(0),
            channels_opened: AtomicUsize::new(0),
            jump_connections: AtomicUsize::new(0),
        }
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            connections_opened: self.connections_opened.load(Ordering::Relaxed),
            connections_closed: self.connections_closed.load(Ordering::Relaxed),
            channels_opened: self.channels_opened.load(Ordering::Relaxed),
            jump_connections: self.jump_connections.load(Ordering::Relaxed),
        }
    }

    /// A new query starts: jump hosts that failed may be tried again.
    pub fn begin_query(&self) {
        self.query.fetch_add(1, Ordering::Relaxed);
    }

    fn slot(&self, host: &str) -> Result<&Slot, Failure> {
        self.slots.get(host).ok_or_else(|| {
            Failure::new(
                Status::Error,
                format!("host \"{host}\" is not in the inventory"),
            )
        })
    }

    /// A shell on `host` for one command: its idle one, or a new one. `None`
    /// when the host cannot run one, or the new one failed to start; the
    /// command then needs a channel of its own.
    pub async fn shell(&self, host: &str) -> Result<Option<Shell>, Failure> {
        let slot = self.slot(host)?;
        if slot.no_shell.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if let Some(shell) = slot.take_shell() {
            return Ok(Some(shell));
        }
        let (channel, connection) = self.open_in(slot).await?;
        match Shell::start(channel, connection, slot.route.connect_timeout).await {
            Ok(shell) => Ok(Some(shell)),
            Err(NoShell::Unsupported) => {
                slot.no_shell.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(NoShell::Lost) => Ok(None),
        }
    }

    /// Notes that `host` cannot run a shell (its probe failed): its commands
    /// each get a channel for the rest of the session.
    pub fn no_shell(&self, host: &str) {
        if let Some(slot) = self.slots.get(host) {
            slot.no_shell.store(true, Ordering::Relaxed);
        }
    }

    /// Takes back a shell that finished a command, to be `host`'s idle one,
    /// unless its connection has been replaced or the host already has one.
    pub async fn keep_shell(&self, host: &str, shell: Shell) {
        let Some(slot) = self.slots.get(host) else {
            return;
        };
        let pooled = slot.connection.lock().await;
        if pooled
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(&p.connection, shell.connection()))
        {
            lock(&slot.idle_shell).get_or_insert(shell);
        }
    }

    /// A new session channel to `host`, connecting (or reconnecting once)
    /// as needed.
    pub async fn open_channel(&self, host: &str) -> Result<Channel<Msg>, Failure> {
        let (channel, _) = self.open_in(self.slot(host)?).await?;
        Ok(channel)
    }

    /// A new session channel on the slot's connection, and that connection.
    async fn open_in(&self, slot: &Slot) -> Result<(Channel<Msg>, Arc<Connection>), Failure> {
        let (connection, fresh) = self.connection(slot).await?;
        let dead = match self.open(&connection, slot).await {
            Ok(channel) => return Ok((channel, connection)),
            Err(OpenError::Refused(reason)) => return Err(Failure::new(Status::Error, reason)),
            Err(OpenError::Dead(reason)) => reason,
        };
        self.discard(slot, &connection).await;
        if fresh {
            // It died straight after connecting: another try would likely
            // do the same, and the host has had its one connect.
            return Err(Failure::new(
                Status::Error,
                format!("cannot open a session: {dead}"),
            ));
        }
        let (connection, _) = self.connection(slot).await?;
        match self.open(&connection, slot).await {
            Ok(channel) => Ok((channel, connection)),
            Err(OpenError::Refused(reason) | OpenError::Dead(reason)) => Err(Failure::new(
                Status::Error,
                format!("cannot open a session: {reason}"),
            )),
        }
    }

    /// The host's live connection, and whether it was made just now.
    async fn connection(&self, slot: &Slot) -> Result<(Arc<Connection>, bool), Failure> {
        let mut pooled = slot.connection.lock().await;
        slot.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        if let Some(pooled) = pooled.as_ref()
            && !pooled.connection.is_closed()
        {
            return Ok((pooled.connection.clone(), false));
        }
        *pooled = None;
        // A shell of the dead connection is dead too.
        lock(&slot.idle_shell).take();
        let permit = self.room().await;
        let connection = Arc::new(self.connect(&slot.route).await?);
        self.connections_opened.fetch_add(1, Ordering::Relaxed);
        *pooled = Some(Pooled {
            connection: connection.clone(),
            _permit: permit,
        });
        Ok((connection, true))
    }

    /// Room for one more connection: a free permit, or the one the least
    /// recently used idle connection gives up when it is closed; when every
    /// open connection is busy, waits until one is idle.
    async fn room(&self) -> OwnedSemaphorePermit {
        let mut queued: Option<Queued> = None;
        loop {
            if let Ok(permit) = self.room.clone().try_acquire_owned() {
                return permit;
            }
            if !self.close_least_recently_used() {
                // Every open connection is running a command: one will be
                // idle when its command ends.
                queued.get_or_insert_with(|| Queued::join(&self.queued));
                tokio::time::sleep(ROOM_POLL).await;
            }
        }
    }

    /// The number of hosts waiting for room among busy connections, live.
    pub fn queued(&self) -> Arc<AtomicUsize> {
        self.queued.clone()
    }

    /// Closes the least recently used idle host connection; false when
    /// there is none. Slots in use right now (locked) are passed over.
    fn close_least_recently_used(&self) -> bool {
        let oldest = self
            .slots
            .values()
            .filter(|slot| {
                slot.connection
                    .try_lock()
                    .is_ok_and(|pooled| pooled.as_ref().is_some_and(|p| slot.idle(p)))
            })
            .min_by_key(|slot| slot.last_used.load(Ordering::Relaxed));
        let Some(slot) = oldest else {
            return false;
        };
        let Ok(mut pooled) = slot.connection.try_lock() else {
            return false;
        };
        if !pooled.as_ref().is_some_and(|p| slot.idle(p)) {
            return false;
        }
        lock(&slot.idle_shell).take();
        *pooled = None;
        self.connections_closed.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Forgets `dead`, unless another user already replaced it.
    async fn discard(&self, slot: &Slot, dead: &Arc<Connection>) {
        let mut pooled = slot.connection.lock().await;
        if pooled
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(&p.connection, dead))
        {
            *pooled = None;
            lock(&slot.idle_shell).take();
        }
    }

    async fn open(&self, connection: &Connection, slot: &Slot) -> Result<Channel<Msg>, OpenError> {
        // A connection whose peer vanished without a reset would hang here
        // until keepalives gave up; the connect timeout bounds it instead.
        let opened = tokio::time::timeout(
            slot.route.connect_timeout,
            connection.channel_open_session(),
        )
        .await;
        match opened {
            Ok(Ok(channel)) => {
                self.channels_opened.fetch_add(1, Ordering::Relaxed);
                Ok(channel)
            }
            Ok(Err(russh::Error::ChannelOpenFailure(why))) => Err(OpenError::Refused(format!(
                "the server refused a new session ({}); its MaxSessions may be too low",
                why.description()
            ))),
            Ok(Err(e)) => Err(OpenError::Dead(e.to_string())),
            Err(_) => Err(OpenError::Dead("the server did not answer".to_string())),
        }
    }

    /// TCP (or a tunnel through the route's jump hosts), key exchange and
    /// authentication, all within the route's connect timeout.
    async fn connect(&self, route: &Route) -> Result<Connection, Failure> {
        if let Some(reason) = &route.refused {
            return Err(Failure::new(Status::Error, reason.clone()));
        }
        let connecting = async {
            match route.jumps.len() {
                0 => {
                    let stream = connect::tcp(&route.target).await?;
                    connect::handshake(&route.target, &self.context, stream).await
                }
                n => {
                    let via = self.jump(&route.jumps).await?;
                    let stream = connect::tunnel(&via, &route.jumps[n - 1], &route.target).await?;
                    connect::handshake(&route.target, &self.context, stream).await
                }
            }
        };
        match tokio::time::timeout(route.connect_timeout, connecting).await {
            Ok(result) => result,
            Err(_) => {
                let through = match route.jumps.last() {
                    Some(jump) => format!(" (through jump host {})", jump.label),
                    None => String::new(),
                };
                Err(Failure::new(
                    Status::Unreachable,
                    format!(
                        "connect timed out after {}{through}",
                        human(route.connect_timeout)
                    ),
                ))
            }
        }
    }

    /// The pooled connection to the last jump host of `chain`, made through
    /// the ones before it. Its failures make the hosts behind it
    /// `unreachable`, naming it.
    fn jump<'a>(
        &'a self,
        chain: &'a [Endpoint],
    ) -> BoxFuture<'a, Result<Arc<Connection>, Failure>> {
        Box::pin(async move {
            let slot = lock(&self.jumps).entry(chain.to_vec()).or_default().clone();
            let mut state = slot.state.lock().await;
            let query = self.query.load(Ordering::Relaxed);
            match &*state {
                JumpState::Up(connection) if !connection.is_closed() => {
                    return Ok(connection.clone());
                }
                JumpState::Failed {
                    query: failed,
                    failure,
                } if *failed == query => {
                    return Err(failure.clone());
                }
                _ => {}
            }
            let (hop, before) = chain.split_last().expect("a jump chain is never empty");
            let connecting = async {
                if before.is_empty() {
                    let stream = connect::tcp(hop).await?;
                    connect::handshake(hop, &self.context, stream).await
                } else {
                    let via = self.jump(before).await?;
                    let stream = connect::tunnel(&via, &before[before.len() - 1], hop).await?;
                    connect::handshake(hop, &self.context, stream).await
                }
            };
            match connecting.await {
                Ok(connection) => {
                    self.connections_opened.fetch_add(1, Ordering::Relaxed);
                    self.jump_connections.fetch_add(1, Ordering::Relaxed);
                    let connection = Arc::new(connection);
                    *state = JumpState::Up(connection.clone());
                    Ok(connection)
                }
                Err(failure) => {
                    // A failure further out already names its own hop.
                    let failure = if failure.reason.starts_with("via jump host ") {
                        failure
                    } else {
                        Failure::new(
                            Status::Unreachable,
                            format!("via jump host {}: {}", hop.label, failure.reason),
                        )
                    };
                    *state = JumpState::Failed {
                        query,
                        failure: failure.clone(),
                    };
                    Err(failure)
                }
            }
        })
    }
}
