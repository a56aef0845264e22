//! The primitives of iron seals, from the one crypto backend this build uses.
//!
//! With the `aws_lc_rs` feature (the default) every primitive calls aws-lc-rs; with only
//! `rust_crypto`, the RustCrypto crates. When feature unification enables both, aws-lc-rs wins,
//! as it does for `jsonwebtoken` ([`install_crypto_provider`](crate::install_crypto_provider)),
//! so a FIPS build never runs RustCrypto code. Nothing here is cryptography of its own: each
//! function only calls its backend.
//!
//! Both backends produce the same bytes (see the known-answer tests below).

pub(crate) use backend::random;
#[cfg(feature = "lifecycle")]
pub(crate) use backend::sha256;
pub(super) use backend::verify_hmac_sha256;
#[cfg(all(feature = "lifecycle", feature = "revocation"))]
pub(crate) use backend::verify_hmac_sha256_keyed;
pub(super) use backend::{aes256_cbc_decrypt, aes256_cbc_encrypt, derive_key, hmac_sha256};

/// AES-256 and HMAC key length, in bytes.
pub(super) const KEY_LEN: usize = 32;
/// AES block and CBC IV length, in bytes.
pub(super) const IV_LEN: usize = 16;
/// HMAC-SHA256 tag length, in bytes.
pub(super) const MAC_LEN: usize = 32;

/// A primitive refused its input (bad padding, MAC mismatch) or the RNG failed; the caller
/// knows which from the function it called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed;

#[cfg(feature = "aws_lc_rs")]
mod backend {
    use std::num::NonZeroU32;

    use aws_lc_rs::cipher::{
        AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
        PaddedBlockEncryptingKey, UnboundCipherKey,
    };
    use aws_lc_rs::hmac::{self, HMAC_SHA256};
    use aws_lc_rs::iv::FixedLength;
    use aws_lc_rs::{constant_time, pbkdf2, rand};

    use super::{Failed, IV_LEN, KEY_LEN, MAC_LEN};

