//! Session revocation (#11), all in one run so the ratios hold:
//!
//! * `check`: [`Revocations::check`], the lookup the layer makes on every request, against the
//!   same `AuthContext` and an empty set (the baseline) or 10,000 revoked sessions plus 1,000
//!   revoked users: a session that is not revoked (`miss`), one revoked by `sid` and one by
//!   `sub` (both `Err(SessionRevoked)`); for reference, `SystemTime::now()` alone (the check
//!   reads the clock once), `AuthContext::sid` + `sub` (claim lookups) and the same two misses
//!   in plain `HashMap`s of the same keys. The sets live in memory and are kept current by
//!   their background task on a separate one-worker runtime, as in a server.
//! * `layer`: an HS256 token through a `Router` with `AuthLayer` + `RequireMfa`, token cache on
//!   (every request a cache hit), without `.revocations(..)`, with the empty set and with the
//!   10,000 + 1,000 set (the token is not revoked: the request passes); the bare router too.
//! * `interleaved ...` lines (printed after the groups): the same differences (empty set vs
//!   the big one; layer without revocations vs with them) timed in alternating batches, 41
//!   rounds, so that the machine's drift between criterion cases cancels out.
//! * propagation (not criterion; printed at the end): two `Revocations` on Redis (separate
//!   `SharedState::redis_with` clients, one key prefix unique to the run), N = 300 times:
//!   `revoke_session` of a fresh `sid` on A (a task on a 2-worker runtime), and B's `check`
//!   polled from the main thread (not a runtime worker) until it refuses that session. The
//!   delay is from the call on A to B's first refusal; the percentiles are printed in µs, once
//!   with an empty store and once with 10,000 sessions already revoked (written to the store,
//!   in its JSON format, before A and B start, so both load them).
//!
//! * `check_at_scale`: the check with 10^4, 10^5 and 10^6 revoked sessions in the copy (a
//!   miss and a hit), against the empty set in the same group.
//! * propagation also runs with 10^4, 10^5 and 10^6 sessions preloaded (`REVOCATION_SIZES`,
//!   default `0,10000,100000,1000000`), and prints how long each instance took to load them
//!   and the resident memory one copy holds (VmRSS growth over two copies, halved).
//!
//! `cargo bench -j 1 --features redis --bench revocation -- --warm-up-time 2 --measurement-time 5`
//!
//! Redis: `REDIS_URL` (default `redis://127.0.0.1:6379`); the bench deletes its keys at the end.
//! `REVOCATION_PROPAGATION_N` (default 300) sets N, `REVOCATION_PROPAGATION_N=0` skips it, and
//! `REVOCATION_POLL=sleep` polls B with a 20-µs sleep (plus the timer's slack) between checks
//! instead of spinning with `thread::yield_now`. Under `cargo test --benches` (criterion's test mode) the propagation
//! runs 5 times, and is skipped when Redis cannot be reached.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_session_mfa::store::{MemoryStore, RedisOptions, RedisStore};
use axum_session_mfa::{
    Algorithm, AuthContext, AuthError, AuthLayer, Key, RequireMfa, Revocations, TokenCache,
};
use criterion::{Criterion, criterion_group};
use http::Request;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tower::ServiceExt;

