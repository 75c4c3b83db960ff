#!/usr/bin/env bash
# bench/store.sh: the job store benchmark. Starts HOSTS (200) real sshd servers and times
# warm `hosts | run "cat /etc/app/version"` runs with and without the job store, interleaved
# in one process, then `jobs | head 20` on a store of JOBS (10000) jobs against the bare
# SELECT (tests/benches/store.rs measures; docs/BENCHMARKS.md records a result).
#
# Usage, as root: bash bench/store.sh      Environment: HOSTS, RUNS (7), JOBS, BENCH_OUT.
# HOSTS=1000 measures the 1,000-host run (about 10 GB of memory for the servers).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export HOSTS="${HOSTS:-200}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/store-bench/report-$HOSTS.md}"
mkdir -p "$(dirname "$BENCH_OUT")"
if [ "$(id -u)" -ne 0 ]; then
    echo "store.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi
bash .ci/setup-sshd.sh
cargo test --release --features bench --test benches store:: -- --ignored --nocapture
echo "report: $BENCH_OUT"