    /// PBKDF2-HMAC-SHA1 with 1 iteration: iron's key derivation.
    pub(in crate::authkit) fn derive_key(password: &[u8], salt: &[u8]) -> [u8; KEY_LEN] {
        let mut key = [0u8; KEY_LEN];
        // `NonZeroU32::MIN` is 1. `derive` panics only for an output longer than PBKDF2 allows.
        pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA1, NonZeroU32::MIN, salt, password, &mut key);
        key
    }

    /// The HMAC-SHA256 context over the concatenation of `parts`.
    fn context(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> hmac::Context {
        let mut context = hmac::Context::with_key(&hmac::Key::new(HMAC_SHA256, key));
        for part in parts {
            context.update(part);
        }
        context
    }

    /// HMAC-SHA256 of the concatenation of `parts`.
    pub(in crate::authkit) fn hmac_sha256(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> [u8; MAC_LEN] {
        let mut tag = [0u8; MAC_LEN];
        tag.copy_from_slice(context(key, parts).sign().as_ref());
        tag
    }

    /// Checks, in constant time, that `tag` is the HMAC-SHA256 of the concatenation of `parts`.
    pub(in crate::authkit) fn verify_hmac_sha256(
        key: &[u8; KEY_LEN],
        parts: &[&[u8]],
        tag: &[u8],
    ) -> Result<(), Failed> {
        let expected = context(key, parts).sign();
        constant_time::verify_slices_are_equal(expected.as_ref(), tag).map_err(|_| Failed)
    }

    /// AES-256-CBC encryption with PKCS#7 padding under the given IV.
    pub(in crate::authkit) fn aes256_cbc_encrypt(
        key: &[u8; KEY_LEN],
        iv: &[u8; IV_LEN],
        plaintext: &[u8],
    ) -> Vec<u8> {
        let mut in_out = plaintext.to_vec();
        // `less_safe_encrypt` is the call that takes the caller's IV (`encrypt` draws its own).
        // It cannot fail here: the key has AES-256's length, the IV CBC's, and padding appends.
        UnboundCipherKey::new(&AES_256, key)
            .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
            .and_then(|cipher| {
                let iv = EncryptionContext::Iv128(FixedLength::from(iv));
                cipher.less_safe_encrypt(&mut in_out, iv)
            })
            .expect("AES-256-CBC with a 32-byte key and a 16-byte IV");
        in_out
    }

    /// AES-256-CBC decryption with PKCS#7 padding; [`Failed`] for bad padding or a ciphertext
    /// that is not a non-zero number of blocks.
    pub(in crate::authkit) fn aes256_cbc_decrypt(
        key: &[u8; KEY_LEN],
        iv: &[u8; IV_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, Failed> {
        let cipher = UnboundCipherKey::new(&AES_256, key)
            .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
            .map_err(|_| Failed)?;
        let mut in_out = ciphertext.to_vec();
        let len = cipher
            .decrypt(&mut in_out, DecryptionContext::Iv128(FixedLength::from(iv)))
            .map_err(|_| Failed)?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }

    /// `N` bytes from aws-lc's random number generator.
    pub(crate) fn random<const N: usize>() -> Result<[u8; N], Failed> {
        let mut bytes = [0u8; N];
        rand::fill(&mut bytes).map_err(|_| Failed)?;
        Ok(bytes)
    }

    /// SHA-256 of `data` (PKCE `S256`, single-flight keys).
    #[cfg(feature = "lifecycle")]
    pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref());
        out
    }

    /// Checks, in constant time, that `tag` is the HMAC-SHA256 under `key` (any length: a
    /// webhook secret) of the concatenation of `parts`.
    #[cfg(all(feature = "lifecycle", feature = "revocation"))]
    pub(crate) fn verify_hmac_sha256_keyed(
        key: &[u8],
        parts: &[&[u8]],
        tag: &[u8],
    ) -> Result<(), Failed> {
        let mut context = hmac::Context::with_key(&hmac::Key::new(HMAC_SHA256, key));
        for part in parts {
            context.update(part);
        }
        constant_time::verify_slices_are_equal(context.sign().as_ref(), tag).map_err(|_| Failed)
    }
}

#[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
mod backend {
    use aes::cipher::block_padding::Pkcs7;
    use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
    use hmac::{Hmac, Mac};
    use sha1::Sha1;
    use sha2::Sha256;

    use super::{Failed, IV_LEN, KEY_LEN, MAC_LEN};

    type HmacSha256 = Hmac<Sha256>;

    /// PBKDF2-HMAC-SHA1 with 1 iteration: iron's key derivation.
    pub(in crate::authkit) fn derive_key(password: &[u8], salt: &[u8]) -> [u8; KEY_LEN] {
        let mut key = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, 1, &mut key);
        key
    }

    /// The HMAC-SHA256 state over the concatenation of `parts`.
    fn context(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// HMAC-SHA256 of the concatenation of `parts`.
    pub(in crate::authkit) fn hmac_sha256(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> [u8; MAC_LEN] {
        context(key, parts).finalize().into_bytes().into()
    }

    /// Checks, in constant time, that `tag` is the HMAC-SHA256 of the concatenation of `parts`.
    pub(in crate::authkit) fn verify_hmac_sha256(
        key: &[u8; KEY_LEN],
        parts: &[&[u8]],
        tag: &[u8],
    ) -> Result<(), Failed> {
        context(key, parts).verify_slice(tag).map_err(|_| Failed)
    }

    /// AES-256-CBC encryption with PKCS#7 padding under the given IV.
    pub(in crate::authkit) fn aes256_cbc_encrypt(
        key: &[u8; KEY_LEN],
        iv: &[u8; IV_LEN],
        plaintext: &[u8],
    ) -> Vec<u8> {
        cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext)
    }

    /// AES-256-CBC decryption with PKCS#7 padding; [`Failed`] for bad padding or a ciphertext
    /// that is not a non-zero number of blocks.
    pub(in crate::authkit) fn aes256_cbc_decrypt(
        key: &[u8; KEY_LEN],
        iv: &[u8; IV_LEN],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, Failed> {
        cbc::Decryptor::<aes::Aes256>::new(key.into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .map_err(|_| Failed)
    }

    /// `N` bytes from the operating system's random number generator.
    pub(crate) fn random<const N: usize>() -> Result<[u8; N], Failed> {
        let mut bytes = [0u8; N];
        getrandom::getrandom(&mut bytes).map_err(|_| Failed)?;
        Ok(bytes)
    }

    /// SHA-256 of `data` (PKCE `S256`, single-flight keys).
    #[cfg(feature = "lifecycle")]
    pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        Sha256::digest(data).into()
    }

    /// Checks, in constant time, that `tag` is the HMAC-SHA256 under `key` (any length: a
    /// webhook secret) of the concatenation of `parts`.
    #[cfg(all(feature = "lifecycle", feature = "revocation"))]
    pub(crate) fn verify_hmac_sha256_keyed(
        key: &[u8],
        parts: &[&[u8]],
        tag: &[u8],
    ) -> Result<(), Failed> {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac.verify_slice(tag).map_err(|_| Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lowercase hex of test vectors.
    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Known answers computed outside Rust: PBKDF2 and HMAC with Python's `hashlib`/`hmac` and
    /// Node's `crypto` (which agree), AES-256-CBC with `openssl enc -aes-256-cbc` and Python's
    /// `cryptography` (which agree). The same vectors pass with either backend.
    #[test]
    fn known_answers() {
        // PBKDF2-HMAC-SHA1, 1 iteration, 32 bytes. RFC 6070's first vector gives the first 20.
        assert_eq!(
            derive_key(b"password", b"salt").to_vec(),
            unhex("0c60c80f961f0e71f3a9b524af6012062fe037a6e0f0eb94fe8fc46bdc637164")
        );
        let key = derive_key(
            b"test-only-iron-password-000000000001",
            b"a1b05c39a1b2a3eca6d9d1cfeb85fd474b82e48fb400c750217ff60819f6753a",
        );
        assert_eq!(
            key.to_vec(),
            unhex("7cf4356d1cca6be48034b2e815cea2e4208e34e325e71ffc87fa0b93bad56be3")
        );

        // HMAC-SHA256 of "Fe26.2*1*salt*iv*ct*", however it is split into parts.
        let tag = unhex("b5d307b026751a505f9ff0dd5c970f5adc55e11a8e4ac1e65a34742f7df75b7a");
        let whole: &[&[u8]] = &[b"Fe26.2*1*salt*iv*ct*"];
        let split: &[&[u8]] = &[b"Fe26.2", b"*", b"", b"1*salt*iv", b"*ct*"];
        for parts in [whole, split] {
            assert_eq!(hmac_sha256(&key, parts).to_vec(), tag);
            assert_eq!(verify_hmac_sha256(&key, parts, &tag), Ok(()));
        }
        let mut wrong = tag.clone();
        wrong[31] ^= 1;
        assert_eq!(verify_hmac_sha256(&key, whole, &wrong), Err(Failed));
        assert_eq!(verify_hmac_sha256(&key, whole, &tag[..31]), Err(Failed));
        assert_eq!(verify_hmac_sha256(&key, whole, &[]), Err(Failed));

        // AES-256-CBC, PKCS#7, key 00..1f, IV 10..1f.
        let key: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
        let iv: [u8; IV_LEN] = std::array::from_fn(|i| 0x10 + i as u8);
        for (plaintext, ciphertext) in [
            (&b""[..], "5a6e045708fb7196f02e553d02c3a692"),
            (b"hello", "0468f1a5269ea7245bb84c64d456e94d"),
            (
                b"exactly 16 bytes",
                "d8d19ee414ad18eb4dbd9d617c938f9b10b96e79bf6e0c80c4c6c3f3acb19bd3",
            ),
        ] {
            let ciphertext = unhex(ciphertext);
            assert_eq!(aes256_cbc_encrypt(&key, &iv, plaintext), ciphertext);
            assert_eq!(aes256_cbc_decrypt(&key, &iv, &ciphertext).unwrap(), plaintext);
        }
        // The first block alone decrypts to "exactly 16 bytes": its last byte is not padding.
        let block = unhex("d8d19ee414ad18eb4dbd9d617c938f9b");
        assert_eq!(aes256_cbc_decrypt(&key, &iv, &block), Err(Failed));
        assert_eq!(aes256_cbc_decrypt(&key, &iv, &[]), Err(Failed));
        assert_eq!(aes256_cbc_decrypt(&key, &iv, &block[..15]), Err(Failed));
    }

    #[test]
    fn random_is_fresh() {
        let (a, b) = (random::<32>().unwrap(), random::<32>().unwrap());
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }
}
