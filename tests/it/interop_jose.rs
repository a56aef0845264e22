//! Interop with a real JOSE library: tokens minted by the `jose` npm package with RS256, PS256,
//! ES256, ES384 and EdDSA keys, published as a JWKS by an in-process server. All verify;
//! attacker variants do not, and the attacker's `jku` URL is never fetched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;
use crate::interop_support::{require, run};
use axum::Router;
use axum::routing::get;
use axum_session_mfa::AuthLayer;
use axum_session_mfa::jwks::{IssuerKeys, JwksKeys};
use http::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn jose_tokens_verify_and_attacks_fail() {
    require("jose");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let minted: Value =
        serde_json::from_str(&run("jose_tokens.mjs", &[ISSUER, &format!("{base}/attacker")]))
            .expect("jose_tokens.mjs prints JSON");

    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let attacker_fetches = Arc::new(AtomicUsize::new(0));
    let jwks = minted["jwks"].clone();
    let app_server = Router::new()
        .route(
            "/jwks",
            get({
                let n = jwks_fetches.clone();
                move || async move {
                    n.fetch_add(1, Ordering::SeqCst);
                    axum::Json(jwks)
                }
            }),
        )
        .route(
            "/attacker",
            get({
                let n = attacker_fetches.clone();
                move || async move {
                    n.fetch_add(1, Ordering::SeqCst);
                    axum::Json(json!({"keys": []}))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app_server).await.unwrap() });

    let keys = JwksKeys::new(&format!("{base}/jwks")).unwrap();
    let app = router(AuthLayer::builder(IssuerKeys::new(keys, ISSUER)).build().unwrap());

    for alg in ["RS256", "PS256", "ES256", "ES384", "EdDSA"] {
        let token = minted["tokens"][alg].as_str().unwrap();
        let reply = bearer(&app, "/admin", token).await;
        assert_eq!(reply.status, StatusCode::OK, "{alg}: {}", reply.text());
        let me = bearer(&app, "/me", token).await.json();
        assert_eq!(me["sub"], "jose-user", "{alg}");
        assert_eq!(me["amr"], json!(["pwd", "mfa"]), "{alg}");
    }

    for (attack, code) in [
        ("embedded_jwk", "forbidden_header"),
        ("jku", "forbidden_header"),
        ("hs256_rsa_pem_secret", "algorithm_not_allowed"),
        ("hs256_rsa_jwk_secret", "algorithm_not_allowed"),
        ("alg_none", "malformed_token"),
        ("alg_none_signed", "algorithm_not_allowed"),
    ] {
        let token = minted["attacks"][attack].as_str().unwrap();
        for path in ["/me", "/admin"] {
            let reply = bearer(&app, path, token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{attack} {path}: {}", reply.text());
            assert_invalid(&reply, code);
        }
    }
    assert_eq!(attacker_fetches.load(Ordering::SeqCst), 0, "a token's jku was followed");
    assert_eq!(jwks_fetches.load(Ordering::SeqCst), 1);
}
