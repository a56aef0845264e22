//! The OpenID Shared Signals receiver (`POST /auth/ssf`) against a transmitter stand-in: a
//! loopback server with the SSF 1.0 configuration and a key set, whose Security Event Tokens
//! are signed by `jose` (tests/interop/ssf_set.mjs) in the shape of the CAEP 1.0 examples.
//! Sessions come from the WorkOS stand-in; an accepted event refuses them (401
//! `session_revoked`), on another instance too; every refusal answers RFC 8935's `err`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::lifecycle::{
    ConfigError, IdentityProvider, Sessions, SharedSignals, SharedSignalsError,
};
use axum_session_mfa::store::{MemoryStore, RevocationStore, Store};
use axum_session_mfa::{AuthContext, RequireAuth, Revocations};
use http::StatusCode;
use serde_json::{Value, json};

use crate::interop_support::{require, run};
use crate::lifecycle_support::{Browser, Page, serve};
use crate::workos_standin::{API_KEY, CLIENT_ID, USER_ID, WorkOsStandIn};

const COOKIE: &str = "wos-session";
const PASSWORD: &str = "a-cookie-password-every-instance-has";
/// The `aud` of this receiver's SETs.
const AUDIENCE: &str = "https://app.example.test/auth/ssf";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// The transmitter stand-in: `/.well-known/ssf-configuration` and `/jwks` on loopback.
struct Transmitter {
    issuer: String,
    jwks: Arc<Mutex<Value>>,
    config: Arc<Mutex<Value>>,
    /// The private keys `ssf_set.mjs` generated, to sign more SETs with the same keys.
    keys: Mutex<Option<Value>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Transmitter {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Transmitter {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let jwks = Arc::new(Mutex::new(json!({ "keys": [] })));
        // SSF 1.0 section 7.1, as Okta publishes it.
        let config = Arc::new(Mutex::new(json!({
            "spec_version": "1_0",
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/jwks"),
            "delivery_methods_supported": ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"],
            "configuration_endpoint": format!("{issuer}/ssf/streams"),
            "verification_endpoint": format!("{issuer}/ssf/streams/verify"),
            "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:6749" }],
        })));
        let (j, c) = (jwks.clone(), config.clone());
        let app = Router::new()
            .route("/jwks", get(move || async move { Json(j.lock().unwrap().clone()) }))
            .route(
                "/.well-known/ssf-configuration",
                get(move || async move { Json(c.lock().unwrap().clone()) }),
            );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { issuer, jwks, config, keys: Mutex::new(None), server }
    }

    /// Signs SETs with `jose`: each spec is `{"key", "header", "claims"}` (see ssf_set.mjs).
    /// The first call generates the keys and publishes the transmitter's.
    fn sign(&self, specs: &[Value]) -> Vec<String> {
        let keys = self.keys.lock().unwrap().clone();
        let input = json!({ "keys": keys, "sets": specs });
        let out: Value = serde_json::from_str(&run("ssf_set.mjs", &[&input.to_string()])).unwrap();
        *self.jwks.lock().unwrap() = out["jwks"].clone();
        *self.keys.lock().unwrap() = Some(out["keys"].clone());
        serde_json::from_value(out["sets"].clone()).unwrap()
    }

    /// A SET shaped after the CAEP 1.0 examples: `iss`, a fresh `jti`, `iat` now, `aud`,
    /// `txn`, the subject in `sub_id`, and one event.
    fn claims(&self, event: &str, sub_id: Value) -> Value {
        json!({
            "iss": self.issuer,
            "jti": random_jti(),
            "iat": now(),
            "aud": AUDIENCE,
            "txn": "8675309",
            "sub_id": sub_id,
            "events": { event: { "event_timestamp": now() - 2, "initiating_entity": "policy" } },
        })
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn random_jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{:x}{:x}", nanos.as_nanos(), N.fetch_add(1, Ordering::SeqCst))
}

fn opaque(id: &str) -> Value {
    json!({ "format": "opaque", "id": id })
}

fn iss_sub(iss: &str, sub: &str) -> Value {
    json!({ "format": "iss_sub", "iss": iss, "sub": sub })
}

fn spec(claims: Value) -> Value {
    json!({ "claims": claims })
}

/// Instances of one app against one WorkOS stand-in, receiving one transmitter's SETs; several
/// share Redis, one keeps its state in memory.
struct Cluster {
    standin: WorkOsStandIn,
    transmitter: Transmitter,
    apps: Vec<String>,
    revocations: Vec<Revocations>,
}

