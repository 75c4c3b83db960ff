#!/usr/bin/env bash
# bench/daemon-soak.sh: the daemon soak. Starts HOSTS (200) real sshd servers and runs
# `shoal daemon` on them with an alarm every INTERVAL (1s), a bot and a notify command, for
# DURATION (600s), sampling the daemon's RSS and open fds every SAMPLE (10s) from /proc
# (tests/benches/daemon_soak.rs; docs/BENCHMARKS.md records a result). Both should be flat
# after warm-up.
#
# Usage, as root: bash bench/daemon-soak.sh
# Environment: HOSTS, INTERVAL, DURATION, SAMPLE, BENCH_OUT; PROFILE=debug skips the
# release build (a quick check that the soak works, not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export HOSTS="${HOSTS:-200}" INTERVAL="${INTERVAL:-1s}" DURATION="${DURATION:-600s}" SAMPLE="${SAMPLE:-10s}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/daemon-soak/report-$HOSTS.md}"
mkdir -p "$(dirname "$BENCH_OUT")"
if [ "$(id -u)" -ne 0 ]; then
    echo "daemon-soak.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi
bash .ci/setup-sshd.sh
release=--release
[ "${PROFILE:-release}" = debug ] && release=
cargo test $release --features bench --test benches daemon_soak:: -- --ignored --nocapture
echo "report: $BENCH_OUT"
