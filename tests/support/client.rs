//! The shoal side of a fleet test: an inventory written for an [`SshdFleet`], an
//! `SshExecutor` on its own tokio runtime, and queries evaluated as the REPL evaluates
//! them. Plus the small host-side checks several test files share.

use std::fs;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use shoal_runtime::inventory::{Inventory, Overrides};
use shoal_runtime::ssh::SshExecutor;
use shoal_runtime::ssh_config::SshConfig;
use shoal_runtime::targets::Routes;
use shoal_stdlib::{DataFrame, Quiet, Session};

use super::SshdFleet;

/// A client for one fleet: an inventory, and an executor with the tokio runtime it needs.
pub struct Client {
    pub inventory: Inventory,
    pub executor: SshExecutor,
    /// The executor's connections live on this runtime between runs. `Executor::run`
    /// blocks on it, so tests call it from their own thread, which is not a tokio thread.
    /// Declared last so that it drops after the executor.
    _runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client with the fleet's key and known_hosts, `defaults` added to the inventory's
    /// `[defaults]` section (TOML lines, or "") and `overrides` as the command line gives.
    pub fn new(fleet: &SshdFleet, defaults: &str, overrides: &Overrides) -> Client {
        Client::load(&write_inventory(fleet, defaults), overrides)
    }

    /// A client for the inventory at `path`.
    pub fn load(path: &std::path::Path, overrides: &Overrides) -> Client {
        let inventory = Inventory::load(path, overrides).expect("the fleet's inventory loads");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let routes = Routes::resolve(&inventory, &SshConfig::default());
        let executor = SshExecutor::new(&inventory, &routes, runtime.handle().clone());
        Client {
            inventory,
            executor,
            _runtime: runtime,
        }
    }

    /// A session over this client's inventory.
    pub fn session(&self) -> Session {
        Session::new(self.inventory.fleet())
    }

    /// Evaluates `query` as the REPL evaluates one input: a fresh cancellation token, then
    /// each statement in turn. Returns the last statement's rows; panics with the rendered
    /// error if a statement fails.
    pub fn query(&self, session: &mut Session, query: &str) -> DataFrame {
        self.executor.begin_query();
        let plan =
            shoal_stdlib::compile(query).unwrap_or_else(|e| panic!("{}", e.render(query, false)));
        let mut last = None;
        for statement in &plan.statements {
            let rows = session
                .eval(statement, &self.executor, &mut Quiet)
                .unwrap_or_else(|e| panic!("{}", e.render(query, false)));
            last = Some(rows);
        }
        last.expect("the query has a statement")
    }
}

/// Writes the fleet's inventory, with `defaults` added, as `shoal.toml` in its directory.
pub fn write_inventory(fleet: &SshdFleet, defaults: &str) -> PathBuf {
    let text = fleet.inventory_toml(|_| Vec::new()).replacen(
        "[defaults]\n",
        &format!("[defaults]\n{defaults}"),
        1,
    );
    let path = fleet.dir().join("shoal.toml");
    fs::write(&path, text).expect("write the inventory");
    path
}

/// `web001`, `web002`, …: the name (and `hostname`) `FleetSpec::new` gives host `i`.
pub fn host_name(i: usize) -> String {
    format!("web{:03}", i + 1)
}

/// Waits until `done` holds, checking every 20 ms; fails after `settle` saying `what`.
pub fn wait_for(what: &str, settle: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + settle;
    while !done() {
        assert!(Instant::now() < deadline, "{what} (waited {settle:?})");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The test user's `sleep` processes on host `i`, as `pgrep -a` lists them (empty: none).
pub fn remote_sleeps(fleet: &SshdFleet, i: usize) -> String {
    fleet.run_on_host(i, "pgrep -a -u shoaltest -x sleep")
}
