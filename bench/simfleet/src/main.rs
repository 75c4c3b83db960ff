//! simfleet: a simulated fleet for shoal's scale benchmark (tests/benches/scale.rs). It
//! serves N SSH hosts, each on its own loopback address and port 22 with its own Ed25519
//! host key: real key exchange, real public-key authentication, and a fake shell (shell.rs)
//! that answers shoal's persistent-shell protocol without starting a process. A real sshd
//! fleet stops at about 1,000 hosts on a small machine (a process, a fork and 10 MB per
//! host); this one reaches 10,000, so shoal's own CPU and memory per host can be measured
//! there, in a process apart from the servers'.
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
//!
//! Each host holds two descriptors (its listener and shoal's connection). When the open-file
//! limit cannot be raised that far (raising the hard limit takes CAP_SYS_RESOURCE), the
//! fleet is served by several processes, shards of consecutive hosts: this one and
//! children it starts with `--shard K/S --seed SEED`, which derive the same host keys from
//! the seed and exit with it.

mod limits;
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
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::net::Ipv4Addr;
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;

use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use tokio::net::TcpListener;

use server::Shared;
use shell::Host;

/// Hosts per /24 and /24s per network: the last octet stays clear of 0 and 255.
const PER_SUBNET: usize = 250;

/// The seed index of the client key; host keys use the hosts' indexes.
const CLIENT_KEY: u64 = u64::MAX;

struct Args {
    hosts: usize,
    dir: PathBuf,
    net: [u8; 2],
    user: String,
    /// A shard started by the first process: (K, S) and the fleet's seed.
    shard: Option<((usize, usize), Seed)>,
}

fn usage() -> String {
    "usage: simfleet --hosts N --dir DIR [--net 127.77] [--user bench]".into()
}

