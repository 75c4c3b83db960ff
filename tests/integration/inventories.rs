//! Inventories users already have, against real OpenSSH servers (tests/support): an Ansible
//! INI and an Ansible YAML inventory that reach the fleet through `ansible_host` and group
//! vars, with children, `[group:vars]` and a range, queried through the client the other
//! fleet tests use; then, through the built `shoal` binary, an Ansible checkout found by its
//! `ansible.cfg` and a dynamic inventory from `--inventory-cmd`.
//!
//! Every host a query names must answer `ok` as itself: `hostname` prints the name the fleet
//! gave it, so a host reached at the wrong address would print another name.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use shoal_runtime::inventory::{Explicit, Overrides};
use shoal_stdlib::DataFrame;

use crate::support::{Client, FleetSpec, SshdFleet, describe, shoal_command};

/// Six hosts: web001…web004 make the `web` group, web005 and web006 the `db` group.
const HOSTS: usize = 6;

/// The flags that let a client in: the fleet's key and known_hosts, which no Ansible
/// inventory names (Ansible takes them from ssh_config or its own settings).
fn overrides(fleet: &SshdFleet) -> Overrides {
    Overrides {
        identity_files: vec![fleet.client_key().to_path_buf()],
        known_hosts: Some(fleet.known_hosts().to_path_buf()),
        ..Overrides::default()
    }
}

/// The named columns of `rows`, row by row, null as "".
fn table(rows: &DataFrame, columns: &[&str]) -> Vec<Vec<String>> {
    let texts: Vec<Vec<Option<String>>> = columns
        .iter()
        .map(|name| {
            let column = rows
                .column(name)
                .unwrap_or_else(|e| panic!("no column {name}: {e}"));
            shoal_stdlib::frame::texts(column).expect("the column converts to text")
        })
        .collect();
    (0..rows.height())
        .map(|row| {
            texts
                .iter()
                .map(|column| column[row].clone().unwrap_or_default())
                .collect()
        })
        .collect()
}

/// Runs `hostname` on `group` and checks that exactly `expected` (fleet host indexes, in
/// inventory order) answered, each `ok` as itself.
fn assert_answers(client: &Client, group: &str, expected: &[usize], fleet: &SshdFleet) {
    let mut session = client.session();
    let rows = client.query(&mut session, &format!("hosts @{group} | run \"hostname\""));
    let got = table(&rows, &["host", "status", "stdout", "error"]);
    let want: Vec<Vec<String>> = expected
        .iter()
        .map(|&i| {
            let name = fleet.hosts()[i].name.clone();
            vec![name.clone(), "ok".into(), name, String::new()]
        })
        .collect();
    assert_eq!(got, want, "@{group}");
}

/// One `NAME ansible_host=ADDR` line per host: where each is reached.
fn ini_addresses(fleet: &SshdFleet) -> String {
    let mut lines = String::new();
    for node in fleet.hosts() {
        let _ = writeln!(lines, "{} ansible_host={}", node.name, node.addr);
    }
    lines
}

#[test]
fn an_ansible_ini_inventory_reaches_every_host_of_its_groups() {
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let port = fleet.hosts()[0].port;
    let ini = format!(
        "# Where each host is; the groups below name them again.\n{addresses}
[web]
web[001:004]

[db]
web005
web006 role=primary   # the one that takes writes

[prod:children]
web
db

[prod:vars]
ansible_user={user}
env=\"production\"

[all:vars]
ansible_port={port}
ansible_python_interpreter=/usr/bin/python3
",
        addresses = ini_addresses(&fleet),
        user = fleet.user(),
    );
    // No extension: the format is detected from the text.
    let path = fleet.dir().join("inventory");
    std::fs::write(&path, ini).expect("write the inventory");
    let client = Client::load(&path, &overrides(&fleet));

    assert_answers(&client, "web", &[0, 1, 2, 3], &fleet);
    assert_answers(&client, "db", &[4, 5], &fleet);
    assert_answers(&client, "prod", &[0, 1, 2, 3, 4, 5], &fleet);

    let mut session = client.session();
    let rows = client.query(&mut session, "hosts @db");
    assert_eq!(
        table(&rows, &["host", "env", "role"]),
        [
            ["web005", "production", ""],
            ["web006", "production", "primary"]
        ],
        "host and group vars are tag columns; ansible_* vars are not"
    );
    assert!(rows.column("ansible_python_interpreter").is_err());

    let web001 = &client.inventory.hosts[0];
    assert_eq!(
        web001.explicit,
        Explicit {
            addr: true,
            port: false,
            user: true,
            identity_files: false,
        },
        "ansible_host is the host's own, the user prod's, the port only all's"
    );
}

