//! Picks `jsonwebtoken`'s process-wide crypto backend from this crate's features.
//!
//! `jsonwebtoken` panics at the first verification when both or neither of its backends are
//! enabled. Feature unification can enable both (`aws_lc_rs` here, `rust_crypto` elsewhere), so
//! the layer installs one explicitly when it is built: aws-lc-rs when its feature is on, else
//! RustCrypto. An application that installed its own provider first keeps it.

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "axum-session-mfa needs a crypto backend: enable the `aws_lc_rs` (default) or `rust_crypto` feature"
);

pub(crate) fn install_provider() {
    #[cfg(feature = "aws_lc_rs")]
    let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    // Err means a provider is already installed (by us earlier, or by the application): keep it.
    let _ = provider.install_default();
}
