//! Every problem the crate answers with, declared once: its stable code, HTTP status, title and
//! a line of documentation. [`AuthError`](crate::AuthError), [`Rejection`](crate::Rejection) and
//! the lifecycle's route refusals read their code, status and title from here, and a test
//! checks the declarations against the guide that documents each code (`docs/rejections.md`),
//! so neither can drift from the other.

use http::StatusCode;

/// Declares the problems: `Name = "code", STATUS, "Title";`, each with its doc line.
macro_rules! problems {
    ($( $(#[doc = $doc:literal])+ $name:ident = $code:literal, $status:ident, $title:literal; )+) => {
        /// One problem the crate can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        // Declared whatever the features: a build without the lifecycle never answers its.
        #[allow(dead_code)]
        pub(crate) enum Problem {
            $( $(#[doc = $doc])+ $name, )+
        }

        impl Problem {
            /// Every problem, in declaration order.
            #[cfg(test)]
            pub(crate) const ALL: &'static [Problem] = &[$(Self::$name),+];

            /// The stable snake_case code (the `code` member, the end of the `type` URI).
            pub(crate) const fn code(self) -> &'static str {
                match self { $(Self::$name => $code,)+ }
            }

            /// The HTTP status it is answered with by default.
            pub(crate) const fn status(self) -> StatusCode {
                match self { $(Self::$name => StatusCode::$status,)+ }
            }

            /// The problem+json `title`: the same for every occurrence of the problem.
            pub(crate) const fn title(self) -> &'static str {
                match self { $(Self::$name => $title,)+ }
            }

            /// Its line of documentation.
            #[cfg(test)]
            pub(crate) const fn doc(self) -> &'static str {
                match self { $(Self::$name => concat!($($doc),+),)+ }
            }
        }
    };
}

problems! {
    // A request without a valid session (`AuthError`).
    /// No credential was presented.
    MissingToken = "missing_token", UNAUTHORIZED, "Authentication required";
    /// Conflicting credentials: a cookie and a bearer token that carry different tokens,
    /// duplicate cookies with different values, or several `Authorization` headers.
    AmbiguousToken = "ambiguous_token", UNAUTHORIZED, "Invalid session";
    /// The `Authorization` header is not a well-formed bearer credential.
    MalformedHeader = "malformed_header", UNAUTHORIZED, "Invalid session";
    /// The token exceeds the configured size limit.
    TokenTooLarge = "token_too_large", UNAUTHORIZED, "Invalid session";
    /// Not a compact JWS (segments, base64url, JSON objects).
    MalformedToken = "malformed_token", UNAUTHORIZED, "Invalid session";
    /// `alg` is `none`, unknown, or not pinned to the selected key.
    AlgorithmNotAllowed = "algorithm_not_allowed", UNAUTHORIZED, "Invalid session";
    /// No trusted key for the token's `kid`.
    UnknownKey = "unknown_key", UNAUTHORIZED, "Invalid session";
    /// The header carries `jwk`, `jku`, `x5u` or `x5c`.
    ForbiddenHeader = "forbidden_header", UNAUTHORIZED, "Invalid session";
    /// The header has a `crit` member.
    UnsupportedCritical = "unsupported_critical_header", UNAUTHORIZED, "Invalid session";
    /// `typ` is not accepted.
    WrongType = "wrong_token_type", UNAUTHORIZED, "Invalid session";
    /// The signature does not verify.
    BadSignature = "bad_signature", UNAUTHORIZED, "Invalid session";
    /// `exp` has passed.
    Expired = "token_expired", UNAUTHORIZED, "Invalid session";
    /// `nbf` is in the future.
    NotYetValid = "token_not_yet_valid", UNAUTHORIZED, "Invalid session";
    /// A required claim is absent.
    MissingClaim = "missing_claim", UNAUTHORIZED, "Invalid session";
    /// A claim has the wrong type.
    InvalidClaim = "invalid_claim", UNAUTHORIZED, "Invalid session";
    /// `iss` is not accepted.
    WrongIssuer = "wrong_issuer", UNAUTHORIZED, "Invalid session";
    /// `aud` is not accepted.
    WrongAudience = "wrong_audience", UNAUTHORIZED, "Invalid session";
    /// A sealed session cookie could not be opened.
    InvalidSession = "invalid_session", UNAUTHORIZED, "Invalid session";
    /// A sealed session's user is not the subject of its access token.
    SessionUserMismatch = "session_user_mismatch", UNAUTHORIZED, "Invalid session";
    /// Verification keys are temporarily unavailable.
    KeysUnavailable = "keys_unavailable", SERVICE_UNAVAILABLE, "Service unavailable";
    /// The provider refused to refresh the session: sign in again.
    SessionEnded = "session_ended", UNAUTHORIZED, "Invalid session";
    /// The session expired and the provider cannot be reached to refresh it.
    RefreshUnavailable = "refresh_unavailable", SERVICE_UNAVAILABLE, "Service unavailable";
    /// The session was revoked (signed out, back-channel logout, an administrator).
    SessionRevoked = "session_revoked", UNAUTHORIZED, "Invalid session";
    /// The revocations could not be kept current: sessions are refused until they are.
    RevocationUnavailable = "revocation_unavailable", SERVICE_UNAVAILABLE, "Service unavailable";

    // A valid session refused, or a request refused before its session is read (`Rejection`).
    /// A valid session that must step up (RFC 9470).
    InsufficientUserAuthentication = "insufficient_user_authentication", FORBIDDEN, "Step-up authentication required";
    /// A valid session refused by a custom rule.
    PolicyDenied = "policy_denied", FORBIDDEN, "Forbidden";
    /// `AuthLayer` is not installed in front of the route (a programming error).
    AuthLayerMissing = "auth_layer_missing", INTERNAL_SERVER_ERROR, "Server misconfiguration";
    /// An unsafe method from another origin, refused by `CrossOriginProtectionLayer`.
    CrossOriginRequest = "cross_origin_request", FORBIDDEN, "Cross-origin request refused";

    // The sign-in routes (`SignInError`).
    /// A query parameter was repeated, or there are too many.
    DuplicateParameter = "duplicate_parameter", BAD_REQUEST, "Sign-in failed";
    /// `max_age` is not a whole number of seconds.
    InvalidMaxAge = "invalid_max_age", BAD_REQUEST, "Sign-in failed";
    /// `acr_values` is not short printable text.
    InvalidAcrValues = "invalid_acr_values", BAD_REQUEST, "Sign-in failed";
    /// The system's random number generator failed: try again.
    RngFailed = "rng_failed", SERVICE_UNAVAILABLE, "Sign-in failed";
    /// The callback carries no `state`.
    StateMissing = "state_missing", BAD_REQUEST, "Sign-in failed";
    /// The sign-in attempt's cookie appears twice.
    LoginStateConflict = "login_state_conflict", BAD_REQUEST, "Sign-in failed";
    /// No sign-in attempt was started in this browser, or it was already used.
    LoginStateMissing = "login_state_missing", BAD_REQUEST, "Sign-in failed";
    /// The sign-in attempt expired or its cookie is not valid.
    LoginStateInvalid = "login_state_invalid", BAD_REQUEST, "Sign-in failed";
    /// The callback's `state` is not the attempt's.
    StateMismatch = "state_mismatch", BAD_REQUEST, "Sign-in failed";
    /// The sign-in attempt was already completed (a replayed callback).
    StateReplayed = "state_replayed", BAD_REQUEST, "Sign-in failed";
    /// The provider answered the authorization request with an error.
    ProviderError = "provider_error", BAD_REQUEST, "Sign-in failed";
    /// The callback carries no authorization code.
    CodeMissing = "code_missing", BAD_REQUEST, "Sign-in failed";
    /// The provider refused the authorization code.
    CodeRejected = "code_rejected", BAD_REQUEST, "Sign-in failed";
    /// The provider's token endpoint could not be reached.
    ProviderUnavailable = "provider_unavailable", BAD_GATEWAY, "Sign-in failed";
    /// The provider's access token was refused by the layer's verifier.
    InvalidAccessToken = "invalid_access_token", BAD_REQUEST, "Sign-in failed";
    /// An OpenID Provider returned no ID token.
    IdTokenMissing = "id_token_missing", BAD_REQUEST, "Sign-in failed";
    /// The ID token was refused.
    InvalidIdToken = "invalid_id_token", BAD_REQUEST, "Sign-in failed";
    /// The ID token's `nonce` is not the attempt's.
    NonceMismatch = "nonce_mismatch", BAD_REQUEST, "Sign-in failed";
    /// The ID token, the access token or the provider's user name different users.
    SubjectMismatch = "subject_mismatch", BAD_REQUEST, "Sign-in failed";
    /// A step-up whose access token has no `auth_time`.
    AuthTimeMissing = "auth_time_missing", FORBIDDEN, "Sign-in failed";
    /// A step-up whose `auth_time` lies in the future.
    AuthTimeInFuture = "auth_time_in_future", FORBIDDEN, "Sign-in failed";
    /// A step-up the provider answered without a new sign-in (`auth_time` older than `max_age`).
    ReauthenticationMissing = "reauthentication_missing", FORBIDDEN, "Sign-in failed";
    /// A step-up whose `acr` is not one of the `acr_values` asked for.
    AcrNotSatisfied = "acr_not_satisfied", FORBIDDEN, "Sign-in failed";

    // Back-channel logout (`SignInError` too; a refused logout token carries its `AuthError` code).
    /// The request body is not `application/x-www-form-urlencoded`.
    NotAForm = "not_a_form", BAD_REQUEST, "Back-channel logout refused";
    /// The request body is too large.
    BodyTooLarge = "body_too_large", BAD_REQUEST, "Back-channel logout refused";
    /// No `logout_token`.
    LogoutTokenMissing = "logout_token_missing", BAD_REQUEST, "Back-channel logout refused";
    /// The token's `events` lacks the back-channel logout event.
    NotALogoutToken = "not_a_logout_token", BAD_REQUEST, "Back-channel logout refused";
    /// A logout token must not carry a `nonce`.
    NoncePresent = "nonce_present", BAD_REQUEST, "Back-channel logout refused";
    /// The logout token has no `jti`.
    JtiMissing = "jti_missing", BAD_REQUEST, "Back-channel logout refused";
    /// The logout token's `sid` or `sub` is longer than `MAX_ID_BYTES`.
    IdTooLong = "id_too_long", BAD_REQUEST, "Back-channel logout refused";
    /// The logout token names neither a `sid` nor a `sub`.
    NoSubject = "no_subject", BAD_REQUEST, "Back-channel logout refused";
    /// This logout token was already used.
    JtiReplayed = "jti_replayed", BAD_REQUEST, "Back-channel logout refused";
    /// The logout could not be recorded now (the store or the revocations): the provider should
    /// try again.
    LogoutUnavailable = "logout_unavailable", SERVICE_UNAVAILABLE, "Back-channel logout refused";

    // The WorkOS webhook (`SignInError` too; an oversized body is `body_too_large`).
    /// The request has no `WorkOS-Signature` header.
    WebhookSignatureMissing = "webhook_signature_missing", UNAUTHORIZED, "WorkOS webhook refused";
    /// The `WorkOS-Signature` header is not `t=<milliseconds>, v1=<64 lowercase hex digits>`, or
    /// appears twice.
    WebhookSignatureMalformed = "webhook_signature_malformed", UNAUTHORIZED, "WorkOS webhook refused";
    /// The signature's timestamp is further from now than the tolerance (3 minutes by default).
    WebhookTimestampStale = "webhook_timestamp_stale", UNAUTHORIZED, "WorkOS webhook refused";
    /// The signature is not the HMAC-SHA256 of `<timestamp>.<body>` under the webhook secret.
    WebhookSignatureInvalid = "webhook_signature_invalid", UNAUTHORIZED, "WorkOS webhook refused";
    /// The signed body is not a JSON object.
    WebhookNotJson = "webhook_not_json", BAD_REQUEST, "WorkOS webhook refused";
    /// The event lacks its `id` or `event`, or the id it revokes is missing, empty or longer
    /// than `MAX_ID_BYTES`.
    WebhookEventInvalid = "webhook_event_invalid", BAD_REQUEST, "WorkOS webhook refused";
    /// The event could not be recorded now (the store or the revocations): WorkOS should
    /// deliver it again.
    WebhookUnavailable = "webhook_unavailable", SERVICE_UNAVAILABLE, "WorkOS webhook refused";
}

#[cfg(test)]
mod tests {
    use super::Problem;

    /// The guide that documents the codes.
    const GUIDE: &str = include_str!("../docs/rejections.md");

    /// Every code the crate can emit has its section (and anchor) in the guide, with its
    /// status; every code the guide documents is one the crate emits. The default `type` URI is
    /// a tag URI (an identifier, not a link), so the guide is where a reader looks a code up.
    #[test]
    fn every_code_is_documented_once_and_the_guide_documents_nothing_else() {
        let mut seen = std::collections::HashSet::new();
        for p in Problem::ALL {
            assert!(seen.insert(p.code()), "{} is declared twice", p.code());
            let heading = format!("### `{}`", p.code());
            let at = GUIDE
                .find(&heading)
                .unwrap_or_else(|| panic!("docs/rejections.md: no `{heading}`"));
            let section = &GUIDE[at + heading.len()..];
            let section = &section[..section.find("\n### ").unwrap_or(section.len())];
            let status = p.status().as_u16().to_string();
            assert!(
                section.contains(&status),
                "{}: the guide does not give status {status}",
                p.code()
            );
            assert!(!p.doc().trim().is_empty() && !p.title().is_empty(), "{}", p.code());
            assert!(p.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", p.code());
        }
        for line in GUIDE.lines().filter(|l| l.starts_with("### `")) {
            let code = line.trim_start_matches("### `").trim_end_matches('`');
            assert!(
                seen.contains(code),
                "docs/rejections.md documents `{code}`, which nothing emits"
            );
        }
    }
}
