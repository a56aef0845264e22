//! Property tests: arbitrary bearer tokens and cookie headers never panic, never produce a 5xx,
//! and never authenticate.

use crate::common::*;
use axum::body::Body;
use http::HeaderValue;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

fn assert_refused(reply: &Reply) {
    assert!(reply.status == 401, "status {} body {}", reply.status, reply.text());
    assert!(!reply.code().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bearer_tokens_never_authenticate(token in "[A-Za-z0-9_\\-\\.=]{0,300}") {
        let app = default_app();
        let reply = runtime().block_on(bearer(&app, "/admin", &token));
        assert_refused(&reply);
    }

    #[test]
    fn arbitrary_cookie_bytes_never_authenticate(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        // The value of the session cookie itself (and sometimes more cookies after it).
        let mut raw = b"session=".to_vec();
        raw.extend_from_slice(&bytes);
        let Ok(value) = HeaderValue::from_bytes(&raw) else { return Ok(()) };
        let app = default_app();
        let req = get_req("/admin").header("cookie", value).body(Body::empty()).unwrap();
        let reply = runtime().block_on(send(&app, req));
        assert_refused(&reply);
    }

    #[test]
    fn mutated_real_tokens_never_authenticate(pos in 0usize..1000, byte in any::<u8>()) {
        let token = hs256(&mfa_claims());
        let mut bytes = token.clone().into_bytes();
        let i = pos % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let Ok(mutated) = String::from_utf8(bytes) else { return Ok(()) };
        let Ok(value) = HeaderValue::from_str(&format!("session={mutated}")) else { return Ok(()) };
        let app = default_app();
        let req = get_req("/admin").header("cookie", value).body(Body::empty()).unwrap();
        let reply = runtime().block_on(send(&app, req));
        // A mutation inside the base64url alphabet may still decode to the same bytes only in
        // the last character's unused bits; those are refused as non-canonical base64.
        assert_refused(&reply);
    }

    #[test]
    fn json_shaped_garbage_never_authenticates(header in any::<String>(), payload in any::<String>()) {
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!("{}.{}.{}", e.encode(header), e.encode(payload), e.encode("sig"));
        let app = default_app();
        let reply = runtime().block_on(bearer(&app, "/admin", &token));
        assert_refused(&reply);
    }
}
