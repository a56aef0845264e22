//! DPoP (RFC 9449): proofs made here with `jsonwebtoken` against a layer on a test clock; every
//! attack of the issue, each refusal asserted with its status, code, reason and challenge.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum_session_mfa::dpop::{Dpop, DpopConfigError, DpopNonces, ForwardedHeaders};
use axum_session_mfa::store::{BoxFuture, MemoryStore, Store, StoreError};
use axum_session_mfa::{Algorithm, BuildError, Clock, TokenCache};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode};
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::{Value, json};

use crate::common::{self, Reply, fixture, send};

pub const HOST: &str = "api.test";
pub const ALGS: &str = "ES256 ES384 EdDSA RS256 PS256";

/// A clock the tests move.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn new() -> Self {
        Self(Arc::new(AtomicU64::new(common::now())))
    }
    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let t = self.0.clone();
        Clock::from_fn(move || t.load(Ordering::SeqCst))
    }
}

/// A client's DPoP key pair: the private key, its public JWK and thumbprint.
pub struct Holder {
    pub key: EncodingKey,
    pub alg: Algorithm,
    pub jwk: Value,
    pub jkt: String,
}

pub fn holder(alg: Algorithm) -> Holder {
    axum_session_mfa::install_crypto_provider();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&fixture("ec256_private.pem")),
        Algorithm::ES384 => EncodingKey::from_ec_pem(&fixture("ec384_private.pem")),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&fixture("ed25519_private.pem")),
        _ => EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")),
    }
    .unwrap();
    let jwk = Jwk::from_encoding_key(&key, alg).unwrap();
    let jkt = jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
    let mut jwk = serde_json::to_value(&jwk).unwrap();
    // Only the key's public members, as clients send them.
    let object = jwk.as_object_mut().unwrap();
    object.retain(|k, _| ["kty", "crv", "x", "y", "n", "e"].contains(&k.as_str()));
    Holder { key, alg, jwk, jkt }
}

pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(token.as_bytes()))
}

/// SHA-256 through jsonwebtoken's backend, the one the crate picks.
#[cfg(feature = "aws_lc_rs")]
fn digest(data: &[u8]) -> Vec<u8> {
    (jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.key_utils.compute_digest)(
        data,
        ThumbprintHash::SHA256,
    )
    .unwrap()
}

#[cfg(not(feature = "aws_lc_rs"))]
fn digest(data: &[u8]) -> Vec<u8> {
    (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.key_utils.compute_digest)(
        data,
        ThumbprintHash::SHA256,
    )
    .unwrap()
}

/// A compact JWS over any header and claims, signed with `key` for `alg`.
pub fn jws(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    axum_session_mfa::install_crypto_provider();
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let message = format!("{h}.{c}");
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{sig}")
}

static JTI: AtomicU64 = AtomicU64::new(0);

/// The claims of a good proof for `method` `htu` and `token` at `iat`.
pub fn claims(method: &str, htu: &str, token: &str, iat: u64) -> Value {
    let jti = format!("jti-{}-{}", std::process::id(), JTI.fetch_add(1, Ordering::SeqCst));
    json!({"jti": jti, "htm": method, "htu": htu, "iat": iat, "ath": ath(token)})
}

pub fn proof_with(h: &Holder, claims: &Value) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": format!("{:?}", h.alg), "jwk": h.jwk});
    jws(&header, claims, &h.key, h.alg)
}

/// A bound session token (HS256, `cnf.jkt` of `h`).
pub fn bound_token(h: &Holder) -> String {
    let mut c = common::claims();
    c["cnf"] = json!({"jkt": h.jkt});
    common::hs256(&c)
}

struct Setup {
    app: Router,
    clock: TestClock,
    holder: Holder,
    token: String,
}

impl Setup {
    fn new(dpop: Dpop) -> Self {
        Self::with(dpop, TestClock::new(), |b| b)
    }

    fn with(
        dpop: Dpop,
        clock: TestClock,
        tweak: impl FnOnce(axum_session_mfa::AuthLayerBuilder) -> axum_session_mfa::AuthLayerBuilder,
    ) -> Self {
        let holder = holder(Algorithm::ES256);
        let mut c = common::claims();
        c["cnf"] = json!({"jkt": holder.jkt});
        c["iat"] = json!(clock.now() - 10);
        c["exp"] = json!(clock.now() + 3600);
        let token = common::hs256(&c);
        let layer = tweak(common::builder_for(Algorithm::HS256).clock(clock.clock()).dpop(dpop))
            .build()
            .unwrap();
        Self { app: common::router(layer), clock, holder, token }
    }

    fn proof(&self, method: &str, htu: &str) -> String {
        proof_with(&self.holder, &claims(method, htu, &self.token, self.clock.now()))
    }

    fn good(&self) -> String {
        self.proof("GET", &format!("http://{HOST}/members"))
    }