async fn cluster(n: usize) -> Cluster {
    require("jose");
    let standin = WorkOsStandIn::start().await;
    let transmitter = Transmitter::start().await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let prefix = format!("it-ssf-{}-{}", std::process::id(), nanos.as_nanos());
    let (mut apps, mut revocations) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let (listed, store) = stores(n, &prefix);
        let r = Revocations::builder(listed).resync_every(Duration::from_millis(100)).start().await;
        tokio::spawn(r.keep_current());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = format!("http://{}", listener.local_addr().unwrap());
        let idp = IdentityProvider::workos_at(standin.base_url(), CLIENT_ID, API_KEY).unwrap();
        let signals = SharedSignals::discover(&transmitter.issuer, AUDIENCE).await.unwrap();
        let sessions = Sessions::builder(idp, passwords(), format!("{app}/auth/callback"))
            .store(store)
            .revocations(r.clone())
            .shared_signals(signals)
            .build()
            .unwrap();
        assert_eq!(sessions.shared_signals_path(), "/auth/ssf");
        let router = Router::new()
            .route(
                "/me",
                get(|c: AuthContext| async move { Json(c) }).route_layer(RequireAuth::new()),
            )
            .merge(sessions.routes())
            .layer(sessions.auth_layer());
        serve(listener, router);
        apps.push(app);
        revocations.push(r);
    }
    Cluster { standin, transmitter, apps, revocations }
}

#[cfg(feature = "redis")]
fn stores(n: usize, prefix: &str) -> (Arc<dyn RevocationStore>, Arc<dyn Store>) {
    use axum_session_mfa::store::{RedisOptions, RedisStore};
    if n == 1 {
        let memory = MemoryStore::new();
        return (Arc::new(memory.clone()), Arc::new(memory));
    }
    let url = crate::prerequisites::redis_url();
    let redis = RedisStore::with_options(&url, RedisOptions::default().prefix(prefix)).unwrap();
    (Arc::new(redis.clone()), Arc::new(redis))
}

#[cfg(not(feature = "redis"))]
fn stores(n: usize, _prefix: &str) -> (Arc<dyn RevocationStore>, Arc<dyn Store>) {
    assert_eq!(n, 1, "several instances need Redis");
    let memory = MemoryStore::new();
    (Arc::new(memory.clone()), Arc::new(memory))
}

fn passwords() -> IronPasswords {
    IronPasswords::new("1", PASSWORD).unwrap()
}

/// A reply of the receiver: status and JSON body.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Answer {
    /// `(status, err, code)` of a refusal.
    fn refusal(&self) -> (StatusCode, &str, &str) {
        let text = |name: &str| self.body[name].as_str().unwrap_or_default();
        (self.status, text("err"), text("code"))
    }
}

impl Cluster {
    /// Signs in at instance 0 with a new session at the provider; returns the cookie and the
    /// session's id (the access token's `sid`).
    async fn sign_in(&self) -> (String, String) {
        let mut browser = Browser::new();
        // max_age=0 makes the stand-in start a new session rather than reuse the last one.
        let login = format!("{}/auth/login?return_to=/me&max_age=0", self.apps[0]);
        let page = browser.navigate(&login).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let cookie = browser.cookie(&self.apps[0], COOKIE).unwrap();
        let sid = page.json()["sid"].as_str().unwrap().to_owned();
        assert_eq!(Some(&sid), self.standin.current_session_id().as_ref());
        (cookie, sid)
    }

    async fn me(&self, i: usize, cookie: &str) -> Page {
        let mut browser = Browser::new().api();
        browser.set_cookie_value(&self.apps[i], COOKIE, cookie);
        browser.get(&format!("{}/me", self.apps[i])).await
    }

