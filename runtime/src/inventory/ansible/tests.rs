//! Ansible inventory tests: one fleet written in INI, YAML and JSON reads the
//! same; then children, variable precedence, the `ansible_*` mapping and
//! errors with their places, per form.

use std::path::Path;

use indexmap::IndexMap;

use super::*;
use crate::inventory::Explicit;

fn read(reader: fn(Source) -> InventoryResult<Read>, text: &str) -> InventoryResult<Read> {
    reader(Source {
        path: Path::new("inv"),
        text,
    })
}

fn ini(text: &str) -> Read {
    read(read_ini, text).unwrap_or_else(|e| panic!("{e}"))
}

fn error(reader: fn(Source) -> InventoryResult<Read>, text: &str) -> String {
    read(reader, text).unwrap_err().to_string()
}

const INI: &str = r#"
# the fleet
bastion ansible_host=10.0.0.1

[web]
web[01:02] ansible_user=deploy   # ranges keep their padding
web03:2222 role="canary"

[db]
db-[a:b]

[prod:children]
web
db

[prod:vars]
ansible_port=2200
env = "production"   ; a comment

[all:vars]
ansible_user=ops
ansible_port=22
ansible_python_interpreter=/usr/bin/python3
owner=infra
"#;

const YAML: &str = r#"
all:
  hosts:
    bastion: {ansible_host: 10.0.0.1}
  vars:
    ansible_user: ops
    ansible_port: 22
    ansible_python_interpreter: /usr/bin/python3
    owner: infra
  children:
    web:
      hosts:
        web[01:02]: {ansible_user: deploy}
        web03: {ansible_port: 2222, role: canary}
    db:
      hosts:
        db-[a:b]:
    prod:
      children:
        web:
        db:
      vars: {ansible_port: 2200, env: production}
"#;

const JSON: &str = r#"{
  "all": {"children": ["ungrouped", "web", "db", "prod"],
          "vars": {"ansible_port": 22, "ansible_python_interpreter": "/usr/bin/python3",
                   "ansible_user": "ops", "owner": "infra"}},
  "ungrouped": {"hosts": ["bastion"]},
  "web": {"hosts": ["web01", "web02", "web03"]},
  "db": ["db-a", "db-b"],
  "prod": {"children": ["web", "db"], "vars": {"ansible_port": 2200, "env": "production"}},
  "_meta": {"hostvars": {"bastion": {"ansible_host": "10.0.0.1"},
                         "web01": {"ansible_user": "deploy"},
                         "web02": {"ansible_user": "deploy"},
                         "web03": {"ansible_port": 2222, "role": "canary"}}}
}"#;

