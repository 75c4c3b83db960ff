#!/usr/bin/env bash
# bench/facts.sh: the facts benchmark. Starts HOSTS (200) real sshd servers and times warm
# `hosts | facts` against a `run` of the very command it sends, interleaved
# in one process (tests/benches/facts.rs measures; docs/BENCHMARKS.md records a result).
#
# Usage, as root: bash bench/facts.sh      Environment: HOSTS, RUNS (3), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export HOSTS="${HOSTS:-200}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/facts-bench/report-$HOSTS.md}"
mkdir -p "$(dirname "$BENCH_OUT")"
if [ "$(id -u)" -ne 0 ]; then
    echo "facts.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi
bash .ci/setup-sshd.sh
cargo test --release --features bench --test benches facts:: -- --ignored --nocapture
echo "report: $BENCH_OUT"
