//! The open-file limit: each simulated host holds two descriptors (its listener and
//! shoal's connection), more than the usual limits allow at 10,000 hosts. Raising the soft
//! limit up to the hard one is always allowed; raising the hard one takes CAP_SYS_RESOURCE
//! (root, outside a container that drops it), up to /proc/sys/fs/nr_open. Where that is
//! not possible the fleet is split over several processes, each within the limit. What
//! this changes is said on stderr, for the benchmark's report.

use std::io;

/// Descriptors one process needs besides two per host: stdio, the runtime's own, the
/// files written at start, a shard's pipes.
const SPARE_FDS: u64 = 256;

fn needed(hosts: usize) -> u64 {
    2 * hosts as u64 + SPARE_FDS
}

fn get() -> Result<libc::rlimit, String> {
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
    Ok(limit)
}

fn set(soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct we pass and nothing else.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises this process's limit for `hosts` hosts, the hard limit too if need be.
pub fn raise_for(hosts: usize) -> Result<(), String> {
    let limit = get()?;
    let needed = needed(hosts);
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    set(needed, limit.rlim_max.max(needed)).map_err(|e| {
        format!(
            "{needed} open files needed for {hosts} hosts, RLIMIT_NOFILE is {}/{} (soft/hard) \
             and raising it failed: {e}",
            limit.rlim_cur, limit.rlim_max
        )
    })?;
    if needed > limit.rlim_max {
        eprintln!(
            "simfleet: RLIMIT_NOFILE raised from {}/{} to {needed}/{needed} (soft/hard)",
            limit.rlim_cur, limit.rlim_max
        );
    }
    Ok(())
}

/// How many processes serve `hosts` hosts: one when this process's limit can be raised
/// far enough, else as many as the hard limit requires (the soft limit raised to it).
pub fn shards_for(hosts: usize) -> Result<usize, String> {
    let limit = get()?;
    let Err(refused) = raise_for(hosts) else {
        return Ok(1);
    };
    let per_process = usize::try_from(limit.rlim_max.saturating_sub(SPARE_FDS) / 2)
        .unwrap_or(usize::MAX)
        .min(hosts);
    if per_process == 0 {
        return Err(refused);
    }
    set(limit.rlim_max, limit.rlim_max)
        .map_err(|e| format!("cannot raise RLIMIT_NOFILE to its hard limit: {e}"))?;
    let shards = hosts.div_ceil(per_process);
    eprintln!(
        "simfleet: {refused}; serving the {hosts} hosts from {shards} processes instead, \
         each with its soft limit raised to the hard limit ({})",
        limit.rlim_max
    );
    Ok(shards)
}
