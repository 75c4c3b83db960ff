//! Hands out loopback addresses (127.0.1.1, 127.0.1.2, …) so that fleets running at the same
//! time, in one test binary or in several, never listen on the same address and port.

use std::fs::{self, File, TryLockError};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

/// Hosts per /24: 127.0.1.1–250, then 127.0.2.1–250, and so on. Stopping at 250 keeps the
/// last octet clear of .255 and leaves the numbers easy to read.
const PER_SUBNET: usize = 250;

/// The highest index ever tried: 127.0.1.1 up to 127.0.250.250.
const MAX_ADDRESSES: usize = PER_SUBNET * PER_SUBNET;

/// How many taken-by-someone-else addresses to step over before giving up. Each one is a
/// listener the harness did not start (a leftover sshd from a killed test run, say); this
/// many almost always means something listens on the wildcard address, such as a system sshd
/// on 0.0.0.0:22, which takes the port on every loopback address at once.
const MAX_BUSY: usize = 250;

/// Addresses held for one fleet; the file locks behind them are released on drop, and by
/// the kernel if the test process dies.
pub struct AddressLease {
    pub addrs: Vec<Ipv4Addr>,
    _locks: Vec<File>,
}

/// The directory of the harness's lock files, shared by every test process on the machine.
pub fn lock_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("shoal-fleet-locks");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// The `index`th fleet address (0-based): 0 → 127.0.1.1, 249 → 127.0.1.250, 250 → 127.0.2.1.
fn address(index: usize) -> Ipv4Addr {
    let subnet = u8::try_from(1 + index / PER_SUBNET).expect("address index in range");
    let host = u8::try_from(1 + index % PER_SUBNET).expect("address index in range");
    Ipv4Addr::new(127, 0, subnet, host)
}

/// Takes the lowest `count` addresses whose `port` is free, holding a lock on each.
///
/// An address counts as free when no other fleet holds its lock and a test bind of
/// `addr:port` succeeds, so leftovers from a crashed run are stepped over, not fought.
pub fn lease(count: usize, port: u16) -> AddressLease {
    let dir = lock_dir();
    let mut addrs = Vec::with_capacity(count);
    let mut locks = Vec::with_capacity(count);
    let mut busy = Vec::new();
    for index in 0..MAX_ADDRESSES {
        if addrs.len() == count {
            break;
        }
        let addr = address(index);
        let path = dir.join(format!("{addr}:{port}.lock"));
        let lock =
            File::create(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => panic!("cannot lock {}: {e}", path.display()),
        }
        match TcpListener::bind((addr, port)) {
            Ok(_probe) => {
                addrs.push(addr);
                locks.push(lock);
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                busy.push(addr);
                assert!(
                    busy.len() < MAX_BUSY,
                    "port {port} is already in use on {} loopback addresses ({}, {}, …), so \
                     the sshd fleet cannot listen there. Is a system sshd listening on \
                     0.0.0.0:{port}? See `ss -ltnp 'sport = :{port}'`; .ci/setup-sshd.sh stops it.",
                    busy.len(),
                    busy[0],
                    busy[1],
                );
            }
            Err(e) => panic!(
                "cannot bind {addr}:{port} to check it is free: {e} \
                 (the sshd fleet must run as root to listen on port {port})"
            ),
        }
    }
    assert_eq!(
        addrs.len(),
        count,
        "cannot find {count} free loopback addresses for port {port}"
    );
    AddressLease {
        addrs,
        _locks: locks,
    }
}