    async fn send(&self, path: &str, token: &str, proofs: &[&str]) -> Reply {
        self.send_with(path, token, proofs, &[]).await
    }

    async fn send_with(
        &self,
        path: &str,
        token: &str,
        proofs: &[&str],
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::get(path)
            .header("host", HOST)
            .header("authorization", format!("DPoP {token}"));
        for p in proofs {
            req = req.header("dpop", *p);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        send(&self.app, req.body(Body::empty()).unwrap()).await
    }
}

/// Asserts a 401 `invalid_dpop_proof` with `reason`.
#[track_caller]
fn assert_proof_refused(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "body: {}", reply.text());
    assert_eq!(reply.code(), "invalid_dpop_proof", "body: {}", reply.text());
    assert_eq!(reply.json()["reason"], reason, "body: {}", reply.text());
    let challenge = reply.www_authenticate();
    assert!(challenge.starts_with("DPoP error=\"invalid_dpop_proof\""), "{challenge}");
    // Last, unless the resource metadata follows.
    let algs = format!("algs=\"{ALGS}\"");
    assert!(
        challenge.ends_with(&algs) || challenge.contains(&format!("{algs}, resource_metadata="))
    );
}

#[track_caller]
fn assert_refused(reply: &Reply, status: StatusCode, code: &str, challenge: &str) {
    assert_eq!(reply.status, status, "body: {}", reply.text());
    assert_eq!(reply.code(), code, "body: {}", reply.text());
    assert!(reply.www_authenticate().starts_with(challenge), "{}", reply.www_authenticate());
}

#[tokio::test]
async fn a_fresh_proof_for_a_bound_token_passes_and_every_request_needs_its_own() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let first = s.good();
    let ok = s.send("/members", &s.token, &[&first]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    // The token is now cached; a new proof passes, the old one is a replay.
    let again = s.send("/members", &s.token, &[&s.good()]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_proof_refused(&s.send("/members", &s.token, &[&first]).await, "replayed");
    // A cached token with no proof at all.
    assert_proof_refused(&s.send("/members", &s.token, &[]).await, "missing");
    // The `DPoP` scheme is case-insensitive (RFC 9110 11.1).
    let req = Request::get("/members")
        .header("host", HOST)
        .header("authorization", format!("dpop {}", s.token))
        .header("dpop", s.good())
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&s.app, req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_cached_token_still_needs_a_fresh_valid_proof() {
    let clock = TestClock::new();
    let s = Setup::with(Dpop::allowed().origin_from_host(), clock, |b| {
        b.token_cache(TokenCache::new())
    });
    assert_eq!(s.send("/members", &s.token, &[&s.good()]).await.status, StatusCode::OK);
    // A proof for another URI, a stale one: refused although the token is a cache hit.
    let other = s.proof("GET", &format!("http://{HOST}/admin"));
    assert_proof_refused(&s.send("/members", &s.token, &[&other]).await, "uri");
    let old = s.good();
    s.clock.advance(61);
    assert_proof_refused(&s.send("/members", &s.token, &[&old]).await, "stale");
    assert_eq!(s.send("/members", &s.token, &[&s.good()]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn method_and_uri_must_match_the_request() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let post = s.proof("POST", &format!("http://{HOST}/members"));
    assert_proof_refused(&s.send("/members", &s.token, &[&post]).await, "method");
    let lower = s.proof("get", &format!("http://{HOST}/members"));
    assert_proof_refused(&s.send("/members", &s.token, &[&lower]).await, "method");
    for htu in [
        "http://other.test/members".to_owned(),
        format!("https://{HOST}/members"),
        format!("http://{HOST}/members/x"),
        format!("http://{HOST}:8080/members"),
        format!("http://{HOST}/Members"),
        "/members".to_owned(),
    ] {
        let p = s.proof("GET", &htu);
        assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "uri");
    }
    // Normalised: case of scheme and host, the default port, percent-encoding, query and
    // fragment ignored on both sides.
    for htu in [
        "HTTP://API.TEST:80/members".to_owned(),
        format!("http://{HOST}/%6Dembers"),
        format!("http://{HOST}/members?page=2#top"),
        format!("http://{HOST}/x/../members"),
    ] {
        let p = s.proof("GET", &htu);
        let reply = s.send("/members?other=1", &s.token, &[&p]).await;
        assert_eq!(reply.status, StatusCode::OK, "{htu}: {}", reply.text());
    }
}

#[tokio::test]
async fn the_query_string_is_ignored_in_htu() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let p = s.proof("GET", &format!("http://{HOST}/members"));
    let reply = s.send("/members?q=secret&x=1", &s.token, &[&p]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn iat_must_be_recent_and_not_in_the_future() {
    let s = Setup::new(Dpop::allowed().origin_from_host().max_age(Duration::from_secs(60)));
    let htu = format!("http://{HOST}/members");
    let now = s.clock.now();
    let stale = proof_with(&s.holder, &claims("GET", &htu, &s.token, now - 61));
    assert_proof_refused(&s.send("/members", &s.token, &[&stale]).await, "stale");
    let edge = proof_with(&s.holder, &claims("GET", &htu, &s.token, now - 60));
    assert_eq!(s.send("/members", &s.token, &[&edge]).await.status, StatusCode::OK);
    let future = proof_with(&s.holder, &claims("GET", &htu, &s.token, now + 6));
    assert_proof_refused(&s.send("/members", &s.token, &[&future]).await, "future");
    let skew = proof_with(&s.holder, &claims("GET", &htu, &s.token, now + 5));
    assert_eq!(s.send("/members", &s.token, &[&skew]).await.status, StatusCode::OK);
    let mut text = claims("GET", &htu, &s.token, now);
    text["iat"] = json!(now.to_string());
    let p = proof_with(&s.holder, &text);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "malformed");
}

#[tokio::test]
async fn ath_must_hash_the_presented_token() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let htu = format!("http://{HOST}/members");
    let mut c = claims("GET", &htu, &s.token, s.clock.now());
    c["ath"] = json!(ath("another token"));
    let p = proof_with(&s.holder, &c);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "token_hash");
    let mut c = claims("GET", &htu, &s.token, s.clock.now());
    c.as_object_mut().unwrap().remove("ath");
    let p = proof_with(&s.holder, &c);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "token_hash");
}

