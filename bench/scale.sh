#!/usr/bin/env bash
# bench/scale.sh: the scale benchmark. Starts a simulated fleet (bench/simfleet: N SSH hosts
# in one process, each on its own loopback address, with real handshakes and a fake shell)
# at 1,000, 5,000 and 10,000 hosts, and measures `hosts | run "cat /etc/app/version"` with
# shoal: cold and warm time, CPU, peak RSS and open files per host, printed as a Markdown
# table (tests/benches/scale.rs does the measuring; docs/BENCHMARKS.md records a result).
#
# Usage, as root: bash bench/scale.sh
# Environment: SIZES ("1000 5000 10000"), RUNS (3), FANOUT (shoal's default), REAL_SSHD (0;
# N also measures N real sshd hosts, which needs .ci/setup-sshd.sh's packages), BENCH_OUT
# (where the report goes; default below).
#
# Root because 10,000 hosts need more open files than the usual hard limit: the simulated
# fleet holds two per host (a listener and a connection), and the benchmark raises
# RLIMIT_NOFILE for it and for shoal. Timings are only comparable within one run: shoal and
# the fleet share the machine's cores, so run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export SIZES="${SIZES:-1000 5000 10000}" RUNS="${RUNS:-3}" REAL_SSHD="${REAL_SSHD:-0}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/scale-bench/report.md}"

if [ "$(id -u)" -ne 0 ]; then
    echo "scale.sh: must run as root (raising the open-file hard limit takes it)" >&2
    exit 1
fi
if [ "$REAL_SSHD" != 0 ]; then
    bash .ci/setup-sshd.sh
fi

# Release, because that is what users run; the bench binary is built in release too so that
# cargo does not rebuild every dependency a second time in debug.
cargo build --release --bin shoal -p shoal
cargo build --release -p simfleet
export SHOAL_BIN="$CARGO_TARGET_DIR/release/shoal"
export SIMFLEET_BIN="$CARGO_TARGET_DIR/release/simfleet"
SHOAL_REV="$(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
if ! git diff --quiet HEAD 2> /dev/null; then
    SHOAL_REV="$SHOAL_REV+uncommitted changes"
fi
export SHOAL_REV

echo "scale.sh: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo test --release --features bench --test benches scale:: -- --ignored --nocapture --test-threads=1
echo "scale.sh: report written to $BENCH_OUT" >&2
