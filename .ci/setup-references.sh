#!/usr/bin/env bash
# setup-references.sh: installs the reference tools that the differential tests
# (runtime/tests/reference/) compare shoal with: ansible-core's `ansible-inventory`
# and ClusterShell's `nodeset`, from PyPI into a virtualenv kept with the CI cache.
# Idempotent: a venv that already has the pinned versions is left as it is.
#
# The versions are pinned so that a new release changes the reference only in a
# commit that also updates runtime/tests/reference/differences.toml if needed.
# ansible-core 2.19 is the last series that runs on Debian 12's Python 3.11.
set -euo pipefail

venv="${SHOAL_REFERENCE_VENV:-$HOME/.cache/shoal-ci-venv}"
want_ansible="2.19.14"
want_clustershell="1.10.1"

python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"

have() {
    "$venv/bin/python" - "$want_ansible" "$want_clustershell" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("ansible-core"), version("ClusterShell")) == tuple(sys.argv[1:]) else 1)
PY
}

if [ -x "$venv/bin/python" ] && have && [ -x "$venv/bin/ansible-inventory" ] && [ -x "$venv/bin/nodeset" ]; then
    echo "setup-references.sh: ansible-core $want_ansible and ClusterShell $want_clustershell in $venv"
    exit 0
fi

if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    "ansible-core==$want_ansible" "ClusterShell==$want_clustershell"
have || { echo "setup-references.sh: the venv in $venv lacks the pinned versions" >&2; exit 1; }
echo "setup-references.sh: installed ansible-core $want_ansible and ClusterShell $want_clustershell in $venv"
