//! Every mistake shoal can see is caught before any host is contacted
//! (issue 22): a script whose first statement would change every host and
//! whose second has a column typo, or that is given a parameter it does not
//! use or lacks one it needs, exits 2 and touches nothing. Each host has a
//! marker file its first statement would write; none appears, and no host
//! accepted a single connection.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use crate::support::{FleetSpec, SshdFleet, describe, shoal_command};

const HOSTS: usize = 3;

struct Setup {
    fleet: SshdFleet,
    dir: tempfile::TempDir,
    inventory: String,
}

impl Setup {
    fn new() -> Setup {
        let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
        let dir = tempfile::tempdir().unwrap();
        // The hosts' user writes its markers here.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let inventory = dir.path().join("shoal.toml");
        std::fs::write(
            &inventory,
            fleet.inventory_toml(|_| vec![("role".into(), "web".into())]),
        )
        .unwrap();
        let inventory = inventory.to_str().unwrap().to_string();
        Setup {
            fleet,
            dir,
            inventory,
        }
    }

    /// A script whose first statement leaves a marker per host, then `rest`.
    fn script(&self, rest: &str) -> String {
        let path = self.dir.path().join("runbook.shoal");
        let touch = format!(
            "hosts | run \"touch {}/marker-$(hostname)\"\n",
            self.dir.path().display()
        );
        std::fs::write(&path, touch + rest).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn shoal(&self, args: &[&str]) -> Output {
        let args = [&["--inventory", self.inventory.as_str()][..], args].concat();
        shoal_command(self.dir.path())
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("the shoal binary runs")
    }

    fn markers(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("marker-")
            })
            .count()
    }

    /// Exit 2 with `says` on stderr, and not one host contacted.
    fn refused(&self, args: &[&str], says: &str) {
        let out = self.shoal(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", describe(args, &out));
        assert!(stderr.contains(says), "{}", describe(args, &out));
        assert_eq!(self.markers(), 0, "a host ran the first statement");
        for host in 0..HOSTS {
            assert_eq!(
                self.fleet.accepted_connections(host),
                0,
                "host {host} was contacted"
            );
        }
    }
}

fn path(s: &str) -> &Path {
    Path::new(s)
}

#[test]
fn a_column_typo_in_a_later_statement_stops_the_script_before_any_host() {
    let setup = Setup::new();
    let script = setup.script("hosts | run \"cat /etc/app/health\" as health | count by heath\n");
    setup.refused(&["run", &script], "unknown column `heath`");
    let out = setup.shoal(&["run", &script]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean 'health'?"), "{stderr}");
    assert!(
        stderr.contains("2:"),
        "the caret points into line 2: {stderr}"
    );
    // --explain checks as much, with the same exit code.
    let source = std::fs::read_to_string(path(&script)).unwrap();
    setup.refused(&["--explain", "-c", &source], "unknown column `heath`");
    // And the same statement in a `-c` string.
    setup.refused(&["-c", &source], "unknown column `heath`");
}

#[test]
fn an_unused_or_missing_parameter_stops_the_script_before_any_host() {
    let setup = Setup::new();
    let script = setup.script("hosts | filter role = {{role}} | count\n");
    setup.refused(
        &["run", &script, "--param", "role=web", "--param", "zone=a"],
        "the script has no param `zone`",
    );
    setup.refused(&["run", &script], "needs the parameter `role`");
}

#[test]
fn the_same_script_without_its_mistake_runs_on_every_host() {
    // The control: the markers do appear when the script is right, so their
    // absence above is the check at work.
    let setup = Setup::new();
    let script = setup.script("hosts | filter role = {{role}} | count\n");
    let args = ["run", script.as_str(), "--param", "role=web"];
    let out = setup.shoal(&args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    assert_eq!(setup.markers(), HOSTS);
}

#[test]
fn regex_and_host_selection_parameters_select_the_right_hosts() {
    let setup = Setup::new();
    let names: Vec<String> = setup.fleet.hosts().iter().map(|h| h.name.clone()).collect();
    let script = setup.dir.path().join("select.shoal");
    std::fs::write(
        &script,
        "hosts {{nodes}} | filter host ~ /{{re}}/ | run \"hostname\" | select host, stdout\n",
    )
    .unwrap();
    // Hosts 0 and 1 by nodeset; of those, the regex keeps host 1 only.
    let nodes = format!("nodes={},{}", names[0], names[1]);
    let re = format!("re=^{}$", names[1]);
    let args = [
        "--format",
        "json",
        "run",
        script.to_str().unwrap(),
        "--param",
        &nodes,
        "--param",
        &re,
    ];
    let out = setup.shoal(&args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One result: a JSON array of rows (on one line or several).
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("JSON rows: {e}: {stdout}"));
    assert_eq!(rows.len(), 1, "{stdout}");
    assert_eq!(rows[0]["host"], names[1].as_str());
    assert_eq!(
        rows[0]["stdout"],
        names[1].as_str(),
        "the host itself answered"
    );
    assert_eq!(
        setup.fleet.accepted_connections(0),
        0,
        "host 0 was filtered out"
    );
    assert_eq!(
        setup.fleet.accepted_connections(2),
        0,
        "host 2 is not in the nodeset"
    );
}
