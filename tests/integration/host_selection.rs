//! Host selection with set algebra (`&`, `!`, `,`, `~ /re/`) on a real fleet: an Ansible
//! inventory whose hosts are named like a real estate (`web-01-prod`, `db-02-staging`) and
//! reach real sshd servers; each selection runs `hostname` and must reach exactly the hosts
//! expected, in inventory order, each answering as the server behind it.

use std::fmt::Write as _;

use shoal_runtime::inventory::Overrides;
use shoal_stdlib::Quiet;

use crate::support::{Client, FleetSpec, SshdFleet};

/// Inventory names, in inventory order, and the groups each is in (besides web/db).
const HOSTS: [&str; 5] = [
    "web-01-prod",
    "web-02-prod",
    "web-03-staging",
    "db-01-prod",
    "db-02-staging",
];

fn client(fleet: &SshdFleet) -> Client {
    let node = |i: usize| format!("{} ansible_host={}", HOSTS[i], fleet.hosts()[i].addr);
    let mut ini = String::new();
    let _ = writeln!(ini, "[web]\n{}\n{}\n{}", node(0), node(1), node(2));
    let _ = writeln!(ini, "[db]\n{}\n{}", node(3), node(4));
    let _ = writeln!(ini, "[us-east-1a]\nweb-01-prod\ndb-01-prod\nweb-03-staging");
    let _ = writeln!(ini, "[all:vars]\nansible_user={}", fleet.user());
    let path = fleet.dir().join("estate.ini");
    std::fs::write(&path, ini).unwrap();
    Client::load(
        &path,
        &Overrides {
            identity_files: vec![fleet.client_key().to_path_buf()],
            known_hosts: Some(fleet.known_hosts().to_path_buf()),
            ..Overrides::default()
        },
    )
}

/// The hosts `hosts SELECTION | run "hostname"` reached, each checked to be `ok` and to
/// have answered from its own server.
fn reached(client: &Client, fleet: &SshdFleet, selection: &str) -> Vec<String> {
    let mut session = client.session();
    let rows = client.query(
        &mut session,
        &format!("hosts {selection} | run \"hostname\""),
    );
    let column = |name: &str| shoal_stdlib::frame::texts(rows.column(name).unwrap()).unwrap();
    let (hosts, statuses, stdouts) = (column("host"), column("status"), column("stdout"));
    hosts
        .into_iter()
        .zip(statuses.into_iter().zip(stdouts))
        .map(|(host, (status, stdout))| {
            let host = host.unwrap();
            let index = HOSTS.iter().position(|h| *h == host).unwrap();
            assert_eq!(status.as_deref(), Some("ok"), "{selection}: {host}");
            assert_eq!(stdout, Some(fleet.hosts()[index].name.clone()), "{host}");
            host
        })
        .collect()
}

#[test]
fn set_algebra_selects_exactly_the_expected_hosts() {
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS.len()));
    let client = client(&fleet);
    let cases: [(&str, &[&str]); 6] = [
        ("@web & @us-east-1a", &["web-01-prod", "web-03-staging"]),
        ("@web ! web-[01-02]-prod", &["web-03-staging"]),
        ("@web, @db", &HOSTS),
        ("@db, @web", &HOSTS),
        ("~ /^db-.*-prod$/", &["db-01-prod"]),
        (
            "@us-east-1a ! ~ /staging/, db-02-staging",
            &["web-01-prod", "db-01-prod", "db-02-staging"],
        ),
    ];
    for (selection, expected) in cases {
        assert_eq!(reached(&client, &fleet, selection), expected, "{selection}");
    }
}

#[test]
fn an_empty_selection_is_an_error_that_shows_what_each_part_matched() {
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS.len()));
    let client = client(&fleet);
    let mut session = client.session();
    let query = "hosts @db & ~ /^web/ | run \"hostname\"";
    let plan = shoal_stdlib::compile(query).unwrap();
    let error = session
        .eval(&plan.statements[0], &client.executor, &mut Quiet)
        .unwrap_err();
    let message = error.render(query, false);
    assert!(
        message.contains(
            "`hosts @db & ~ /^web/` selects no host: `@db` matched 2 (db-01-prod,db-02-staging)"
        ),
        "{message}"
    );
    // Nothing ran anywhere.
    assert!(
        (0..HOSTS.len()).all(|i| fleet.accepted_connections(i) == 0),
        "a host was contacted"
    );
}