#[tokio::test]
async fn a_proof_by_another_key_than_cnf_is_refused() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let htu = format!("http://{HOST}/members");
    let other = holder(Algorithm::EdDSA);
    let p = proof_with(&other, &claims("GET", &htu, &s.token, s.clock.now()));
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "key_mismatch");
    // The token holder's jwk in the header, signed by another key.
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": s.holder.jwk});
    let forged = jws(
        &header,
        &claims("GET", &htu, &s.token, s.clock.now()),
        &EncodingKey::from_ec_pem(&fixture("ec256b_private.pem")).unwrap(),
        Algorithm::ES256,
    );
    assert_proof_refused(&s.send("/members", &s.token, &[&forged]).await, "signature");
}

#[tokio::test]
async fn private_or_symmetric_key_material_in_jwk_is_refused() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let c = claims("GET", &format!("http://{HOST}/members"), &s.token, s.clock.now());
    for (member, value) in [("d", "AAAA"), ("p", "AAAA"), ("q", "AAAA"), ("qi", "AAAA")] {
        let mut jwk = s.holder.jwk.clone();
        jwk[member] = json!(value);
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
        let p = jws(&header, &c, &s.holder.key, Algorithm::ES256);
        assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "private_key");
    }
    let secret = URL_SAFE_NO_PAD.encode(common::HMAC_SECRET);
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "oct", "k": secret}});
    let p = jws(&header, &c, &s.holder.key, Algorithm::ES256);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "private_key");
    let header = json!({"typ": "dpop+jwt", "alg": "ES256"});
    let p = jws(&header, &c, &s.holder.key, Algorithm::ES256);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "malformed");
}

#[tokio::test]
async fn alg_none_hmac_and_algs_that_do_not_fit_the_key_are_refused() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let c = claims("GET", &format!("http://{HOST}/members"), &s.token, s.clock.now());
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    // `none`: no signature at all.
    let none = format!(
        "{}.{}.",
        encode(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": s.holder.jwk})),
        encode(&c)
    );
    assert_proof_refused(&s.send("/members", &s.token, &[&none]).await, "malformed");
    let none = format!("{}x", none);
    assert_proof_refused(&s.send("/members", &s.token, &[&none]).await, "algorithm");
    // HS256 keyed with an `oct` jwk, and HS256 with the holder's public key as the jwk.
    let secret = EncodingKey::from_secret(b"attacker-secret-attacker-secret-!");
    let k = URL_SAFE_NO_PAD.encode(b"attacker-secret-attacker-secret-!");
    for jwk in [json!({"kty": "oct", "k": k}), s.holder.jwk.clone()] {
        let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk});
        let p = jws(&header, &c, &secret, Algorithm::HS256);
        assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "algorithm");
    }
    // ES384 named for a P-256 key; RS256 named for an EC key.
    for alg in ["ES384", "RS256", "EdDSA"] {
        let header = json!({"typ": "dpop+jwt", "alg": alg, "jwk": s.holder.jwk});
        let p = jws(&header, &c, &s.holder.key, Algorithm::ES256);
        assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "algorithm");
    }
    // An accepted algorithm that the layer was told not to accept.
    let only_ed = Setup::new(Dpop::allowed().origin_from_host().algorithms([Algorithm::EdDSA]));
    let p = only_ed.good();
    let reply = only_ed.send("/members", &only_ed.token, &[&p]).await;
    assert_eq!(reply.json()["reason"], "algorithm");
    assert!(reply.www_authenticate().ends_with("algs=\"EdDSA\""), "{}", reply.www_authenticate());
}

