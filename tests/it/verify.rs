//! Token verification through a real Router: every algorithm family, key selection, attack
//! tokens, malformed tokens and claim validation.

use crate::common::*;
use axum_session_mfa::{AuthLayer, Clock, Key, KeySource, TokenType};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const ALL: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[tokio::test]
async fn every_algorithm_family_verifies_real_tokens() {
    for alg in ALL {
        let app = router(builder_for(alg).build().unwrap());
        let reply = bearer(&app, "/me", &sign(alg, &claims())).await;
        assert_eq!(reply.status, 200, "{alg:?}: {}", reply.text());
        assert_eq!(reply.json()["sub"], "user_123", "{alg:?}");
    }
}

#[tokio::test]
async fn a_key_only_verifies_its_pinned_algorithms() {
    // The RSA key is pinned to RS256; a PS256 token signed by the same private key is refused.
    let rs256_only = router(builder_for(Algorithm::RS256).build().unwrap());
    assert_invalid(
        &bearer(&rs256_only, "/me", &sign(Algorithm::PS256, &claims())).await,
        "algorithm_not_allowed",
    );
    // Pinning both accepts both.
    let key = Key::rsa_pem(Algorithm::RS256, &fixture("rsa_public.pem"))
        .unwrap()
        .with_algorithms([Algorithm::RS256, Algorithm::PS256])
        .unwrap();
    let app = router(AuthLayer::builder(key).build().unwrap());
    assert_eq!(bearer(&app, "/me", &sign(Algorithm::PS256, &claims())).await.status, 200);
}

