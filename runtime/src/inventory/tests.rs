//! Inventory tests of shoal's TOML and of loading as a whole: each error
//! asserts its line, column and wording; the rest check defaults, overrides,
//! explicit settings, detection and the fleet view.

use super::settings::DEFAULT_FANOUT;
use super::*;

/// A scratch directory holding `shoal.toml` and any key files a test needs,
/// with an environment that points $HOME into it.
struct Scratch {
    dir: tempfile::TempDir,
    env: Env,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        let env = Env {
            home: Some(home),
            user: Some("localme".into()),
            cwd: Some(dir.path().to_path_buf()),
            ..Env::default()
        };
        Scratch { dir, env }
    }

    fn touch(&self, relative: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "key").unwrap();
        path
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("shoal.toml")
    }

    /// Loads `text` as TOML.
    fn load(&self, text: &str, overrides: &Overrides) -> Result<Inventory, InventoryError> {
        let path = self.path();
        let source = Source { path: &path, text };
        finish(source, native::read(source)?, overrides, &self.env)
    }

    /// Loads `text` from a file named `name`, in the format detected.
    fn load_as(&self, name: &str, text: &str, overrides: &Overrides) -> InventoryResult<Inventory> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        load(&path, overrides, &self.env)
    }

    /// The error's line, column and message; panics if loading succeeded.
    fn error(&self, text: &str) -> (usize, usize, String) {
        match self.load(text, &Overrides::default()) {
            Err(InventoryError::Invalid {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a located error, got {other:?}"),
        }
    }
}

const FLEET: &str = r#"
[defaults]
user = "fleet"
port = 2222
fanout = 16
connect_timeout = "3s"
command_timeout = "1.5s"

[[hosts]]
name = "web001"
addr = "127.0.1.1"
tags = { az = "us-east-1a", role = "web" }

[[hosts]]
name = "web002"
port = 22
user = "admin"
tags = { role = "web" }

[[hosts]]
name = "db001"

[groups]
canary = "web[001-002]"
all = "web[001-002],db001"
"#;

#[test]
fn a_full_file_loads_with_its_defaults_applied() {
    let scratch = Scratch::new();
    let inventory = scratch.load(FLEET, &Overrides::default()).unwrap();
    assert_eq!(inventory.path, scratch.path());
    assert_eq!(inventory.settings.fanout, 16);
    assert_eq!(inventory.settings.connect_timeout, Duration::from_secs(3));
    assert_eq!(
        inventory.settings.command_timeout,
        Duration::from_millis(1500)
    );
    assert!(!inventory.settings.accept_new);
    assert_eq!(
        inventory.settings.known_hosts,
        scratch.env.home.as_ref().unwrap().join(".ssh/known_hosts")
    );

    let [web001, web002, db001] = &inventory.hosts[..] else {
        panic!("three hosts expected: {:?}", inventory.hosts);
    };
    assert_eq!(
        (web001.addr.as_str(), web001.port, web001.user.as_str()),
        ("127.0.1.1", 2222, "fleet")
    );
    assert_eq!(
        web001.tags.get("az").map(String::as_str),
        Some("us-east-1a")
    );
    assert_eq!(
        (web002.addr.as_str(), web002.port, web002.user.as_str()),
        ("web002", 22, "admin")
    );
    assert_eq!((db001.addr.as_str(), db001.port), ("db001", 2222));
    assert!(db001.tags.is_empty());

    assert_eq!(inventory.groups["canary"], ["web001", "web002"]);
    // Inventory order, whatever order the nodeset lists them in.
    assert_eq!(inventory.groups["all"], ["web001", "web002", "db001"]);
}

#[test]
fn an_empty_file_takes_every_default() {
    let scratch = Scratch::new();
    let ed25519 = scratch.touch("home/.ssh/id_ed25519");
    let rsa = scratch.touch("home/.ssh/id_rsa");
    let inventory = scratch
        .load("[[hosts]]\nname = \"a\"\n", &Overrides::default())
        .unwrap();
    let settings = &inventory.settings;
    assert_eq!(settings.identity_files, [ed25519, rsa]);
    assert_eq!(settings.fanout, DEFAULT_FANOUT);
    assert_eq!(settings.connect_timeout, Duration::from_secs(10));
    assert_eq!(settings.command_timeout, Duration::from_secs(60));
    let host = &inventory.hosts[0];
    assert_eq!(
        (host.addr.as_str(), host.port, host.user.as_str()),
        ("a", 22, "localme")
    );
    assert!(inventory.groups.is_empty());
}

#[test]
fn overrides_win_over_defaults_and_user_wins_over_hosts() {
    let scratch = Scratch::new();
    let key = scratch.touch("cli_key");
    let overrides = Overrides {
        user: Some("root".into()),
        identity_files: vec![key.clone()],
        known_hosts: Some(PathBuf::from("/tmp/kh")),
        fanout: Some(3),
        max_connections: None,
        command_timeout: Some(Duration::from_secs(7)),
        connect_timeout: Some(Duration::from_secs(2)),
        accept_new: true,
    };
    let inventory = scratch.load(FLEET, &overrides).unwrap();
    let settings = &inventory.settings;
    assert_eq!(settings.identity_files, [key]);
    assert_eq!(settings.known_hosts, Path::new("/tmp/kh"));
    assert_eq!(settings.fanout, 3);
    assert_eq!(settings.command_timeout, Duration::from_secs(7));
    assert_eq!(settings.connect_timeout, Duration::from_secs(2));
    assert!(settings.accept_new);
    assert!(
        inventory.hosts.iter().all(|h| h.user == "root"),
        "{:?}",
        inventory.hosts
    );
}

#[test]
fn paths_in_the_file_are_relative_to_it_and_tilde_is_home() {
    let scratch = Scratch::new();
    let local = scratch.touch("keys/fleet_key");
    let home_key = scratch.touch("home/.ssh/other");
    let text = r#"
[defaults]
identity_files = ["keys/fleet_key", "~/.ssh/other"]
known_hosts = "kh"
"#;
    let inventory = scratch.load(text, &Overrides::default()).unwrap();
    assert_eq!(inventory.settings.identity_files, [local, home_key]);
    assert_eq!(
        inventory.settings.known_hosts,
        scratch.dir.path().join("kh")
    );
}

#[test]
fn unknown_field_names_the_field_and_its_place() {
    let scratch = Scratch::new();
    let text = "[[hosts]]\nname = \"a\"\nadress = \"10.0.0.1\"\n";
    let (line, column, message) = scratch.error(text);
    assert_eq!((line, column), (3, 1));
    assert!(
        message.starts_with("unknown field `adress`, expected one of"),
        "{message}"
    );

    let (line, _, message) = scratch.error("[defaults]\nfan_out = 3\n");
    assert_eq!(line, 2);
    assert!(message.contains("unknown field `fan_out`"), "{message}");

    let (line, _, message) = scratch.error("[host]\nname = \"a\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("unknown field `host`"), "{message}");
}

#[test]
fn duplicate_host_names_point_at_both_definitions() {
    let scratch = Scratch::new();
    let text = "[[hosts]]\nname = \"web001\"\n\n[[hosts]]\nname = \"web002\"\n\n[[hosts]]\nname = \"web001\"\n";
    let (line, column, message) = scratch.error(text);
    assert_eq!((line, column), (8, 8));
    assert_eq!(
        message,
        r#"duplicate host name "web001" (first defined on line 2)"#
    );
}

#[test]
fn the_rendered_error_names_file_line_and_column() {
    let scratch = Scratch::new();
    let text = "[[hosts]]\nname = \"web001\"\n[[hosts]]\nname = \"web001\"\n";
    let error = scratch.load(text, &Overrides::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "inventory {}:4:8: duplicate host name \"web001\" (first defined on line 2)",
            scratch.path().display()
        )
    );
    // Loaded as a file, the error also says how its format was chosen.
    let error = scratch
        .load_as("shoal.toml", text, &Overrides::default())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "inventory {}:4:8: duplicate host name \"web001\" (first defined on line 2)\n  \
             = note: read as shoal's TOML inventory because its name ends in `.toml`",
            scratch.path().display()
        )
    );
}

