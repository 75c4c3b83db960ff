#!/usr/bin/env bash
# fuzz/run.sh: runs each cargo-fuzz target for SECONDS (default 600) and prints a table of
# executions and crashes. Needs a nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly && cargo install cargo-fuzz`).
# Seeds are committed in fuzz/seeds/<target>; the inputs libFuzzer adds go to fuzz/corpus/<target>
# (not committed) and crashes to fuzz/artifacts/<target>. An input that runs longer than
# TIMEOUT_PER_INPUT seconds (default 10) is a finding too (libFuzzer's default is 20 minutes,
# which hides a slow path behind a run that just stops making progress).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-600}
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/shoal-fuzz-target}
printf '| target | seconds | executions | crashes |\n|---|---|---|---|\n' > report.md.tmp
for target in ${TARGETS:-parse_plan inventory render frames}; do
    log=$(mktemp)
    mkdir -p "corpus/$target"
    # New inputs go to the first directory (not committed); the seeds are read only.
    # -O: the optimised build without debug assertions (what `cargo fuzz build -O` made).
    cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout="${TIMEOUT_PER_INPUT:-10}" -print_final_stats=1 \
        >"$log" 2>&1 || true
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    crashes=$(find "artifacts/$target" -type f 2>/dev/null | wc -l)
    printf '| %s | %s | %s | %s |\n' "$target" "$seconds" "$execs" "$crashes" >> report.md.tmp
    tail -5 "$log"
    rm -f "$log"
done
mv report.md.tmp report.md
cat report.md
