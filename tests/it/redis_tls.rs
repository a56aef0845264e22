//! Redis over TLS (`rediss://`) against a real `redis-server` speaking TLS only, with a CA and
//! a server certificate for 127.0.0.1 and localhost made here (rcgen): the CA given in
//! `RedisOptions` is trusted, the system's roots are not enough, a plain URL to the TLS port
//! fails, and URLs or CAs the crate cannot serve are configuration errors that say why.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum_session_mfa::store::{RedisOptions, RedisStore, StoreError};
use axum_session_mfa::{Revocations, RevokeError};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::common::*;
use crate::revocation::{OwnRedis, app_with, eventually, prefix};

/// A directory of the test's own, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("it-redis-tls-{}", prefix()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA (PEM) and a server certificate and key it signed, for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "axum-session-mfa test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    server.distinguished_name.push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let server_pem = server.signed_by(&server_key, &issuer).unwrap().pem();
    Pki { ca_pem, server_pem, server_key: server_key.serialize_pem() }
}

/// A redis-server speaking TLS only, with its CA. Fields drop in order: the server, then its
/// directory.
pub(crate) struct TlsRedis {
    pub(crate) redis: OwnRedis,
    ca_pem: String,
    dir: TempDir,
}

impl TlsRedis {
    pub(crate) fn start() -> Self {
        let dir = TempDir::new();
        let pki = pki();
        let write = |name: &str, text: &str| std::fs::write(dir.0.join(name), text).unwrap();
        write("ca.pem", &pki.ca_pem);
        write("server.pem", &pki.server_pem);
        write("server.key", &pki.server_key);
        let redis = OwnRedis::start_tls(Path::new(&dir.0));
        Self { redis, ca_pem: pki.ca_pem, dir }
    }

    /// The CA's PEM file.
    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir.0.join("ca.pem")
    }

    pub(crate) fn url(&self, host: &str) -> String {
        format!("rediss://{host}:{}", self.redis.port)
    }

    /// Shared state on this Redis trusting its CA, under `prefix`.
    fn state(&self, host: &str, prefix: &str) -> RedisStore {
        let options = RedisOptions::default().prefix(prefix).ca_pem(self.ca_pem.as_bytes());
        RedisStore::with_options(&self.url(host), options).unwrap()
    }
}

/// `f`, which must end (with whatever result) within 3 s: a Redis that refuses the handshake
/// or never answers in TLS must never hang the caller.
async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    let start = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(3), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: still waiting after 3 s"));
    assert!(start.elapsed() < Duration::from_secs(3), "{what}: {:?}", start.elapsed());
    out
}

fn config_error(result: Result<RedisStore, StoreError>) -> String {
    match result {
        Err(StoreError::Config(why)) => why,
        other => panic!("expected StoreError::Config, got {other:?}"),
    }
}

#[tokio::test]
async fn revocations_are_shared_over_tls_with_the_ca_from_the_options() {
    let redis = TlsRedis::start();
    let p = prefix();
    // One instance by IP address, the other by name: the certificate covers both.
    let (state_a, state_b) = (redis.state("127.0.0.1", &p), redis.state("localhost", &p));
    assert_eq!(bounded("ping", state_a.ping()).await, Ok(()));
    assert_eq!(bounded("ping", state_b.ping()).await, Ok(()));
    let a = Revocations::builder(state_a).start().await;
    tokio::spawn(a.keep_current());
    let b = Revocations::builder(state_b).start().await;
    tokio::spawn(b.keep_current());
    let (app_a, app_b) = (app_with(&a).await, app_with(&b).await);
    let token = hs256(&claims()); // sid "session_abc"
    assert_eq!(bearer(&app_b, "/me", &token).await.status, 200);
    a.revoke_session("session_abc").await.unwrap();
    assert_eq!(bearer(&app_a, "/me", &token).await.code(), "session_revoked");
    let refused = eventually(Duration::from_secs(10), async || {
        bearer(&app_b, "/me", &token).await.status == 401
    })
    .await;
    assert!(refused, "instance B still accepts a session revoked on A over TLS");
    assert_eq!(bearer(&app_b, "/me", &token).await.code(), "session_revoked");
    // An instance started afterwards loads it at start, over TLS too.
    let late = Revocations::builder(redis.state("127.0.0.1", &p)).start().await;
    tokio::spawn(late.keep_current());
    assert_eq!(bearer(&app_with(&late).await, "/me", &token).await.code(), "session_revoked");
}

