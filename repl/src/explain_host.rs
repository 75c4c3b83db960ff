//! `shoal hosts --explain HOST` and the shell's `:explain HOST`: how shoal
//! would reach one host, a setting per line as `ssh -G` prints them, each
//! with where its value came from, then every jump host of its ProxyJump
//! chain the same way. The values and their sources are the runtime's
//! (`shoal_runtime::targets`); this only lays them out.

use std::fmt::Write;
use std::process::ExitCode;

use shoal_runtime::ssh_config::HostKeyPolicy;
use shoal_runtime::targets::{ExplainedEndpoint, ExplainedRoute, Source};

use crate::cli::{EXIT_OK, EXIT_USAGE, Options, open_engine};
use crate::render::visible_line;

/// `shoal hosts --explain HOST`: prints the explanation, or why the host
/// cannot be resolved (exit 2).
pub(crate) fn command(options: &Options, host: &str) -> ExitCode {
    if !options.explain {
        eprintln!(
            "error: `shoal hosts` explains one host: shoal hosts --explain {}",
            visible_line(host)
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let Some(engine) = open_engine(options) else {
        return ExitCode::from(EXIT_USAGE);
    };
    match render(&engine.explain_host(host)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::from(EXIT_OK)
        }
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The explanation of one host as text; `Err` when nothing about it can be
/// resolved (a line of ssh_config stops it), saying why.
pub fn render(route: &ExplainedRoute) -> Result<String, String> {
    let name = visible_line(&route.name);
    let resolved = route
        .resolved
        .as_ref()
        .map_err(|reason| format!("{name}: {}", visible_line(reason)))?;
    let mut out = String::new();
    let listed = if route.in_inventory {
        "an inventory host".to_string()
    } else {
        format!("not in the inventory: reached as `-w {name}` would be")
    };
    let _ = writeln!(
        out,
        "# {name}: {listed}; each value with where it came from"
    );
    if let Some(reason) = &resolved.refused {
        let _ = writeln!(out, "# shoal will not connect it: {}", visible_line(reason));
    }
    let mut lines = endpoint(&resolved.target);
    lines.push(Line::new(
        "connecttimeout",
        resolved.connect_timeout.value.as_secs().to_string(),
        &resolved.connect_timeout.source,
    ));
    if !resolved.jumps.is_empty() {
        let hops: Vec<&str> = resolved.jumps.iter().map(|j| j.label.as_str()).collect();
        lines.push(Line {
            key: "proxyjump",
            value: hops.join(","),
            note: "each hop resolved below, outermost first".to_string(),
        });
    }
    write_lines(&mut out, &lines);
    for (index, hop) in resolved.jumps.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n# jump host {} of {}: {}",
            index + 1,
            resolved.jumps.len(),
            visible_line(&hop.label)
        );
        write_lines(&mut out, &endpoint(hop));
    }
    Ok(out)
}

/// One setting: ssh -G's keyword, the value, and a note (its source).
struct Line {
    key: &'static str,
    value: String,
    note: String,
}

impl Line {
    fn new(key: &'static str, value: String, source: &Source) -> Line {
        Line {
            key,
            value,
            note: source.to_string(),
        }
    }
}

fn endpoint(endpoint: &ExplainedEndpoint) -> Vec<Line> {
    let path = |p: &std::path::Path| p.display().to_string();
    let mut lines = vec![
        Line::new(
            "hostname",
            endpoint.addr.value.clone(),
            &endpoint.addr.source,
        ),
        Line::new("user", endpoint.user.value.clone(), &endpoint.user.source),
        Line::new(
            "port",
            endpoint.port.value.to_string(),
            &endpoint.port.source,
        ),
    ];
    if endpoint.identity_files.is_empty() {
        lines.push(Line {
            key: "identityfile",
            value: "none".to_string(),
            note: "only the agent's keys are offered".to_string(),
        });
    }
    for file in &endpoint.identity_files {
        lines.push(Line::new("identityfile", path(&file.value), &file.source));
    }
    lines.push(Line::new(
        "identitiesonly",
        yes_no(endpoint.identities_only.value),
        &endpoint.identities_only.source,
    ));
    if let Some(file) = &endpoint.certificate_file {
        lines.push(Line::new(
            "certificatefile",
            path(&file.value),
            &file.source,
        ));
    }
    let mut known_hosts = Line::new(
        "userknownhostsfile",
        path(&endpoint.known_hosts.value),
        &endpoint.known_hosts.source,
    );
    if !endpoint.unread_known_hosts.is_empty() {
        let unread: Vec<String> = endpoint
            .unread_known_hosts
            .iter()
            .map(|p| path(p))
            .collect();
        let _ = write!(
            known_hosts.note,
            "; shoal reads only this one, where ssh would also read {}",
            unread.join(" ")
        );
    }
    lines.push(known_hosts);
    let policy = match endpoint.host_keys.value {
        HostKeyPolicy::Strict => "yes",
        HostKeyPolicy::AcceptNew => "accept-new",
        HostKeyPolicy::Off => "no",
    };
    lines.push(Line::new(
        "stricthostkeychecking",
        policy.to_string(),
        &endpoint.host_keys.source,
    ));
    lines
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

/// `keyword value` lines with their notes lined up after a `#`.
fn write_lines(out: &mut String, lines: &[Line]) {
    let shown: Vec<String> = lines
        .iter()
        .map(|line| format!("{} {}", line.key, visible_line(&line.value)))
        .collect();
    let width = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    for (text, line) in shown.iter().zip(lines) {
        let _ = writeln!(out, "{text:<width$}  # {}", visible_line(&line.note));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use shoal_runtime::targets::{Resolved, Sourced};

    use super::*;

    fn at(line: usize) -> shoal_runtime::ssh_config::Origin {
        shoal_runtime::ssh_config::Origin {
            file: std::path::Path::new("/etc/shoal-test/ssh_config").into(),
            line,
        }
    }

    fn hop(label: &str, addr: &str, source: Source) -> ExplainedEndpoint {
        ExplainedEndpoint {
            label: label.to_string(),
            addr: Sourced {
                value: addr.to_string(),
                source,
            },
            user: Sourced {
                value: "ops".into(),
                source: Source::Flag("--user"),
            },
            port: Sourced {
                value: 22,
                source: Source::Default,
            },
            identity_files: Vec::new(),
            identities_only: Sourced {
                value: false,
                source: Source::Default,
            },
            certificate_file: None,
            known_hosts: Sourced {
                value: "/k/1".into(),
                source: Source::SshConfig(at(4)),
            },
            unread_known_hosts: vec!["/k/2".into()],
            host_keys: Sourced {
                value: HostKeyPolicy::AcceptNew,
                source: Source::Flag("--accept-new"),
            },
        }
    }

    #[test]
    fn a_host_and_its_jump_hosts_print_a_setting_per_line_with_its_source() {
        let route = ExplainedRoute {
            name: "web1".into(),
            in_inventory: false,
            resolved: Ok(Resolved {
                target: hop("web1", "10.0.0.1", Source::SshConfig(at(2))),
                jumps: vec![hop("admin@b1", "b1", Source::ProxyJump(at(3)))],
                connect_timeout: Sourced {
                    value: Duration::from_secs(10),
                    source: Source::Default,
                },
                refused: None,
            }),
        };
        let text = render(&route).unwrap();
        let expected = "\
# web1: not in the inventory: reached as `-w web1` would be; each value with where it came from
hostname 10.0.0.1                 # /etc/shoal-test/ssh_config line 2
user ops                          # --user
port 22                           # default
identityfile none                 # only the agent's keys are offered
identitiesonly no                 # default
userknownhostsfile /k/1           # /etc/shoal-test/ssh_config line 4; shoal reads only this one, where ssh would also read /k/2
stricthostkeychecking accept-new  # --accept-new
connecttimeout 10                 # default
proxyjump admin@b1                # each hop resolved below, outermost first

# jump host 1 of 1: admin@b1
hostname b1                       # ProxyJump at /etc/shoal-test/ssh_config line 3
user ops                          # --user
port 22                           # default
identityfile none                 # only the agent's keys are offered
identitiesonly no                 # default
userknownhostsfile /k/1           # /etc/shoal-test/ssh_config line 4; shoal reads only this one, where ssh would also read /k/2
stricthostkeychecking accept-new  # --accept-new
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_host_that_cannot_be_resolved_says_why() {
        let route = ExplainedRoute {
            name: "db1".into(),
            in_inventory: true,
            resolved: Err("ssh_config x line 3: `Match exec` decides".into()),
        };
        assert_eq!(
            render(&route).unwrap_err(),
            "db1: ssh_config x line 3: `Match exec` decides"
        );
    }
}
