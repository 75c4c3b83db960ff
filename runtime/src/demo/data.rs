//! The demo fleet's thirty hosts and the files on each, as one table.
//!
//! Everything here is fixed (no randomness, no clock), so the README's demo
//! transcripts stay true from run to run.
//!
//! The seeded incident, which only comparing hosts reveals:
//!
//! * Seven hosts fail their health check: `cat etc/app/health` prints `FAIL`
//!   (`OK` elsewhere) and `sh healthcheck.sh` exits 1 with a 503 on stderr.
//! * The cause: last night's hardware-maintenance batch reflashed exactly
//!   those seven with the vendor's recovery BIOS (`sys/bios_version` is
//!   `2.1.7`, elsewhere `2.3.0`), and the reimage restored
//!   `etc/app/app.conf` to the package default `max_conns=64` (elsewhere
//!   `max_conns=1024`; its first line says `package default` instead of
//!   `managed by confsync`). Their logs say the connection pool is
//!   exhausted, without saying why.
//! * Decoys, each only partly correlated: us-east-1a has four of the seven
//!   failures (1b two, 1c one); the `canary` group runs app 2.4.1 and holds
//!   one failing host (web04); db hosts log slow queries; and api03 is tagged
//!   2.4.1 but still has 2.4.0 installed (an unrelated, harmless drift).
//!   No role or rack holds more than two of the seven.

/// The BIOS the maintenance batch flashed; its hosts are the failing ones.
const RECOVERY_BIOS: &str = "2.1.7";

/// One demo host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Host {
    pub name: &'static str,
    pub role: &'static str,
    pub az: &'static str,
    pub rack: &'static str,
    /// The `version` tag: what the deploy tool believes is installed.
    pub version: &'static str,
    /// `etc/app/version`: what is installed.
    pub installed: &'static str,
    /// `sys/bios_version`.
    pub bios: &'static str,
}

const fn host(
    name: &'static str,
    role: &'static str,
    az: &'static str,
    rack: &'static str,
    version: &'static str,
    installed: &'static str,
    bios: &'static str,
) -> Host {
    Host {
        name,
        role,
        az,
        rack,
        version,
        installed,
        bios,
    }
}

/// The fleet, in inventory order. The failing hosts are those with BIOS
/// 2.1.7: web04 web10 api06 queue02 (1a), api04 cache02 (1b), db03 (1c).
#[rustfmt::skip]
pub(crate) const HOSTS: [Host; 30] = [
    //    name       role     az            rack   version  installed  bios
    host("web01",   "web",   "us-east-1a", "r11", "2.4.1", "2.4.1",   "2.3.0"),
    host("web02",   "web",   "us-east-1b", "r21", "2.4.1", "2.4.1",   "2.3.0"),
    host("web03",   "web",   "us-east-1c", "r31", "2.4.1", "2.4.1",   "2.3.0"),
    host("web04",   "web",   "us-east-1a", "r11", "2.4.1", "2.4.1",   "2.1.7"),
    host("web05",   "web",   "us-east-1b", "r22", "2.4.1", "2.4.1",   "2.3.0"),
    host("web06",   "web",   "us-east-1c", "r32", "2.4.0", "2.4.0",   "2.3.0"),
    host("web07",   "web",   "us-east-1a", "r12", "2.4.0", "2.4.0",   "2.3.0"),
    host("web08",   "web",   "us-east-1b", "r21", "2.4.0", "2.4.0",   "2.3.0"),
    host("web09",   "web",   "us-east-1c", "r31", "2.4.0", "2.4.0",   "2.3.0"),
    host("web10",   "web",   "us-east-1a", "r12", "2.4.0", "2.4.0",   "2.1.7"),
    host("api01",   "api",   "us-east-1b", "r22", "2.4.1", "2.4.1",   "2.3.0"),
    host("api02",   "api",   "us-east-1c", "r32", "2.4.1", "2.4.1",   "2.3.0"),
    host("api03",   "api",   "us-east-1a", "r12", "2.4.1", "2.4.0",   "2.3.0"),
    host("api04",   "api",   "us-east-1b", "r21", "2.4.0", "2.4.0",   "2.1.7"),
    host("api05",   "api",   "us-east-1c", "r31", "2.4.0", "2.4.0",   "2.3.0"),
    host("api06",   "api",   "us-east-1a", "r11", "2.4.0", "2.4.0",   "2.1.7"),
    host("api07",   "api",   "us-east-1b", "r22", "2.4.0", "2.4.0",   "2.3.0"),
    host("api08",   "api",   "us-east-1c", "r32", "2.4.0", "2.4.0",   "2.3.0"),
    host("api09",   "api",   "us-east-1a", "r12", "2.4.0", "2.4.0",   "2.3.0"),
    host("api10",   "api",   "us-east-1b", "r21", "2.4.0", "2.4.0",   "2.3.0"),
    host("db01",    "db",    "us-east-1a", "r11", "2.4.0", "2.4.0",   "2.3.0"),
    host("db02",    "db",    "us-east-1b", "r22", "2.4.0", "2.4.0",   "2.3.0"),
    host("db03",    "db",    "us-east-1c", "r31", "2.4.0", "2.4.0",   "2.1.7"),
    host("db04",    "db",    "us-east-1c", "r32", "2.4.0", "2.4.0",   "2.3.0"),
    host("cache01", "cache", "us-east-1a", "r11", "2.4.0", "2.4.0",   "2.3.0"),
    host("cache02", "cache", "us-east-1b", "r22", "2.4.0", "2.4.0",   "2.1.7"),
    host("cache03", "cache", "us-east-1c", "r31", "2.4.0", "2.4.0",   "2.3.0"),
    host("queue01", "queue", "us-east-1c", "r32", "2.4.0", "2.4.0",   "2.3.0"),
    host("queue02", "queue", "us-east-1a", "r12", "2.4.0", "2.4.0",   "2.1.7"),
    host("queue03", "queue", "us-east-1b", "r21", "2.4.0", "2.4.0",   "2.3.0"),
];