#[tokio::test]
async fn a_server_the_trusted_roots_do_not_vouch_for_is_unavailable_and_nothing_hangs() {
    let redis = TlsRedis::start();
    // The system's roots (no CA given) do not know the test CA; nor does another CA.
    let other_ca = pki().ca_pem;
    let states = [
        ("system roots", RedisStore::new(&redis.url("127.0.0.1")).unwrap()),
        (
            "another CA",
            RedisStore::with_options(
                &redis.url("127.0.0.1"),
                RedisOptions::default().prefix(prefix()).ca_pem(other_ca),
            )
            .unwrap(),
        ),
    ];
    for (roots, state) in states {
        let ping = bounded(roots, state.ping()).await;
        assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{roots}: {ping:?}");
        // Revocations on it: refused with an error, never a hang, and the staleness path
        // (503 with Retry-After) once the copy is too old.
        let revocations = bounded(
            roots,
            Revocations::builder(state).max_staleness(Duration::from_millis(0)).start(),
        )
        .await;
        let published = bounded(roots, revocations.revoke_session("session_x")).await;
        assert!(
            matches!(published, Err(RevokeError::NotShared(StoreError::Unavailable(_)))),
            "{roots}: {published:?}"
        );
        let reply = bearer(&app_with(&revocations).await, "/me", &hs256(&claims())).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (503, "revocation_unavailable".to_owned()),
            "{roots}"
        );
        assert!(reply.headers.contains_key("retry-after"), "{roots}");
    }
}

#[tokio::test]
async fn a_plain_url_to_the_tls_port_fails_cleanly() {
    let redis = TlsRedis::start();
    let plain = RedisStore::new(&redis.redis.url()).unwrap(); // redis://127.0.0.1:<tls port>
    let ping = bounded("redis:// to a TLS port", plain.ping()).await;
    assert!(matches!(ping, Err(StoreError::Unavailable(_))), "{ping:?}");
    let revocations =
        bounded("start", Revocations::builder(plain).max_staleness(Duration::ZERO).start()).await;
    let published = bounded("revoke", revocations.revoke_session("session_x")).await;
    assert!(
        matches!(published, Err(RevokeError::NotShared(StoreError::Unavailable(_)))),
        "{published:?}"
    );
}

#[tokio::test]
async fn urls_and_cas_the_crate_cannot_serve_are_config_errors_that_say_why() {
    const SECRET: &str = "s3cret-password";
    let ca = pki().ca_pem;
    // An unknown scheme is named; the password never appears.
    for (url, scheme) in [
        (format!("http://default:{SECRET}@127.0.0.1:6379"), "`http`"),
        (format!("https://default:{SECRET}@redis.example.com"), "`https`"),
        (format!("tcp://:{SECRET}@127.0.0.1:6379"), "`tcp`"),
    ] {
        let why = config_error(RedisStore::new(&url));
        assert!(why.contains(scheme), "{url}: {why}");
        assert!(!why.contains(SECRET), "{url}: {why}");
        let shown = StoreError::Config(why).to_string();
        assert!(shown.starts_with("store misconfigured: unknown URL scheme"), "{shown}");
    }
    // Not a URL at all, a bad port or database number: said, without the password.
    for url in [
        format!("default:{SECRET}@127.0.0.1"),
        format!("rediss://default:{SECRET}@127.0.0.1:99999"),
        format!("redis://default:{SECRET}@127.0.0.1:6379/not-a-db"),
        String::new(),
    ] {
        let why = config_error(RedisStore::new(&url));
        assert!(!why.contains(SECRET), "{url}: {why}");
    }
    // `#insecure` would turn certificate checks off: refused, pointing at the CA option.
    let why = config_error(RedisStore::new("rediss://127.0.0.1:6380#insecure"));
    assert!(why.contains("#insecure") && why.contains("ca_pem"), "{why}");
    // CA text rustls cannot use: garbage, a private key, a cut-off certificate, a certificate
    // block that is not DER.
    let cut = &ca[..ca.len() / 2];
    let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    for (what, pem) in [
        ("garbage", "not a certificate at all".to_owned()),
        ("empty", String::new()),
        ("a private key", KeyPair::generate().unwrap().serialize_pem()),
        ("cut off", cut.to_owned()),
        ("not DER", not_der.to_owned()),
    ] {
        let options = RedisOptions::default().ca_pem(pem);
        let why = config_error(RedisStore::with_options("rediss://127.0.0.1:6380", options));
        assert!(why.contains("CA PEM"), "{what}: {why}");
    }
    // A CA with a URL that is not TLS: the user meant TLS, so nothing goes out in clear.
    for url in ["redis://127.0.0.1:6379", "redis+unix:///run/redis.sock"] {
        let options = RedisOptions::default().ca_pem(ca.as_bytes());
        let why = config_error(RedisStore::with_options(url, options));
        assert!(why.contains("not TLS") && why.contains("rediss://"), "{url}: {why}");
    }
    // What is served: plain, TLS (valkey spellings too) and sockets; lazily, so no server here.
    for url in [
        "redis://127.0.0.1:1",
        "rediss://127.0.0.1:1",
        "valkey://127.0.0.1:1",
        "valkeys://127.0.0.1:1",
        "redis+unix:///nonexistent.sock",
    ] {
        assert!(RedisStore::new(url).is_ok(), "{url}");
    }
    assert!(
        RedisStore::with_options("rediss://127.0.0.1:1", RedisOptions::default().ca_pem(ca))
            .is_ok()
    );
}
