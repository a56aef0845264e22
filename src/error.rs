//! Why a request carries no [`AuthContext`](crate::AuthContext).
//!
//! Every failure has a stable, snake_case [`code`](AuthError::code) that appears in audit events
//! and in the `code` member of problem+json bodies (its [`ProblemCode`](crate::ProblemCode),
//! declared once with its status and title, is [`problem_code`](AuthError::problem_code)); the
//! variants that carry a detail hold a
//! small enum with a stable code of its own, so callers `match` instead of comparing strings.
//! Codes never contain token material.

use std::fmt;

use http::StatusCode;

use crate::ProblemCode;

/// The precise reason a request is not authenticated.
///
/// [`AuthError::MissingToken`] means "anonymous": no credential was presented at all. Every other
/// variant means a credential was presented and refused, which is answered with
/// `WWW-Authenticate: Bearer error="invalid_token"` (or 503 when keys are unavailable).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No configured source (cookie, `Authorization: Bearer`) carried a token.
    MissingToken,
    /// The request carries conflicting credentials: a cookie and a bearer token that name
    /// different tokens (a cookie planted by a sibling subdomain, say), duplicate cookies with
    /// different values, or more than one `Authorization` header.
    AmbiguousToken,
    /// A header that should carry the token is not valid (non-UTF-8 bytes, an empty bearer).
    MalformedHeader,
    /// The token is larger than the configured limit.
    TokenTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The token is not a JWS in compact serialization.
    MalformedToken(Malformed),
    /// The header's `alg` is `none`, unknown, or not one the selected key is pinned to.
    AlgorithmNotAllowed,
    /// No configured key matches the token's `kid` (or the token has no `kid` and several keys
    /// could apply).
    UnknownKey,
    /// The header carries a key or a key reference (`jwk`, `jku`, `x5u`, `x5c`); such headers
    /// are never trusted.
    ForbiddenHeader(ForbiddenHeader),
    /// The header's `crit` lists an extension this crate does not understand (or is malformed).
    UnsupportedCritical,
    /// The header's `typ` is not one of the accepted token types.
    WrongType,
    /// The signature does not verify with the selected key.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// A required claim is absent.
    MissingClaim(Claim),
    /// A claim has the wrong JSON type (for example a string `exp`).
    InvalidClaim(Claim),
    /// `iss` is not one of the accepted issuers.
    WrongIssuer,
    /// `aud` does not contain an accepted audience.
    WrongAudience,
    /// The sealed session cookie (WorkOS AuthKit) could not be opened.
    #[cfg(feature = "authkit")]
    InvalidSession(SealError),
    /// A sealed session's user (`user.id`) is not the subject (`sub`) of its access token.
    #[cfg(feature = "authkit")]
    SessionUserMismatch,
    /// The verification keys are not available right now (remote key set down, nothing cached).
    KeysUnavailable {
        /// Seconds until the next fetch may be attempted; sent as `Retry-After`.
        retry_after: u64,
    },
    /// The session's access token expired and the provider refused to refresh it
    /// (`invalid_grant`: the refresh token was revoked, spent or expired). The layer cleared the
    /// cookie: the user must sign in again.
    #[cfg(feature = "lifecycle")]
    SessionEnded,
    /// The session's access token expired and the provider could not be reached to refresh it
    /// (network error, timeout, 408, 429, 5xx). The cookie is kept; try again later.
    #[cfg(feature = "lifecycle")]
    RefreshUnavailable {
        /// Seconds to wait before trying again; sent as `Retry-After`.
        retry_after: u64,
    },
    /// The session was revoked ([`Revocations`](crate::Revocations): signed out elsewhere,
    /// back-channel logout, an administrator).
    #[cfg(feature = "revocation")]
    SessionRevoked,
    /// The revocation list could not be kept current for longer than allowed (the shared
    /// state is unreachable), so sessions are refused until it is back (fail closed).
    #[cfg(feature = "revocation")]
    RevocationUnavailable {
        /// Seconds to wait before trying again; sent as `Retry-After`.
        retry_after: u64,
    },
    /// The request's DPoP proof (RFC 9449) is missing or does not prove possession of the
    /// token's key for this request; the detail says which check failed. See
    /// [`dpop`](crate::dpop).
    InvalidDpopProof(DpopProofError),
    /// The layer [requires DPoP](crate::dpop::Dpop::required) and the token came as `Bearer`
    /// (or in a cookie).
    DpopRequired,
    /// The token is bound to a key (a `cnf` claim: DPoP's `cnf.jkt`, or another confirmation
    /// method such as a certificate's `x5t#S256`) and came as `Bearer` (or in a cookie, or to
    /// [`verify_token`](crate::AuthLayer::verify_token)): a bound token is never accepted
    /// without its proof (no downgrade), whatever the layer's DPoP mode.
    DpopBoundToken,
    /// The layer [asks for server nonces](crate::dpop::Dpop::nonces) and the proof carries
    /// none, or a stale one: retry with the `DPoP-Nonce` of the response.
    UseDpopNonce,
    /// The proof's `jti` could not be recorded (the store is unreachable), so the proof cannot
    /// be told from a replay: refused for now (fail closed).
    DpopUnavailable {
        /// Seconds to wait before trying again; sent as `Retry-After`.
        retry_after: u64,
    },
}