#[test]
fn a_malformed_nodeset_is_an_error_at_the_group() {
    let scratch = Scratch::new();
    let text = "[[hosts]]\nname = \"web001\"\n\n[groups]\ncanary = \"web[001-\"\n";
    let (line, column, message) = scratch.error(text);
    assert_eq!((line, column), (5, 10));
    assert!(
        message.starts_with(r#"groups.canary: "web[001-" is not a valid nodeset: "#),
        "{message}"
    );
}

#[test]
fn a_group_naming_a_missing_host_is_an_error() {
    let scratch = Scratch::new();
    let text = "[[hosts]]\nname = \"web001\"\n[groups]\ncanary = \"web[001-002]\"\n";
    let (line, column, message) = scratch.error(text);
    assert_eq!((line, column), (4, 10));
    assert_eq!(
        message,
        r#"groups.canary: "web002" is not a host in the inventory"#
    );

    let text = "[[hosts]]\nname = \"web001\"\n[groups]\ncanary = \"web[002-009]\"\n";
    let (_, _, message) = scratch.error(text);
    assert_eq!(
        message,
        r#"groups.canary: "web002", "web003", "web004", "web005", "web006", and 3 more are not hosts in the inventory"#
    );
}

#[test]
fn a_missing_identity_file_is_an_error_at_its_entry() {
    let scratch = Scratch::new();
    scratch.touch("present");
    let text = "[defaults]\nidentity_files = [\"present\",\n  \"absent\"]\n";
    let (line, column, message) = scratch.error(text);
    assert_eq!((line, column), (3, 3));
    assert_eq!(
        message,
        format!(
            "defaults.identity_files: {} does not exist",
            scratch.dir.path().join("absent").display()
        )
    );
}

#[test]
fn a_missing_identity_file_on_the_command_line_is_an_error() {
    let scratch = Scratch::new();
    let overrides = Overrides {
        identity_files: vec![PathBuf::from("/nonexistent/key")],
        ..Overrides::default()
    };
    let error = scratch.load("", &overrides).unwrap_err();
    assert!(
        matches!(error, InventoryError::Unusable { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with(": --identity /nonexistent/key: the file does not exist"),
        "{error}"
    );
}

#[test]
fn a_bad_duration_is_an_error_at_its_value() {
    let scratch = Scratch::new();
    let (line, column, message) = scratch.error("[defaults]\nconnect_timeout = \"10\"\n");
    assert_eq!((line, column), (2, 19));
    assert_eq!(
        message,
        "defaults.connect_timeout: `10` has no unit: write it as 200ms, 5s, 2m or 1h"
    );

    let (line, _, message) = scratch.error("[defaults]\n\ncommand_timeout = \"soon\"\n");
    assert_eq!(line, 3);
    assert!(
        message.starts_with("defaults.command_timeout: `soon` "),
        "{message}"
    );
}

#[test]
fn fanout_zero_is_an_error() {
    let scratch = Scratch::new();
    let (line, column, message) = scratch.error("[defaults]\nfanout = 0\n");
    assert_eq!((line, column), (2, 10));
    assert_eq!(message, "defaults.fanout: must be at least 1");

    let overrides = Overrides {
        fanout: Some(0),
        ..Overrides::default()
    };
    let error = scratch.load("", &overrides).unwrap_err().to_string();
    assert!(error.ends_with(": --fanout must be at least 1"), "{error}");
}

#[test]
fn max_connections_comes_from_the_file_or_the_flag_and_is_at_least_one() {
    let scratch = Scratch::new();
    let (line, column, message) = scratch.error("[defaults]\nmax_connections = 0\n");
    assert_eq!((line, column), (2, 19));
    assert_eq!(message, "defaults.max_connections: must be at least 1");
    let file = "[defaults]\nmax_connections = 50\n";
    let inventory = scratch.load(file, &Overrides::default()).unwrap();
    assert_eq!(inventory.settings.max_connections, Some(50));
    let flag = Overrides {
        max_connections: Some(7),
        ..Overrides::default()
    };
    assert_eq!(
        scratch.load(file, &flag).unwrap().settings.max_connections,
        Some(7)
    );
    let unset = scratch.load("", &Overrides::default()).unwrap();
    assert_eq!(unset.settings.max_connections, None);
    let zero = Overrides {
        max_connections: Some(0),
        ..Overrides::default()
    };
    let error = scratch.load("", &zero).unwrap_err().to_string();
    assert!(
        error.ends_with(": --max-connections must be at least 1"),
        "{error}"
    );
}

#[test]
fn type_errors_and_bad_ports_are_located() {
    let scratch = Scratch::new();
    let (line, _, message) = scratch.error("[defaults]\nport = 70000\n");
    assert_eq!(line, 2);
    assert!(message.contains("u16"), "{message}");

    let (line, column, message) = scratch.error("[[hosts]]\nname = \"a\"\nport = 0\n");
    assert_eq!((line, column), (3, 8));
    assert_eq!(message, r#"host "a": port must be between 1 and 65535"#);

    let (line, _, message) = scratch.error("[[hosts]]\nname = \"a\"\ntags = { rack = 7 }\n");
    assert_eq!(line, 3);
    assert!(message.contains("string"), "{message}");

    let (line, _, message) = scratch.error("[[hosts]]\naddr = \"10.0.0.1\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("missing field `name`"), "{message}");
}

#[test]
fn syntax_errors_are_located() {
    let scratch = Scratch::new();
    let (line, _, _) = scratch.error("[defaults]\nuser = \n");
    assert_eq!(line, 2);
}

#[test]
fn empty_names_and_reserved_tags_are_refused() {
    let scratch = Scratch::new();
    let (line, column, message) = scratch.error("[[hosts]]\nname = \"\"\n");
    assert_eq!((line, column), (2, 8));
    assert_eq!(message, "hosts.name: a host name cannot be empty");

    let (line, _, message) = scratch.error("[[hosts]]\nname = \"a\"\ntags = { status = \"x\" }\n");
    assert_eq!(line, 3);
    assert!(
        message.starts_with(r#"host "a": tag `status` cannot be a tag name"#),
        "{message}"
    );
}

#[test]
fn unreadable_file_names_the_path() {
    let error = Inventory::load(Path::new("/nonexistent/shoal.toml"), &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("inventory /nonexistent/shoal.toml: "),
        "{error}"
    );
}

#[test]
fn the_fleet_view_keeps_names_addresses_tags_and_groups() {
    let scratch = Scratch::new();
    let fleet = scratch.load(FLEET, &Overrides::default()).unwrap().fleet();
    let names: Vec<&str> = fleet.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["web001", "web002", "db001"]);
    assert_eq!(fleet.hosts[0].addr, "127.0.1.1");
    assert_eq!(fleet.tag_names(), ["az", "role"]);
    assert_eq!(fleet.groups["canary"], ["web001", "web002"]);
}

#[test]
fn explicit_records_what_each_host_set_itself() {
    let scratch = Scratch::new();
    let inventory = scratch.load(FLEET, &Overrides::default()).unwrap();
    let explicit: Vec<Explicit> = inventory.hosts.iter().map(|h| h.explicit).collect();
    let set = |addr, port, user| Explicit {
        addr,
        port,
        user,
        identity_files: false,
    };
    // web001 sets addr; web002 port and user; db001 nothing (its port and
    // user are [defaults]).
    assert_eq!(
        explicit,
        [
            set(true, false, false),
            set(false, true, true),
            set(false, false, false)
        ]
    );
    assert_eq!(inventory.overrides, Overrides::default());

    let overrides = Overrides {
        user: Some("root".into()),
        fanout: Some(3),
        ..Overrides::default()
    };
    let inventory = scratch.load(FLEET, &overrides).unwrap();
    assert!(
        inventory.hosts.iter().all(|h| h.explicit.user),
        "--user is every host's own"
    );
    assert_eq!(inventory.overrides, overrides, "kept as given");
}

#[test]
fn other_formats_load_through_detection_with_the_flags_applied() {
    let scratch = Scratch::new();
    let ini = "[web]\nweb1 ansible_host=10.0.0.1 ansible_port=2201 role=front\nweb2\n\
               [all:vars]\nansible_user=ops\n";
    let overrides = Overrides {
        fanout: Some(7),
        ..Overrides::default()
    };
    let inventory = scratch.load_as("hosts", ini, &overrides).unwrap();
    assert_eq!(inventory.settings.fanout, 7);
    let [web1, web2] = &inventory.hosts[..] else {
        panic!("two hosts: {:?}", inventory.hosts);
    };
    assert_eq!(
        (web1.addr.as_str(), web1.port, web1.user.as_str()),
        ("10.0.0.1", 2201, "ops")
    );
    assert_eq!(
        web1.explicit,
        Explicit {
            addr: true,
            port: true,
            user: false,
            identity_files: false,
        }
    );
    assert_eq!(
        (web2.addr.as_str(), web2.port, web2.user.as_str()),
        ("web2", 22, "ops")
    );
    assert_eq!(web2.explicit, Explicit::default());
    assert_eq!(inventory.groups["web"], ["web1", "web2"]);
    assert_eq!(inventory.fleet().tag_names(), ["role"]);

    let plain = scratch
        .load_as("hosts.txt", "web[1-2]\n", &Overrides::default())
        .unwrap();
    assert_eq!(plain.hosts[1].user, "localme", "the local user by default");

    let groups = scratch.dir.path().join("groups.d");
    std::fs::create_dir(&groups).unwrap();
    std::fs::write(groups.join("local.yaml"), "local:\n  web: web[1-3]\n").unwrap();
    let inventory = load(&groups, &Overrides::default(), &scratch.env).unwrap();
    assert_eq!(inventory.groups["web"], ["web1", "web2", "web3"]);
    assert_eq!(inventory.path, groups);
}

#[test]
fn an_error_in_a_detected_format_says_what_was_assumed_and_why() {
    let scratch = Scratch::new();
    let error = scratch
        .load_as(
            "hosts",
            "web1\n[web]\nweb2 ansible_port=x\n",
            &Overrides::default(),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "inventory {}:3:19: ansible_port: `x` is not a port (1 to 65535)\n  \
             = note: read as an Ansible INI inventory because line 2 is a `[section]` header",
            scratch.dir.path().join("hosts").display()
        )
    );
    let error = scratch
        .load_as("hosts", "web1\nweb2 web3\n", &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.ends_with(
            "= note: read as a plain list of hosts because no rule for TOML, JSON, CSV, \
             YAML or INI matched it"
        ),
        "{error}"
    );
}

#[test]
fn a_csv_file_is_read_as_hosts_with_tags_never_as_a_list_of_hosts() {
    let scratch = Scratch::new();
    let csv = "name,addr,az,role\nweb01,10.0.0.1,us-east-1a,web\nweb02,10.0.0.2,us-east-1b,web\n";
    // No `.csv` in the name: the header row is what tells.
    let inventory = scratch
        .load_as("hosts", csv, &Overrides::default())
        .unwrap();
    let names: Vec<&str> = inventory.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["web01", "web02"]);
    assert_eq!(inventory.hosts[1].addr, "10.0.0.2");
    assert_eq!(inventory.hosts[1].user, "localme");
    assert_eq!(inventory.fleet().tag_names(), ["az", "role"]);

    let error = scratch
        .load_as(
            "hosts",
            "name,addr,az\nweb01,10.0.0.1\n",
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "inventory {}:2:1: this row has 2 fields but the header (`name,addr,az`) has 3: \
             give every row one value per column (leave a cell empty with `,,`), and quote \
             a value that holds a comma (\"a,b\")\n  = note: read as a CSV inventory (a \
             header row, then one host per row) because line 1 is `name,addr,az`, a CSV \
             header (its first field names the host)",
            scratch.dir.path().join("hosts").display()
        )
    );
    let error = scratch
        .load_as("fleet.csv", "addr,az\n10.0.0.1,a\n", &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("fleet.csv:1:1: the header `addr,az` has no `name` column"),
        "{error}"
    );
    assert!(
        error.ends_with("because its name ends in `.csv`"),
        "{error}"
    );
}

#[test]
fn ansible_cfg_defaults_apply_to_ansible_inventories_below_their_vars() {
    let scratch = Scratch::new();
    let key = scratch.touch("keys/deploy");
    let flag_key = scratch.touch("keys/flag");
    std::fs::write(
        scratch.dir.path().join("ansible.cfg"),
        "[defaults]\nremote_user = deploy\nremote_port = 2222\nprivate_key_file = keys/deploy\n\
         timeout = 5\nhost_key_checking = False\n",
    )
    .unwrap();
    let ini = "web1 ansible_port=22\nweb2 ansible_user=own\n";
    let inventory = scratch
        .load_as("hosts", ini, &Overrides::default())
        .unwrap();
    let [web1, web2] = &inventory.hosts[..] else {
        panic!("two hosts: {:?}", inventory.hosts);
    };
    assert_eq!((web1.user.as_str(), web1.port), ("deploy", 22));
    assert_eq!((web2.user.as_str(), web2.port), ("own", 2222));
    assert!(
        !web1.explicit.user && !web2.explicit.port,
        "defaults, not own"
    );
    assert_eq!(inventory.settings.identity_files, [key]);
    assert_eq!(inventory.settings.default_user.as_deref(), Some("deploy"));
    assert_eq!(inventory.settings.default_port, 2222);
    assert_eq!(inventory.settings.connect_timeout, Duration::from_secs(5));
    assert_eq!(inventory.warnings.len(), 1, "{:?}", inventory.warnings);
    assert!(
        inventory.warnings[0].contains("host_key_checking = False"),
        "{:?}",
        inventory.warnings
    );

    let all_vars = "web1\n[all:vars]\nansible_user=fromall\n";
    let inventory = scratch
        .load_as("hosts", all_vars, &Overrides::default())
        .unwrap();
    assert_eq!(
        inventory.hosts[0].user, "fromall",
        "all's vars beat ansible.cfg"
    );

    let flags = Overrides {
        user: Some("flag".into()),
        identity_files: vec![flag_key.clone()],
        ..Overrides::default()
    };
    let inventory = scratch.load_as("hosts", ini, &flags).unwrap();
    assert_eq!(inventory.hosts[0].user, "flag");
    assert_eq!(inventory.settings.identity_files, [flag_key]);

    for (name, text) in [
        ("hosts.txt", "web1\n"),
        ("shoal.toml", "[[hosts]]\nname = \"web1\"\n"),
    ] {
        let inventory = scratch.load_as(name, text, &Overrides::default()).unwrap();
        assert_eq!(
            (inventory.hosts[0].user.as_str(), inventory.hosts[0].port),
            ("localme", 22),
            "{name}: not an Ansible inventory"
        );
        assert!(inventory.warnings.is_empty());
    }

    std::fs::write(
        scratch.dir.path().join("ansible.cfg"),
        "[defaults]\nprivate_key_file = keys/missing\n",
    )
    .unwrap();
    let error = scratch
        .load_as("hosts", ini, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("ansible.cfg:2:1: private_key_file: ") && error.contains("does not exist"),
        "{error}"
    );
}

#[test]
fn an_ansible_inventory_directory_is_its_files_merged_as_ansible_merges_them() {
    let scratch = Scratch::new();
    let dir = scratch.dir.path().join("inventory");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "01-hosts.ini",
        "web1 ansible_host=10.0.0.1\nweb2\ndb1\n[web]\nweb[1:2]\n",
    );
    // Groups in another file: children of a group the first file defines.
    write(
        "02-groups.yml",
        "prod:\n  children:\n    web:\n    db:\n  vars: {env: production}\ndb:\n  hosts:\n    db1: {role: primary}\n",
    );
    write(
        "extra/cloud.json",
        r#"{"cloud": {"hosts": ["web2", "cache1"]}}"#,
    );
    write("plain", "cache2\n");
    // Skipped as Ansible skips them: not inventories at all.
    for skipped in [
        "README.md",
        "notes.txt",
        "hosts.bak",
        "hosts~",
        ".hidden",
        "ansible.cfg",
    ] {
        write(skipped, "this is not [an inventory\n");
    }
    write("group_vars/all.yml", "ansible_user: fromvars\n");

    let inventory = load(&dir, &Overrides::default(), &scratch.env).unwrap();
    let names: Vec<&str> = inventory.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["web1", "web2", "db1", "cache1", "cache2"]);
    assert_eq!(inventory.groups["prod"], ["web1", "web2", "db1"]);
    assert_eq!(inventory.groups["cloud"], ["web2", "cache1"]);
    assert_eq!(inventory.hosts[0].addr, "10.0.0.1");
    assert_eq!(inventory.hosts[2].tags["role"], "primary");
    assert_eq!(inventory.hosts[2].tags["env"], "production");
    assert_eq!(inventory.path, dir);
    // The directory's group_vars/ apply, as `all`'s defaults.
    assert_eq!(inventory.hosts[0].user, "fromvars");
    assert!(!inventory.hosts[0].explicit.user);
    assert!(inventory.warnings.is_empty(), "{:?}", inventory.warnings);

    // An error names the file it is in, and how it was read.
    write("03-bad.ini", "[web]\nweb3 ansible_port=x\n");
    let error = load(&dir, &Overrides::default(), &scratch.env)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "inventory {}:2:19: ansible_port: `x` is not a port",
            dir.join("03-bad.ini").display()
        )),
        "{error}"
    );
    std::fs::remove_file(dir.join("03-bad.ini")).unwrap();

    // A script is not run.
    write("04-cloud.py", "#!/bin/sh\necho '{}'\n");
    let script = dir.join("04-cloud.py");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let error = load(&dir, &Overrides::default(), &scratch.env)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("an inventory script, which Ansible would run")
            && error.contains(&format!("--inventory-cmd '{} --list'", script.display())),
        "{error}"
    );
    std::fs::remove_file(&script).unwrap();

    // Several sources, as ansible.cfg's `inventory = a, b` names them.
    let other = scratch.dir.path().join("other.ini");
    std::fs::write(&other, "[web]\nweb9\n").unwrap();
    let inventory = load_sources(
        &[dir.clone(), other.clone()],
        &Overrides::default(),
        &scratch.env,
        true,
    )
    .unwrap();
    assert_eq!(inventory.groups["web"], ["web1", "web2", "web9"]);
    assert_eq!(
        inventory.path,
        PathBuf::from(format!("{},{}", dir.display(), other.display()))
    );

    // An empty directory says what a directory can be.
    let empty = scratch.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let error = load(&empty, &Overrides::default(), &scratch.env)
        .unwrap_err()
        .to_string();
    assert!(error.contains("no inventory files here"), "{error}");
}