#[tokio::test]
async fn public_pem_autodetects_key_type() {
    for (file, alg) in [
        ("rsa_public.pem", Algorithm::RS256),
        ("ec256_public.pem", Algorithm::ES256),
        ("ec384_public.pem", Algorithm::ES384),
        ("ed25519_public.pem", Algorithm::EdDSA),
    ] {
        let key = Key::from_public_pem(&fixture(file)).unwrap();
        let app = router(AuthLayer::builder(key).build().unwrap());
        assert_eq!(bearer(&app, "/me", &sign(alg, &claims())).await.status, 200, "{file}");
    }
    assert!(
        Key::from_public_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
}

#[test]
fn keys_refuse_mismatched_algorithms_and_weak_secrets() {
    let pem = fixture("rsa_public.pem");
    assert_eq!(
        Key::rsa_pem(Algorithm::HS256, &pem).unwrap_err(),
        axum_session_mfa::KeyError::AlgorithmMismatch {
            key_type: axum_session_mfa::KeyType::Rsa,
            algorithm: Algorithm::HS256
        }
    );
    assert_eq!(
        Key::ec_pem(Algorithm::ES256, &pem).unwrap_err(),
        axum_session_mfa::KeyError::InvalidPem(axum_session_mfa::KeyType::Ec)
    );
    assert!(matches!(
        Key::hmac(Algorithm::HS256, b"short"),
        Err(axum_session_mfa::KeyError::WeakSecret { len: 5, min: 32 })
    ));
    // RFC 7518 3.2: the secret must be at least as long as the hash.
    let secret32 = [7u8; 32];
    assert!(Key::hmac(Algorithm::HS256, &secret32).is_ok());
    assert!(matches!(
        Key::hmac(Algorithm::HS384, &secret32),
        Err(axum_session_mfa::KeyError::WeakSecret { len: 32, min: 48 })
    ));
    assert!(matches!(
        Key::hmac(Algorithm::HS256, &secret32).unwrap().with_algorithms([Algorithm::HS512]),
        Err(axum_session_mfa::KeyError::WeakSecret { len: 32, min: 64 })
    ));
    assert!(Key::from_public_pem(&pem).unwrap().with_algorithms([Algorithm::ES256]).is_err());
    assert!(Key::from_public_pem(&pem).unwrap().with_algorithms([]).is_err());
    // A private key where a public key belongs is refused, whatever the constructor.
    for file in ["rsa_private.pem", "ec256_private.pem", "ed25519_private.pem"] {
        let private = fixture(file);
        assert_eq!(
            Key::from_public_pem(&private).unwrap_err(),
            axum_session_mfa::KeyError::PrivateKey
        );
    }
    assert_eq!(
        Key::rsa_pem(Algorithm::RS256, &fixture("rsa_private.pem")).unwrap_err(),
        axum_session_mfa::KeyError::PrivateKey
    );
    assert_eq!(
        Key::ec_pem(Algorithm::ES256, &fixture("ec256_private.pem")).unwrap_err(),
        axum_session_mfa::KeyError::PrivateKey
    );
    assert_eq!(
        Key::ed25519_pem(&fixture("ed25519_private.pem")).unwrap_err(),
        axum_session_mfa::KeyError::PrivateKey
    );
    use axum_session_mfa::{KeyError, KeySource};
    assert_eq!(KeySource::try_from(Vec::new()).unwrap_err(), KeyError::NoKeys);
    let (_, key) = key_pair(Algorithm::HS256);
    let twice = vec![key.clone().with_kid("k"), key.with_kid("k")];
    assert_eq!(KeySource::try_from(twice).unwrap_err(), KeyError::DuplicateKid("k".into()));
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    // The classic algorithm-confusion attack: HMAC keyed with the public key's PEM bytes.
    let app = router(builder_for(Algorithm::RS256).build().unwrap());
    let forged = hmac_token(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &mfa_claims(),
        &fixture("rsa_public.pem"),
    );
    assert_invalid(&bearer(&app, "/admin", &forged).await, "algorithm_not_allowed");
}

#[tokio::test]
async fn alg_none_is_refused_in_every_spelling() {
    let app = default_app();
    for alg in ["none", "None", "NONE", "nOnE", "", "HS256 ", "hs256"] {
        for sig in ["", "e30"] {
            let token = raw_token(&json!({"alg": alg}), &mfa_claims(), sig);
            let reply = bearer(&app, "/admin", &token).await;
            assert_eq!(reply.status, 401, "alg {alg:?}");
            let code = reply.code();
            assert!(
                code == "algorithm_not_allowed" || code == "malformed_token",
                "alg {alg:?}: {code}"
            );
        }
        let token = raw_token(&json!({"alg": alg}), &mfa_claims(), "e30");
        assert_invalid(&bearer(&app, "/admin", &token).await, "algorithm_not_allowed");
    }
    // A header without alg at all.
    let token = raw_token(&json!({"typ": "JWT"}), &mfa_claims(), "e30");
    assert_invalid(&bearer(&app, "/admin", &token).await, "malformed_token");
}

#[tokio::test]
async fn header_supplied_keys_are_never_trusted() {
    let app = default_app();
    let jwk = json!({"kty": "oct", "k": "c2VjcmV0"});
    for (name, value) in [
        ("jwk", jwk),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
        ("jku", json!(null)),
    ] {
        let mut header = json!({"alg": "HS256", "typ": "JWT"});
        header[name] = value;
        // Validly signed with the real secret: the header alone must cause the refusal.
        let token = hmac_token(&header, &mfa_claims(), HMAC_SECRET);
        let reply = bearer(&app, "/admin", &token).await;
        assert_invalid(&reply, "forbidden_header");
        assert!(reply.json()["detail"].as_str().unwrap().contains(name));
    }
}

#[tokio::test]
async fn crit_headers_are_refused() {
    let app = default_app();
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("b64")] {
        let token = hmac_token(
            &json!({"alg": "HS256", "crit": crit, "b64": true}),
            &mfa_claims(),
            HMAC_SECRET,
        );
        assert_invalid(&bearer(&app, "/admin", &token).await, "unsupported_critical_header");
    }
}

#[tokio::test]
async fn kid_selects_the_key() {
    let (rsa_priv, rsa_pub) = key_pair(Algorithm::RS256);
    let rsa2_priv = EncodingKey::from_rsa_pem(&fixture("rsa2_private.pem")).unwrap();
    let rsa2_pub = Key::rsa_pem(Algorithm::RS256, &fixture("rsa2_public.pem")).unwrap();
    let keys = KeySource::try_from(vec![rsa_pub.with_kid("k1"), rsa2_pub.with_kid("k2")]).unwrap();
    let layer = AuthLayer::builder(keys).build().unwrap();
    let app = router(layer);
    let mut header = Header::new(Algorithm::RS256);

    header.kid = Some("k1".into());
    assert_eq!(bearer(&app, "/me", &sign_with(&header, &claims(), &rsa_priv)).await.status, 200);
    header.kid = Some("k2".into());
    assert_eq!(bearer(&app, "/me", &sign_with(&header, &claims(), &rsa2_priv)).await.status, 200);

    // Signed by key 1 but naming key 2: the signature check runs with key 2 and fails.
    assert_invalid(
        &bearer(&app, "/me", &sign_with(&header, &claims(), &rsa_priv)).await,
        "bad_signature",
    );
    header.kid = Some("k3".into());
    assert_invalid(
        &bearer(&app, "/me", &sign_with(&header, &claims(), &rsa_priv)).await,
        "unknown_key",
    );
    // No kid while two keys could apply: never guessed.
    header.kid = None;
    assert_invalid(
        &bearer(&app, "/me", &sign_with(&header, &claims(), &rsa_priv)).await,
        "unknown_key",
    );
    // A kid-selected key only verifies its pinned algorithm.
    let mut ps = Header::new(Algorithm::PS256);
    ps.kid = Some("k1".into());
    assert_invalid(
        &bearer(&app, "/me", &sign_with(&ps, &claims(), &rsa_priv)).await,
        "algorithm_not_allowed",
    );
}

