#!/usr/bin/env bash
# bench/load.sh: the load benchmark. Starts 1,000 real sshd servers (tests/support; each
# its own process, address and namespaces, ~10 GB of memory at peak with their sessions)
# and runs `hosts | run "cat /etc/app/version"` twice in one shoal process, printing cold
# and warm time, peak RSS and peak open file descriptors (tests/benches/load.rs measures).
#
# Usage, as root: bash bench/load.sh      Environment: HOSTS (1000), BENCH_OUT.
# Run it on an otherwise idle machine: the servers and shoal share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export HOSTS="${HOSTS:-1000}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/load-bench/report.md}"
mkdir -p "$(dirname "$BENCH_OUT")"
if [ "$(id -u)" -ne 0 ]; then
    echo "load.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi
bash .ci/setup-sshd.sh
cargo build --release --bin shoal
export SHOAL_BIN="$CARGO_TARGET_DIR/release/shoal"
cargo test --release --features bench --test benches load:: -- --ignored --nocapture
echo "report: $BENCH_OUT"