#[test]
fn an_ansible_inventory_plugin_configuration_is_refused_with_what_to_run() {
    let scratch = Scratch::new();
    let error = scratch
        .load_as(
            "aws_ec2.yml",
            "plugin: amazon.aws.aws_ec2\nregions: [us-east-1]\n",
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "this is the configuration of Ansible's inventory plugin `amazon.aws.aws_ec2`, \
             which shoal cannot run; pass --inventory-cmd 'ansible-inventory -i "
        ),
        "{error}"
    );
}

#[test]
fn a_nodeset_alone_is_a_fleet_and_with_an_inventory_it_picks_hosts() {
    let overrides = Overrides {
        user: Some("ops".into()),
        ..Overrides::default()
    };
    let nodes = vec!["web[01-03]".to_string(), "db1".to_string()];
    let inventory = Inventory::from_nodesets(&nodes, &overrides).unwrap();
    let hosts: Vec<(&str, &str, &str)> = inventory
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.addr.as_str(), h.user.as_str()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("web01", "web01", "ops"),
            ("web02", "web02", "ops"),
            ("web03", "web03", "ops"),
            ("db1", "db1", "ops")
        ]
    );
    assert!(
        !inventory.hosts[0].explicit.addr,
        "ssh_config's HostName applies"
    );
    assert!(inventory.groups.is_empty());
    assert!(inventory.fleet().tag_names().is_empty());
    assert_eq!(inventory.path, PathBuf::from("-w 'web[01-03]' -w 'db1'"));
    let error = Inventory::from_nodesets(&["web[01-".into()], &overrides)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("-w: \"web[01-\" is not a valid nodeset"),
        "{error}"
    );

    let scratch = Scratch::new();
    let inventory = scratch
        .load_as(
            "hosts",
            "[web]\nweb[1:4]\n[db]\ndb1\n",
            &Overrides::default(),
        )
        .unwrap();
    let picked = inventory
        .clone()
        .restrict(&["web[3-4],db1".to_string()])
        .unwrap();
    let names: Vec<&str> = picked.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["web3", "web4", "db1"]);
    assert_eq!(picked.groups["web"], ["web3", "web4"]);
    assert_eq!(picked.groups["db"], ["db1"]);
    assert_eq!(inventory.clone().restrict(&[]).unwrap(), inventory);
    let error = inventory
        .restrict(&["web[4-6]".to_string()])
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "-w: hosts web5, web6 are not in the inventory {}: with an inventory, -w picks \
             among its hosts; leave out --inventory to reach hosts by name",
            scratch.dir.path().join("hosts").display()
        )
    );
}

