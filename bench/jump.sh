#!/usr/bin/env bash
# bench/jump.sh: the jump host benchmark. Starts HOSTS (200) real sshd targets and one jump
# host (tests/support), and runs the same two queries in RUNS (5) shoal processes directly
# and then through the jump host (the targets then reachable only through it, by nftables),
# printing median cold and warm times, the warm ratio, and jump host connections per process
# (tests/benches/jump.rs measures).
#
# Usage, as root: bash bench/jump.sh      Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shoal-target}"
if [ "$(id -u)" -ne 0 ]; then
    echo "jump.sh: must run as root (the sshd fleet binds port 2222 and uses namespaces)" >&2
    exit 1
fi
bash .ci/setup-sshd.sh
cargo test --release --features bench --test benches jump:: -- --ignored --nocapture