/// Inventory groups: a nodeset over host names each.
pub(crate) const GROUPS: [(&str, &str); 6] = [
    ("web", "web[01-10]"),
    ("api", "api[01-10]"),
    ("db", "db[01-04]"),
    ("cache", "cache[01-03]"),
    ("queue", "queue[01-03]"),
    // The 2.4.1 rollout.
    ("canary", "web[01-05],api[01-03]"),
];

/// One file in a host's sandbox, by its path relative to the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct File {
    pub path: &'static str,
    pub text: String,
    pub executable: bool,
}

impl File {
    fn new(path: &'static str, text: impl Into<String>) -> File {
        File {
            path,
            text: text.into(),
            executable: false,
        }
    }

    fn script(path: &'static str, text: impl Into<String>) -> File {
        File {
            executable: true,
            ..File::new(path, text)
        }
    }
}

/// The `healthcheck.sh` every host has: the load balancer's probe, as the
/// app answers it.
const HEALTHCHECK: &str = r#"#!/bin/sh
# The load balancer's probe: GET /healthz on :8080, as the app answers it.
if [ "$(cat etc/app/health)" = OK ]; then
    echo "healthz: 200 OK"
else
    echo "healthz: 503 Service Unavailable (no free connection slot)" >&2
    exit 1
fi
"#;

