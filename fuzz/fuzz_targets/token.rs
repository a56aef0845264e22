//! Arbitrary bytes as a token: the verifier must never panic and never authenticate.
#![no_main]

use std::sync::LazyLock;

use axum_session_mfa::{Algorithm, AuthLayer, Key, KeySource};
use libfuzzer_sys::fuzz_target;

static LAYER: LazyLock<AuthLayer> = LazyLock::new(|| {
    let rsa = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/keys/rsa_public.pem"
    ))
    .expect("fixture key");
    let keys = KeySource::try_from(vec![
        Key::hmac(Algorithm::HS256, &[7; 32]).expect("hmac key").with_kid("h"),
        Key::from_public_pem(&rsa).expect("rsa key").with_kid("r"),
    ])
    .expect("two keys with distinct kids");
    AuthLayer::builder(keys).build().expect("layer")
});

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().build().expect("runtime"));

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let result = RUNTIME.block_on(LAYER.verify_token(token));
        assert!(result.is_err(), "arbitrary input authenticated");
    }
});
