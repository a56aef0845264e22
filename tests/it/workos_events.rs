//! WorkOS events feeding the revocations: the webhook route (`POST /auth/workos/webhook`) with
//! `WorkOS-Signature` as `@workos-inc/node` makes and checks it, and the Events API poller,
//! against the in-process stand-in (`workos_standin.rs`, whose `GET /events` lists what the
//! tests emit). One instance in memory, or two on one Redis.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::lifecycle::{ConfigError, IdentityProvider, Sessions};
use axum_session_mfa::store::{MemoryStore, RevocationStore, Store};
use axum_session_mfa::{AuthContext, RequireAuth, Revocations};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::lifecycle_support::{Browser, Page, TestClock, serve};
use crate::workos_standin::{API_KEY, CLIENT_ID, USER_ID, WorkOsStandIn};

const PASSWORD: &str = "a-cookie-password-every-instance-has";
const COOKIE: &str = "wos-session";
/// The signing secret of the webhook endpoint, as the WorkOS dashboard would show it.
const SECRET: &str = "whsec_the-endpoint-secret-from-the-dashboard";
const WEBHOOK: &str = "/auth/workos/webhook";

struct Instance {
    base: String,
    sessions: Sessions,
    revocations: Revocations,
}

struct World {
    standin: WorkOsStandIn,
    clock: TestClock,
    apps: Vec<Instance>,
}

/// Where the instances keep their shared state.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// One `MemoryStore` for every instance (same process): leases, cursor and event ids
    /// expire by the test clock.
    Memory,
    /// One Redis, a key prefix of the test's own.
    #[cfg(feature = "redis")]
    Redis,
}

