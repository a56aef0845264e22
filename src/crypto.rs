//! Picks `jsonwebtoken`'s process-wide crypto backend from this crate's features.
//!
//! `jsonwebtoken` panics at the first verification when both or neither of its backends are
//! enabled. Feature unification can enable both (`aws_lc_rs` here, `rust_crypto` elsewhere), so
//! the layer installs one explicitly when it is built: aws-lc-rs when its feature is on, else
//! RustCrypto. An application that installed its own provider first keeps it: then JWT
//! signatures use that provider while AuthKit seals use this crate's backend, which matters to
//! FIPS deployments (install the aws-lc-rs provider, or none).

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "axum-session-mfa needs a crypto backend: enable the `aws_lc_rs` (default) or `rust_crypto` feature"
);

/// Installs this crate's choice of `jsonwebtoken` crypto backend as the process default, if no
/// provider is installed yet. [`AuthLayerBuilder::build`](crate::AuthLayerBuilder::build) calls
/// it; call it yourself before using `jsonwebtoken` directly (to sign tokens, say) in a process
/// where feature unification enabled both backends.
pub fn install_crypto_provider() {
    #[cfg(feature = "aws_lc_rs")]
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    // Err means a provider is already installed (by us earlier, or by the application): keep it.
    let _ = provider.install_default();
}

/// SHA-256 of `data`, by the backend `install_crypto_provider` picks (DPoP's `ath`, thumbprints
/// and store keys).
pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    #[cfg(feature = "aws_lc_rs")]
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    // Both backends implement SHA-256; an error here would be a broken backend.
    (provider.key_utils.compute_digest)(data, jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .unwrap_or_default()
}
