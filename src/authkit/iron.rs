//! The iron `Fe26.2` seal format, as written by the npm packages `iron-webcrypto`
//! (v1 and v2) and `iron-session` v8, which `@workos-inc/authkit-nextjs` uses for its
//! `wos-session` cookie and `@workos-inc/node` for its sealed sessions.
//!
//! A seal is eight `*`-separated parts, then iron-session's version suffix `~2`:
//!
//! ```text
//! Fe26.2*<password id>*<encryption salt>*<iv>*<ciphertext>*<expiration>*<hmac salt>*<hmac>~2
//! ```
//!
//! * Both keys are PBKDF2-HMAC-SHA1 of the password with 1 iteration, 256 bits long. The
//!   PBKDF2 salt is the salt part's *text* (iron writes 256 random bits as lowercase hex).
//! * The plaintext (for iron, the JSON text of the sealed value) is encrypted with
//!   AES-256-CBC and PKCS#7 padding under a random 128-bit IV.
//! * The HMAC-SHA256 covers the text of the first six parts joined by `*`, and is checked,
//!   in constant time, before anything is decrypted.
//! * IV, ciphertext and HMAC are base64url without padding.
//! * The expiration is in milliseconds since the Unix epoch, or empty for a seal that never
//!   expires. A seal is rejected once `expiration <= now - 60 s` (iron's `timestampSkewSec`).
//! * The `~2` suffix is outside the HMAC, so it is only a format marker: [`unseal`] accepts
//!   a seal with or without it (iron-webcrypto writes none), and [`seal`] always writes it.
//! * A seal with an empty password id is opened with the password whose id is `default`.
//!
//! A plain string password given to iron-session or AuthKit has the password id `1`.
//!
//! The primitives come from the crate's one crypto backend: aws-lc-rs with the `aws_lc_rs`
//! feature (the default, and the choice when both are enabled), the RustCrypto crates with only
//! `rust_crypto`.

use std::fmt::{self, Write as _};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::crypto::{self, KEY_LEN, MAC_LEN};

/// The fixed first part of every seal.
const PREFIX: &str = "Fe26.2";
/// iron-session's seal version suffix.
const VERSION_SUFFIX: &str = "~2";
/// The id that iron uses for a seal whose password id part is empty.
const DEFAULT_ID: &str = "default";
/// Iron's minimum password length, in UTF-16 code units like JavaScript's `length`.
const MIN_PASSWORD_LEN: usize = 32;
/// Random salt length (256 bits, written as 64 hex characters).
const SALT_LEN: usize = 32;
/// AES block and IV length.
const BLOCK_LEN: usize = crypto::IV_LEN;
/// Iron's `timestampSkewSec`, in milliseconds.
const SKEW_MS: u64 = 60_000;

/// Passwords by id, for rotation. The first one added is used for sealing; all of them
/// open seals that name their id.
///
/// The [`Debug`] output shows the ids only, never a password.
#[derive(Clone)]
pub struct IronPasswords {
    /// `(id, password)` pairs; never empty; the first seals.
    entries: Vec<(String, String)>,
}

impl IronPasswords {
    /// Creates a set with one password, which is used for sealing.
    ///
    /// The id must be one or more ASCII letters, digits or underscores (AuthKit and
    /// iron-session use `1` for a plain string password). The password must be at least
    /// 32 characters long, counted as UTF-16 code units like iron does.
    ///
    /// # Errors
    ///
    /// [`IronConfigError::InvalidPasswordId`] or [`IronConfigError::PasswordTooShort`].
    pub fn new(
        id: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Self, IronConfigError> {
        let (id, password) = checked_entry(id.into(), password.into())?;
        Ok(Self { entries: vec![(id, password)] })
    }

    /// Adds a password that [`unseal`] accepts for seals naming `id`, e.g. the previous
    /// password during a rotation. It is never used for sealing.
    ///
    /// # Errors
    ///
    /// As for [`IronPasswords::new`], and [`IronConfigError::DuplicatePasswordId`] if the
    /// id is already in the set.
    pub fn with(
        mut self,
        id: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Self, IronConfigError> {
        let (id, password) = checked_entry(id.into(), password.into())?;
        if self.entries.iter().any(|(known, _)| *known == id) {
            return Err(IronConfigError::DuplicatePasswordId(id));
        }
        self.entries.push((id, password));
        Ok(self)
    }

    /// The id and password used for sealing.
    fn sealing(&self) -> (&str, &str) {
        let (id, password) = &self.entries[0];
        (id, password)
    }

    /// The password with this id, if any.
    fn get(&self, id: &str) -> Option<&str> {
        self.entries.iter().find(|(known, _)| known == id).map(|(_, password)| password.as_str())
    }
}

impl fmt::Debug for IronPasswords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IronPasswords")
            .field("ids", &self.entries.iter().map(|(id, _)| id).collect::<Vec<_>>())
            .field("passwords", &"<redacted>")
            .finish()
    }
}

