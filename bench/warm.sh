#!/usr/bin/env bash
# bench/warm.sh: where a warm query spends its time. Starts a fleet of real sshd servers (200
# by default), runs `hosts | run "cat /etc/app/version"` once cold and RUNS (20) times warm in
# one shoal process and once in another, and prints the warm wall time with the client's and
# the servers' CPU per warm query (tests/benches/warm.rs measures; docs/BENCHMARKS.md records
# a result). PERF=1 also profiles the client with `perf record -g` (installs linux-perf).
#
# Usage, as root: bash bench/warm.sh
# Environment: HOSTS (200), RUNS (20), PERF (0), BENCH_OUT (where the report goes).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export HOSTS="${HOSTS:-200}" RUNS="${RUNS:-20}" PERF="${PERF:-0}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/warm-bench/report.md}"
mkdir -p "$(dirname "$BENCH_OUT")"
if [ "$(id -u)" -ne 0 ]; then
    echo "warm.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi
bash .ci/setup-sshd.sh
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
fi
build_shoal
cargo test --release --features bench --test benches warm:: -- --ignored --nocapture
echo "report: $BENCH_OUT"
