//! The fake `sh` of a simulated host: it reads what shoal sends (an exec
//! request, or the lines of a persistent shell) and answers with exactly the
//! bytes `sh` would write, for the few commands a benchmark runs.
//!
//! shoal's side of the protocol is runtime/src/ssh/remote.rs: a persistent
//! shell is the exec request `exec sh -s`, then one line per batch of
//! commands (the fused stages of a pipeline), each command of it
//!
//! ```text
//! printf '%s go\n' M; shoal_c='CMD'; GUARD; printf '\n%s %d\n' M "$shoal_r"; printf '\n%s\n' M >&2; unset shoal_c shoal_w shoal_r;
//! ```
//!
//! with its own marker M, to which `sh` answers `M go\n`, the command's
//! stdout and `\nM STATUS\n` on stdout, and the command's stderr then `\nM\n`
//! on stderr; a new shell is first sent a probe, `shoal_r=0;` and the same
//! end of frame. A command
//! on a channel of its own is `exec sh -c 'GUARD' sh 'CMD'`. Nothing here
//! runs a process: the guard (a watchdog for timeouts) has nothing to guard,
//! so only the command is read out of the line and answered from
//! [`answer`]'s table. A line this module does not recognise is an error,
//! never a guess, so that a change to shoal's framing makes the benchmark
//! fail instead of hang or measure something else.

/// What a simulated host is: its position in the fleet and its name.
pub struct Host {
    /// 0-based; `cat /etc/app/version` prints `1.INDEX.0` on it.
    pub index: usize,
    pub name: String,
}

/// What one command printed and how it exited.
#[derive(Debug, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: u32,
}

/// The commands a simulated host knows, answered as a Debian host's `sh`
/// would answer them; anything else is "not found", as `sh` says it.
pub fn answer(host: &Host, command: &str) -> Output {
    let ok = |stdout: Vec<u8>| Output {
        stdout,
        stderr: Vec::new(),
        status: 0,
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["cat", "/etc/app/version"] => ok(format!("1.{}.0\n", host.index).into_bytes()),
        ["hostname"] => ok(format!("{}\n", host.name).into_bytes()),
        ["true"] | [":"] => ok(Vec::new()),
        ["false"] => Output {
            status: 1,
            ..ok(Vec::new())
        },
        // A large output of a known size, to time flow control.
        ["head", "-c", count, "/dev/zero"] if count.parse::<usize>().is_ok() => {
            ok(vec![0; count.parse().unwrap_or(0)])
        }
        _ => Output {
            stdout: Vec::new(),
            stderr: format!("sh: 1: {}: not found\n", words.first().unwrap_or(&"")).into_bytes(),
            status: 127,
        },
    }
}

/// What an exec request asks of a host.
#[derive(Debug, PartialEq, Eq)]
pub enum Exec {
    /// `exec sh -s`: a persistent shell reading lines from the channel.
    Shell,
    /// One command, answered then the channel closes.
    Command(String),
}

/// Reads an exec request: the persistent shell, shoal's guarded one-shot
/// `exec sh -c 'GUARD' sh 'CMD'`, or a bare command as a plain `ssh host
/// CMD` sends it.
pub fn exec_request(request: &[u8]) -> Result<Exec, Unrecognised> {
    let text = std::str::from_utf8(request).map_err(|_| Unrecognised::new(request))?;
    if text == "exec sh -s" {
        return Ok(Exec::Shell);
    }
    let Some(rest) = text.strip_prefix("exec sh -c ") else {
        return Ok(Exec::Command(text.to_owned()));
    };
    let (_guard, rest) = word(rest).ok_or_else(|| Unrecognised::new(request))?;
    let rest = rest
        .strip_prefix(" sh ")
        .ok_or_else(|| Unrecognised::new(request))?;
    match word(rest) {
        Some((command, "")) => Ok(Exec::Command(command)),
        _ => Err(Unrecognised::new(request)),
    }
}

/// Input the fake shell does not understand, as text for an error message.
#[derive(Debug, PartialEq, Eq)]
pub struct Unrecognised(pub String);

impl Unrecognised {
    fn new(input: &[u8]) -> Unrecognised {
        const SHOWN: usize = 200;
        let text = String::from_utf8_lossy(input);
        Unrecognised(text.chars().take(SHOWN).collect())
    }
}