fn checked_entry(id: String, password: String) -> Result<(String, String), IronConfigError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(IronConfigError::InvalidPasswordId(id));
    }
    if password.encode_utf16().count() < MIN_PASSWORD_LEN {
        return Err(IronConfigError::PasswordTooShort { id, min: MIN_PASSWORD_LEN });
    }
    Ok((id, password))
}

/// A password set that iron would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IronConfigError {
    /// The password with this id is shorter than `min` characters.
    PasswordTooShort {
        /// The password's id.
        id: String,
        /// The minimum length, in UTF-16 code units.
        min: usize,
    },
    /// The id is empty or has a character other than an ASCII letter, digit or `_`.
    InvalidPasswordId(String),
    /// Two passwords have this id.
    DuplicatePasswordId(String),
}

impl fmt::Display for IronConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PasswordTooShort { id, min } => {
                write!(f, "iron password {id:?} is shorter than {min} characters")
            }
            Self::InvalidPasswordId(id) => {
                write!(f, "iron password id {id:?} must be ASCII letters, digits or underscores")
            }
            Self::DuplicatePasswordId(id) => write!(f, "iron password id {id:?} is used twice"),
        }
    }
}

impl std::error::Error for IronConfigError {}

/// Why a seal could not be opened or made. Messages never include secrets or seal contents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IronError {
    /// Not a `Fe26.2` seal: wrong prefix, number of parts or version suffix, a bad
    /// expiration, an empty salt, or an IV or ciphertext of impossible length.
    Malformed,
    /// The IV, ciphertext or HMAC is not unpadded base64url.
    Base64,
    /// No configured password has the seal's password id.
    UnknownPasswordId,
    /// The seal's expiration has passed (beyond the 60 s skew allowance).
    Expired,
    /// The HMAC does not match: a wrong password or a tampered seal.
    BadMac,
    /// Decryption failed after the HMAC matched (bad padding).
    Decrypt,
    /// The crypto backend's random number generator (seeded by the operating system) failed.
    Rng,
}

impl IronError {
    /// A stable snake_case code for logs and metrics.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Base64 => "bad_base64",
            Self::UnknownPasswordId => "unknown_password_id",
            Self::Expired => "expired",
            Self::BadMac => "bad_mac",
            Self::Decrypt => "decrypt_failed",
            Self::Rng => "rng_failed",
        }
    }
}

impl fmt::Display for IronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "iron seal is malformed",
            Self::Base64 => "iron seal has invalid base64url",
            Self::UnknownPasswordId => "iron seal names an unknown password id",
            Self::Expired => "iron seal has expired",
            Self::BadMac => "iron seal has a bad HMAC",
            Self::Decrypt => "iron seal could not be decrypted",
            Self::Rng => "the system random number generator failed",
        })
    }
}

impl std::error::Error for IronError {}

/// Opens a seal made by [`seal`], iron-session or iron-webcrypto and returns its plaintext
/// (for those packages, the JSON text of the sealed value).
///
/// `now_ms` is the current time in milliseconds since the Unix epoch. The checks run from
/// cheapest to dearest: format, expiration, password id, HMAC, and only then decryption.
///
/// # Errors
///
/// Every [`IronError`] but [`IronError::Rng`], for a seal that does not open; which one
/// is only meant for logs.
pub fn unseal(sealed: &str, passwords: &IronPasswords, now_ms: u64) -> Result<Vec<u8>, IronError> {
    unseal_with_expiry(sealed, passwords, now_ms).map(|(plaintext, _)| plaintext)
}