/// Issue 20: group_vars/ and host_vars/ beside an inventory apply as
/// Ansible applies them, and a bad file is an error naming it.
#[test]
fn group_vars_and_host_vars_beside_a_file_apply_and_bad_ones_name_the_file() {
    let scratch = Scratch::new();
    let write = |name: &str, text: &str| {
        let path = scratch.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("group_vars/all.yml", "role: any\nansible_user: deploy\n");
    write("group_vars/web/10.yml", "role: web\nport_app: 80\n");
    write("group_vars/web/20.json", "{\"port_app\": 8080}\n");
    write("host_vars/web2", "ansible_host: 10.0.0.2\nrole: canary\n");
    let ini = "[web]\nweb1 role=own\nweb2\n[db]\ndb1\n";
    let inventory = scratch
        .load_as("hosts", ini, &Overrides::default())
        .unwrap();
    let tag = |i: usize, tag: &str| inventory.hosts[i].tags[tag].clone();
    // The host's own inventory var beats group_vars; host_vars beat both.
    assert_eq!(
        (tag(0, "role"), tag(1, "role"), tag(2, "role")),
        ("own".into(), "canary".into(), "any".into())
    );
    assert_eq!(tag(0, "port_app"), "8080");
    assert_eq!(inventory.hosts[1].addr, "10.0.0.2");
    assert!(inventory.hosts[1].explicit.addr);
    assert_eq!(inventory.hosts[2].user, "deploy");
    assert!(!inventory.hosts[2].explicit.user);

    let path = |name: &str| scratch.dir.path().join(name).display().to_string();
    write("group_vars/db.yml", "role: db\n  bad: indentation\n");
    let error = scratch
        .load_as("hosts", ini, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!("inventory {}:2:", path("group_vars/db.yml"))),
        "{error}"
    );

    write("group_vars/db.yml", "- a\n- list\n");
    let error = scratch
        .load_as("hosts", ini, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "inventory {}: a vars file must be a mapping of variable names to values, not a list",
            path("group_vars/db.yml")
        )),
        "{error}"
    );

    write("group_vars/db.yml", "$ANSIBLE_VAULT;1.1;AES256\n6162\n");
    let error = scratch
        .load_as("hosts", ini, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("encrypted with ansible-vault"), "{error}");

    write("group_vars/db.yml", "ansible_port: 0\n");
    let error = scratch
        .load_as("hosts", ini, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "inventory {}: ansible_port: `0` is not a port (1 to 65535)",
            path("group_vars/db.yml")
        )),
        "{error}"
    );

    std::fs::remove_file(scratch.dir.path().join("group_vars/db.yml")).unwrap();
    std::fs::create_dir(scratch.dir.path().join("group_vars/db.yml")).unwrap();
    std::fs::write(scratch.dir.path().join("group_vars/db.yml/x.yml"), "a: 1\n").unwrap();
    let unreadable = scratch.dir.path().join("group_vars/db.yml");
    std::fs::set_permissions(
        &unreadable,
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    // Root reads any directory: only check where permissions bind.
    if std::fs::read_dir(&unreadable).is_err() {
        let error = scratch
            .load_as("hosts", ini, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("inventory {}: ", path("group_vars/db.yml"))),
            "{error}"
        );
    }
    std::fs::set_permissions(
        &unreadable,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
}