const ISS: &str = "https://issuer.bench";
const SECRET: &[u8] = b"bench-only-hs256-secret-0123456789abcdef0123456789abcdef";
const SESSIONS: usize = 10_000;
const USERS: usize = 1_000;
const LIVE_SID: &str = "session_live_01HXYZ";
const LIVE_SUB: &str = "user_01HXYZABCDEF";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A WorkOS/Auth0-sized HS256 access token for `sub` in session `sid`.
fn token(sub: &str, sid: &str) -> String {
    let now = now();
    let claims = json!({
        "iss": ISS, "sub": sub, "sid": sid, "org_id": "org_01HXYZ",
        "role": "admin", "roles": ["admin", "member"],
        "permissions": ["reports:read", "users:write", "billing:read"],
        "amr": ["pwd", "mfa"], "acr": "urn:example:loa:2",
        "auth_time": now - 30, "iat": now - 30, "exp": now + 3600, "jti": "01HXYZJTI",
    });
    let key = EncodingKey::from_secret(SECRET);
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

fn key() -> Key {
    Key::hmac(Algorithm::HS256, SECRET).unwrap()
}

fn layer(revocations: Option<&Revocations>) -> AuthLayer {
    let builder = AuthLayer::builder(key()).issuer(ISS).token_cache(TokenCache::new());
    match revocations {
        Some(r) => builder.revocations(r.clone()),
        None => builder,
    }
    .build()
    .unwrap()
}

fn guarded(layer: AuthLayer) -> Router {
    Router::new()
        .route("/admin", get(|| async { "ok" }))
        .route_layer(RequireMfa::new())
        .layer(layer)
}

fn bearer(token: &str) -> Request<Body> {
    Request::get("/admin")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

async fn ok(app: &Router, req: Request<Body>) {
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
}

/// 10,000 revoked sessions (`session_00000000`...) and 1,000 revoked users (`user_00000000`...)
/// in memory, through the public API, with the time one `revoke_session` takes as the set grows.
async fn revoke_all() -> Revocations {
    let full = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(full.keep_current());
    let mut started = Instant::now();
    for i in 0..SESSIONS {
        full.revoke_session(&format!("session_{i:08}")).await.unwrap();
        if i == 999 || i == SESSIONS - 1 {
            let per = started.elapsed() / 1_000;
            println!("revoke_session with {} to {} entries: {per:?} each", i - 999, i);
        }
        if i == SESSIONS - 1_001 {
            started = Instant::now();
        }
    }
    let started = Instant::now();
    for i in 0..USERS {
        full.revoke_user(&format!("user_{i:08}")).await.unwrap();
    }
    println!("revoke_user x {USERS} on top: {:?} each", started.elapsed() / USERS as u32);
    full
}

/// Nanoseconds per call of `a` and of `b`, measured in alternating batches (`rounds` of each,
/// `batch` calls a batch), so that drift of the machine hits both alike: the medians of each,
/// and the median of the paired differences (b − a, batch by batch).
fn interleaved(name: &str, rounds: usize, batch: u32, mut a: impl FnMut(), mut b: impl FnMut()) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_secs_f64() * 1e9 / f64::from(batch)
    };
    let (mut ta, mut tb, mut diff) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let x = time(&mut a);
        let y = time(&mut b);
        ta.push(x);
        tb.push(y);
        diff.push(y - x);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ma, mb) = (median(&mut ta), median(&mut tb));
    let (lo, md, hi) = {
        let md = median(&mut diff);
        (diff[diff.len() / 10], md, diff[diff.len() * 9 / 10])
    };
    println!(
        "{name}: a {ma:.1} ns, b {mb:.1} ns (x{:.3}), b - a per call: median {md:+.1} ns \
         (p10 {lo:+.1}, p90 {hi:+.1}; {rounds} rounds of {batch})",
        mb / ma
    );
}