impl AuthError {
    /// The problem this failure is answered with: its code, status and title.
    ///
    /// ```
    /// use axum_session_mfa::{AuthError, ProblemCode};
    /// assert_eq!(AuthError::Expired.problem_code(), ProblemCode::TokenExpired);
    /// ```
    pub fn problem_code(&self) -> ProblemCode {
        match self {
            Self::MissingToken => ProblemCode::MissingToken,
            Self::AmbiguousToken => ProblemCode::AmbiguousToken,
            Self::MalformedHeader => ProblemCode::MalformedHeader,
            Self::TokenTooLarge { .. } => ProblemCode::TokenTooLarge,
            Self::MalformedToken(_) => ProblemCode::MalformedToken,
            Self::AlgorithmNotAllowed => ProblemCode::AlgorithmNotAllowed,
            Self::UnknownKey => ProblemCode::UnknownKey,
            Self::ForbiddenHeader(_) => ProblemCode::ForbiddenHeader,
            Self::UnsupportedCritical => ProblemCode::UnsupportedCriticalHeader,
            Self::WrongType => ProblemCode::WrongTokenType,
            Self::BadSignature => ProblemCode::BadSignature,
            Self::Expired => ProblemCode::TokenExpired,
            Self::NotYetValid => ProblemCode::TokenNotYetValid,
            Self::MissingClaim(_) => ProblemCode::MissingClaim,
            Self::InvalidClaim(_) => ProblemCode::InvalidClaim,
            Self::WrongIssuer => ProblemCode::WrongIssuer,
            Self::WrongAudience => ProblemCode::WrongAudience,
            #[cfg(feature = "authkit")]
            Self::InvalidSession(_) => ProblemCode::InvalidSession,
            #[cfg(feature = "authkit")]
            Self::SessionUserMismatch => ProblemCode::SessionUserMismatch,
            Self::KeysUnavailable { .. } => ProblemCode::KeysUnavailable,
            #[cfg(feature = "lifecycle")]
            Self::SessionEnded => ProblemCode::SessionEnded,
            #[cfg(feature = "lifecycle")]
            Self::RefreshUnavailable { .. } => ProblemCode::RefreshUnavailable,
            #[cfg(feature = "revocation")]
            Self::SessionRevoked => ProblemCode::SessionRevoked,
            #[cfg(feature = "revocation")]
            Self::RevocationUnavailable { .. } => ProblemCode::RevocationUnavailable,
            Self::InvalidDpopProof(_) => ProblemCode::InvalidDpopProof,
            Self::DpopRequired => ProblemCode::DpopRequired,
            Self::DpopBoundToken => ProblemCode::DpopBoundToken,
            Self::UseDpopNonce => ProblemCode::UseDpopNonce,
            Self::DpopUnavailable { .. } => ProblemCode::DpopUnavailable,
        }
    }

