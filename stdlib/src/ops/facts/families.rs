//! The families of `facts`: set-valued fingerprints of a host (its
//! packages, changed config files, sysctls, mounts, …), one text column
//! each, and two scalars (`cpu_model`, `microcode`).
//!
//! A family's column holds one member per line, sorted, each `key=value`
//! where the family has keys (`libc6=2.36-9+deb12u4`, `vm.swappiness=60`)
//! or a name (`failed_units`: `nginx.service`). A newline-joined text column
//! rather than a polars List column: every stage already reads text, `diff`
//! already makes each line of a multi-line text column a feature
//! (`packages has "libc6=2.36-9"`) that pastes into `filter`, and List
//! columns would need polars features the workspace keeps off (Cargo.toml)
//! and a renderer, filter and diff that know them.
//!
//! Each family is a shell test that its tool is there (`needs`) and a probe
//! that prints raw tool output; the parsing is here, in Rust, where it is
//! tested. On the host a family runs as
//!
//! ```text
//! if NEEDS; then echo "#@NAME"; { PROBE; } | head -c CAP+1; echo; fi
//! ```
//!
//! so a missing tool prints no section (the column is null), a tool with
//! nothing to say prints an empty one (the column is ""), and a section
//! longer than its cap is cut at the last whole line and noted in
//! `facts_notes`. Probes follow the script's quoting rules (module doc):
//! no single quote and no backslash but `\n` in a format string.

/// How a family's section becomes its column.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape {
    /// The sorted, distinct members, one a line.
    Set(fn(&str) -> Vec<String>),
    /// One value: the first line the parser returns.
    Scalar(fn(&str) -> Vec<String>),
}

#[derive(Debug)]
/// One family; `shoal help facts` (the signature's help, mod.rs) lists
/// each with its probe and typical size.
pub(super) struct Family {
    pub name: &'static str,
    /// POSIX `sh` that succeeds when the family's tool or file is there.
    pub needs: &'static str,
    /// POSIX `sh` printing the raw output the parser reads.
    pub probe: &'static str,
    /// Its share of `max_bytes`, in 256ths: at the default 256 KiB, KiB.
    pub share: usize,
    pub shape: Shape,
}

/// The files and directories whose content hash `etc` lists by default.
/// `facts etc=/etc/app,/opt/x/conf` adds to them. Systemd drop-ins
/// (`/etc/systemd/system/*.d/*.conf`) are listed as well.
pub const ETC_DEFAULT: &[&str] = &[
    "/etc/sysctl.conf",
    "/etc/sysctl.d",
    "/etc/security/limits.conf",
    "/etc/security/limits.d",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d",
    "/etc/chrony.conf",
    "/etc/chrony",
    "/etc/ntp.conf",
    "/etc/systemd/timesyncd.conf",
];

/// Placeholder in the `etc` probe for the paths it hashes.
pub(super) const ETC_PATHS: &str = "@PATHS@";