#[tokio::test]
async fn the_header_must_be_one_dpop_jwt() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let c = claims("GET", &format!("http://{HOST}/members"), &s.token, s.clock.now());
    for typ in [json!("JWT"), json!(null), json!("at+jwt")] {
        let header = json!({"typ": typ, "alg": "ES256", "jwk": s.holder.jwk});
        let p = jws(&header, &c, &s.holder.key, Algorithm::ES256);
        assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "type");
    }
    let (a, b) = (s.good(), s.good());
    assert_proof_refused(&s.send("/members", &s.token, &[&a, &b]).await, "multiple");
    for junk in ["a.b", "a.b.c.d", "!!!.e30.x", "e30.e30.", &"a".repeat(9 * 1024)] {
        assert_proof_refused(&s.send("/members", &s.token, &[junk]).await, "malformed");
    }
    let mut no_jti = c.clone();
    no_jti.as_object_mut().unwrap().remove("jti");
    let p = proof_with(&s.holder, &no_jti);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "malformed");
    let mut long_jti = c.clone();
    long_jti["jti"] = json!("j".repeat(257));
    let p = proof_with(&s.holder, &long_jti);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "malformed");
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": s.holder.jwk, "crit": ["x"]});
    let p = jws(&header, &c, &s.holder.key, Algorithm::ES256);
    assert_proof_refused(&s.send("/members", &s.token, &[&p]).await, "malformed");
}

async fn bearer_and_cookie(app: &Router, token: &str) -> (Reply, Reply) {
    let bearer = common::bearer(app, "/members", token).await;
    let cookie = common::cookie(app, "/members", &format!("session={token}")).await;
    (bearer, cookie)
}

#[tokio::test]
async fn a_bound_token_as_bearer_or_cookie_is_refused_in_every_mode() {
    let token = bound_token(&holder(Algorithm::ES256));
    for dpop in
        [Some(Dpop::allowed().origin_from_host()), Some(Dpop::required().origin_from_host()), None]
    {
        let mut builder = common::builder_for(Algorithm::HS256);
        if let Some(dpop) = dpop.clone() {
            builder = builder.dpop(dpop);
        }
        let app = common::router(builder.build().unwrap());
        let (bearer, cookie) = bearer_and_cookie(&app, &token).await;
        let challenge = if dpop.is_some() {
            "DPoP error=\"invalid_token\""
        } else {
            "Bearer error=\"invalid_token\""
        };
        assert_refused(&bearer, StatusCode::UNAUTHORIZED, "dpop_bound_token", challenge);
        assert_refused(&cookie, StatusCode::UNAUTHORIZED, "dpop_bound_token", challenge);
        // The public route still answers: the layer itself rejects nothing.
        let public = common::bearer(&app, "/public", &token).await;
        assert_eq!(public.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn dpop_off_does_not_read_the_dpop_scheme() {
    let h = holder(Algorithm::ES256);
    let token = bound_token(&h);
    let app = common::default_app();
    let p =
        proof_with(&h, &claims("GET", &format!("http://{HOST}/members"), &token, common::now()));
    let req = Request::get("/members")
        .header("host", HOST)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", p)
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, req).await;
    assert_refused(&reply, StatusCode::UNAUTHORIZED, "missing_token", "Bearer");
    assert_eq!(reply.www_authenticate(), "Bearer");
}

#[tokio::test]
async fn required_refuses_bearer_tokens_and_allowed_keeps_them() {
    let unbound = common::hs256(&common::claims());
    let required = common::router(
        common::builder_for(Algorithm::HS256)
            .dpop(Dpop::required().origin_from_host())
            .build()
            .unwrap(),
    );
    let (bearer, cookie) = bearer_and_cookie(&required, &unbound).await;
    assert_refused(
        &bearer,
        StatusCode::UNAUTHORIZED,
        "dpop_required",
        "DPoP error=\"invalid_token\"",
    );
    assert!(bearer.www_authenticate().ends_with(&format!("algs=\"{ALGS}\"")));
    assert_refused(
        &cookie,
        StatusCode::UNAUTHORIZED,
        "dpop_required",
        "DPoP error=\"invalid_token\"",
    );
    let allowed = common::router(
        common::builder_for(Algorithm::HS256)
            .dpop(Dpop::allowed().origin_from_host())
            .build()
            .unwrap(),
    );
    let (bearer, cookie) = bearer_and_cookie(&allowed, &unbound).await;
    assert_eq!((bearer.status, cookie.status), (StatusCode::OK, StatusCode::OK));
}

#[tokio::test]
async fn a_token_without_cnf_jkt_sent_as_dpop_is_refused() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let h = &s.holder;
    for cnf in [None, Some(json!({"x5t#S256": "abc"})), Some(json!({"jkt": 7})), Some(json!("x"))] {
        let mut c = common::claims();
        c["iat"] = json!(s.clock.now() - 10);
        c["exp"] = json!(s.clock.now() + 600);
        if let Some(cnf) = cnf {
            c["cnf"] = cnf;
        }
        let token = common::hs256(&c);
        let p =
            proof_with(h, &claims("GET", &format!("http://{HOST}/members"), &token, s.clock.now()));
        assert_proof_refused(&s.send("/members", &token, &[&p]).await, "unbound_token");
    }
}

#[tokio::test]
async fn the_missing_token_challenge_offers_dpop() {
    for (dpop, challenge) in [
        (Dpop::allowed().origin_from_host(), format!("Bearer, DPoP algs=\"{ALGS}\"")),
        (Dpop::required().origin_from_host(), format!("DPoP algs=\"{ALGS}\"")),
    ] {
        let app = common::router(common::builder_for(Algorithm::HS256).dpop(dpop).build().unwrap());
        let reply = send(&app, common::get_req("/members").body(Body::empty()).unwrap()).await;
        assert_refused(&reply, StatusCode::UNAUTHORIZED, "missing_token", &challenge);
        assert_eq!(reply.www_authenticate(), challenge);
    }
    // Required: an expired token is answered with the DPoP challenge too.
    let app = common::router(
        common::builder_for(Algorithm::HS256)
            .dpop(Dpop::required().origin_from_host())
            .build()
            .unwrap(),
    );
    let mut c = common::claims();
    c["exp"] = json!(common::now() - 3600);
    let reply = common::bearer(&app, "/members", &common::hs256(&c)).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "token_expired",
        "DPoP error=\"invalid_token\"",
    );
}

