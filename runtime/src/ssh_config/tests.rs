use std::path::PathBuf;
use std::time::Duration;

use super::tokens::{Accepts, Remote, expand, expand_path};
use super::*;

/// Writes `text` as `~/.ssh/config` of the home `dir` and reads it.
fn config(dir: &Path, text: &str) -> SshConfig {
    try_config(dir, text).unwrap()
}

fn try_config(dir: &Path, text: &str) -> Result<SshConfig, SshConfigError> {
    let ssh = dir.join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("config"), text).unwrap();
    SshConfig::load(None, Some(dir))
}

fn local(home: &Path) -> Local {
    Local {
        user: Some("me".into()),
        home: Some(home.to_path_buf()),
        uid: 1000,
        host_name: "box.example.com".into(),
    }
}

fn query(host: &str) -> Query<'_> {
    Query {
        host,
        user: None,
        port: None,
        jumped: false,
        default_user: "me",
    }
}

/// What `config` says about `host`, which must resolve.
fn host(config: &SshConfig, home: &Path, host: &str) -> HostConfig {
    config.resolve(&query(host), &local(home)).unwrap()
}

fn value<T: Clone>(set: &Option<Located<T>>) -> Option<T> {
    set.as_ref().map(|s| s.value.clone())
}

fn line<T>(set: &Option<Located<T>>) -> usize {
    set.as_ref().expect("a value").at.line
}

fn files(found: &HostConfig) -> Vec<&str> {
    found
        .identity_files
        .iter()
        .map(|f| f.value.as_str())
        .collect()
}

#[test]
fn the_first_value_obtained_wins_even_within_one_block() {
    // Issue 20: a keyword given twice in one Host block kept its last value.
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host web1\n  User first\n  User second\n  Port 2201\n  Port 2299\n\
         Host web* !web02\n  User ops\n  HostName web.example.com\n\
         Host *\n  User nobody\n  Port 22\n",
    );
    let web1 = host(&config, home.path(), "web1");
    assert_eq!(value(&web1.user), Some("first".into()));
    assert_eq!(line(&web1.user), 2);
    assert_eq!((value(&web1.port), line(&web1.port)), (Some(2201), 4));
    assert_eq!(value(&web1.host_name), Some("web.example.com".into()));
    // `!web02` keeps web02 out of the second block.
    let web02 = host(&config, home.path(), "web02");
    assert_eq!(
        (value(&web02.user), value(&web02.port), web02.host_name),
        (Some("nobody".into()), Some(22), None)
    );
    assert_eq!(
        web02.user.unwrap().at.to_string(),
        format!("{} line 10", home.path().join(".ssh/config").display())
    );
}

#[test]
fn identity_files_accumulate_in_order_each_once() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host web1\n  IdentityFile /k/web1\n  IdentityFile /k/shared\n\
         Host web*\n  IdentityFile /k/shared\n  IdentityFile ~/k/%h\n\
         Host none\n  IdentityFile none\n",
    );
    let web1 = host(&config, home.path(), "web1");
    assert_eq!(files(&web1), ["/k/web1", "/k/shared", "~/k/%h"]);
    let lines: Vec<usize> = web1.identity_files.iter().map(|f| f.at.line).collect();
    assert_eq!(lines, [2, 3, 6]);
    // Kept as written: tokens depend on the final user, port and host name.
    assert_eq!(files(&host(&config, home.path(), "none")), ["none"]);
}

#[test]
fn no_file_is_no_config_but_a_named_file_must_exist() {
    let home = tempfile::tempdir().unwrap();
    let none = SshConfig::load(None, Some(home.path())).unwrap();
    assert_eq!(none.path(), None);
    assert_eq!(host(&none, home.path(), "anything"), HostConfig::default());
    assert!(none.concrete_hosts().is_empty());

    let missing = home.path().join("nope");
    let error = SshConfig::load(Some(&missing), Some(home.path())).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "ssh_config {}: cannot read it:",
            missing.display()
        )),
        "{error}"
    );
}