fn bench(c: &mut Criterion) {
    axum_session_mfa::install_crypto_provider();
    // The revocations' background tasks (subscription, resync every 5 s) run here, as they
    // would on a server's runtime; the measured calls run on the bench thread.
    let background =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let verifier = layer(None);
    let ctx = |sub: &str, sid: &str| -> AuthContext {
        rt.block_on(verifier.verify_token(&token(sub, sid))).unwrap()
    };

    let empty = background.block_on(Revocations::builder(MemoryStore::new()).start());
    // Built on the background worker (as an admin endpoint would revoke), so the churn of
    // 11,000 snapshot copies stays out of the bench thread's malloc arena.
    let full = background.block_on(async { tokio::spawn(revoke_all()).await.unwrap() });
    println!("{full:?}");

    let live = ctx(LIVE_SUB, LIVE_SID);
    let by_sid = ctx(LIVE_SUB, "session_00004242");
    let by_sub = ctx("user_00000420", LIVE_SID);
    assert_eq!(empty.check(&live), Ok(()));
    assert_eq!(full.check(&live), Ok(()));
    assert_eq!(full.check(&by_sid), Err(AuthError::SessionRevoked));
    assert_eq!(full.check(&by_sub), Err(AuthError::SessionRevoked));

    // The floor: the same two misses in plain `HashMap`s of the same keys.
    let sessions: HashMap<Box<str>, u64> =
        (0..SESSIONS).map(|i| (format!("session_{i:08}").into(), u64::MAX)).collect();
    let users: HashMap<Box<str>, (u64, u64)> =
        (0..USERS).map(|i| (format!("user_{i:08}").into(), (u64::MAX, u64::MAX))).collect();

    let mut group = c.benchmark_group("check");
    group.bench_function("system_time_now", |b| b.iter(SystemTime::now));
    group.bench_function("ctx_sid_and_sub", |b| {
        b.iter(|| (black_box(black_box(&live).sid()), black_box(black_box(&live).sub())))
    });
    group.bench_function("two_hashmap_misses", |b| {
        b.iter(|| {
            assert!(!sessions.contains_key(black_box(LIVE_SID)));
            assert!(!users.contains_key(black_box(LIVE_SUB)));
        })
    });
    // Every iteration asserts its outcome: a copy gone stale (503 instead) would fail loudly.
    group.bench_function("empty/live", |b| {
        b.iter(|| assert!(empty.check(black_box(&live)).is_ok()))
    });
    group.bench_function("10k_sessions_1k_users/miss", |b| {
        b.iter(|| assert!(full.check(black_box(&live)).is_ok()))
    });
    group.bench_function("10k_sessions_1k_users/hit_sid", |b| {
        b.iter(|| assert!(matches!(full.check(black_box(&by_sid)), Err(AuthError::SessionRevoked))))
    });
    group.bench_function("10k_sessions_1k_users/hit_sub", |b| {
        b.iter(|| assert!(matches!(full.check(black_box(&by_sub)), Err(AuthError::SessionRevoked))))
    });
    group.finish();

    // The check with 10^4, 10^5 and 10^6 revoked sessions, against the empty set in the same
    // group: a miss (the live session) and a hit.
    let sizes: &[usize] = if test_mode() { &[10_000] } else { &[10_000, 100_000, 1_000_000] };
    let mut group = c.benchmark_group("check_at_scale");
    group.bench_function("empty/miss", |b| {
        b.iter(|| assert!(empty.check(black_box(&live)).is_ok()))
    });
    for &n in sizes {
        let started = Instant::now();
        let big = background.block_on(async move {
            tokio::spawn(async move {
                let r = Revocations::builder(MemoryStore::new()).capacity(n).start().await;
                tokio::spawn(r.keep_current());
                for i in 0..n {
                    r.revoke_session(&format!("session_{i:08}")).await.unwrap();
                }
                r
            })
            .await
            .unwrap()
        });
        println!("{n} revocations in memory: {:?} each", started.elapsed() / n as u32);
        let hit = ctx(LIVE_SUB, &format!("session_{:08}", n / 2));
        group.bench_function(format!("{n}/miss"), |b| {
            b.iter(|| assert!(big.check(black_box(&live)).is_ok()))
        });
        group.bench_function(format!("{n}/hit"), |b| {
            b.iter(|| assert!(matches!(big.check(black_box(&hit)), Err(AuthError::SessionRevoked))))
        });
        drop(big);
    }
    group.finish();

    let one = token(LIVE_SUB, LIVE_SID);
    let bare: Router = Router::new().route("/admin", get(|| async { "ok" }));
    let plain = guarded(layer(None));
    let with_empty = guarded(layer(Some(&empty)));
    let with_full = guarded(layer(Some(&full)));
    let mut group = c.benchmark_group("layer");
    group.bench_function("router_only", |b| b.to_async(&rt).iter(|| ok(&bare, bearer(&one))));
    group.bench_function("cached", |b| b.to_async(&rt).iter(|| ok(&plain, bearer(&one))));
    group.bench_function("cached_revocations_empty", |b| {
        b.to_async(&rt).iter(|| ok(&with_empty, bearer(&one)))
    });
    group.bench_function("cached_revocations_10k_1k", |b| {
        b.to_async(&rt).iter(|| ok(&with_full, bearer(&one)))
    });
    group.finish();

    // The same differences, measured in alternating batches (criterion runs the cases one
    // after the other, minutes apart, and this machine drifts by more than the check costs).
    let rounds = if test_mode() { 3 } else { 41 };
    interleaved(
        "interleaved check: a = empty set, b = 10k+1k set, miss",
        rounds,
        100_000,
        || assert!(empty.check(black_box(&live)).is_ok()),
        || assert!(full.check(black_box(&live)).is_ok()),
    );
    interleaved(
        "interleaved layer (cached, a block_on each): a = no revocations, b = 10k+1k set",
        rounds,
        2_000,
        || rt.block_on(ok(&plain, bearer(&one))),
        || rt.block_on(ok(&with_full, bearer(&one))),
    );
    interleaved(
        "interleaved layer (cached, a block_on each): a = no revocations, b = empty set",
        rounds,
        2_000,
        || rt.block_on(ok(&plain, bearer(&one))),
        || rt.block_on(ok(&with_empty, bearer(&one))),
    );
    // The copy was kept current throughout (else the asserts above would have failed).
    println!("after the groups: {full:?}");
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n = {}, p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs, mean {:.0} µs",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0),
        samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / samples.len() as f64,
    );
}

