use super::*;

/// Parses `text` as `~/.ssh/config` of the home `dir`.
fn config(dir: &Path, text: &str) -> SshConfig {
    let ssh = dir.join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("config"), text).unwrap();
    SshConfig::load(None, Some(dir)).unwrap()
}

#[test]
fn the_first_match_wins_and_identity_files_accumulate() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host web01\n  HostName 10.0.0.1\n  IdentityFile ~/.ssh/web\n\
         Host web* !web02\n  User ops\n  Port 2200\n\
         Host *\n  User nobody\n  Port 22\n  IdentityFile ~/.ssh/all\n",
    );
    let web01 = config.host("web01");
    assert_eq!(web01.host_name.as_deref(), Some("10.0.0.1"));
    assert_eq!(web01.user.as_deref(), Some("ops"));
    assert_eq!(web01.port, Some(2200));
    let ssh = home.path().join(".ssh");
    assert_eq!(
        web01.identity_files,
        Some(vec![ssh.join("web"), ssh.join("all")])
    );
    // `!web02` keeps web02 out of the second block.
    let web02 = config.host("web02");
    assert_eq!(
        (web02.user.as_deref(), web02.port),
        (Some("nobody"), Some(22))
    );
    assert_eq!(web02.host_name, None);
}

#[test]
fn no_file_is_no_config_but_a_named_file_must_exist() {
    let home = tempfile::tempdir().unwrap();
    let none = SshConfig::load(None, Some(home.path())).unwrap();
    assert_eq!(none.path(), None);
    assert_eq!(none.host("anything"), HostSettings::default());
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
fn include_reads_other_files_relative_to_the_ssh_directory() {
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir_all(ssh.join("conf.d")).unwrap();
    std::fs::write(
        ssh.join("conf.d/db"),
        "Host db1\n  HostName 10.1.0.1\n  User dba\n",
    )
    .unwrap();
    let config = config(home.path(), "Include conf.d/*\nHost web1\n  User www\n");
    assert_eq!(config.host("db1").user.as_deref(), Some("dba"));
    assert_eq!(config.host("web1").user.as_deref(), Some("www"));
    assert_eq!(config.concrete_hosts(), ["db1", "web1"]);
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
fn host_key_and_identity_settings_are_read_from_the_crates_unsupported_list() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host a\n  StrictHostKeyChecking accept-new\n  IdentitiesOnly yes\n  \
         UserKnownHostsFile /k/one /k/two\n\
         Host b\n  StrictHostKeyChecking no\nHost c\n  StrictHostKeyChecking ask\n",
    );
    let a = config.host("a");
    assert_eq!(a.host_keys, Some(HostKeyPolicy::AcceptNew));
    assert_eq!(a.identities_only, Some(true));
    // ssh(1) writes new keys to the first file; shoal reads and writes that one.
    assert_eq!(a.known_hosts, Some(PathBuf::from("/k/one")));
    assert_eq!(config.host("b").host_keys, Some(HostKeyPolicy::Off));
    // shoal never asks, so `ask` is strict.
    assert_eq!(config.host("c").host_keys, Some(HostKeyPolicy::Strict));
    assert_eq!(config.host("d").host_keys, None);
    assert!(config.unsupported().is_empty());
}

#[test]
fn settings_that_change_where_ssh_connects_block_the_host_and_others_are_named() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host odd\n  ProxyCommand nc %h %p\n  HostKeyAlias other\n\
         Host *\n  ControlMaster auto\n  ForwardAgent yes\n  CanonicalizeHostname no\n",
    );
    assert_eq!(
        config.host("odd").blocking,
        ["HostKeyAlias other", "ProxyCommand nc %h %p"]
    );
    // `CanonicalizeHostname no` is ssh's default: harmless.
    assert!(config.host("plain").blocking.is_empty());
    // Spelled as in the file, sorted, each once.
    assert_eq!(config.unsupported(), ["ControlMaster", "ForwardAgent"]);
}

#[test]
fn proxy_jump_lists_hops_and_none_means_direct() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host inner\n  ProxyJump none\nHost *\n  ProxyJump ops@b1:2200,b2\n",
    );
    assert_eq!(
        config.host("x").proxy_jump,
        Some(vec!["ops@b1:2200".to_string(), "b2".to_string()])
    );
    assert_eq!(config.host("inner").proxy_jump, Some(Vec::new()));
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
fn match_blocks_apply_to_no_host_instead_of_the_host_block_above() {
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        "Host web*\n  User www\nMatch host db*\n  User dba\n  HostName 10.9.9.9\n\
         Host *\n  Port 2200\n",
    );
    // Without the rewrite, the crate would give web* the Match block's settings.
    let web = config.host("web1");
    assert_eq!(
        (web.user.as_deref(), web.host_name, web.port),
        (Some("www"), None, Some(2200))
    );
    let db = config.host("db1");
    assert_eq!((db.user, db.host_name), (None, None));
    assert!(web.blocking.is_empty() && db.blocking.is_empty());
    assert_eq!(config.match_lines(), [3]);
    assert!(config.concrete_hosts().is_empty());
    assert!(
        config.unsupported().is_empty(),
        "{:?}",
        config.unsupported()
    );
}