    /// A stable snake_case code for logs, metrics and problem+json bodies (the list, with
    /// what each means, is in the [rejections guide](crate::guide::rejections)).
    pub fn code(&self) -> &'static str {
        self.problem_code().code()
    }

    /// `true` when no credential was presented at all (anonymous request).
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::MissingToken)
    }

    /// The code of the detail, for the variants that carry one ([`Malformed`],
    /// [`ForbiddenHeader`], [`Claim`], [`SealError`], [`DpopProofError`]); `None` for the
    /// others.
    ///
    /// ```
    /// use axum_session_mfa::{AuthError, Claim};
    /// assert_eq!(AuthError::MissingClaim(Claim::Exp).detail_code(), Some("exp"));
    /// assert_eq!(AuthError::Expired.detail_code(), None);
    /// ```
    pub fn detail_code(&self) -> Option<&'static str> {
        match self {
            Self::MalformedToken(m) => Some(m.code()),
            Self::ForbiddenHeader(h) => Some(h.code()),
            Self::MissingClaim(c) | Self::InvalidClaim(c) => Some(c.code()),
            #[cfg(feature = "authkit")]
            Self::InvalidSession(e) => Some(e.code()),
            Self::InvalidDpopProof(e) => Some(e.code()),
            _ => None,
        }
    }

    /// The HTTP status this failure maps to: 401, or 503 for the temporary failures (those with
    /// a [`retry_after`](Self::retry_after)).
    pub fn status(&self) -> StatusCode {
        self.problem_code().status()
    }

    /// For a temporary failure (keys or the refresh endpoint unreachable), the seconds after
    /// which a retry may succeed; `None` for every refusal.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::KeysUnavailable { retry_after } => Some(*retry_after),
            #[cfg(feature = "lifecycle")]
            Self::RefreshUnavailable { retry_after } => Some(*retry_after),
            #[cfg(feature = "revocation")]
            Self::RevocationUnavailable { retry_after } => Some(*retry_after),
            Self::DpopUnavailable { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingToken => f.write_str("no session token was presented"),
            Self::AmbiguousToken => {
                f.write_str("the request carries conflicting session tokens (cookie and bearer, duplicate cookies or Authorization headers)")
            }
            Self::MalformedHeader => f.write_str("the header carrying the token is malformed"),
            Self::TokenTooLarge { limit } => write!(f, "the token exceeds the {limit}-byte limit"),
            Self::MalformedToken(what) => write!(f, "the token is malformed: {what}"),
            Self::AlgorithmNotAllowed => {
                f.write_str("the token's signing algorithm is not allowed for its key")
            }
            Self::UnknownKey => f.write_str("no trusted key matches the token's key id"),
            Self::ForbiddenHeader(name) => {
                write!(f, "the token header carries `{name}`, which is never trusted")
            }
            Self::UnsupportedCritical => {
                f.write_str("the token header lists critical extensions that are not understood")
            }
            Self::WrongType => f.write_str("the token type (typ) is not accepted"),
            Self::BadSignature => f.write_str("the token signature is invalid"),
            Self::Expired => f.write_str("the token has expired"),
            Self::NotYetValid => f.write_str("the token is not valid yet (nbf)"),
            Self::MissingClaim(name) => write!(f, "the token lacks the required `{name}` claim"),
            Self::InvalidClaim(name) => write!(f, "the token's `{name}` claim has the wrong type"),
            Self::WrongIssuer => f.write_str("the token issuer is not accepted"),
            Self::WrongAudience => f.write_str("the token audience is not accepted"),
            #[cfg(feature = "authkit")]
            Self::InvalidSession(what) => write!(f, "the session cookie is invalid: {what}"),
            #[cfg(feature = "authkit")]
            Self::SessionUserMismatch => {
                f.write_str("the session's user is not the subject of its access token")
            }
            Self::KeysUnavailable { .. } => {
                f.write_str("verification keys are temporarily unavailable")
            }
            #[cfg(feature = "lifecycle")]
            Self::SessionEnded => {
                f.write_str("the session has ended: the provider refused to refresh it")
            }
            #[cfg(feature = "lifecycle")]
            Self::RefreshUnavailable { .. } => f.write_str(
                "the session expired and the identity provider cannot be reached to refresh it",
            ),
            #[cfg(feature = "revocation")]
            Self::SessionRevoked => f.write_str("the session has been revoked"),
            #[cfg(feature = "revocation")]
            Self::RevocationUnavailable { .. } => {
                f.write_str("the revocation list is temporarily unavailable")
            }
            Self::InvalidDpopProof(what) => write!(f, "the DPoP proof is invalid: {what}"),
            Self::DpopRequired => {
                f.write_str("this resource requires DPoP: send the token as `Authorization: DPoP` with a proof")
            }
            Self::DpopBoundToken => {
                f.write_str("the token is bound to a key (cnf): send it with a proof of that key (`Authorization: DPoP`)")
            }
            Self::UseDpopNonce => {
                f.write_str("the DPoP proof must carry the nonce of the DPoP-Nonce response header")
            }
            Self::DpopUnavailable { .. } => {
                f.write_str("the DPoP proof cannot be checked for replay right now")
            }
        }
    }
}

impl std::error::Error for AuthError {}

/// Generates a detail enum: variants, a stable `code()`, and a `Display` message.
macro_rules! detail_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $code:literal, $text:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// A stable snake_case code for logs and problem bodies.
            pub fn code(&self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $(Self::$variant => $text,)+
                })
            }
        }
    };
}

detail_enum! {
    /// What is wrong with a token that is not a compact JWS ([`AuthError::MalformedToken`]).
    Malformed {
        /// Not three dot-separated segments.
        SegmentCount => "segment_count", "expected three dot-separated segments";
        /// A segment is empty.
        EmptySegment => "empty_segment", "empty segment";
        /// The header is not base64url.
        HeaderEncoding => "header_encoding", "header is not base64url";
        /// The header is not a JSON object with an `alg` string.
        Header => "header", "header is not a JSON object with an alg";
        /// The payload is not base64url.
        PayloadEncoding => "payload_encoding", "payload is not base64url";
        /// The payload is not a JSON object.
        Payload => "payload", "payload is not a JSON object";
    }
}

