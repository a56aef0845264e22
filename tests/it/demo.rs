//! End to end: the demo binary (`cargo run --example demo`) started with each documented
//! environment configuration, driven over real HTTP on loopback. The demo needs the default
//! `jwks` feature, and so do these tests.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub struct Demo {
    child: Child,
    pub base: String,
    /// Where the demo's stdout and stderr go, when kept.
    log: Option<PathBuf>,
}

impl Demo {
    /// What the demo printed so far (empty unless started with a log file).
    pub fn output(&self) -> String {
        self.log.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary of the example `name`.
fn example_binary(name: &str) -> PathBuf {
    // tests run from target/<profile>/deps; cargo builds examples into target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|p| p.parent()).unwrap();
    let bin = profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} missing: run the tests with `cargo test`, which builds examples",
        bin.display()
    );
    bin
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(env: &[(&str, &str)]) -> Demo {
    start_on(free_port(), env, None)
}

/// Starts the demo binary on `127.0.0.1:<port>` with `env` (and nothing else but `DEMO_ADDR`
/// and `RUST_LOG=warn`, which `env` may override), its output in `log` when given, and waits
/// until it answers `/health`.
pub fn start_on(port: u16, env: &[(&str, &str)], log: Option<&Path>) -> Demo {
    start_example("demo", "DEMO_ADDR", "/health", port, env, log)
}

/// Starts the example `name` on `127.0.0.1:<port>` (told in the variable `addr_var`), as
/// [`start_on`] does, and waits until it answers `ready` with 200.
pub fn start_example(
    name: &str,
    addr_var: &str,
    ready: &str,
    port: u16,
    env: &[(&str, &str)],
    log: Option<&Path>,
) -> Demo {
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(example_binary(name));
    cmd.env_clear()
        .env(addr_var, &addr)
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(log) = log {
        let file = std::fs::File::create(log).unwrap();
        cmd.stdout(file.try_clone().unwrap()).stderr(file);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut demo = Demo {
        child: cmd.spawn().unwrap(),
        base: format!("http://{addr}"),
        log: log.map(Path::to_path_buf),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if http(&demo, "GET", ready, &[], None).0 == 200 {
            return demo;
        }
        if let Ok(Some(status)) = demo.child.try_wait() {
            panic!("{name} exited ({status}) instead of serving:\n{}", demo.output());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} did not answer {ready} within 20 s:\n{}", demo.output());
}

/// One request; returns (status, headers, body). Redirects are not followed.
pub fn http(
    demo: &Demo,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&str>,
) -> (u16, http::HeaderMap, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .proxy(None) // loopback only, whatever proxy the environment names
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let url = format!("{}{path}", demo.base);
    let result = match method {
        "POST" => {
            let mut req = agent.post(&url);
            // A form unless the caller names another content type.
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                req = req.header("content-type", "application/x-www-form-urlencoded");
            }
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send(form.unwrap_or_default())
        }
        _ => {
            let mut req = agent.get(&url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.call()
        }
    };
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let body = res.body_mut().read_to_string().unwrap_or_default();
            (status, headers, body)
        }
        Err(_) => (0, http::HeaderMap::new(), String::new()),
    }
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn session_cookie(headers: &http::HeaderMap, name: &str) -> String {
    let set = headers["set-cookie"].to_str().unwrap();
    let value = set.split(';').next().unwrap();
    assert!(value.starts_with(&format!("{name}=")), "{set}");
    value.to_owned()
}

#[test]
fn dev_issuer_shows_the_whole_flow() {
    let demo = start(&[]);
    assert_eq!(http(&demo, "GET", "/me", &[], None).0, 401);
    let (status, headers, _) = http(&demo, "GET", "/admin", &[], None);
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");

    // A signed-out browser is sent to the sign-in page, and back after signing in.
    let (status, headers, _) = http(&demo, "GET", "/admin", &[("accept", "text/html")], None);
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/?return_to=%2Fadmin");
    let (status, _, page) = http(&demo, "GET", "/?return_to=%2Fadmin", &[], None);
    assert_eq!(status, 200);
    assert!(page.contains(r#"name="return_to" value="/admin""#), "{page}");
    let (_, headers, _) =
        http(&demo, "POST", "/dev/login", &[], Some("method=mfa&return_to=%2Fadmin"));
    assert_eq!(headers["location"], "/admin");
    let (_, headers, _) = http(
        &demo,
        "POST",
        "/dev/login",
        &[],
        Some("method=mfa&return_to=https%3A%2F%2Fevil.example"),
    );
    assert_eq!(headers["location"], "/", "never off-site");

    // Password-only sign-in.
    let (status, headers, _) = http(&demo, "POST", "/dev/login", &[], Some("method=pwd"));
    assert_eq!(status, 303);
    let pwd = session_cookie(&headers, "session");
    let (status, _, body) = http(&demo, "GET", "/me", &[("cookie", &pwd)], None);
    assert_eq!(status, 200);
    let me = json_of(&body);
    assert_eq!(me["amr"], json!(["pwd"]));
    for field in ["sub", "sid", "org_id", "acr", "auth_time"] {
        assert!(!me[field].is_null(), "/me lacks {field}: {me}");
    }
    // API client: 403 with the RFC 9470 challenge. Browser: redirected to step up.
    let (status, headers, body) =
        http(&demo, "GET", "/admin", &[("cookie", &pwd), ("accept", "application/json")], None);
    assert_eq!(status, 403);
    assert!(
        headers["www-authenticate"].to_str().unwrap().contains("insufficient_user_authentication")
    );
    assert_eq!(json_of(&body)["code"], "insufficient_user_authentication");
    let browser = [("cookie", pwd.as_str()), ("accept", "text/html")];
    let (status, headers, _) = http(&demo, "GET", "/admin", &browser, None);
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/dev/step-up?return_to=%2Fadmin");
    assert_eq!(http(&demo, "GET", "/dev/step-up?return_to=%2Fadmin", &browser, None).0, 200);

    // Step up: same session id, mfa, fresh auth_time, back to /admin.
    let (status, headers, _) = http(
        &demo,
        "POST",
        "/dev/step-up",
        &[("cookie", &pwd)],
        Some("return_to=%2Fadmin&code=123456"),
    );
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/admin");
    let mfa = session_cookie(&headers, "session");
    let (status, _, body) =
        http(&demo, "GET", "/admin", &[("cookie", &mfa), ("accept", "text/html")], None);
    assert_eq!(status, 200, "{body}");
    let after = json_of(&http(&demo, "GET", "/me", &[("cookie", &mfa)], None).2);
    assert_eq!(after["sid"], me["sid"]);
    assert!(after["amr"].as_array().unwrap().contains(&json!("mfa")));
    assert_eq!(http(&demo, "GET", "/admin/recent", &[("cookie", &mfa)], None).0, 200);

    // The step-up endpoint never redirects off-site.
    let (_, headers, _) = http(
        &demo,
        "POST",
        "/dev/step-up",
        &[("cookie", &pwd)],
        Some("return_to=%2F%2Fevil.example&code=123456"),
    );
    assert_eq!(headers["location"], "/");
    // Bearer tokens work too.
    let token = http(&demo, "GET", "/dev/token?mfa=true", &[], None).2;
    assert_eq!(
        http(&demo, "GET", "/admin", &[("authorization", &format!("Bearer {token}"))], None).0,
        200
    );
}

#[test]
fn hs256_secret_configuration() {
    let secret = "demo-shared-secret-of-at-least-32-bytes";
    let demo = start(&[
        ("AUTH_HS256_SECRET", secret),
        ("AUTH_ISSUER", "https://a.example, https://b.example"),
        ("AUTH_AUDIENCE", "api"),
        ("AUTH_COOKIE", "__Host-sess"),
    ]);
    let key = EncodingKey::from_secret(secret.as_bytes());
    let token = |c: &Value| sign_with(&Header::new(Algorithm::HS256), c, &key);
    let mut c = claims();
    c["iss"] = json!("https://b.example");
    c["aud"] = json!("api");
    let pwd = token(&c);
    let (status, _, body) =
        http(&demo, "GET", "/me", &[("cookie", &format!("__Host-sess={pwd}"))], None);
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["sub"], "user_123");
    assert_eq!(
        http(&demo, "GET", "/admin", &[("authorization", &format!("Bearer {pwd}"))], None).0,
        403
    );
    c["amr"] = json!(["pwd", "mfa"]);
    assert_eq!(
        http(&demo, "GET", "/admin", &[("authorization", &format!("Bearer {}", token(&c)))], None)
            .0,
        200
    );
    c["iss"] = json!("https://c.example");
    let (status, _, body) =
        http(&demo, "GET", "/me", &[("authorization", &format!("Bearer {}", token(&c)))], None);
    assert_eq!((status, json_of(&body)["code"].clone()), (401, json!("wrong_issuer")));
    // No dev issuer when a key is configured.
    assert_eq!(http(&demo, "GET", "/dev/token", &[], None).0, 404);
}

#[test]
fn public_key_pem_configuration() {
    let demo = start(&[
        ("AUTH_PUBLIC_KEY_PEM", "tests/fixtures/keys/rsa_public.pem"),
        ("AUTH_ALG", "PS256"),
        ("AUTH_ISSUER", ISSUER),
    ]);
    let ps256 = sign(Algorithm::PS256, &mfa_claims());
    assert_eq!(
        http(&demo, "GET", "/admin", &[("cookie", &format!("session={ps256}"))], None).0,
        200
    );
    let rs256 = sign(Algorithm::RS256, &mfa_claims());
    let (status, _, body) =
        http(&demo, "GET", "/me", &[("authorization", &format!("Bearer {rs256}"))], None);
    assert_eq!((status, json_of(&body)["code"].clone()), (401, json!("algorithm_not_allowed")));
    drop(demo);

    let demo = start(&[("AUTH_PUBLIC_KEY_PEM", "tests/fixtures/keys/ec256_public.pem")]);
    let es256 = sign(Algorithm::ES256, &claims());
    assert_eq!(
        http(&demo, "GET", "/me", &[("authorization", &format!("Bearer {es256}"))], None).0,
        200
    );
    assert_eq!(
        http(&demo, "GET", "/admin", &[("authorization", &format!("Bearer {es256}"))], None).0,
        403
    );
}

/// Runs the demo with `env` (and nothing else) and expects it to refuse to start: exit status
/// 2, nothing served, stderr `demo: <message>`. Returns stderr. A demo that starts instead is
/// killed after 20 s and fails the test, rather than hanging it.
fn refused_start(env: &[(&OsStr, &OsStr)]) -> String {
    let mut cmd = Command::new(example_binary("demo"));
    cmd.env_clear()
        .env("DEMO_ADDR", "127.0.0.1:0")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            panic!("the demo started with {env:?} instead of refusing:\n{stdout}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
    assert!(stderr.starts_with("demo: "), "{env:?}: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("listening"), "{env:?}: {stdout}");
    stderr
}

fn os_env<'a>(env: &[(&'a str, &'a str)]) -> Vec<(&'a OsStr, &'a OsStr)> {
    env.iter().map(|(k, v)| (OsStr::new(*k), OsStr::new(*v))).collect()
}

#[test]
fn bad_configuration_fails_at_start_with_the_crates_message() {
    const RSA_PUBLIC: &str = "tests/fixtures/keys/rsa_public.pem";
    const SECRET: &str = "demo-shared-secret-of-at-least-32-bytes";
    // Each configuration, and what stderr must say: the crate's Display text, never a Debug
    // dump, and the variable or file it is about.
    for (env, says) in [
        (vec![("AUTH_HS256_SECRET", "short")], "AUTH_HS256_SECRET: HMAC secret is 5 bytes"),
        (vec![("AUTH_PUBLIC_KEY_PEM", "does/not/exist.pem")], "cannot read does/not/exist.pem"),
        (vec![("AUTH_PUBLIC_KEY_PEM", RSA_PUBLIC), ("AUTH_ALG", "ES256")], "AUTH_ALG"),
        (vec![("AUTH_ALG", "none"), ("AUTH_PUBLIC_KEY_PEM", RSA_PUBLIC)], "AUTH_ALG"),
        (vec![("AUTH_JWKS_URL", "http://127.0.0.1:9/jwks")], "AUTH_JWKS_URL needs AUTH_ISSUER"),
        (
            vec![("AUTH_HS256_SECRET", SECRET), ("AUTH_PUBLIC_KEY_PEM", RSA_PUBLIC)],
            "set only one key source",
        ),
        (vec![("AUTH_ALG", "RS256")], "AUTH_ALG applies to AUTH_PUBLIC_KEY_PEM only"),
        (
            vec![("AUTH_PUBLIC_KEY_PEM", "tests/fixtures/keys/rsa_private.pem")],
            "rsa_private.pem: this PEM holds a private key",
        ),
        (vec![("AUTH_IRON_PASSWORD", "too-short")], "AUTH_IRON_PASSWORD: "),
        (vec![("AUTH_HS256_SECRET", SECRET), ("DEMO_ADDR", "nowhere")], "DEMO_ADDR"),
    ] {
        let stderr = refused_start(&os_env(&env));
        assert!(stderr.contains(says), "{env:?}: {stderr}");
    }
}

/// `AUTH_RESOURCE_URL` makes the demo's API an OAuth protected resource: RFC 9728 metadata
/// naming the issuer, `resource_metadata` in the challenges, tokens bound to the resource, and
/// `/api/reports` asking for a scope.
#[test]
fn auth_resource_url_makes_the_api_a_protected_resource() {
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}");
    let demo = start_on(port, &[("AUTH_RESOURCE_URL", &resource)], None);
    let (status, headers, body) =
        http(&demo, "GET", "/.well-known/oauth-protected-resource", &[], None);
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (200, "application/json"));
    assert_eq!(
        json_of(&body),
        json!({
            "resource": resource,
            "authorization_servers": ["urn:axum-session-mfa:demo-issuer"],
            "bearer_methods_supported": ["header"],
        })
    );
    let metadata = format!("resource_metadata=\"{resource}/.well-known/oauth-protected-resource\"");
    let (status, headers, body) = http(&demo, "GET", "/api/reports", &[], None);
    assert_eq!((status, json_of(&body)["code"].clone()), (401, json!("missing_token")));
    assert_eq!(headers["www-authenticate"], format!("Bearer {metadata}").as_str());
    // The development issuer's tokens carry the resource as `aud`, and the scope asked for.
    let token = |query: &str| http(&demo, "GET", &format!("/dev/token?{query}"), &[], None).2;
    let bearer = |t: &str| format!("Bearer {t}");
    let (status, headers, body) = http(
        &demo,
        "GET",
        "/api/reports",
        &[("authorization", &bearer(&token("mfa=false")))],
        None,
    );
    assert_eq!((status, json_of(&body)["code"].clone()), (403, json!("insufficient_scope")));
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"reports:read\""), "{challenge}");
    assert!(challenge.ends_with(&metadata), "{challenge}");
    let scoped = token("scope=reports:read");
    let (status, _, body) =
        http(&demo, "GET", "/api/reports", &[("authorization", &bearer(&scoped))], None);
    assert_eq!((status, json_of(&body)["reports"][0].clone()), (200, json!("q3-revenue")));
    assert_eq!(http(&demo, "GET", "/me", &[("authorization", &bearer(&scoped))], None).0, 200);
    // Not a resource identifier RFC 9728 allows: the demo does not start.
    let stderr = refused_start(&os_env(&[("AUTH_RESOURCE_URL", "http://api.example.com/mcp")]));
    assert!(
        stderr.contains("AUTH_RESOURCE_URL: the resource identifier must use https"),
        "{stderr}"
    );
}

