//! A real browser through the demo: headless Chromium (`playwright-core` driving the system's
//! `/usr/bin/chromium`) signs in at a real OpenID Provider (`oidc_login_provider.mjs`), is asked
//! to step up by `RequireMfa` (a page saying why, with a button to the provider), passes MFA,
//! reads `/auth/session` and signs out through the provider's end_session. The walk itself is `tests/interop/browser_walk.mjs`; this test starts
//! the provider and the demo binary (as `demo.rs` does) and checks what the walk saw.
//!
//! Needs the `__interop` feature (Node.js, `npm ci --prefix tests/interop`) and Chromium
//! (`apt-get install -y chromium`; `.ci/run` installs it). A missing piece FAILS the test.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::demo::{free_port, start_on};
use crate::interop_support::{Peer, node, require};

const IRON_PASSWORD: &str = "a-browser-walk-cookie-password-of-32+-chars";

/// The browser the walk drives: `CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> String {
    crate::prerequisites::report();
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&path).exists(),
        "the browser test needs Chromium at {path}: install it with `apt-get install -y chromium` \
         (Debian/Ubuntu; .ci/run does this), or point CHROMIUM at a Chromium binary"
    );
    path
}

/// A fresh directory for the screenshots and the demo's log, kept after the test for a look.
fn work_dir() -> PathBuf {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("axum-session-mfa-browser-{nanos}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_person_signs_in_steps_up_and_signs_out() {
    let chromium = chromium();
    require("playwright-core");
    require("oidc-provider");

    // The demo's address first: the provider registers its callback and sign-out URLs.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let op = Peer::spawn_with_env(
        "oidc_login_provider.mjs",
        &[
            ("OP_REDIRECT_URIS", &format!("{base}/auth/callback")),
            ("OP_POST_LOGOUT_URIS", &format!("{base}/")),
            // Long enough that no refresh happens during the walk (the lifecycle tests cover it).
            ("OP_ACCESS_TTL", "600"),
        ],
    );
    let greeting: Value = serde_json::from_str(&op.greeting).unwrap();
    let s =
        |k: &str| greeting[k].as_str().unwrap_or_else(|| panic!("greeting lacks {k}")).to_owned();
    let (issuer, client_id, secret, resource) =
        (s("issuer"), s("client_id"), s("client_secret"), s("resource"));

    let dir = work_dir();
    let log = dir.join("demo.log");
    let demo = start_on(
        port,
        &[
            ("AUTH_OIDC_ISSUER", &issuer),
            ("AUTH_CLIENT_ID", &client_id),
            ("AUTH_CLIENT_SECRET", &secret),
            ("AUTH_RESOURCE", &resource),
            ("AUTH_IRON_PASSWORD", IRON_PASSWORD),
            ("RUST_LOG", "info"),
        ],
        Some(&log),
    );
    assert!(demo.output().contains("GET /auth/login"), "banner:\n{}", demo.output());

    let interop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let out = node(150)
        .arg(interop.join("browser_walk.mjs"))
        .arg(&demo.base)
        .arg(&issuer)
        .arg(dir.join("screenshots"))
        .env("CHROMIUM", &chromium)
        .current_dir(&interop)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js 20+"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!("browser_walk.mjs printed no result ({}):\n{stdout}\n{stderr}", out.status)
    });
    assert!(
        result["ok"] == true && out.status.success(),
        "the browser walk failed at \"{}\": {}\n  at {}\n  page: {}\n  navigations: {:#}\n  \
         screenshots: {}\n  demo log ({}):\n{}\n  node stderr:\n{stderr}",
        result["step"].as_str().unwrap_or("?"),
        result["error"].as_str().unwrap_or("?"),
        result["url"],
        result["text"],
        result["navigations"],
        result["shots"],
        log.display(),
        demo.output(),
    );

    // What the walk saw, beyond its own checks.
    let step_up_page = &result["step_up_page"];
    assert_eq!(step_up_page["status"], 403, "{result:#}");
    assert_eq!(step_up_page["href"], "/auth/login?step_up=1&return_to=%2Fadmin", "{result:#}");
    assert_eq!(result["step_up"]["max_age"], "0", "{result:#}");
    assert_eq!(result["admin"], json!({ "status": 200, "heading": "Admin area" }));
    let session = &result["session"];
    assert_eq!(session["authenticated"], true);
    assert_eq!(session["sub"], greeting["account"]["sub"]);
    assert!(session["amr"].as_array().unwrap().contains(&json!("mfa")), "{session}");
    assert_eq!(session["cache_control"], "no-store");
    assert!(session["cookie_bytes"].as_u64().unwrap() < 4000, "{session}");
    assert_eq!(result["home_signed_in"], json!({ "signIn": 0, "signOut": 1 }));
    assert_eq!(result["signed_out"]["home"], json!({ "signIn": 1, "signOut": 0 }));
    assert_eq!(result["signed_out"]["session"], json!({ "authenticated": false }));
    for shot in ["home-signed-in", "home-signed-out", "step-up", "admin"] {
        let file = result["screenshots"][shot].as_str().unwrap_or_default();
        assert!(Path::new(file).exists(), "no {shot} screenshot: {result:#}");
    }
    println!("screenshots at phone width: {}", dir.join("screenshots").display());
}
