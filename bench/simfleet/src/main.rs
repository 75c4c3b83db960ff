//! simfleet: a simulated fleet for shoal's scale benchmark (tests/benches/scale.rs). One
//! process serves N SSH hosts, each on its own loopback address and port 22 with its own
//! Ed25519 host key: real key exchange, real public-key authentication, and a fake shell
//! (shell.rs) that answers shoal's persistent-shell protocol without starting a process.
//! A real sshd fleet stops at about 1,000 hosts on a small machine (a process, a fork and
//! 10 MB per host); this one reaches 10,000, so shoal's own CPU and memory per host can be
//! measured there, in a process apart from the servers'.
//!
//! ```text
//! simfleet --hosts N --dir DIR [--net 127.77] [--user bench]
//! ```
//!
//! Host `i` (0-based) is `sim` + its number from 1, five digits wide (sim00001), at
//! `NET.(1 + i / 250).(1 + i % 250)`, where `cat /etc/app/version` prints `1.i.0`. DIR
//! receives `inventory.toml`, `known_hosts` and `client_key` (the key every host accepts for
//! USER). Once every host listens it prints `ready` on stdout; it exits when its stdin
//! closes, so it never outlives the benchmark that started it.

mod server;
mod shell;

// shoal's own builder of the lines it sends, for the fake shell's tests: they follow any
// change to the protocol, so the fake shell must keep answering what shoal really sends.
// (Its own tests come along and run here too.)
#[cfg(test)]
#[path = "../../../runtime/src/ssh/remote.rs"]
mod remote;

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write as _};
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, PrivateKey};
use tokio::net::TcpListener;

use server::Shared;
use shell::Host;

/// Hosts per /24 and /24s per network: the last octet stays clear of 0 and 255.
const PER_SUBNET: usize = 250;

/// File descriptors besides the two per host (its listener and one connection): stdio,
/// the runtime's own, the files written at start.
const SPARE_FDS: u64 = 256;

struct Args {
    hosts: usize,
    dir: PathBuf,
    net: [u8; 2],
    user: String,
}

fn usage() -> String {
    "usage: simfleet --hosts N --dir DIR [--net 127.77] [--user bench]".into()
}

fn parse_args() -> Result<Args, String> {
    let mut hosts = None;
    let mut dir = None;
    let mut net = [127, 77];
    let mut user = "bench".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--hosts" => {
                hosts = Some(value()?.parse().map_err(|e| format!("--hosts: {e}"))?);
            }
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--net" => {
                let text = value()?;
                let octets: Vec<u8> = text.split('.').filter_map(|o| o.parse().ok()).collect();
                net = match octets.as_slice() {
                    [127, b] => [127, *b],
                    _ => return Err(format!("--net {text}: expected 127.B, a loopback /16")),
                };
            }
            "--user" => user = value()?,
            _ => return Err(usage()),
        }
    }
    let hosts: usize = hosts.ok_or_else(usage)?;
    if hosts == 0 || hosts > PER_SUBNET * PER_SUBNET {
        return Err(format!("--hosts must be 1 to {}", PER_SUBNET * PER_SUBNET));
    }
    Ok(Args {
        hosts,
        dir: dir.ok_or_else(usage)?,
        net,
        user,
    })
}

/// Host `index`'s address in `net`.
fn address(net: [u8; 2], index: usize) -> Ipv4Addr {
    let octet = |n: usize| u8::try_from(n + 1).expect("hosts are capped to fit");
    Ipv4Addr::new(
        net[0],
        net[1],
        octet(index / PER_SUBNET),
        octet(index % PER_SUBNET),
    )
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("simfleet: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    raise_open_files(2 * args.hosts as u64 + SPARE_FDS)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(start(&args))?;
    println!("ready");
    io::stdout()
        .flush()
        .map_err(|e| format!("cannot write: {e}"))?;
    // The servers run on the runtime's workers until stdin closes.
    let _ = io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

/// Writes the fleet's files and starts every host's server.
async fn start(args: &Args) -> Result<(), String> {
    fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let client_key = new_key("simfleet-client")?;
    let identity = args.dir.join("client_key");
    write_private_key(&identity, &client_key)?;
    let shared = Arc::new(Shared {
        user: args.user.clone(),
        client_key: client_key.public_key().clone(),
    });

    let mut known_hosts = String::new();
    let mut inventory = format!(
        "# A simulated fleet of {} hosts, written by simfleet.\n[defaults]\nuser = {}\n\
         identity_files = [{}]\nknown_hosts = {}\n",
        args.hosts,
        quote(&args.user),
        quote(&identity.to_string_lossy()),
        quote(&args.dir.join("known_hosts").to_string_lossy()),
    );
    let mut servers = Vec::with_capacity(args.hosts);
    for index in 0..args.hosts {
        let addr = address(args.net, index);
        let listener = TcpListener::bind((addr, 22))
            .await
            .map_err(|e| format!("cannot listen on {addr}:22: {e}"))?;
        let host = Host {
            index,
            name: format!("sim{:05}", index + 1),
        };
        let key = new_key(&host.name)?;
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| format!("cannot encode a host key: {e}"))?;
        let _ = writeln!(known_hosts, "{addr} {public}");
        let _ = write!(
            inventory,
            "\n[[hosts]]\nname = {}\naddr = \"{addr}\"\nport = 22\n",
            quote(&host.name)
        );
        servers.push((listener, key, host));
    }
    write(&args.dir.join("known_hosts"), &known_hosts)?;
    write(&args.dir.join("inventory.toml"), &inventory)?;
    for (listener, key, host) in servers {
        tokio::spawn(server::serve(
            listener,
            Arc::new(server::config(key)),
            Arc::new(host),
            shared.clone(),
        ));
    }
    Ok(())
}

fn new_key(comment: &str) -> Result<PrivateKey, String> {
    let mut key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
        .map_err(|e| format!("cannot make a key: {e}"))?;
    key.set_comment(comment);
    Ok(key)
}

/// The key in OpenSSH's format, readable by its owner only, as ssh insists.
fn write_private_key(path: &Path, key: &PrivateKey) -> Result<(), String> {
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| format!("cannot encode the client key: {e}"))?;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A TOML basic string: quoted, with quotes, backslashes and control characters escaped.
fn quote(text: &str) -> String {
    let mut quoted = String::from('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Makes room for `needed` open files: the soft limit up to the hard one, and past it
/// (which takes root, up to /proc/sys/fs/nr_open) when that is still too low. Says on
/// stderr what it changed, for the benchmark's report.
fn raise_open_files(needed: u64) -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!(
            "cannot read RLIMIT_NOFILE: {}",
            io::Error::last_os_error()
        ));
    }
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    let raised = libc::rlimit {
        rlim_cur: needed,
        rlim_max: limit.rlim_max.max(needed),
    };
    // SAFETY: setrlimit reads the struct we pass and nothing else.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(format!(
            "{needed} open files needed, RLIMIT_NOFILE is {}/{} (soft/hard) and raising it \
             failed: {} (raising the hard limit takes root)",
            limit.rlim_cur,
            limit.rlim_max,
            io::Error::last_os_error()
        ));
    }
    eprintln!(
        "simfleet: RLIMIT_NOFILE raised from {}/{} to {}/{} (soft/hard)",
        limit.rlim_cur, limit.rlim_max, raised.rlim_cur, raised.rlim_max
    );
    Ok(())
}
