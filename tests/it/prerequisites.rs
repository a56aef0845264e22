//! What the README's test command needs besides Rust, checked once: the first test that needs
//! any of it prints one block that names everything missing and the command that installs it,
//! instead of each test failing with its own partial story. The tests still fail (a missing
//! peer is never a pass).

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once, OnceLock};

static REPORT: Once = Once::new();

/// Prints, once per test run, what is missing (nothing when all is there).
pub fn report() {
    REPORT.call_once(|| {
        let missing = missing();
        if missing.is_empty() {
            return;
        }
        // Straight to stderr: libtest captures the print macros, and this must be seen once.
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "\nMISSING PREREQUISITES (the tests that need them fail):");
        for (what, fix) in missing {
            let _ = writeln!(err, "  - {what}: {fix}");
        }
        let _ = writeln!(err, "  (.ci/run installs all of these on Debian)\n");
    });
}

fn runs(program: &str, arg: &str) -> Option<String> {
    let out = Command::new(program).arg(arg).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn missing() -> Vec<(&'static str, &'static str)> {
    let mut missing = Vec::new();
    let node_major = runs("node", "--version")
        .and_then(|v| v.trim().trim_start_matches('v').split('.').next()?.parse::<u32>().ok());
    if node_major.is_none_or(|m| m < 20) {
        missing.push(("Node.js 20 or newer (with npm)", "apt-get install -y nodejs npm"));
    }
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/node_modules");
    if !modules.join("oidc-provider").exists() {
        missing.push(("the npm peers", "npm ci --prefix tests/interop"));
    }
    if runs("redis-server", "--version").is_none() {
        missing.push(("redis-server", "apt-get install -y redis-server"));
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Path::new(&chromium).exists() {
        missing.push(("Chromium (/usr/bin/chromium, or CHROMIUM)", "apt-get install -y chromium"));
    }
    missing
}

/// The Redis the tests share: `REDIS_URL` when it is set, else one this test run starts on a
/// free port (it ends with the test process), else `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("REDIS_URL") {
            return url;
        }
        report();
        start_redis().unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
    })
    .clone()
}

/// The Redis this run started: kept here so its standard input stays open while we run.
static OWN_REDIS: OnceLock<Mutex<Child>> = OnceLock::new();

fn start_redis() -> Option<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    // `sh` ends redis-server once its standard input closes, which happens when this process
    // ends however it ends: no server outlives the tests.
    let script = format!(
        "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no & pid=$!; \
         cat >/dev/null; kill $pid"
    );
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let _ = OWN_REDIS.set(Mutex::new(child));
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(format!("redis://127.0.0.1:{port}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}