/// One propagation scenario: `preload` sessions written to the store before A and B start,
/// then `n` revocations on A, each timed until B refuses it.
fn propagation_run(url: &str, n: usize, preload: usize, sleep_poll: bool) {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let prefix = format!("bench-{}-{nanos}", std::process::id());
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client = redis::Client::open(url).unwrap();
    let hash = format!("{prefix}:revoked");
    let expiry = format!("{prefix}:revoked-until");
    if preload > 0 {
        // Straight into the store, in its format (a hash of JSON entries and their expiry), so
        // that A and B load them at start: revoking them one by one would take minutes.
        let until = now() + 3600;
        rt.block_on(async {
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            for start in (0..preload).step_by(10_000) {
                let mut pipe = redis::pipe();
                for i in start..preload.min(start + 10_000) {
                    let sid = format!("preloaded_{i:08}");
                    let entry = json!({"kind": "session", "sid": sid, "until": until});
                    pipe.hset(&hash, format!("sid:{sid}"), entry.to_string()).ignore();
                    pipe.zadd(&expiry, format!("sid:{sid}"), until).ignore();
                }
                pipe.query_async::<()>(&mut conn).await.unwrap();
            }
        });
    }
    let shared =
        || RedisStore::with_options(url, RedisOptions::default().prefix(prefix.clone())).unwrap();
    let rss_before = rss_kib();
    let started = Instant::now();
    let (a, b) = rt.block_on(async {
        // Room for the preloaded entries and the ones the run adds.
        let capacity = preload + n + 100;
        let start = || {
            Revocations::builder(shared())
                .capacity(capacity)
                .max_staleness(Duration::from_secs(120))
                .start()
        };
        let a = start().await;
        let b = start().await;
        tokio::spawn(a.keep_current());
        tokio::spawn(b.keep_current());
        (a, b)
    });
    let loaded = started.elapsed() / 2;
    let per_copy = rss_kib().saturating_sub(rss_before) / 2;
    println!(
        "{preload} sessions: each instance loaded them in {loaded:?}; resident memory per copy          {:.1} MiB ({} bytes per entry)",
        per_copy as f64 / 1024.0,
        (per_copy * 1024).checked_div(preload as u64).unwrap_or(0)
    );
    let verifier = layer(None);
    if preload > 0 {
        // Both loaded the preloaded entries (else the store's format has changed).
        let old = rt.block_on(verifier.verify_token(&token(LIVE_SUB, "preloaded_00000000")));
        let old = old.unwrap();
        assert_eq!(a.check(&old), Err(AuthError::SessionRevoked), "A did not load the store");
        assert_eq!(b.check(&old), Err(AuthError::SessionRevoked), "B did not load the store");
    }
    let sids: Vec<String> = (0..n + 5).map(|i| format!("{prefix}-sid-{i:04}")).collect();
    let ctxs: Vec<AuthContext> = sids
        .iter()
        .map(|sid| rt.block_on(verifier.verify_token(&token(LIVE_SUB, sid))).unwrap())
        .collect();

    let mut delays = Vec::with_capacity(n);
    let mut calls = Vec::with_capacity(n);
    let mut warmup = Vec::new();
    for (i, (sid, ctx)) in sids.into_iter().zip(&ctxs).enumerate() {
        assert_eq!(b.check(ctx), Ok(()), "{sid} refused before its revocation");
        let a = a.clone();
        let start = Instant::now();
        let call = rt.spawn(async move {
            let t = Instant::now();
            a.revoke_session(&sid).await.unwrap();
            t.elapsed()
        });
        loop {
            match b.check(ctx) {
                Ok(()) => {}
                Err(AuthError::SessionRevoked) => break,
                Err(e) => panic!("B: {e:?}"),
            }
            assert!(start.elapsed() < Duration::from_secs(10), "not propagated in 10 s");
            if sleep_poll {
                std::thread::sleep(Duration::from_micros(20));
            } else {
                std::thread::yield_now();
            }
        }
        let delay = start.elapsed();
        let call = rt.block_on(call).unwrap();
        // The first five connect A and make sure B's subscription is up: not counted.
        if i < 5 {
            warmup.push(delay);
        } else {
            delays.push(delay);
            calls.push(call);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("propagation warm-up (the first connects A's command connection): {warmup:?}");
    let label = format!("{preload} sessions already revoked");
    report(&format!("propagation A -> B, {label}"), delays);
    report(&format!("revoke_session call on A (Redis round trip), {label}"), calls);
    println!("{b:?}");
    drop((a, b));
    rt.block_on(async {
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys = [&hash, &expiry, &format!("{prefix}:revoked-log"), &format!("{prefix}:epoch")];
        // UNLINK frees a million entries in the background (DEL would block Redis).
        redis::cmd("UNLINK").arg(&keys).query_async::<()>(&mut conn).await.unwrap();
    });
}

/// This process's resident memory (Linux `VmRSS`), in KiB; 0 elsewhere.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Criterion's test mode (`cargo test --benches`): no `--bench` argument.
fn test_mode() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn propagation() {
    let test_mode = test_mode();
    let n = match std::env::var("REVOCATION_PROPAGATION_N") {
        Ok(n) => n.parse().expect("REVOCATION_PROPAGATION_N: a number"),
        Err(_) if test_mode => 5,
        Err(_) => 300,
    };
    if n == 0 {
        return;
    }
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    if std::net::TcpStream::connect(url.trim_start_matches("redis://").split('/').next().unwrap())
        .is_err()
    {
        assert!(test_mode, "propagation needs Redis at {url} (REDIS_URL)");
        println!("propagation skipped: no Redis at {url}");
        return;
    }
    let sleep_poll = std::env::var("REVOCATION_POLL").is_ok_and(|p| p == "sleep");
    println!("propagation: N = {n}, polling B by {}", if sleep_poll { "sleep" } else { "yield" });
    axum_session_mfa::install_crypto_provider();
    let sizes: Vec<usize> = match std::env::var("REVOCATION_SIZES") {
        Ok(list) => list.split(',').map(|n| n.trim().parse().expect("REVOCATION_SIZES")).collect(),
        Err(_) if test_mode => vec![0, SESSIONS],
        Err(_) => vec![0, 10_000, 100_000, 1_000_000],
    };
    for preload in sizes {
        propagation_run(&url, n, preload, sleep_poll);
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    propagation();
    Criterion::default().configure_from_args().final_summary();
}