/// A key variable that is set but blank must not start the token-minting development issuer:
/// the user meant to configure a key.
#[test]
fn blank_auth_variable_is_a_startup_error_naming_it() {
    for name in [
        "AUTH_HS256_SECRET",
        "AUTH_PUBLIC_KEY_PEM",
        "AUTH_JWKS_URL",
        "AUTH_OIDC_ISSUER",
        "AUTH_WORKOS_CLIENT_ID",
        "AUTH_IRON_PASSWORD",
        "AUTH_ISSUER",
        "AUTH_CLIENT_ID",
        "AUTH_CLIENT_SECRET",
        "AUTH_REDIRECT_URI",
        "AUTH_SCOPES",
        "AUTH_RESOURCE",
        "AUTH_WORKOS_API_URL",
    ] {
        for blank in ["", "  ", "\t"] {
            let stderr = refused_start(&os_env(&[(name, blank)]));
            assert!(stderr.contains(&format!("{name} is set but blank")), "{name}: {stderr}");
        }
    }
    // Not UTF-8 either: std::env::var would call it absent.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let value = OsStr::from_bytes(b"\xff\xfe-not-utf8-secret-of-32-bytes-or-more");
        let stderr = refused_start(&[(OsStr::new("AUTH_HS256_SECRET"), value)]);
        assert!(stderr.contains("AUTH_HS256_SECRET is not valid UTF-8"), "{stderr}");
    }
}

/// A mistyped variable (here beside a valid key, or instead of one) is a startup error naming
/// it and the variables the demo reads (the right name among them); the demo does not ignore
/// it.
#[test]
fn unknown_auth_variable_is_a_startup_error_naming_it() {
    let secret = "demo-shared-secret-of-at-least-32-bytes";
    for (env, name, hint) in [
        (vec![("AUTH_JWKS_URI", "https://idp.example/jwks")], "AUTH_JWKS_URI", "AUTH_JWKS_URL"),
        (
            vec![("AUTH_HS256_SECRET", secret), ("AUTH_AUDIANCE", "api")],
            "AUTH_AUDIANCE",
            "AUTH_AUDIENCE",
        ),
        (vec![("auth_hs256_secret", secret)], "auth_hs256_secret", "AUTH_HS256_SECRET"),
        (vec![("AUTH_TOKEN", "x")], "AUTH_TOKEN", ""),
        (vec![("AUTH_CLIENT_SECRETS", "x")], "AUTH_CLIENT_SECRETS", "AUTH_CLIENT_SECRET"),
        (vec![("AUTH_REDIRECT_URL", "x")], "AUTH_REDIRECT_URL", "AUTH_REDIRECT_URI"),
        (vec![("AUTH_WORKOS_API_KEY", "sk_test")], "AUTH_WORKOS_API_KEY", "AUTH_WORKOS_API_URL"),
    ] {
        let stderr = refused_start(&os_env(&env));
        assert!(stderr.contains(&format!("unknown variable {name}")), "{env:?}: {stderr}");
        assert!(stderr.contains("the demo reads AUTH_"), "{env:?}: {stderr}");
        assert!(stderr.contains(hint), "{env:?}: {stderr}");
    }
}