#[tokio::test]
async fn an_unknown_kid_never_verifies_once_keys_are_named() {
    // One named key and one unnamed key: the unnamed one is no wildcard for unknown kids.
    let (private, public) = key_pair(Algorithm::RS256);
    let keys =
        KeySource::try_from(vec![public, key_pair(Algorithm::ES256).1.with_kid("ec")]).unwrap();
    let layer = AuthLayer::builder(keys).build().unwrap();
    let app = router(layer);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("not-configured".into());
    assert_invalid(
        &bearer(&app, "/me", &sign_with(&header, &claims(), &private)).await,
        "unknown_key",
    );
    header.kid = None;
    assert_eq!(bearer(&app, "/me", &sign_with(&header, &claims(), &private)).await.status, 200);
}

#[test]
fn duplicate_kids_are_refused_when_the_key_set_is_made() {
    let err = KeySource::try_from(vec![
        key_pair(Algorithm::RS256).1.with_kid("same"),
        key_pair(Algorithm::ES256).1.with_kid("same"),
    ])
    .unwrap_err();
    assert_eq!(err, axum_session_mfa::KeyError::DuplicateKid("same".into()));
    assert!(err.to_string().contains("same"), "{err}");
}

#[tokio::test]
async fn without_named_keys_the_token_kid_is_not_used() {
    let (private, public) = key_pair(Algorithm::ES256);
    let app = router(AuthLayer::builder(public).build().unwrap());
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("whatever-the-idp-calls-it".into());
    assert_eq!(bearer(&app, "/me", &sign_with(&header, &claims(), &private)).await.status, 200);
}

#[tokio::test]
async fn forged_signatures_are_refused() {
    for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let app = router(builder_for(alg).build().unwrap());
        let token = sign(alg, &claims());
        // Swap in an MFA payload under the original signature.
        let (head, rest) = token.split_once('.').unwrap();
        let sig = rest.rsplit('.').next().unwrap();
        let forged_payload =
            raw_token(&json!({}), &mfa_claims(), "").split('.').nth(1).unwrap().to_owned();
        let forged = format!("{head}.{forged_payload}.{sig}");
        assert_invalid(&bearer(&app, "/admin", &forged).await, "bad_signature");
        // A signature from another key of the same type.
        let other = match alg {
            Algorithm::HS256 => EncodingKey::from_secret(b"another-secret-that-is-32-bytes-long!!"),
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&fixture("rsa2_private.pem")).unwrap(),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&fixture("ec256b_private.pem")).unwrap(),
            _ => EncodingKey::from_ed_pem(&fixture("ed25519b_private.pem")).unwrap(),
        };
        let token = sign_with(&Header::new(alg), &mfa_claims(), &other);
        assert_invalid(&bearer(&app, "/admin", &token).await, "bad_signature");
        // Garbage signature bytes.
        let garbage = format!("{head}.{}.AAAA", rest.split('.').next().unwrap());
        assert_invalid(&bearer(&app, "/admin", &garbage).await, "bad_signature");
    }
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let app = default_app();
    let good = hs256(&claims());
    let mut parts = good.split('.');
    let (h, c, s) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let cases = [
        (format!("{h}.{c}"), "malformed_token"),
        (format!("{h}.{c}.{s}.{s}"), "malformed_token"),
        (format!("{h}.{c}.{s}.x.y"), "malformed_token"),
        (good[..good.len() - 5].to_owned(), "bad_signature"),
        (good[..20].to_owned(), "malformed_token"),
        ("a.b.c".to_owned(), "malformed_token"),
        (format!("{h}..{s}"), "malformed_token"),
        (format!("!!!.{c}.{s}"), "malformed_token"),
        (format!("{h}=.{c}.{s}"), "malformed_token"),
        ("eyJ.eyJ.eyJ".to_owned(), "malformed_token"),
        (raw_token(&json!(["alg", "HS256"]), &claims(), s), "malformed_token"),
        (raw_token(&json!("HS256"), &claims(), s), "malformed_token"),
    ];
    for (token, code) in cases {
        assert_invalid(&bearer(&app, "/me", &token).await, code);
    }
    // Validly signed payloads that are not JSON objects.
    for payload in [json!([1, 2]), json!("sub"), json!(null), json!(42)] {
        let token = hmac_token(&json!({"alg": "HS256"}), &payload, HMAC_SECRET);
        assert_invalid(&bearer(&app, "/me", &token).await, "malformed_token");
    }
}