fn tags(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn written(
    name: &str,
    addr: Option<&str>,
    (port, port_explicit): (u16, bool),
    (user, user_explicit): (&str, bool),
    tags: IndexMap<String, String>,
) -> Written {
    Written {
        name: name.into(),
        addr: addr.map(str::to_string),
        port: Some(port),
        user: Some(user.into()),
        explicit: Explicit {
            addr: addr.is_some(),
            port: port_explicit,
            user: user_explicit,
            identity_files: false,
        },
        tags,
        identity_file: None,
    }
}

#[test]
fn one_fleet_in_ini_yaml_and_json_reads_the_same() {
    let owner = ("owner", "infra");
    let env = ("env", "production");
    let expected = vec![
        written(
            "bastion",
            Some("10.0.0.1"),
            (22, false),
            ("ops", false),
            tags(&[owner]),
        ),
        written(
            "web01",
            None,
            (2200, true),
            ("deploy", true),
            tags(&[owner, env]),
        ),
        written(
            "web02",
            None,
            (2200, true),
            ("deploy", true),
            tags(&[owner, env]),
        ),
        written(
            "web03",
            None,
            (2222, true),
            ("ops", false),
            tags(&[owner, env, ("role", "canary")]),
        ),
        written(
            "db-a",
            None,
            (2200, true),
            ("ops", false),
            tags(&[owner, env]),
        ),
        written(
            "db-b",
            None,
            (2200, true),
            ("ops", false),
            tags(&[owner, env]),
        ),
    ];
    for (form, reader, text) in [
        ("INI", read_ini as fn(Source) -> InventoryResult<Read>, INI),
        ("YAML", read_yaml, YAML),
        ("JSON", read_json, JSON),
    ] {
        let read = read(reader, text).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(read.hosts, expected, "{form}");
        let groups: Vec<(&str, Vec<&str>)> = read
            .groups
            .iter()
            .map(|(g, m)| (g.as_str(), m.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            groups,
            [
                ("web", vec!["web01", "web02", "web03"]),
                ("db", vec!["db-a", "db-b"]),
                ("prod", vec!["web01", "web02", "web03", "db-a", "db-b"]),
            ],
            "{form}: children's hosts are their parents', and all/ungrouped are no groups"
        );
    }
}

#[test]
fn children_beat_parents_and_hosts_beat_groups() {
    let read = ini("
[parent:children]
child
[child]
h1
h2 color=host
[parent:vars]
color=parent
size=parent
[child:vars]
color=child
[all:vars]
color=all
size=all
shape=all
[z_peer]
h1
[z_peer:vars]
size=z
[a_peer]
h1
[a_peer:vars]
size=a
");
    let tags_of = |i: usize| &read.hosts[i].tags;
    // parent, a_peer and z_peer are all one below `all`: by name, z_peer last.
    assert_eq!(
        tags_of(0),
        &tags(&[("color", "child"), ("size", "z"), ("shape", "all")])
    );
    assert_eq!(
        tags_of(1),
        &tags(&[("color", "host"), ("size", "parent"), ("shape", "all")])
    );
}

#[test]
fn grandchildren_count_and_depth_is_the_deepest_path() {
    let read = ini("
[a:children]
b
[b:children]
c
[c]
h1
[a:vars]
level=a
[b:vars]
level=b
[c:vars]
level=c
[top:children]
c
[top:vars]
level=top
");
    assert_eq!(read.groups["a"], ["h1"]);
    // `c` is under `top` too, but its depth is 3 through a → b: its vars win.
    assert_eq!(read.hosts[0].tags["level"], "c");
}

#[test]
fn old_ssh_names_map_too_and_other_ansible_vars_are_dropped() {
    let read = ini(
        "h1 ansible_ssh_host=10.1.1.1 ansible_ssh_port=2022 ansible_ssh_user=root \
                    ansible_connection=ssh ansible_become=true note='two words' empty=\n",
    );
    let host = &read.hosts[0];
    assert_eq!(host.addr.as_deref(), Some("10.1.1.1"));
    assert_eq!(host.port, Some(2022));
    assert_eq!(host.user.as_deref(), Some("root"));
    assert_eq!(host.tags, tags(&[("note", "two words"), ("empty", "")]));
}

#[test]
fn a_host_alias_beats_a_group_name_of_the_same_variable() {
    let read = ini("[web]\nh1 ansible_ssh_host=10.0.0.9\n[web:vars]\nansible_host=10.0.0.1\n");
    assert_eq!(read.hosts[0].addr.as_deref(), Some("10.0.0.9"));
}

#[test]
fn yaml_values_of_any_shape_become_tag_text() {
    let read = read(
        read_yaml,
        "all:\n  hosts:\n    h1:\n      n: 3\n      ok: true\n      none: null\n      \
         list: [a, 1]\n      map: {k: v}\n      no: no\n",
    )
    .unwrap();
    assert_eq!(
        read.hosts[0].tags,
        tags(&[
            ("n", "3"),
            ("ok", "true"),
            ("none", ""),
            ("list", r#"["a",1]"#),
            ("map", r#"{"k":"v"}"#),
            ("no", "no"),
        ])
    );
}

#[test]
fn a_cycle_of_children_is_an_error_that_names_it() {
    assert_eq!(
        error(
            read_ini,
            "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n"
        ),
        "inventory inv:6:1: group \"a\" contains itself through its children: a → b → c → a"
    );
    assert_eq!(
        error(
            read_yaml,
            "all:\n  children:\n    a:\n      children:\n        a:\n"
        ),
        "inventory inv: all.children.a.children.a: group \"a\" contains itself through \
         its children: a → a"
    );
    assert_eq!(
        error(
            read_json,
            r#"{"x": {"children": ["y"]}, "y": {"children": ["x"]}}"#
        ),
        "inventory inv: y.children: group \"x\" contains itself through its children: x → y → x"
    );
}

#[test]
fn ini_errors_point_at_line_and_column() {
    let cases = [
        (
            "[web]\nweb1 ansible_port=http\n",
            "inv:2:19: ansible_port: `http` is not a port (1 to 65535)",
        ),
        ("web1 role=\"front\n", "inv:1:11: this \" is never closed"),
        (
            "\n  [web:child]\n",
            "inv:2:3: `[web:child]`: unknown section kind `child`; write [web], \
             [web:vars] or [web:children]",
        ),
        ("[web\n", "inv:1:1: a section header needs its closing `]`"),
        (
            "[my group]\n",
            "inv:1:1: `[my group]` needs a group name without spaces",
        ),
        (
            "web1 oops\n",
            "inv:1:6: expected `key=value` after the host name, found `oops`",
        ),
        (
            "[web]\nweb[3:1]\n",
            "inv:2:1: `[3:1]`: the range ends before it begins",
        ),
        (
            "[web:vars]\njust words\n",
            "inv:2:1: [web:vars]: expected `key=value`, found `just words`",
        ),
        (
            "[web:children]\na b\n",
            "inv:2:3: `b`: [web:children] takes one group name per line",
        ),
        (
            "[web+1]\nh1\n",
            "inv:1:2: group \"web+1\" cannot be named in a query: `@` takes letters, \
             digits, `_`, `.` and `-`; rename the group",
        ),
        (
            "web1 ansible_user=\n",
            "inv:1:19: ansible_user: cannot be empty",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            error(read_ini, text),
            format!("inventory {expected}"),
            "{text}"
        );
    }
    // Issue 20: a group Ansible would not know is refused, as Ansible
    // refuses the file, at the line that names it.
    assert_eq!(
        error(read_ini, "[web]\nweb1\n[prod:children]\nweb\nnosuch\n"),
        "inventory inv:5:1: [prod:children] names the group `nosuch`, which this inventory \
         never declares; add a [nosuch] section (Ansible refuses this file too)"
    );
    assert_eq!(
        error(read_ini, "[web]\nweb1\n[ghost:vars]\nx=1\n"),
        "inventory inv:3:2: [ghost:vars] sets variables of the group `ghost`, which this \
         inventory never declares; add a [ghost] section (Ansible refuses this file too)"
    );
    // Declared later, or as a parent, is declared.
    let read = ini("[prod:children]\nweb\n[web:vars]\nx=1\n[web]\nweb1\n[all:vars]\ny=2\n");
    assert_eq!(read.groups["prod"], ["web1"]);
    let conflict = error(read_ini, "web1 status=up var_status=down\n");
    assert!(
        conflict.contains(
            "`status` is one of shoal's columns, so shoal keeps it as the tag \
             `var_status`, but `var_status` is set too"
        ),
        "{conflict}"
    );
}

/// Issue 20: a variable named like a column of shoal's is kept as
/// `var_NAME`, listed under its own name, and named in one warning.
#[test]
fn variables_named_like_columns_become_var_tags() {
    let renamed = ini("[web]\nweb1 status=up exit=0\nweb2 status=down\n");
    assert_eq!(renamed.hosts[0].tags["var_status"], "up");
    assert_eq!(renamed.hosts[0].tags["var_exit"], "0");
    assert!(!renamed.hosts[0].tags.contains_key("status"));
    assert_eq!(
        renamed.renamed.iter().collect::<Vec<_>>(),
        ["status", "exit"]
    );
    let listing = renamed.listing.unwrap();
    assert_eq!(listing.hostvars["web1"]["status"], "up");
    assert_eq!(listing.hostvars["web1"]["exit"], 0);
    let yaml = read(read_yaml, "all:\n  vars: {host: x}\n  hosts: {h1: }\n").unwrap();
    assert_eq!(yaml.hosts[0].tags["var_host"], "x");
}

/// Issue 20: `ansible_group_priority` orders groups of one depth (higher
/// wins, default 1) and is no variable of the hosts.
#[test]
fn group_priority_orders_groups_of_one_depth() {
    let text = "[zeta]\nh1\n[alpha]\nh1\n[zeta:vars]\ncolor=zeta\n\
                [alpha:vars]\ncolor=alpha\nansible_group_priority=10\n";
    let read = ini(text);
    assert_eq!(read.hosts[0].tags["color"], "alpha");
    assert!(!read.listing.unwrap().hostvars["h1"].contains_key("ansible_group_priority"));
    // Without it, by name: zeta after alpha.
    let read = ini(&text.replace("ansible_group_priority=10\n", ""));
    assert_eq!(read.hosts[0].tags["color"], "zeta");
    // Depth still comes first: a child beats a parent of any priority.
    let read = ini("[kid]\nh1\n[parent:children]\nkid\n[kid:vars]\nc=kid\n\
         [parent:vars]\nc=parent\nansible_group_priority=99\n");
    assert_eq!(read.hosts[0].tags["c"], "kid");
    assert_eq!(
        error(read_ini, "[a]\nh1\n[a:vars]\nansible_group_priority=high\n"),
        "inventory inv:4:24: ansible_group_priority: `high` is not a whole number"
    );
}

/// INI values are read as Ansible's literal_eval reads the simple ones.
#[test]
fn ini_values_are_python_literals() {
    let read =
        ini("h1 n=22 f=1.5 t=True no=None z=007 q='True'\n[all:vars]\ns=\"True\"\nb=False\n");
    let vars = &read.listing.unwrap().hostvars["h1"];
    assert_eq!(vars["n"], 22);
    assert_eq!(vars["f"], 1.5);
    assert_eq!(vars["t"], true);
    assert_eq!(vars["no"], serde_json::Value::Null);
    assert_eq!(vars["z"], "007");
    // The host line is unquoted first, as Ansible's shlex does.
    assert_eq!(vars["q"], true);
    assert_eq!(vars["s"], "True");
    assert_eq!(vars["b"], false);
    assert_eq!(read.hosts[0].tags["t"], "true");
    assert_eq!(read.hosts[0].tags["no"], "");
}

#[test]
fn yaml_errors_give_the_line_or_the_keys() {
    let typo = error(
        read_yaml,
        "all:\n  children:\n    web:\n      host:\n        web1:\n",
    );
    assert!(
        typo.starts_with(
            "inventory inv:4:7: all.children.web: unknown field `host`, expected one of"
        ),
        "{typo}"
    );
    assert_eq!(
        error(read_yaml, "all:\n  hosts:\n    web1: {ansible_port: 0}\n"),
        "inventory inv: all.hosts.web1: ansible_port: `0` is not a port (1 to 65535)"
    );
    assert_eq!(
        error(read_yaml, "web:\n  hosts:\n    \"w[1:0]\":\n"),
        "inventory inv: web.hosts.w[1:0]: `[1:0]`: the range ends before it begins"
    );
    assert_eq!(
        error(read_yaml, "all: [web1]\n"),
        "inventory inv:1:6: all: invalid type: sequence, expected a group: a mapping of hosts, \
         vars and children"
    );
    let syntax = error(read_yaml, "all:\n  hosts: {web1\n");
    assert!(syntax.starts_with("inventory inv:3:1: "), "{syntax}");
}

#[test]
fn json_errors_give_the_line_or_the_keys() {
    let syntax = error(read_json, "{\"all\": {\"hosts\": [\"a\",]}}");
    assert!(
        syntax.starts_with("inventory inv:1:24: trailing comma"),
        "{syntax}"
    );
    assert_eq!(
        error(read_json, r#"{"web": {"hosts": "a"}}"#),
        "inventory inv: web.hosts: expected a list of names"
    );
    assert_eq!(
        error(read_json, r#"{"web": {"host": []}}"#),
        "inventory inv: web.host: unknown key `host`: a group has hosts, vars and children"
    );
    assert_eq!(
        error(read_json, r#"{"web": 3}"#),
        "inventory inv: web: expected a group: an object of hosts, vars and children, \
         or a list of hosts"
    );
    assert_eq!(
        error(
            read_json,
            r#"{"_meta": {"hostvars": {"h": {"ansible_port": "x"}}}}"#
        ),
        "inventory inv: _meta.hostvars.h: ansible_port: `x` is not a port (1 to 65535)"
    );
}

#[test]
fn hostvars_alone_still_make_hosts() {
    let read = read(
        read_json,
        r#"{"_meta": {"hostvars": {"lonely": {"rack": "r1"}}}, "all": {"hosts": ["a"]}}"#,
    )
    .unwrap();
    let names: Vec<&str> = read.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["a", "lonely"]);
    assert_eq!(read.hosts[1].tags, tags(&[("rack", "r1")]));
    assert!(read.groups.is_empty());
}

#[test]
fn a_big_range_loads_without_quadratic_work() {
    // Found by fuzzing: each host used to be checked against every member of its
    // group, so a million-host range took hours; the largest allowed took minutes.
    let read = crate::inventory::Inventory::from_text(
        "[big]\nn[1:100000]\n",
        std::path::Path::new("big.ini"),
        &crate::inventory::Overrides {
            user: Some("u".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(read.hosts.len(), 100_000);
    assert_eq!(read.groups["big"].len(), 100_000);
}

#[test]
fn ranges_may_not_take_the_inventory_past_its_bound() {
    let mut model = Model::default();
    assert_eq!(model.room_for(100_000), Ok(()));
    model.host("first");
    assert_eq!(
        model.room_for(100_000),
        Err("the inventory would name more than 100000 hosts".to_string())
    );
}

#[test]
fn a_private_key_var_is_the_hosts_key_and_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/deploy"), "").unwrap();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/web"), "").unwrap();
    let env = crate::inventory::paths::Env {
        home: Some(home.clone()),
        user: Some("me".into()),
        cwd: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let load = |text: &str| {
        let path = dir.path().join("inventories/prod/hosts");
        crate::inventory::from_text(
            Source { path: &path, text },
            &crate::inventory::Overrides::default(),
            &env,
        )
    };
    let inventory = load(
        "web1 ansible_ssh_private_key_file=~/.ssh/deploy\nweb2\n\
         [web]\nweb2\n[web:vars]\nansible_private_key_file=keys/web\n",
    )
    .unwrap();
    assert_eq!(
        inventory.hosts[0].identity_files,
        [home.join(".ssh/deploy")]
    );
    assert!(inventory.hosts[0].explicit.identity_files);
    assert_eq!(
        inventory.hosts[1].identity_files,
        [dir.path().join("keys/web")],
        "relative to the working directory, as Ansible's ssh reads it"
    );

    let error = load("web1\nweb2 ansible_private_key_file=keys/missing\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "hosts:2:31: ansible_private_key_file: {} does not exist",
            dir.path().join("keys/missing").display()
        )),
        "{error}"
    );
    let error = load("all:\n  vars:\n    ansible_ssh_private_key_file: \"{{ inventory_dir }}/k\"\n  hosts:\n    web1:\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "all.vars: ansible_private_key_file: `{{ inventory_dir }}/k` is a Jinja template"
        ),
        "{error}"
    );
}
