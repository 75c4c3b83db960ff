#!/usr/bin/env bash
# bench/latency.sh: the latency benchmark. Starts a fleet of real sshd servers (20 by
# default), puts each behind a delay proxy (tests/support/delay_proxy.rs) at each one-way
# latency, and times with shoal, clush and pdsh in the same run: a cold and a warm single
# `run`, a 3-`run` pipeline against clush running the 3 commands in sequence, and `facts`;
# then counts the round trips of a cold one-host `run "true"` against OpenSSH's `ssh host
# true`. Prints a Markdown table (tests/benches/latency.rs measures; docs/BENCHMARKS.md
# records a result).
#
# Usage, as root: bash bench/latency.sh
# Environment: HOSTS (20), RUNS (3), LATENCIES (one-way ms, "25 100"), FANOUT (64),
# BENCH_CONTROLMASTER (1; 0 skips the peers' ControlMaster warm runs), BENCH_OUT (where the
# report goes; default below).
#
# Each host's proxy is a thread of its own in the benchmark's process, which is why HOSTS is
# modest; timings are only comparable within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export HOSTS="${HOSTS:-20}" RUNS="${RUNS:-3}" LATENCIES="${LATENCIES:-25 100}" FANOUT="${FANOUT:-64}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/latency-bench/report.md}"

if [ "$(id -u)" -ne 0 ]; then
    echo "latency.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi

# The fleet's own needs: sshd, unshare, the test user's prerequisites.
bash .ci/setup-sshd.sh

# The peers, by the binary each Debian package ships.
install_peers /usr/bin/pdsh:pdsh /usr/bin/clush:clustershell
build_shoal

echo "latency.sh: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo test --release --features bench --test benches latency:: -- --ignored --nocapture --test-threads=1
echo "latency.sh: report written to $BENCH_OUT" >&2