#[tokio::test]
async fn proxy_headers_are_ignored_unless_trusted() {
    let forwarded = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "public.example"),
        ("forwarded", "proto=https;host=public.example"),
    ];
    let untrusted = Setup::new(Dpop::allowed().origin_from_host());
    let p = untrusted.proof("GET", "https://public.example/members");
    let reply = untrusted.send_with("/members", &untrusted.token, &[&p], &forwarded).await;
    assert_proof_refused(&reply, "uri");
    let p = untrusted.good(); // the request's own Host
    let reply = untrusted.send_with("/members", &untrusted.token, &[&p], &forwarded).await;
    assert_eq!(reply.status, StatusCode::OK);

    for trusted in [ForwardedHeaders::XForwarded, ForwardedHeaders::Forwarded] {
        let s = Setup::new(Dpop::allowed().origin_from_host().trust_forwarded(trusted));
        let p = s.proof("GET", "https://public.example/members");
        let reply = s.send_with("/members", &s.token, &[&p], &forwarded).await;
        assert_eq!(reply.status, StatusCode::OK, "{trusted:?}: {}", reply.text());
        // The proxy appends: a value the client sent first is not the one read.
        let spoofed = [
            ("x-forwarded-proto", "https, https"),
            ("x-forwarded-host", "evil.example, public.example"),
            ("forwarded", "proto=https;host=evil.example, proto=https;host=public.example"),
        ];
        let p = s.proof("GET", "https://evil.example/members");
        assert_proof_refused(&s.send_with("/members", &s.token, &[&p], &spoofed).await, "uri");
    }

    let s = Setup::new(Dpop::allowed().origin_from_host().public_origin("https://api.example.com"));
    let p = s.proof("GET", "https://api.example.com/members");
    let reply = s.send_with("/members", &s.token, &[&p], &forwarded).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let p = s.proof("GET", "https://public.example/members");
    assert_proof_refused(&s.send_with("/members", &s.token, &[&p], &forwarded).await, "uri");
}

