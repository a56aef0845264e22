//! Why a request carries no [`AuthContext`](crate::AuthContext).
//!
//! Every failure has a stable, snake_case [`code`](AuthError::code) that appears in audit events
//! and in the `code` member of problem+json bodies. Codes never contain token material.

use std::fmt;

use http::StatusCode;

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
    /// A source carried conflicting values: duplicate cookies with different values, or more
    /// than one `Authorization` header.
    AmbiguousToken,
    /// A header that should carry the token is not valid (non-UTF-8 bytes, an empty bearer).
    MalformedHeader,
    /// The token is larger than the configured limit.
    TokenTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The token is not a JWS in compact serialization (segment count, base64url, JSON object).
    MalformedToken(&'static str),
    /// The header's `alg` is `none`, unknown, or not one the selected key is pinned to.
    AlgorithmNotAllowed,
    /// No configured key matches the token's `kid` (or the token has no `kid` and several keys
    /// could apply).
    UnknownKey,
    /// The header carries a key or a key reference (`jwk`, `jku`, `x5u`, `x5c`); such headers
    /// are never trusted.
    ForbiddenHeader(&'static str),
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
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (for example a string `exp`).
    InvalidClaim(&'static str),
    /// `iss` is not one of the accepted issuers.
    WrongIssuer,
    /// `aud` does not contain an accepted audience.
    WrongAudience,
    /// The session cookie could not be opened (sealed-cookie formats). The detail names the
    /// failure: an iron code (`bad_mac`, `expired`, `unknown_password_id`, `malformed`,
    /// `bad_base64`, `decrypt_failed`) or a payload problem (`invalid_payload`,
    /// `missing_access_token`, `missing_user`).
    InvalidSession(&'static str),
    /// A sealed session's user (`user.id`) is not the subject (`sub`) of its access token.
    SessionUserMismatch,
    /// The verification keys are not available right now (remote key set down, nothing cached).
    KeysUnavailable {
        /// Seconds until the next fetch may be attempted; sent as `Retry-After`.
        retry_after: u64,
    },
}

impl AuthError {
    /// A stable snake_case code for logs, metrics and problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::AmbiguousToken => "ambiguous_token",
            Self::MalformedHeader => "malformed_header",
            Self::TokenTooLarge { .. } => "token_too_large",
            Self::MalformedToken(_) => "malformed_token",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnknownKey => "unknown_key",
            Self::ForbiddenHeader(_) => "forbidden_header",
            Self::UnsupportedCritical => "unsupported_critical_header",
            Self::WrongType => "wrong_token_type",
            Self::BadSignature => "bad_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::InvalidSession(_) => "invalid_session",
            Self::SessionUserMismatch => "session_user_mismatch",
            Self::KeysUnavailable { .. } => "keys_unavailable",
        }
    }

    /// `true` when no credential was presented at all (anonymous request).
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::MissingToken)
    }

    /// The HTTP status this failure maps to: 401, or 503 for [`AuthError::KeysUnavailable`].
    pub fn status(&self) -> StatusCode {
        match self {
            Self::KeysUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingToken => f.write_str("no session token was presented"),
            Self::AmbiguousToken => {
                f.write_str("the request carries conflicting session tokens (duplicate cookie or Authorization header)")
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
            Self::InvalidSession(what) => write!(f, "the session cookie is invalid: {what}"),
            Self::SessionUserMismatch => {
                f.write_str("the session's user is not the subject of its access token")
            }
            Self::KeysUnavailable { .. } => {
                f.write_str("verification keys are temporarily unavailable")
            }
        }
    }
}

impl std::error::Error for AuthError {}
