//! [`DelayProxy`]: a TCP proxy in front of one host's sshd that holds every chunk of data,
//! in both directions, for a fixed latency before passing it on, so that a host on loopback
//! answers like one across an ocean. (The kernel has no netem to delay packets.)
//!
//! Each chunk read is stamped with the time it arrived and written out `latency` later, in
//! order, while later chunks are already being read: the link adds latency without cutting
//! its bandwidth, and a round trip through the proxy costs twice the latency. The proxy
//! runs on a tokio runtime of its own, so it serves a test that drives the executor
//! directly and one that runs the `shoal` binary alike; dropping it stops the runtime,
//! which closes every connection through it.
//!
//! Every connection also leaves a [`Trace`]: when each chunk passed the proxy on either side.
//! From that it counts the connection's round trips exactly, telling an answer from data
//! that was already on its way (tests/benches/latency.rs compares shoal's cold handshake
//! with OpenSSH's that way), instead of guessing them from wall time.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The most read from a socket at once: one chunk that is then delayed as a whole.
const CHUNK: usize = 64 * 1024;

/// A running proxy; connections to [`DelayProxy::addr`] reach its upstream.
pub struct DelayProxy {
    addr: SocketAddrV4,
    /// The connections accepted since the last [`DelayProxy::take_traces`], in order.
    traces: Arc<Mutex<Vec<Arc<Mutex<Trace>>>>>,
    /// Taken on drop to stop the proxy without waiting for its tasks.
    runtime: Option<Runtime>,
}

/// One connection through the proxy: each chunk, in the order the client saw them, with
/// when it passed the proxy on the client's side and on the server's.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub events: Vec<Event>,
}

/// One chunk of a connection. Times are since the proxy accepted the connection.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub direction: Direction,
    /// On the client's side: when the proxy read the client's chunk, or wrote the server's
    /// chunk to the client (its delay served).
    pub at: Duration,
    /// On the server's side: when the proxy wrote the client's chunk to the server, or
    /// read the server's chunk. `None` for a client's chunk not delivered (yet).
    pub server_at: Option<Duration>,
    pub bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Trace {
    /// Round trips: how many times the client sent something and then had to wait for the
    /// server's answer to it. A server chunk answers the client only if the server sent it
    /// after the client's waiting chunk reached it; what was already on its way (SSH's
    /// version line, sent on accept; output of a command that finished meanwhile) answers
    /// nothing, so it does not turn the client's next chunk into a round trip of its own.
    /// Chunks the client sends without waiting in between (pipelined) are one round trip,
    /// and a last chunk that nothing answers (the client's goodbye) counts none.
    ///
    /// The proxy does not delay TCP's own handshake: on a real network that is one more
    /// round trip before the first.
    pub fn round_trips(&self) -> usize {
        // When the oldest of the client's chunks not answered yet reached the server.
        let mut waiting_since: Option<Duration> = None;
        let mut trips = 0;
        for event in &self.events {
            match event.direction {
                Direction::ToServer => {
                    // Never delivered: nothing can answer it.
                    waiting_since.get_or_insert(event.server_at.unwrap_or(Duration::MAX));
                }
                Direction::ToClient => {
                    let sent = event.server_at.unwrap_or(Duration::ZERO);
                    if waiting_since.is_some_and(|since| sent >= since) {
                        trips += 1;
                        waiting_since = None;
                    }
                }
            }
        }
        trips
    }
}

/// Where one direction of a connection records its chunks.
#[derive(Clone)]
struct Tracing {
    trace: Arc<Mutex<Trace>>,
    started: Instant,
    direction: Direction,
}

/// What the reader of a chunk leaves for its writer to complete the chunk's event.
#[derive(Clone, Copy)]
enum Stamp {
    /// The client's chunk: its event's index, to fill in `server_at`.
    Sent(usize),
    /// The server's chunk: when it was read.
    Read(Duration),
}

impl Tracing {
    /// A chunk was just read.
    fn read(&self, bytes: usize) -> Stamp {
        let now = self.started.elapsed();
        match self.direction {
            Direction::ToServer => {
                let mut trace = lock(&self.trace);
                trace.events.push(Event {
                    direction: Direction::ToServer,
                    at: now,
                    server_at: None,
                    bytes,
                });
                Stamp::Sent(trace.events.len() - 1)
            }
            Direction::ToClient => Stamp::Read(now),
        }
    }