/// As [`unseal`], with the seal's own expiry (milliseconds since the epoch, skew included), if
/// it has one: whoever keeps what the seal proved must stop trusting it then.
pub(crate) fn unseal_with_expiry(
    sealed: &str,
    passwords: &IronPasswords,
    now_ms: u64,
) -> Result<(Vec<u8>, Option<u64>), IronError> {
    let body = sealed.strip_suffix(VERSION_SUFFIX).unwrap_or(sealed);
    let mut split = body.split('*');
    let mut parts = [""; 8];
    for part in &mut parts {
        *part = split.next().ok_or(IronError::Malformed)?;
    }
    if split.next().is_some() {
        return Err(IronError::Malformed);
    }
    let [prefix, id, enc_salt, iv, ciphertext, expiration, mac_salt, mac] = parts;
    if prefix != PREFIX || body.contains('~') || enc_salt.is_empty() || mac_salt.is_empty() {
        return Err(IronError::Malformed);
    }

    let mut expires_ms = None;
    if !expiration.is_empty() {
        let exp = parse_expiration(expiration).ok_or(IronError::Malformed)?;
        if u128::from(exp) + u128::from(SKEW_MS) <= u128::from(now_ms) {
            return Err(IronError::Expired);
        }
        expires_ms = Some(exp.saturating_add(SKEW_MS));
    }

    let password = passwords
        .get(if id.is_empty() { DEFAULT_ID } else { id })
        .ok_or(IronError::UnknownPasswordId)?;

    let mac = decode(mac)?;
    let iv = decode(iv)?;
    let ciphertext = decode(ciphertext)?;
    if mac.len() != MAC_LEN {
        return Err(IronError::BadMac);
    }
    let Ok(iv) = <[u8; BLOCK_LEN]>::try_from(iv.as_slice()) else {
        return Err(IronError::Malformed);
    };
    if ciphertext.is_empty() || ciphertext.len() % BLOCK_LEN != 0 {
        return Err(IronError::Malformed);
    }

    let mut signed: Vec<&[u8]> = Vec::with_capacity(11);
    for (i, part) in parts[..6].iter().enumerate() {
        if i > 0 {
            signed.push(b"*");
        }
        signed.push(part.as_bytes());
    }
    crypto::verify_hmac_sha256(&derive_key(password, mac_salt), &signed, &mac)
        .map_err(|_| IronError::BadMac)?;

    let plaintext = crypto::aes256_cbc_decrypt(&derive_key(password, enc_salt), &iv, &ciphertext)
        .map_err(|_| IronError::Decrypt)?;
    Ok((plaintext, expires_ms))
}

/// Seals `plaintext` with the first password of `passwords`, in the form iron-session
/// writes (with the `~2` suffix), using fresh random salts and IV from the crypto backend's
/// random number generator.
///
/// The seal expires `ttl` after `now_ms` (milliseconds since the Unix epoch); `None` or a
/// zero `ttl` gives a seal that never expires, like iron's `ttl: 0`. For iron-session and
/// AuthKit to read it, `plaintext` must be JSON text.
///
/// # Errors
///
/// [`IronError::Rng`] if the random number generator fails.
pub fn seal(
    plaintext: &[u8],
    passwords: &IronPasswords,
    ttl: Option<Duration>,
    now_ms: u64,
) -> Result<String, IronError> {
    let (id, password) = passwords.sealing();
    let enc_salt = hex(&random::<SALT_LEN>()?);
    let mac_salt = hex(&random::<SALT_LEN>()?);
    let iv = random::<BLOCK_LEN>()?;

    let ciphertext = crypto::aes256_cbc_encrypt(&derive_key(password, &enc_salt), &iv, plaintext);

    let expiration = match ttl {
        Some(ttl) if !ttl.is_zero() => {
            // Round a sub-millisecond ttl up: zero would mean "never expires".
            let ttl_ms = u64::try_from(ttl.as_millis().max(1)).unwrap_or(u64::MAX);
            now_ms.saturating_add(ttl_ms).to_string()
        }
        _ => String::new(),
    };
    let base = format!(
        "{PREFIX}*{id}*{enc_salt}*{}*{}*{expiration}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
    );
    let mac = crypto::hmac_sha256(&derive_key(password, &mac_salt), &[base.as_bytes()]);
    let mac = URL_SAFE_NO_PAD.encode(mac);
    Ok(format!("{base}*{mac_salt}*{mac}{VERSION_SUFFIX}"))
}

/// `N` bytes from the crypto backend's random number generator.
fn random<const N: usize>() -> Result<[u8; N], IronError> {
    crypto::random().map_err(|_| IronError::Rng)
}

