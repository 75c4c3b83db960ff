#!/usr/bin/env bash
# setup-sshd.sh: installs what tests/support's sshd fleet harness needs; idempotent, run as root.
# It also installs tmux, in which tests/integration/repl.rs drives the interactive shell, and nftables,
# whose `nft` tests/integration/faults.rs uses to black-hole a host or drop part of its packets (and
# tests/integration/ssh_config.rs to make hosts reachable only through a jump host). tests/integration/agent_auth.rs
# starts its own ssh-agent; tests/integration/cli.rs lowers the open-file limit with prlimit;
# tests/integration/ssh_config_parity.rs runs the client, `ssh -G`, as the reference for shoal's ssh_config reader.
#
# The harness starts its own sshd processes on 127.0.1.N:22, each inside its own UTS, mount
# and PID namespaces, logging in as the `shoaltest` user (the harness creates that user
# itself). This script only makes sure the commands and the privilege-separation directory
# exist, and that no system-wide sshd is running: one listening on 0.0.0.0:22 holds port 22
# on every loopback address, so no fleet host could bind it.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-sshd.sh: must run as root (the harness bind-mounts and enters namespaces)" >&2
    exit 1
fi

# Each command the harness and its smoke test run, and the Debian package that ships it.
need_packages=()
for pair in \
    /usr/sbin/sshd:openssh-server \
    /usr/bin/ssh:openssh-client \
    /usr/bin/ssh-keygen:openssh-client \
    /usr/bin/ssh-agent:openssh-client \
    /usr/bin/ssh-add:openssh-client \
    /usr/bin/prlimit:util-linux \
    /usr/bin/unshare:util-linux \
    /usr/bin/nsenter:util-linux \
    /usr/bin/mount:mount \
    /usr/bin/pgrep:procps \
    /usr/bin/hostname:hostname \
    /usr/sbin/useradd:passwd \
    /usr/sbin/nft:nftables \
    /usr/bin/tmux:tmux; do
    bin=${pair%%:*}
    pkg=${pair#*:}
    if [ ! -x "$bin" ]; then
        need_packages+=("$pkg")
    fi
done

if [ ${#need_packages[@]} -gt 0 ]; then
    # The package's postinst would otherwise start the system sshd on 0.0.0.0:22.
    # policy-rc.d exit 101 tells invoke-rc.d "not allowed"; only remove it if we made it.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
        # Removed even when apt-get fails, so later installs can start their services.
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # sort -u: openssh-client is needed by two binaries.
    mapfile -t unique < <(printf '%s\n' "${need_packages[@]}" | sort -u)
    apt-get install -y -qq --no-install-recommends "${unique[@]}"
    if [ "$made_policy" -eq 1 ]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
fi

# sshd refuses to start without its privilege-separation directory; /run is a tmpfs on
# many machines, so this is needed after every boot even when the package is installed.
mkdir -p /run/sshd
chmod 755 /run/sshd

# Stop a system sshd if one runs anyway (for example on a systemd machine that started it
# before policy-rc.d existed). Only the service's own daemon is stopped: its pid file is
# /run/sshd.pid, while the harness's servers run with `PidFile none`.
if command -v systemctl > /dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket > /dev/null 2>&1 || true
fi
if [ -f /run/sshd.pid ]; then
    pid=$(cat /run/sshd.pid)
    if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
        echo "setup-sshd.sh: stopping the system sshd (pid $pid) so port 22 is free" >&2
        kill "$pid"
        # It closes its listening sockets as it exits; give it up to 5 s.
        for _ in $(seq 50); do
            kill -0 "$pid" 2> /dev/null || break
            sleep 0.1
        done
    fi
    rm -f /run/sshd.pid
fi

# Fail here, with a clear reason, rather than later in every test, if anything still listens
# on the wildcard address's port 22. (A listener on one loopback address, say a leftover
# fleet host, is harmless: the harness steps over addresses in use.) /proc/net/tcp{,6} give
# address:port in hex and state 0A for listening; reading them needs no iproute2, which a
# fresh container may lack.
if awk '($2 == "00000000:0016" || $2 == "00000000000000000000000000000000:0016") && $4 == "0A" { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2> /dev/null; then
    echo "setup-sshd.sh: something still listens on 0.0.0.0:22 or [::]:22; see: ss -ltnp 'sport = :22'" >&2
    exit 1
fi

echo "setup-sshd.sh: $(/usr/sbin/sshd -V 2>&1 | head -n1); ready"