    /// The chunk `stamp` was read as has just been written.
    fn written(&self, stamp: Stamp, bytes: usize) {
        let now = self.started.elapsed();
        let mut trace = lock(&self.trace);
        match stamp {
            Stamp::Sent(index) => trace.events[index].server_at = Some(now),
            Stamp::Read(read) => trace.events.push(Event {
                direction: Direction::ToClient,
                at: now,
                server_at: Some(read),
                bytes,
            }),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DelayProxy {
    /// Listens on `listen` (port 0: any free one) and forwards each connection to `upstream`,
    /// each direction delayed by `latency`. Panics if it cannot listen.
    pub fn start(listen: SocketAddrV4, upstream: SocketAddrV4, latency: Duration) -> DelayProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the delay proxy's runtime: {e}"));
        let listener = runtime
            .block_on(TcpListener::bind(listen))
            .unwrap_or_else(|e| panic!("the delay proxy cannot listen on {listen}: {e}"));
        let addr = match listener.local_addr() {
            Ok(SocketAddr::V4(addr)) => addr,
            other => panic!("the delay proxy listens on {other:?}, not an IPv4 address"),
        };
        let traces: Arc<Mutex<Vec<Arc<Mutex<Trace>>>>> = Arc::default();
        let accepted = traces.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let trace = Arc::new(Mutex::new(Trace::default()));
                lock(&accepted).push(trace.clone());
                tokio::spawn(relay(client, upstream, latency, trace));
            }
        });
        DelayProxy {
            addr,
            traces,
            runtime: Some(runtime),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// The traces of the connections accepted since the last call, in the order they were
    /// accepted, as far as each has got (a connection still open goes on being traced, but
    /// is not returned again).
    pub fn take_traces(&self) -> Vec<Trace> {
        std::mem::take(&mut *lock(&self.traces))
            .iter()
            .map(|trace| lock(trace).clone())
            .collect()
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One client connection: connects upstream and copies both ways, delayed, tracing the
/// client's side. A failed upstream connect closes the client's connection, as a dead host
/// would.
async fn relay(
    client: TcpStream,
    upstream: SocketAddrV4,
    latency: Duration,
    trace: Arc<Mutex<Trace>>,
) {
    let started = Instant::now();
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    // The proxy must not add Nagle's delay on top of its own.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let tracing = |direction| Tracing {
        trace: trace.clone(),
        started,
        direction,
    };
    tokio::join!(
        delayed_copy(
            client_read,
            server_write,
            latency,
            tracing(Direction::ToServer)
        ),
        delayed_copy(
            server_read,
            client_write,
            latency,
            tracing(Direction::ToClient)
        ),
    );
}

/// Copies `from` to `to`, each chunk `latency` after it was read; end of input is passed on
/// the same way. Reading and writing are separate tasks joined by a queue, so a chunk
/// waiting out its delay does not hold back reading the next.
async fn delayed_copy(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    mut to: impl AsyncWrite + Unpin + Send + 'static,
    latency: Duration,
    tracing: Tracing,
) {
    // `None` is end of input. Unbounded: the test's traffic is small, and a bound would
    // turn a full queue into back-pressure that is not latency.
    let (chunks, mut queued) = mpsc::unbounded_channel::<(Instant, Option<(Vec<u8>, Stamp)>)>();
    let read_tracing = tracing.clone();
    let reader = async move {
        let mut buffer = vec![0; CHUNK];
        loop {
            let read = from.read(&mut buffer).await;
            let due = Instant::now() + latency;
            match read {
                Ok(n) if n > 0 => {
                    let stamp = read_tracing.read(n);
                    if chunks
                        .send((due, Some((buffer[..n].to_vec(), stamp))))
                        .is_err()
                    {
                        return;
                    }
                }
                // End of input or a reset: either way nothing more comes this way.
                _ => {
                    let _ = chunks.send((due, None));
                    return;
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = queued.recv().await {
            tokio::time::sleep_until(due).await;
            let written = match chunk {
                Some((bytes, stamp)) => {
                    let written = to.write_all(&bytes).await;
                    tracing.written(stamp, bytes.len());
                    written
                }
                None => to.shutdown().await,
            };
            if written.is_err() {
                return;
            }
        }
    };
    tokio::join!(reader, writer);
}
