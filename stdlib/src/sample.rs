//! A small, fixed fleet and a scripted executor: what the operator examples
//! run against, and the fake executor for tests that need no network.
//!
//! The fleet has six hosts in three AZs. `cache01` is always unreachable, so
//! every example shows how failed hosts stay rows.

use std::time::Duration;

use indexmap::IndexMap;

use crate::executor::{Executor, HostOutcome, RunRequest, Status};
use crate::fleet::{Fleet, FleetHost};

/// (name, addr, az, role, version)
const HOSTS: [(&str, &str, &str, &str, &str); 6] = [
    ("web01", "10.0.1.1", "us-east-1a", "web", "2.1.0"),
    ("web02", "10.0.1.2", "us-east-1a", "web", "2.1.0"),
    ("web03", "10.0.2.1", "us-east-1b", "web", "2.0.9"),
    ("db01", "10.0.1.3", "us-east-1a", "db", "2.1.0"),
    ("db02", "10.0.2.2", "us-east-1b", "db", "2.1.0"),
    ("cache01", "10.0.3.1", "us-east-1c", "cache", "2.1.0"),
];

/// The sample fleet, with groups `@web` and `@db`.
pub fn fleet() -> Fleet {
    let hosts = HOSTS
        .iter()
        .map(|(name, addr, az, role, version)| FleetHost {
            name: name.to_string(),
            addr: addr.to_string(),
            tags: IndexMap::from([
                ("az".to_string(), az.to_string()),
                ("role".to_string(), role.to_string()),
                ("version".to_string(), version.to_string()),
            ]),
        })
        .collect();
    let group = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    Fleet {
        hosts,
        groups: IndexMap::from([
            ("web".to_string(), group(&["web01", "web02", "web03"])),
            ("db".to_string(), group(&["db01", "db02"])),
        ]),
    }
}

/// Answers a few commands the way a real fleet would, deterministically.
///
/// | command                | answer                                               |
/// |------------------------|------------------------------------------------------|
/// | `hostname`             | the host name                                        |
/// | `cat /etc/app/version` | `2.0.9` on web03, `2.1.0` elsewhere                  |
/// | `cat /proc/loadavg`    | a per-host load line                                 |
/// | `nproc`                | `8` on db hosts, `4` elsewhere                       |
/// | `systemctl is-active app` | `failed`, exit 3, on web03; `active` elsewhere    |
/// | `sleep N`              | times out                                            |
/// | `exit N`               | exits N                                              |
/// | anything else          | exit 127, `sh: 1: CMD: not found`                    |
///
/// `cache01` is unreachable whatever the command.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScriptedExecutor;

impl ScriptedExecutor {
    fn answer(host: &str, index: usize, command: &str, timeout: Option<Duration>) -> HostOutcome {
        // Distinct, stable durations so sorting by duration_ms is testable.
        let duration = Duration::from_millis(20 + 7 * index as u64);
        if host == "cache01" {
            return HostOutcome {
                duration: Duration::from_millis(10),
                ..HostOutcome::not_run(
                    Status::Unreachable,
                    "connect to 10.0.3.1:22: connection refused",
                )
            };
        }
        let done = |stdout: String, exit: i32, stderr: &str| HostOutcome {
            stdout,
            stderr: stderr.to_string(),
            exit: Some(exit),
            status: if exit == 0 {
                Status::Ok
            } else {
                Status::Failed
            },
            error: (exit != 0).then(|| format!("exit {exit}")),
            duration,
        };
        let word = command.split_whitespace().next().unwrap_or("");
        match command {
            "hostname" => done(host.to_string(), 0, ""),
            "cat /etc/app/version" => done(
                if host == "web03" { "2.0.9" } else { "2.1.0" }.into(),
                0,
                "",
            ),
            "cat /proc/loadavg" => {
                let load = [0.52, 0.61, 7.9, 1.2, 0.9][index % 5];
                done(
                    format!("{load:.2} {:.2} 0.40 1/230 4242", load / 2.0),
                    0,
                    "",
                )
            }
            "nproc" => done(if host.starts_with("db") { "8" } else { "4" }.into(), 0, ""),
            "systemctl is-active app" if host == "web03" => done("failed".into(), 3, ""),
            "systemctl is-active app" => done("active".into(), 0, ""),
            _ if word == "sleep" => {
                let limit = timeout.unwrap_or(Duration::from_secs(60));
                HostOutcome {
                    duration: limit,
                    ..HostOutcome::not_run(
                        Status::Timeout,
                        format!("`{command}` timed out after {}s", limit.as_secs()),
                    )
                }
            }
            _ if word == "exit" => {
                let code = command[4..].trim().parse().unwrap_or(1);
                done(String::new(), code, "")
            }
            _ => done(String::new(), 127, &format!("sh: 1: {word}: not found")),
        }
    }
}

impl Executor for ScriptedExecutor {
    fn run(
        &self,
        hosts: &[String],
        request: &RunRequest,
        on_result: &mut dyn FnMut(usize, HostOutcome),
    ) {
        // Report in reverse so callers are exercised on completion order
        // differing from input order, as with a real fleet.
        for (index, host) in hosts.iter().enumerate().rev() {
            let fleet_index = HOSTS.iter().position(|h| h.0 == host).unwrap_or(index);
            on_result(
                index,
                Self::answer(host, fleet_index, &request.command, request.timeout),
            );
        }
    }
}
