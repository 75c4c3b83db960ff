//! Drives the interactive shell in a real terminal (tmux) against real sshd
//! hosts: completion, multi-line pipelines, Ctrl-C during a slow run, and a
//! shell that keeps answering afterwards; on 200 hosts, Ctrl-C's partial
//! results and a second Ctrl-C that quits while the first is still cleaning
//! up. tmux shows the screen as a person sees it, after the line editor's
//! redraws. Also: a coloured table lines up, `:set` changes how results
//! print, and what hosts print cannot drive the terminal (clear it, set its
//! title, write its clipboard).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::support::{FleetSpec, NftTable, SshdFleet};

/// How long to wait for text to appear: generous for a debug build on a
/// loaded 2-core machine; a wait still fails with the screen when it expires.
const PATIENCE: Duration = Duration::from_secs(20);

/// Lets one test drive a terminal at a time: each asserts how soon Ctrl-C
/// returns, which a 200-host fleet starting beside it on 2 cores would skew.
fn one_terminal_at_a_time() -> MutexGuard<'static, ()> {
    static TERMINAL: Mutex<()> = Mutex::new(());
    // A test that failed holding the lock has already reported its failure.
    TERMINAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// One tmux session running shoal, killed on drop.
struct Terminal {
    name: String,
}

impl Terminal {
    fn start(command: &str) -> Terminal {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "shoal-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
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

    /// The screen with its colours as ANSI escapes (`capture-pane -e`).
    fn screen_with_colors(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "capture-pane",
                "-p",
                "-e",
                "-J",
                "-S",
                "-200",
                "-t",
                &self.name,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// From now on, copies every byte the program writes to the terminal into `file`.
    fn record(&self, file: &Path) {
        let status = Command::new("tmux")
            .args(["pipe-pane", "-o", "-t", &self.name])
            .arg(format!("cat > '{}'", file.display()))
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The pane's title, which OSC 0 and OSC 2 sequences set.
    fn title(&self) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_title}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
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
    let _terminal = one_terminal_at_a_time();
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

/// How long 200 hosts may take to connect and start a command, cold, in a
/// debug build on a 2-core machine; only a failing test waits this long.
const FLEET_PATIENCE: Duration = Duration::from_secs(120);

/// Waits until a `sleep` runs on every host in `hosts`, checking each host
/// only until its sleep has been seen.
fn wait_until_sleeping(fleet: &SshdFleet, hosts: impl IntoIterator<Item = usize>) {
    let deadline = Instant::now() + FLEET_PATIENCE;
    let mut pending: Vec<usize> = hosts.into_iter().collect();
    while !pending.is_empty() {
        pending.retain(|&i| remote_sleeps(fleet, i).is_empty());
        assert!(
            Instant::now() < deadline,
            "no sleep started on {} hosts, e.g. {}",
            pending.len(),
            fleet.hosts()[pending[0]].name
        );
    }
}

/// Fails unless no `sleep` is left on any host in `hosts`, giving each a
/// moment for a command being killed to be reaped.
fn assert_no_sleep_left(fleet: &SshdFleet, hosts: impl IntoIterator<Item = usize>) {
    for i in hosts {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = remote_sleeps(fleet, i);
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "a remote sleep survived on {}: {left}",
                fleet.hosts()[i].name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The test user's `sleep` processes on host `i` (empty: none).
fn remote_sleeps(fleet: &SshdFleet, i: usize) -> String {
    fleet
        .run_on_host(i, "pgrep -a -u shoaltest -x sleep || true")
        .trim()
        .to_owned()
}

#[test]
fn ctrl_c_on_two_hundred_hosts_shows_partial_rows_and_a_second_one_quits_during_cleanup() {
    let _terminal = one_terminal_at_a_time();
    const HOSTS: usize = 200;
    // web001–web009, which the `web00?` pattern below matches, answer at once.
    const FAST: usize = 9;
    let fleet = SshdFleet::start(FleetSpec::new(HOSTS));
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("shoal.toml");
    std::fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    // The pane outlives shoal so that its exit status stays on the screen.
    // 200 cold handshakes on 2 cores can outlast the 10 s connect timeout.
    let shell = Terminal::start(&format!(
        "env NO_COLOR=1 XDG_STATE_HOME={} {} --inventory {} --connect-timeout 60s; \
         echo \"shoal exited with $?\"; sleep 600",
        dir.path().join("state").display(),
        env!("CARGO_BIN_EXE_shoal"),
        inventory.display()
    ));
    shell.wait_prompts(1);

    // One Ctrl-C: the rows so far, the rest cancelled, and no command left.
    shell.type_text(
        "hosts | run 'case $(hostname) in web00?) hostname;; *) sleep 30;; esac' \
         | count by status",
    );
    shell.keys(&["Enter"]);
    wait_until_sleeping(&fleet, FAST..HOSTS);
    let pressed = Instant::now();
    shell.keys(&["C-c"]);
    let screen = shell.wait_prompts(2);
    let took = pressed.elapsed();
    eprintln!("200 hosts: Ctrl-C to partial results and the prompt took {took:?}");
    let output = last_output(&screen);
    assert!(
        output.contains("200 hosts: 9 ok, 191 cancelled"),
        "the summary line:\n{output}"
    );
    assert!(
        output.contains("│ ok        │ 9     │") && output.contains("│ cancelled │ 191   │"),
        "the partial result:\n{output}"
    );
    // The progress line as Ctrl-C left it counts what the summary counts.
    assert!(
        output
            .lines()
            .any(|l| l.contains(" 9/200 hosts ") && l.contains(" · 9 ok · ")),
        "the progress line:\n{output}"
    );
    // The issue asks for one second; this only catches a run that waited for
    // its commands (30 s) instead of ending them.
    assert!(
        took < Duration::from_secs(5),
        "Ctrl-C took {took:?} to return to the prompt"
    );
    assert_no_sleep_left(&fleet, 0..HOSTS);

    // Two Ctrl-Cs: the second lands while the first is still ending commands,
    // and quits at once. Five hosts go dark just before the first: ending
    // their commands waits out the executor's two grace periods (600 ms in
    // all) for answers that never come, and that is the cleanup the second
    // Ctrl-C interrupts.
    shell.type_text("hosts | run 'sleep 300' | count by status");
    shell.keys(&["Enter"]);
    wait_until_sleeping(&fleet, 0..HOSTS);
    let dark = NftTable::new();
    for node in &fleet.hosts()[..5] {
        dark.drop_all(node.addr);
    }
    shell.keys(&["C-c"]);
    shell.wait_for("the first Ctrl-C to start cancelling", |s| {
        s.matches("Ctrl-C again to quit").count() >= 2
    });
    let pressed = Instant::now();
    shell.keys(&["C-c"]);
    let screen = shell.wait_for("shoal to exit", |s| s.contains("shoal exited with"));
    eprintln!(
        "200 hosts: the second Ctrl-C quit shoal after {:?}",
        pressed.elapsed()
    );
    assert!(screen.contains("shoal exited with 130"), "{screen}");
    assert!(
        !screen.contains("200 hosts: 200 cancelled"),
        "the cancelled query returned before the second Ctrl-C, so it did not \
         land during the cleanup:\n{screen}"
    );
    // Quitting closed every connection, and sshd ends a session's commands
    // with it: at once on the hosts that answer, and on the dark ones once
    // the kernel's retransmissions of shoal's last words get through.
    drop(dark);
    assert_no_sleep_left(&fleet, 0..HOSTS);
}

/// The shell on `fleet`'s hosts (an inventory without tags, written in
/// `dir`), in a terminal, with colour on or off.
fn shell_on(fleet: &SshdFleet, dir: &std::path::Path, colour: bool) -> Terminal {
    let inventory = dir.join("shoal.toml");
    std::fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    Terminal::start(&format!(
        "env {} XDG_STATE_HOME={} {} --inventory {}",
        if colour { "-u NO_COLOR" } else { "NO_COLOR=1" },
        dir.join("state").display(),
        env!("CARGO_BIN_EXE_shoal"),
        inventory.display()
    ))
}

/// Drops ANSI CSI sequences (`ESC [ ... final byte`). The renderer's unit
/// tests have their own copy: they live in another crate, and the library
/// has no use for it.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The lines of the tables in `output`: those that start with a border.
fn table_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.starts_with(['┌', '│', '├', '└']))
        .collect()
}

#[test]
fn tables_line_up_in_colour_and_set_changes_printing_in_the_shell() {
    let _terminal = one_terminal_at_a_time();
    let long = format!("{}end", "x".repeat(100));
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new({
            let long = long.clone();
            move |_| vec![("long".into(), format!("{long}\nsecond line\n"))]
        }),
        ..FleetSpec::new(3)
    });
    let dir = tempfile::tempdir().unwrap();
    // Colour on: no NO_COLOR, and stdout is the terminal.
    let shell = shell_on(&fleet, dir.path(), true);
    let mut prompts = 1;
    let mut enter = |line: &str| {
        shell.type_text(line);
        shell.keys(&["Enter"]);
        prompts += 1;
        shell.wait_prompts(prompts)
    };
    shell.wait_prompts(1);

    // Statuses of different lengths, each in its colour: every line of the
    // table is as wide as the others once the colour codes are taken out.
    let first = fleet.hosts()[0].name.clone();
    enter(&format!(
        "hosts | run \"test $(hostname) = {first}\" | select host, status, exit"
    ));
    let coloured = shell.screen_with_colors();
    let output = last_output(&coloured);
    assert!(
        output.contains("\x1b[32m") && output.contains("\x1b[33m"),
        "ok in green, failed in yellow:\n{output:?}"
    );
    let plain = strip_ansi(output);
    let lines = table_lines(&plain);
    assert_eq!(lines.len(), 7, "{plain}");
    let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    assert!(
        widths.iter().all(|w| *w == widths[0]),
        "{widths:?}\n{plain}"
    );

    // `:set width`: the table fits, each cut marked.
    let query = "hosts | run \"cat /etc/app/long\" | select host, stdout";
    let screen = enter(":set width 40");
    assert!(
        last_output(&screen).contains("format table · full off · width 40"),
        "{screen}"
    );
    let screen = enter(query);
    let lines = table_lines(last_output(&screen));
    assert!(
        lines.len() > 5 && lines.iter().all(|l| l.chars().count() <= 40),
        "{screen}"
    );
    assert!(lines.iter().any(|l| l.contains('…')), "{screen}");

    // `:set full`: every line whole.
    enter(":set full");
    let screen = enter(query);
    let output = last_output(&screen);
    assert_eq!(output.matches(long.as_str()).count(), 3, "{output}");
    assert_eq!(output.matches("second line").count(), 3, "{output}");

    // `:set format json`: one line per result.
    enter(":set format json");
    let screen = enter("hosts | select host");
    let line = last_output(&screen)
        .lines()
        .find(|l| l.starts_with('['))
        .unwrap_or_default();
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {screen}"));
    assert_eq!(rows.len(), 3, "{line}");

    // `:set format csv`: a block per result.
    enter(":set format csv");
    let screen = enter("hosts | select host; hosts | count");
    let output = last_output(&screen);
    assert!(
        output.contains(&format!("host\n{first}\n")) && output.contains("\n\ncount\n3\n"),
        "{output}"
    );

    // Back to a table: an empty result is a closed table that says so.
    enter(":set format table");
    let screen = enter("hosts | filter host = nobody | select host");
    let output = last_output(&screen);
    assert!(output.contains("│ host │\n└──────┘\n0 rows"), "{output}");

    // `shoal help` as if on the command line: a hint, not a parse error.
    let screen = enter("shoal help");
    let output = last_output(&screen);
    assert!(
        output.contains("inside the shell, type `help` or `help STAGE`")
            && !output.contains("error"),
        "{output}"
    );
    shell.keys(&["C-d"]);
}

#[test]
fn what_hosts_print_cannot_drive_the_shells_terminal() {
    let _terminal = one_terminal_at_a_time();
    // A clear-screen, a window title, an OSC 52 clipboard write, a carriage return over
    // the row, a C1 CSI and a bell.
    const HOSTILE: &str = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07ok\rFAKE\u{9b}31m\x07";
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|_| vec![("hostile".into(), HOSTILE.into())]),
        ..FleetSpec::new(2)
    });
    let dir = tempfile::tempdir().unwrap();
    let shell = shell_on(&fleet, dir.path(), false);
    shell.wait_prompts(1);
    let title = shell.title();
    let raw = dir.path().join("terminal.raw");
    shell.record(&raw);

    let queries = [
        "hosts | run \"cat /etc/app/hostile\" | select host, stdout",
        "hosts | run \"cat /etc/app/hostile\" | gather",
        "hosts | run \"cat /etc/app/hostile >&2\" | select host, stderr",
        "hosts | run \"cat /etc/app/hostile\" | stats stdout",
    ];
    for (i, query) in queries.iter().enumerate() {
        shell.type_text(query);
        shell.keys(&["Enter"]);
        shell.wait_prompts(i + 2);
    }
    let screen = shell.screen();
    let deadline = Instant::now() + PATIENCE;
    let bytes = loop {
        let bytes = std::fs::read(&raw).unwrap_or_default();
        if bytes.windows(12).any(|w| w == b"needs number") || Instant::now() > deadline {
            break bytes;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("needs number"), "the recording: {text:?}");
    for sequence in ["\x1b[2J", "\x1b]0;", "\x1b]52;", "\x07", "\rFAKE", "\u{9b}"] {
        assert!(
            !text.contains(sequence),
            "{sequence:?} reached the terminal: {text:?}"
        );
    }
    // Still there to read, as escapes: in the table, gather's rows, the stderr column
    // and the error message.
    assert_eq!(
        screen.matches("\\e[2J\\e]0;pwned\\x07").count(),
        6,
        "{screen}"
    );
    assert_eq!(
        screen
            .matches("\\e]52;c;ZXZpbA==\\x07ok\\rFAKE\\u{9b}31m")
            .count(),
        5,
        "{screen}"
    );
    assert_ne!(shell.title(), "pwned");
    assert_eq!(shell.title(), title);
    shell.keys(&["C-d"]);
}