#[test]
fn include_reads_files_under_the_ssh_directory_where_the_line_stands() {
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir_all(ssh.join("conf.d")).unwrap();
    std::fs::write(ssh.join("conf.d/2-db"), "Host db1\n  User second\n").unwrap();
    std::fs::write(
        ssh.join("conf.d/1-db"),
        "Host db1\n  HostName 10.1.0.1\n  User dba\n",
    )
    .unwrap();
    // Inside a Host block: it applies while that block does, its own Host
    // lines match nothing when the block does not, and the block state of
    // the including file comes back after it.
    std::fs::write(
        ssh.join("web.conf"),
        "  Port 2200\nHost *\n  User included\n",
    )
    .unwrap();
    let config = config(
        home.path(),
        "Include conf.d/*\nHost web*\n  Include ~/.ssh/web.conf\n  IdentityFile /k/after\n\
         Host *\n  User everyone\n",
    );
    let db1 = host(&config, home.path(), "db1");
    assert_eq!(
        value(&db1.user),
        Some("dba".into()),
        "glob order, first wins"
    );
    assert_eq!(
        db1.user.unwrap().at.to_string(),
        format!("{} line 3", ssh.join("conf.d/1-db").display())
    );
    assert_eq!(value(&db1.port), None);
    let web1 = host(&config, home.path(), "web1");
    assert_eq!(
        (value(&web1.port), value(&web1.user)),
        (Some(2200), Some("included".into()))
    );
    assert_eq!(files(&web1), ["/k/after"]);
    assert_eq!(config.concrete_hosts(), ["db1"]);
}

#[test]
fn an_include_loop_names_the_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("a"), "# a\nInclude b\n").unwrap();
    std::fs::write(ssh.join("b"), "Include a\n").unwrap();
    let error = try_config(home.path(), "Host x\n  Include a\n").unwrap_err();
    assert_eq!(error.path, ssh.join("b").display().to_string());
    assert_eq!(error.line, Some(1));
    assert!(
        error.reason.starts_with(&format!(
            "`Include` loop: {} includes {} includes {}",
            ssh.join("a").display(),
            ssh.join("b").display(),
            ssh.join("a").display()
        )),
        "{error}"
    );
}

#[test]
fn a_config_others_can_write_is_refused_as_ssh_refuses_it() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(".ssh/config");
    config(home.path(), "Host a\n  User x\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let error = SshConfig::load(None, Some(home.path())).unwrap_err();
    assert!(
        error.reason.starts_with("bad owner or permissions"),
        "{error}"
    );
    // `-F FILE` is not checked, as with ssh -F.
    assert!(SshConfig::load(Some(&path), Some(home.path())).is_ok());
}

#[test]
fn concrete_hosts_skip_patterns_and_repeats() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host bastion web-1 web-?\n  User a\nHost *.prod !db9 web-1\n  Port 2\nHost *\n  Port 3\n",
    );
    assert_eq!(config.concrete_hosts(), ["bastion", "web-1"]);
}

#[test]
fn host_key_and_identity_settings_are_read() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host a\n  StrictHostKeyChecking accept-new\n  IdentitiesOnly yes\n  \
         UserKnownHostsFile /k/one /k/two\n  ConnectTimeout 1m30s\n  CertificateFile /c/%h\n\
         Host b\n  StrictHostKeyChecking no\n  ConnectTimeout none\n\
         Host c\n  StrictHostKeyChecking ask\n\
         Host e\n  UserKnownHostsFile # only a comment: ssh sets nothing\n  UserKnownHostsFile /k/e\n",
    );
    assert_eq!(
        value(&host(&config, home.path(), "e").known_hosts),
        Some(vec!["/k/e".to_string()])
    );
    let a = host(&config, home.path(), "a");
    assert_eq!(value(&a.host_keys), Some(HostKeyPolicy::AcceptNew));
    assert_eq!(value(&a.identities_only), Some(true));
    assert_eq!(
        value(&a.known_hosts),
        Some(vec!["/k/one".to_string(), "/k/two".to_string()])
    );
    assert_eq!(
        value(&a.connect_timeout),
        Some(Some(Duration::from_secs(90)))
    );
    assert_eq!(a.certificate_files[0].value, "/c/%h");
    let b = host(&config, home.path(), "b");
    assert_eq!(value(&b.host_keys), Some(HostKeyPolicy::Off));
    assert_eq!(value(&b.connect_timeout), Some(None));
    // shoal never asks, so `ask` is strict.
    let c = host(&config, home.path(), "c");
    assert_eq!(value(&c.host_keys), Some(HostKeyPolicy::Strict));
    assert_eq!(host(&config, home.path(), "d").host_keys, None);
    assert!(config.unsupported().is_empty());
}