/// Every family, in the order the script runs them: fast ones first, so
/// that a host that runs out of time loses only the slow tail.
pub(super) const FAMILIES: &[Family] = &[
    Family {
        name: "cpu_model",
        needs: "[ -r /proc/cpuinfo ]",
        probe: "grep -m1 -e \"^model name\" -e ^Hardware -e \"^cpu model\" /proc/cpuinfo",
        share: 1,
        shape: Shape::Scalar(after_colon),
    },
    Family {
        name: "microcode",
        needs: "[ -r /proc/cpuinfo ]",
        probe: "grep -m1 ^microcode /proc/cpuinfo",
        share: 1,
        shape: Shape::Scalar(after_colon),
    },
    Family {
        name: "cmdline",
        needs: "[ -r /proc/cmdline ]",
        probe: "cat /proc/cmdline",
        share: 4,
        shape: Shape::Set(cmdline),
    },
    Family {
        name: "modules",
        needs: "[ -r /proc/modules ]",
        probe: "cat /proc/modules",
        share: 8,
        shape: Shape::Set(modules),
    },
    Family {
        name: "resolvers",
        needs: "[ -r /etc/resolv.conf ]",
        probe: "grep -e ^nameserver -e ^search -e ^domain -e ^options /etc/resolv.conf",
        share: 2,
        shape: Shape::Set(resolvers),
    },
    Family {
        name: "listening",
        needs: "[ -r /proc/net/tcp ]",
        probe: "grep -h \" 0A \" /proc/net/tcp /proc/net/tcp6",
        share: 8,
        shape: Shape::Set(listening),
    },
    Family {
        name: "mounts",
        needs: "[ -r /proc/mounts ]",
        probe: "cat /proc/mounts",
        share: 24,
        shape: Shape::Set(mounts),
    },
    Family {
        name: "nic",
        needs: "[ -d /sys/class/net ]",
        probe: "for i in /sys/class/net/*; do [ -e $i/device/driver ] || continue; n=${i##*/}; d=$(readlink $i/device/driver); echo \"$n driver: ${d##*/}\"; ethtool -i $n | grep -e ^version: -e ^firmware-version: | while read l; do echo \"$n $l\"; done; done",
        share: 4,
        shape: Shape::Set(nic),
    },
    Family {
        name: "failed_units",
        needs: "[ -d /run/systemd/system ] && command -v systemctl >/dev/null",
        probe: "systemctl --failed --no-legend --plain",
        share: 4,
        shape: Shape::Set(failed_units),
    },
    Family {
        name: "time_sync",
        needs: "{ [ -d /run/systemd/system ] && command -v timedatectl; } || command -v chronyc || command -v ntpq",
        probe: "timedatectl show -p NTPSynchronized; chronyc -n tracking | grep -e \"^Reference ID\" -e \"^Leap status\"; ntpq -pn | grep -e \"^[*]\"",
        share: 2,
        shape: Shape::Set(time_sync),
    },
    Family {
        name: "sysctl",
        needs: "[ -d /proc/sys/kernel ]",
        probe: "cd /proc/sys && grep -r . kernel vm fs net/core net/ipv4/tcp_*",
        share: 48,
        shape: Shape::Set(sysctl),
    },
    Family {
        name: "etc",
        needs: "command -v find >/dev/null",
        probe: "s=md5sum; command -v md5sum >/dev/null || s=cksum; l=; for p in @PATHS@; do [ -e $p ] && l=\"$l $p\"; done; [ -d /etc/systemd/system ] && l=\"$l $(find /etc/systemd/system -path \"*.d/*.conf\")\"; [ -z \"$l\" ] || find -L $l -type f -size -2048 -exec $s {} +",
        share: 16,
        shape: Shape::Set(etc),
    },
    Family {
        name: "packages",
        needs: "command -v dpkg-query >/dev/null || command -v rpm >/dev/null || command -v apk >/dev/null",
        probe: "d=$; if command -v dpkg-query >/dev/null; then dpkg-query -W -f \"${d}{db:Status-Abbrev}${d}{binary:Package}=${d}{Version}\\n\"; elif command -v rpm >/dev/null; then rpm -qa --qf \"rpm %{NAME}=%{VERSION}-%{RELEASE}\\n\"; else apk info -v; fi",
        share: 96,
        shape: Shape::Set(packages),
    },
    Family {
        name: "modified",
        needs: "[ -r /var/lib/dpkg/status ] || command -v rpm >/dev/null",
        probe: "if [ -r /var/lib/dpkg/status ]; then grep -e \"^ /\" /var/lib/dpkg/status | while read f h o; do [ -n \"$o\" ] || echo \"$h  $f\"; done | md5sum -c | grep -v -e \": OK$\"; else rpm -Va --nodeps --noscripts | grep -e \" c /\"; fi",
        share: 16,
        shape: Shape::Set(modified),
    },
];

/// The family called `name`.
pub(super) fn find(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// `model name\t: Intel(R) Xeon(R)` → `Intel(R) Xeon(R)`.
fn after_colon(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(_, v)| squeeze(v))
        .filter(|v| !v.is_empty())
        .take(1)
        .collect()
}

/// Runs of blanks as one space, trimmed.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cmdline(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn modules(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn resolvers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (key, value) = l.trim().split_once(char::is_whitespace)?;
            Some(format!("{key}={}", squeeze(value)))
        })
        .collect()
}