fn passwords() -> IronPasswords {
    IronPasswords::new("1", PASSWORD).unwrap()
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

/// `n` instances of one app (the webhook mounted) against one stand-in.
async fn world(n: usize, backend: Backend) -> World {
    crate::prerequisites::report();
    let standin = WorkOsStandIn::start().await;
    let clock = TestClock::default();
    standin.use_clock(clock.clock());
    let memory = MemoryStore::with_clock(clock.clock());
    #[cfg(feature = "redis")]
    let prefix = {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        format!("it-workos-{}-{}", std::process::id(), nanos.as_nanos())
    };
    let mut apps = Vec::new();
    for _ in 0..n {
        let (listed, store): (Arc<dyn RevocationStore>, Arc<dyn Store>) = match backend {
            Backend::Memory => (Arc::new(memory.clone()), Arc::new(memory.clone())),
            #[cfg(feature = "redis")]
            Backend::Redis => {
                use axum_session_mfa::store::{RedisOptions, RedisStore};
                let options = RedisOptions::default().prefix(&prefix);
                let url = crate::prerequisites::redis_url();
                let redis = RedisStore::with_options(&url, options).unwrap();
                (Arc::new(redis.clone()), Arc::new(redis))
            }
        };
        let revocations = Revocations::builder(listed)
            .clock(clock.clock())
            .max_staleness(Duration::from_secs(4 * 3600))
            .resync_every(Duration::from_millis(100))
            .start()
            .await;
        tokio::spawn(revocations.keep_current());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let idp = IdentityProvider::workos_at(standin.base_url(), CLIENT_ID, API_KEY).unwrap();
        let sessions = Sessions::builder(idp, passwords(), format!("{base}/auth/callback"))
            .clock(clock.clock())
            .store(store)
            .revocations(revocations.clone())
            .workos_webhook(SECRET)
            .build()
            .unwrap();
        assert_eq!(sessions.workos_webhook_path(), Some(WEBHOOK));
        let router = Router::new()
            .route("/me", get(me).route_layer(RequireAuth::new()))
            .merge(sessions.routes())
            .layer(sessions.auth_layer());
        serve(listener, router);
        apps.push(Instance { base, sessions, revocations });
    }
    World { standin, clock, apps }
}

impl World {
    /// Signs in at instance 0; returns the session cookie and its `sid`.
    async fn sign_in(&self) -> (String, String) {
        self.sign_in_with("").await
    }

    /// Signs in at instance 0 with more of the sign-in query (`&max_age=0`: a new WorkOS
    /// session, not the current one continued).
    async fn sign_in_with(&self, query: &str) -> (String, String) {
        let mut browser = Browser::new();
        let url = format!("{}/auth/login?return_to=/me{query}", self.apps[0].base);
        let page = browser.navigate(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let sid = page.json()["sid"].as_str().unwrap().to_owned();
        (browser.cookie(&self.apps[0].base, COOKIE).unwrap(), sid)
    }

    /// `GET /me` on instance `i` with `cookie`, as an API client.
    async fn me(&self, i: usize, cookie: &str) -> Page {
        let mut browser = Browser::new().api();
        browser.set_cookie_value(&self.apps[i].base, COOKIE, cookie);
        browser.get(&format!("{}/me", self.apps[i].base)).await
    }

    /// Waits until every instance's copy holds `n` revocations or more.
    async fn propagated(&self, n: usize) {
        wait_for("the revocation to reach every instance", || {
            self.apps.iter().all(|a| a.revocations.len() >= n)
        })
        .await;
    }

    /// The stand-in's clock and the apps', in Unix milliseconds.
    fn now_ms(&self) -> u64 {
        self.clock.clock().now_millis()
    }
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// `v1`: HMAC-SHA256 of `<t>.<body>` under `secret`, in lowercase hex (made with jsonwebtoken's
/// HS256, not with the crate's own code).
fn mac(secret: &str, t: &str, body: &str) -> String {
    let message = format!("{t}.{body}");
    let key = EncodingKey::from_secret(secret.as_bytes());
    let b64 = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    URL_SAFE_NO_PAD.decode(b64).unwrap().iter().map(|b| format!("{b:02x}")).collect()
}

/// The `WorkOS-Signature` header WorkOS sends for `body` at `t` (Unix milliseconds).
fn signature(secret: &str, t: u64, body: &str) -> String {
    format!("t={t}, v1={}", mac(secret, &t.to_string(), body))
}

/// Posts `body` to instance `i`'s webhook with these `WorkOS-Signature` headers.
async fn post(world: &World, i: usize, body: impl Into<reqwest::Body>, sigs: &[&str]) -> Reply {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client
        .post(format!("{}{WEBHOOK}", world.apps[i].base))
        .header("content-type", "application/json");
    for sig in sigs {
        request = request.header("workos-signature", *sig);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let code = serde_json::from_str::<Value>(&text)
        .map(|v| v["code"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    Reply { status, code, retry_after }
}

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    code: String,
    retry_after: Option<String>,
}

/// Delivers `event` to instance `i`, signed now with the endpoint's secret.
async fn deliver(world: &World, i: usize, event: &Value) -> Reply {
    let body = event.to_string();
    let sig = signature(SECRET, world.now_ms(), &body);
    post(world, i, body, &[&sig]).await
}

/// The `idp_event` audit events of `source`, as (kind, subject, reason).
fn idp_events(capture: &crate::audit::Capture, source: &str) -> Vec<(String, String, String)> {
    capture
        .events()
        .into_iter()
        .filter(|e| e["event"] == "idp_event" && e["source"] == source)
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("kind"), text("subject"), text("reason"))
        })
        .collect()
}

fn has(events: &[(String, String, String)], kind: &str, subject: &str, reason: &str) -> usize {
    events.iter().filter(|(k, s, r)| k == kind && s == subject && r == reason).count()
}

// ---- the webhook --------------------------------------------------------------------------

/// A signed `session.revoked` (shaped as `@workos-inc/node`'s `SessionRevokedEventResponse`)
/// ends the session at once: 200, then 401 `session_revoked`. The same event again is
/// acknowledged and not applied again; an event type the crate does not act on is acknowledged
/// and ignored. One audit event each.
#[tokio::test]
async fn a_signed_session_revoked_ends_the_session() {
    let (capture, _guard) = crate::audit::capture();
    let w = world(1, Backend::Memory).await;
    let (cookie, sid) = w.sign_in().await;
    assert_eq!(w.me(0, &cookie).await.status, StatusCode::OK);

    let created =
        w.standin.emit_event("session.created", json!({ "object": "session", "id": sid }));
    let reply = deliver(&w, 0, &created).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(w.me(0, &cookie).await.status, StatusCode::OK, "an ignored event revokes nothing");

    let revoked = w.standin.emit_session_revoked(&sid);
    assert_eq!(revoked["data"]["object"], "session");
    let reply = deliver(&w, 0, &revoked).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let page = w.me(0, &cookie).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::UNAUTHORIZED, "session_revoked"));
    assert!(page.set_cookie(COOKIE).is_some_and(|c| c.value().is_empty()), "cookie cleared");

    let entries = w.apps[0].revocations.len();
    let again = deliver(&w, 0, &revoked).await;
    assert_eq!(again.status, StatusCode::OK, "a repeated delivery is acknowledged: {again:?}");
    assert_eq!(w.apps[0].revocations.len(), entries);

    let audit = idp_events(&capture, "workos_webhook");
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert_eq!(has(&audit, "session.created", "", "ignored"), 1, "{audit:?}");
    assert_eq!(has(&audit, "session.revoked", &sid, "revoked"), 1, "{audit:?}");
    assert_eq!(has(&audit, "session.revoked", &sid, "duplicate"), 1, "{audit:?}");
    assert!(!capture.raw().contains(SECRET), "the secret is never logged");
}