#[test]
fn settings_that_change_where_ssh_connects_block_the_host_and_others_are_named() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host odd\n  HostKeyAlias other\n  ProxyCommand nc %h %p\n\
         Host direct\n  ProxyCommand none\n  ProxyJump ignored\n\
         Host jumps\n  ProxyJump b1\n  ProxyCommand ignored\n\
         Host *\n  ControlMaster auto\n  forwardAgent yes\n  CanonicalizeHostname no\n  \
         IgnoreUnknown Foo\n",
    );
    let odd = host(&config, home.path(), "odd");
    let blocked: Vec<(&str, usize)> = odd
        .blocking
        .iter()
        .map(|b| (b.value.setting.as_str(), b.at.line))
        .collect();
    assert_eq!(
        blocked,
        [("HostKeyAlias other", 2), ("ProxyCommand nc %h %p", 3)]
    );
    // `ProxyCommand none` first: direct, and the ProxyJump after it is ignored.
    let direct = host(&config, home.path(), "direct");
    assert_eq!(value(&direct.proxy), Some(Proxy::Direct));
    assert!(direct.blocking.is_empty());
    // ProxyJump first: the ProxyCommand after it is ignored.
    let jumps = host(&config, home.path(), "jumps");
    assert_eq!(value(&jumps.proxy), Some(Proxy::Jump(vec!["b1".into()])));
    assert!(jumps.blocking.is_empty());
    // `CanonicalizeHostname no` is ssh's default: harmless.
    assert!(host(&config, home.path(), "plain").blocking.is_empty());
    // Spelled as first written, sorted, each once; IgnoreUnknown is quiet.
    assert_eq!(config.unsupported(), ["ControlMaster", "forwardAgent"]);
}

#[test]
fn proxy_jump_lists_hops_and_none_means_direct() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host inner\n  ProxyJump none\nHost *\n  ProxyJump ops@b1:2200,ssh://b2 # hops\n",
    );
    assert_eq!(
        value(&host(&config, home.path(), "x").proxy),
        Some(Proxy::Jump(vec!["ops@b1:2200".into(), "ssh://b2".into()]))
    );
    assert_eq!(
        value(&host(&config, home.path(), "inner").proxy),
        Some(Proxy::Direct)
    );
    // A jumped host (reached with `-J`) takes neither.
    let jumped = Query {
        jumped: true,
        ..query("x")
    };
    let found = config.resolve(&jumped, &local(home.path())).unwrap();
    assert_eq!(found.proxy, None);
}

#[test]
fn jump_specs_parse_user_host_and_port() {
    let spec = |text: &str| JumpSpec::parse(text);
    assert_eq!(
        spec("ops@bastion:2200"),
        Ok(JumpSpec {
            user: Some("ops".into()),
            host: "bastion".into(),
            port: Some(2200)
        })
    );
    assert_eq!(
        spec("ssh://[::1]:22"),
        Ok(JumpSpec {
            user: None,
            host: "::1".into(),
            port: Some(22)
        })
    );
    assert_eq!(
        spec("b1"),
        Ok(JumpSpec {
            user: None,
            host: "b1".into(),
            port: None
        })
    );
    assert_eq!(
        spec("b1:http"),
        Err("ProxyJump `b1:http`: `http` is not a port".into())
    );
    assert_eq!(spec("ops@"), Err("ProxyJump `ops@`: no host name".into()));
    assert_eq!(spec("[::1"), Err("ProxyJump `[::1`: unclosed `[`".into()));
}