#[test]
fn an_ansible_yaml_inventory_reaches_every_host_of_its_groups() {
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let mut yaml = format!(
        "all:\n  vars:\n    ansible_user: {}\n    ansible_port: {}\n  children:
    web:
      hosts:
        web[001:004]:
      vars: {{tier: front}}
    db:
      hosts:
        web005:
        web006: {{role: primary}}
    prod:
      children: {{web: , db: }}
      vars: {{env: production}}
  hosts:\n",
        fleet.user(),
        fleet.hosts()[0].port
    );
    for node in fleet.hosts() {
        let _ = writeln!(yaml, "    {}: {{ansible_host: {}}}", node.name, node.addr);
    }
    let path = fleet.dir().join("inventory.yml");
    std::fs::write(&path, yaml).expect("write the inventory");
    let client = Client::load(&path, &overrides(&fleet));

    assert_answers(&client, "web", &[0, 1, 2, 3], &fleet);
    assert_answers(&client, "prod", &[0, 1, 2, 3, 4, 5], &fleet);

    let mut session = client.session();
    let rows = client.query(
        &mut session,
        "hosts @prod | filter tier = front | count by env",
    );
    assert_eq!(table(&rows, &["env", "count"]), [["production", "4"]]);
}

/// Runs the built shoal in `dir` with `args` and HOME in `dir`, so that only what the test
/// sets up can be found.
fn shoal(dir: &Path, args: &[&str]) -> Output {
    shoal_command(dir)
        .args(args)
        .env("HOME", dir)
        .output()
        .expect("the shoal binary runs")
}

/// Runs shoal expecting exit code 0 and a JSON array of rows on stdout.
fn json_rows(dir: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = shoal(dir, args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(args, &out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(args, &out)))
}