#[tokio::test]
async fn a_nested_router_compares_the_original_path() {
    let clock = TestClock::new();
    let h = holder(Algorithm::ES256);
    let mut c = common::claims();
    c["cnf"] = json!({"jkt": h.jkt});
    let token = common::hs256(&c);
    let layer = common::builder_for(Algorithm::HS256)
        .clock(clock.clock())
        .dpop(Dpop::allowed().origin_from_host().public_origin("https://api.example.com"))
        .build()
        .unwrap();
    let app = Router::new().nest("/v1", common::router(layer));
    let p =
        proof_with(&h, &claims("GET", "https://api.example.com/v1/members", &token, clock.now()));
    let req = Request::get("/v1/members")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", p)
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, req).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn the_nonce_flow() {
    let secret = b"the-secret-every-instance-shares-for-dpop-nonces";
    let nonces = || DpopNonces::new(secret).unwrap().window(Duration::from_secs(60));
    let clock = TestClock::new();
    let s = Setup::with(Dpop::allowed().origin_from_host().nonces(nonces()), clock.clone(), |b| b);
    let htu = format!("http://{HOST}/members");
    // No nonce: 401 use_dpop_nonce, with a fresh DPoP-Nonce.
    let reply = s.send("/members", &s.token, &[&s.good()]).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "use_dpop_nonce",
        "DPoP error=\"use_dpop_nonce\"",
    );
    assert!(reply.www_authenticate().ends_with(&format!("algs=\"{ALGS}\"")));
    let nonce = reply.headers["dpop-nonce"].to_str().unwrap().to_owned();
    // With it: 200, and the response carries the current nonce.
    let mut c = claims("GET", &htu, &s.token, clock.now());
    c["nonce"] = json!(nonce);
    let reply = s.send("/members", &s.token, &[&proof_with(&s.holder, &c)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.headers.contains_key("dpop-nonce"));
    // Another instance with the same secret accepts it; one with another secret does not.
    let other =
        Setup::with(Dpop::allowed().origin_from_host().nonces(nonces()), clock.clone(), |b| b);
    let mut c = claims("GET", &htu, &other.token, clock.now());
    c["nonce"] = json!(nonce);
    let p = proof_with(&other.holder, &c);
    assert_eq!(other.send("/members", &other.token, &[&p]).await.status, StatusCode::OK);
    let stranger = Setup::with(
        Dpop::allowed().origin_from_host().nonces(DpopNonces::new([9u8; 32]).unwrap()),
        clock.clone(),
        |b| b,
    );
    let mut c = claims("GET", &htu, &stranger.token, clock.now());
    c["nonce"] = json!(nonce);
    let p = proof_with(&stranger.holder, &c);
    let reply = stranger.send("/members", &stranger.token, &[&p]).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "use_dpop_nonce",
        "DPoP error=\"use_dpop_nonce\"",
    );
    // Two windows later the nonce has expired.
    clock.advance(121);
    let mut c = claims("GET", &htu, &s.token, clock.now());
    c["nonce"] = json!(nonce);
    let reply = s.send("/members", &s.token, &[&proof_with(&s.holder, &c)]).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "use_dpop_nonce",
        "DPoP error=\"use_dpop_nonce\"",
    );
    assert_ne!(reply.headers["dpop-nonce"].to_str().unwrap(), nonce, "a fresh nonce");
    // A nonce that is not a string.
    let mut c = claims("GET", &htu, &s.token, clock.now());
    c["nonce"] = json!(42);
    assert_proof_refused(
        &s.send("/members", &s.token, &[&proof_with(&s.holder, &c)]).await,
        "nonce",
    );
    // A public request without DPoP gets no nonce; a 401 does.
    let public = send(&s.app, common::get_req("/public").body(Body::empty()).unwrap()).await;
    assert!(!public.headers.contains_key("dpop-nonce"));
}

/// A store that is down.
struct Down;

