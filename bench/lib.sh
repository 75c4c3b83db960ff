# bench/lib.sh: what the fleet benchmark scripts share, sourced by them (not run on its own).

# install_peers BINARY:PACKAGE...: installs with apt the Debian packages whose binary is missing.
install_peers() {
    local need=() pair
    for pair in "$@"; do
        if [ ! -x "${pair%%:*}" ]; then
            need+=("${pair#*:}")
        fi
    done
    if [ ${#need[@]} -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
}

# build_shoal: builds shoal in release, because that is what users run (the bench binary is
# built in release too, so cargo does not build every dependency a second time in debug),
# and exports SHOAL_BIN and SHOAL_REV (the revision, marked when the worktree has changes).
build_shoal() {
    cargo build --release --bin shoal
    export SHOAL_BIN="$CARGO_TARGET_DIR/release/shoal"
    SHOAL_REV="$(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
    if ! git diff --quiet HEAD 2> /dev/null; then
        SHOAL_REV="$SHOAL_REV+uncommitted changes"
    fi
    export SHOAL_REV
}
