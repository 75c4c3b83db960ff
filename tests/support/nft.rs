//! [`NftTable`]: packet loss on loopback, made with an nftables table that belongs to one
//! test and is deleted when it drops, panic or not.
//!
//! The kernel has nftables but no netem, and the fleet's hosts are loopback addresses in
//! the test's own network namespace, so a fault between shoal and one host is a rule on that
//! host's address. Every packet on loopback is sent by this machine, so one chain on the
//! `output` hook sees both directions: `ip daddr HOST` is shoal (or a proxy) talking to the
//! host, `ip saddr HOST` is the host answering.
//!
//! Each table is named `shoal_test_<pid>_<n>` (family `inet`): tests running at the same
//! time, in one binary or several, never touch each other's rules. A test process killed
//! outright never runs its drops, and its rules would go on dropping packets to addresses
//! that later fleets lease, so creating a table first deletes the tables of test processes
//! that no longer exist.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every table the harness creates starts with this, followed by `<pid>_<n>`.
const PREFIX: &str = "shoal_test_";

/// The nftables family of the tables: `inet` covers IPv4 and IPv6 in one table.
const FAMILY: &str = "inet";

/// The one chain of each table: every locally sent packet, which on loopback is every packet.
const CHAIN: &str = "output";

/// An nftables table of the test's own. Rules added to it hold until it drops.
pub struct NftTable {
    name: String,
}

impl NftTable {
    /// Creates an empty table with its `output` chain. Panics, saying how to install it,
    /// when `nft` is missing, and with nft's message when the kernel refuses.
    pub fn new() -> NftTable {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        delete_stale_tables();
        let name = format!(
            "{PREFIX}{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        nft(&["add", "table", FAMILY, &name]);
        // From here on a failure drops the guard, which deletes the half-made table.
        let table = NftTable { name };
        nft(&[
            "add",
            "chain",
            FAMILY,
            &table.name,
            CHAIN,
            "{ type filter hook output priority 0; policy accept; }",
        ]);
        table
    }

    /// Drops every packet to and from `addr`: the host is a black hole. A connection attempt
    /// gets no answer, not a refusal, and an open connection goes silent.
    pub fn drop_all(&self, addr: Ipv4Addr) {
        let addr = addr.to_string();
        for direction in ["daddr", "saddr"] {
            nft(&[
                "add", "rule", FAMILY, &self.name, CHAIN, "ip", direction, &addr, "drop",
            ]);
        }
    }

    /// Drops `percent` of the packets to `addr` and, independently, `percent` of those from
    /// it, chosen at random per packet (`numgen random mod 100 < percent`).
    pub fn drop_percent(&self, addr: Ipv4Addr, percent: u32) {
        assert!(percent <= 100, "drop_percent({addr}, {percent}): over 100");
        let (addr, percent) = (addr.to_string(), percent.to_string());
        for direction in ["daddr", "saddr"] {
            nft(&[
                "add", "rule", FAMILY, &self.name, CHAIN, "ip", direction, &addr, "numgen",
                "random", "mod", "100", "<", &percent, "drop",
            ]);
        }
    }

    /// Answers every TCP packet to `addr` with a reset, as a host that rebooted answers
    /// packets of a connection it no longer knows: an open connection to it looks alive
    /// until the client sends something, and a new one is refused.
    pub fn reset_tcp(&self, addr: Ipv4Addr) {
        let addr = addr.to_string();
        nft(&[
            "add", "rule", FAMILY, &self.name, CHAIN, "ip", "daddr", &addr, "ip", "protocol",
            "tcp", "reject", "with", "tcp", "reset",
        ]);
    }

    /// Makes `addr` reachable only from sockets of the user `uid`: packets to it from any
    /// other process are dropped. The fleet's sshd forwards `direct-tcpip` channels from the
    /// logged-in user's own session process, so a host behind this rule is reachable through
    /// a jump host (as the test user) but not from shoal (root) directly.
    pub fn only_from_uid(&self, addr: Ipv4Addr, uid: u32) {
        let (addr, uid) = (addr.to_string(), uid.to_string());
        nft(&[
            "add", "rule", FAMILY, &self.name, CHAIN, "ip", "daddr", &addr, "meta", "skuid", "!=",
            &uid, "drop",
        ]);
    }

    /// Deletes every table this process made, for a test binary about to exit without
    /// unwinding (a hang guard calling `std::process::exit`), whose guards never drop.
    pub fn delete_all_of_this_process() {
        let own = std::process::id().to_string();
        delete_tables_where(|pid| pid == own);
    }
}

impl Drop for NftTable {
    fn drop(&mut self) {
        let output = run(&["delete", "table", FAMILY, &self.name]);
        if !output.status.success() {
            let message = format!(
                "cannot delete nftables table {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr)
            );
            // A second panic while unwinding would abort and hide the first one.
            if std::thread::panicking() {
                eprintln!("{message}");
            } else {
                panic!("{message}");
            }
        }
    }
}

/// Deletes the tables of test processes that have exited without deleting them.
fn delete_stale_tables() {
    delete_tables_where(|pid| !Path::new("/proc").join(pid).exists());
}

/// Deletes the harness's tables whose creator's process id passes `doomed`.
fn delete_tables_where(doomed: impl Fn(&str) -> bool) {
    let listing = nft(&["list", "tables", FAMILY]);
    for line in String::from_utf8_lossy(&listing.stdout).lines() {
        // "table inet shoal_test_1234_0"
        let Some(name) = line.split_whitespace().nth(2) else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
        else {
            continue;
        };
        if doomed(pid) {
            // Another test may be deleting the same table; losing that race is fine.
            let _ = run(&["delete", "table", FAMILY, name]);
        }
    }
}

/// Runs `nft ARGS`, panicking with its message when it fails.
fn nft(args: &[&str]) -> Output {
    let output = run(args);
    assert!(
        output.status.success(),
        "nft {} failed with {}: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn run(args: &[&str]) -> Output {
    Command::new("nft")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run nft ({e}): the fault tests need nftables; run .ci/setup-sshd.sh")
        })
}