#[tokio::test]
async fn time_claims_are_enforced() {
    let app = default_app();
    let now = now();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut c = claims();
        f(&mut c);
        hs256(&c)
    };
    assert_invalid(
        &bearer(&app, "/me", &with(&|c| c["exp"] = json!(now - 31))).await,
        "token_expired",
    );
    assert_eq!(
        bearer(&app, "/me", &with(&|c| c["exp"] = json!(now - 5))).await.status,
        200,
        "within leeway"
    );
    assert_invalid(
        &bearer(&app, "/me", &with(&|c| c["nbf"] = json!(now + 120))).await,
        "token_not_yet_valid",
    );
    assert_eq!(bearer(&app, "/me", &with(&|c| c["nbf"] = json!(now + 5))).await.status, 200);
    let reply =
        bearer(&app, "/me", &with(&|c| drop(c.as_object_mut().unwrap().remove("exp")))).await;
    assert_invalid(&reply, "missing_claim");
    for bad in [json!("9999999999"), json!(null), json!(true), json!(-5), json!([1])] {
        let reply = bearer(&app, "/me", &with(&|c| c["exp"] = bad.clone())).await;
        assert_invalid(&reply, "invalid_claim");
        let reply = bearer(&app, "/me", &with(&|c| c["nbf"] = bad.clone())).await;
        assert_invalid(&reply, "invalid_claim");
        let reply = bearer(&app, "/me", &with(&|c| c["auth_time"] = bad.clone())).await;
        assert_invalid(&reply, "invalid_claim");
    }
    // Fractional NumericDate is fine.
    assert_eq!(
        bearer(&app, "/me", &with(&|c| c["exp"] = json!(now as f64 + 60.5))).await.status,
        200
    );
}

#[tokio::test]
async fn leeway_and_clock_are_configurable() {
    let at = 1_800_000_000;
    let layer = builder_for(Algorithm::HS256)
        .leeway(std::time::Duration::ZERO)
        .clock(Clock::from_fn(move || at))
        .build()
        .unwrap();
    let app = router(layer);
    let mut c = claims();
    c["exp"] = json!(at);
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "token_expired");
    c["exp"] = json!(at + 1);
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
}

#[tokio::test]
async fn subject_is_required() {
    let app = default_app();
    let mut c = claims();
    c.as_object_mut().unwrap().remove("sub");
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "missing_claim");
    c["sub"] = json!(123);
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "invalid_claim");
}

#[tokio::test]
async fn issuers_and_audiences_are_enforced_when_configured() {
    let layer = builder_for(Algorithm::HS256)
        .issuer("https://second.test")
        .audience("api://one")
        .audience("api://two")
        .build()
        .unwrap();
    let app = router(layer);
    let mut c = claims();
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "missing_claim"); // no aud
    c["aud"] = json!("api://two");
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
    c["aud"] = json!(["api://other", "api://one"]);
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
    c["aud"] = json!(["api://other"]);
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "wrong_audience");
    c["aud"] = json!("api://ONE");
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "wrong_audience");
    c["aud"] = json!(7);
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "invalid_claim");
    c["aud"] = json!("api://one");
    c["iss"] = json!("https://second.test");
    assert_eq!(bearer(&app, "/me", &hs256(&c)).await.status, 200);
    c["iss"] = json!("https://evil.test");
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "wrong_issuer");
    c["iss"] = json!(["https://issuer.test"]);
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "invalid_claim");
    c.as_object_mut().unwrap().remove("iss");
    assert_invalid(&bearer(&app, "/me", &hs256(&c)).await, "missing_claim");
}

