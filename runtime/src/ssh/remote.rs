//! The shell text shoal sends to a host: POSIX single-quoting, the guard
//! that lets a timed-out or cancelled command actually end, and the two ways
//! a command reaches `sh`: one exec request per command, or a line written to
//! the host's persistent shell (shell.rs).
//!
//! Why a guard: closing a channel does not stop a remote process that never
//! writes (`sleep 600` survives it), and a server may ignore the `signal`
//! channel request (OpenSSH before 7.9 does, and every server refuses it for
//! forced commands). So the command runs inside a little POSIX `sh` text:
//!
//! * a watchdog in the background reads the channel's stdin, on which shoal
//!   sends nothing while the command runs; when shoal gives up on the command
//!   it sends EOF (or closes the channel, or the connection drops: sshd then
//!   closes the pipe too), the watchdog's `read` returns, and it kills the
//!   session's whole process group (sshd makes each session a process group
//!   leader, so `kill -9 0` reaches the command and everything it started,
//!   and nothing outside the session);
//! * the watchdog ignores TERM so that a `signal TERM` that the server does
//!   deliver to the group ends the command without also ending the watchdog,
//!   which then still cleans up whatever trapped the TERM;
//! * the command itself runs in the foreground, as the user's login shell
//!   would run it (`$SHELL -c`, exactly what a plain exec does), with stdin
//!   from /dev/null as with `ssh -n`, so exit code, `$?`, stdout and stderr
//!   are the command's own;
//! * after the command exits the watchdog is killed and reaped (a watchdog
//!   still dying could otherwise read the next command a persistent shell is
//!   sent), so a command that leaves a daemon behind (`nohup x &`) keeps it,
//!   as with plain ssh.
//!
//! Cost: every process the guard adds is forked on every host for every
//! command. The watchdog is one fork (a `read` builtin loop, no `cat`), and
//! when the login shell is `sh` itself the command is `eval`ed in a subshell
//! instead of starting a second shell. Measured on a 2-core machine with
//! dash, `hostname` took about 4.2 ms wrapped and 3.0 ms plain; a first
//! version with a `cat` watchdog and a second shell took 5 to 7 ms. The
//! persistent shell saves the rest: no session, login shell or `sh` to start.
//!
//! The watchdog deliberately uses no `sleep`, so checking a host for leftover
//! `sleep` processes after a timeout finds none of shoal's own.

use shoal_lang::shell_quote;

/// The guard around the command in `$shoal_c`, leaving its exit status in
/// `$shoal_r`. A macro rather than a `const` so that [`ONE_SHOT`] can
/// `concat!` it. One line, inside single quotes, so that any login shell
/// (bash, zsh, dash, even csh, which cannot quote a newline) passes it to
/// `sh` unchanged; the `!` of `$!` is safe because history expansion is off
/// in non-interactive shells. Its own variables are prefixed `shoal_` and
/// unset before the command runs, so the command sees the environment a plain
/// exec would give it.
macro_rules! guard {
    () => {
        concat!(
            // fd 3 lends the channel's stdin to the watchdog for this line
            // only: a background job's stdin is /dev/null unless redirected,
            // and the persistent shell keeps reading its own stdin.
            "{ (trap '' TERM; while read -r shoal_l; do :; done; kill -9 0) ",
            "<&3 >/dev/null 2>&1 & } 3<&0; shoal_w=$!; ",
            // The login shell is this very shell: a subshell `eval` is the
            // same language without starting another shell. Otherwise run it
            // as the login shell would, so bash or zsh syntax still works.
            "case ${SHELL:-/bin/sh} in ",
            "*/sh|*/dash) (unset shoal_w; eval \"unset shoal_c; $shoal_c\");; ",
            "*) \"$SHELL\" -c \"$shoal_c\";; ",
            "esac </dev/null; ",
            // `2>/dev/null` on `wait`: shells report a job killed by a signal
            // ("Killed") on stderr, which is the command's stderr here.
            "shoal_r=$?; kill -9 $shoal_w 2>/dev/null; wait $shoal_w 2>/dev/null",
        )
    };
}

/// The guard as one exec request runs it: `$1` is the user's command.
const ONE_SHOT: &str = concat!("shoal_c=$1; shift; ", guard!(), "; exit $shoal_r");

/// The exec request for `command` on a channel of its own: the guard with
/// the command as its argument.
pub(crate) fn wrap(command: &str) -> String {
    // `sh` as `$0`, as the command would see from a plain exec.
    format!(
        "exec sh -c {} sh {}",
        shell_quote(ONE_SHOT),
        shell_quote(command)
    )
}

/// The exec request that starts a persistent shell: `sh` reading commands
/// from the channel's stdin, started by the login shell as any command is.
/// `$0` is `sh`, as in [`wrap`].
pub(crate) const PERSISTENT_SHELL: &str = "exec sh -s";

