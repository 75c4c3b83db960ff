#!/usr/bin/env bash
# bench/fanout.sh: the fan-out benchmark. Starts a fleet of real sshd servers (200 by
# default) and times `hosts | run "cat /etc/app/version"` with shoal (cold and warm) and
# with pdsh, clush and parallel-ssh in the same run, then prints a Markdown table
# (tests/benches/fanout.rs does the measuring; docs/BENCHMARKS.md records a result).
#
# Usage, as root: bash bench/fanout.sh
# Environment: HOSTS (200), RUNS (5), FANOUT (256), BENCH_CONTROLMASTER (1; 0 skips the
# peers' ControlMaster warm runs), BENCH_OUT (where the report goes; default below).
#
# Timings are only comparable within one run: on a 2-core machine anything else running
# (a build, another test suite) shows up in every number, so run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

# The shared build cache: a release build of polars alone takes many minutes on 2 cores.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
export CARGO_TERM_COLOR=never
export HOSTS="${HOSTS:-200}" RUNS="${RUNS:-5}" FANOUT="${FANOUT:-256}"
export BENCH_OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/fanout-bench/report.md}"

if [ "$(id -u)" -ne 0 ]; then
    echo "fanout.sh: must run as root (the sshd fleet binds port 22 and uses namespaces)" >&2
    exit 1
fi

# The fleet's own needs: sshd, unshare, the test user's prerequisites.
bash .ci/setup-sshd.sh

# The peers, by the binary each Debian package ships.
install_peers /usr/bin/pdsh:pdsh /usr/bin/clush:clustershell /usr/bin/parallel-ssh:pssh
build_shoal

echo "fanout.sh: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo test --release --features bench --test benches fanout:: -- --ignored --nocapture --test-threads=1
echo "fanout.sh: report written to $BENCH_OUT" >&2