#[tokio::test]
async fn typ_is_checked() {
    let app = default_app();
    let (key, _) = key_pair(Algorithm::HS256);
    let mut header = Header::new(Algorithm::HS256);
    for ok in ["JWT", "jwt", "at+jwt", "application/at+jwt", "AT+JWT"] {
        header.typ = Some(ok.into());
        assert_eq!(
            bearer(&app, "/me", &sign_with(&header, &claims(), &key)).await.status,
            200,
            "{ok}"
        );
    }
    for bad in ["JOSE", "dpop+jwt", "secevent+jwt", "application/", ""] {
        header.typ = Some(bad.into());
        assert_invalid(
            &bearer(&app, "/me", &sign_with(&header, &claims(), &key)).await,
            "wrong_token_type",
        );
    }
    header.typ = None;
    assert_eq!(bearer(&app, "/me", &sign_with(&header, &claims(), &key)).await.status, 200);

    let strict = app_with_typ(|b| b.token_type(TokenType::AccessToken));
    assert_invalid(
        &bearer(&strict, "/me", &sign_with(&header, &claims(), &key)).await,
        "wrong_token_type",
    );
    header.typ = Some("JWT".into());
    assert_invalid(
        &bearer(&strict, "/me", &sign_with(&header, &claims(), &key)).await,
        "wrong_token_type",
    );
    header.typ = Some("at+jwt".into());
    assert_eq!(bearer(&strict, "/me", &sign_with(&header, &claims(), &key)).await.status, 200);

    header.typ = Some("application/AT+JWT".into());
    assert_eq!(bearer(&strict, "/me", &sign_with(&header, &claims(), &key)).await.status, 200);

    let custom =
        app_with_typ(|b| b.token_type(TokenType::OneOf(vec!["application/secevent+jwt".into()])));
    header.typ = Some("secevent+jwt".into());
    assert_eq!(bearer(&custom, "/me", &sign_with(&header, &claims(), &key)).await.status, 200);
    header.typ = None;
    assert_invalid(
        &bearer(&custom, "/me", &sign_with(&header, &claims(), &key)).await,
        "wrong_token_type",
    );

    let off = app_with_typ(|b| b.token_type(TokenType::Unchecked));
    header.typ = Some("anything".into());
    assert_eq!(bearer(&off, "/me", &sign_with(&header, &claims(), &key)).await.status, 200);
}

#[tokio::test]
async fn id_tokens_pass_where_their_audience_is_accepted_unless_only_access_tokens_are() {
    // An OIDC ID token: same issuer and keys, `aud` = the client id, `typ` JWT (or none).
    let (key, _) = key_pair(Algorithm::HS256);
    let mut id_claims = claims();
    id_claims["aud"] = json!("client-123");
    id_claims["nonce"] = json!("n-0S6_WzA2Mj");
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    let id_token = sign_with(&header, &id_claims, &key);
    let lenient = app_with_typ(|b| b.audience("client-123"));
    assert_eq!(bearer(&lenient, "/me", &id_token).await.status, 200, "the documented risk");
    let strict = app_with_typ(|b| b.audience("client-123").token_type(TokenType::AccessToken));
    assert_invalid(&bearer(&strict, "/me", &id_token).await, "wrong_token_type");
    header.typ = Some("at+jwt".into());
    assert_eq!(bearer(&strict, "/me", &sign_with(&header, &id_claims, &key)).await.status, 200);
}

fn app_with_typ(
    f: impl FnOnce(axum_session_mfa::AuthLayerBuilder) -> axum_session_mfa::AuthLayerBuilder,
) -> axum::Router {
    router(f(builder_for(Algorithm::HS256)).build().unwrap())
}

#[tokio::test]
async fn verify_token_works_outside_requests() {
    let layer = builder_for(Algorithm::EdDSA).build().unwrap();
    let ctx = layer.verify_token(&sign(Algorithm::EdDSA, &mfa_claims())).await.unwrap();
    assert!(ctx.has_amr("mfa"));
    let err = layer.verify_token("nope").await.unwrap_err();
    assert_eq!(err.code(), "malformed_token");
}