/// Every refusal, with its status and code: a missing, doubled or malformed header, a wrong
/// secret, a changed body, a timestamp out of tolerance (past or future), an oversized body, a
/// body that is not JSON, an event that names nothing. None revokes anything.
#[tokio::test]
async fn every_refusal_has_its_status_and_code_and_changes_nothing() {
    let (capture, _guard) = crate::audit::capture();
    let w = world(1, Backend::Memory).await;
    let (cookie, sid) = w.sign_in().await;
    let event = w.standin.emit_session_revoked(&sid).to_string();
    let now = w.now_ms();
    let good = signature(SECRET, now, &event);
    let unauthorized = StatusCode::UNAUTHORIZED;
    let bad = StatusCode::BAD_REQUEST;
    let v1 = mac(SECRET, &now.to_string(), &event);
    let sign = |body: &str| signature(SECRET, now, body);
    let big = format!(
        r#"{{"id":"event_big","event":"session.revoked","pad":"{}"}}"#,
        "x".repeat(256 * 1024)
    );
    let no_id = json!({ "event": "session.revoked", "data": { "id": sid } }).to_string();
    let no_target = json!({ "id": "event_x", "event": "session.revoked", "data": {} }).to_string();
    let long =
        json!({ "id": "event_y", "event": "user.deleted", "data": { "id": "u".repeat(256) } })
            .to_string();
    let cases: Vec<(&str, String, Vec<String>, StatusCode, &str)> = vec![
        ("no header", event.clone(), vec![], unauthorized, "webhook_signature_missing"),
        (
            "twice",
            event.clone(),
            vec![good.clone(), good.clone()],
            unauthorized,
            "webhook_signature_malformed",
        ),
        (
            "no v1",
            event.clone(),
            vec![format!("t={now}")],
            unauthorized,
            "webhook_signature_malformed",
        ),
        (
            "v0",
            event.clone(),
            vec![format!("t={now}, v0={v1}")],
            unauthorized,
            "webhook_signature_malformed",
        ),
        (
            "uppercase",
            event.clone(),
            vec![format!("t={now}, v1={}", v1.to_uppercase())],
            unauthorized,
            "webhook_signature_malformed",
        ),
        (
            "seconds",
            event.clone(),
            vec![signature(SECRET, now / 1000, &event)],
            unauthorized,
            "webhook_timestamp_stale",
        ),
        (
            "stale",
            event.clone(),
            vec![signature(SECRET, now - 181_000, &event)],
            unauthorized,
            "webhook_timestamp_stale",
        ),
        (
            "future",
            event.clone(),
            vec![signature(SECRET, now + 181_000, &event)],
            unauthorized,
            "webhook_timestamp_stale",
        ),
        (
            "other secret",
            event.clone(),
            vec![signature("whsec_another", now, &event)],
            unauthorized,
            "webhook_signature_invalid",
        ),
        (
            "changed body",
            event.replace(&sid, "session_other"),
            vec![good.clone()],
            unauthorized,
            "webhook_signature_invalid",
        ),
        ("too large", big.clone(), vec![sign(&big)], bad, "body_too_large"),
        ("not json", "not json".to_owned(), vec![sign("not json")], bad, "webhook_not_json"),
        ("an array", "[1]".to_owned(), vec![sign("[1]")], bad, "webhook_not_json"),
        ("no id", no_id.clone(), vec![sign(&no_id)], bad, "webhook_event_invalid"),
        ("no session id", no_target.clone(), vec![sign(&no_target)], bad, "webhook_event_invalid"),
        ("id too long", long.clone(), vec![sign(&long)], bad, "webhook_event_invalid"),
    ];
    for (what, body, sigs, status, code) in &cases {
        let sigs: Vec<&str> = sigs.iter().map(String::as_str).collect();
        let reply = post(&w, 0, body.clone(), &sigs).await;
        assert_eq!((reply.status, reply.code.as_str()), (*status, *code), "{what}: {reply:?}");
    }
    assert_eq!(w.apps[0].revocations.len(), 0, "nothing was revoked");
    assert_eq!(w.me(0, &cookie).await.status, StatusCode::OK);
    let audit = idp_events(&capture, "workos_webhook");
    assert_eq!(audit.len(), cases.len(), "one audit event per delivery: {audit:?}");
    for (_, _, _, _, code) in &cases {
        assert!(audit.iter().any(|(_, _, r)| r == code), "{code}: {audit:?}");
    }
    // Within the tolerance, the delivery is taken.
    let edge = signature(SECRET, now - 170_000, &event);
    assert_eq!(post(&w, 0, event.clone(), &[&edge]).await.status, StatusCode::OK);
    assert_eq!(w.me(0, &cookie).await.status, StatusCode::UNAUTHORIZED);
}

