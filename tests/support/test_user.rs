//! The local account every fleet logs in as: `shoaltest`, created on first use.

use std::fs::File;
use std::process::Command;
use std::sync::Once;

use super::addresses::lock_dir;

/// The account the fleet's sshd servers accept the client key for.
///
/// Its shell is `/bin/sh` because a shell that sources rc files adds 100 ms or more to every
/// command (see shared/PERFORMANCE-NOTES.md), which would swamp what the tests measure.
pub const TEST_USER: &str = "shoaltest";

/// Makes sure [`TEST_USER`] exists, creating it when missing.
///
/// Test threads in one binary share the `Once`; test binaries run in parallel (nextest)
/// share the file lock, so `useradd` never runs twice at once and never races `/etc/passwd`.
pub fn ensure_test_user() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let lock = File::create(lock_dir().join("useradd.lock"))
            .unwrap_or_else(|e| panic!("cannot create the useradd lock file: {e}"));
        lock.lock()
            .unwrap_or_else(|e| panic!("cannot lock the useradd lock file: {e}"));
        let shell = login_shell().unwrap_or_else(|| {
            create_test_user();
            login_shell().unwrap_or_else(|| panic!("{TEST_USER} is missing after useradd"))
        });
        assert_eq!(
            shell, "/bin/sh",
            "user {TEST_USER} exists with shell {shell}; the fleet needs /bin/sh \
             (fix with: usermod -s /bin/sh {TEST_USER})"
        );
    });
}

fn create_test_user() {
    // `*` rather than useradd's default `!`: with `UsePAM no`, sshd treats a `!` password
    // as a locked account and refuses even key logins.
    let status = Command::new("useradd")
        .args(["-m", "-s", "/bin/sh", "-p", "*", TEST_USER])
        .status()
        .unwrap_or_else(|e| panic!("cannot run useradd (run .ci/setup-sshd.sh): {e}"));
    assert!(status.success(), "useradd {TEST_USER} failed: {status}");
}

/// The user's login shell from `getent passwd`, or `None` when the user does not exist.
fn login_shell() -> Option<String> {
    let output = Command::new("getent")
        .args(["passwd", TEST_USER])
        .output()
        .unwrap_or_else(|e| panic!("cannot run getent: {e}"));
    // getent exits 2 when the key is not found.
    if !output.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&output.stdout);
    line.trim_end().rsplit(':').next().map(str::to_owned)
}

/// The numeric user id of [`TEST_USER`], creating the account when missing.
pub fn test_user_uid() -> u32 {
    ensure_test_user();
    let output = Command::new("id")
        .args(["-u", TEST_USER])
        .output()
        .unwrap_or_else(|e| panic!("cannot run id: {e}"));
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("`id -u {TEST_USER}` printed no number: {e}"))
}
