//! Property tests for the AuthKit cookie path: arbitrary `Fe26.2*` cookie values, and single-byte
//! mutations of a real seal, never panic, never produce a 5xx, and never authenticate.

use crate::common::*;
use axum::body::Body;
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, RefreshToken, SessionUser};
use axum_session_mfa::{Algorithm, AuthLayer};
use http::HeaderValue;
use proptest::prelude::*;

const PASSWORD: &str = "test-only-iron-password-000000000001";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

fn app() -> axum::Router {
    router(
        AuthLayer::builder(key_pair(Algorithm::RS256).1)
            .issuer(ISSUER)
            .authkit(IronPasswords::new("1", PASSWORD).unwrap())
            .build()
            .unwrap(),
    )
}

/// A real, valid seal of an MFA session: it authenticates and passes `/admin` unmodified.
/// Made once: RSA signing is slow in debug builds.
fn real_seal() -> String {
    static SEAL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SEAL.get_or_init(|| {
        let token = sign(Algorithm::RS256, &mfa_claims());
        AuthKitSession::new(token, SessionUser::new("user_123"))
            .with_refresh_token(RefreshToken::new("refresh"))
            .seal(&IronPasswords::new("1", PASSWORD).unwrap())
            .unwrap()
    })
    .clone()
}

fn assert_refused(reply: &Reply) {
    assert!(reply.status == 401, "status {} body {}", reply.status, reply.text());
    assert!(!reply.code().is_empty());
}

fn admin_with(value: &str) -> Option<Reply> {
    let header = HeaderValue::from_str(&format!("wos-session={value}")).ok()?;
    let req = get_req("/admin").header("cookie", header).body(Body::empty()).unwrap();
    Some(runtime().block_on(send(&app(), req)))
}

#[test]
fn the_real_seal_passes() {
    let reply = admin_with(&real_seal()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_fe26_cookies_never_authenticate(rest in "[A-Za-z0-9_\\-\\*~\\.!=]{0,600}") {
        if let Some(reply) = admin_with(&format!("Fe26.2*{rest}")) {
            assert_refused(&reply);
        }
    }

    #[test]
    fn arbitrary_fe26_parts_never_authenticate(
        parts in proptest::collection::vec("[A-Za-z0-9_\\-]{0,80}", 0..10),
        suffix in prop_oneof![Just(""), Just("~2"), Just("~1"), Just("~")],
    ) {
        if let Some(reply) = admin_with(&format!("Fe26.2*{}{suffix}", parts.join("*"))) {
            assert_refused(&reply);
        }
    }

    #[test]
    fn mutated_real_seals_never_authenticate(pos in 0usize..4000, byte in 0x21u8..0x7f) {
        let seal = real_seal();
        let mut bytes = seal.into_bytes();
        let i = pos % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let mutated = String::from_utf8(bytes).unwrap();
        if let Some(reply) = admin_with(&mutated) {
            assert_refused(&reply);
        }
    }
}