/// Serves `/jwks` and `/sso/jwks/<client>` (the RSA fixture key as `kid` "demo-key") and an
/// OIDC discovery document on loopback from a background thread; returns the base URL.
fn key_server() -> String {
    use axum::Json;
    use axum::routing::get;

    axum_session_mfa::install_crypto_provider();
    let enc = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let mut jwk = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&enc, Algorithm::RS256).unwrap(),
    )
    .unwrap();
    jwk["kid"] = json!("demo-key");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = base.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let jwks = json!({ "keys": [jwk] });
            // Enough for the sign-in routes too (nothing here answers those endpoints).
            let discovery = json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks"),
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "end_session_endpoint": format!("{issuer}/session/end"),
            });
            let workos_jwks = jwks.clone();
            // Also an OpenID Shared Signals transmitter (AUTH_SSF_ISSUER) with the same keys.
            let ssf = json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks"),
                "delivery_methods_supported": ["urn:ietf:rfc:8935"],
            });
            let app = axum::Router::new()
                .route("/jwks", get(move || async move { Json(jwks) }))
                // Where the WorkOS preset looks for a client's keys (AUTH_WORKOS_API_URL).
                .route("/sso/jwks/{client}", get(move || async move { Json(workos_jwks) }))
                .route(
                    "/.well-known/openid-configuration",
                    get(move || async move { Json(discovery) }),
                )
                .route("/.well-known/ssf-configuration", get(move || async move { Json(ssf) }));
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    base
}

#[test]
fn remote_key_configurations() {
    let base = key_server();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("demo-key".into());
    let private = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let sign_for = |iss: &str, amr: Value| {
        let mut c = claims();
        c["iss"] = json!(iss);
        c["amr"] = amr;
        sign_with(&header, &c, &private)
    };

    // A bare JWKS URL, with AUTH_ISSUER for the iss check.
    let demo = start(&[("AUTH_JWKS_URL", &format!("{base}/jwks")), ("AUTH_ISSUER", ISSUER)]);
    let mfa = sign_for(ISSUER, json!(["pwd", "mfa"]));
    assert_eq!(
        http(&demo, "GET", "/admin", &[("authorization", &format!("Bearer {mfa}"))], None).0,
        200
    );
    let pwd = sign_for(ISSUER, json!(["pwd"]));
    assert_eq!(
        http(&demo, "GET", "/admin", &[("authorization", &format!("Bearer {pwd}"))], None).0,
        403
    );
    drop(demo);

    // OIDC discovery: keys and the accepted issuer come from the provider's document.
    let demo = start(&[("AUTH_OIDC_ISSUER", &base)]);
    let token = sign_for(&base, json!(["pwd", "mfa"]));
    let (status, _, body) =
        http(&demo, "GET", "/me", &[("cookie", &format!("session={token}"))], None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["iss"], json!(base));
    let foreign = sign_for("https://other.example", json!(["pwd", "mfa"]));
    let (status, _, body) =
        http(&demo, "GET", "/me", &[("authorization", &format!("Bearer {foreign}"))], None);
    assert_eq!((status, json_of(&body)["code"].clone()), (401, json!("wrong_issuer")));
}

