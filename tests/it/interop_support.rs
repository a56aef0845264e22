//! Runs the Node.js peers in `tests/interop`. A missing prerequisite FAILS the test with the
//! command that installs it: interop tests are never skipped silently.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const INSTALL: &str = "run `npm ci --prefix tests/interop` (needs node >= 20 and npm)";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Panics with install instructions unless `node` runs and `package` is installed.
pub fn require(package: &str) {
    crate::prerequisites::report();
    let node = Command::new("node").arg("--version").output();
    match node {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "interop tests need Node.js: `node` was not found on PATH; install it, then {INSTALL}"
        ),
    }
    let installed = interop_dir().join("node_modules").join(package).join("package.json");
    assert!(installed.exists(), "the npm package `{package}` is missing: {INSTALL}");
}

/// `node` under coreutils' `timeout`, so a stuck peer fails the test instead of hanging CI.
pub fn node(limit_secs: u32) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg("--kill-after=5").arg(limit_secs.to_string()).arg("node");
    cmd
}

/// Runs a script to completion and returns its stdout (panics on failure, with stderr).
pub fn run(script: &str, args: &[&str]) -> String {
    let out = node(60)
        .arg(interop_dir().join(script))
        .args(args)
        .current_dir(interop_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); {INSTALL}"));
    assert!(
        out.status.success(),
        "{script} failed ({}); if packages are missing, {INSTALL}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// A long-running script, killed when dropped (also when the test panics).
pub struct Peer {
    child: Child,
    /// The first stdout line (the peer's JSON greeting).
    pub greeting: String,
}

impl Peer {
    pub fn spawn(script: &str) -> Self {
        Self::spawn_with_env(script, &[])
    }

    /// As `spawn`, with environment variables for the script.
    pub fn spawn_with_env(script: &str, env: &[(&str, &str)]) -> Self {
        let mut child = node(300)
            .arg(interop_dir().join(script))
            .envs(env.iter().copied())
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node ({e}); {INSTALL}"));
        let stdout = child.stdout.take().expect("piped stdout");
        // Guard first, so a failed read still kills the child.
        let mut peer = Self { child, greeting: String::new() };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read peer greeting");
        assert!(!line.trim().is_empty(), "{script} exited before printing its greeting; {INSTALL}");
        peer.greeting = line;
        peer
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
