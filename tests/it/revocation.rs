//! Revocations (in memory, and on Redis): revoked sessions and users refused through the
//! layer, cache hits included; fail closed (or open) when the shared state is unreachable.

use std::time::Duration;

use axum_session_mfa::store::MemoryStore;
#[cfg(feature = "redis")]
use axum_session_mfa::store::RedisStore;
use axum_session_mfa::{Clock, Revocations};
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::common::*;

pub(crate) async fn app_with(revocations: &Revocations) -> axum::Router {
    router(builder_for(Algorithm::HS256).revocations(revocations.clone()).build().unwrap())
}

#[tokio::test]
async fn a_revoked_session_is_refused_even_from_the_token_cache() {
    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(revocations.keep_current());
    let app = app_with(&revocations).await;
    let token = hs256(&claims()); // sid "session_abc"
    let other = {
        let mut c = claims();
        c["sid"] = json!("session_other");
        hs256(&c)
    };
    assert_eq!(bearer(&app, "/me", &token).await.status, 200, "cached now");
    revocations.revoke_session("session_abc").await.unwrap();
    let refused = bearer(&app, "/me", &token).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (401, "session_revoked".to_owned()));
    assert!(refused.www_authenticate().contains("invalid_token"), "{}", refused.www_authenticate());
    assert_eq!(bearer(&app, "/me", &other).await.status, 200, "other sessions are untouched");
    // The public check says the same, for sessions checked outside the layer.
    let layer = builder_for(Algorithm::HS256).build().unwrap();
    let ctx = layer.verify_token(&token).await.unwrap();
    assert_eq!(revocations.check(&ctx), Err(axum_session_mfa::AuthError::SessionRevoked));
}

#[tokio::test]
async fn sign_out_refuses_the_tokens_issued_so_far_but_not_a_new_sign_in_with_the_same_sid() {
    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(revocations.keep_current());
    let app = app_with(&revocations).await;
    let issued = |iat: u64| {
        let mut c = claims();
        c["iat"] = json!(iat);
        hs256(&c)
    };
    revocations.sign_out_session("session_abc").await.unwrap();
    let old = bearer(&app, "/me", &issued(now() - 10)).await;
    assert_eq!((old.status.as_u16(), old.code()), (401, "session_revoked".to_owned()));
    // A token without iat cannot show it is newer: refused.
    let mut c = claims();
    c.as_object_mut().unwrap().remove("iat");
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.code(), "session_revoked");
    // The provider kept its session and signs the user in again with the same sid: accepted.
    assert_eq!(bearer(&app, "/me", &issued(now() + 2)).await.status, 200);
    // A full revocation of the sid afterwards wins over the sign-out's cut-off.
    revocations.revoke_session("session_abc").await.unwrap();
    assert_eq!(bearer(&app, "/me", &issued(now() + 2)).await.code(), "session_revoked");
}

#[tokio::test]
async fn revoking_a_user_ends_the_sessions_that_signed_in_before_only() {
    // Revoked 100 s ago, by the revocations' clock.
    let past = Clock::from_fn(|| now() - 100);
    let revocations = Revocations::builder(MemoryStore::new()).clock(past).start().await;
    tokio::spawn(revocations.keep_current());
    let app = app_with(&revocations).await;
    revocations.revoke_user("user_123").await.unwrap();
    let with_auth_time = |t: u64| {
        let mut c = claims();
        c["auth_time"] = json!(t);
        hs256(&c)
    };
    let old = bearer(&app, "/me", &with_auth_time(now() - 200)).await;
    assert_eq!((old.status.as_u16(), old.code()), (401, "session_revoked".to_owned()));
    // Signed in after the revocation: a new session, accepted.
    assert_eq!(bearer(&app, "/me", &with_auth_time(now() - 10)).await.status, 200);
    // No auth_time: iat decides (claims() has iat = now - 10).
    let mut c = claims();
    c.as_object_mut().unwrap().remove("auth_time");
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
    c["iat"] = json!(now() - 500);
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.code(), "session_revoked");
    // Another user is untouched.
    let mut c = claims();
    c["sub"] = json!("user_456");
    c["auth_time"] = json!(now() - 500);
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
}