/// Each row's host and stdout, checking every status is `ok`.
fn answered(rows: &[serde_json::Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|row| {
            assert_eq!(row["status"], "ok", "{row}");
            (
                row["host"].as_str().unwrap_or_default().to_owned(),
                row["stdout"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The flags that let the binary in (see [`overrides`]), asking for JSON rows.
fn login_flags(fleet: &SshdFleet) -> Vec<String> {
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
    vec![
        "--identity".into(),
        path(fleet.client_key()),
        "--known-hosts".into(),
        path(fleet.known_hosts()),
        "--format".into(),
        "json".into(),
    ]
}

fn names(fleet: &SshdFleet, indexes: &[usize]) -> Vec<(String, String)> {
    indexes
        .iter()
        .map(|&i| (fleet.hosts()[i].name.clone(), fleet.hosts()[i].name.clone()))
        .collect()
}

#[test]
fn the_binary_finds_an_ansible_checkout_by_its_ansible_cfg() {
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let checkout = tempfile::tempdir().expect("a checkout directory");
    let ini = format!(
        "{}\n[webservers]\nweb[001:003]\n\n[all:vars]\nansible_user={}\nansible_port={}\n",
        ini_addresses(&fleet),
        fleet.user(),
        fleet.hosts()[0].port
    );
    std::fs::create_dir(checkout.path().join("inventory")).unwrap();
    std::fs::write(checkout.path().join("inventory/hosts"), ini).unwrap();
    std::fs::write(
        checkout.path().join("ansible.cfg"),
        "[defaults]\ninventory = inventory/hosts\nhost_key_checking = True\n",
    )
    .unwrap();
    let login = login_flags(&fleet);
    let mut args: Vec<&str> = login.iter().map(String::as_str).collect();
    args.extend(["-c", "hosts @webservers | run \"hostname\""]);
    let rows = json_rows(checkout.path(), &args);
    assert_eq!(answered(&rows), names(&fleet, &[0, 1, 2]));
}

#[test]
fn a_dynamic_inventory_command_drives_a_run_through_the_binary() {
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let dir = tempfile::tempdir().expect("a directory for the script");
    let hostvars: Vec<String> = fleet
        .hosts()
        .iter()
        .map(|node| format!("\"{}\": {{\"ansible_host\": \"{}\"}}", node.name, node.addr))
        .collect();
    let all: Vec<String> = fleet
        .hosts()
        .iter()
        .map(|node| format!("\"{}\"", node.name))
        .collect();
    // As `ansible-inventory --list` prints it, plus a line on stderr that must not matter.
    let script = format!(
        "#!/bin/sh\necho 'listing the fleet' >&2\ncat <<'EOF'\n{{
  \"_meta\": {{\"hostvars\": {{{hostvars}}}}},
  \"all\": {{\"children\": [\"canary\", \"ungrouped\"],
             \"vars\": {{\"ansible_user\": \"{user}\", \"ansible_port\": {port}}}}},
  \"canary\": {{\"hosts\": [\"{first}\", \"{second}\"], \"vars\": {{\"stage\": \"canary\"}}}},
  \"ungrouped\": {{\"hosts\": [{all}]}}
}}\nEOF\n",
        hostvars = hostvars.join(", "),
        user = fleet.user(),
        port = fleet.hosts()[0].port,
        first = fleet.hosts()[0].name,
        second = fleet.hosts()[1].name,
        all = all.join(", "),
    );
    let script_path = dir.path().join("inventory.sh");
    std::fs::write(&script_path, script).unwrap();
    let command = format!("sh {}", script_path.display());
    let login = login_flags(&fleet);
    let mut flags = vec!["--inventory-cmd", command.as_str()];
    flags.extend(login.iter().map(String::as_str));

    let args = [&flags[..], &["-c", "hosts @canary | run \"hostname\""]].concat();
    let rows = json_rows(dir.path(), &args);
    assert_eq!(answered(&rows), names(&fleet, &[0, 1]));
    assert!(rows.iter().all(|row| row["stage"] == "canary"), "{rows:?}");

    let args = [&flags[..], &["-c", "hosts | run \"hostname\""]].concat();
    let rows = json_rows(dir.path(), &args);
    assert_eq!(answered(&rows), names(&fleet, &[0, 1, 2, 3, 4, 5]));
}

/// Runs shoal expecting exit code 2 (a usage or inventory error); returns its stderr.
fn usage_error(dir: &Path, args: &[&str]) -> String {
    let out = shoal(dir, args);
    assert_eq!(out.status.code(), Some(2), "{}", describe(args, &out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_failing_inventory_command_exits_2_with_its_status_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let failing = "echo 'cannot reach the cloud API' >&2; exit 3";
    let stderr = usage_error(dir.path(), &["--inventory-cmd", failing, "-c", "hosts"]);
    assert!(
        stderr.contains("exited with status 3; its stderr ended:\n    cannot reach the cloud API"),
        "{stderr}"
    );

    let broken = r#"echo '{"all": ['"#;
    let stderr = usage_error(dir.path(), &["--inventory-cmd", broken, "-c", "hosts"]);
    assert!(
        stderr.contains(r#"error: inventory --inventory-cmd 'echo '\''{"all": ['\''':2:1: "#),
        "the error names the command and the place in its output: {stderr}"
    );
    assert!(
        stderr.contains("= note: read as Ansible inventory JSON"),
        "{stderr}"
    );

    let both = ["--inventory-cmd", "true", "--inventory", "x", "-c", "hosts"];
    let stderr = usage_error(dir.path(), &both);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// Issue 20: an Ansible inventory whose addresses, user and port live only in
/// `group_vars/` and `host_vars/` reaches the fleet; a host variable named
/// like a shoal column (`status`) is the tag `var_status`, selectable; and
/// `shoal inventory --list` prints it all as `ansible-inventory --list` would.
#[test]
fn group_vars_and_host_vars_reach_the_fleet_and_inventory_list_shows_them() {
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let dir = tempfile::tempdir().expect("an inventory directory");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let hosts: Vec<&str> = fleet.hosts().iter().map(|h| h.name.as_str()).collect();
    write("hosts", format!("[web]\n{}\n", hosts.join("\n")));
    write(
        "group_vars/all.yml",
        format!(
            "ansible_user: {}\nansible_port: {}\n",
            fleet.user(),
            fleet.hosts()[0].port
        ),
    );
    for (i, node) in fleet.hosts().iter().enumerate() {
        let status = if i % 2 == 0 { "live" } else { "drain" };
        write(
            &format!("host_vars/{}.yml", node.name),
            format!("ansible_host: {}\nstatus: {status}\n", node.addr),
        );
    }
    let login = login_flags(&fleet);
    let mut args: Vec<&str> = vec!["--inventory", "hosts"];
    args.extend(login.iter().map(String::as_str));
    args.extend(["-c", "hosts | filter var_status = live | run \"hostname\""]);
    let rows = json_rows(dir.path(), &args);
    assert_eq!(answered(&rows), names(&fleet, &[0, 2, 4]));

    let args = ["inventory", "--list", "--inventory", "hosts"];
    let out = shoal(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&args, &out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let first = &list["_meta"]["hostvars"][hosts[0]];
    assert_eq!(first["status"], "live", "{list}");
    assert_eq!(
        first["ansible_host"],
        fleet.hosts()[0].addr.to_string(),
        "{list}"
    );
    assert_eq!(first["ansible_port"], fleet.hosts()[0].port, "{list}");
    assert_eq!(
        list["web"]["hosts"].as_array().map(Vec::len),
        Some(HOSTS),
        "{list}"
    );
    assert_eq!(
        list["all"]["children"],
        serde_json::json!(["ungrouped", "web"])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("they are the tags `var_status`"),
        "{stderr}"
    );
}