/// A persistent shell's input, cut into the lines `sh` would run one at a
/// time: up to a newline that is not inside quotes (a quoted command may
/// hold newlines of its own).
#[derive(Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Adds `data` read from the channel; returns the lines it completed.
    pub fn push(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(data);
        let mut lines = Vec::new();
        while let Some(end) = line_end(&self.pending) {
            let rest = self.pending.split_off(end + 1);
            let mut line = std::mem::replace(&mut self.pending, rest);
            line.pop();
            lines.push(line);
        }
        lines
    }
}

/// Where the first line of `input` ends: its first newline outside quotes.
fn line_end(input: &[u8]) -> Option<usize> {
    #[derive(Clone, Copy)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut quote = Quote::None;
    let mut escaped = false;
    for (at, &byte) in input.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, byte) {
            (Quote::None, b'\n') => return Some(at),
            (Quote::None | Quote::Double, b'\\') => escaped = true,
            (Quote::None, b'\'') => quote = Quote::Single,
            (Quote::None, b'"') => quote = Quote::Double,
            (Quote::Single, b'\'') | (Quote::Double, b'"') => quote = Quote::None,
            _ => {}
        }
    }
    None
}

/// What one line of a persistent shell writes: (stdout, stderr), each
/// command's frames in turn.
pub fn run_line(host: &Host, line: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Unrecognised> {
    let unrecognised = || Unrecognised::new(line);
    let text = std::str::from_utf8(line).map_err(|_| unrecognised())?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut write = |start: &str, marker: &str, output: Output| {
        stdout.extend_from_slice(start.as_bytes());
        stdout.extend_from_slice(&output.stdout);
        stdout.extend_from_slice(format!("\n{marker} {}\n", output.status).as_bytes());
        stderr.extend_from_slice(&output.stderr);
        stderr.extend_from_slice(format!("\n{marker}\n").as_bytes());
    };
    let mut rest = text.trim_end();
    if let Some(probe) = rest.strip_prefix("shoal_r=0") {
        // The probe: the end of a frame for a command that succeeded.
        let marker = probe
            .strip_prefix("; printf '\\n%s %d\\n' ")
            .and_then(|tail| tail.split_once(' '))
            .map(|(marker, _)| marker)
            .filter(|marker| is_marker(marker))
            .ok_or_else(unrecognised)?;
        if probe != frame_end(marker) {
            return Err(unrecognised());
        }
        write("", marker, answer(host, "true"));
        return Ok((stdout, stderr));
    }
    while !rest.is_empty() {
        let (marker, after) = rest
            .strip_prefix("printf '%s go\\n' ")
            .and_then(|after| after.split_once("; shoal_c="))
            .filter(|(marker, _)| is_marker(marker))
            .ok_or_else(unrecognised)?;
        let (command, after) = word(after).ok_or_else(unrecognised)?;
        let end = frame_end(marker);
        let at = after.find(&end).ok_or_else(unrecognised)?;
        // The guard runs `$shoal_c`; without it the line would run nothing.
        let guard = &after[..at];
        if !guard.starts_with("; ") || !guard.contains("$shoal_c") {
            return Err(unrecognised());
        }
        write(&format!("{marker} go\n"), marker, answer(host, &command));
        rest = after[at + end.len()..].trim_start();
    }
    Ok((stdout, stderr))
}

/// The end of a command's part of a line, after its guard: remote.rs's
/// `frame` for `marker`.
fn frame_end(marker: &str) -> String {
    format!(
        "; printf '\\n%s %d\\n' {marker} \"$shoal_r\"; printf '\\n%s\\n' {marker} >&2; \
         unset shoal_c shoal_w shoal_r;"
    )
}

/// `shoal-` and hex digits, as shoal's markers are.
fn is_marker(text: &str) -> bool {
    text.strip_prefix("shoal-")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The first shell word of `text` with its quoting removed, and the rest
/// after it; `None` if a quote is left open. Handles the quoting shoal
/// writes (`'…'` with `'\''` for a quote) and the rest of POSIX's: double
/// quotes and backslashes.
fn word(text: &str) -> Option<(String, &str)> {
    let mut word = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' | ';' | '&' | '|' => return Some((word, &text[at..])),
            '\'' => {
                chars.next();
                loop {
                    match chars.next()? {
                        (_, '\'') => break,
                        (_, c) => word.push(c),
                    }
                }
            }
            '"' => {
                chars.next();
                loop {
                    match chars.next()? {
                        (_, '"') => break,
                        (_, '\\') => match chars.next()? {
                            (_, c @ ('$' | '`' | '"' | '\\')) => word.push(c),
                            (_, '\n') => {}
                            (_, c) => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        (_, c) => word.push(c),
                    }
                }
            }
            '\\' => {
                chars.next();
                match chars.next()? {
                    (_, '\n') => {}
                    (_, c) => word.push(c),
                }
            }
            c => {
                chars.next();
                word.push(c);
            }
        }
    }
    Some((word, ""))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    use super::*;
    use crate::remote;

    const MARKER: &str = "shoal-0123456789abcdef0123456789abcdef";

    fn host() -> Host {
        Host {
            index: 41,
            name: "sim00042".into(),
        }
    }

    /// What `run_line` answers to the line shoal writes for `command`.
    fn fake(command: &str) -> (Vec<u8>, Vec<u8>) {
        let mut lines = Lines::default();
        let line = remote::in_shell([(command, MARKER)]);
        let got = lines.push(line.as_bytes());
        assert_eq!(got.len(), 1, "one line per command");
        run_line(&host(), &got[0]).expect("a line shoal writes")
    }

    /// What a real `sh -s` writes for `line`: its stdout up to the frame's
    /// status line, its stderr up to the frame's marker. Input stays open
    /// until then: at end of input the guard's watchdog kills the session
    /// (hence `setsid`), as it would when shoal gives up on a command.
    fn real(line: &str) -> (Vec<u8>, Vec<u8>) {
        let mut child = Command::new("setsid")
            .args(["sh", "-s"])
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sh");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(line.as_bytes()).expect("write");
        let read_until = |stream: &mut dyn BufRead, last: &dyn Fn(&[u8]) -> bool| {
            let mut bytes = Vec::new();
            loop {
                let start = bytes.len();
                let read = stream.read_until(b'\n', &mut bytes).expect("read");
                assert!(read > 0, "sh ended before its frame");
                if last(&bytes[start..]) {
                    return bytes;
                }
            }
        };
        let start = format!("{MARKER} go\n");
        let stdout = read_until(
            &mut BufReader::new(child.stdout.take().expect("stdout")),
            &|line| line.starts_with(MARKER.as_bytes()) && line != start.as_bytes(),
        );
        let stderr = read_until(
            &mut BufReader::new(child.stderr.take().expect("stderr")),
            &|line| line == format!("{MARKER}\n").as_bytes(),
        );
        drop(stdin);
        let _ = child.wait();
        (stdout, stderr)
    }

    #[test]
    fn the_probe_and_commands_frame_exactly_as_sh_frames_them() {
        let probe = remote::probe(MARKER);
        let got = Lines::default().push(probe.as_bytes());
        assert_eq!(
            run_line(&host(), &got[0]).unwrap(),
            real(&probe),
            "the probe"
        );
        for command in ["true", "false"] {
            assert_eq!(
                fake(command),
                real(&remote::in_shell([(command, MARKER)])),
                "{command}"
            );
        }
    }

    #[test]
    fn canned_commands_answer_as_the_host() {
        let (stdout, stderr) = fake("cat /etc/app/version");
        assert_eq!(
            String::from_utf8(stdout).unwrap(),
            format!("{MARKER} go\n1.41.0\n\n{MARKER} 0\n")
        );
        assert_eq!(String::from_utf8(stderr).unwrap(), format!("\n{MARKER}\n"));

        let (stdout, stderr) = fake("no-such-tool --flag");
        assert!(stdout.ends_with(format!("\n{MARKER} 127\n").as_bytes()));
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            format!("sh: 1: no-such-tool: not found\n\n{MARKER}\n")
        );
        assert_eq!(answer(&host(), "hostname").stdout, b"sim00042\n");
        assert_eq!(answer(&host(), "head -c 5 /dev/zero").stdout, [0; 5]);
    }

    #[test]
    fn quoted_commands_come_back_whole_in_any_pieces() {
        let command = "printf 'it'\\''s\\n'; echo \"a; b\nc\" | x";
        let line = remote::in_shell([(command, MARKER)]);
        for step in [1, 3, 64, line.len()] {
            let mut lines = Lines::default();
            let mut got = Vec::new();
            for piece in line.as_bytes().chunks(step) {
                got.extend(lines.push(piece));
            }
            assert_eq!(got.len(), 1, "step {step}");
            let text = String::from_utf8(got.remove(0)).unwrap();
            let quoted = text.split_once("shoal_c=").unwrap().1;
            assert_eq!(word(quoted).unwrap().0, command, "step {step}");
            assert!(run_line(&host(), text.as_bytes()).is_ok(), "step {step}");
        }
        // Two lines in one packet are two lines.
        let two = remote::in_shell([("true", MARKER)]) + &remote::in_shell([("false", MARKER)]);
        assert_eq!(Lines::default().push(two.as_bytes()).len(), 2);
    }

    #[test]
    fn a_batch_line_answers_each_command_in_turn_as_sh_does() {
        let other = "shoal-fedcba9876543210fedcba9876543210";
        let line = remote::in_shell([("true", MARKER), ("false", other)]);
        let got = Lines::default().push(line.as_bytes());
        assert_eq!(got.len(), 1, "one line for the batch");
        let (stdout, stderr) = run_line(&host(), &got[0]).expect("a line shoal writes");
        assert_eq!(
            String::from_utf8(stdout).unwrap(),
            format!("{MARKER} go\n\n{MARKER} 0\n{other} go\n\n{other} 1\n")
        );
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            format!("\n{MARKER}\n\n{other}\n")
        );
    }

    #[test]
    fn the_one_shot_exec_and_plain_commands_are_read() {
        assert_eq!(
            exec_request(remote::PERSISTENT_SHELL.as_bytes()),
            Ok(Exec::Shell)
        );
        let command = "cat '/etc/app/version'; echo \"done\"";
        assert_eq!(
            exec_request(remote::wrap(command).as_bytes()),
            Ok(Exec::Command(command.into()))
        );
        assert_eq!(
            exec_request(b"hostname"),
            Ok(Exec::Command("hostname".into()))
        );
        assert!(exec_request(b"exec sh -c 'open").is_err());
    }

    #[test]
    fn lines_that_are_not_shoals_are_refused() {
        for line in [
            "echo hi",
            // A frame whose two markers differ.
            "shoal_r=0; printf '\\n%s %d\\n' shoal-ab \"$shoal_r\"; printf '\\n%s\\n' shoal-cd >&2; unset shoal_c shoal_w shoal_r",
            // A start line for another marker than the frame's.
            &remote::in_shell([("true", MARKER)]).replacen(MARKER, "shoal-ff", 1),
        ] {
            let line = line.trim_end_matches('\n');
            assert!(run_line(&host(), line.as_bytes()).is_err(), "{line}");
        }
    }

    /// The one-shot exec, as a real `sh -c` runs it, answers as the fake
    /// does.
    #[test]
    fn the_one_shot_exec_answers_as_sh_does() {
        for command in ["true", "false"] {
            let mut child = Command::new("setsid")
                .args(["--wait", "sh", "-c"])
                .arg(remote::wrap(command))
                .env("SHELL", "/bin/sh")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run sh");
            // Input open until the command is over, as shoal keeps it.
            let stdin = child.stdin.take();
            let real = child.wait_with_output().expect("sh ends");
            drop(stdin);
            let Ok(Exec::Command(read)) = exec_request(remote::wrap(command).as_bytes()) else {
                panic!("not read as a command");
            };
            let fake = answer(&host(), &read);
            assert_eq!(
                (fake.stdout, fake.stderr, Some(fake.status as i32)),
                (real.stdout, real.stderr, real.status.code()),
                "{command}"
            );
        }
    }

    #[test]
    fn lines_end_where_sh_ends_them() {
        let mut sh = Command::new("sh")
            .args(["-s"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start sh");
        let input = "echo 'a\nb'; echo \"c\\\"\n\"\necho end\n";
        sh.stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let stdout = BufReader::new(sh.stdout.take().unwrap());
        let printed: Vec<String> = stdout.lines().map(Result::unwrap).collect();
        let _ = sh.wait();
        assert_eq!(printed, ["a", "b", "c\"", "", "end"]);
        assert_eq!(Lines::default().push(input.as_bytes()).len(), 2);
    }
}
