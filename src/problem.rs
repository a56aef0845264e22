//! [`ProblemCode`]: every problem the crate answers with, declared once.
//!
//! Each declaration gives the stable code, the HTTP status, the problem+json `title` and a line
//! of documentation. [`AuthError`](crate::AuthError), [`Rejection`](crate::Rejection) and the
//! lifecycle's route refusals read their code, status and title from here; the variants' rustdoc
//! is generated from the same declarations, and a test checks them against the guide that
//! documents each code (`docs/rejections.md`), so none of them can drift from the others.

use std::fmt;

use http::StatusCode;

/// Declares the problems: `Name = "code", status, "Title";`, each with its doc line.
macro_rules! problems {
    ($( $(#[doc = $doc:literal])+ $name:ident = $code:literal, $status:literal, $title:literal; )+) => {
        /// Every problem the crate answers with: its stable code, default status and `title`.
        ///
        /// A [`Rejection`](crate::Rejection), an [`AuthError`](crate::AuthError) and a
        /// [`SignInError`](crate::lifecycle::SignInError) each name one through
        /// `problem_code()`, so a caller can `match` on it rather than compare code strings.
        /// [`ALL`](Self::ALL) lists them, for instance to publish your own page at the
        /// [problem type base](crate::AuthLayerBuilder::problem_type_base); the
        /// [rejections guide](crate::guide::rejections) documents each one.
        ///
        /// ```
        /// use axum_session_mfa::ProblemCode;
        ///
        /// let expired = ProblemCode::TokenExpired;
        /// assert_eq!(expired.code(), "token_expired");
        /// assert_eq!(expired.status().as_u16(), 401);
        /// assert!(ProblemCode::ALL.iter().any(|p| p.code() == "state_replayed"));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ProblemCode {
            $(
                $(#[doc = $doc])+
                #[doc = ""]
                #[doc = concat!(
                    "`", $code, "`: ", $status, ", *", $title, "* ([guide](crate::guide::rejections#",
                    $code, "))."
                )]
                $name,
            )+
        }

        impl ProblemCode {
            /// Every problem, in declaration order (the order of the guide).
            pub const ALL: &'static [ProblemCode] = &[$(Self::$name),+];

            /// The stable snake_case code: the `code` member of the body and the end of its
            /// `type` URI.
            pub const fn code(self) -> &'static str {
                match self { $(Self::$name => $code,)+ }
            }

            /// The HTTP status it is answered with by default (a step-up denial is 401 with
            /// [`unauthorized_on_step_up`](crate::AuthLayerBuilder::unauthorized_on_step_up)).
            pub const fn status(self) -> StatusCode {
                match self { $(Self::$name => const { status($status) },)+ }
            }

            /// The problem+json `title`: the same for every occurrence of the problem.
            pub const fn title(self) -> &'static str {
                match self { $(Self::$name => $title,)+ }
            }

            /// What the problem means, in a line of Markdown (the guide's text for it).
            pub const fn doc(self) -> &'static str {
                match self { $(Self::$name => concat!($($doc),+).trim_ascii_start(),)+ }
            }
        }
    };
}

/// The status for a declared number; a number that is not a status does not compile.
const fn status(code: u16) -> StatusCode {
    match StatusCode::from_u16(code) {
        Ok(status) => status,
        Err(_) => panic!("not an HTTP status"),
    }
}

/// The name the lifecycle's routes build their refusals with.
#[cfg(feature = "lifecycle")]
pub(crate) use ProblemCode as Problem;

