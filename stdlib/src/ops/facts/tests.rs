use super::*;

fn op(families: &[&str], max_bytes: u64) -> FactsOp {
    FactsOp {
        families: families.iter().map(|f| f.to_string()).collect(),
        etc: vec!["/etc/app".into()],
        max_bytes,
        timeout_ms: None,
        span: Span::default(),
    }
}

fn all() -> Vec<&'static str> {
    FAMILIES.iter().map(|f| f.name).collect()
}

fn outcome(stdout: &str, status: Status) -> HostOutcome {
    HostOutcome {
        stdout: stdout.to_string(),
        exit: (status == Status::Ok).then_some(0),
        error: None,
        ..HostOutcome::not_run(status, "")
    }
}

/// The script `facts` sends, printed so that its sections can be timed
/// (docs/BENCHMARKS.md); one `sh -c '…'` line that opens with the clock.
#[test]
fn the_command_is_one_quoted_line_that_reads_the_clock_first() {
    let command = op(&all(), DEFAULT_MAX_BYTES).command();
    println!("{command}");
    let script = command
        .strip_prefix("sh -c '")
        .and_then(|s| s.strip_suffix('\''))
        .expect("sh -c '...'");
    assert!(!script.contains('\'') && !script.contains('\n'));
    assert!(
        script.starts_with(": shoal facts; exec 2>/dev/null; date +clock=%s.%3N; "),
        "{script}"
    );
    for family in FAMILIES {
        assert!(script.contains(&format!("echo \"#@{}\"", family.name)));
    }
    assert!(script.contains("/etc/sysctl.d /etc/security/limits.conf"));
    assert!(script.contains(" /etc/app; do"), "etc= paths join the list");
    // packages' share of 256 KiB, plus the byte that shows it overran.
    assert!(script.contains("| head -c 98305;"), "{script}");
}

#[test]
fn output_is_read_into_scalars_and_sections() {
    let facts = op(&["cpu_model", "sysctl", "packages"], DEFAULT_MAX_BYTES);
    let stdout = "clock=1700000000.123\nhostname=web01\n#@cpu_model\nmodel name\t: Xeon\n\n#@sysctl\nvm/swappiness:60\nkernel/x:1\n\n#@end\n";
    let host = outcome(stdout, Status::Ok);
    let out = facts.output(&host);
    assert_eq!(out.scalars.get("hostname"), Some(&"web01"));
    assert_eq!(out.scalars.get("clock"), Some(&"1700000000.123"));
    assert_eq!(
        out.families,
        [
            Some("Xeon".to_string()),
            Some("kernel.x=1\nvm.swappiness=60".to_string()),
            None
        ],
        "sorted members; packages printed no section: its tool is missing"
    );
    assert!(out.notes.is_empty(), "{:?}", out.notes);
}

#[test]
fn an_overrun_is_cut_at_whole_lines_and_noted() {
    // sysctl's share of 16 KiB is 3 KiB.
    let facts = op(&["sysctl"], 16 * 1024);
    let lines: String = (0..200).map(|i| format!("kernel/k{i:03}:{i}\n")).collect();
    let stdout = format!("hostname=h\n#@sysctl\n{}\n#@end\n", &lines[..3073]);
    let host = outcome(&stdout, Status::Ok);
    let out = facts.output(&host);
    assert_eq!(out.notes, ["sysctl cut at 3072 bytes"]);
    let kept = out.families[0].as_deref().unwrap_or_default();
    assert!(kept.lines().all(|l| l.starts_with("kernel.k")));
    assert!(kept.lines().count() < 200 && kept.lines().count() > 150);
}

#[test]
fn a_timeout_after_the_scalars_cuts_the_family_it_was_in() {
    let facts = op(&["cpu_model", "packages", "modified"], DEFAULT_MAX_BYTES);
    let stdout = "hostname=h\n#@cpu_model\nmodel name : X\n\n#@packages\nii a=1\nii b=";
    let host = outcome(stdout, Status::Timeout);
    let out = facts.output(&host);
    assert!(out.scalars_done);
    assert_eq!(
        out.families,
        [Some("X".to_string()), Some("a=1".to_string()), None]
    );
    assert_eq!(
        out.notes,
        [
            "packages cut: timed out after 2s",
            "modified not collected: timed out after 2s"
        ]
    );
    // Before any section: the host's row stays a timeout, with no notes.
    let host = outcome("hostname=h\n", Status::Timeout);
    let early = facts.output(&host);
    assert!(!early.scalars_done);
    assert!(early.notes.is_empty());
}

/// The rendered error of a query whose `facts` stage is malformed.
fn error(query: &str) -> String {
    crate::compile(query)
        .expect_err("must not compile")
        .render(query, false)
}

#[test]
fn unknown_families_and_odd_paths_are_located_errors() {
    let rendered = error("hosts | facts families=packages,sysctls");
    assert!(
        rendered.contains("`facts` has no family `sysctls`"),
        "{rendered}"
    );
    assert!(rendered.contains("did you mean 'sysctl'?"), "{rendered}");
    let rendered = error("hosts | facts etc=/etc/app,relative");
    assert!(rendered.contains("absolute paths"), "{rendered}");
    let rendered = error("hosts | facts max_bytes=10");
    assert!(rendered.contains("max_bytes"), "{rendered}");
    crate::compile("hosts | facts families=packages,sysctl etc=/etc/app,/opt/x/conf max_bytes=1048576 timeout=5s")
        .expect("compiles");
}

#[test]
fn help_lists_every_family_and_volatile_names_real_columns() {
    for family in FAMILIES {
        assert!(
            SIGNATURE.help.contains(&format!("- `{}`: ", family.name)),
            "{}",
            family.name
        );
    }
    for name in VOLATILE {
        assert!(
            FACTS.iter().any(|f| f.name == *name) || name.starts_with("clock_skew"),
            "{name}"
        );
    }
}