    async fn assert_alive(&self, i: usize, cookie: &str, what: &str) {
        let page = self.me(i, cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{what}: {page:?}");
    }

    async fn assert_revoked(&self, i: usize, cookie: &str, what: &str) {
        let page = self.me(i, cookie).await;
        assert_eq!(
            (page.status, page.code().as_str()),
            (StatusCode::UNAUTHORIZED, "session_revoked"),
            "{what}: {page:?}"
        );
    }

    /// Pushes `body` to instance `i` as RFC 8935 does.
    async fn push(&self, i: usize, body: &str) -> Answer {
        self.push_as(i, "application/secevent+jwt", body.to_owned()).await
    }

    async fn push_as(&self, i: usize, content_type: &str, body: String) -> Answer {
        let response = reqwest::Client::new()
            .post(format!("{}/auth/ssf", self.apps[i]))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        Answer { status, content_type, body }
    }
}

/// CAEP `session-revoked` naming a session (`opaque`, or `complex` with a `session`) refuses
/// that session and no other; the verification event, other event types and subjects that are
/// not these sessions' are acknowledged and change nothing; `session-revoked` with an `iss_sub`
/// (the transmitter's, or the layer's issuer) revokes the user. One audit event per SET.
#[tokio::test]
async fn session_revoked_sets_refuse_the_session_or_the_user_they_name() {
    let (capture, _guard) = crate::audit::capture();
    let c = cluster(1).await;
    let (a, sid_a) = c.sign_in().await;
    let (b, sid_b) = c.sign_in().await;
    let (d, _) = c.sign_in().await;
    let t = &c.transmitter;
    let complex = json!({
        "format": "complex",
        "session": opaque(&sid_b),
        "user": iss_sub(&t.issuer, USER_ID),
        "tenant": { "format": "opaque", "id": "123456789" },
    });
    let workos_issuer = format!("https://api.workos.com/user_management/{CLIENT_ID}");
    let sets = t.sign(&[
        spec(t.claims(SESSION_REVOKED, opaque(&sid_a))),
        spec(t.claims(SESSION_REVOKED, complex)),
        // SSF 1.0 section 8.1.4: the stream's verification event names the stream.
        spec(t.claims(VERIFICATION, opaque("stream-f67e39a0"))),
        spec(t.claims(
            "https://schemas.openid.net/secevent/caep/event-type/token-claims-change",
            opaque(&sid_a),
        )),
        spec(t.claims(SESSION_REVOKED, json!({ "format": "email", "email": "ada@example.test" }))),
        spec(t.claims(SESSION_REVOKED, iss_sub("https://elsewhere.example", USER_ID))),
        spec(t.claims(SESSION_REVOKED, iss_sub(&workos_issuer, USER_ID))),
    ]);

    let answer = c.push(0, &sets[0]).await;
    assert_eq!((answer.status, &answer.body), (StatusCode::ACCEPTED, &Value::Null), "{answer:?}");
    c.assert_revoked(0, &a, "opaque session id").await;
    c.assert_alive(0, &b, "another session after an opaque session-revoked").await;

    assert_eq!(c.push(0, &sets[1]).await.status, StatusCode::ACCEPTED);
    c.assert_revoked(0, &b, "complex subject with a session").await;
    c.assert_alive(0, &d, "the user's third session after two session-revoked").await;

    for (set, what) in
        sets[2..6].iter().zip(["verification", "other event", "email", "foreign iss"])
    {
        let answer = c.push(0, set).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{what}: {answer:?}");
        c.assert_alive(0, &d, what).await;
    }

    assert_eq!(c.push(0, &sets[6]).await.status, StatusCode::ACCEPTED);
    c.assert_revoked(0, &d, "iss_sub of the layer's issuer: the user").await;

    let events: Vec<(String, String, String)> = capture
        .events()
        .into_iter()
        .filter(|e| e["event"] == "idp_event")
        .map(|e| {
            let text = |n: &str| e[n].as_str().unwrap_or_default().to_owned();
            assert_eq!(text("source"), "ssf");
            (text("kind"), text("subject"), text("reason"))
        })
        .collect();
    let row = |kind: &str, subject: &str, reason: &str| {
        (kind.to_owned(), subject.to_owned(), reason.to_owned())
    };
    assert_eq!(
        events,
        [
            row("session-revoked", &sid_a, "revoked"),
            row("session-revoked", &sid_b, "revoked"),
            row("verification", "", "ignored"),
            row("token-claims-change", "", "ignored"),
            row("session-revoked", "", "ignored"),
            row("session-revoked", "", "ignored"),
            row("session-revoked", USER_ID, "revoked"),
        ]
    );
    for set in &sets {
        assert!(!capture.raw().contains(set.split('.').nth(2).unwrap()), "a signature was logged");
    }
}

/// CAEP `credential-change` revokes the user's sessions, with the subject in SSF 1.0's `sub_id`
/// (here a `complex` subject with a `user`) or, as earlier CAEP drafts put it, in the event's
/// `subject`.
#[tokio::test]
async fn credential_change_revokes_every_session_of_the_user() {
    for place in ["sub_id", "event subject"] {
        let c = cluster(1).await;
        let (a, _) = c.sign_in().await;
        let (b, _) = c.sign_in().await;
        let t = &c.transmitter;
        let user = json!({ "format": "complex", "user": iss_sub(&t.issuer, USER_ID) });
        let mut claims = t.claims(CREDENTIAL_CHANGE, user.clone());
        if place == "event subject" {
            let claims = claims.as_object_mut().unwrap();
            claims.remove("sub_id");
            claims["events"][CREDENTIAL_CHANGE]["subject"] = user;
        }
        claims["events"][CREDENTIAL_CHANGE]["credential_type"] = json!("password");
        claims["events"][CREDENTIAL_CHANGE]["change_type"] = json!("update");
        let sets = t.sign(&[spec(claims)]);
        assert_eq!(c.push(0, &sets[0]).await.status, StatusCode::ACCEPTED, "{place}");
        c.assert_revoked(0, &a, place).await;
        c.assert_revoked(0, &b, place).await;
    }
}

/// Every refused SET gets 400 with RFC 8935's `err` and a code (forged, unknown key, another
/// audience or issuer, stale, from the future, another `typ`, no `jti`, two events, no subject,
/// another media type, too large), and the session it names keeps working. A SET delivered
/// twice is acknowledged (202) and applied once.
#[tokio::test]
async fn refused_sets_answer_rfc_8935_errors_and_revoke_nothing() {
    let (capture, _guard) = crate::audit::capture();
    let c = cluster(1).await;
    let (cookie, sid) = c.sign_in().await;
    let t = &c.transmitter;
    let base = || t.claims(SESSION_REVOKED, opaque(&sid));
    let with = |name: &str, value: Value| {
        let mut claims = base();
        claims[name] = value;
        claims
    };
    let without = |name: &str| {
        let mut claims = base();
        claims.as_object_mut().unwrap().remove(name);
        claims
    };
    let two_events = with("events", json!({ SESSION_REVOKED: {}, CREDENTIAL_CHANGE: {} }));
    let cases: Vec<(&str, Value, (&str, &str))> = vec![
        (
            "forged: another key, the transmitter's kid",
            json!({ "key": "stranger", "claims": base() }),
            ("authentication_failed", "bad_signature"),
        ),
        (
            "a kid the transmitter does not publish",
            json!({ "key": "stranger", "header": { "kid": "ssf-2" }, "claims": base() }),
            ("invalid_key", "unknown_key"),
        ),
        (
            "its own key in the header",
            json!({ "header": { "jwk": { "kty": "oct", "k": "AAAA" } }, "claims": base() }),
            ("invalid_key", "forbidden_header"),
        ),
        (
            "another audience",
            spec(with("aud", json!("https://other.example/ssf"))),
            ("invalid_audience", "wrong_audience"),
        ),
        ("no audience", spec(without("aud")), ("invalid_audience", "missing_claim")),
        (
            "another issuer",
            spec(with("iss", json!("https://elsewhere.example"))),
            ("invalid_issuer", "wrong_issuer"),
        ),
        (
            "issued an hour ago",
            spec(with("iat", json!(now() - 3600))),
            ("invalid_request", "set_stale"),
        ),
        (
            "issued an hour ahead",
            spec(with("iat", json!(now() + 3600))),
            ("invalid_request", "set_issued_in_future"),
        ),
        ("no iat", spec(without("iat")), ("invalid_request", "set_invalid")),
        ("expired", spec(with("exp", json!(now() - 600))), ("invalid_request", "token_expired")),
        (
            "typ JWT",
            json!({ "header": { "typ": "JWT" }, "claims": base() }),
            ("invalid_request", "wrong_token_type"),
        ),
        (
            "no typ",
            json!({ "header": { "typ": null }, "claims": base() }),
            ("invalid_request", "wrong_token_type"),
        ),
        ("no jti", spec(without("jti")), ("invalid_request", "set_invalid")),
        ("two events", spec(two_events), ("invalid_request", "set_invalid")),
        ("no subject", spec(without("sub_id")), ("invalid_request", "set_invalid")),
    ];
    let specs: Vec<Value> = cases.iter().map(|(_, s, _)| s.clone()).chain([spec(base())]).collect();
    let sets = t.sign(&specs);
    for ((what, _, (err, code)), set) in cases.iter().zip(&sets) {
        let answer = c.push(0, set).await;
        // A SET that does not verify is `set_invalid`, with the verifier's code as `reason`.
        let (code, reason) = match *code {
            own if own.starts_with("set_") => (own, None),
            verifier => ("set_invalid", Some(verifier)),
        };
        assert_eq!(answer.refusal(), (StatusCode::BAD_REQUEST, *err, code), "{what}: {answer:?}");
        assert_eq!(answer.body["reason"].as_str(), reason, "{what}: {answer:?}");
        assert_eq!(answer.content_type, "application/problem+json", "{what}");
        assert!(answer.body["description"].as_str().is_some_and(|d| !d.is_empty()), "{what}");
        c.assert_alive(0, &cookie, what).await;
    }
    let good = sets.last().unwrap();
    let answer = c.push_as(0, "application/json", good.clone()).await;
    assert_eq!(answer.refusal(), (StatusCode::BAD_REQUEST, "invalid_request", "set_media_type"));
    let padded = format!("{good}{}", " ".repeat(40 * 1024));
    let answer = c.push(0, &padded).await;
    assert_eq!(answer.refusal(), (StatusCode::BAD_REQUEST, "invalid_request", "set_too_large"));
    let answer = c.push(0, "not.a.set").await;
    assert_eq!(answer.refusal(), (StatusCode::BAD_REQUEST, "invalid_request", "set_invalid"));
    assert_eq!(answer.body["reason"], "malformed_token");
    c.assert_alive(0, &cookie, "after every refusal").await;

    // The same SET twice: the second is acknowledged and not applied again.
    assert_eq!(c.push(0, good).await.status, StatusCode::ACCEPTED);
    c.assert_revoked(0, &cookie, "the first delivery").await;
    assert_eq!(c.push(0, good).await.status, StatusCode::ACCEPTED);
    let reasons: Vec<String> = capture
        .events()
        .into_iter()
        .filter(|e| e["event"] == "idp_event")
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    // The audit names the finer reason (the verifier's code) where there is one.
    let refused: Vec<&str> = cases.iter().map(|(_, _, (_, code))| *code).collect();
    let expected: Vec<&str> = refused
        .into_iter()
        .chain(["set_media_type", "set_too_large", "malformed_token", "revoked", "duplicate"])
        .collect();
    assert_eq!(reasons, expected);
}

/// Discovery refuses a configuration that names another issuer or offers no push delivery,
/// and the sessions refuse a transmitter without revocations.
#[tokio::test]
async fn discovery_and_configuration_mistakes_fail_at_start() {
    let t = Transmitter::start().await;
    assert!(matches!(
        SharedSignals::discover(&t.issuer, "").await,
        Err(SharedSignalsError::NoAudience)
    ));
    let signals = SharedSignals::discover(&t.issuer, AUDIENCE).await.unwrap();
    assert_eq!((signals.issuer(), signals.audience()), (t.issuer.as_str(), AUDIENCE));
    assert_eq!(signals.keys().url(), format!("{}/jwks", t.issuer));
    let idp = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
    let built = Sessions::builder(idp, passwords(), "https://app.example.com/auth/callback")
        .shared_signals(signals)
        .build();
    assert!(matches!(built, Err(ConfigError::SharedSignalsWithoutRevocations)), "{built:?}");

    t.config.lock().unwrap()["delivery_methods_supported"] = json!(["urn:ietf:rfc:8936"]);
    let err = SharedSignals::discover(&t.issuer, AUDIENCE).await.unwrap_err();
    assert!(matches!(err, SharedSignalsError::NoPushDelivery(_)), "{err:?}");
    t.config.lock().unwrap()["issuer"] = json!("https://elsewhere.example");
    let err = SharedSignals::discover(&t.issuer, AUDIENCE).await.unwrap_err();
    assert!(err.to_string().contains("elsewhere"), "{err}");
}

/// Two instances on one Redis: a `session-revoked` delivered to the first refuses the session
/// on the second (once the announcement arrives), and the same SET delivered to the second is
/// a duplicate there too (the `jti` is spent in the shared store).
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_set_delivered_to_one_instance_refuses_the_session_on_the_other() {
    let (capture, _guard) = crate::audit::capture();
    let c = cluster(2).await;
    let (cookie, sid) = c.sign_in().await;
    c.assert_alive(1, &cookie, "before").await;
    let t = &c.transmitter;
    let sets = t.sign(&[spec(t.claims(SESSION_REVOKED, opaque(&sid)))]);
    assert_eq!(c.push(0, &sets[0]).await.status, StatusCode::ACCEPTED);
    c.assert_revoked(0, &cookie, "on the instance that received it").await;
    for _ in 0..1000 {
        if c.revocations[1].len() >= c.revocations[0].len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    c.assert_revoked(1, &cookie, "on the other instance").await;
    assert_eq!(c.push(1, &sets[0]).await.status, StatusCode::ACCEPTED);
    let reasons: Vec<String> = capture
        .events()
        .into_iter()
        .filter(|e| e["event"] == "idp_event")
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["revoked", "duplicate"]);
}