/// `user.deleted` ends every session of the user signed in until then, and so does
/// `organization_membership.deleted` (the documented choice); a later sign-in works.
#[tokio::test]
async fn user_deleted_and_membership_deleted_end_the_users_sessions() {
    let w = world(1, Backend::Memory).await;
    let events: [fn(&WorkOsStandIn) -> Value; 2] =
        [|s| s.emit_user_deleted(USER_ID), |s| s.emit_membership_deleted(USER_ID)];
    for (round, emit) in events.into_iter().enumerate() {
        w.clock.set_offset(10 * round as u64);
        let (cookie, _) = w.sign_in().await;
        assert_eq!(w.me(0, &cookie).await.status, StatusCode::OK);
        let event = emit(&w.standin);
        let reply = deliver(&w, 0, &event).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let page = w.me(0, &cookie).await;
        assert_eq!(
            (page.status, page.code().as_str()),
            (StatusCode::UNAUTHORIZED, "session_revoked"),
            "{}",
            event["event"]
        );
        // A sign-in after the event is not refused.
        w.clock.set_offset(10 * round as u64 + 2);
        let (later, _) = w.sign_in_with("&max_age=0").await;
        assert_eq!(w.me(0, &later).await.status, StatusCode::OK, "{}", event["event"]);
    }
}

