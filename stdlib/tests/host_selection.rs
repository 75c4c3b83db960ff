//! Host selections (`hosts @web & @us-east-1a ! web01, ~ /^db/`), `hosts from
//! ssh_config` and the `groups` column, against a fleet built here whose
//! groups overlap the way real ones do.

mod common;

use common::col;
use indexmap::IndexMap;
use shoal_stdlib::example_fleet::ScriptedExecutor;
use shoal_stdlib::fleet::{Fleet, FleetHost};
use shoal_stdlib::frame::column_names;
use shoal_stdlib::{DataFrame, Session};

/// The columns of a host table of this fleet, whose one tag is `role`.
const HOST_COLUMNS: [&str; 4] = ["host", "addr", "groups", "role"];

fn host(name: &str) -> FleetHost {
    FleetHost {
        name: name.to_string(),
        addr: format!("{name}.example"),
        tags: IndexMap::from([("role".to_string(), "node".to_string())]),
    }
}

fn names(list: &str) -> Vec<String> {
    shoal_lang::parse_nodeset(list).unwrap().iter().collect()
}

/// web[01-12], db[1-3], three named databases and cache01, in that
/// inventory order; groups listed in the order of `GROUPS`.
fn fleet() -> Fleet {
    const GROUPS: [(&str, &str); 6] = [
        ("web", "web[01-12]"),
        ("db", "db[1-3]"),
        ("prod", "web[01-04],db1,db-east-prod,db-west-prod"),
        ("us-east-1a", "db[1-3]"),
        ("us-east-1b", "web[01-06]"),
        ("canary", "web[01-02]"),
    ];
    let mut hosts: Vec<FleetHost> = names("web[01-12]").iter().map(|n| host(n)).collect();
    hosts.extend(
        [
            "db1",
            "db2",
            "db3",
            "db-east-prod",
            "db-west-prod",
            "db-east-dev",
            "cache01",
        ]
        .map(host),
    );
    Fleet {
        hosts,
        groups: GROUPS
            .iter()
            .map(|(name, members)| (name.to_string(), names(members)))
            .collect(),
        ssh_config: Vec::new(),
    }
}

fn eval_on(fleet: Fleet, query: &str) -> Result<DataFrame, String> {
    common::eval_in(&mut Session::new(fleet), &ScriptedExecutor, query)
}

fn hosts(query: &str) -> Vec<String> {
    col(
        &eval_on(fleet(), query).unwrap_or_else(|e| panic!("{e}")),
        "host",
    )
}

fn fails(query: &str) -> String {
    eval_on(fleet(), query).expect_err(query)
}

/// Checks that each query selects exactly these hosts in this order, written
/// as nodesets separated by blanks: `"web[01-02] db1"`.
fn assert_selects(cases: &[(&str, &str)]) {
    for (query, expected) in cases {
        let expected: Vec<String> = expected.split_whitespace().flat_map(names).collect();
        assert_eq!(hosts(query), expected, "{query}");
    }
}

#[test]
fn intersection_difference_union_and_regex_select_the_expected_hosts() {
    assert_selects(&[
        ("hosts @web & @us-east-1b", "web[01-06]"),
        ("hosts @web ! web[01-10]", "web[11-12]"),
        ("hosts @db, @canary", "web[01-02] db[1-3]"),
        ("hosts ~ /^db-.*-prod$/", "db-east-prod db-west-prod"),
        // Unanchored, as `filter host ~ /re/`.
        ("hosts ~ /east/", "db-east-prod db-east-dev"),
        ("hosts @prod ! ~ /^web/", "db1 db-east-prod db-west-prod"),
    ]);
}

#[test]
fn operators_apply_left_to_right_like_clustershell() {
    assert_selects(&[
        // (@web ! web01), web01: web01 is back.
        ("hosts @web ! web01, web01", "web[01-12]"),
        // (@db, @web) & @canary, not @db, (@web & @canary).
        ("hosts @db, @web & @canary", "web[01-02]"),
        ("hosts @web ! web[03-12], @db", "web[01-02] db[1-3]"),
    ]);
}

#[test]
fn blanks_around_operators_are_optional_and_a_nodeset_keeps_its_commas() {
    assert_selects(&[
        ("hosts @web&@canary", "web[01-02]"),
        ("hosts @canary,@db", "web[01-02] db[1-3]"),
        ("hosts @canary , @db", "web[01-02] db[1-3]"),
        ("hosts web01, @db", "web01 db[1-3]"),
        ("hosts web01,@db", "web01 db[1-3]"),
        // The nodeset `web[01-03],db1` is one operand.
        ("hosts web[01-03],db1 & @prod", "web[01-03] db1"),
        ("hosts web[01-03],db2 & @prod", "web[01-03]"),
    ]);
}

