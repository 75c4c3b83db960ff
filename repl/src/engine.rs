//! The engine every entry point shares (`-c`, scripts, the REPL, the demo):
//! one inventory, one tokio runtime, one SSH executor whose connections are
//! pooled for the whole session, and the session's saved results.
//!
//! Ctrl-C during a query cancels it: hosts still running end `cancelled`,
//! the results so far are returned, and a second Ctrl-C exits at once.

use std::io::IsTerminal;
use tokio::signal::unix::{SignalKind, signal};

use polars::prelude::DataFrame;
use shoal_runtime::inventory::Inventory;
use shoal_runtime::ssh::SshExecutor;
use shoal_runtime::ssh_config::SshConfig;
use shoal_runtime::targets::Routes;
use shoal_stdlib::PlannedStatement;
use shoal_stdlib::Session;
use tokio::runtime::Runtime;

use crate::progress::Progress;

/// What running a statement produced.
pub struct Outcome {
    /// The result, or the error that stopped the statement.
    pub result: shoal_lang::Result<DataFrame>,
    /// True when the user pressed Ctrl-C during it.
    pub interrupted: bool,
}

pub struct Engine {
    // Field order matters: the executor's connections close before the
    // runtime that drives them shuts down.
    executor: SshExecutor,
    runtime: Runtime,
    pub session: Session,
    pub inventory: Inventory,
    /// Whether stderr is a terminal that can show a progress bar.
    show_progress: bool,
    /// Whether any host of any run so far did not end `ok`: exit code 1.
    pub saw_failures: bool,
}

impl Engine {
    /// Each host is reached as `inventory` and `ssh_config` say together.
    pub fn new(inventory: Inventory, ssh_config: &SshConfig) -> std::io::Result<Engine> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let routes = Routes::resolve(&inventory, ssh_config);
        let executor = SshExecutor::new(&inventory, &routes, runtime.handle().clone());
        Ok(Engine {
            executor,
            runtime,
            session: Session::new(routes.fleet(&inventory, ssh_config)),
            inventory,
            show_progress: std::io::stderr().is_terminal(),
            saw_failures: false,
        })
    }

    /// What the user should be told before the first query.
    pub fn warnings(&self) -> &[String] {
        self.executor.warnings()
    }

    /// Runs one planned statement, cancelling it on Ctrl-C.
    pub fn run(&mut self, statement: &PlannedStatement) -> Outcome {
        let token = self.executor.begin_query();
        let watcher = self.runtime.spawn({
            let token = token.clone();
            async move {
                // One stream for both presses: a second `ctrl_c()` would only
                // hear signals sent after it subscribed, so a second Ctrl-C
                // landing while the first is handled would be lost.
                let Ok(mut interrupts) = signal(SignalKind::interrupt()) else {
                    return;
                };
                if interrupts.recv().await.is_some() {
                    token.cancel();
                    eprintln!("\ncancelling… (Ctrl-C again to quit at once)");
                    if interrupts.recv().await.is_some() {
                        std::process::exit(130);
                    }
                }
            }
        });
        let mut progress = Progress::new(self.show_progress);
        let result = self.session.eval(statement, &self.executor, &mut progress);
        watcher.abort();
        self.saw_failures |= progress.saw_failures();
        Outcome {
            result,
            interrupted: token.is_cancelled(),
        }
    }
}
