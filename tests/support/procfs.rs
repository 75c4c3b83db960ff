//! What the harness reads from /proc: listening TCP sockets and a process's children.

use std::collections::HashSet;
use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The kernel's state number for a listening socket in /proc/net/tcp (`TCP_LISTEN`).
const TCP_LISTEN: &str = "0A";

/// Every IPv4 TCP socket in the listening state.
///
/// Readiness is checked here rather than by connecting: sshd forks and re-executes itself
/// for every connection, so probing 200 hosts by connecting would cost seconds of CPU and
/// fill each log with probe connections.
pub fn listening_sockets() -> HashSet<SocketAddrV4> {
    let table = fs::read_to_string("/proc/net/tcp")
        .unwrap_or_else(|e| panic!("cannot read /proc/net/tcp: {e}"));
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            (state == TCP_LISTEN).then_some(())?;
            let (addr, port) = local.split_once(':')?;
            // The address is the raw network-order word printed as a native integer.
            let addr = u32::from_str_radix(addr, 16).ok()?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some(SocketAddrV4::new(Ipv4Addr::from(addr.to_ne_bytes()), port))
        })
        .collect()
}

/// The process ids of `pid`'s children (empty when it has none or is gone).
pub fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|child| child.parse().ok())
        .collect()
}

/// Sends SIGKILL to `pid`. A process that is already gone is not an error: the caller
/// only wants it dead.
pub fn kill(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("pids fit in pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}