#[test]
fn results_keep_inventory_order_with_each_host_once() {
    assert_selects(&[
        ("hosts @db, @canary, web02, db1", "web[01-02] db[1-3]"),
        (
            "hosts cache01, ~ /prod/, web12",
            "web12 db-east-prod db-west-prod cache01",
        ),
    ]);
}

#[test]
fn a_selection_that_selects_no_host_shows_what_each_part_matched() {
    assert_eq!(
        fails("hosts @web & @us-east-1a"),
        "\
error: `hosts @web & @us-east-1a` selects no host: `@web` matched 12 (web[01-12]), `@us-east-1a` matched 3 (db[1-3]); their intersection is empty
 --> 1:7
  |
1 | hosts @web & @us-east-1a
  |       ^^^^^^^^^^^^^^^^^^
  = hint: `:hosts` lists the inventory and its groups
"
    );
    for (query, reason) in [
        (
            "hosts @canary ! web[01-02]",
            "`web[01-02]` matched 2 (web[01-02]); their difference is empty",
        ),
        (
            "hosts @web & @us-east-1b ! @us-east-1b, ~ /^nothing/",
            "`~ /^nothing/` matched 0; `! @us-east-1b` leaves no host",
        ),
        (
            "hosts ~ /^nothing/ & @web",
            "`~ /^nothing/` matched 0, `@web` matched 12 (web[01-12]); nothing is selected before `& @web`",
        ),
        (
            "hosts ~ /^x/, ~ /^y/",
            "`~ /^x/` matched 0, `~ /^y/` matched 0; none of them matches a host",
        ),
        (
            "hosts ~ /^nothing/",
            "`hosts ~ /^nothing/` selects no host: no host name in the inventory matches `~ /^nothing/`",
        ),
    ] {
        let error = fails(query);
        assert!(error.contains(reason), "{error}");
    }
}

#[test]
fn long_host_lists_in_the_message_are_cut_with_a_count() {
    let mut fleet = fleet();
    let letters: Vec<String> = ('a'..='z').map(|c| format!("node-{c}")).collect();
    fleet.hosts.extend(letters.iter().map(|n| host(n)));
    let error = eval_on(fleet, "hosts ~ /^node-/ & @web").unwrap_err();
    assert!(
        error.contains("`~ /^node-/` matched 26 (node-a,node-b,node-c,node-d,node-e,node-f,node-g,node-h and 18 more)"),
        "{error}"
    );
}

#[test]
fn unknown_groups_and_hosts_in_a_selection_point_at_their_operand() {
    let error = fails("hosts @web & @canry");
    assert!(
        error.contains("unknown group `@canry`") && error.contains("did you mean '@canary'?"),
        "{error}"
    );
    assert!(error.contains("  |              ^^^^^^\n"), "{error}");
    // As `hosts web13` alone: a name outside the inventory is an error.
    let error = fails("hosts @web, web[12-13]");
    assert!(error.contains("not in the inventory: web13"), "{error}");
    assert!(error.contains("  |             ^^^^^^^^^^\n"), "{error}");
}

#[test]
fn the_groups_column_lists_each_hosts_groups_in_inventory_group_order() {
    let df = eval_on(fleet(), "hosts web01, db1, cache01").unwrap();
    assert_eq!(column_names(&df), HOST_COLUMNS);
    assert_eq!(
        col(&df, "groups"),
        ["web,prod,us-east-1b,canary", "db,prod,us-east-1a", ""]
    );
    assert_eq!(
        hosts("hosts | filter groups ~ /(^|,)canary(,|$)/"),
        ["web01", "web02"]
    );
}

#[test]
fn hosts_from_ssh_config_are_its_concrete_hosts_in_file_order() {
    let mut fleet = fleet();
    fleet.ssh_config = vec![host("bastion"), host("web03")];
    let df = eval_on(fleet, "hosts from ssh_config").unwrap();
    assert_eq!(col(&df, "host"), ["bastion", "web03"]);
    assert_eq!(col(&df, "groups"), ["", "web,prod,us-east-1b"]);
    assert_eq!(column_names(&df), HOST_COLUMNS);
}

#[test]
fn an_ssh_config_without_concrete_hosts_is_an_error() {
    assert_eq!(
        fails("hosts from ssh_config | run \"uptime\""),
        "\
error: no concrete Host entries in ssh_config, so `hosts from ssh_config` selects no host
 --> 1:1
  |
1 | hosts from ssh_config | run \"uptime\"
  | ^^^^^^^^^^^^^^^^^^^^^
  = hint: a `Host` pattern with `*`, `?` or `!` (`Host *.internal`) matches hosts but names none
  = hint: `-F FILE` picks another ssh_config
"
    );
}
