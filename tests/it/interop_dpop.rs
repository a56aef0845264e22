//! DPoP with real peers: a DPoP-bound access token (`cnf.jkt`) from `oidc-provider` with its
//! DPoP feature on, fetched by `oauth4webapi`'s client, and proofs made by `oauth4webapi` (its
//! own resource request, captured) and by `dpop` (panva). `tests/interop/dpop_peers.mjs`.

use axum::body::Body;
use axum_session_mfa::dpop::{Dpop, DpopNonces};
use axum_session_mfa::{Algorithm, AuthLayer, Key};
use http::{Request, StatusCode};
use serde_json::Value;

use crate::common::{Reply, router, send};
use crate::interop_support::{require, run};

const HTU: &str = "http://api.test/members";

/// The peers' output for proofs to `HTU` (with `nonce` when given).
fn peers(nonce: Option<&str>) -> Value {
    require("oidc-provider");
    require("oauth4webapi");
    require("dpop");
    let mut args = vec![HTU];
    args.extend(nonce);
    let out = run("dpop_peers.mjs", &args);
    let line = out.lines().last().expect("one JSON line");
    serde_json::from_str(line).expect("JSON output")
}

fn layer(peers: &Value, dpop: Dpop) -> AuthLayer {
    let pem = peers["public_key_pem"].as_str().unwrap();
    AuthLayer::builder(Key::rsa_pem(Algorithm::RS256, pem.as_bytes()).unwrap())
        .issuer(peers["issuer"].as_str().unwrap())
        .audience(peers["resource"].as_str().unwrap())
        .dpop(dpop)
        .build()
        .unwrap()
}

async fn call(app: &axum::Router, scheme: &str, token: &str, proof: Option<&str>) -> Reply {
    let mut req = Request::get("/members")
        .header("host", "api.test")
        .header("authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        req = req.header("dpop", proof);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

fn proof<'a>(peers: &'a Value, name: &str) -> &'a str {
    peers["proofs"][name].as_str().unwrap()
}

#[track_caller]
fn assert_reason(reply: &Reply, code: &str, reason: Option<&str>) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.code(), code, "{}", reply.text());
    assert_eq!(reply.json()["reason"].as_str(), reason, "{}", reply.text());
}

#[tokio::test]
async fn oidc_provider_tokens_with_oauth4webapi_and_dpop_proofs() {
    let peers = peers(None);
    assert_eq!(peers["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some("dpop"));
    let app = router(layer(&peers, Dpop::required().origin_from_host()));
    let token = peers["token"].as_str().unwrap();

    // The token is bound to the client's key, and both libraries' proofs pass.
    let ok = call(&app, "DPoP", token, Some(proof(&peers, "oauth4webapi"))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let ok = call(&app, "DPoP", token, Some(proof(&peers, "dpop"))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    // The attacks, with the peers' own material.
    let replay = call(&app, "DPoP", token, Some(proof(&peers, "dpop"))).await;
    assert_reason(&replay, "invalid_dpop_proof", Some("replayed"));
    let post = call(&app, "DPoP", token, Some(proof(&peers, "dpop_post"))).await;
    assert_reason(&post, "invalid_dpop_proof", Some("method"));
    let foreign = call(&app, "DPoP", token, Some(proof(&peers, "foreign_key"))).await;
    assert_reason(&foreign, "invalid_dpop_proof", Some("key_mismatch"));
    let bearer = call(&app, "Bearer", token, None).await;
    assert_reason(&bearer, "dpop_bound_token", None);
    // Allowed mode too refuses the downgrade.
    let allowed = router(layer(&peers, Dpop::allowed().origin_from_host()));
    assert_reason(&call(&allowed, "Bearer", token, None).await, "dpop_bound_token", None);
}

#[tokio::test]
async fn oauth4webapi_follows_the_nonce_flow() {
    let secret = b"interop-nonce-secret-shared-by-every-instance";
    let dpop = || Dpop::required().origin_from_host().nonces(DpopNonces::new(secret).unwrap());
    // A first try without a nonce: 401 use_dpop_nonce and the nonce to use.
    let first = peers(None);
    let app = router(layer(&first, dpop()));
    let token = first["token"].as_str().unwrap();
    let reply = call(&app, "DPoP", token, Some(proof(&first, "oauth4webapi"))).await;
    assert_reason(&reply, "use_dpop_nonce", None);
    assert!(reply.www_authenticate().starts_with("DPoP error=\"use_dpop_nonce\""));
    let nonce = reply.headers["dpop-nonce"].to_str().unwrap().to_owned();
    // The client learns it from the response, as it would from the real one.
    let second = peers(Some(&nonce));
    let app = router(layer(&second, dpop()));
    let token = second["token"].as_str().unwrap();
    for name in ["oauth4webapi", "dpop"] {
        let ok = call(&app, "DPoP", token, Some(proof(&second, name))).await;
        assert_eq!(ok.status, StatusCode::OK, "{name}: {}", ok.text());
        assert!(ok.headers.contains_key("dpop-nonce"));
    }
}