/// `/proc/net/tcp` lines in LISTEN (state 0A) as `port=address`, with `*`
/// for the wildcard address.
fn listening(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            if state != "0A" {
                return None;
            }
            let (addr, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some(format!("{port}={}", address(addr)?))
        })
        .collect()
}

/// A /proc/net/tcp address: 8 hex digits (IPv4) or 32 (IPv6), each 32-bit
/// word in host byte order (little-endian on every Linux shoal meets).
fn address(hex: &str) -> Option<String> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(8 * i..8 * i + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    match bytes.len() {
        4 if bytes == [0; 4] => Some("*".into()),
        4 => Some(std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        16 if bytes == [0; 16] => Some("*".into()),
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(format!("[{}]", std::net::Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

/// Filesystem types that describe the kernel or a container runtime rather
/// than the host's storage.
const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "mqueue",
    "tracefs",
    "debugfs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "binfmt_misc",
    "autofs",
    "nsfs",
    "rpc_pipefs",
    "efivarfs",
];

/// Mount points under these are per boot, per user or per container.
const SKIPPED_MOUNTS: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/run/user",
    "/run/netns",
    "/run/containerd",
    "/run/docker",
    "/var/lib/docker",
    "/var/lib/containers",
    "/var/lib/kubelet",
    "/snap",
];

fn mounts(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let (_, point, fstype, options) =
                (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
            let skipped = SKIPPED_MOUNTS
                .iter()
                .any(|s| point == *s || point.strip_prefix(s).is_some_and(|r| r.starts_with('/')));
            (!skipped && !PSEUDO_FS.contains(&fstype)).then(|| format!("{point}={fstype} {options}"))
        })
        .collect()
}

/// `eth0 driver: virtio_net`, `eth0 version: 1.0.0`, `eth0
/// firmware-version: N/A` → `eth0=virtio_net version 1.0.0 firmware N/A`.
fn nic(text: &str) -> Vec<String> {
    let mut nics: indexmap::IndexMap<&str, Vec<String>> = indexmap::IndexMap::new();
    for line in text.lines() {
        let Some((name, rest)) = line.trim().split_once(' ') else {
            continue;
        };
        let Some((key, value)) = rest.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let part = match key.trim() {
            "driver" => value.to_string(),
            "version" => format!("version {value}"),
            "firmware-version" => format!("firmware {value}"),
            _ => continue,
        };
        nics.entry(name).or_default().push(part);
    }
    nics.into_iter()
        .map(|(name, parts)| format!("{name}={}", parts.join(" ")))
        .collect()
}

/// The unit names of `systemctl --failed --plain --no-legend`.
fn failed_units(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.contains('.')))
        .map(str::to_string)
        .collect()
}

fn time_sync(text: &str) -> Vec<String> {
    let mut members = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(value) = line.strip_prefix("NTPSynchronized=") {
            members.push(format!("synced={value}"));
        } else if let Some((key, value)) = line.split_once(':') {
            let value = value.trim();
            match key.trim() {
                "Reference ID" => {
                    let source = value
                        .split_once('(')
                        .map_or(value, |(_, s)| s.trim_end_matches(')'));
                    members.push(format!("source=chrony {source}"));
                }
                "Leap status" => members.push(format!(
                    "synced={}",
                    if value == "Not synchronised" { "no" } else { "yes" }
                )),
                _ => {}
            }
        } else if let Some(peer) = line.strip_prefix('*')
            && let Some(peer) = peer.split_whitespace().next()
        {
            members.push(format!("source=ntpd {peer}"));
            members.push("synced=yes".into());
        }
    }
    members
}

/// Sysctls that count or identify rather than configure: each read
/// differs, or every host differs.
const VOLATILE_SYSCTLS: &[&str] = &[
    "kernel.hostname",
    "kernel.random.boot_id",
    "kernel.random.uuid",
    "kernel.random.entropy_avail",
    "kernel.ns_last_pid",
    "kernel.pty.nr",
    "fs.dentry-state",
    "fs.file-nr",
    "fs.inode-nr",
    "fs.inode-state",
    "fs.aio-nr",
    "fs.quota.",
];