impl fmt::Display for ProblemCode {
    /// The code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

problems! {
    // A request without a valid session: `AuthError`.
    /// No credential was presented: no session cookie, no `Authorization: Bearer`.
    MissingToken = "missing_token", 401, "Authentication required";
    /// Conflicting credentials: a cookie and a bearer token that carry different tokens,
    /// duplicate cookies with different values, or several `Authorization` headers.
    AmbiguousToken = "ambiguous_token", 401, "Invalid session";
    /// The `Authorization` header is not a well-formed bearer credential (non-UTF-8 bytes, an
    /// empty bearer).
    MalformedHeader = "malformed_header", 401, "Invalid session";
    /// The token exceeds the configured size limit (`max_token_bytes`).
    TokenTooLarge = "token_too_large", 401, "Invalid session";
    /// Not a compact JWS (segments, base64url, JSON objects); `reason` says which part.
    MalformedToken = "malformed_token", 401, "Invalid session";
    /// `alg` is `none`, unknown, or not the one the selected key is pinned to.
    AlgorithmNotAllowed = "algorithm_not_allowed", 401, "Invalid session";
    /// No trusted key for the token's `kid` (or several keys could apply).
    UnknownKey = "unknown_key", 401, "Invalid session";
    /// The header carries `jwk`, `jku`, `x5u` or `x5c` (named in `reason`): a token never
    /// chooses its own key.
    ForbiddenHeader = "forbidden_header", 401, "Invalid session";
    /// The header's `crit` lists extensions this crate does not understand (or is malformed).
    UnsupportedCriticalHeader = "unsupported_critical_header", 401, "Invalid session";
    /// `typ` is not one of the accepted token types (see `.token_type(..)`).
    WrongTokenType = "wrong_token_type", 401, "Invalid session";
    /// The signature does not verify with the selected key.
    BadSignature = "bad_signature", 401, "Invalid session";
    /// `exp` has passed (beyond the leeway).
    TokenExpired = "token_expired", 401, "Invalid session";
    /// `nbf` is in the future (beyond the leeway).
    TokenNotYetValid = "token_not_yet_valid", 401, "Invalid session";
    /// A required claim is absent; `reason` names it.
    MissingClaim = "missing_claim", 401, "Invalid session";
    /// A claim has the wrong JSON type (a string `exp`, say); `reason` names it.
    InvalidClaim = "invalid_claim", 401, "Invalid session";
    /// `iss` is not one of the accepted issuers.
    WrongIssuer = "wrong_issuer", 401, "Invalid session";
    /// `aud` does not contain an accepted audience.
    WrongAudience = "wrong_audience", 401, "Invalid session";
    /// A sealed session cookie (WorkOS AuthKit) could not be opened; `reason` says why.
    InvalidSession = "invalid_session", 401, "Invalid session";
    /// A sealed session's user (`user.id`) is not the subject (`sub`) of its access token.
    SessionUserMismatch = "session_user_mismatch", 401, "Invalid session";
    /// The verification keys are temporarily unavailable (the remote key set is down and
    /// nothing is cached); `Retry-After` says when to try again.
    KeysUnavailable = "keys_unavailable", 503, "Service unavailable";
    /// The session was due for a refresh and the provider refused it (`invalid_grant`: the
    /// refresh token was revoked, spent or expired): the session is over and its cookie was
    /// cleared. Sign in again.
    SessionEnded = "session_ended", 401, "Invalid session";
    /// The session's access token expired and the provider could not refresh it now (network,
    /// timeout, 408, 429, 5xx, or another refusal); the cookie is kept and `Retry-After` says
    /// when to try again.
    RefreshUnavailable = "refresh_unavailable", 503, "Service unavailable";
    /// The session was revoked: signed out elsewhere, `revoke_session`, `revoke_user`, or a
    /// back-channel logout.
    SessionRevoked = "session_revoked", 401, "Invalid session";
    /// The revocation list could not be kept current for longer than its staleness bound (the
    /// shared state is unreachable), so sessions are refused until it is back; `Retry-After`
    /// says when to try again.
    RevocationUnavailable = "revocation_unavailable", 503, "Service unavailable";
    /// A DPoP-bound request (`Authorization: DPoP`) whose proof is refused; `reason` says which
    /// check failed: `missing`, `multiple`, `malformed`, `type`, `algorithm`, `private_key`,
    /// `signature`, `method`, `uri`, `stale`, `future`, `replayed`, `token_hash`,
    /// `key_mismatch`, `unbound_token` or `nonce`. The challenge is `DPoP
    /// error="invalid_dpop_proof"` with the accepted `algs`.
    InvalidDpopProof = "invalid_dpop_proof", 401, "Invalid DPoP proof";
    /// The layer requires DPoP and the token came as `Bearer` or in a cookie.
    DpopRequired = "dpop_required", 401, "Invalid session";
    /// A sender-constrained token (any `cnf` claim: DPoP's `jkt`, or a certificate's
    /// `x5t#S256` this layer cannot check) came as `Bearer` or in a cookie: refused in every
    /// mode, so a stolen bound token cannot be downgraded to a bearer one.
    DpopBoundToken = "dpop_bound_token", 401, "Invalid session";
    /// The layer asks for server nonces and the proof has none (or an expired one): retry with
    /// the response's `DPoP-Nonce`. The challenge is `DPoP error="use_dpop_nonce"`.
    UseDpopNonce = "use_dpop_nonce", 401, "DPoP nonce required";
    /// The proof's `jti` could not be recorded (the store is unreachable), so a replay cannot
    /// be ruled out; `Retry-After` says when to try again.
    DpopUnavailable = "dpop_unavailable", 503, "Service unavailable";

    // A valid session refused, or a request refused before its session is read: `Denial`,
    // `RejectionKind::LayerMissing`, `CrossOriginError`.
    /// A valid session that must step up (RFC 9470): 401 instead with
    /// `unauthorized_on_step_up`; `rule` says what failed, `methods`, `acr_values` and
    /// `max_age` what would pass.
    InsufficientUserAuthentication = "insufficient_user_authentication", 403, "Step-up authentication required";
    /// A valid token that does not grant the scopes the route (or MCP tool) needs: the
    /// challenge is RFC 6750's `error="insufficient_scope"` with the `scope` to ask for when
    /// the client authorizes again (those the token has and those it lacks); the body's
    /// `scope` lists the ones needed, `missing_scopes` those the token lacks.
    InsufficientScope = "insufficient_scope", 403, "Insufficient scope";
    /// A valid session refused by a custom `.require(..)` rule: stepping up cannot help.
    PolicyDenied = "policy_denied", 403, "Forbidden";
    /// `AuthLayer` is not installed in front of the route (a programming error).
    AuthLayerMissing = "auth_layer_missing", 500, "Server misconfiguration";
    /// An unsafe method (`POST`, `PUT`, `PATCH`, `DELETE`, ...) from another origin, refused
    /// by `CrossOriginProtectionLayer`; `reason` says why: `sec_fetch_site` (`Sec-Fetch-Site`
    /// is `cross-site` or `same-site`), `origin_mismatch` (no `Sec-Fetch-Site`, and `Origin`
    /// is not the request's host) or `malformed_header` (either header repeated or with a
    /// value no browser sends).
    CrossOriginRequest = "cross_origin_request", 403, "Cross-origin request refused";

    // An MCP request refused by `mcp::ToolGuardLayer` before it could tell which tools it calls:
    // `RejectionKind::ToolCall`.
    /// A `POST` to an MCP endpoint guarded by `ToolGuardLayer` whose body is larger than its
    /// limit (4 MiB by default): refused unread, since a tool call could hide in it.
    ToolCallTooLarge = "tool_call_too_large", 413, "Request body too large";
    /// A `POST` to an MCP endpoint guarded by `ToolGuardLayer` with a `Content-Encoding`
    /// (other than `identity`): the guard reads the body as sent, so it cannot see the tool
    /// calls in a compressed one.
    ContentEncodingUnsupported = "content_encoding_unsupported", 415, "Unsupported content encoding";
    /// A `POST` to an MCP endpoint guarded by `ToolGuardLayer` that could not be read
    /// (`reason`: `body_unreadable`, the connection failed), that is not JSON (`reason`:
    /// `not_json`: a byte order mark, a lone surrogate or invalid UTF-8, which another server's
    /// parser may still read), or a JSON-RPC message naming `method`, `params` or the tool's
    /// `name` twice (`reason`: `duplicate_member`), which parsers may read differently.
    ToolCallUnreadable = "tool_call_unreadable", 400, "Unreadable tool call";

    // The sign-in and callback routes: `SignInError`.
    /// Login, callback, back-channel logout: a query (or form) parameter was given twice, or
    /// there are more than 16.
    DuplicateParameter = "duplicate_parameter", 400, "Sign-in failed";
    /// Login: `max_age` is not a whole number of seconds (at most ten years).
    InvalidMaxAge = "invalid_max_age", 400, "Sign-in failed";
    /// Login: `acr_values` is longer than 512 bytes or not printable ASCII.
    InvalidAcrValues = "invalid_acr_values", 400, "Sign-in failed";
    /// Login, callback: the system's random number generator failed; try again.
    RngFailed = "rng_failed", 503, "Sign-in failed";
    /// Callback: no `state`.
    StateMissing = "state_missing", 400, "Sign-in failed";
    /// Callback: the sign-in attempt's cookie appears twice with different values.
    LoginStateConflict = "login_state_conflict", 400, "Sign-in failed";
    /// Callback: no sign-in attempt cookie for that `state`: the sign-in was not started in
    /// this browser, or was already used.
    LoginStateMissing = "login_state_missing", 400, "Sign-in failed";
    /// Callback: the sign-in attempt expired (10 minutes) or its cookie does not open.
    LoginStateInvalid = "login_state_invalid", 400, "Sign-in failed";
    /// Callback: `state` is not the sign-in attempt's.
    StateMismatch = "state_mismatch", 400, "Sign-in failed";
    /// Callback: this sign-in attempt already reached the callback (a replay).
    StateReplayed = "state_replayed", 400, "Sign-in failed";
    /// Callback: the provider answered the authorization request with an `error` (named in
    /// `detail`).
    ProviderError = "provider_error", 400, "Sign-in failed";
    /// Callback: no authorization `code`.
    CodeMissing = "code_missing", 400, "Sign-in failed";
    /// Callback: the provider's token endpoint refused the code (its error in `detail`).
    CodeRejected = "code_rejected", 400, "Sign-in failed";
    /// Callback: the provider's token endpoint could not be reached; try again.
    ProviderUnavailable = "provider_unavailable", 502, "Sign-in failed";
    /// Callback: the provider's access token does not verify with the layer's settings (its
    /// code in `detail`).
    InvalidAccessToken = "invalid_access_token", 400, "Sign-in failed";
    /// Callback, OpenID: the provider returned no ID token.
    IdTokenMissing = "id_token_missing", 400, "Sign-in failed";
    /// Callback, OpenID: the ID token does not verify (signature, `iss`, `aud`, `exp`, ...;
    /// its code in `detail`).
    InvalidIdToken = "invalid_id_token", 400, "Sign-in failed";
    /// Callback, OpenID: the ID token's `nonce` is not the sign-in attempt's.
    NonceMismatch = "nonce_mismatch", 400, "Sign-in failed";
    /// Callback: the ID token, the provider's user and the access token do not name one
    /// subject.
    SubjectMismatch = "subject_mismatch", 400, "Sign-in failed";
    /// Callback, step-up: `max_age` was asked for and the access token has no `auth_time`.
    AuthTimeMissing = "auth_time_missing", 403, "Sign-in failed";
    /// Callback, step-up: the access token's `auth_time` lies more than 60 s in the future.
    AuthTimeInFuture = "auth_time_in_future", 403, "Sign-in failed";
    /// Callback, step-up: `auth_time` is older than the `max_age` asked for (plus 30 s): the
    /// provider did not make the user sign in again.
    ReauthenticationMissing = "reauthentication_missing", 403, "Sign-in failed";
    /// Callback, step-up: the access token's `acr` is not one of the `acr_values` asked for.
    AcrNotSatisfied = "acr_not_satisfied", 403, "Sign-in failed";

    // Back-channel logout: `SignInError` too.
    /// The body is not `application/x-www-form-urlencoded`.
    NotAForm = "not_a_form", 400, "Back-channel logout refused";
    /// The body exceeds 16 KiB.
    BodyTooLarge = "body_too_large", 400, "Back-channel logout refused";
    /// The form has no `logout_token`.
    LogoutTokenMissing = "logout_token_missing", 400, "Back-channel logout refused";
    /// The `logout_token` does not verify (signature, `iss`, `aud`, `exp`, `typ`, ...);
    /// `reason` is its token code (`bad_signature`, `wrong_issuer`, `token_expired`,
    /// `wrong_token_type`, ...).
    InvalidLogoutToken = "invalid_logout_token", 400, "Back-channel logout refused";
    /// The token's `events` lacks `http://schemas.openid.net/event/backchannel-logout`.
    NotALogoutToken = "not_a_logout_token", 400, "Back-channel logout refused";
    /// The token carries a `nonce`, which a logout token must not.
    NoncePresent = "nonce_present", 400, "Back-channel logout refused";
    /// The token has no `jti`.
    JtiMissing = "jti_missing", 400, "Back-channel logout refused";
    /// The token's `sid` or `sub` is longer than `MAX_ID_BYTES` (255 bytes).
    IdTooLong = "id_too_long", 400, "Back-channel logout refused";
    /// The token names neither a `sid` nor a `sub`.
    NoSubject = "no_subject", 400, "Back-channel logout refused";
    /// This token's `jti` was already used (a replay).
    JtiReplayed = "jti_replayed", 400, "Back-channel logout refused";
    /// The logout could not be recorded now (the store or the revocations cannot answer);
    /// `Retry-After` says when the provider should try again.
    LogoutUnavailable = "logout_unavailable", 503, "Back-channel logout refused";

    // OpenID Shared Signals receiver: `SignInError` too, with RFC 8935's `err` and
    // `description`; a Security Event Token that does not verify is `set_invalid`, its own code
    // as `reason`.
    /// The request is not `application/secevent+jwt` (parameters such as `charset` allowed).
    SetMediaType = "set_media_type", 400, "Security Event Token refused";
    /// The request body exceeds 32 KiB.
    SetTooLarge = "set_too_large", 400, "Security Event Token refused";
    /// The Security Event Token does not verify (`reason` names why), or lacks a `jti`, an `iat`
    /// or exactly one event, or its event names no subject it can apply to.
    SetInvalid = "set_invalid", 400, "Security Event Token refused";
    /// The Security Event Token's `iat` is older than `SharedSignals::max_age` (default 10
    /// minutes).
    SetStale = "set_stale", 400, "Security Event Token refused";
    /// The Security Event Token's `iat` lies more than the leeway in the future.
    SetIssuedInFuture = "set_issued_in_future", 400, "Security Event Token refused";
    /// The event could not be received now (the transmitter's keys, the store or the
    /// revocations cannot answer); `Retry-After` says when the transmitter should try again.
    SetUnavailable = "set_unavailable", 503, "Security Event Token refused";

    // The WorkOS webhook (`SignInError` too; an oversized body is `body_too_large`).
    /// The request has no `WorkOS-Signature` header.
    WebhookSignatureMissing = "webhook_signature_missing", 401, "WorkOS webhook refused";
    /// The `WorkOS-Signature` header is not `t=<milliseconds>, v1=<64 lowercase hex digits>`, or
    /// appears twice.
    WebhookSignatureMalformed = "webhook_signature_malformed", 401, "WorkOS webhook refused";
    /// The signature's timestamp is further from now than the tolerance (3 minutes by default).
    WebhookTimestampStale = "webhook_timestamp_stale", 401, "WorkOS webhook refused";
    /// The signature is not the HMAC-SHA256 of `<timestamp>.<body>` under the webhook secret.
    WebhookSignatureInvalid = "webhook_signature_invalid", 401, "WorkOS webhook refused";
    /// The signed body is not a JSON object.
    WebhookNotJson = "webhook_not_json", 400, "WorkOS webhook refused";
    /// The event lacks its `id` or `event`, or the id it revokes is missing, empty or longer
    /// than `MAX_ID_BYTES`.
    WebhookEventInvalid = "webhook_event_invalid", 400, "WorkOS webhook refused";
    /// The event could not be recorded now (the store or the revocations): WorkOS should
    /// deliver it again.
    WebhookUnavailable = "webhook_unavailable", 503, "WorkOS webhook refused";
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::ProblemCode;

    /// The guide that documents the codes (the `guide::rejections` module).
    const GUIDE: &str = include_str!("../docs/rejections.md");

    /// The guide's entries: (code, the line under its heading).
    fn guide_entries() -> Vec<(&'static str, &'static str)> {
        let mut lines = GUIDE.lines();
        let mut entries = Vec::new();
        while let Some(line) = lines.next() {
            if let Some(code) = line.strip_prefix("#### `").and_then(|r| r.strip_suffix('`')) {
                entries.push((code, lines.next().unwrap_or_default()));
            }
        }
        entries
    }

    /// `token_expired` -> `TokenExpired`.
    fn camel(code: &str) -> String {
        code.split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect()
            })
            .collect::<Vec<String>>()
            .concat()
    }

    #[test]
    fn every_code_is_declared_once_and_named_after_its_code() {
        let mut seen = BTreeSet::new();
        for p in ProblemCode::ALL {
            assert!(seen.insert(p.code()), "{} is declared twice", p.code());
            assert!(p.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", p.code());
            assert_eq!(format!("{p:?}"), camel(p.code()), "the variant is named after its code");
            assert_eq!(p.to_string(), p.code());
            assert!(!p.title().is_empty() && !p.doc().is_empty(), "{}", p.code());
            assert!(p.status().is_client_error() || p.status().is_server_error(), "{}", p.code());
        }
    }

    /// Every code the crate can emit has its entry (and so its anchor, `#<code>` on GitHub and
    /// docs.rs alike) in the guide, once, saying the declared status, title and text; the guide
    /// documents no other code.
    #[test]
    fn the_guide_documents_every_code_as_declared_and_nothing_else() {
        let entries = guide_entries();
        let mut found = Vec::new();
        for p in ProblemCode::ALL {
            let expected = format!("{}, *{}*. {}", p.status().as_u16(), p.title(), p.doc());
            match entries.iter().filter(|(code, _)| *code == p.code()).collect::<Vec<_>>()[..] {
                [] => found.push(format!("no entry `#### `{}``", p.code())),
                [(_, line)] if *line == expected => {}
                [(code, line)] => {
                    found.push(format!("`{code}`:\n  has {line}\n  wants {expected}"))
                }
                _ => found.push(format!("`{}` has several entries", p.code())),
            }
        }
        for (code, _) in &entries {
            if !ProblemCode::ALL.iter().any(|p| p.code() == *code) {
                found.push(format!("`{code}` is documented, and nothing emits it"));
            }
        }
        assert!(found.is_empty(), "docs/rejections.md:\n{}", found.join("\n"));
    }

    /// The default `type` of every problem is a well-formed tag URI (RFC 4151): `tag:`, an
    /// authority name (a DNS name or an e-mail address) and a date, `:`, then the specific part.
    #[test]
    fn default_types_are_tag_uris() {
        fn dns_name(name: &str) -> bool {
            name.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                    && b[0] != b'-'
                    && b[b.len() - 1] != b'-'
            })
        }
        fn date(date: &str) -> bool {
            let parts: Vec<&str> = date.split('-').collect();
            let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
            (1..=3).contains(&parts.len())
                && digits(parts[0], 4)
                && parts[1..].iter().all(|p| digits(p, 2))
        }
        for p in ProblemCode::ALL {
            let uri = format!("{}{}", crate::DEFAULT_PROBLEM_TYPE_BASE, p.code());
            let rest = uri.strip_prefix("tag:").expect("a tag URI");
            let (entity, specific) = rest.split_once(':').expect("tag:<entity>:<specific>");
            let (authority, when) = entity.rsplit_once(',').expect("<authority>,<date>");
            let authority_ok = match authority.split_once('@') {
                Some((local, domain)) => !local.is_empty() && dns_name(domain),
                None => dns_name(authority),
            };
            assert!(authority_ok && date(when), "{uri}: tagging entity {entity}");
            let pchar = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%".contains(c);
            assert!(!specific.is_empty() && specific.chars().all(pchar), "{uri}");
        }
    }
}
