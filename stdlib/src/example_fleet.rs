//! A small, fixed fleet and a scripted executor: what the operator examples
//! run against, and the fake executor for tests that need no network.
//!
//! The fleet has six hosts in three AZs. `cache01` is always unreachable, so
//! every example shows how failed hosts stay rows.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// The example fleet, with groups `@web` and `@db`.
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
        ssh_config: Vec::new(),
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
/// | `systemctl is-active 'UNIT'` | `active`: a unit named by a `{column}`, quoted  |
/// | `cat /etc/app/app.conf` | `key=value` lines; `max_conns=64` on web03          |
/// | `cat /etc/app/status.json` | a JSON object per host                           |
/// | `df -h`                | a header line and two filesystems per host           |
/// | `sh -c ': shoal facts; ...'` | `facts`: per-host facts and families; web03 has BIOS 2.1.7, a high load and an older libssl3, db02's clock is 1.5 s ahead and unsynced |
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
            exchange: None,
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
            _ if command.starts_with("systemctl is-active ") && command.contains('\'') => {
                done("active".into(), 0, "")
            }
            "cat /etc/app/app.conf" => done(app_conf(host, index), 0, ""),
            "cat /etc/app/status.json" => {
                let (state, connections) = if host == "web03" {
                    ("degraded", 64)
                } else {
                    ("ready", 10 + index)
                };
                done(
                    format!(
                        r#"{{"state": "{state}", "connections": {connections}, "queue": {{"depth": {index}}}}}"#
                    ),
                    0,
                    "",
                )
            }
            "df -h" => done(
                format!(
                    "Filesystem      Size  Used Avail Use% Mounted on\n\
                     /dev/vda1        40G   {used}G   {avail}G  {pct}% /\n\
                     tmpfs           3.9G     0  3.9G   0% /dev/shm\n",
                    used = 10 + index,
                    avail = 30 - index,
                    pct = 25 + 3 * index,
                ),
                0,
                "",
            ),
            _ if command.starts_with("sh -c ': shoal facts;") => {
                done(facts(host, index, duration), 0, "")
            }
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

/// The app's config: web03, the broken one, has a much smaller pool.
fn app_conf(host: &str, index: usize) -> String {
    let max_conns = if host == "web03" { 64 } else { 256 };
    format!(
        "# app.conf\nmax_conns={max_conns}\nlog_level=info\nworkers={}\nstarted=2026-11-0{}T08:00:00Z\n",
        4 * (1 + index % 2),
        1 + index
    )
}

/// What the `facts` script prints on an example host. Load and disk use agree
/// with the `cat /proc/loadavg` and `df -h` answers. The clock line comes
/// first and is read as if halfway through the command, as `facts` assumes
/// when an executor reports no exchange, so the measured skew is 0 (give or
/// take the millisecond the answer takes), 1500 on db02. The families are
/// small but real-looking: web03, the broken host, also has an older
/// libssl3, a hand-edited sysctl.d file and `vm.swappiness=10`.
fn facts(host: &str, index: usize, duration: Duration) -> String {
    let load = [0.52, 0.61, 7.9, 1.2, 0.9][index % 5];
    let db = host.starts_with("db");
    let web03 = host == "web03";
    let skew_ms = if host == "db02" { 1500 } else { 0 };
    let mem_avail_mb = if db { 20480 } else { 9000 } - 500 * index;
    let bios_version = if web03 { "2.1.7" } else { "2.1.0" };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let clock_ms = now_ms + skew_ms - duration.as_millis() / 2;
    let role_service = if db { "postgresql" } else { "nginx" };
    let mut lines: Vec<String> = vec![
        format!("clock={}.{:03}", clock_ms / 1000, clock_ms % 1000),
        format!("hostname={host}"),
        "os=debian".into(),
        "os_version=12".into(),
        "kernel=6.1.0-18-amd64".into(),
        "arch=x86_64".into(),
        format!("cpus={}", if db { 8 } else { 4 }),
        format!("mem_total_mb={}", if db { 32093 } else { 15990 }),
        format!("mem_avail_mb={mem_avail_mb}"),
        format!("load1={load:.2}"),
        format!("load5={:.2}", load / 2.0),
        "load15=0.40".into(),
        format!("uptime_s={}", 86_400 * (12 + index) + 1234),
        format!("root_used_pct={}", 25 + 3 * index),
        "bios_vendor=Dell Inc.".into(),
        format!("bios_version={bios_version}"),
        format!("boot_id=6f1c2a3e-0b7d-4c55-9e21-5d8a4b0c7e{index:02}"),
    ];
    let sections: [(&str, Vec<String>); 14] = [
        (
            "cpu_model",
            vec!["model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz".into()],
        ),
        ("microcode", vec!["microcode\t: 0x5003604".into()]),
        (
            "cmdline",
            vec!["BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/vda1 ro quiet".into()],
        ),
        (
            "modules",
            ["ext4", "virtio_net", "virtio_blk"]
                .iter()
                .map(|m| format!("{m} 16384 1 - Live 0x0000000000000000"))
                .collect(),
        ),
        (
            "resolvers",
            vec!["nameserver 10.0.0.2".into(), "search ec2.internal".into()],
        ),
        (
            "listening",
            vec![
                "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1".into(),
                format!(
                    "   1: 00000000:{:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1",
                    if db { 5432 } else { 443 }
                ),
            ],
        ),
        (
            "mounts",
            vec![
                "/dev/vda1 / ext4 rw,relatime 0 0".into(),
                "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0".into(),
            ],
        ),
        ("nic", vec!["eth0 driver: ena".into(), "eth0 version: 2.8.0g".into()]),
        ("failed_units", Vec::new()),
        (
            "time_sync",
            vec![
                format!("NTPSynchronized={}", if host == "db02" { "no" } else { "yes" }),
            ],
        ),
        (
            "sysctl",
            vec![
                "kernel/osrelease:6.1.0-18-amd64".into(),
                "net/core/somaxconn:4096".into(),
                format!("vm/swappiness:{}", if web03 { 10 } else { 60 }),
            ],
        ),
        (
            "etc",
            vec![
                "9f3c1e0a7b2d4c5e6f708192a3b4c5d6  /etc/hosts".into(),
                format!(
                    "{}  /etc/sysctl.d/99-tuning.conf",
                    if web03 {
                        "1b2c3d4e5f60718293a4b5c6d7e8f901"
                    } else {
                        "c0ffee00112233445566778899aabbcc"
                    }
                ),
            ],
        ),
        (
            "packages",
            vec![
                "ii bash=5.2.15-2+b2".into(),
                format!(
                    "ii libssl3:amd64=3.0.11-1~deb12u{}",
                    if web03 { 1 } else { 2 }
                ),
                format!(
                    "ii {role_service}={}",
                    if db { "15.6-0+deb12u1" } else { "1.22.1-9" }
                ),
            ],
        ),
        ("modified", Vec::new()),
    ];
    for (name, section) in sections {
        lines.push(format!("#@{name}"));
        lines.extend(section);
    }
    lines.push("#@end".into());
    lines.join("\n") + "\n"
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
                Self::answer(
                    host,
                    fleet_index,
                    request.command_for(index),
                    request.timeout,
                ),
            );
        }
    }
}