/// Two instances on one Redis: a webhook delivered to A ends the session on B too; the same
/// delivery repeated to B is acknowledged and not applied again.
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_webhook_to_one_instance_ends_the_session_on_the_other() {
    let (capture, _guard) = crate::audit::capture();
    let w = world(2, Backend::Redis).await;
    let (cookie, sid) = w.sign_in().await;
    assert_eq!(w.me(1, &cookie).await.status, StatusCode::OK);
    let event = w.standin.emit_session_revoked(&sid);
    assert_eq!(deliver(&w, 0, &event).await.status, StatusCode::OK);
    w.propagated(1).await;
    for i in [1, 0] {
        let page = w.me(i, &cookie).await;
        assert_eq!(
            (page.status, page.code().as_str()),
            (StatusCode::UNAUTHORIZED, "session_revoked"),
            "instance {i}"
        );
    }
    assert_eq!(deliver(&w, 1, &event).await.status, StatusCode::OK);
    let audit = idp_events(&capture, "workos_webhook");
    assert_eq!(has(&audit, "session.revoked", &sid, "revoked"), 1, "{audit:?}");
    assert_eq!(has(&audit, "session.revoked", &sid, "duplicate"), 1, "{audit:?}");
}

/// The webhook needs WorkOS and revocations, a secret, and a path; the poller too.
#[tokio::test]
async fn the_webhook_and_the_poller_need_revocations_and_a_secret() {
    let idp = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
    let builder =
        || Sessions::builder(idp.clone(), passwords(), "https://app.example.com/auth/callback");
    assert!(matches!(
        builder().workos_webhook(SECRET).build(),
        Err(ConfigError::NoRevocations("workos_webhook"))
    ));
    let sessions = builder().build().unwrap();
    assert_eq!(sessions.workos_webhook_path(), None);
    assert!(matches!(
        sessions.workos_events(Duration::from_secs(5)),
        Err(ConfigError::NoRevocations("workos_events"))
    ));
    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    let with = || builder().revocations(revocations.clone());
    assert!(matches!(with().workos_webhook("").build(), Err(ConfigError::WebhookSecret)));
    assert!(matches!(
        with().workos_webhook(SECRET).workos_webhook_path("hooks").build(),
        Err(ConfigError::Path(_))
    ));
    let sessions = with().workos_webhook(SECRET).workos_webhook_path("/hooks/workos").build();
    assert_eq!(sessions.unwrap().workos_webhook_path(), Some("/hooks/workos"));
}

// ---- @workos-inc/node ---------------------------------------------------------------------

