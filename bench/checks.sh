#!/usr/bin/env bash
# bench/checks.sh: the checks benchmark. Starts HOSTS (200) real sshd servers and times warm
# `shoal check local` (every check's command fused into one per host) against the same
# pipelines run one after another, in one process (tests/benches/checks.rs measures;
# docs/BENCHMARKS.md records a result).
#
# Usage, as root: bash bench/checks.sh      Environment: HOSTS, RUNS (5), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export HOSTS="${HOSTS:-200}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/checks-bench/report-$HOSTS.md}"
mkdir -p "$(dirname "$BENCH_OUT")"
if [ "$(id -u)" -ne 0 ]; then
    echo "checks.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi
bash .ci/setup-sshd.sh
cargo test --release --features bench --test benches checks:: -- --ignored --nocapture
echo "report: $BENCH_OUT"