#[cfg(feature = "authkit")]
#[test]
fn authkit_cookie_configuration() {
    use axum_session_mfa::authkit::IronPasswords;
    use axum_session_mfa::authkit::{AuthKitSession, SessionUser};

    let password = "a-cookie-password-of-at-least-32-characters!";
    // With a verification key from the environment: cookies sealed like AuthKit's.
    let secret = "demo-shared-secret-of-at-least-32-bytes";
    let demo = start(&[
        ("AUTH_HS256_SECRET", secret),
        ("AUTH_IRON_PASSWORD", password),
        ("AUTH_COOKIE", "wos-session"),
    ]);
    let key = EncodingKey::from_secret(secret.as_bytes());
    let passwords = IronPasswords::new("1", password).unwrap();
    let seal = |c: &Value| {
        let token = sign_with(&Header::new(Algorithm::HS256), c, &key);
        let user = SessionUser::new(c["sub"].as_str().unwrap());
        AuthKitSession::new(token, user).seal(&passwords).unwrap()
    };
    let cookie = format!("wos-session={}", seal(&claims()));
    let (status, _, body) = http(&demo, "GET", "/me", &[("cookie", &cookie)], None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["user"]["id"], "user_123");
    // No amr "mfa" in the token: RequireMfa denies, as it will for WorkOS tokens today.
    assert_eq!(http(&demo, "GET", "/admin", &[("cookie", &cookie)], None).0, 403);
    let mfa = format!("wos-session={}", seal(&mfa_claims()));
    assert_eq!(http(&demo, "GET", "/admin", &[("cookie", &mfa)], None).0, 200);
    let wrong = IronPasswords::new("1", "another-password-of-at-least-32-characters").unwrap();
    let token = sign_with(&Header::new(Algorithm::HS256), &mfa_claims(), &key);
    let forged = AuthKitSession::new(token, SessionUser::new("user_123")).seal(&wrong).unwrap();
    let (status, _, body) =
        http(&demo, "GET", "/admin", &[("cookie", &format!("wos-session={forged}"))], None);
    assert_eq!((status, json_of(&body)["code"].clone()), (401, json!("invalid_session")));
    drop(demo);

    // The development issuer hands out sealed wos-session cookies too.
    let demo = start(&[("AUTH_IRON_PASSWORD", password)]);
    let (_, headers, _) = http(&demo, "POST", "/dev/login", &[], Some("method=mfa"));
    let sealed = session_cookie(&headers, "wos-session");
    assert!(sealed.starts_with("wos-session=Fe26.2*1*"), "{sealed}");
    assert_eq!(http(&demo, "GET", "/admin", &[("cookie", &sealed)], None).0, 200);

    drop(demo);

    // The startup lines say that these tokens carry `amr`, unlike real WorkOS ones.
    let mut child = Command::new(example_binary("demo"))
        .env_clear()
        .env("DEMO_ADDR", "127.0.0.1:0")
        .env("AUTH_IRON_PASSWORD", password)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let banner: Vec<String> = std::io::BufRead::lines(stdout)
        .map_while(Result::ok)
        .take_while(|line| !line.contains("Browser:"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let banner = banner.join("\n");
    assert!(banner.contains("carry `amr`; real WorkOS access tokens do not"), "{banner}");
}

const IRON_PASSWORD: &str = "a-cookie-password-of-at-least-32-characters!";

/// The sign-in variables must come in combinations that mean one thing: each other case stops
/// the demo with a message naming the variables.
#[cfg(feature = "lifecycle")]
#[test]
fn sign_in_configuration_is_checked_at_start() {
    const OIDC: (&str, &str) = ("AUTH_OIDC_ISSUER", "http://127.0.0.1:9");
    const WORKOS: (&str, &str) = ("AUTH_WORKOS_CLIENT_ID", "client_demo");
    const ID: (&str, &str) = ("AUTH_CLIENT_ID", "demo-client");
    const SECRET: (&str, &str) = ("AUTH_CLIENT_SECRET", "a-client-secret");
    const IRON: (&str, &str) = ("AUTH_IRON_PASSWORD", IRON_PASSWORD);
    const HS256: (&str, &str) = ("AUTH_HS256_SECRET", "demo-shared-secret-of-at-least-32-bytes");
    for (env, says) in [
        (vec![OIDC, SECRET, IRON], "AUTH_CLIENT_SECRET needs AUTH_CLIENT_ID"),
        (vec![OIDC, ID, IRON], "AUTH_CLIENT_ID needs AUTH_CLIENT_SECRET"),
        (vec![OIDC, ID, SECRET], "need AUTH_IRON_PASSWORD"),
        (vec![WORKOS, SECRET], "need AUTH_IRON_PASSWORD"),
        (vec![WORKOS, SECRET, IRON, ID], "with WorkOS the client id is AUTH_WORKOS_CLIENT_ID"),
        (
            vec![WORKOS, SECRET, IRON, ("AUTH_SCOPES", "openid")],
            "AUTH_SCOPES applies to AUTH_OIDC_ISSUER only",
        ),
        (
            vec![WORKOS, SECRET, IRON, ("AUTH_RESOURCE", "https://api.example")],
            "AUTH_RESOURCE applies to AUTH_OIDC_ISSUER only",
        ),
        (
            vec![WORKOS, ("AUTH_WORKOS_API_URL", "http://127.0.0.1:9")],
            "AUTH_WORKOS_API_URL applies to the sign-in routes: set AUTH_CLIENT_SECRET",
        ),
        (
            vec![OIDC, ID, SECRET, IRON, ("AUTH_WORKOS_API_URL", "http://127.0.0.1:9")],
            "AUTH_WORKOS_API_URL applies to AUTH_WORKOS_CLIENT_ID only",
        ),
        (
            vec![OIDC, ("AUTH_REDIRECT_URI", "http://127.0.0.1:3000/auth/callback")],
            "AUTH_REDIRECT_URI applies to the sign-in routes: set AUTH_CLIENT_ID",
        ),
        (vec![SECRET], "AUTH_CLIENT_SECRET applies to the sign-in routes"),
        (vec![ID, SECRET, IRON], "no key source is set"),
        (vec![HS256, ID], "AUTH_HS256_SECRET only verifies tokens"),
        (vec![OIDC, ID, SECRET, IRON, ("AUTH_SCOPES", "profile email")], "must include openid"),
        (
            vec![WORKOS, SECRET, IRON, ("AUTH_AUDIENCE", "api")],
            "AUTH_AUDIENCE does not apply with the sign-in routes",
        ),
        // A protected resource with sign-in: the session's tokens must be bound to it.
        (
            vec![WORKOS, SECRET, IRON, ("AUTH_RESOURCE_URL", "https://api.example")],
            "AUTH_RESOURCE_URL needs AUTH_RESOURCE set to the same URL",
        ),
        (
            vec![
                OIDC,
                ID,
                SECRET,
                IRON,
                ("AUTH_RESOURCE", "https://api.example"),
                ("AUTH_RESOURCE_URL", "https://other.example"),
            ],
            "AUTH_RESOURCE_URL needs AUTH_RESOURCE set to the same URL",
        ),
        // Checked when the provider is set up: discovery, URLs.
        (vec![OIDC, ID, SECRET, IRON], "AUTH_OIDC_ISSUER http://127.0.0.1:9: "),
        (
            vec![WORKOS, SECRET, IRON, ("AUTH_REDIRECT_URI", "http://app.example/auth/callback")],
            "AUTH_REDIRECT_URI: the redirect URI \"http://app.example/auth/callback\" must be",
        ),
        (
            vec![WORKOS, SECRET, IRON, ("AUTH_WORKOS_API_URL", "http://workos.example")],
            "AUTH_WORKOS_API_URL: ",
        ),
        (
            vec![("AUTH_WORKOS_CLIENT_ID", "not a client id"), SECRET, IRON],
            "AUTH_WORKOS_CLIENT_ID: ",
        ),
        (vec![OIDC, ID, SECRET, ("AUTH_IRON_PASSWORD", "short")], "AUTH_IRON_PASSWORD: "),
        // The WorkOS events: WorkOS sign-in only, and `poll` is the one way to poll.
        (
            vec![OIDC, ID, SECRET, IRON, ("AUTH_WORKOS_WEBHOOK_SECRET", "whsec")],
            "AUTH_WORKOS_WEBHOOK_SECRET applies to AUTH_WORKOS_CLIENT_ID only",
        ),
        (
            vec![WORKOS, ("AUTH_WORKOS_EVENTS", "poll")],
            "AUTH_WORKOS_EVENTS applies to the sign-in routes: set AUTH_CLIENT_SECRET",
        ),
        (
            vec![HS256, ("AUTH_WORKOS_WEBHOOK_SECRET", "whsec")],
            "AUTH_WORKOS_WEBHOOK_SECRET applies to the sign-in routes",
        ),
        (vec![WORKOS, SECRET, IRON, ("AUTH_WORKOS_EVENTS", "push")], "AUTH_WORKOS_EVENTS \"push\""),
        (vec![HS256, ("AUTH_DPOP", "maybe")], "AUTH_DPOP is `allowed` or `required`"),
    ] {
        let stderr = refused_start(&os_env(&env));
        assert!(stderr.contains(says), "{env:?}: {stderr}");
    }
}

/// Built without the `lifecycle` feature, the demo says so instead of ignoring the sign-in
/// variables.
#[cfg(not(feature = "lifecycle"))]
#[test]
fn sign_in_needs_the_lifecycle_feature() {
    let env = [
        ("AUTH_OIDC_ISSUER", "http://127.0.0.1:9"),
        ("AUTH_CLIENT_ID", "demo-client"),
        ("AUTH_CLIENT_SECRET", "a-client-secret"),
        ("AUTH_IRON_PASSWORD", IRON_PASSWORD),
    ];
    let stderr = refused_start(&os_env(&env));
    assert!(stderr.contains("need the crate's `lifecycle` feature"), "{stderr}");
}

/// What a browser sees: HTML pages whose buttons follow the session, with escaped values; API
/// clients keep getting JSON.
#[test]
fn pages_follow_the_session_and_escape_what_they_show() {
    let demo = start(&[]);
    let html = [("accept", "text/html")];
    let (status, headers, page) = http(&demo, "GET", "/?return_to=%2Fadmin", &html, None);
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.contains(r#"<meta name="viewport" content="width=device-width"#), "{page}");
    assert!(page.contains("Sign in to continue to <code>/admin</code>"), "{page}");
    assert!(page.contains("Sign in with a password only") && !page.contains("Sign out"), "{page}");

    // A return_to that passes safe_return_to but is hostile HTML is shown escaped.
    let hostile = "/?return_to=%2F%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let (_, _, page) = http(&demo, "GET", hostile, &html, None);
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");

    let (_, headers, _) = http(&demo, "POST", "/dev/login", &[], Some("method=pwd"));
    let pwd = session_cookie(&headers, "session");
    let (_, _, page) = http(&demo, "GET", "/", &[("cookie", &pwd)], None);
    assert!(page.contains(r#"action="/dev/logout""#) && page.contains("Sign out"), "{page}");
    assert!(!page.contains("/dev/login") && page.contains("no MFA in this session"), "{page}");
    let (_, _, page) =
        http(&demo, "GET", "/dev/step-up?return_to=%2Fadmin", &[("cookie", &pwd)], None);
    assert!(page.contains(r#"<label for="code">"#) && page.contains(r#"id="code""#), "{page}");
    assert!(page.contains(r#"<a class="button" href="/">Cancel</a>"#), "{page}");
    assert!(page.contains("To continue to <code>/admin</code>"), "{page}");

    let (_, headers, _) = http(&demo, "POST", "/dev/login", &[], Some("method=mfa"));
    let mfa = session_cookie(&headers, "session");
    for path in ["/admin", "/admin/recent"] {
        let browser = [("cookie", mfa.as_str()), ("accept", "text/html,application/xhtml+xml")];
        let (status, headers, page) = http(&demo, "GET", path, &browser, None);
        assert_eq!(status, 200, "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(page.contains("Welcome to the admin area") && page.contains(r#"href="/""#));
        let (status, headers, body) = http(&demo, "GET", path, &[("cookie", &mfa)], None);
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["content-type"], "application/json", "{path}");
        assert_eq!(json_of(&body)["ok"], true, "{path}: {body}");
    }
}

/// WorkOS sign-in (AUTH_WORKOS_CLIENT_ID + AUTH_CLIENT_SECRET + AUTH_IRON_PASSWORD), with the
/// API at a loopback stand-in that serves the client's key set: the routes, the `wos-session`
/// cookie, `/admin/recent` as RequireRecentAuth, and `/admin` that explains instead of sending
/// the browser round in circles (WorkOS tokens carry no `amr`).
#[cfg(feature = "lifecycle")]
#[test]
fn workos_sign_in_configuration() {
    use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, SessionUser};

    let api = key_server();
    let port = free_port();
    let log = std::env::temp_dir().join(format!("demo-workos-{}-{port}.log", std::process::id()));
    let demo = start_on(
        port,
        &[
            ("AUTH_WORKOS_CLIENT_ID", "client_demo"),
            ("AUTH_CLIENT_SECRET", "sk_test_demo"),
            ("AUTH_IRON_PASSWORD", IRON_PASSWORD),
            ("AUTH_WORKOS_API_URL", &api),
        ],
        Some(&log),
    );
    let banner = demo.output();
    let _ = std::fs::remove_file(&log);
    for says in ["Signing users in with WorkOS AuthKit", "GET /auth/login", "RequireRecentAuth"] {
        assert!(banner.contains(says), "{says}: {banner}");
    }

    // Sign-in goes to the API given, with the demo's callback and a `wos-session-login` attempt.
    let (status, headers, _) = http(&demo, "GET", "/auth/login?return_to=%2Fadmin", &[], None);
    assert_eq!(status, 303);
    let location = headers["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{api}/user_management/authorize?")), "{location}");
    let callback = format!("http%3A%2F%2F127.0.0.1%3A{port}%2Fauth%2Fcallback");
    assert!(location.contains(&format!("redirect_uri={callback}")), "{location}");
    assert!(location.contains("client_id=client_demo"), "{location}");
    assert!(headers["set-cookie"].to_str().unwrap().starts_with("wos-session-login"));

    let (_, _, body) = http(&demo, "GET", "/auth/session", &[], None);
    assert_eq!(json_of(&body), json!({ "authenticated": false }));
    let (_, _, page) = http(&demo, "GET", "/", &[("accept", "text/html")], None);
    assert!(page.contains(r#"href="/auth/login?return_to=%2F">Sign in</a>"#), "{page}");
    assert!(!page.contains("Sign out"), "{page}");
    let html = [("accept", "text/html")];
    let (status, headers, _) = http(&demo, "GET", "/admin/recent", &html, None);
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/auth/login?return_to=%2Fadmin%2Frecent")
    );
    assert_eq!(http(&demo, "GET", "/admin", &[], None).0, 401);

    // A session sealed as the callback would: WorkOS claims, no `amr`.
    let private = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("demo-key".into());
    let passwords = IronPasswords::new("1", IRON_PASSWORD).unwrap();
    let session = |signed_in_ago: u64| {
        let mut c = claims();
        c["iss"] = json!("https://api.workos.com/user_management/client_demo");
        c["auth_time"] = json!(now() - signed_in_ago);
        c.as_object_mut().unwrap().remove("amr");
        let token = sign_with(&header, &c, &private);
        let sealed = AuthKitSession::new(token, SessionUser::new("user_123")).seal(&passwords);
        format!("wos-session={}", sealed.unwrap())
    };
    let fresh = session(10);
    let (_, _, body) = http(&demo, "GET", "/auth/session", &[("cookie", &fresh)], None);
    let body = json_of(&body);
    assert_eq!((body["authenticated"].clone(), body["amr"].clone()), (json!(true), Value::Null));
    assert_eq!(http(&demo, "GET", "/admin/recent", &[("cookie", &fresh)], None).0, 200);
    let (_, _, page) = http(&demo, "GET", "/", &[("cookie", &fresh)], None);
    assert!(page.contains(r#"action="/auth/logout""#) && !page.contains(">Sign in<"), "{page}");

    // /admin: API clients get the challenge; browsers a page, not a sign-in that cannot help.
    let (status, _, body) = http(&demo, "GET", "/admin", &[("cookie", &fresh)], None);
    assert_eq!(
        (status, json_of(&body)["code"].clone()),
        (403, json!("insufficient_user_authentication"))
    );
    let browser = [("cookie", fresh.as_str()), ("accept", "text/html")];
    let (status, headers, page) = http(&demo, "GET", "/admin", &browser, None);
    assert_eq!(status, 403);
    assert!(headers.get("location").is_none());
    assert!(page.contains("This page needs proof of MFA") && page.contains("<code>/admin</code>"));

    // Sudo mode: a sign-in older than 300 s is asked to sign in again, with max_age.
    let stale = session(1000);
    let browser = [("cookie", stale.as_str()), ("accept", "text/html")];
    let (status, headers, page) = http(&demo, "GET", "/admin/recent", &browser, None);
    assert_eq!(status, 403);
    assert!(headers.get("location").is_none());
    assert!(page.contains("needs a sign-in within the last 5 minutes"), "{page}");
    let step_up = "/auth/login?step_up=1&amp;return_to=%2Fadmin%2Frecent&amp;max_age=300";
    assert!(page.contains(&format!("href=\"{step_up}\"")), "{page}");
    assert!(page.contains("Continue to WorkOS AuthKit</a>"), "{page}");
    // No MFA step-up offered at home: WorkOS tokens never carry `amr`.
    let (_, _, page) = http(&demo, "GET", "/", &[("cookie", &fresh)], None);
    assert!(!page.contains("Verify with MFA"), "{page}");
    assert_eq!(http(&demo, "GET", "/admin/recent", &[("cookie", &stale)], None).0, 403);

    // Sign-out ends the WorkOS session too, and comes back to the demo's home.
    let (status, headers, _) = http(&demo, "POST", "/auth/logout", &[("cookie", &fresh)], None);
    assert_eq!(status, 303);
    let location = headers["location"].to_str().unwrap();
    let home = format!("http%3A%2F%2F127.0.0.1%3A{port}%2F");
    assert_eq!(
        location,
        format!("{api}/user_management/sessions/logout?session_id=session_abc&return_to={home}")
    );
    assert!(headers["set-cookie"].to_str().unwrap().starts_with("wos-session=;"), "{headers:?}");
}

/// OpenID sign-in (AUTH_OIDC_ISSUER + AUTH_CLIENT_ID + AUTH_CLIENT_SECRET + AUTH_IRON_PASSWORD)
/// with AUTH_SCOPES and AUTH_RESOURCE: what the sign-in asks the provider for, the cookie
/// name, the resource as required audience, and the step-up redirects. The whole round trip
/// with a real provider and a real browser is `browser::a_person_signs_in_steps_up_and_signs_out`.
#[cfg(feature = "lifecycle")]
#[test]
fn oidc_sign_in_configuration() {
    let issuer = key_server();
    let port = free_port();
    let demo = start_on(
        port,
        &[
            ("AUTH_OIDC_ISSUER", &issuer),
            ("AUTH_CLIENT_ID", "demo-client"),
            ("AUTH_CLIENT_SECRET", "a-client-secret"),
            ("AUTH_IRON_PASSWORD", IRON_PASSWORD),
            ("AUTH_SCOPES", "openid email"),
            ("AUTH_RESOURCE", "https://api.demo.test"),
        ],
        None,
    );
    let (status, headers, _) = http(&demo, "GET", "/auth/login?return_to=%2Fadmin", &[], None);
    assert_eq!(status, 303);
    let location = headers["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{issuer}/authorize?")), "{location}");
    let callback = format!("http%3A%2F%2F127.0.0.1%3A{port}%2Fauth%2Fcallback");
    for part in [
        "client_id=demo-client".to_owned(),
        format!("redirect_uri={callback}"),
        "scope=openid+email".to_owned(),
        "resource=https%3A%2F%2Fapi.demo.test".to_owned(),
        "code_challenge_method=S256".to_owned(),
    ] {
        assert!(location.contains(&part), "{part}: {location}");
    }
    // The session cookie keeps its plain name with an OpenID Provider.
    assert!(headers["set-cookie"].to_str().unwrap().starts_with("session-login"));

    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("demo-key".into());
    let private = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let token = |amr: Value, aud: Option<&str>| {
        let mut c = claims();
        c["iss"] = json!(issuer);
        c["amr"] = amr;
        if let Some(aud) = aud {
            c["aud"] = json!(aud);
        }
        format!("Bearer {}", sign_with(&header, &c, &private))
    };
    let mfa = token(json!(["pwd", "mfa"]), Some("https://api.demo.test"));
    assert_eq!(http(&demo, "GET", "/admin", &[("authorization", &mfa)], None).0, 200);
    assert_eq!(http(&demo, "GET", "/admin/recent", &[("authorization", &mfa)], None).0, 200);
    // AUTH_RESOURCE is the audience the tokens must carry.
    let elsewhere = token(json!(["pwd", "mfa"]), None);
    assert_eq!(http(&demo, "GET", "/me", &[("authorization", &elsewhere)], None).0, 401);

    // Browsers: signed out -> sign in; password-only -> step up (max_age=0 is the route's).
    let html = [("accept", "text/html")];
    let (status, headers, _) = http(&demo, "GET", "/admin", &html, None);
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (303, "/auth/login?return_to=%2Fadmin")
    );
    // Password-only: a page that says why, with a button to the step-up sign-in the redirect
    // would have used (max_age=0 is the route's; /admin/recent keeps its max_age=300).
    let pwd = token(json!(["pwd"]), Some("https://api.demo.test"));
    let browser = [("authorization", pwd.as_str()), ("accept", "text/html")];
    for (path, needs, step_up) in [
        (
            "/admin",
            "needs a recent multi-factor sign-in",
            "/auth/login?step_up=1&amp;return_to=%2Fadmin\"",
        ),
        (
            "/admin/recent",
            "needs a multi-factor sign-in within the last 5 minutes",
            "/auth/login?step_up=1&amp;return_to=%2Fadmin%2Frecent&amp;max_age=300\"",
        ),
    ] {
        let (status, headers, page) = http(&demo, "GET", path, &browser, None);
        assert_eq!(status, 403, "{path}");
        assert!(headers.get("location").is_none(), "{path}");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(page.contains(&format!("<code>{path}</code> {needs}")), "{path}: {page}");
        assert!(page.contains(&format!("href=\"{step_up}")), "{path}: {page}");
        assert!(page.contains(&format!("Continue to {issuer}</a>")), "{path}: {page}");
    }
    // A fetch (not a navigation) keeps the JSON challenge.
    let fetch =
        [("authorization", pwd.as_str()), ("accept", "text/html"), ("sec-fetch-mode", "cors")];
    let (status, headers, _) = http(&demo, "GET", "/admin", &fetch, None);
    assert_eq!(status, 403);
    assert!(
        headers["www-authenticate"].to_str().unwrap().contains("insufficient_user_authentication")
    );
    // The home page offers the same step-up to a session without MFA, and not to one with it.
    let (_, _, page) = http(&demo, "GET", "/", &browser, None);
    assert!(page.contains(r#"href="/auth/login?step_up=1&amp;return_to=%2F">"#), "{page}");
    assert!(page.contains("Verify with MFA (step up)"), "{page}");
    let (_, _, page) = http(&demo, "GET", "/", &[("authorization", &mfa)], None);
    assert!(!page.contains("Verify with MFA") && page.contains("Sign out"), "{page}");
    let (status, _, body) = http(&demo, "GET", "/admin", &[("authorization", &pwd)], None);
    assert_eq!(
        (status, json_of(&body)["code"].clone()),
        (403, json!("insufficient_user_authentication"))
    );
}

/// `AUTH_REDIS_URL`: `POST /admin/revoke` (MFA only) revokes on every instance, including one
/// started afterwards.
#[cfg(feature = "redis")]
#[test]
fn revoke_through_the_demo_holds_on_every_instance() {
    let secret = "demo-shared-secret-of-at-least-32-bytes";
    let redis = crate::prerequisites::redis_url();
    let env = [("AUTH_HS256_SECRET", secret), ("AUTH_REDIS_URL", redis.as_str())];
    let (a, b) = (start(&env), start(&env));
    let key = EncodingKey::from_secret(secret.as_bytes());
    let token = |c: &Value| sign_with(&Header::new(Algorithm::HS256), c, &key);
    let sid = format!("session_demo_{}_{}", std::process::id(), now());
    let mut victim = claims();
    victim["sid"] = json!(sid);
    let victim = format!("Bearer {}", token(&victim));
    let mut admin = claims();
    admin["amr"] = json!(["pwd", "mfa"]);
    admin["sid"] = json!("session_admin");
    let admin = format!("Bearer {}", token(&admin));
    let pwd_only = format!("Bearer {}", token(&claims()));
    assert_eq!(http(&b, "GET", "/me", &[("authorization", &victim)], None).0, 200);
    let body = json!({ "sid": sid }).to_string();
    // MFA-guarded: a password-only session gets 403, no session 401.
    let (status, _, _) =
        http(&a, "POST", "/admin/revoke", &[("authorization", &pwd_only), JSON], Some(&body));
    assert_eq!(status, 403);
    assert_eq!(http(&a, "POST", "/admin/revoke", &[JSON], Some(&body)).0, 401);
    // Bad bodies: 400.
    for bad in ["{}", r#"{"sid":"a","sub":"b"}"#, "not json", r#"{"sid":""}"#, r#"{"jti":"x"}"#] {
        let (status, _, _) =
            http(&a, "POST", "/admin/revoke", &[("authorization", &admin), JSON], Some(bad));
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _, _) =
        http(&a, "POST", "/admin/revoke", &[("authorization", &admin), JSON], Some(&body));
    assert_eq!(status, 204);
    // Refused on A at once, on B within moments, and on an instance started afterwards.
    let (status, _, body_a) = http(&a, "GET", "/me", &[("authorization", &victim)], None);
    assert_eq!((status, json_of(&body_a)["code"].clone()), (401, json!("session_revoked")));
    let refused_on_b = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        http(&b, "GET", "/me", &[("authorization", &victim)], None).0 == 401
    });
    assert!(refused_on_b, "instance B still accepts the revoked session");
    let c = start(&env);
    let (status, _, body_c) = http(&c, "GET", "/me", &[("authorization", &victim)], None);
    assert_eq!((status, json_of(&body_c)["code"].clone()), (401, json!("session_revoked")));
    // Others are untouched.
    assert_eq!(http(&c, "GET", "/admin", &[("authorization", &admin)], None).0, 200);
}

/// The banner says which shared state the demo uses and whether it answered, never the Redis
/// password: Redis over TLS with `AUTH_REDIS_CA_FILE`; a Redis that is down gets a WARNING
/// block on stderr (and the demo serves anyway); URLs and CA files it cannot use stop it.
#[cfg(feature = "redis")]
#[test]
fn the_banner_names_the_shared_state_and_warns_when_redis_is_down() {
    const SECRET: &str = "s3cret-redis-password";
    let hs = ("AUTH_HS256_SECRET", "demo-shared-secret-of-at-least-32-bytes");
    let dir = std::env::temp_dir().join(format!("it-demo-banner-{}-{}", std::process::id(), now()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = |name: &str| dir.join(name);

    let memory = start_on(free_port(), &[hs], Some(&log("memory.log")));
    let out = memory.output();
    assert!(out.contains("Shared state: in memory"), "{out}");
    assert!(!out.contains("WARNING"), "{out}");

    // Redis over TLS, trusting the test CA; the default user takes any password.
    let redis = crate::redis_tls::TlsRedis::start();
    let url = format!("rediss://default:{SECRET}@127.0.0.1:{}", redis.redis.port);
    let ca = redis.ca_file();
    let env = [hs, ("AUTH_REDIS_URL", &url), ("AUTH_REDIS_CA_FILE", ca.to_str().unwrap())];
    let tls = start_on(free_port(), &env, Some(&log("tls.log")));
    let out = tls.output();
    let place = format!("Redis at 127.0.0.1:{} over TLS, trusting the CA in", redis.redis.port);
    assert!(out.contains(&place), "{out}");
    assert!(out.contains("it answered at start"), "{out}");
    assert!(!out.contains("WARNING") && !out.contains(SECRET), "{out}");
    let mfa = {
        let mut c = claims();
        c["amr"] = json!(["pwd", "mfa"]);
        let key = EncodingKey::from_secret(hs.1.as_bytes());
        format!("Bearer {}", sign_with(&Header::new(Algorithm::HS256), &c, &key))
    };
    assert_eq!(http(&tls, "GET", "/admin", &[("authorization", &mfa)], None).0, 200);

    // Down (nothing listens on port 1): served anyway, with a loud warning.
    let down_url = format!("redis://:{SECRET}@127.0.0.1:1");
    let down = start_on(free_port(), &[hs, ("AUTH_REDIS_URL", &down_url)], Some(&log("down.log")));
    let out = down.output();
    assert!(out.contains("Redis at 127.0.0.1:1 without TLS: it did NOT answer at start"), "{out}");
    let warnings = out.lines().filter(|l| l.starts_with("WARNING:")).count();
    assert!(warnings >= 5, "a multi-line WARNING block: {out}");
    assert!(!out.contains(SECRET), "{out}");
    assert_eq!(http(&down, "GET", "/health", &[], None).0, 200);

    // What it cannot use stops it, saying why.
    let garbage = log("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let tls_url = format!("rediss://default:{SECRET}@127.0.0.1:6380");
    for (env, says) in [
        (vec![hs, ("AUTH_REDIS_CA_FILE", ca.to_str().unwrap())], "AUTH_REDIS_CA_FILE applies to"),
        (
            vec![hs, ("AUTH_REDIS_URL", &tls_url), ("AUTH_REDIS_CA_FILE", "does/not/exist.pem")],
            "AUTH_REDIS_CA_FILE: cannot read does/not/exist.pem",
        ),
        (
            vec![
                hs,
                ("AUTH_REDIS_URL", &tls_url),
                ("AUTH_REDIS_CA_FILE", garbage.to_str().unwrap()),
            ],
            "the CA PEM holds no certificate",
        ),
        (
            vec![hs, ("AUTH_REDIS_URL", &format!("http://default:{SECRET}@127.0.0.1:6379"))],
            "unknown URL scheme `http`",
        ),
    ] {
        let stderr = refused_start(&os_env(&env));
        assert!(stderr.contains(says), "{env:?}: {stderr}");
        assert!(!stderr.contains(SECRET), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// `POST /admin/revoke` with the development issuer: yours always, anyone else's with the
/// admin role only; JSON only; ids of 1 to 255 bytes.
#[test]
fn revoke_takes_your_own_sessions_and_others_only_for_admins() {
    let demo = start(&[]);
    let token = |query: &str| {
        let (status, headers, token) =
            http(&demo, "GET", &format!("/dev/token?mfa=true{query}"), &[], None);
        assert_eq!((status, headers["cache-control"].to_str().unwrap()), (200, "no-store"));
        format!("Bearer {token}")
    };
    let me = |auth: &str| {
        let (status, _, body) = http(&demo, "GET", "/me", &[("authorization", auth)], None);
        (status, json_of(&body))
    };
    let revoke = |auth: &str, body: &Value| {
        let (status, headers, body) = http(
            &demo,
            "POST",
            "/admin/revoke",
            &[("authorization", auth), JSON],
            Some(&body.to_string()),
        );
        (status, headers, json_of(&body))
    };
    let (member, other_member, admin) = (token("&role=member"), token("&role=member"), token(""));
    let sid = |auth: &str| me(auth).1["sid"].as_str().unwrap().to_owned();
    let (member_sid, other_sid, admin_sid) = (sid(&member), sid(&other_member), sid(&admin));

    // Someone else's session or user, without the admin role: 403 forbidden, nothing revoked.
    for body in [json!({ "sid": admin_sid }), json!({ "sub": "user_other" })] {
        let (status, headers, problem) = revoke(&member, &body);
        assert_eq!((status, problem["code"].clone()), (403, json!("forbidden")), "{body}");
        assert_eq!(problem["error"], "forbidden");
        assert_eq!(headers["content-type"], "application/problem+json");
    }
    assert_eq!(me(&admin).0, 200);

    // Your own session: 204, and it is refused from then on.
    let (status, _, _) = revoke(&member, &json!({ "sid": member_sid }));
    assert_eq!(status, 204);
    let (status, body) = me(&member);
    assert_eq!((status, body["code"].clone()), (401, json!("session_revoked")));

    // An admin revokes another session.
    assert_eq!(revoke(&admin, &json!({ "sid": other_sid })).0, 204);
    assert_eq!(me(&other_member).0, 401);
    assert_eq!(me(&admin).0, 200);

    // JSON only, by media type (parameters allowed, prefixes not): 415.
    let body = json!({ "sid": "session_elsewhere" }).to_string();
    for content_type in
        ["text/plain", "application/jsonx", "application/x-www-form-urlencoded", "json"]
    {
        let headers = [("authorization", admin.as_str()), ("content-type", content_type)];
        let (status, _, problem) = http(&demo, "POST", "/admin/revoke", &headers, Some(&body));
        assert_eq!(
            (status, json_of(&problem)["code"].clone()),
            (415, json!("unsupported_media_type")),
            "{content_type}"
        );
    }
    let headers =
        [("authorization", admin.as_str()), ("content-type", "Application/JSON; charset=utf-8")];
    assert_eq!(http(&demo, "POST", "/admin/revoke", &headers, Some(&body)).0, 204);

    // Ids of 1 to 255 bytes: 400 invalid_id otherwise.
    for id in [String::new(), "s".repeat(256), "é".repeat(128)] {
        for field in ["sid", "sub"] {
            let (status, _, problem) = revoke(&admin, &json!({ field: id }));
            assert_eq!(
                (status, problem["code"].clone()),
                (400, json!("invalid_id")),
                "{field} {}",
                id.len()
            );
        }
    }
    assert_eq!(revoke(&admin, &json!({ "sid": "s".repeat(255) })).0, 204);
    let (status, _, problem) = revoke(&admin, &json!({ "sid": "a", "sub": "b" }));
    assert_eq!((status, problem["code"].clone()), (400, json!("invalid_request")));
}

/// The admin role is `role` `admin` or `admin` in the `roles` array; checked on verified
/// tokens from a configured key.
#[test]
fn revoke_reads_the_admin_role_from_role_or_roles() {
    let secret = "demo-shared-secret-of-at-least-32-bytes";
    let demo = start(&[("AUTH_HS256_SECRET", secret)]);
    let key = EncodingKey::from_secret(secret.as_bytes());
    let bearer = |role: Option<Value>, roles: Option<Value>| {
        let mut c = mfa_claims();
        let claims = c.as_object_mut().unwrap();
        claims.remove("role");
        if let Some(role) = role {
            claims.insert("role".into(), role);
        }
        if let Some(roles) = roles {
            claims.insert("roles".into(), roles);
        }
        format!("Bearer {}", sign_with(&Header::new(Algorithm::HS256), &c, &key))
    };
    for (role, roles, allowed) in [
        (Some(json!("admin")), None, true),
        (None, Some(json!(["viewer", "admin"])), true),
        (Some(json!("admin")), Some(json!(["member"])), true),
        (Some(json!("member")), Some(json!(["viewer"])), false),
        (Some(json!("Admin")), None, false),
        (None, None, false),
        (Some(json!(["admin"])), None, false),
    ] {
        let auth = bearer(role.clone(), roles.clone());
        let body = json!({ "sid": "session_of_someone_else" }).to_string();
        let (status, _, problem) =
            http(&demo, "POST", "/admin/revoke", &[("authorization", &auth), JSON], Some(&body));
        if allowed {
            assert_eq!(status, 204, "{role:?} {roles:?}: {problem}");
        } else {
            assert_eq!(
                (status, json_of(&problem)["code"].clone()),
                (403, json!("forbidden")),
                "{role:?} {roles:?}"
            );
        }
    }
}

/// Cross-site unsafe requests never reach the session: 403 `cross_origin_request`, whatever
/// the route; same-origin ones and non-browser clients pass.
#[test]
fn cross_site_posts_to_the_demo_are_refused() {
    let demo = start(&[]);
    let admin = format!("Bearer {}", http(&demo, "GET", "/dev/token?mfa=true", &[], None).2);
    let body = json!({ "sub": "user_demo" }).to_string();
    let elsewhere = "https://evil.example";
    for (extra, reason) in [
        (("sec-fetch-site", "cross-site"), "sec_fetch_site"),
        (("sec-fetch-site", "same-site"), "sec_fetch_site"),
        (("origin", elsewhere), "origin_mismatch"),
    ] {
        let headers = [("authorization", admin.as_str()), JSON, extra];
        let (status, headers, problem) =
            http(&demo, "POST", "/admin/revoke", &headers, Some(&body));
        let problem = json_of(&problem);
        assert_eq!(
            (status, problem["code"].clone()),
            (403, json!("cross_origin_request")),
            "{extra:?}"
        );
        assert_eq!(problem["reason"], reason, "{extra:?}");
        assert_eq!(headers["content-type"], "application/problem+json");
        // The dev issuer's forms too: no sign-in or sign-out forced from another site.
        let (status, _, _) = http(&demo, "POST", "/dev/logout", &[extra], None);
        assert_eq!(status, 403, "{extra:?}");
        let (status, _, _) = http(&demo, "POST", "/dev/login", &[extra], Some("method=mfa"));
        assert_eq!(status, 403, "{extra:?}");
    }
    // Nothing was revoked; /me answers with no-store, and so does the admin area's JSON.
    let (status, headers, _) = http(&demo, "GET", "/me", &[("authorization", &admin)], None);
    assert_eq!((status, headers["cache-control"].to_str().unwrap()), (200, "no-store"));
    let (status, headers, _) = http(&demo, "GET", "/admin", &[("authorization", &admin)], None);
    assert_eq!((status, headers["cache-control"].to_str().unwrap()), (200, "no-store"));
    // Reading stays open to other sites (links, navigations).
    let cross = [("authorization", admin.as_str()), ("sec-fetch-site", "cross-site")];
    assert_eq!(http(&demo, "GET", "/me", &cross, None).0, 200);
    // The demo's own page posting to itself passes.
    let origin = demo.base.clone();
    let headers = [("authorization", admin.as_str()), JSON, ("origin", origin.as_str())];
    let other = json!({ "sid": "session_other" }).to_string();
    assert_eq!(http(&demo, "POST", "/admin/revoke", &headers, Some(&other)).0, 204);
    let headers = [("authorization", admin.as_str()), JSON, ("sec-fetch-site", "same-origin")];
    assert_eq!(http(&demo, "POST", "/admin/revoke", &headers, Some(&other)).0, 204);
    assert_eq!(http(&demo, "GET", "/me", &[("authorization", &admin)], None).0, 200);
}

/// With sign-in: a cross-site `POST /auth/logout` is refused and keeps the session cookie;
/// `GET /auth/logout` stays a navigation that signs out; the back-channel logout, posted by the
/// provider's server, is not refused for its origin.
#[cfg(feature = "lifecycle")]
#[test]
fn cross_site_sign_out_is_refused_but_navigation_and_back_channel_are_not() {
    let issuer = key_server();
    let demo = start(&[
        ("AUTH_OIDC_ISSUER", &issuer),
        ("AUTH_CLIENT_ID", "demo-client"),
        ("AUTH_CLIENT_SECRET", "a-client-secret"),
        ("AUTH_IRON_PASSWORD", IRON_PASSWORD),
        ("AUTH_RESOURCE", "https://api.demo.test"),
    ]);
    for (extra, reason) in [
        (("sec-fetch-site", "cross-site"), "sec_fetch_site"),
        (("origin", "https://evil.example"), "origin_mismatch"),
    ] {
        let (status, headers, body) = http(&demo, "POST", "/auth/logout", &[extra], None);
        let problem = json_of(&body);
        assert_eq!(
            (status, problem["code"].clone()),
            (403, json!("cross_origin_request")),
            "{extra:?}"
        );
        assert_eq!(problem["reason"], reason);
        assert!(headers.get("set-cookie").is_none(), "the session cookie is kept: {headers:?}");
    }
    let (status, headers, _) =
        http(&demo, "POST", "/auth/logout", &[("sec-fetch-site", "same-origin")], None);
    assert_eq!(status, 303);
    assert!(headers["set-cookie"].to_str().unwrap().starts_with("session=;"), "{headers:?}");
    let (status, headers, _) =
        http(&demo, "GET", "/auth/logout", &[("sec-fetch-site", "cross-site")], None);
    assert_eq!(status, 303);
    assert!(headers["set-cookie"].to_str().unwrap().starts_with("session=;"), "{headers:?}");
    // The back-channel logout answers for its token, not for its origin.
    let (status, _, body) = http(
        &demo,
        "POST",
        "/auth/backchannel-logout",
        &[("sec-fetch-site", "cross-site")],
        Some("logout_token=not-a-jwt"),
    );
    assert_eq!(status, 400, "{body}");
    assert_ne!(json_of(&body)["code"], "cross_origin_request", "{body}");
}

/// `AUTH_SSF_ISSUER` mounts `POST /auth/ssf` for that transmitter (discovered at start, named in
/// the banner), whose events' audience is the client id unless `AUTH_SSF_AUDIENCE` says
/// otherwise; the transmitter posts from another origin and is not refused for it.
#[cfg(feature = "lifecycle")]
#[test]
fn shared_signals_configuration() {
    let issuer = key_server();
    let private = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("demo-key".into());
    header.typ = Some("secevent+jwt".into());
    let set = |aud: &str, jti: &str| {
        let claims = json!({
            "iss": issuer,
            "aud": aud,
            "iat": now(),
            "jti": jti,
            "sub_id": { "format": "opaque", "id": "stream-1" },
            "events": { "https://schemas.openid.net/secevent/ssf/event-type/verification": {} },
        });
        sign_with(&header, &claims, &private)
    };
    for (audience, aud) in
        [(None, "demo-client"), (Some("https://app.demo.test/ssf"), "https://app.demo.test/ssf")]
    {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("demo-ssf-{}-{port}.log", std::process::id()));
        let mut env = vec![
            ("AUTH_OIDC_ISSUER", issuer.as_str()),
            ("AUTH_CLIENT_ID", "demo-client"),
            ("AUTH_CLIENT_SECRET", "a-client-secret"),
            ("AUTH_IRON_PASSWORD", IRON_PASSWORD),
            ("AUTH_RESOURCE", "https://api.demo.test"),
            ("AUTH_SSF_ISSUER", issuer.as_str()),
        ];
        env.extend(audience.map(|a| ("AUTH_SSF_AUDIENCE", a)));
        let demo = start_on(port, &env, Some(&log));
        let banner = demo.output();
        let _ = std::fs::remove_file(&log);
        let route = format!("POST http://127.0.0.1:{port}/auth/ssf receives {issuer}'s");
        assert!(banner.contains(&route), "{banner}");
        let push = |body: &str| {
            let headers =
                [("content-type", "application/secevent+jwt"), ("sec-fetch-site", "cross-site")];
            let (status, _, body) = http(&demo, "POST", "/auth/ssf", &headers, Some(body));
            (status, json_of(&body)["err"].clone())
        };
        assert_eq!(push(&set(aud, &format!("a-{port}"))), (202, Value::Null), "{audience:?}");
        let other = set("https://other.example", &format!("b-{port}"));
        assert_eq!(push(&other), (400, json!("invalid_audience")), "{audience:?}");
    }
}

/// The Shared Signals variables need the sign-in routes, go together, and a transmitter that
/// cannot be discovered stops the demo naming the variable.
#[cfg(feature = "lifecycle")]
#[test]
fn shared_signals_configuration_is_checked_at_start() {
    const SSF: (&str, &str) = ("AUTH_SSF_ISSUER", "http://127.0.0.1:9");
    const WORKOS: (&str, &str) = ("AUTH_WORKOS_CLIENT_ID", "client_demo");
    const SECRET: (&str, &str) = ("AUTH_CLIENT_SECRET", "sk_test_demo");
    const IRON: (&str, &str) = ("AUTH_IRON_PASSWORD", IRON_PASSWORD);
    for (env, says) in [
        (vec![WORKOS, SSF], "AUTH_SSF_ISSUER applies to the sign-in routes"),
        (vec![SSF], "AUTH_SSF_ISSUER applies to the sign-in routes"),
        (
            vec![WORKOS, SECRET, IRON, ("AUTH_SSF_AUDIENCE", "my-app")],
            "AUTH_SSF_AUDIENCE needs AUTH_SSF_ISSUER",
        ),
        (vec![WORKOS, SECRET, IRON, SSF], "AUTH_SSF_ISSUER http://127.0.0.1:9: "),
    ] {
        let stderr = refused_start(&os_env(&env));
        assert!(stderr.contains(says), "{env:?}: {stderr}");
    }
}

/// WorkOS sign-in with `AUTH_WORKOS_WEBHOOK_SECRET`: `POST /auth/workos/webhook` takes a signed
/// `session.revoked` from any origin (WorkOS's servers post it) and the session is refused
/// from then on; a delivery signed with another secret is 401 and changes nothing. With
/// `AUTH_WORKOS_EVENTS=poll` the banner says the Events API is polled.
#[cfg(feature = "lifecycle")]
#[test]
fn workos_webhook_and_events_configuration() {
    use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, SessionUser};

    const WEBHOOK_SECRET: &str = "whsec_demo-endpoint-secret";
    let api = key_server();
    let port = free_port();
    let log = std::env::temp_dir().join(format!("demo-webhook-{}-{port}.log", std::process::id()));
    let workos = [
        ("AUTH_WORKOS_CLIENT_ID", "client_demo"),
        ("AUTH_CLIENT_SECRET", "sk_test_demo"),
        ("AUTH_IRON_PASSWORD", IRON_PASSWORD),
        ("AUTH_WORKOS_API_URL", api.as_str()),
    ];
    let mut env = workos.to_vec();
    env.push(("AUTH_WORKOS_WEBHOOK_SECRET", WEBHOOK_SECRET));
    let demo = start_on(port, &env, Some(&log));
    let banner = demo.output();
    let _ = std::fs::remove_file(&log);
    assert!(banner.contains("WorkOS webhook: POST /auth/workos/webhook"), "{banner}");
    assert!(!banner.contains(WEBHOOK_SECRET), "{banner}");

    // A session sealed as the callback would, for the WorkOS session `session_abc`.
    let private = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("demo-key".into());
    let mut c = claims();
    c["iss"] = json!("https://api.workos.com/user_management/client_demo");
    c.as_object_mut().unwrap().remove("amr");
    let passwords = IronPasswords::new("1", IRON_PASSWORD).unwrap();
    let token = sign_with(&header, &c, &private);
    let sealed = AuthKitSession::new(token, SessionUser::new("user_123")).seal(&passwords);
    let cookie = format!("wos-session={}", sealed.unwrap());
    assert_eq!(http(&demo, "GET", "/me", &[("cookie", &cookie)], None).0, 200);

    let event = json!({
        "object": "event",
        "id": "event_01DEMO",
        "event": "session.revoked",
        "data": { "object": "session", "id": "session_abc", "user_id": "user_123" },
        "created_at": "2026-01-01T00:00:00.000Z",
    })
    .to_string();
    let signed = |secret: &str| {
        let t = (now() * 1000).to_string();
        let key = EncodingKey::from_secret(secret.as_bytes());
        let message = format!("{t}.{event}");
        let b64 = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
        let mac: String =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b64)
                .unwrap()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        format!("t={t}, v1={mac}")
    };
    let post = |sig: &str| {
        let headers = [
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
            ("workos-signature", sig),
        ];
        http(&demo, "POST", "/auth/workos/webhook", &headers, Some(&event))
    };
    let (status, _, body) = post(&signed("whsec_another"));
    assert_eq!((status, json_of(&body)["code"].clone()), (401, json!("webhook_signature_invalid")));
    assert_eq!(http(&demo, "GET", "/me", &[("cookie", &cookie)], None).0, 200);
    let (status, _, body) = post(&signed(WEBHOOK_SECRET));
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = http(&demo, "GET", "/me", &[("cookie", &cookie)], None);
    assert_eq!((status, json_of(&body)["code"].clone()), (401, json!("session_revoked")));
    drop(demo);

    let mut env = workos.to_vec();
    env.push(("AUTH_WORKOS_EVENTS", "poll"));
    let port = free_port();
    let log = std::env::temp_dir().join(format!("demo-events-{}-{port}.log", std::process::id()));
    let demo = start_on(port, &env, Some(&log));
    let banner = demo.output();
    let _ = std::fs::remove_file(&log);
    assert!(banner.contains("WorkOS Events API: polled every 5 s"), "{banner}");
    assert!(!banner.contains("WorkOS webhook"), "{banner}");
}

/// `AUTH_DPOP=required`: bearer tokens are refused, the challenge offers DPoP only, and a
/// bound token with its proof passes (once: the proof is spent).
#[test]
fn dpop_required_by_environment() {
    const SECRET: &str = "demo-shared-secret-of-at-least-32-bytes";
    let demo = start(&[("AUTH_HS256_SECRET", SECRET), ("AUTH_DPOP", "required")]);
    let (status, headers, _) = http(&demo, "GET", "/me", &[], None);
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("DPoP algs="), "{challenge}");
    let h = crate::dpop::holder(Algorithm::ES256);
    let mut c = claims();
    c["cnf"] = json!({"jkt": h.jkt});
    let token = hmac_token(&json!({"alg": "HS256", "typ": "JWT"}), &c, SECRET.as_bytes());
    let unbound = hmac_token(&json!({"alg": "HS256", "typ": "JWT"}), &claims(), SECRET.as_bytes());
    let bearer = format!("Bearer {unbound}");
    let (status, _, body) = http(&demo, "GET", "/me", &[("authorization", &bearer)], None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("dpop_required"), "{body}");
    let htu = format!("{}/me", demo.base);
    let proof = crate::dpop::proof_with(&h, &crate::dpop::claims("GET", &htu, &token, now()));
    let dpop = format!("DPoP {token}");
    let headers = [("authorization", dpop.as_str()), ("dpop", proof.as_str())];
    let (status, _, body) = http(&demo, "GET", "/me", &headers, None);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = http(&demo, "GET", "/me", &headers, None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("replayed"), "{body}");
}