/// `grep -r .` from /proc/sys: `kernel/osrelease:6.1.0` → `kernel.osrelease=6.1.0`.
/// A value over several lines is joined with spaces.
fn sysctl(text: &str) -> Vec<String> {
    let mut values: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
    for line in text.lines() {
        let Some((path, value)) = line.split_once(':') else {
            continue;
        };
        let key = path.replace('/', ".");
        if VOLATILE_SYSCTLS
            .iter()
            .any(|v| key == *v || (v.ends_with('.') && key.starts_with(v)))
        {
            continue;
        }
        let value = squeeze(value);
        let entry = values.entry(key).or_default();
        if !entry.is_empty() && !value.is_empty() {
            entry.push(' ');
        }
        entry.push_str(&value);
    }
    values
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// `md5sum` (`hash  path`) or `cksum` (`crc size path`) lines as
/// `path=hash` with 12 hex digits of the md5 sum, or the CRC.
fn etc(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (first, rest) = l.split_once(' ')?;
            if first.len() == 32 && first.bytes().all(|b| b.is_ascii_hexdigit()) {
                let path = rest.trim_start_matches([' ', '*']);
                return Some(format!("{path}={}", &first[..12]));
            }
            let (_size, path) = rest.split_once(' ')?;
            first
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| format!("{path}={first}"))
        })
        .collect()
}

/// dpkg-query lines (`ii libc6:amd64=2.36-9`, installed ones only), rpm
/// lines (`rpm bash=5.1.8-9.el9`) and `apk info -v` lines
/// (`musl-1.2.4-r2`).
fn packages(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            if let Some(rpm) = line.strip_prefix("rpm ") {
                return rpm.contains('=').then(|| rpm.to_string());
            }
            // dpkg's Status-Abbrev is three characters: want, status, error.
            if let (Some(status), Some(rest)) = (line.get(..3), line.get(3..))
                && rest.contains('=')
                && status.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ')
            {
                let installed = status.as_bytes()[1] == b'i';
                return (installed && !rest.ends_with('=')).then(|| rest.to_string());
            }
            apk(line)
        })
        .collect()
}

/// `musl-1.2.4-r2` → `musl=1.2.4-r2`: the version is the last two
/// `-`-separated parts.
fn apk(line: &str) -> Option<String> {
    let line = line.trim();
    let release = line.rfind('-')?;
    let version = line[..release].rfind('-')?;
    let (name, version) = (&line[..version], &line[version + 1..]);
    (!name.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| format!("{name}={version}"))
}

