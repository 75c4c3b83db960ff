//! Drives the interactive shell in a real terminal (tmux) against real sshd
//! hosts: completion, multi-line pipelines, Ctrl-C during a slow run, and a
//! shell that keeps answering afterwards. tmux shows the screen as a person
//! sees it, after the line editor's redraws.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{FleetSpec, SshdFleet};

/// How long to wait for text to appear: generous for a debug build on a
/// loaded 2-core machine; a wait still fails with the screen when it expires.
const PATIENCE: Duration = Duration::from_secs(20);

/// One tmux session running shoal, killed on drop.
struct Terminal {
    name: String,
}

impl Terminal {
    fn start(command: &str) -> Terminal {
        let name = format!("shoal-test-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "160",
                "-y",
                "50",
                command,
            ])
            .status()
            .expect("tmux runs (bash .ci/setup-sshd.sh installs it)");
        assert!(status.success(), "tmux could not start the shell");
        Terminal { name }
    }

    /// Sends tmux key names or literal text (`-l`).
    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn type_text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-J", "-S", "-200", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ready`, returning the screen.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the n-th prompt counted from the top of the scrollback.
    fn wait_prompts(&self, n: usize) -> String {
        self.wait_for(&format!("prompt #{n}"), |s| {
            s.matches("shoal> ").count() >= n
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// The text between the last two prompts: the output of the last line.
fn last_output(screen: &str) -> &str {
    let end = screen.rfind("shoal> ").unwrap_or(screen.len());
    let start = screen[..end].rfind("shoal> ").unwrap_or(0);
    &screen[start..end]
}

#[test]
fn completion_multi_line_pipelines_and_ctrl_c_in_the_shell() {
    let fleet = SshdFleet::start(FleetSpec::new(3));
    let dir = tempfile::tempdir().unwrap();
    let azs = ["us-east-1a", "us-east-1a", "eu-west-1b"];
    let inventory = dir.path().join("shoal.toml");
    std::fs::write(
        &inventory,
        fleet.inventory_toml(|i| vec![("az".into(), azs[i].into())]),
    )
    .unwrap();
    let shell = Terminal::start(&format!(
        "env NO_COLOR=1 XDG_STATE_HOME={} {} --inventory {}",
        dir.path().join("state").display(),
        env!("CARGO_BIN_EXE_shoal"),
        inventory.display()
    ));
    shell.wait_prompts(1);

    // A stage name completes after `|`, a tag value after `az =`.
    shell.type_text("hosts | fil");
    shell.keys(&["Tab"]);
    shell.wait_for("`filter` completed", |s| s.contains("hosts | filter"));
    shell.type_text(" az = eu");
    shell.keys(&["Tab"]);
    shell.wait_for("the tag value completed", |s| {
        s.contains("filter az = eu-west-1b")
    });
    shell.type_text(" | select host, az");
    shell.keys(&["Enter"]);
    let screen = shell.wait_prompts(2);
    let output = last_output(&screen);
    assert!(
        output.contains("eu-west-1b") && !output.contains("error"),
        "{output}"
    );
    assert_eq!(
        output.matches(fleet.hosts()[2].name.as_str()).count(),
        1,
        "{output}"
    );

    // A line ending in `|` continues on the next one.
    shell.type_text("hosts |");
    shell.keys(&["Enter"]);
    shell.type_text("count");
    shell.keys(&["Enter"]);
    let screen = shell.wait_prompts(3);
    assert!(
        last_output(&screen).contains("│ 3 "),
        "{}",
        last_output(&screen)
    );

    // Ctrl-C during a slow run cancels it within a second, shows the rows
    // with their statuses, and leaves no remote process behind.
    shell.type_text("hosts | run \"sleep 30\" | select host, status");
    shell.keys(&["Enter"]);
    shell.wait_for("the sleep to start on every host", |_| {
        (0..3).all(|i| {
            !fleet
                .run_on_host(i, "pgrep -u shoaltest -x sleep || true")
                .trim()
                .is_empty()
        })
    });
    let pressed = Instant::now();
    shell.keys(&["C-c"]);
    let screen = shell.wait_prompts(4);
    let took = pressed.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "Ctrl-C took {took:?} to return to the prompt"
    );
    let output = last_output(&screen);
    assert_eq!(
        output.matches("│ cancelled").count(),
        3,
        "three cancelled rows:\n{output}"
    );
    assert!(
        output.contains("3 hosts: 3 cancelled"),
        "the summary line:\n{output}"
    );
    for i in 0..3 {
        let left = fleet.run_on_host(i, "pgrep -u shoaltest -x sleep || true");
        assert!(
            left.trim().is_empty(),
            "a remote sleep survived on host {i}: {left}"
        );
    }

    // And it still answers.
    shell.type_text("hosts | run \"hostname\" | count by status");
    shell.keys(&["Enter"]);
    let screen = shell.wait_prompts(5);
    assert!(
        last_output(&screen).contains("ok"),
        "{}",
        last_output(&screen)
    );
    shell.keys(&["C-d"]);
}