impl Store for Down {
    fn put_new(&self, _: &str, _: &str, _: Duration) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("down".into())) })
    }
    fn swap(
        &self,
        _: &str,
        _: &str,
        _: Duration,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("down".into())) })
    }
    fn get(&self, _: &str) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("down".into())) })
    }
    fn delete(&self, _: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("down".into())) })
    }
    fn is_shared(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn an_unreachable_store_fails_closed() {
    let s = Setup::new(Dpop::allowed().origin_from_host().store(Down));
    let reply = s.send("/members", &s.token, &[&s.good()]).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text());
    assert_eq!(reply.code(), "dpop_unavailable");
    assert_eq!(reply.headers["retry-after"], "5");
    assert!(!reply.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn the_store_keeps_a_hash_of_the_jti_for_the_window() {
    let clock = TestClock::new();
    let store = MemoryStore::with_clock(clock.clock());
    let s =
        Setup::with(Dpop::allowed().origin_from_host().store(store.clone()), clock.clone(), |b| b);
    let p = s.good();
    assert_eq!(s.send("/members", &s.token, &[&p]).await.status, StatusCode::OK);
    let jti = serde_json::from_slice::<Value>(
        &URL_SAFE_NO_PAD.decode(p.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    // The jti itself is no key; the hashed key is there, and gone after the window.
    assert_eq!(store.get(&jti).await.unwrap(), None);
    let key = format!(
        "dpop-jti:{}",
        URL_SAFE_NO_PAD.encode(digest(format!("{}.{jti}", s.holder.jkt).as_bytes()))
    );
    assert_eq!(store.get(&key).await.unwrap().as_deref(), Some("1"));
    // Kept until the proof's window closes (iat + 60 s), plus the 5 s a proof may come early
    // and 30 s for an instance whose clock lags: 95 s.
    clock.advance(94);
    assert_eq!(store.get(&key).await.unwrap().as_deref(), Some("1"));
    clock.advance(2);
    assert_eq!(store.get(&key).await.unwrap(), None);
}

#[tokio::test]
async fn settings_that_cannot_work_do_not_build() {
    let build = |dpop: Dpop| common::builder_for(Algorithm::HS256).dpop(dpop).build().unwrap_err();
    assert_eq!(
        build(Dpop::allowed().origin_from_host().algorithms([Algorithm::ES256, Algorithm::HS256])),
        BuildError::Dpop(DpopConfigError::SymmetricAlgorithm(Algorithm::HS256))
    );
    assert_eq!(
        build(Dpop::allowed().origin_from_host().algorithms([])),
        BuildError::Dpop(DpopConfigError::NoAlgorithm)
    );
    assert!(matches!(
        build(Dpop::required().origin_from_host().public_origin("https://api.example.com/v1")),
        BuildError::Dpop(DpopConfigError::InvalidOrigin(_))
    ));
    // No origin to compare `htu` with: the request's own Host would be the client's choice.
    assert_eq!(build(Dpop::allowed()), BuildError::Dpop(DpopConfigError::NoOrigin));
    // A window long enough to make proofs reusable tokens.
    assert_eq!(
        build(Dpop::allowed().origin_from_host().max_age(std::time::Duration::from_secs(3600))),
        BuildError::Dpop(DpopConfigError::WindowTooLong)
    );
    assert_eq!(
        build(Dpop::allowed().origin_from_host().max_age(std::time::Duration::MAX)),
        BuildError::Dpop(DpopConfigError::WindowTooLong)
    );
}

/// A client picks its `Host`: without `origin_from_host`, the layer compares `htu` with the
/// configured origin (here the protected resource's), so a proof made for another server
/// that accepts the same tokens does not pass here, whatever `Host` says.
#[tokio::test]
async fn htu_is_compared_with_the_configured_origin_not_the_host_header() {
    use axum_session_mfa::ProtectedResource;
    let h = holder(Algorithm::ES256);
    let mut c = common::claims();
    c["cnf"] = json!({"jkt": h.jkt});
    c["aud"] = json!("https://api.example.com/members");
    let token = common::hs256(&c);
    let layer = common::builder_for(Algorithm::HS256)
        .protected_resource(ProtectedResource::new("https://api.example.com/members").unwrap())
        .dpop(Dpop::allowed())
        .build()
        .unwrap();
    let app = common::router(layer);
    let call = |htu: &str, host: &str| {
        let p = proof_with(&h, &claims("GET", htu, &token, common::now()));
        let req = Request::get("/members")
            .header("host", host)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", p)
            .body(Body::empty())
            .unwrap();
        send(&app, req)
    };
    // A proof for another server, whose name the request also claims as its Host: refused.
    assert_proof_refused(&call("https://evil.example/members", "evil.example").await, "uri");
    assert_proof_refused(&call(&format!("http://{HOST}/members"), HOST).await, "uri");
    // The resource's origin: passes, whatever the Host.
    let reply = call("https://api.example.com/members", "internal:8080").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

/// Axum routes `/files/%2E%2E` as sent, while a normalised `htu` would be `/files/..` made
/// `/`: a request path with a dot segment matches no proof.
#[tokio::test]
async fn a_request_path_with_dot_segments_matches_no_proof() {
    let h = holder(Algorithm::ES256);
    let token = bound_token(&h);
    let layer = common::builder_for(Algorithm::HS256)
        .dpop(Dpop::allowed().origin_from_host())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/files/{name}", axum::routing::get(|| async { "file" }))
        .route_layer(axum_session_mfa::RequireAuth::new())
        .layer(layer);
    for (path, htu) in [("/files/%2E%2E", "/"), ("/files/..", "/"), ("/files/.", "/files/")] {
        let p =
            proof_with(&h, &claims("GET", &format!("http://{HOST}{htu}"), &token, common::now()));
        let req = Request::get(path)
            .header("host", HOST)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", p)
            .body(Body::empty())
            .unwrap();
        assert_proof_refused(&send(&app, req).await, "uri");
    }
    // A dot inside a name is no dot segment.
    let p =
        proof_with(&h, &claims("GET", &format!("http://{HOST}/files/..x"), &token, common::now()));
    let req = Request::get("/files/..x")
        .header("host", HOST)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", p)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::OK);
}

/// An invalid token sent with the `DPoP` scheme gets a DPoP challenge in `allowed` mode too
/// (RFC 9449 section 7.1), a bearer one the bearer challenge.
#[tokio::test]
async fn a_refused_dpop_request_gets_a_dpop_challenge_in_allowed_mode() {
    let s = Setup::new(Dpop::allowed().origin_from_host());
    let mut c = common::claims();
    c["exp"] = json!(s.clock.now() - 3600);
    let expired = common::hs256(&c);
    let reply = s.send("/members", &expired, &[&s.good()]).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "token_expired",
        "DPoP error=\"invalid_token\"",
    );
    assert!(reply.www_authenticate().ends_with(&format!("algs=\"{ALGS}\"")));
    let reply = common::bearer(&s.app, "/members", &expired).await;
    assert_refused(
        &reply,
        StatusCode::UNAUTHORIZED,
        "token_expired",
        "Bearer error=\"invalid_token\"",
    );
}

/// Any `cnf` binds a token: one bound to a client certificate (RFC 8705 `x5t#S256`), or with a
/// `cnf` this layer cannot read, is never a bearer token either; nor through `verify_token`.
#[tokio::test]
async fn tokens_bound_by_any_cnf_are_never_bearer_tokens() {
    let h = holder(Algorithm::ES256);
    for cnf in [
        json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        json!("x"),
        json!({"jkt": 7}),
        json!({"jkt": h.jkt}),
    ] {
        let mut c = common::claims();
        c["cnf"] = cnf.clone();
        let token = common::hs256(&c);
        for dpop in [None, Some(Dpop::allowed().origin_from_host())] {
            let mut builder = common::builder_for(Algorithm::HS256);
            if let Some(dpop) = dpop {
                builder = builder.dpop(dpop);
            }
            let layer = builder.build().unwrap();
            assert_eq!(
                layer.verify_token(&token).await.unwrap_err(),
                axum_session_mfa::AuthError::DpopBoundToken,
                "{cnf}"
            );
            let (bearer, cookie) = bearer_and_cookie(&common::router(layer), &token).await;
            assert_eq!(
                (bearer.status.as_u16(), bearer.code()),
                (401, "dpop_bound_token".into()),
                "{cnf}"
            );
            assert_eq!(
                (cookie.status.as_u16(), cookie.code()),
                (401, "dpop_bound_token".into()),
                "{cnf}"
            );
        }
    }
    // An unbound token still verifies.
    let layer = common::builder_for(Algorithm::HS256).build().unwrap();
    assert!(layer.verify_token(&common::hs256(&common::claims())).await.is_ok());
}

#[tokio::test]
async fn every_holder_key_type_works() {
    for alg in
        [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, Algorithm::RS256, Algorithm::PS256]
    {
        let clock = TestClock::new();
        let h = holder(alg);
        let token = bound_token(&h);
        let app = common::router(
            common::builder_for(Algorithm::HS256)
                .clock(clock.clock())
                .dpop(Dpop::required().origin_from_host())
                .build()
                .unwrap(),
        );
        let p =
            proof_with(&h, &claims("GET", &format!("http://{HOST}/members"), &token, clock.now()));
        let req = Request::get("/members")
            .header("host", HOST)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", p)
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, req).await;
        assert_eq!(reply.status, StatusCode::OK, "{alg:?}: {}", reply.text());
    }
}

/// Two instances sharing one Redis: a proof spent on one is a replay on the other.
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_proof_replayed_to_another_instance_sharing_redis_is_refused() {
    use axum_session_mfa::store::{RedisOptions, RedisStore};
    crate::prerequisites::report();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let prefix = format!("it-dpop-{}-{}", std::process::id(), nanos.as_nanos());
    let url = crate::prerequisites::redis_url();
    let store = || RedisStore::with_options(&url, RedisOptions::default().prefix(&prefix)).unwrap();
    let clock = TestClock::new();
    let one = Setup::with(Dpop::required().origin_from_host().store(store()), clock.clone(), |b| b);
    let two = Setup::with(Dpop::required().origin_from_host().store(store()), clock.clone(), |b| b);
    let p = one.good();
    assert_eq!(one.send("/members", &one.token, &[&p]).await.status, StatusCode::OK);
    assert_proof_refused(&two.send("/members", &one.token, &[&p]).await, "replayed");
    assert_proof_refused(&one.send("/members", &one.token, &[&p]).await, "replayed");
    assert_eq!(two.send("/members", &two.token, &[&two.good()]).await.status, StatusCode::OK);
}

/// RFC 9728 metadata names the proof algorithms and whether bound tokens are required; the
/// challenges still name the metadata.
#[tokio::test]
async fn resource_metadata_names_the_dpop_algorithms() {
    use axum_session_mfa::ProtectedResource;
    for (dpop, required) in
        [(Dpop::required().origin_from_host(), true), (Dpop::allowed().origin_from_host(), false)]
    {
        let layer = common::builder_for(Algorithm::HS256)
            .protected_resource(ProtectedResource::new("https://api.test").unwrap())
            .dpop(dpop.algorithms([Algorithm::ES256, Algorithm::EdDSA]))
            .build()
            .unwrap();
        let metadata: Router = layer.resource_metadata_routes().unwrap();
        let req =
            common::get_req(axum_session_mfa::RESOURCE_METADATA_PATH).body(Body::empty()).unwrap();
        let doc = send(&metadata, req).await.json();
        assert_eq!(doc["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA"]));
        assert_eq!(doc["dpop_bound_access_tokens_required"], json!(required));
        let app = common::router(layer);
        let reply = send(&app, common::get_req("/members").body(Body::empty()).unwrap()).await;
        let challenge = reply.www_authenticate();
        let metadata =
            "resource_metadata=\"https://api.test/.well-known/oauth-protected-resource\"";
        let dpop = format!("DPoP algs=\"ES256 EdDSA\", {metadata}");
        // Each challenge names the metadata: the DPoP one alone when bound tokens are required.
        let expected = if required { dpop } else { format!("Bearer {metadata}, {dpop}") };
        assert_eq!(challenge, expected);
    }
}