detail_enum! {
    /// A JOSE header member that carries a key or a key reference and is never trusted
    /// ([`AuthError::ForbiddenHeader`]).
    ForbiddenHeader {
        /// An embedded JSON Web Key.
        Jwk => "jwk", "jwk";
        /// A JWK Set URL.
        Jku => "jku", "jku";
        /// An X.509 certificate URL.
        X5u => "x5u", "x5u";
        /// An embedded X.509 certificate chain.
        X5c => "x5c", "x5c";
    }
}

detail_enum! {
    /// A claim the verifier checks ([`AuthError::MissingClaim`], [`AuthError::InvalidClaim`]).
    Claim {
        /// `exp`: expiry.
        Exp => "exp", "exp";
        /// `nbf`: not before.
        Nbf => "nbf", "nbf";
        /// `iat`: issued at.
        Iat => "iat", "iat";
        /// `sub`: subject.
        Sub => "sub", "sub";
        /// `iss`: issuer.
        Iss => "iss", "iss";
        /// `aud`: audience.
        Aud => "aud", "aud";
        /// `auth_time` (or the name configured with [`ClaimNames`](crate::ClaimNames)).
        AuthTime => "auth_time", "auth_time";
    }
}

#[cfg(feature = "authkit")]
detail_enum! {
    /// Why a sealed session cookie could not be opened ([`AuthError::InvalidSession`]).
    SealError {
        /// Not a `Fe26.2` seal.
        Malformed => "malformed", "the seal is malformed";
        /// A seal part is not unpadded base64url.
        BadBase64 => "bad_base64", "the seal has invalid base64url";
        /// No configured password has the seal's password id.
        UnknownPasswordId => "unknown_password_id", "the seal names an unknown password id";
        /// The seal's own expiry has passed.
        Expired => "expired", "the seal has expired";
        /// The seal's HMAC does not match: another password, or a tampered cookie.
        BadMac => "bad_mac", "the seal has a bad HMAC";
        /// Decryption failed after the HMAC matched.
        DecryptFailed => "decrypt_failed", "the seal could not be decrypted";
        /// The seal opened but does not hold a JSON object of the session's shape.
        InvalidPayload => "invalid_payload", "the sealed payload is not a session";
        /// The sealed session has no `accessToken`.
        MissingAccessToken => "missing_access_token", "the sealed session has no access token";
        /// The sealed session has no `user`.
        MissingUser => "missing_user", "the sealed session has no user";
    }
}

detail_enum! {
    /// Why a DPoP proof (RFC 9449) was refused ([`AuthError::InvalidDpopProof`]); see
    /// [`dpop`](crate::dpop) for the checks, in their order.
    DpopProofError {
        /// No `DPoP` header came with an `Authorization: DPoP` token.
        Missing => "missing", "no DPoP header";
        /// More than one `DPoP` header.
        Multiple => "multiple", "more than one DPoP header";
        /// Not a compact JWS with JSON header and claims, too large, or a required claim
        /// (`jti` of at most 256 bytes, `htm`, `htu`, `iat`) absent or of the wrong type.
        Malformed => "malformed", "the proof is not a well-formed DPoP JWT";
        /// The header's `typ` is not `dpop+jwt`.
        Type => "type", "typ is not dpop+jwt";
        /// `alg` is not one of the accepted asymmetric algorithms, or does not fit the `jwk`.
        Algorithm => "algorithm", "alg is not accepted, or does not fit the key";
        /// The header's `jwk` is absent, not a public key the crate accepts, or carries private
        /// or symmetric key material (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`, `kty: oct`).
        PrivateKey => "private_key", "jwk is not an acceptable public key";
        /// The signature does not verify with the header's `jwk`.
        Signature => "signature", "the signature does not verify with the proof's jwk";
        /// `htm` is not the request's method.
        Method => "method", "htm is not the request method";
        /// `htu` is not the request's URI (scheme, host, path; query and fragment ignored).
        Uri => "uri", "htu is not the request URI";
        /// `iat` is older than the accepted window.
        Stale => "stale", "iat is too old";
        /// `iat` lies too far in the future.
        Future => "future", "iat is in the future";
        /// This proof's `jti` was already used within the window (a replay).
        Replayed => "replayed", "the proof was already used";
        /// `ath` is absent or not the base64url SHA-256 of the access token.
        TokenHash => "token_hash", "ath is not the hash of the access token";
        /// The proof's `jwk` is not the key the token is bound to (`cnf.jkt`).
        KeyMismatch => "key_mismatch", "the proof key is not the key the token is bound to";
        /// The token came as `Authorization: DPoP` but is not bound to a key (`cnf.jkt`).
        UnboundToken => "unbound_token", "the token is not DPoP-bound (no cnf.jkt)";
        /// The proof carries a `nonce` that this service did not issue, or an expired one.
        Nonce => "nonce", "the nonce is invalid";
    }
}
