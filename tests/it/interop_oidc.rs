//! Interop with a real OpenID Provider: the `oidc-provider` npm package (OpenID Certified),
//! started on loopback. The layer is built by discovery from its issuer URL; tokens are JWT
//! access tokens from the client credentials grant with a resource indicator.

use crate::common::*;
use crate::interop_support::{Peer, require};
use axum_session_mfa::AuthLayer;
use axum_session_mfa::jwks::IssuerKeys;
use http::StatusCode;
use serde_json::Value;

struct Op {
    _peer: Peer,
    config: Value,
}

impl Op {
    fn start() -> Self {
        require("oidc-provider");
        let peer = Peer::spawn("oidc_provider.mjs");
        let config = serde_json::from_str(&peer.greeting).expect("greeting is JSON");
        Self { _peer: peer, config }
    }

    fn get(&self, name: &str) -> &str {
        self.config[name].as_str().unwrap()
    }

    /// A JWT access token; `scope` "read mfa" yields amr with `mfa`, "read" without.
    async fn token(&self, scope: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.get("token_endpoint"))
            .basic_auth(self.get("client_id"), Some(self.get("client_secret")))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("resource", self.get("resource")),
            ])
            .send()
            .await
            .expect("token request");
        assert!(response.status().is_success(), "token endpoint: {}", response.status());
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        body["access_token"].as_str().expect("access_token").to_owned()
    }
}

#[tokio::test]
async fn discovery_and_mfa_with_oidc_provider() {
    let op = Op::start();
    let issuer = op.get("issuer").to_owned();
    let idp = IssuerKeys::discover(&issuer).await.expect("discovery");
    assert_eq!(idp.issuers(), std::slice::from_ref(&issuer));
    assert_eq!(idp.keys().url(), format!("{issuer}/jwks"));
    let layer = AuthLayer::builder(idp).audience(op.get("resource")).build().unwrap();
    let app = router(layer);

    let mfa = op.token("read mfa").await;
    let me = bearer(&app, "/me", &mfa).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let ctx = me.json();
    assert_eq!(ctx["sub"], op.get("client_id"));
    assert_eq!(ctx["iss"], issuer.as_str());
    assert_eq!(ctx["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(ctx["acr"], "urn:test:loa:2");
    assert!(ctx["auth_time"].as_u64().is_some_and(|t| t <= now()));
    assert_eq!(bearer(&app, "/admin", &mfa).await.status, StatusCode::OK);

    let pwd = op.token("read").await;
    let me = bearer(&app, "/me", &pwd).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["amr"], serde_json::json!(["pwd"]));
    let admin = bearer(&app, "/admin", &pwd).await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN, "{}", admin.text());
    assert_eq!(admin.code(), "insufficient_user_authentication");
    assert!(admin.www_authenticate().contains("insufficient_user_authentication"));

    // A token for another audience is refused.
    let other = AuthLayer::builder(IssuerKeys::discover(&issuer).await.unwrap())
        .audience("https://another-api.test")
        .build()
        .unwrap();
    assert_invalid(&bearer(&router(other), "/me", &mfa).await, "wrong_audience");

    // A tampered token (payload swapped to claim mfa) fails the signature check.
    let mut parts: Vec<&str> = pwd.split('.').collect();
    let mfa_payload = mfa.split('.').nth(1).unwrap();
    parts[1] = mfa_payload;
    assert_invalid(&bearer(&app, "/admin", &parts.join(".")).await, "bad_signature");
}