#[tokio::test]
async fn entries_end_after_their_retention() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let shift = Arc::new(AtomicU64::new(0));
    let clock = {
        let shift = shift.clone();
        Clock::from_fn(move || now() + shift.load(Ordering::SeqCst))
    };
    let revocations = Revocations::builder(MemoryStore::new())
        .retain(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(3600))
        .clock(clock)
        .start()
        .await;
    tokio::spawn(revocations.keep_current());
    let app = app_with(&revocations).await;
    revocations.revoke_session("session_abc").await.unwrap();
    let token = hs256(&claims());
    assert_eq!(bearer(&app, "/me", &token).await.code(), "session_revoked");
    // 61 s later the entry is over (its tokens cannot still be valid, by the retention).
    shift.store(61, Ordering::SeqCst);
    assert_eq!(
        revocations.check(
            &builder_for(Algorithm::HS256).build().unwrap().verify_token(&token).await.unwrap()
        ),
        Ok(())
    );
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn unreachable_shared_state_fails_closed_after_the_staleness_bound_or_open_if_chosen() {
    // Nothing listens on port 1: every command fails at once.
    let dead = || RedisStore::new("redis://127.0.0.1:1").unwrap();
    let closed = Revocations::builder(dead()).max_staleness(Duration::from_millis(0)).start().await;
    tokio::spawn(closed.keep_current());
    let app = app_with(&closed).await;
    let reply = bearer(&app, "/me", &hs256(&claims())).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (503, "revocation_unavailable".to_owned()));
    assert!(reply.headers.get("retry-after").is_some());
    // Anonymous requests are not affected (nothing to check).
    let public = send(&app, get_req("/public").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(public.status, 200);
    let open = Revocations::builder(dead())
        .max_staleness(Duration::from_millis(0))
        .fail_open()
        .start()
        .await;
    tokio::spawn(open.keep_current());
    assert_eq!(bearer(&app_with(&open).await, "/me", &hs256(&claims())).await.status, 200);
}

/// A key prefix of its own per test, so tests sharing the local Redis never see each other.
#[cfg(feature = "redis")]
pub(crate) fn prefix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("it-{}-{}", std::process::id(), nanos.as_nanos())
}

#[cfg(feature = "redis")]
fn redis_state(url: &str, prefix: &str) -> RedisStore {
    crate::prerequisites::report();
    use axum_session_mfa::store::RedisOptions;
    RedisStore::with_options(url, RedisOptions::default().prefix(prefix)).unwrap()
}

