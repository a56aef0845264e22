//! Arbitrary strings as iron seals: unsealing must never panic and never open without the key.
#![no_main]

use std::sync::LazyLock;

use axum_session_mfa::__private::unseal;
use axum_session_mfa::authkit::IronPasswords;
use libfuzzer_sys::fuzz_target;

static PASSWORDS: LazyLock<IronPasswords> = LazyLock::new(|| {
    IronPasswords::new("1", "a-fuzzing-password-of-at-least-32-characters").expect("password")
});

fuzz_target!(|data: &[u8]| {
    if let Ok(sealed) = std::str::from_utf8(data) {
        // Both with and without the prefix, so the fuzzer does not have to find it first.
        for candidate in [sealed.to_owned(), format!("Fe26.2*1*{sealed}")] {
            assert!(unseal(&candidate, &PASSWORDS, 0).is_err(), "arbitrary input unsealed");
        }
    }
});