/// Runs `tests/interop/workos_webhook.mjs` with `input` on its standard input.
#[cfg(feature = "__interop")]
async fn workos_node(input: Value) -> Value {
    use std::io::Write as _;
    use std::process::Stdio;

    crate::interop_support::require("@workos-inc/node");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let out = tokio::task::spawn_blocking(move || {
        let mut child = crate::interop_support::node(60)
            .arg(dir.join("workos_webhook.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node");
        child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `@workos-inc/node` signs what the crate accepts, and of every delivery below, the crate
/// accepts none that `webhooks.constructEvent` refuses (the crate is stricter: a future
/// timestamp, a timestamp that is not all digits).
#[cfg(feature = "__interop")]
#[tokio::test]
async fn workos_node_signs_what_the_crate_accepts_and_refuses_what_it_refuses() {
    let w = world(1, Backend::Memory).await;
    let (cookie, sid) = w.sign_in().await;
    let event = w.standin.emit_session_revoked(&sid).to_string();
    let now = w.now_ms();
    let t = now.to_string();

    // The node signature is the crate's: a delivery signed by node is taken.
    let node =
        workos_node(json!({ "sign": [{ "timestamp": t, "payload": event, "secret": SECRET }] }))
            .await;
    let node_mac = node["signatures"][0].as_str().unwrap().to_owned();
    assert_eq!(node_mac, mac(SECRET, &t, &event));

    let sig = |t: &str, body: &str| format!("t={t}, v1={}", mac(SECRET, t, body));
    let other = json!({ "id": "event_other", "event": "user.updated", "data": { "id": USER_ID } })
        .to_string();
    let deliveries: Vec<(&str, String, String)> = vec![
        ("node's own", event.clone(), format!("t={t}, v1={node_mac}")),
        ("no space", other.clone(), format!("t={t},v1={}", mac(SECRET, &t, &other))),
        ("leading zero", other.clone(), sig(&format!("0{t}"), &other)),
        ("170 s old", other.clone(), sig(&(now - 170_000).to_string(), &other)),
        ("181 s old", other.clone(), sig(&(now - 181_000).to_string(), &other)),
        ("10 min ahead", other.clone(), sig(&(now + 600_000).to_string(), &other)),
        ("not digits", other.clone(), sig(&format!("{t}x"), &other)),
        ("other secret", other.clone(), format!("t={t}, v1={}", mac("whsec_x", &t, &other))),
        ("changed body", other.replace("user.updated", "user.created"), sig(&t, &other)),
        ("uppercase", other.clone(), sig(&t, &other).replace("v1=", "V1=")),
        (
            "uppercase hex",
            other.clone(),
            format!("t={t}, v1={}", mac(SECRET, &t, &other).to_uppercase()),
        ),
        ("swapped", other.clone(), format!("v1={}, t={t}", mac(SECRET, &t, &other))),
        ("no v1", other.clone(), format!("t={t}")),
        ("empty", other.clone(), String::new()),
        ("not json", "{".to_owned(), sig(&t, "{")),
    ];
    let verify: Vec<Value> = deliveries
        .iter()
        .map(|(_, body, header)| json!({ "header": header, "payload": body, "secret": SECRET }))
        .collect();
    let node = workos_node(json!({ "verify": verify })).await;
    let mut both = 0;
    for (i, (what, body, header)) in deliveries.iter().enumerate() {
        let verdict = &node["verdicts"][i];
        let node_accepts = verdict["accepted"] == true;
        let sigs: Vec<&str> = if header.is_empty() { vec![] } else { vec![header] };
        let reply = post(&w, 0, body.clone(), &sigs).await;
        let crate_accepts = reply.status == StatusCode::OK;
        assert!(
            node_accepts || !crate_accepts,
            "{what}: the crate took what @workos-inc/node refuses ({verdict}): {reply:?}"
        );
        both += usize::from(node_accepts && crate_accepts);
    }
    // node's own signature, no space, a leading zero, 170 s old.
    assert_eq!(both, 4);
    let page = w.me(0, &cookie).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::UNAUTHORIZED, "session_revoked"));
}

// ---- the Events API poller ----------------------------------------------------------------

/// The first poll starts from now (an earlier event is not replayed) with the query
/// `@workos-inc/node`'s `listEvents` sends; an event WorkOS lists later is applied, and the
/// next polls ask for what comes after it.
#[tokio::test]
async fn the_poller_applies_what_workos_lists_from_now_on() {
    let (capture, _guard) = crate::audit::capture();
    let w = world(1, Backend::Memory).await;
    let (cookie, sid) = w.sign_in().await;
    let old = w.standin.emit_session_revoked("session_01BEFORE");
    w.clock.set_offset(5);
    let poller = tokio::spawn(w.apps[0].sessions.workos_events(Duration::from_millis(20)).unwrap());
    wait_for("a first poll", || !w.standin.events_requests().is_empty()).await;
    let first = w.standin.events_requests()[0].1.clone();
    let types = "events=session.revoked%2Cuser.deleted%2Corganization_membership.deleted";
    assert!(first.starts_with(&format!("{types}&range_start=")), "{first}");
    assert!(first.ends_with("&limit=100") && first.contains("T"), "{first}");

    let event = w.standin.emit_session_revoked(&sid);
    wait_for("the event to be applied", || w.apps[0].revocations.len() == 1).await;
    let page = w.me(0, &cookie).await;
    assert_eq!((page.status, page.code().as_str()), (StatusCode::UNAUTHORIZED, "session_revoked"));
    let id = event["id"].as_str().unwrap();
    let polls = w.standin.events_requests().len();
    wait_for("another poll", || w.standin.events_requests().len() > polls + 1).await;
    let last = w.standin.events_requests().last().unwrap().1.clone();
    assert_eq!(last, format!("{types}&limit=100&after={id}"));
    poller.abort();

    let audit = idp_events(&capture, "workos_events");
    assert_eq!(audit, vec![("session.revoked".into(), sid.clone(), "revoked".into())]);
    assert!(!capture.raw().contains(old["id"].as_str().unwrap()));
}

/// A poller that stops (a restart, a deploy) leaves its cursor in the store: the next one, on
/// any instance, reads what came after it, and nothing twice.
#[tokio::test]
async fn a_restarted_poller_resumes_from_the_stored_cursor() {
    let (capture, _guard) = crate::audit::capture();
    let w = world(2, Backend::Memory).await;
    let every = Duration::from_millis(20);
    let first = tokio::spawn(w.apps[0].sessions.workos_events(every).unwrap());
    wait_for("a first poll", || !w.standin.events_requests().is_empty()).await;
    let e1 = w.standin.emit_session_revoked("session_01FIRST");
    wait_for("the first event", || w.apps[0].revocations.len() == 1).await;
    first.abort();
    let e2 = w.standin.emit_session_revoked("session_01SECOND");
    let e3 = w.standin.emit_user_deleted("user_01GONE");
    // The stopped poller's lease lapses (3 × every + 10 s).
    w.clock.set_offset(11);
    let polls = w.standin.events_requests().len();
    let second = tokio::spawn(w.apps[1].sessions.workos_events(every).unwrap());
    wait_for("both events", || w.apps[1].revocations.len() == 3).await;
    second.abort();
    let resumed = &w.standin.events_requests()[polls].1;
    assert!(resumed.ends_with(&format!("&after={}", e1["id"].as_str().unwrap())), "{resumed}");

    let audit = idp_events(&capture, "workos_events");
    assert_eq!(
        audit,
        vec![
            ("session.revoked".into(), "session_01FIRST".into(), "revoked".into()),
            ("session.revoked".into(), "session_01SECOND".into(), "revoked".into()),
            ("user.deleted".into(), "user_01GONE".into(), "revoked".into()),
        ],
        "{e2} {e3}"
    );
}

/// A 429 from the Events API: the poller waits for its `Retry-After` (1 s) although it polls
/// every 20 ms, then reads the event.
#[tokio::test]
async fn a_429_makes_the_poller_wait_for_retry_after() {
    let w = world(1, Backend::Memory).await;
    w.standin.fail_next_events(429);
    let poller = tokio::spawn(w.apps[0].sessions.workos_events(Duration::from_millis(20)).unwrap());
    wait_for("the refused poll", || !w.standin.events_requests().is_empty()).await;
    w.standin.emit_session_revoked("session_01LATER");
    wait_for("the event", || w.apps[0].revocations.len() == 1).await;
    poller.abort();
    let requests = w.standin.events_requests();
    let waited = requests[1].0 - requests[0].0;
    assert!(waited >= Duration::from_millis(950), "waited {waited:?} after a 429");
}

/// Pollers on two instances sharing Redis: one polls at a time (a lease), the cursor is shared,
/// and each event is applied once.
#[cfg(feature = "redis")]
#[tokio::test]
async fn two_pollers_apply_each_event_once() {
    let (capture, _guard) = crate::audit::capture();
    let w = world(2, Backend::Redis).await;
    let (cookie, sid) = w.sign_in().await;
    let every = Duration::from_millis(20);
    let pollers: Vec<_> =
        w.apps.iter().map(|a| tokio::spawn(a.sessions.workos_events(every).unwrap())).collect();
    wait_for("a first poll", || !w.standin.events_requests().is_empty()).await;
    w.standin.emit_session_revoked(&sid);
    w.standin.emit_session_revoked("session_01OTHER");
    w.standin.emit_membership_deleted("user_01MEMBER");
    w.propagated(3).await;
    let polls = w.standin.events_requests().len();
    wait_for("more polls", || w.standin.events_requests().len() > polls + 10).await;
    for p in pollers {
        p.abort();
    }
    for i in 0..2 {
        let page = w.me(i, &cookie).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "instance {i}");
    }
    let audit = idp_events(&capture, "workos_events");
    assert_eq!(audit.len(), 3, "each event once: {audit:?}");
    assert!(audit.iter().all(|(_, _, r)| r == "revoked"), "{audit:?}");
}