/// Polls `f` every 5 ms for up to `limit`; `true` once it holds.
#[cfg(feature = "redis")]
pub(crate) async fn eventually(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_revocation_on_one_instance_is_refused_on_the_others_and_on_new_ones() {
    let redis = crate::prerequisites::redis_url();
    let p = prefix();
    let a = Revocations::builder(redis_state(&redis, &p)).start().await;
    tokio::spawn(a.keep_current());
    let b = Revocations::builder(redis_state(&redis, &p)).start().await;
    tokio::spawn(b.keep_current());
    let (app_a, app_b) = (app_with(&a).await, app_with(&b).await);
    let token = hs256(&claims());
    assert_eq!(bearer(&app_b, "/me", &token).await.status, 200);
    a.revoke_session("session_abc").await.unwrap();
    assert_eq!(bearer(&app_a, "/me", &token).await.code(), "session_revoked");
    let refused = eventually(Duration::from_secs(10), async || {
        bearer(&app_b, "/me", &token).await.status == 401
    })
    .await;
    assert!(refused, "instance B still accepts a session revoked on A");
    assert_eq!(bearer(&app_b, "/me", &token).await.code(), "session_revoked");
    // A user revoked on B is refused on A.
    let mut c = claims();
    c["sub"] = json!("user_789");
    c["sid"] = json!("session_789");
    let user_token = hs256(&c);
    b.revoke_user("user_789").await.unwrap();
    let refused = eventually(Duration::from_secs(10), async || {
        bearer(&app_a, "/me", &user_token).await.status == 401
    })
    .await;
    assert!(refused);
    // An instance started afterwards loads the state at start.
    let late = Revocations::builder(redis_state(&redis, &p)).start().await;
    tokio::spawn(late.keep_current());
    let app_late = app_with(&late).await;
    assert_eq!(bearer(&app_late, "/me", &token).await.code(), "session_revoked");
    assert_eq!(bearer(&app_late, "/me", &user_token).await.code(), "session_revoked");
}

/// A Redis server of the test's own on a free port, killed on drop.
#[cfg(feature = "redis")]
pub(crate) struct OwnRedis {
    pub(crate) port: u16,
    child: std::process::Child,
}

#[cfg(feature = "redis")]
impl OwnRedis {
    pub(crate) fn start(port: Option<u16>) -> Self {
        let port = port.unwrap_or_else(free_port);
        Self::spawn(port, &["--port", &port.to_string()], None)
    }

    /// A Redis that speaks TLS only (no plain port) on a free port, with the certificate and
    /// key in `dir` (`server.pem`, `server.key`, `ca.pem`), which is also its working directory.
    pub(crate) fn start_tls(dir: &std::path::Path) -> Self {
        let port = free_port();
        let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        let tls_port = port.to_string();
        let args = [
            "--port",
            "0",
            "--tls-port",
            &tls_port,
            "--tls-cert-file",
            &file("server.pem"),
            "--tls-key-file",
            &file("server.key"),
            "--tls-ca-cert-file",
            &file("ca.pem"),
            "--tls-auth-clients",
            "no",
        ];
        Self::spawn(port, &args, Some(dir))
    }

    fn spawn(port: u16, args: &[&str], dir: Option<&std::path::Path>) -> Self {
        crate::prerequisites::report();
        let mut cmd = std::process::Command::new("redis-server");
        cmd.args(args)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("redis-server must be installed (.ci/run installs it)");
        let up = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !up {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "redis-server {args:?} did not start on port {port} (TLS needs a redis-server built with it)"
            );
        }
        Self { port, child }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// A loopback port that was free a moment ago.
#[cfg(feature = "redis")]
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[cfg(feature = "redis")]
impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_stopped_and_restarted_mid_test() {
    crate::common::init_tracing();
    let redis = OwnRedis::start(None);
    let (url, port, p) = (redis.url(), redis.port, prefix());
    let start = |url: String| {
        let p = p.clone();
        async move {
            let r = Revocations::builder(redis_state(&url, &p))
                .max_staleness(Duration::from_millis(1_000))
                .resync_every(Duration::from_millis(100))
                .start()
                .await;
            tokio::spawn(r.keep_current());
            r
        }
    };
    let a = start(url.clone()).await;
    let b = start(url.clone()).await;
    let (app_a, app_b) = (app_with(&a).await, app_with(&b).await);
    let revoked = hs256(&claims());
    let mut c = claims();
    c["sid"] = json!("session_fine");
    let fine = hs256(&c);
    a.revoke_session("session_abc").await.unwrap();
    assert!(
        eventually(Duration::from_secs(10), async || bearer(&app_b, "/me", &revoked).await.status
            == 401)
        .await
    );

    // Redis goes away: the local copy keeps working for the staleness bound...
    drop(redis);
    assert_eq!(bearer(&app_b, "/me", &revoked).await.code(), "session_revoked");
    assert_eq!(bearer(&app_b, "/me", &fine).await.status, 200);
    // ...a revocation made meanwhile holds on the instance that made it (and says it could not
    // be shared)...
    let mut c = claims();
    c["sid"] = json!("session_during");
    let during = hs256(&c);
    assert!(a.revoke_session("session_during").await.is_err(), "no hang, an error");
    assert_eq!(bearer(&app_a, "/me", &during).await.code(), "session_revoked");
    // ...then sessions are refused with 503 and Retry-After (fail closed), never a 500 or a hang.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let reply = bearer(&app_b, "/me", &fine).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (503, "revocation_unavailable".to_owned()));
    assert!(reply.headers.contains_key("retry-after"));

    // Redis comes back (empty: it keeps nothing on disk): both recover on their own, and keep
    // what they knew was revoked.
    let _redis = OwnRedis::start(Some(port));
    assert!(
        eventually(Duration::from_secs(10), async || bearer(&app_b, "/me", &fine).await.status
            == 200)
        .await,
        "instance B did not recover"
    );
    assert_eq!(bearer(&app_b, "/me", &revoked).await.code(), "session_revoked");
    // A recovers too (each instance reconnects on its own schedule).
    assert!(
        eventually(Duration::from_secs(10), async || bearer(&app_a, "/me", &during).await.code()
            == "session_revoked")
        .await,
        "instance A did not recover"
    );
    // What A revoked during the outage reaches B once Redis is back (A publishes it again).
    assert!(
        eventually(Duration::from_secs(10), async || bearer(&app_b, "/me", &during).await.status
            == 401)
        .await,
        "a revocation made during the outage was lost"
    );
    // New revocations flow again.
    a.revoke_session("session_fine").await.unwrap();
    assert!(
        eventually(Duration::from_secs(10), async || bearer(&app_b, "/me", &fine).await.status
            == 401)
        .await
    );
}

/// Ids longer than `MAX_ID_BYTES` (or empty) are refused at every entry point, and nothing is
/// recorded; an id of exactly the limit is fine.
#[tokio::test]
async fn ids_over_the_limit_are_refused_and_nothing_is_recorded() {
    use axum_session_mfa::{MAX_ID_BYTES, RevokeError};
    let revocations = Revocations::builder(MemoryStore::new()).start().await;
    tokio::spawn(revocations.keep_current());
    let long = "s".repeat(MAX_ID_BYTES + 1);
    for (what, result) in [
        ("revoke_session", revocations.revoke_session(&long).await),
        ("revoke_user", revocations.revoke_user(&long).await),
        ("sign_out_session", revocations.sign_out_session(&long).await),
        ("empty sid", revocations.revoke_session("").await),
        ("empty sub", revocations.revoke_user("").await),
    ] {
        assert_eq!(result, Err(RevokeError::InvalidId), "{what}");
    }
    assert!(revocations.is_empty(), "a refused revocation was recorded");
    revocations.revoke_session(&"s".repeat(MAX_ID_BYTES)).await.unwrap();
    assert_eq!(revocations.len(), 1);
    assert_eq!(RevokeError::InvalidId.code(), "invalid_id");
}

/// At capacity a new revocation is refused (`Full`), while every revoked session stays
/// refused, revoked sessions can still be revoked wider, and every other session keeps
/// working: a flood of revocations cannot push earlier ones out or fail other sessions.
#[tokio::test]
async fn at_capacity_new_revocations_are_refused_and_other_sessions_keep_working() {
    use axum_session_mfa::RevokeError;
    let revocations = Revocations::builder(MemoryStore::new()).capacity(100).start().await;
    tokio::spawn(revocations.keep_current());
    let app = app_with(&revocations).await;
    revocations.revoke_session("session_abc").await.unwrap();
    let mut full = 0;
    for i in 0..150 {
        match revocations.revoke_session(&format!("flood_{i}")).await {
            Ok(()) => {}
            Err(RevokeError::Full { capacity: 100 }) => full += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((full, revocations.len()), (51, 100));
    assert_eq!(
        revocations.revoke_user("user_new").await,
        Err(RevokeError::Full { capacity: 100 }),
        "a new user at capacity"
    );
    // An entry the set already holds can still be widened (a sign-out, then a revocation).
    revocations.sign_out_session("flood_1").await.unwrap();
    revocations.revoke_session("flood_1").await.unwrap();
    let revoked = bearer(&app, "/me", &hs256(&claims())).await;
    assert_eq!((revoked.status.as_u16(), revoked.code()), (401, "session_revoked".to_owned()));
    let mut c = claims();
    c["sid"] = json!("session_fresh");
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200, "another session works");
}

/// A resync reads the change log, not the whole set: an entry written to the log alone reaches
/// a running instance (no announcement, no hash field), an entry written to the hash alone
/// does not (it was never announced as a change), and an instance that starts loads the hash.
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_resync_reads_only_the_changes_since_the_last_one() {
    let redis = crate::prerequisites::redis_url();
    let p = prefix();
    let b = Revocations::builder(redis_state(&redis, &p))
        .resync_every(Duration::from_millis(50))
        .start()
        .await;
    tokio::spawn(b.keep_current());
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let until = now() + 3600;
    let entry = |sid: &str| json!({"kind": "session", "sid": sid, "until": until}).to_string();
    let _: () = redis::cmd("HSET")
        .arg(format!("{p}:revoked"))
        .arg("sid:hash_only")
        .arg(entry("hash_only"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(format!("{p}:revoked-log"))
        .arg("*")
        .arg("e")
        .arg(entry("log_only"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let app_b = app_with(&b).await;
    let token = |sid: &str| {
        let mut c = claims();
        c["sid"] = json!(sid);
        hs256(&c)
    };
    let seen = eventually(Duration::from_secs(10), async || {
        bearer(&app_b, "/me", &token("log_only")).await.status == 401
    })
    .await;
    assert!(seen, "the log entry did not reach the running instance");
    assert_eq!(bearer(&app_b, "/me", &token("hash_only")).await.status, 200, "a whole reload");
    let c = Revocations::builder(redis_state(&redis, &p)).start().await;
    tokio::spawn(c.keep_current());
    let app_c = app_with(&c).await;
    assert_eq!(bearer(&app_c, "/me", &token("hash_only")).await.code(), "session_revoked");
}

/// Entries leave the shared state by time: once their retention has passed, the next resync
/// removes them from Redis (found through their expiry, without reading the set) and the local
/// copy forgets them.
#[cfg(feature = "redis")]
#[tokio::test]
async fn expired_entries_leave_redis_and_the_copy_by_time() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let redis = crate::prerequisites::redis_url();
    let p = prefix();
    let offset = Arc::new(AtomicU64::new(0));
    let o = offset.clone();
    let clock = Clock::from_fn(move || now() + o.load(Ordering::SeqCst));
    let a = Revocations::builder(redis_state(&redis, &p))
        .clock(clock)
        .retain(Duration::from_secs(60))
        .resync_every(Duration::from_millis(50))
        .max_staleness(Duration::from_secs(3600))
        .start()
        .await;
    tokio::spawn(a.keep_current());
    for i in 0..3 {
        a.revoke_session(&format!("session_{i}")).await.unwrap();
    }
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let count = async |conn: &mut redis::aio::MultiplexedConnection| -> (u64, u64) {
        let hash: u64 =
            redis::cmd("HLEN").arg(format!("{p}:revoked")).query_async(conn).await.unwrap();
        let zset: u64 =
            redis::cmd("ZCARD").arg(format!("{p}:revoked-until")).query_async(conn).await.unwrap();
        (hash, zset)
    };
    assert_eq!(count(&mut conn).await, (3, 3));
    offset.store(120, Ordering::SeqCst);
    // Bounded by resyncs (every 50 ms), not by a timer: up to 10 s on a loaded machine.
    let mut gone = false;
    for _ in 0..1_000 {
        if count(&mut conn).await == (0, 0) && a.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "expired entries stayed: {:?}, copy {}", count(&mut conn).await, a.len());
}

/// A reader whose place in the change log was trimmed away (more changes than the log keeps
/// between two of its resyncs) reloads the whole set instead of reading on after the gap.
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_reader_that_fell_behind_the_trimmed_log_reloads_the_whole_set() {
    let redis = crate::prerequisites::redis_url();
    let p = prefix();
    let b = Revocations::builder(redis_state(&redis, &p))
        .resync_every(Duration::from_millis(50))
        .start()
        .await;
    tokio::spawn(b.keep_current());
    let app_b = app_with(&b).await;
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let entry = json!({"kind": "session", "sid": "trimmed", "until": now() + 3600}).to_string();
    // Stored and logged, then the log trimmed past it in the same step (no announcement): only
    // a whole reload can find it.
    let _: () = redis::pipe()
        .atomic()
        .hset(format!("{p}:revoked"), "sid:trimmed", &entry)
        .ignore()
        .cmd("XADD")
        .arg(format!("{p}:revoked-log"))
        .arg("*")
        .arg("e")
        .arg(&entry)
        .ignore()
        .cmd("XTRIM")
        .arg(format!("{p}:revoked-log"))
        .arg("MAXLEN")
        .arg(0)
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut c = claims();
    c["sid"] = json!("trimmed");
    let token = hs256(&c);
    let seen = eventually(Duration::from_secs(10), async || {
        bearer(&app_b, "/me", &token).await.status == 401
    })
    .await;
    assert!(seen, "the entry behind the trimmed log was never loaded");
}

/// The background sync is the caller's to run: a shared copy nobody keeps current (never
/// spawned, or stopped) is refused once it is older than the staleness bound, judged by the
/// revocations' clock, and served again while `keep_current` runs.
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_shared_copy_nobody_keeps_current_fails_closed() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let shift = Arc::new(AtomicU64::new(0));
    let clock = {
        let shift = shift.clone();
        Clock::from_fn(move || now() + shift.load(Ordering::SeqCst))
    };
    let redis = crate::prerequisites::redis_url();
    let revocations = Revocations::builder(redis_state(&redis, &prefix()))
        .max_staleness(Duration::from_secs(30))
        .clock(clock)
        .start()
        .await;
    let app = app_with(&revocations).await;
    let token = hs256(&claims());
    assert_eq!(bearer(&app, "/me", &token).await.status, 200, "just loaded");
    shift.store(31, Ordering::SeqCst);
    let stale = bearer(&app, "/me", &token).await;
    assert_eq!((stale.status.as_u16(), stale.code()), (503, "revocation_unavailable".into()));

    let sync = tokio::spawn(revocations.keep_current());
    let served = eventually(Duration::from_secs(5), async || {
        bearer(&app, "/me", &token).await.status == 200
    })
    .await;
    assert!(served, "keep_current resyncs the copy");
    // A second one for the same revocations ends at once.
    tokio::time::timeout(Duration::from_secs(5), revocations.keep_current())
        .await
        .expect("a second keep_current ends at once");

    sync.abort();
    assert!(sync.await.unwrap_err().is_cancelled());
    shift.store(62, Ordering::SeqCst);
    let stopped = bearer(&app, "/me", &token).await;
    assert_eq!((stopped.status.as_u16(), stopped.code()), (503, "revocation_unavailable".into()));
}

/// Sessions whose revocations are shared must share their refresh leases too, and the other way
/// round: an in-memory store beside Redis revocations (or Redis beside in-memory revocations) is
/// refused when the sessions are built.
#[cfg(all(feature = "redis", feature = "lifecycle"))]
#[tokio::test]
async fn sessions_refuse_a_store_and_revocations_that_disagree_on_sharing() {
    use axum_session_mfa::authkit::IronPasswords;
    use axum_session_mfa::lifecycle::{ConfigError, IdentityProvider, Sessions};
    let redis = redis_state(&crate::prerequisites::redis_url(), &prefix());
    let revocations = Revocations::builder(redis.clone()).start().await;
    let builder = || {
        let idp = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
        let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!").unwrap();
        Sessions::builder(idp, passwords, "https://app.example.com/auth/callback")
            .revocations(revocations.clone())
    };
    let refused = builder().build().unwrap_err();
    assert!(matches!(refused, ConfigError::StoreMismatch), "{refused:?}");
    assert!(refused.to_string().contains("SessionsBuilder::store"), "{refused}");
    let memory = builder().store(MemoryStore::new()).build().unwrap_err();
    assert!(matches!(memory, ConfigError::StoreMismatch), "{memory:?}");
    assert!(builder().store(redis.clone()).build().is_ok());
    let local = Revocations::builder(MemoryStore::new()).start().await;
    let idp = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
    let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!").unwrap();
    let other_way = Sessions::builder(idp, passwords, "https://app.example.com/auth/callback")
        .store(redis)
        .revocations(local)
        .build()
        .unwrap_err();
    assert!(matches!(other_way, ConfigError::StoreMismatch), "{other_way:?}");
}