/// `act` at a terminal shows its plan and acts only when the number of hosts is typed
/// back; any other answer changes nothing.
#[test]
fn act_asks_at_a_terminal_and_acts_only_on_the_number_of_hosts() {
    let _terminal = one_terminal_at_a_time();
    let fleet = SshdFleet::start(FleetSpec::new(4));
    for node in fleet.hosts() {
        std::fs::set_permissions(
            &node.data_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("shoal.toml");
    std::fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let marked = || {
        fleet
            .hosts()
            .iter()
            .filter(|n| n.data_dir.join("marker").exists())
            .count()
    };
    for (answer, exit, changed) in [("no", "EXIT=2", 0), ("2", "EXIT=0", 2)] {
        let shell = Terminal::start(&format!(
            "env NO_COLOR=1 SHOAL_STORE={} {} --inventory {} -c 'hosts | head 2 | act \"touch /etc/app/marker\" batch=1'; echo EXIT=$?; sleep 60",
            dir.path().join("store.db").display(),
            env!("CARGO_BIN_EXE_shoal"),
            inventory.display()
        ));
        let screen = shell.wait_for("the question", |s| s.contains("Type 2"));
        assert!(
            screen.contains("on 2 hosts") && screen.contains("2 waves"),
            "{screen}"
        );
        assert_eq!(marked(), 0, "nothing changes before the answer");
        shell.type_text(answer);
        shell.keys(&["Enter"]);
        shell.wait_for(exit, |s| s.contains(exit));
        assert_eq!(marked(), changed, "answer {answer}");
    }
}

/// `shoal watch` on a terminal redraws one table in place, marks the row that changed,
/// and stops at Ctrl-C; `:watch` in the shell does the same and returns to the prompt.
#[test]
fn watch_redraws_in_place_marks_a_change_and_stops_at_ctrl_c() {
    let _terminal = one_terminal_at_a_time();
    let fleet = SshdFleet::start(FleetSpec {
        files: Box::new(|_| vec![("health".into(), "OK\n".into())]),
        ..FleetSpec::new(3)
    });
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("shoal.toml");
    std::fs::write(&inventory, fleet.inventory_toml(|_| Vec::new())).unwrap();
    let query = "hosts | run \"cat /etc/app/health\" as health | select host, health";
    let shoal = format!(
        "env NO_COLOR=1 SHOAL_STORE={} {} --inventory {}",
        dir.path().join("store.db").display(),
        env!("CARGO_BIN_EXE_shoal"),
        inventory.display()
    );
    let watching = Terminal::start(&format!(
        "{shoal} watch --every 1s -c '{query}'; echo EXIT=$?; sleep 60"
    ));
    watching.wait_for("the second tick", |s| s.contains("tick 2"));
    // The visible screen only: tmux keeps what a clear scrolled away in its history.
    let visible = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", &watching.name])
        .output()
        .unwrap();
    let visible = String::from_utf8_lossy(&visible.stdout);
    assert_eq!(
        visible.matches("· tick ").count(),
        1,
        "one table, redrawn:\n{visible}"
    );
    std::fs::write(fleet.hosts()[0].data_dir.join("health"), "FAIL\n").unwrap();
    let screen = watching.wait_for("the change", |s| s.contains("FAIL"));
    let line = screen.lines().find(|l| l.contains("FAIL")).unwrap();
    assert!(
        line.contains("changed") && line.contains(&fleet.hosts()[0].name),
        "{screen}"
    );
    watching.keys(&["C-c"]);
    watching.wait_for("the end", |s| s.contains("EXIT=0"));

    let shell = Terminal::start(&shoal);
    shell.wait_prompts(1);
    shell.type_text(&format!(":watch 1s {query}"));
    shell.keys(&["Enter"]);
    shell.wait_for("a tick in the shell", |s| s.contains("tick 2"));
    shell.keys(&["C-c"]);
    shell.wait_prompts(1);
    shell.type_text("hosts | count");
    shell.keys(&["Enter"]);
    shell.wait_for("the shell answering again", |s| s.contains("│ 3"));
}
