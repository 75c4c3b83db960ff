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

use std::net::{SocketAddr, SocketAddrV4};
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
    /// Taken on drop to stop the proxy without waiting for its tasks.
    runtime: Option<Runtime>,
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
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, latency));
            }
        });
        DelayProxy {
            addr,
            runtime: Some(runtime),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One client connection: connects upstream and copies both ways, delayed. A failed
/// upstream connect closes the client's connection, as a dead host would.
async fn relay(client: TcpStream, upstream: SocketAddrV4, latency: Duration) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    // The proxy must not add Nagle's delay on top of its own.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        delayed_copy(client_read, server_write, latency),
        delayed_copy(server_read, client_write, latency),
    );
}

/// Copies `from` to `to`, each chunk `latency` after it was read; end of input is passed on
/// the same way. Reading and writing are separate tasks joined by a queue, so a chunk
/// waiting out its delay does not hold back reading the next.
async fn delayed_copy(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    mut to: impl AsyncWrite + Unpin + Send + 'static,
    latency: Duration,
) {
    // `None` is end of input. Unbounded: the test's traffic is small, and a bound would
    // turn a full queue into back-pressure that is not latency.
    let (chunks, mut queued) = mpsc::unbounded_channel::<(Instant, Option<Vec<u8>>)>();
    let reader = async move {
        let mut buffer = vec![0; CHUNK];
        loop {
            let read = from.read(&mut buffer).await;
            let due = Instant::now() + latency;
            match read {
                Ok(n) if n > 0 => {
                    if chunks.send((due, Some(buffer[..n].to_vec()))).is_err() {
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
                Some(bytes) => to.write_all(&bytes).await,
                None => to.shutdown().await,
            };
            if written.is_err() {
                return;
            }
        }
    };
    tokio::join!(reader, writer);
}