/// Iron's expiration rule (`/^[1-9]\d*$/`), as milliseconds; `None` if it is not one.
fn parse_expiration(text: &str) -> Option<u64> {
    if text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Strict unpadded base64url: padding and non-zero trailing bits are rejected, so each
/// value has exactly one encoding.
fn decode(part: &str) -> Result<Vec<u8>, IronError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| IronError::Base64)
}

/// Iron's key derivation: PBKDF2-HMAC-SHA1, 1 iteration, over the salt's text.
fn derive_key(password: &str, salt: &str) -> [u8; KEY_LEN] {
    crypto::derive_key(password.as_bytes(), salt.as_bytes())
}

/// Lowercase hex, as iron writes its salts.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The password of every golden seal below except [`UNICODE`].
    const PASSWORD: &str = "test-only-iron-password-000000000001";

    // Golden seals made by the real npm packages (see tests/interop/seal.mjs), ttl 0.
    /// iron-session 8.0.4 `sealData({user: "ada"}, {password, ttl: 0})`, id `1`, as AuthKit.
    const IRON_SESSION: &str = "Fe26.2*1*a1b05c39a1b2a3eca6d9d1cfeb85fd474b82e48fb400c750217ff60819f6753a*qyB47iPXvxpdWVGOcdS81A*q5WTmaC0H2WHMFsbyNR2rQ**2406ca7d81aa02b1fa29eba76932876a2c98356b67e5bf817e947fde150c0496*0D1Cmi0o-igf_SFFqx2pvjU9k6WVqM9WeEIOTkQY2-A~2";
    const IRON_SESSION_PLAINTEXT: &str = r#"{"user":"ada"}"#;
    /// iron-session 8.0.4 sealing the string "" (plaintext `""`).
    const IRON_SESSION_EMPTY_STRING: &str = "Fe26.2*1*9612feee6092c4c19910d48c5f77a101bc5f71afb29e017a122ea2e3c2bb402c*P8mFeucTv4kYJ_6cYdluqw*5_sn2Z3cgU6S4Vqs6WJTtA**e1f4303b3af6757059409f4e58549b1344f099453d783cbd0650bfe9d9a7ed07*f9AGTCWGrZZgSWLxoeRqu471FBY6MUWXLmUTjn8lp68~2";
    /// iron-webcrypto 2.0.0 `seal` with `{id: "1", secret}`: no `~2` suffix.
    const WEBCRYPTO_V2: &str = "Fe26.2*1*462990e5d3b3f4fecc3dfe4d61e18017a1873e126136ccd5e379c6fe877844d4*jlpGOXCKlAv7xpoeKFC0nw*jaBGMFW3B8B8nesWlKugNQmSgw-nFyLYhwGysBggSEVAp8DQeQbkSE4Zb5wriu0m**7f9b0c0cd1434f540068003960b75fcd42f0f878ec3e52ead4f4c6df74398d51*TsdY0dKUo5TZELNY6JQLc_WQLq_0TPUsOiFVP131LPk";
    /// iron-webcrypto 2.0.0 `seal("just a string", password)`: empty id, opened as `default`.
    const WEBCRYPTO_V2_NO_ID: &str = "Fe26.2**834921279758aa14c2c158a9976c885178e99d2370e86e7e9ed771becf3b6207*6eK6J5uRIpm7DGvxnmybhA*dofHG3HXGfPdOL_hOwr01A**75f3a096f810ca1ee93e6caa92885c91f9be1b84f1c5288f60aeabef1d92071d*u2d-REOeL6ohTe4fJQJOr0WKxF1qAUw0PeDdqD6bXYU";
    /// iron-session 8.0.4 with password id 7 and a non-ASCII password ([`UNICODE_PASSWORD`]).
    const UNICODE: &str = "Fe26.2*7*23aaa0d8bae2c13025ec09f3561ce71859a3cea88ec30c0ff8b136f66b86ef8b*5HbFy_ordBgr3fXueO8IqA*nHe_9G1S8ei8DiqS8V59ag**9af780245818ce5350f2b9c50e3105cb83bccd13fa94dfa9f1c5e75601663ecb*xOzdRLko-jmU8NesY1PEqtVTXZHDznx2nvf-9D8aVhs~2";
    /// 37 UTF-16 code units, 44 UTF-8 bytes.
    const UNICODE_PASSWORD: &str = "unicode-päßwörd-✓-𝄞-0123456789abcdef";
    /// iron-session 8.0.4 `sealData({ttl: 60}, {password, ttl: 60})`.
    const IRON_SESSION_TTL: &str = "Fe26.2*1*d0af411af9661f6752fd4f5c1ccbb22cfe213cabd164356520902d1193d7fc44*6KiG29VJGAaNkF_iCb3HSw*HLspb9ZqI-4qA5Vo1l9Bxw*1795796896582*ba9cec7471c07ea6cab2605f70d6d99d728b1bce89dd988debd5111dd6788ef7*dM5n0fQHy7_v6bcbjtY9VKNU3VS-jh-OsNgx0T8d3P0~2";
    /// iron-webcrypto 2.0.0 `seal({ttl: 60}, …, {ttl: 60_000})`.
    const WEBCRYPTO_V2_TTL: &str = "Fe26.2*1*ff824e5e261a49fdfbc0fb45c8f92e3e4565463f05574dc6b0a233d4890bcdda*jzoFnzcNcsDO3XrYP2OnFQ*mlNpFCkkxUry4ywElH3JNA*1795796896729*46b222eab9ba8d6b1cf6667dab457b61c269edc21bd6c7d3242b96ee57ca7b77*F_vylsDzonbFg7Il5EFu_7ic7Y95MZpNzSVjRuYRqGY";

    /// Some time in 2023, long before the golden seals with a ttl expire.
    const NOW: u64 = 1_700_000_000_000;

    fn passwords() -> IronPasswords {
        IronPasswords::new("1", PASSWORD).unwrap()
    }

    /// Replaces part `index` (0-based, of the eight) of a seal, keeping any suffix.
    fn with_part(sealed: &str, index: usize, value: &str) -> String {
        let (body, suffix) = match sealed.strip_suffix(VERSION_SUFFIX) {
            Some(body) => (body, VERSION_SUFFIX),
            None => (sealed, ""),
        };
        let mut parts: Vec<&str> = body.split('*').collect();
        parts[index] = value;
        format!("{}{suffix}", parts.join("*"))
    }

    /// Changes one character in the middle of part `index` to another of the same alphabet.
    fn tampered(sealed: &str, index: usize) -> String {
        let body = sealed.strip_suffix(VERSION_SUFFIX).unwrap_or(sealed);
        let part = body.split('*').nth(index).unwrap();
        let mut bytes = part.as_bytes().to_vec();
        let mid = bytes.len() / 2;
        bytes[mid] = if bytes[mid] == b'a' { b'b' } else { b'a' };
        with_part(sealed, index, std::str::from_utf8(&bytes).unwrap())
    }

    /// Recomputes the HMAC of a seal whose first six parts were changed.
    fn remac(sealed: &str, password: &str) -> String {
        let body = sealed.strip_suffix(VERSION_SUFFIX).unwrap();
        let parts: Vec<&str> = body.split('*').collect();
        let key = derive_key(password, parts[6]);
        let mac =
            URL_SAFE_NO_PAD.encode(crypto::hmac_sha256(&key, &[parts[..6].join("*").as_bytes()]));
        with_part(sealed, 7, &mac)
    }

    fn expiration(sealed: &str) -> u64 {
        sealed.split('*').nth(5).unwrap().parse().unwrap()
    }

    #[test]
    fn round_trip() {
        let p = passwords();
        for plaintext in [&b""[..], b"{}", b"exactly 16 bytes", &[0xff; 1000]] {
            let sealed = seal(plaintext, &p, None, NOW).unwrap();
            assert_eq!(unseal(&sealed, &p, NOW).unwrap(), plaintext);
            let sealed = seal(plaintext, &p, Some(Duration::from_secs(60)), NOW).unwrap();
            assert_eq!(unseal(&sealed, &p, NOW + 60_000).unwrap(), plaintext);
        }
    }

    #[test]
    fn seal_has_iron_session_shape() {
        let sealed = seal(b"{}", &passwords(), Some(Duration::from_secs(5)), NOW).unwrap();
        let body = sealed.strip_suffix("~2").unwrap();
        let parts: Vec<&str> = body.split('*').collect();
        assert_eq!(parts.len(), 8);
        assert_eq!(&parts[..2], &["Fe26.2", "1"]);
        for salt in [parts[2], parts[6]] {
            assert_eq!(salt.len(), 64);
            assert!(salt.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        }
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[3]).unwrap().len(), 16);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[4]).unwrap().len(), 16);
        assert_eq!(parts[5], (NOW + 5_000).to_string());
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[7]).unwrap().len(), 32);
        // Fresh randomness every time.
        assert_ne!(sealed, seal(b"{}", &passwords(), Some(Duration::from_secs(5)), NOW).unwrap());
    }

    #[test]
    fn seal_ttl_rounding() {
        let p = passwords();
        let exp = |ttl| expiration(&seal(b"{}", &p, Some(ttl), NOW).unwrap());
        assert_eq!(exp(Duration::from_micros(1)), NOW + 1);
        assert_eq!(exp(Duration::from_millis(1500)), NOW + 1500);
        assert_eq!(exp(Duration::MAX), u64::MAX);
        for ttl in [None, Some(Duration::ZERO)] {
            let sealed = seal(b"{}", &p, ttl, NOW).unwrap();
            assert_eq!(sealed.split('*').nth(5), Some(""));
        }
    }

    #[test]
    fn opens_iron_session_seal() {
        let p = passwords();
        assert_eq!(unseal(IRON_SESSION, &p, NOW).unwrap(), IRON_SESSION_PLAINTEXT.as_bytes());
        // The `~2` suffix is optional.
        let bare = IRON_SESSION.strip_suffix("~2").unwrap();
        assert_eq!(unseal(bare, &p, NOW).unwrap(), IRON_SESSION_PLAINTEXT.as_bytes());
        assert_eq!(unseal(IRON_SESSION_EMPTY_STRING, &p, NOW).unwrap(), b"\"\"");
    }

    #[test]
    fn opens_iron_webcrypto_v2_seals() {
        let p = passwords();
        assert_eq!(
            unseal(WEBCRYPTO_V2, &p, NOW).unwrap(),
            "{\"hello\":\"wörld ✓\",\"n\":[1,2.5,null,true]}".as_bytes()
        );
        let with_suffix = format!("{WEBCRYPTO_V2}~2");
        assert!(unseal(&with_suffix, &p, NOW).is_ok());

        assert_eq!(unseal(WEBCRYPTO_V2_NO_ID, &p, NOW), Err(IronError::UnknownPasswordId));
        let p = p.with("default", PASSWORD).unwrap();
        assert_eq!(unseal(WEBCRYPTO_V2_NO_ID, &p, NOW).unwrap(), b"\"just a string\"");
    }

    #[test]
    fn opens_seal_with_unicode_password_and_other_id() {
        let p = IronPasswords::new("7", UNICODE_PASSWORD).unwrap();
        assert_eq!(unseal(UNICODE, &p, NOW).unwrap(), b"{\"ok\":true}");
    }

    #[test]
    fn opens_fixtures() {
        for fixture in [
            include_str!("../../tests/fixtures/iron/authkit-nextjs-session.json"),
            include_str!("../../tests/fixtures/iron/workos-node-session.json"),
            include_str!("../../tests/fixtures/iron/iron-webcrypto-v2.json"),
        ] {
            let fixture: serde_json::Value = serde_json::from_str(fixture).unwrap();
            let field = |name: &str| fixture[name].as_str().unwrap();
            let p = IronPasswords::new("1", field("password")).unwrap();
            assert_eq!(
                unseal(field("cookie"), &p, u64::MAX).unwrap(),
                field("plaintext").as_bytes()
            );
        }
    }

    #[test]
    fn expiry_follows_iron_skew_rule() {
        let p = passwords();
        for sealed in [IRON_SESSION_TTL, WEBCRYPTO_V2_TTL] {
            let exp = expiration(sealed);
            for now in [NOW, exp, exp + SKEW_MS - 1] {
                assert_eq!(unseal(sealed, &p, now).unwrap(), b"{\"ttl\":60}");
            }
            for now in [exp + SKEW_MS, u64::MAX] {
                assert_eq!(unseal(sealed, &p, now), Err(IronError::Expired));
            }
        }
    }

    #[test]
    fn rotation() {
        let old = passwords();
        let sealed = seal(b"{}", &old, None, NOW).unwrap();
        let new = IronPasswords::new("2", "another-test-password-0000000000002")
            .unwrap()
            .with("1", PASSWORD)
            .unwrap();
        assert_eq!(unseal(&sealed, &new, NOW).unwrap(), b"{}");
        let resealed = seal(b"{}", &new, None, NOW).unwrap();
        assert!(resealed.starts_with("Fe26.2*2*"));
        assert_eq!(unseal(&resealed, &old, NOW), Err(IronError::UnknownPasswordId));
    }

    #[test]
    fn rejects_wrong_password() {
        let p = IronPasswords::new("1", "a-different-password-000000000000001").unwrap();
        assert_eq!(unseal(IRON_SESSION, &p, NOW), Err(IronError::BadMac));
    }

    #[test]
    fn rejects_unknown_password_id() {
        let p = IronPasswords::new("2", PASSWORD).unwrap();
        assert_eq!(unseal(IRON_SESSION, &p, NOW), Err(IronError::UnknownPasswordId));
    }

    #[test]
    fn rejects_tampering() {
        let p = passwords();
        // Encryption salt, IV, ciphertext, HMAC salt, HMAC.
        for index in [2, 3, 4, 6, 7] {
            let sealed = tampered(IRON_SESSION, index);
            assert_ne!(sealed, IRON_SESSION);
            assert_eq!(unseal(&sealed, &p, NOW), Err(IronError::BadMac), "part {index}");
        }
        // An expiration added to a seal that had none.
        let sealed = with_part(IRON_SESSION, 5, "99999999999999");
        assert_eq!(unseal(&sealed, &p, NOW), Err(IronError::BadMac));
    }

    #[test]
    fn rejects_bad_padding_behind_a_good_mac() {
        // One block that decrypts to zeros: its last byte is not valid PKCS#7.
        let key = derive_key(PASSWORD, "00");
        let iv = [0u8; BLOCK_LEN];
        // CBC's first block does not depend on the padding: it is the zero block encrypted
        // alone (the second block holds the padding).
        let block = &crypto::aes256_cbc_encrypt(&key, &iv, &[0; BLOCK_LEN])[..BLOCK_LEN];
        let sealed = with_part(IRON_SESSION, 2, "00");
        let sealed = with_part(&sealed, 3, &URL_SAFE_NO_PAD.encode(iv));
        let sealed = with_part(&sealed, 4, &URL_SAFE_NO_PAD.encode(block));
        let sealed = remac(&sealed, PASSWORD);
        assert_eq!(unseal(&sealed, &passwords(), NOW), Err(IronError::Decrypt));
    }

    #[test]
    fn accepts_empty_expiration() {
        let sealed = seal(b"{}", &passwords(), None, NOW).unwrap();
        assert_eq!(sealed.split('*').nth(5), Some(""));
        assert_eq!(unseal(&sealed, &passwords(), u64::MAX).unwrap(), b"{}");
    }

    #[test]
    fn rejects_malformed() {
        let p = passwords();
        let bare = IRON_SESSION.strip_suffix("~2").unwrap();
        let mut cases = vec![
            String::new(),
            "Fe26.2".to_owned(),
            format!("{bare}*"),
            bare.rsplit_once('*').unwrap().0.to_owned(),
            format!("{bare}~3"),
            format!("{bare}~2~2"),
            format!("{bare}~"),
            with_part(IRON_SESSION, 0, "Fe26.1"),
            with_part(IRON_SESSION, 0, "fe26.2"),
            with_part(IRON_SESSION, 2, ""),
            with_part(IRON_SESSION, 6, ""),
            with_part(IRON_SESSION, 3, "AAAA"),
            with_part(IRON_SESSION, 4, ""),
            with_part(IRON_SESSION, 4, "AAAA"),
        ];
        for exp in ["0", "0123", "+5", "-5", "1.5", "1e9", " 5", "99999999999999999999999"] {
            cases.push(with_part(IRON_SESSION, 5, exp));
        }
        for sealed in cases {
            assert_eq!(unseal(&sealed, &p, NOW), Err(IronError::Malformed), "{sealed}");
        }
    }

    #[test]
    fn rejects_bad_base64() {
        let p = passwords();
        let mac = IRON_SESSION.split('*').nth(7).unwrap().strip_suffix("~2").unwrap();
        for (index, value) in [
            (3, "qyB47iPXvxpdWVGOcdS81A=="),
            (3, "qyB47iPXvxpdWVGOcdS8+A"),
            (4, "q5WTmaC0H2WHMFsbyNR2r/"),
            (4, "q5WTmaC0H2WHMFsbyNR2rQ="),
            // Non-zero trailing bits: another spelling of the same bytes.
            (3, "qyB47iPXvxpdWVGOcdS81B"),
            (7, &format!("{mac}=")),
            (7, &format!("{}B", &mac[..mac.len() - 1])),
        ] {
            let sealed = with_part(IRON_SESSION, index, value);
            assert_eq!(unseal(&sealed, &p, NOW), Err(IronError::Base64), "{sealed}");
        }
        // A well-formed MAC of the wrong length.
        let sealed = with_part(IRON_SESSION, 7, "AAAA");
        assert_eq!(unseal(&sealed, &p, NOW), Err(IronError::BadMac));
    }

    #[test]
    fn config_rules() {
        use IronConfigError::*;
        let short = "x".repeat(31);
        assert_eq!(
            IronPasswords::new("1", short).unwrap_err(),
            PasswordTooShort { id: "1".into(), min: 32 }
        );
        // 16 astral characters are 32 UTF-16 code units, enough for iron.
        assert!(IronPasswords::new("1", "𝄞".repeat(16)).is_ok());
        assert!(IronPasswords::new("1", "é".repeat(31)).is_err());
        for id in ["", "a-b", "a b", "é", "1*2", "1~2"] {
            assert_eq!(IronPasswords::new(id, PASSWORD).unwrap_err(), InvalidPasswordId(id.into()));
        }
        assert!(IronPasswords::new("Key_2024", PASSWORD).is_ok());
        assert_eq!(passwords().with("1", PASSWORD).unwrap_err(), DuplicatePasswordId("1".into()));
        assert!(!format!("{}", PasswordTooShort { id: "1".into(), min: 32 }).is_empty());
    }

    #[test]
    fn debug_redacts_passwords() {
        let p = passwords().with("old", "old-password-old-password-old-password").unwrap();
        let debug = format!("{p:?}");
        assert!(debug.contains("\"old\"") && debug.contains("\"1\""));
        assert!(!debug.contains("password-0") && !debug.contains("old-password"));
    }

    #[test]
    fn error_codes_are_distinct_snake_case() {
        let all = [
            IronError::Malformed,
            IronError::Base64,
            IronError::UnknownPasswordId,
            IronError::Expired,
            IronError::BadMac,
            IronError::Decrypt,
            IronError::Rng,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(IronError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|c| {
            c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        assert!(all.iter().all(|e| !e.to_string().is_empty()));
    }

    /// One edit of a seal string.
    #[derive(Debug, Clone)]
    enum Edit {
        Replace(usize, char),
        Insert(usize, char),
        Delete(usize),
        Truncate(usize),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let ch = prop_oneof![
            any::<char>(),
            proptest::sample::select("ABCXYZabcxyz0123456789-_*~.=+/".chars().collect::<Vec<_>>()),
        ];
        prop_oneof![
            (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
            (any::<usize>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
            any::<usize>().prop_map(Edit::Delete),
            any::<usize>().prop_map(Edit::Truncate),
        ]
    }

    /// Applies an edit at a char index (taken modulo the length).
    fn apply(s: &str, edit: &Edit) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let at = |i: usize, extra: usize| i % (chars.len() + extra).max(1);
        match *edit {
            Edit::Replace(i, c) if !chars.is_empty() => {
                let i = at(i, 0);
                chars[i] = c;
            }
            Edit::Insert(i, c) => {
                let i = at(i, 1);
                chars.insert(i, c);
            }
            Edit::Delete(i) if !chars.is_empty() => {
                let i = at(i, 0);
                chars.remove(i);
            }
            Edit::Truncate(i) => {
                let i = at(i, 1);
                chars.truncate(i);
            }
            _ => {}
        }
        chars.into_iter().collect()
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_open(
            s in prop_oneof![any::<String>(), "Fe26\\.2\\*[0-9a-zA-Z_*~=-]{0,200}"],
        ) {
            prop_assert!(unseal(&s, &passwords(), NOW).is_err());
        }

        #[test]
        fn mutated_seals_never_open(edits in proptest::collection::vec(edit(), 1..4)) {
            let mutated = edits.iter().fold(IRON_SESSION.to_owned(), |s, e| apply(&s, e));
            let result = unseal(&mutated, &passwords(), NOW);
            if mutated == IRON_SESSION || mutated == IRON_SESSION.strip_suffix("~2").unwrap() {
                prop_assert_eq!(result.unwrap(), IRON_SESSION_PLAINTEXT.as_bytes());
            } else {
                prop_assert!(result.is_err(), "{mutated}");
            }
        }

        #[test]
        fn round_trips_any_bytes(plaintext in proptest::collection::vec(any::<u8>(), 0..300)) {
            let sealed = seal(&plaintext, &passwords(), None, NOW).unwrap();
            prop_assert_eq!(unseal(&sealed, &passwords(), NOW).unwrap(), plaintext);
        }
    }
}
