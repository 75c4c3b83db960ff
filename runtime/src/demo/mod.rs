//! The embedded demo fleet behind `shoal demo`: thirty real SSH servers
//! (russh's server side) on 127.0.0.1, in this process, with a seeded
//! incident to investigate. It needs no root, sshd or network.
//!
//! ```text
//!   DemoFleet::start()          (async: the servers are tasks of the caller's runtime;
//!                                DemoFleet::start_blocking() brings a runtime of its own)
//!     ├─ files.rs:  temp dir, client key, per-host sandbox (data.rs), known_hosts,
//!     │             inventory.toml
//!     └─ server.rs: per host, a listener on port 0 with its own Ed25519 host key;
//!                   each exec runs `sh -c` in the sandbox, in its own process group
//!   inventory_path()  →  Inventory::load  →  SshExecutor, unchanged
//! ```
//!
//! The client side is not special-cased anywhere: shoal reaches the demo
//! hosts through the ordinary inventory, checks their host keys strictly
//! against the generated known_hosts, and logs in with the generated key as
//! user `demo`. Each host's commands run with its sandbox as working
//! directory and `$HOME`, so paths in demo queries are relative
//! (`cat etc/app/version`); `hostname` and `nproc` answer as the host, and
//! `cat` maps /sys/class/dmi/id and /etc/app into the sandbox, so that
//! `facts` sees each host's BIOS.
//!
//! Invariant: dropping the [`DemoFleet`] stops its servers, kills every
//! command still running, and removes the temporary directory.

mod data;
mod files;
mod server;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use server::{Groups, HostContext, Shared};

/// The `$PATH` after a host's `bin/` when shoal's own has none.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A running demo fleet and its files.
pub struct DemoFleet {
    inventory: PathBuf,
    shared: Arc<Shared>,
    /// The runtime the servers run on, when the fleet brought its own
    /// ([`DemoFleet::start_blocking`]); shut down after they were told to
    /// stop.
    runtime: Option<tokio::runtime::Runtime>,
    /// Last, so the directory goes only after the servers were told to stop.
    _dir: tempfile::TempDir,
}

impl DemoFleet {
    /// Writes the fleet's files and starts its 30 servers as tasks on the
    /// current tokio runtime; returns once every server listens. The
    /// runtime must keep running while the fleet is used (from synchronous
    /// code: `runtime.block_on(DemoFleet::start())`). Takes tens of
    /// milliseconds, nearly all of it creating the sandboxes' 330 files.
    /// Those writes block the calling task; nothing else runs yet at that
    /// point, and writing from 30 threads measured hardly faster.
    pub async fn start() -> io::Result<DemoFleet> {
        let dir = demo_dir()?;
        let identity = dir.path().join("id_ed25519");
        let client_key = files::new_key("shoal-demo-client")?;
        files::write_key_pair(&identity, &client_key)?;
        let shared = Arc::new(Shared {
            client_key: client_key.public_key().clone(),
            groups: Groups::default(),
            stop: CancellationToken::new(),
        });

        // Everything that can fail comes before the first server starts.
        let sandboxes = dir.path().join("hosts");
        let inherited = std::env::var_os("PATH").unwrap_or_else(|| FALLBACK_PATH.into());
        let mut servers = Vec::with_capacity(data::HOSTS.len());
        for host in &data::HOSTS {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let port = listener.local_addr()?.port();
            let key = files::new_key(host.name)?;
            let sandbox = files::write_sandbox(&sandboxes, host)?;
            let path = search_path(&sandbox, &inherited)?;
            let context = HostContext {
                name: host.name,
                sandbox,
                path,
            };
            servers.push((host, listener, port, key, context));
        }
        let listening: Vec<files::Listening> = servers
            .iter()
            .map(|(host, _, port, key, _)| files::Listening {
                host,
                port: *port,
                key: key.public_key(),
            })
            .collect();
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, files::known_hosts(&listening)?)?;
        let inventory = dir.path().join("inventory.toml");
        std::fs::write(
            &inventory,
            files::inventory(&listening, &identity, &known_hosts),
        )?;

        for (_, listener, _, key, context) in servers {
            let config = Arc::new(server::config(key));
            tokio::spawn(server::serve(
                listener,
                config,
                Arc::new(context),
                shared.clone(),
            ));
        }
        Ok(DemoFleet {
            inventory,
            shared,
            runtime: None,
            _dir: dir,
        })
    }

    /// [`DemoFleet::start`] for synchronous code, such as a program that
    /// embeds an [`Engine`](crate::Engine): the servers run on a
    /// two-thread tokio runtime that the fleet owns and shuts down when it
    /// is dropped. Returns once every server listens. Not for use inside
    /// an async task (a runtime cannot block inside another).
    ///
    /// ```no_run
    /// let demo = shoal_runtime::demo::DemoFleet::start_blocking()?;
    /// let mut engine = shoal_runtime::Engine::open(demo.inventory_path())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_blocking() -> io::Result<DemoFleet> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let mut fleet = runtime.block_on(DemoFleet::start())?;
        fleet.runtime = Some(runtime);
        Ok(fleet)
    }

    /// The generated inventory: every host on 127.0.0.1 with its port, user
    /// `demo`, tags az, role, rack and version, groups per role plus
    /// `canary`, and the fleet's client key and known_hosts as defaults.
    pub fn inventory_path(&self) -> &Path {
        &self.inventory
    }
}

impl Drop for DemoFleet {
    fn drop(&mut self) {
        self.shared.stop.cancel();
        // Right away rather than when the tasks next run: the runtime may
        // be shutting down, and no command may outlive the fleet.
        self.shared.groups.kill_all();
        // `_dir` is removed as the fields drop, after this.
    }
}

/// The fleet's directory: on tmpfs (`/dev/shm`) where there is one, since
/// the 30 sandboxes are ~330 small files made at start and removed at exit,
/// and on a journalling disk that alone took half a second here.
fn demo_dir() -> io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("shoal-demo-");
    let shm = Path::new("/dev/shm");
    match shm.is_dir().then(|| builder.tempdir_in(shm)) {
        Some(Ok(dir)) => Ok(dir),
        _ => builder.tempdir(),
    }
}

/// `$PATH` for a host's commands: its own `bin/` first.
fn search_path(sandbox: &Path, inherited: &OsString) -> io::Result<OsString> {
    let rest = std::env::split_paths(inherited);
    std::env::join_paths(std::iter::once(sandbox.join("bin")).chain(rest)).map_err(io::Error::other)
}