#[test]
fn hostname_expands_percent_h_and_is_lowercased_unless_an_address() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host web*\n  HostName %h.Example.COM\nHost odd\n  HostName a%%b\n\
         Host v6\n  HostName 2001:DB8::1\nHost bad\n  HostName %h-%p\n",
    );
    let web = host(&config, home.path(), "web1");
    assert_eq!(value(&web.host_name), Some("web1.example.com".into()));
    assert_eq!(
        value(&host(&config, home.path(), "odd").host_name),
        Some("a%b".into())
    );
    assert_eq!(
        value(&host(&config, home.path(), "v6").host_name),
        Some("2001:DB8::1".into())
    );
    let error = config
        .resolve(&query("bad"), &local(home.path()))
        .unwrap_err();
    assert_eq!(
        error,
        format!(
            "ssh_config {} line 8: HostName `%h-%p`: `%p` is not a token it accepts (it \
             accepts %% and %h); ssh refuses it too",
            home.path().join(".ssh/config").display()
        )
    );
}

#[test]
fn match_host_originalhost_user_localuser_and_all_with_negation_and_lists() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host web1\n  HostName 10.0.0.1\n\
         Match host 10.0.*,!10.0.0.9 originalhost web*\n  Port 2201\n\
         Match !host web*,db*\n  IdentityFile /k/not-web-or-db\n\
         Match user admin\n  HostName admin.example.com\n\
         Match localuser me !user root\n  IdentitiesOnly yes\n\
         Match all\n  User everyone\n",
    );
    let web1 = host(&config, home.path(), "web1");
    // `Match host` sees the HostName set so far, `originalhost` the name given.
    assert_eq!((value(&web1.port), line(&web1.port)), (Some(2201), 4));
    assert_eq!(files(&web1), ["/k/not-web-or-db"]);
    assert_eq!(value(&web1.identities_only), Some(true));
    assert_eq!(
        (value(&web1.user), line(&web1.user)),
        (Some("everyone".into()), 12)
    );
    let db1 = host(&config, home.path(), "db1");
    assert!(db1.identity_files.is_empty());
    // `Match user` sees the user given from outside (`-l`), which the
    // config cannot change.
    let admin = Query {
        user: Some("admin"),
        ..query("db1")
    };
    let as_admin = config.resolve(&admin, &local(home.path())).unwrap();
    assert_eq!(value(&as_admin.host_name), Some("admin.example.com".into()));
    assert_eq!(as_admin.user, None);
    // ... or the local default when nothing names one.
    let as_root = Query {
        default_user: "root",
        ..query("db1")
    };
    let as_root = config.resolve(&as_root, &local(home.path())).unwrap();
    assert_eq!(as_root.identities_only, None);
}

#[test]
fn match_user_sees_the_first_user_the_config_set() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host db1\n  User dba\nMatch user dba\n  Port 2202\nMatch user me\n  Port 2203\n",
    );
    assert_eq!(value(&host(&config, home.path(), "db1").port), Some(2202));
    assert_eq!(value(&host(&config, home.path(), "web1").port), Some(2203));
}