fn parse_args() -> Result<Args, String> {
    let mut hosts = None;
    let mut dir = None;
    let mut net = [127, 77];
    let mut user = "bench".to_owned();
    let mut shard = None;
    let mut seed = None;
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
            "--shard" => {
                let text = value()?;
                let parsed = text
                    .split_once('/')
                    .and_then(|(k, s)| Some((k.parse().ok()?, s.parse().ok()?)))
                    .filter(|&(k, s)| k < s);
                shard = Some(parsed.ok_or_else(|| format!("--shard {text}: expected K/S"))?);
            }
            "--seed" => seed = Some(Seed::parse(&value()?)?),
            _ => return Err(usage()),
        }
    }
    let hosts: usize = hosts.ok_or_else(usage)?;
    if hosts == 0 || hosts > PER_SUBNET * PER_SUBNET {
        return Err(format!("--hosts must be 1 to {}", PER_SUBNET * PER_SUBNET));
    }
    let shard = match (shard, seed) {
        (Some(shard), Some(seed)) => Some((shard, seed)),
        (None, None) => None,
        _ => return Err("--shard and --seed go together".into()),
    };
    Ok(Args {
        hosts,
        dir: dir.ok_or_else(usage)?,
        net,
        user,
        shard,
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

fn host(index: usize) -> Host {
    Host {
        index,
        name: format!("sim{:05}", index + 1),
    }
}

/// Where every key of the fleet comes from, so that each shard makes the same host keys
/// and the first process can write known_hosts for all of them. A benchmark fleet on
/// loopback, not a secure one: anyone with the seed has every key.
#[derive(Clone, Copy)]
struct Seed([u8; 32]);

impl Seed {
    fn parse(text: &str) -> Result<Seed, String> {
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .filter_map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
            .collect();
        Ok(Seed(bytes.try_into().map_err(|_| {
            format!("--seed {text}: expected 64 hex digits")
        })?))
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Key `index`: Ed25519 hashes its seed, so seeds that differ in a few bits still
    /// give unrelated keys.
    fn key(&self, index: u64, comment: &str) -> PrivateKey {
        let mut seed = self.0;
        for (byte, mix) in seed.iter_mut().zip(index.to_le_bytes()) {
            *byte ^= mix;
        }
        let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        key.set_comment(comment);
        key
    }
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    // Shards are children: held here so that they exit when this process does.
    let mut shards = Vec::new();
    let (seed, hosts) = match args.shard {
        Some(((k, s), seed)) => {
            limits::raise_for(args.hosts.div_ceil(s))?;
            (seed, shard_range(args.hosts, k, s))
        }
        None => {
            let seed = Seed(rand::random());
            let count = limits::shards_for(args.hosts)?;
            write_files(&args, &seed)?;
            for k in 1..count {
                shards.push(start_shard(&args, &seed, k, count)?);
            }
            (seed, shard_range(args.hosts, 0, count))
        }
    };
    let shared = Arc::new(Shared {
        user: args.user.clone(),
        client_key: seed.key(CLIENT_KEY, "").public_key().clone(),
    });
    runtime.block_on(serve(&args, &seed, hosts, shared))?;
    for (k, shard) in shards.iter_mut().enumerate() {
        wait_ready(shard).map_err(|e| format!("shard {}: {e}", k + 1))?;
    }
    println!("ready");
    io::stdout()
        .flush()
        .map_err(|e| format!("cannot write: {e}"))?;
    // The servers run on the runtime's workers until stdin closes.
    let _ = io::stdin().read_to_end(&mut Vec::new());
    // Then the shards, so that every address is free again once this process has exited.
    for shard in &mut shards {
        drop(shard.stdin.take());
        let _ = shard.wait();
    }
    Ok(())
}

/// The hosts of shard `k` of `count`: consecutive, the same size within one.
fn shard_range(hosts: usize, k: usize, count: usize) -> Range<usize> {
    hosts * k / count..hosts * (k + 1) / count
}

/// Starts shard `k` of `count` as a child process of this one.
fn start_shard(args: &Args, seed: &Seed, k: usize, count: usize) -> Result<Child, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find simfleet itself: {e}"))?;
    Command::new(me)
        .args(["--hosts", &args.hosts.to_string(), "--dir"])
        .arg(&args.dir)
        .args(["--net", &format!("{}.{}", args.net[0], args.net[1])])
        .args(["--user", &args.user])
        .args(["--shard", &format!("{k}/{count}"), "--seed", &seed.hex()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start shard {k}: {e}"))
}

/// Waits for a shard's `ready` line.
fn wait_ready(shard: &mut Child) -> Result<(), String> {
    let stdout = shard.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    if line.trim() == "ready" {
        Ok(())
    } else {
        Err("exited before listening (its error is above)".into())
    }
}

/// Starts the servers of `hosts`.
async fn serve(
    args: &Args,
    seed: &Seed,
    hosts: Range<usize>,
    shared: Arc<Shared>,
) -> Result<(), String> {
    let mut servers = Vec::with_capacity(hosts.len());
    for index in hosts {
        let addr = address(args.net, index);
        let listener = TcpListener::bind((addr, 22))
            .await
            .map_err(|e| format!("cannot listen on {addr}:22: {e}"))?;
        let host = host(index);
        let key = seed.key(index as u64, &host.name);
        servers.push((listener, key, host));
    }
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

/// Writes the client key, known_hosts with every host's key, and the inventory.
fn write_files(args: &Args, seed: &Seed) -> Result<(), String> {
    fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    let identity = args.dir.join("client_key");
    write_private_key(&identity, &seed.key(CLIENT_KEY, "simfleet-client"))?;
    let known_hosts_path = args.dir.join("known_hosts");
    let mut known_hosts = String::new();
    let mut inventory = format!(
        "# A simulated fleet of {} hosts, written by simfleet.\n[defaults]\nuser = {}\n\
         identity_files = [{}]\nknown_hosts = {}\n",
        args.hosts,
        quote(&args.user),
        quote(&identity.to_string_lossy()),
        quote(&known_hosts_path.to_string_lossy()),
    );
    for index in 0..args.hosts {
        let addr = address(args.net, index);
        let host = host(index);
        let public = seed
            .key(index as u64, &host.name)
            .public_key()
            .to_openssh()
            .map_err(|e| format!("cannot encode a host key: {e}"))?;
        let _ = writeln!(known_hosts, "{addr} {public}");
        let _ = write!(
            inventory,
            "\n[[hosts]]\nname = {}\naddr = \"{addr}\"\nport = 22\n",
            quote(&host.name)
        );
    }
    write(&known_hosts_path, &known_hosts)?;
    write(&args.dir.join("inventory.toml"), &inventory)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_host_once() {
        for (hosts, count) in [(10_000, 2), (7, 3), (1, 1), (5, 5)] {
            let ranges: Vec<Range<usize>> =
                (0..count).map(|k| shard_range(hosts, k, count)).collect();
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges[count - 1].end, hosts);
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
        }
    }

    #[test]
    fn keys_come_from_the_seed_and_differ_per_host() {
        let seed = Seed([7; 32]);
        let again = Seed::parse(&seed.hex()).unwrap();
        let key = |seed: &Seed, index| seed.key(index, "").public_key().key_data().clone();
        assert_eq!(key(&seed, 3), key(&again, 3));
        assert_ne!(key(&seed, 3), key(&seed, 4));
        assert_ne!(key(&seed, 0), key(&seed, CLIENT_KEY));
        assert!(Seed::parse("abc").is_err());
    }

    #[test]
    fn addresses_stay_clear_of_0_and_255() {
        assert_eq!(address([127, 77], 0), Ipv4Addr::new(127, 77, 1, 1));
        assert_eq!(address([127, 77], 249), Ipv4Addr::new(127, 77, 1, 250));
        assert_eq!(address([127, 77], 250), Ipv4Addr::new(127, 77, 2, 1));
        assert_eq!(
            address([127, 77], PER_SUBNET * PER_SUBNET - 1),
            Ipv4Addr::new(127, 77, 250, 250)
        );
    }
}
