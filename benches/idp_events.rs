//! Revocation from the identity provider (#17): how long from a WorkOS webhook delivered to one
//! instance until another instance refuses the session it names.
//!
//! Two instances (A and B), each with its own `RedisStore` client on one Redis and a key prefix
//! unique to the run, `Revocations` kept current by `keep_current`, and sessions with the WorkOS
//! webhook mounted. N times (default 300): a fresh `session.revoked` for a fresh `sid`, signed as
//! WorkOS signs (`WorkOS-Signature: t=<ms>, v1=<HMAC-SHA256 of "<t>.<body>">`), is posted to A's
//! routes; B's `Revocations::check` for a session with that `sid` is polled from the main thread
//! (not a runtime worker) until it refuses it. Printed, in µs: the delay from the post to A's
//! `200` (verify the signature, spend the event id in Redis, revoke and publish), and from the
//! post to B's first refusal (that, plus the pub/sub announcement); p50, p90, p99, max.
//!
//! `cargo bench --features redis --bench idp_events`
//!
//! Redis: `REDIS_URL` (default `redis://127.0.0.1:6379`); the keys are deleted at the end.
//! `IDP_EVENTS_N` sets N. Under `cargo test --benches` it runs 5 times, and is skipped when
//! Redis cannot be reached.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::Router;
use axum::body::Body;
use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::lifecycle::{IdentityProvider, Sessions};
use axum_session_mfa::store::{RedisOptions, RedisStore};
use axum_session_mfa::{Algorithm, AuthContext, AuthError, AuthLayer, Key, Revocations};
use http::Request;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tower::ServiceExt;

const SECRET: &str = "whsec_bench-endpoint-secret";
const HS256: &[u8] = b"bench-only-hs256-secret-0123456789abcdef0123456789abcdef";

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// One instance: its revocations and the sessions' routes (the webhook among them).
async fn instance(url: &str, prefix: &str) -> (Revocations, Router) {
    let redis = RedisStore::with_options(url, RedisOptions::default().prefix(prefix)).unwrap();
    let revocations = Revocations::builder(redis.clone()).start().await;
    tokio::spawn(revocations.keep_current());
    let idp = IdentityProvider::workos("client_01BENCH", "sk_test_bench").unwrap();
    let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!").unwrap();
    let sessions = Sessions::builder(idp, passwords, "https://app.bench/auth/callback")
        .store(redis)
        .revocations(revocations.clone())
        .workos_webhook(SECRET)
        .build()
        .unwrap();
    (revocations, sessions.routes())
}

/// A `session.revoked` delivery for `sid`, signed now.
fn delivery(i: usize, sid: &str) -> Request<Body> {
    let body = json!({
        "id": format!("event_bench_{i}_{}", now_ms()),
        "event": "session.revoked",
        "data": { "object": "session", "id": sid, "user_id": "user_01BENCH" },
        "created_at": "2026-12-04T00:00:00.000Z",
    })
    .to_string();
    let t = now_ms();
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = hmac::sign(&key, format!("{t}.{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Request::post("/auth/workos/webhook")
        .header("content-type", "application/json")
        .header("workos-signature", format!("t={t}, v1={hex}"))
        .body(Body::from(body))
        .unwrap()
}

/// A verified session naming `sid`, for B's check.
async fn session(layer: &AuthLayer, sid: &str) -> AuthContext {
    let claims = json!({
        "sub": "user_01BENCH", "sid": sid, "iss": "https://issuer.bench",
        "iat": now_ms() / 1000, "exp": now_ms() / 1000 + 3600,
    });
    let token = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(HS256),
    )
    .unwrap();
    layer.verify_token(&token).await.unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50={:.0} µs p90={:.0} µs p99={:.0} µs max={:.0} µs",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0),
    );
}

fn main() {
    // `cargo test --benches` runs the binary without `--bench` (criterion's test mode).
    let test_mode = !std::env::args().any(|a| a == "--bench");
    let n: usize = match std::env::var("IDP_EVENTS_N") {
        Ok(v) => v.parse().expect("IDP_EVENTS_N is a number"),
        Err(_) if test_mode => 5,
        Err(_) => 300,
    };
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
        .is_ok();
    if !reachable {
        assert!(test_mode, "no Redis at {url}: set REDIS_URL");
        println!("idp_events: no Redis at {url}, skipped");
        return;
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let prefix = format!("bench-idp-{}-{}", std::process::id(), now_ms());
    let ((_a, routes_a), (b, _routes_b)) =
        rt.block_on(async { (instance(&url, &prefix).await, instance(&url, &prefix).await) });
    let layer = AuthLayer::builder(Key::hmac(Algorithm::HS256, HS256).unwrap()).build().unwrap();
    let (mut answered, mut refused) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let sid = format!("session_bench_{i}_{}", now_ms());
        let ctx = rt.block_on(session(&layer, &sid));
        assert_eq!(b.check(&ctx), Ok(()));
        let request = delivery(i, &sid);
        let start = Instant::now();
        let response = rt.block_on(routes_a.clone().oneshot(request)).unwrap();
        answered.push(start.elapsed());
        assert_eq!(response.status(), 200);
        let deadline = start + Duration::from_secs(5);
        loop {
            if b.check(&ctx) == Err(AuthError::SessionRevoked) {
                refused.push(start.elapsed());
                break;
            }
            assert!(Instant::now() < deadline, "B never refused {sid}");
            std::thread::yield_now();
        }
    }
    report("webhook to A answered (200)", answered);
    report("webhook to A, until B refuses the session", refused);
    // The run's keys.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query(&mut conn).unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(keys).query(&mut conn).unwrap();
    }
}