/// The line a persistent shell reads to run `commands`, each `(command,
/// marker)`, one after another: for each, its start line, the guard, then
/// its end, framed by its marker (shell.rs reads them back). Markers are hex
/// and need no quoting.
///
/// One line however many commands (a command's own newlines sit inside its
/// quotes): `sh` parses a whole line before it runs any of it, so no
/// command, and no guard's watchdog reading the shell's stdin, can read the
/// commands after it as input. A command the shell never reaches (the one
/// before it timed out, and the shell was ended) never starts.
pub(crate) fn in_shell<'a>(commands: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut line = String::new();
    for (command, marker) in commands {
        line.push_str(&format!(
            "printf '%s go\\n' {marker}; shoal_c={}; {}; {} ",
            shell_quote(command),
            guard!(),
            frame(marker)
        ));
    }
    line.push('\n');
    line
}

/// The line that checks a new persistent shell answers: the framing of a
/// command that succeeded, without running one.
pub(crate) fn probe(marker: &str) -> String {
    format!("shoal_r=0; {}\n", frame(marker))
}

/// The end of a command: a newline then `marker` and the exit status on
/// stdout, a newline then `marker` on stderr. The newline is always written,
/// so output that lacks one keeps its last line apart from the marker; the
/// reader strips exactly that newline. `marker` is hex and needs no quoting.
fn frame(marker: &str) -> String {
    format!(
        "printf '\\n%s %d\\n' {marker} \"$shoal_r\"; printf '\\n%s\\n' {marker} >&2; \
         unset shoal_c shoal_w shoal_r;"
    )
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    #[test]
    fn the_scripts_are_one_line() {
        assert!(!ONE_SHOT.contains('\n'));
        let line = in_shell([("a\nb", "m1"), ("c", "m2")]);
        assert_eq!(
            line.matches('\n').count(),
            2,
            "the first command's own, and the end of the line"
        );
        assert!(line.ends_with('\n'));
        assert!(probe("m").ends_with('\n'));
    }

    /// Runs `wrap(command)` the way sshd would: `$SHELL -c <exec request>`,
    /// in its own session (sshd calls setsid for each session, and the
    /// watchdog kills that session's process group), with a pipe as stdin
    /// that the test controls.
    fn run_wrapped(
        command: &str,
        close_stdin_after: Option<std::time::Duration>,
    ) -> std::process::Output {
        run_wrapped_in("/bin/sh", command, close_stdin_after)
    }

    fn run_wrapped_in(
        shell: &str,
        command: &str,
        close_stdin_after: Option<std::time::Duration>,
    ) -> std::process::Output {
        let mut child = Command::new("setsid")
            .args(["--wait", shell, "-c"])
            .arg(wrap(command))
            .env("SHELL", shell)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        if let Some(after) = close_stdin_after {
            std::thread::sleep(after);
            drop(stdin);
            child.wait_with_output().unwrap()
        } else {
            let out = child.wait_with_output().unwrap();
            drop(stdin);
            out
        }
    }

    #[test]
    fn the_wrapper_keeps_exit_code_stdout_and_stderr() {
        let out = run_wrapped("echo out; echo err >&2; exit 3", None);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");

        let out = run_wrapped("false; echo \"status $?\"; printf 'it'\\''s'", None);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "status 1\nit's");
    }

    #[test]
    fn the_command_sees_a_clean_shell() {
        let out = run_wrapped("echo \"$0 $# [${shoal_c-unset}] [${shoal_w-unset}]\"", None);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "sh 0 [unset] [unset]\n"
        );

        let out = run_wrapped("if then", None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "a syntax error exits 2 as with sh -c"
        );
        assert!(!out.stderr.is_empty());
    }

    #[test]
    fn other_login_shells_run_the_command_themselves() {
        let out = run_wrapped_in(
            "/bin/bash",
            "[[ -n $BASH_VERSION ]] && echo bash; exit 4",
            None,
        );
        assert_eq!(out.status.code(), Some(4));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "bash\n");
    }

    #[test]
    fn the_command_reads_an_empty_stdin() {
        let out = run_wrapped("cat; echo done", None);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    }

    #[test]
    fn end_of_input_kills_the_whole_command() {
        let marker = format!("shoal-wrapper-test-{}", std::process::id());
        // A command that ignores TERM and would outlive its parent shell.
        let command = format!("trap '' TERM; sh -c 'sleep 30; echo {marker}' ; sleep 30");
        let out = run_wrapped(&command, Some(std::time::Duration::from_millis(300)));
        assert_eq!(out.status.code(), None, "killed by a signal");
        let left = Command::new("pgrep")
            .arg("-f")
            .arg(&marker)
            .output()
            .unwrap();
        assert!(
            left.stdout.is_empty(),
            "left behind: {}",
            String::from_utf8_lossy(&left.stdout)
        );
    }
}