/// The `cat` first in every host's PATH. A demo host's /sys and /etc/app
/// live in its sandbox, so the absolute paths that `facts` probes read
/// (`/sys/class/dmi/id/bios_version`) and that a runbook would use
/// (`/etc/app/health`) are mapped there; anything else is the real `cat`.
/// It works the same whether a command comes by exec or through shoal's
/// persistent shell, since both find `cat` through PATH.
const CAT: &str = r#"#!/bin/sh
# The demo host's /sys/class/dmi/id and /etc/app are in its sandbox ($HOME).
for a; do
    case $a in
        /sys/class/dmi/id/*) a=$HOME/sys/${a#/sys/class/dmi/id/} ;;
        /etc/app/*) a=$HOME/etc/app/${a#/etc/app/} ;;
    esac
    set -- "$@" "$a"
    shift
done
exec /bin/cat "$@"
"#;

impl Host {
    /// Inventory tags. Alphabetical, the order shoal shows tag columns in,
    /// so the inventory file reads like a `hosts` table.
    pub fn tags(&self) -> [(&'static str, &'static str); 4] {
        [
            ("az", self.az),
            ("rack", self.rack),
            ("role", self.role),
            ("version", self.version),
        ]
    }

    /// Reflashed by the maintenance batch, and so failing.
    pub fn reflashed(&self) -> bool {
        self.bios == RECOVERY_BIOS
    }

    /// The batch's reimage restored the package default.
    fn max_conns(&self) -> u32 {
        if self.reflashed() { 64 } else { 1024 }
    }

    fn cpus(&self) -> u32 {
        match self.role {
            "db" => 16,
            "api" | "cache" => 8,
            _ => 4,
        }
    }

    /// Every file of the host's sandbox. `bin/` comes first in the
    /// commands' PATH, so `hostname` and `nproc` answer as this host, and
    /// `cat` reads its /sys and /etc/app ([`CAT`]).
    pub fn files(&self) -> Vec<File> {
        let health = if self.reflashed() { "FAIL" } else { "OK" };
        vec![
            File::new("etc/app/version", format!("{}\n", self.installed)),
            File::new("etc/app/app.conf", self.app_conf()),
            File::new("etc/app/health", format!("{health}\n")),
            File::new("var/log/app.log", self.log()),
            File::new("sys/bios_version", format!("{}\n", self.bios)),
            File::new("sys/bios_vendor", "Dell Inc.\n"),
            File::script("healthcheck.sh", HEALTHCHECK),
            File::script("bin/hostname", format!("#!/bin/sh\necho {}\n", self.name)),
            File::script("bin/nproc", format!("#!/bin/sh\necho {}\n", self.cpus())),
            File::script("bin/cat", CAT),
        ]
    }

    /// The managed config, or on reflashed hosts the package's default,
    /// which the reimage put back. The first line differs too, which is
    /// what a table shows of a multi-line cell.
    fn app_conf(&self) -> String {
        let origin = if self.reflashed() {
            "package default"
        } else {
            "managed by confsync"
        };
        format!(
            "# app.conf: {origin}\n\
             listen=0.0.0.0:8080\n\
             workers=16\n\
             max_conns={}\n\
             upstream=db.internal:5432\n\
             log_level=info\n",
            self.max_conns()
        )
    }

    fn log(&self) -> String {
        let mut log = format!(
            "2025-06-03T02:14:07Z INFO  app {} started on {}: 16 workers, listening on 0.0.0.0:8080\n\
             2025-06-03T02:14:08Z INFO  connected to upstream db.internal:5432\n",
            self.installed, self.name
        );
        if self.role == "db" {
            log.push_str("2025-06-03T08:55:31Z WARN  slow query: 1.8s on orders_by_customer\n");
        }
        if self.reflashed() {
            log.push_str(
                "2025-06-03T09:40:12Z WARN  connection pool exhausted, queueing requests\n\
                 2025-06-03T09:40:14Z ERROR /healthz: no free connection slot after 2s, answering 503\n",
            );
        } else {
            log.push_str("2025-06-03T09:40:12Z INFO  /healthz: 200\n");
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;

    fn count_by<'a>(hosts: impl Iterator<Item = &'a Host>, key: fn(&Host) -> &str) -> usize {
        hosts.map(key).collect::<HashSet<_>>().len()
    }

    #[test]
    fn names_are_unique_and_groups_name_real_hosts() {
        let names: HashSet<&str> = HOSTS.iter().map(|h| h.name).collect();
        assert_eq!(names.len(), HOSTS.len());
        for (group, nodeset) in GROUPS {
            let set = shoal_lang::parse_nodeset(nodeset).unwrap();
            let members: Vec<String> = set.iter().collect();
            assert!(!members.is_empty(), "{group}");
            for member in members {
                assert!(names.contains(member.as_str()), "{group}: {member}");
            }
        }
    }

    #[test]
    fn seven_hosts_fail_across_all_three_azs_and_only_the_bios_explains_it() {
        let failing: Vec<&Host> = HOSTS.iter().filter(|h| h.reflashed()).collect();
        assert_eq!(failing.len(), 7);
        assert_eq!(count_by(failing.iter().copied(), |h| h.az), 3);
        // The AZ decoy: one AZ has more failures, but not all of them.
        let mut per_az: BTreeMap<&str, usize> = BTreeMap::new();
        for host in &failing {
            *per_az.entry(host.az).or_default() += 1;
        }
        assert_eq!(
            per_az.into_iter().collect::<Vec<_>>(),
            [("us-east-1a", 4), ("us-east-1b", 2), ("us-east-1c", 1)]
        );
        // No tag explains it: no role or rack holds more than two of the
        // seven, and no value of any tag fails on all its hosts.
        let tags: [fn(&Host) -> &str; 4] = [|h| h.role, |h| h.rack, |h| h.version, |h| h.az];
        for (i, key) in tags.into_iter().enumerate() {
            let mut failing_per_value: BTreeMap<&str, usize> = BTreeMap::new();
            for host in &failing {
                *failing_per_value.entry(key(host)).or_default() += 1;
            }
            for (value, failures) in failing_per_value {
                if i < 2 {
                    assert!(failures <= 2, "{value} has {failures} failures");
                }
                let all = HOSTS.iter().filter(|h| key(h) == value).count();
                assert!(failures < all, "every host with {value} fails");
            }
        }
        // And the files agree with the story.
        for host in &HOSTS {
            let files = host.files();
            let text = |path: &str| &files.iter().find(|f| f.path == path).unwrap().text;
            let conf_64 = text("etc/app/app.conf").contains("\nmax_conns=64\n");
            let failing = text("etc/app/health") == "FAIL\n";
            assert_eq!(conf_64, failing, "{}", host.name);
            assert_eq!(text("sys/bios_version") == "2.1.7\n", failing);
        }
    }

    #[test]
    fn app_conf_has_two_versions_that_differ_in_origin_and_max_conns() {
        let confs: HashSet<String> = HOSTS.iter().map(Host::app_conf).collect();
        assert_eq!(confs.len(), 2);
        let normalised: HashSet<String> = confs
            .iter()
            .map(|c| {
                c.replace("max_conns=1024", "max_conns=64")
                    .replace("managed by confsync", "package default")
            })
            .collect();
        assert_eq!(normalised.len(), 1);
    }
}