/// `md5sum -c` failures (`/etc/x: FAILED`, `/etc/x: FAILED open or read`)
/// and `rpm -Va` config lines (`S.5....T.  c /etc/x`).
fn modified(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            if let Some((path, result)) = l.rsplit_once(": FAILED") {
                let what = if result.contains("open or read") {
                    "missing"
                } else {
                    "changed"
                };
                return Some(format!("{path}={what}"));
            }
            let (flags, path) = l.split_once(" c ")?;
            let what = if flags.starts_with("missing") {
                "missing"
            } else {
                "changed"
            };
            Some(format!("{}={what}", path.trim()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_keeps_the_quoting_rules() {
        for family in FAMILIES {
            for text in [family.needs, family.probe] {
                assert!(!text.contains('\''), "{}: {text}", family.name);
                assert!(
                    text.replace("\\n", "").find('\\').is_none(),
                    "{}: {text}",
                    family.name
                );
            }
        }
        let total: usize = FAMILIES.iter().map(|f| f.share).sum();
        assert!(total <= 240, "{total}: room is left for the scalars");
    }

    #[test]
    fn packages_from_dpkg_rpm_and_apk() {
        let dpkg = "ii libc6:amd64=2.36-9+deb12u4\nrc oldpkg=1.0\nii zlib1g:amd64=1:1.2.13\nun gone=\n";
        assert_eq!(
            packages(dpkg),
            ["libc6:amd64=2.36-9+deb12u4", "zlib1g:amd64=1:1.2.13"]
        );
        assert_eq!(
            packages("rpm bash=5.1.8-9.el9\nrpm glibc=2.34-100.el9\n"),
            ["bash=5.1.8-9.el9", "glibc=2.34-100.el9"]
        );
        assert_eq!(
            packages("musl-1.2.4-r2\nca-certificates-bundle-20240226-r0\n"),
            ["musl=1.2.4-r2", "ca-certificates-bundle=20240226-r0"]
        );
    }

    #[test]
    fn modified_config_files_from_md5sum_and_rpm() {
        let text = "/etc/ssh/sshd_config: FAILED\n/etc/gone.conf: FAILED open or read\nS.5....T.  c /etc/sudoers\nmissing   c /etc/x.conf\n.......T.    /usr/bin/y\n";
        assert_eq!(
            modified(text),
            [
                "/etc/ssh/sshd_config=changed",
                "/etc/gone.conf=missing",
                "/etc/sudoers=changed",
                "/etc/x.conf=missing"
            ]
        );
    }

    #[test]
    fn sysctl_keys_values_and_counters_left_out() {
        let text = "kernel/osrelease:6.1.0-18-amd64\nkernel/printk:4\t4\t1\t7\nkernel/random/uuid:abc\nfs/file-nr:1\t0\t9\nvm/swappiness:60\nfs/quota/syncs:3\nkernel/x:a\nkernel/x:b\n";
        assert_eq!(
            sysctl(text),
            [
                "kernel.osrelease=6.1.0-18-amd64",
                "kernel.printk=4 4 1 7",
                "vm.swappiness=60",
                "kernel.x=a b"
            ]
        );
    }

    #[test]
    fn listening_ports_with_their_address() {
        let text = "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 0100007F:0277 00000000:0000 0A 0 0 0\n   2: 0100007F:0277 0100007F:9999 01 0 0 0\n   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0\n   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 0\n";
        assert_eq!(
            listening(text),
            ["22=*", "631=127.0.0.1", "22=*", "631=[::1]"]
        );
    }

    #[test]
    fn mounts_without_pseudo_filesystems() {
        let text = "/dev/vda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\ntmpfs /run tmpfs rw,nosuid 0 0\noverlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\ntmpfs /run/user/1000 tmpfs rw 0 0\n/dev/vdb /data xfs rw,noatime 0 0\n";
        assert_eq!(
            mounts(text),
            [
                "/=ext4 rw,relatime",
                "/run=tmpfs rw,nosuid",
                "/data=xfs rw,noatime"
            ]
        );
    }

    #[test]
    fn etc_hashes_from_md5sum_or_cksum() {
        let text = "0123456789abcdef0123456789abcdef  /etc/hosts\n4294967295 120 /etc/resolv.conf\nnot a hash line\n";
        assert_eq!(
            etc(text),
            ["/etc/hosts=0123456789ab", "/etc/resolv.conf=4294967295"]
        );
    }

    #[test]
    fn the_small_families() {
        assert_eq!(
            after_colon("model name\t: Intel(R)  Xeon(R) CPU\n"),
            ["Intel(R) Xeon(R) CPU"]
        );
        assert_eq!(after_colon(""), Vec::<String>::new());
        assert_eq!(
            cmdline("BOOT_IMAGE=/vmlinuz ro quiet mitigations=off\n"),
            ["BOOT_IMAGE=/vmlinuz", "ro", "quiet", "mitigations=off"]
        );
        assert_eq!(
            modules("ext4 1 2 - Live 0x0\nvirtio_net 3 0 - Live 0x0\n"),
            ["ext4", "virtio_net"]
        );
        assert_eq!(
            resolvers("nameserver 10.0.0.2\nsearch  a.example b.example\n"),
            ["nameserver=10.0.0.2", "search=a.example b.example"]
        );
        assert_eq!(
            nic("eth0 driver: virtio_net\neth0 version: 1.0.0\neth0 firmware-version: \nens5 driver: ena\n"),
            ["eth0=virtio_net version 1.0.0", "ens5=ena"]
        );
        assert_eq!(
            failed_units("nginx.service loaded failed failed A web server\n● x.mount loaded failed failed X\n"),
            ["nginx.service", "x.mount"]
        );
        assert_eq!(
            time_sync("NTPSynchronized=no\nReference ID    : C0A80101 (192.168.1.1)\nLeap status     : Normal\n*10.0.0.1 .GPS. 1 u\n"),
            [
                "synced=no",
                "source=chrony 192.168.1.1",
                "synced=yes",
                "source=ntpd 10.0.0.1",
                "synced=yes"
            ]
        );
    }
}