#[test]
fn match_final_reads_the_config_again_for_the_host_name() {
    let home = tempfile::tempdir().unwrap();
    let text = "Host web1\n  HostName 10.48.0.5\nHost 10.48.0.*\n  User netops\n  \
                HostName ignored\nMatch canonical\n  Port 2248\n";
    // Without `Match final`: one pass, by the name given.
    let one_pass = config(home.path(), text);
    let web1 = host(&one_pass, home.path(), "web1");
    assert_eq!((web1.user, web1.port), (None, None));
    // With it: Host lines match the host name in the second pass, `Match
    // canonical` and `Match final` hold, and HostName can no longer change.
    let two_passes = config(
        home.path(),
        &format!("{text}Match final\n  IdentityFile /k/final\n"),
    );
    let web1 = host(&two_passes, home.path(), "web1");
    assert_eq!(value(&web1.user), Some("netops".into()));
    assert_eq!(value(&web1.port), Some(2248));
    assert_eq!(files(&web1), ["/k/final"]);
    assert_eq!(
        (value(&web1.host_name), line(&web1.host_name)),
        (Some("10.48.0.5".into()), 2)
    );
}

#[test]
fn match_exec_refuses_the_host_only_where_its_answer_would_change_something() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host db1\n  User dba\n\
         Match host web* exec \"test -f /tmp/x\"\n  User exec-user\n\
         Match !exec \"on-vpn\" user dba\n  User already-set\n  ForwardAgent yes\n",
    );
    let error = config
        .resolve(&query("web1"), &local(home.path()))
        .unwrap_err();
    assert_eq!(
        error,
        format!(
            "ssh_config {} line 3: `Match exec` decides this host's settings, and shoal does \
             not run commands from ssh_config; ssh would run `test -f /tmp/x` with the user's \
             shell and apply the block below it if it exits 0. Decide it with `Host` or \
             another `Match` criterion, or use -F with a config without it",
            home.path().join(".ssh/config").display()
        )
    );
    // For db1 the `host` criterion fails first (ssh would not run the
    // command either), and the second block sets nothing db1 does not
    // already have, so its command's answer changes nothing.
    let db1 = host(&config, home.path(), "db1");
    assert_eq!(value(&db1.user), Some("dba".into()));
}

#[test]
fn bad_match_lines_name_their_line_as_ssh_refuses_them() {
    let home = tempfile::tempdir().unwrap();
    let cases = [
        (
            "Match hostname a\n",
            "`hostname` is not a Match criterion (ssh refuses the file too); shoal evaluates \
             host, originalhost, user, localuser, all, canonical and final, and refuses hosts \
             that an `exec` decides",
        ),
        (
            "Match host\n",
            "`Match host` needs a pattern list after it (ssh refuses the file too)",
        ),
        (
            "Match all host a\n",
            "`all` cannot be combined with other Match criteria (ssh refuses the file too)",
        ),
        (
            "Match # nothing\n",
            "`Match` needs at least one criterion (ssh refuses the file too)",
        ),
    ];
    for (text, reason) in cases {
        let error = try_config(home.path(), &format!("Host a\n  User x\n{text}")).unwrap_err();
        assert_eq!(
            (error.line, error.reason.as_str()),
            (Some(3), reason),
            "{text}"
        );
    }
    let error = try_config(home.path(), "Match localnetwork 10.0.0.0/8\n").unwrap_err();
    assert!(
        error
            .reason
            .starts_with("`Match localnetwork` tests the networks of the local interfaces"),
        "{error}"
    );
}

#[test]
fn bad_values_name_the_file_and_line_even_in_a_block_no_host_uses() {
    let home = tempfile::tempdir().unwrap();
    let cases = [
        ("Port twenty-two", "`Port twenty-two` is not a port number"),
        ("Port 0", "`Port 0` is not a port number"),
        ("User ops admin", "`User` takes one value, not 2"),
        ("User", "`User` has no value"),
        ("IdentityFile \"/k/open", "a quote is not closed"),
        ("ConnectTimeout 5x", "`ConnectTimeout 5x` is not a time"),
        (
            "StrictHostKeyChecking maybe",
            "`StrictHostKeyChecking maybe`: not a value",
        ),
        (
            "UserKnownHostsFile /k none",
            "`UserKnownHostsFile none` must stand alone",
        ),
        (
            "ProxyJump b1:http",
            "ProxyJump `b1:http`: `http` is not a port",
        ),
    ];
    for (setting, reason) in cases {
        let path = home.path().join(".ssh/config");
        let error = try_config(
            home.path(),
            &format!("Host web1\n  User ok\nHost elsewhere\n  {setting}\n"),
        )
        .unwrap_err();
        assert_eq!(
            (error.path.as_str(), error.line),
            (path.to_str().unwrap(), Some(4)),
            "{setting}"
        );
        assert!(error.reason.starts_with(reason), "{setting}: {error}");
        assert!(
            error.reason.contains("(ssh refuses the file too"),
            "{error}"
        );
        assert!(error.to_string().contains(" line 4: "), "{error}");
    }
}

#[test]
fn lines_split_as_ssh_splits_them() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "# comment\n\n  Host=\"web 1\" web2\n\thOSTnAME = eq.example.com\n  User=ops # note\n  \
         IdentityFile \"/k/with space\" \n  IdentityFile /k/escaped\\ space\n",
    );
    for name in ["web 1", "web2"] {
        let found = host(&config, home.path(), name);
        assert_eq!(value(&found.host_name), Some("eq.example.com".into()));
        assert_eq!(value(&found.user), Some("ops".into()));
        assert_eq!(files(&found), ["/k/with space", "/k/escaped space"]);
    }
}

#[test]
fn path_tokens_expand_as_ssh_expands_them() {
    let home = tempfile::tempdir().unwrap();
    let local = local(home.path());
    let remote = Remote {
        host: "10.0.0.9",
        alias: "web1",
        port: 2222,
        user: "ops",
    };
    let path = |text: &str| expand_path(text, &remote, &local);
    let h = home.path().display();
    assert_eq!(
        path("~/k/%n-%r@%h:%p_%u_%i_%%").unwrap(),
        PathBuf::from(format!("{h}/k/web1-ops@10.0.0.9:2222_me_1000_%"))
    );
    assert_eq!(
        path("%d/%l/%L/%k").unwrap(),
        PathBuf::from(format!("{h}/box.example.com/box/web1"))
    );
    // SHA-1 of %l%h%p%r.
    assert_eq!(
        path("%C").unwrap(),
        PathBuf::from("480fbca56899c009e7756b0378fdd2abf90e585c")
    );
    assert_eq!(
        path("${SHOAL_TEST_SURELY_UNSET}/k").unwrap_err(),
        "the environment variable `SHOAL_TEST_SURELY_UNSET` is not set"
    );
    assert_eq!(
        path("/k/%x").unwrap_err(),
        "`%x` is not a token it accepts (it accepts %%, %C, %d, %h, %i, %k, %L, %l, %n, %p, \
         %r and %u)"
    );
    assert!(
        path("/k/100%")
            .unwrap_err()
            .starts_with("a `%` ends the value")
    );
    // ProxyJump takes fewer tokens, and no `~`.
    assert_eq!(
        expand("~%r@gw-%h:%p", Accepts::ProxyJump, &remote, &local).unwrap(),
        "~ops@gw-10.0.0.9:2222"
    );
    assert!(expand("%d", Accepts::ProxyJump, &remote, &local).is_err());
}

#[test]
fn patterns_match_as_ssh_matches_them() {
    use super::pattern::{ListMatch, match_list, matches};
    assert!(matches("web01.prod", "web*.prod"));
    assert!(matches("db1", "db?"));
    assert!(!matches("db10", "db?"));
    assert!(matches("", "*"));
    assert!(!matches("Web1", "web1"), "case-sensitive");
    // Many stars against a long name that almost matches: answered, not
    // backtracked through every way of splitting it.
    let long = "a".repeat(200);
    assert!(!matches(&long, &"*a".repeat(30).replace("a*a", "a*b")));
    assert_eq!(match_list("web2", "web*,!web2", false), ListMatch::Negated);
    assert_eq!(match_list("web1", "web*,!web2", false), ListMatch::Matched);
    assert_eq!(match_list("db1", "web*", false), ListMatch::NotMatched);
    assert_eq!(match_list("web1", "WEB*", true), ListMatch::Matched);
}
