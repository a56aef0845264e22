//! `POST /auth/ssf` (feature `revocation`): an OpenID Shared Signals receiver (SSF 1.0) with
//! push delivery (RFC 8935). The transmitter (Okta, Keycloak, ...) posts one Security Event
//! Token (RFC 8417) per request; once it passes every check, a CAEP `session-revoked` or
//! `credential-change` event revokes the session or the user it names, on every instance.
//!
//! The order is fixed and fail-closed: media type, size, the token (header hygiene, `typ`
//! `secevent+jwt`, a key of the transmitter's key set, signature, `iss`, `aud`, `exp` when
//! present), the `iat` window, `jti` and the one event; then the event's subject, the `jti`
//! spent in the store (a retransmission is acknowledged, never applied twice) and the
//! revocation. Refusals are 400 with RFC 8935's `err` (503 when the event cannot be recorded
//! now); every SET received is one `idp_event` audit event.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Inner;
use super::routes::refuse;
use crate::jwks::{DiscoveryError, JwksError, JwksKeys, JwksOptions};
use crate::keys::KeyStore;
use crate::keys::discovery::jwks_uri_for;
use crate::keys::http as fetch;
use crate::problem::Problem;
use crate::reject::{SetErr, SignInError};
use crate::verify::{TokenType, Verifier};
use crate::{AuthError, ClaimNames, Revocations, RevokeError, audit};

/// CAEP 1.0: a session was revoked at the transmitter.
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP 1.0: a user's credential was created, changed, revoked or deleted.
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// SSF 1.0 push delivery (RFC 8935), as `delivery_methods_supported` names it.
const PUSH_DELIVERY: &str = "urn:ietf:rfc:8935";
/// The media type of a pushed SET (RFC 8935 section 2).
const MEDIA_TYPE: &str = "application/secevent+jwt";
/// Largest request body read.
const MAX_BODY: usize = 32 * 1024;
/// Longest `jti` accepted.
const MAX_JTI: usize = 256;
/// Most characters of an event type kept in an audit event.
const MAX_KIND: usize = 64;

/// How old a Security Event Token may be (its `iat`) when it arrives, unless
/// [`SharedSignals::max_age`] says otherwise: ten minutes, room for a transmitter's retries
/// after a short outage. A `jti` is remembered this long (plus the leeway), on every instance.
pub const DEFAULT_SET_MAX_AGE: Duration = Duration::from_secs(600);

/// Why [`SharedSignals`] could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SharedSignalsError {
    /// The transmitter's configuration (`/.well-known/ssf-configuration`) could not be fetched
    /// or names another issuer, or its `jwks_uri` is not an allowed URL.
    Discovery(DiscoveryError),
    /// The configuration's `delivery_methods_supported` lacks push delivery
    /// (`urn:ietf:rfc:8935`), which this receiver needs; it lists these instead.
    NoPushDelivery(Vec<String>),
    /// The audience is empty: any SET the transmitter signs, for any receiver, would pass.
    NoAudience,
}

impl fmt::Display for SharedSignalsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Discovery(e) => write!(f, "shared signals: {e}"),
            Self::NoPushDelivery(methods) => write!(
                f,
                "the transmitter does not offer push delivery ({PUSH_DELIVERY}), only {methods:?}"
            ),
            Self::NoAudience => f.write_str("shared signals: the audience must not be empty"),
        }
    }
}

impl std::error::Error for SharedSignalsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Discovery(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DiscoveryError> for SharedSignalsError {
    fn from(e: DiscoveryError) -> Self {
        Self::Discovery(e)
    }
}

/// An OpenID Shared Signals transmitter (Okta, Keycloak, ...) whose Security Event Tokens these
/// sessions receive at `POST /auth/ssf`: give it to
/// [`SessionsBuilder::shared_signals`](super::SessionsBuilder::shared_signals). See the
/// [Shared Signals guide](crate::guide::shared_signals).
///
/// ```no_run
/// use axum_session_mfa::lifecycle::SharedSignals;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // The transmitter's issuer, and the `aud` its SETs carry for this receiver.
/// let signals = SharedSignals::discover("https://acme.okta.com", "client_01H...").await?;
/// # let _ = signals; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SharedSignals {
    issuer: String,
    keys: JwksKeys,
    audience: String,
    max_age: Duration,
    subject_issuers: Vec<String>,
}

/// The transmitter configuration members read (SSF 1.0, transmitter configuration metadata).
#[derive(Deserialize)]
struct Configuration {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    delivery_methods_supported: Option<Vec<String>>,
}

/// Where the configuration is: `/.well-known/ssf-configuration` inserted between the host and
/// the issuer's path (as SSF 1.0 and RFC 8414 place it), then appended to the issuer's path (what some
/// transmitters serve).
fn well_known(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut inserted = issuer.clone();
    inserted.set_path(&format!("/.well-known/ssf-configuration{path}"));
    inserted.set_query(None);
    inserted.set_fragment(None);
    let mut appended = inserted.clone();
    appended.set_path(&format!("{path}/.well-known/ssf-configuration"));
    if appended == inserted { vec![inserted] } else { vec![inserted, appended] }
}

impl SharedSignals {
    /// The transmitter at `issuer`, by its configuration (`/.well-known/ssf-configuration`, SSF
    /// 1.0): its `issuer` must equal `issuer` exactly, its `jwks_uri` (https, or
    /// loopback http for a loopback issuer; never a step down from https) becomes the key set,
    /// cached as any [`JwksKeys`], and it must offer push delivery. `audience` is the `aud` the
    /// transmitter puts in this receiver's SETs (the stream's audience; often the client id).
    ///
    /// # Errors
    ///
    /// [`SharedSignalsError`]: the configuration could not be fetched or does not match, or the
    /// audience is empty.
    pub async fn discover(
        issuer: &str,
        audience: impl Into<String>,
    ) -> Result<Self, SharedSignalsError> {
        Self::discover_with(issuer, audience, JwksOptions::default()).await
    }

    /// [`SharedSignals::discover`] with tuned [`JwksOptions`] (used for the configuration
    /// fetch too).
    ///
    /// # Errors
    ///
    /// As [`discover`](Self::discover).
    pub async fn discover_with(
        issuer: &str,
        audience: impl Into<String>,
        options: JwksOptions,
    ) -> Result<Self, SharedSignalsError> {
        let audience = audience.into();
        if audience.is_empty() {
            return Err(SharedSignalsError::NoAudience);
        }
        let issuer_url = fetch::parse_url(issuer).map_err(DiscoveryError::Url)?;
        let client = fetch::client(options.limits())
            .map_err(|e| DiscoveryError::Jwks(JwksError::Client(e)))?;
        let mut failures = Vec::new();
        for url in well_known(&issuer_url) {
            let fetched =
                match fetch::get_json(&client, &url, options.limits().max_body_bytes).await {
                    Ok(f) => f,
                    Err(e) => {
                        failures.push(format!("{url}: {e}"));
                        continue;
                    }
                };
            let Ok(config) = serde_json::from_slice::<Configuration>(&fetched.body) else {
                failures.push(format!("{url}: not a JSON object with `issuer` and `jwks_uri`"));
                continue;
            };
            if config.issuer != issuer {
                let found = config.issuer;
                return Err(
                    DiscoveryError::IssuerMismatch { expected: issuer.to_owned(), found }.into()
                );
            }
            if let Some(methods) = config.delivery_methods_supported
                && !methods.iter().any(|m| m == PUSH_DELIVERY)
            {
                return Err(SharedSignalsError::NoPushDelivery(methods));
            }
            let jwks_uri = jwks_uri_for(&issuer_url, &config.jwks_uri)?;
            let keys = JwksKeys::from_url(jwks_uri, options).map_err(DiscoveryError::Jwks)?;
            return Ok(Self::new(keys, config.issuer, audience));
        }
        Err(DiscoveryError::Fetch(failures.join("; ")).into())
    }

    /// A transmitter from its key set and issuer, without discovery. `audience` is the `aud`
    /// of this receiver's SETs; an empty one matches nothing.
    ///
    /// ```no_run
    /// use axum_session_mfa::jwks::JwksKeys;
    /// use axum_session_mfa::lifecycle::SharedSignals;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = JwksKeys::new("https://transmitter.example/jwks.json")?;
    /// let signals = SharedSignals::new(keys, "https://transmitter.example", "my-app");
    /// # let _ = signals; Ok(()) }
    /// ```
    pub fn new(keys: JwksKeys, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            keys,
            audience: audience.into(),
            max_age: DEFAULT_SET_MAX_AGE,
            subject_issuers: Vec::new(),
        }
    }

    /// How old a SET may be when it arrives, by its `iat` (default [`DEFAULT_SET_MAX_AGE`]):
    /// an older one is refused (400 `set_stale`), so a transmitter that retries for longer
    /// loses those events. Each `jti` is remembered this long.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Another issuer whose `iss_sub` subjects name users of these sessions. Accepted without
    /// it: the transmitter's issuer and the issuers the sessions' layer accepts.
    pub fn subject_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.subject_issuers.push(issuer.into());
        self
    }

    /// The transmitter's issuer: the only `iss` accepted.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` required.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The transmitter's key set.
    pub fn keys(&self) -> &JwksKeys {
        &self.keys
    }
}

/// The receiver the sessions run: the SET verifier, and whose users an `iss_sub` may name.
pub(crate) struct Receiver {
    verifier: Verifier,
    /// Accepted `iss` of `iss_sub` subjects.
    subject_issuers: Vec<String>,
    max_age: u64,
}

impl Receiver {
    /// The verifier of the transmitter's SETs: its keys and issuer, the audience, `typ`
    /// `secevent+jwt`, no `sub` or `exp` required (RFC 8417), the access tokens' leeway and
    /// clock.
    pub(crate) fn new(signals: SharedSignals, access: &Verifier) -> Self {
        let mut subject_issuers = vec![signals.issuer.clone()];
        subject_issuers.extend(access.issuers.iter().cloned());
        subject_issuers.extend(signals.subject_issuers);
        let verifier = Verifier {
            keys: KeyStore::Remote(signals.keys),
            issuers: vec![signals.issuer],
            audiences: vec![signals.audience],
            typ: TokenType::OneOf(vec!["secevent+jwt".into()]),
            names: Arc::new(ClaimNames::default()),
            require_sub: false,
            require_exp: false,
            ..access.clone()
        };
        Self { verifier, subject_issuers, max_age: signals.max_age.as_secs() }
    }
}

/// What an event revokes.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Session(String),
    User(String),
}

impl Target {
    fn id(&self) -> &str {
        match self {
            Self::Session(id) | Self::User(id) => id,
        }
    }
}

/// A SET that passed every check, and what its event asks.
struct Received {
    iss: String,
    jti: String,
    /// The event type's last path segment, for the audit event.
    kind: String,
    action: Action,
}

enum Action {
    Revoke(Target),
    /// Acknowledged, nothing done: a verification or other event, or a subject that is not
    /// one of ours.
    Ignore,
}

/// A refusal: 400 with RFC 8935's `err` (`invalid_request` here).
fn refused(problem: Problem, detail: &str) -> SignInError {
    SignInError::shared_signals(problem, Some(SetErr::InvalidRequest), detail)
}

/// The event could not be received now: 503, the transmitter tries again.
fn unavailable(detail: &str, retry_after: u64) -> SignInError {
    SignInError::shared_signals(Problem::SetUnavailable, None, detail).retry_after(retry_after)
}

/// The route.
pub(super) async fn receive(
    State(inner): State<Arc<Inner>>,
    parts: Parts,
    body: axum::body::Body,
) -> Response {
    let (Some(revocations), Some(receiver)) = (&inner.revocations, &inner.shared_signals) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let received = match read(receiver, &parts, body).await {
        Ok(received) => received,
        Err(e) => {
            audit::idp_event("ssf", "unknown", None, e.reason().unwrap_or(e.code()));
            return refuse(&parts, e);
        }
    };
    let subject = match &received.action {
        Action::Revoke(target) => Some(target.id()),
        Action::Ignore => None,
    };
    match record(&inner, receiver, revocations, &received).await {
        Ok(outcome) => {
            audit::idp_event("ssf", &received.kind, subject, outcome);
            let mut r = StatusCode::ACCEPTED.into_response();
            r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            audit::idp_event("ssf", &received.kind, subject, e.reason().unwrap_or(e.code()));
            refuse(&parts, e)
        }
    }
}

/// The request, the SET and every check of it.
async fn read(
    receiver: &Receiver,
    parts: &Parts,
    body: axum::body::Body,
) -> Result<Received, SignInError> {
    let media = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        // The media type exactly (parameters allowed), not a prefix of it.
        let essence = v.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case(MEDIA_TYPE)
    });
    if !media {
        return Err(refused(Problem::SetMediaType, "expected application/secevent+jwt"));
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(refused(Problem::SetTooLarge, "the request body is too large"));
    };
    let token = std::str::from_utf8(&bytes).unwrap_or_default().trim_ascii();
    let verifier = &receiver.verifier;
    let claims = verifier.verify(token).await.map_err(|e| match e {
        AuthError::KeysUnavailable { .. } => {
            unavailable("the transmitter's keys are unavailable", 5)
        }
        e => SignInError::security_event_token(&e),
    })?;
    let c = claims.claims();
    // RFC 8417 section 2.2: `iat` is required; its type was checked with the signature.
    let Some(iat) = claims.iat() else {
        return Err(refused(Problem::SetInvalid, "the Security Event Token has no iat"));
    };
    let now = verifier.now();
    if iat > now.saturating_add(verifier.leeway) {
        return Err(refused(Problem::SetIssuedInFuture, "the Security Event Token's iat is ahead"));
    }
    if now.saturating_sub(iat) > receiver.max_age {
        return Err(refused(Problem::SetStale, "the Security Event Token is too old"));
    }
    let jti = c.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty() && j.len() <= MAX_JTI);
    let Some(jti) = jti else {
        return Err(refused(Problem::SetInvalid, "the Security Event Token has no jti"));
    };
    // SSF 1.0's SET profile: exactly one event per SET.
    let events = c.get("events").and_then(Value::as_object);
    let Some((event_type, event)) = events.filter(|e| e.len() == 1).and_then(|e| e.iter().next())
    else {
        return Err(refused(Problem::SetInvalid, "the Security Event Token needs one event"));
    };
    let Some(event) = event.as_object() else {
        return Err(refused(Problem::SetInvalid, "the event is not a JSON object"));
    };
    // SSF 1.0 puts the subject in the top-level `sub_id`; earlier CAEP drafts in the event.
    let subject = c.get("sub_id").or_else(|| event.get("subject"));
    let action = match event_type.as_str() {
        SESSION_REVOKED => target(receiver, subject, Prefer::Session)?,
        CREDENTIAL_CHANGE => target(receiver, subject, Prefer::User)?,
        // The stream's verification event (SSF 1.0), stream updates and every other event type:
        // acknowledged, nothing revoked.
        _ => Action::Ignore,
    };
    let kind = event_type.rsplit('/').next().unwrap_or_default();
    let kind = kind.char_indices().nth(MAX_KIND).map_or(kind, |(end, _)| &kind[..end]).to_owned();
    let iss = c.get("iss").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Received { iss, jti: jti.to_owned(), kind, action })
}

/// What a subject is read as when the event does not say: `session-revoked` is about a session,
/// `credential-change` about a user.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefer {
    Session,
    User,
}

/// The session or user an event's subject names (RFC 9493 subject identifiers):
/// * `opaque`: its `id`, a session for `session-revoked`, a user for `credential-change`;
/// * `iss_sub`: the user `sub`, when `iss` is the transmitter or an issuer of these sessions
///   (else ignored);
/// * `complex`: its `session` member (a session) for `session-revoked` when present, else its
///   `user` member (a user); for `credential-change` the `user` first;
/// * other formats (`email`, `phone_number`, ...): ignored, nothing here is keyed by them.
fn target(
    receiver: &Receiver,
    subject: Option<&Value>,
    prefer: Prefer,
) -> Result<Action, SignInError> {
    let Some(subject) = subject.and_then(Value::as_object) else {
        return Err(refused(Problem::SetInvalid, "the event names no subject (sub_id)"));
    };
    let simple = |s: &Map<String, Value>, as_: Prefer| -> Result<Option<Target>, SignInError> {
        let text = |name: &str| s.get(name).and_then(Value::as_str);
        let found = match text("format") {
            Some("opaque") => text("id").map(|id| match as_ {
                Prefer::Session => Target::Session(id.to_owned()),
                Prefer::User => Target::User(id.to_owned()),
            }),
            Some("iss_sub") => match (text("iss"), text("sub")) {
                (Some(iss), Some(sub)) if receiver.subject_issuers.iter().any(|i| i == iss) => {
                    Some(Target::User(sub.to_owned()))
                }
                (Some(iss), Some(_)) => {
                    tracing::warn!(iss, "shared signals: an iss_sub subject of another issuer");
                    None
                }
                _ => {
                    return Err(refused(
                        Problem::SetInvalid,
                        "an iss_sub subject lacks iss or sub",
                    ));
                }
            },
            _ => None,
        };
        match found {
            Some(t) if t.id().is_empty() || t.id().len() > crate::MAX_ID_BYTES => Err(refused(
                Problem::SetInvalid,
                "the subject's id is empty or longer than 255 bytes",
            )),
            found => Ok(found),
        }
    };
    let member = |name: &str| subject.get(name).and_then(Value::as_object);
    let found = match subject.get("format").and_then(Value::as_str) {
        Some("complex") => {
            let session = member("session").map(|s| simple(s, Prefer::Session)).transpose()?;
            let user = member("user").map(|s| simple(s, Prefer::User)).transpose()?;
            let (session, user) = (session.flatten(), user.flatten());
            match prefer {
                Prefer::Session => session.or(user),
                Prefer::User => user.or(session),
            }
        }
        Some(_) => simple(subject, prefer)?,
        None => return Err(refused(Problem::SetInvalid, "the subject has no format")),
    };
    Ok(found.map_or(Action::Ignore, Action::Revoke))
}

/// Spends the `jti` (on every instance with a shared store), then revokes what the event names.
/// The outcome for the audit event: `revoked`, `duplicate` or `ignored`.
async fn record(
    inner: &Inner,
    receiver: &Receiver,
    revocations: &Revocations,
    received: &Received,
) -> Result<&'static str, SignInError> {
    let Action::Revoke(target) = &received.action else {
        return Ok("ignored");
    };
    // Remember the jti as long as the SET is accepted (max_age plus leeway) and a minute more.
    let ttl = receiver.max_age.saturating_add(receiver.verifier.leeway).saturating_add(60);
    let id = format!("{}\n{}", received.iss, received.jti);
    let key = format!("ssf-jti:{}", super::flow::hex_sha256(&id));
    match inner.store.put_new(&key, "1", Duration::from_secs(ttl)).await {
        Ok(true) => {}
        // A retransmission (RFC 8935 transmitters retry when an answer is lost): acknowledged,
        // not applied again, so a replayed user revocation cannot end later sessions.
        Ok(false) => return Ok("duplicate"),
        // Revoking a session twice is harmless, so it is applied anyway; a user revocation
        // replayed later could end newer sessions: try again.
        Err(_) if matches!(target, Target::Session(_)) => {}
        Err(_) => return Err(unavailable("the event's jti cannot be recorded now", 5)),
    }
    let entry = match target {
        Target::Session(sid) => revocations.session_entry(sid),
        Target::User(sub) => revocations.user_entry(sub),
    };
    match revocations.provider_revoked(entry).await {
        Ok(()) => Ok("revoked"),
        // This instance refuses the session already; the others will once it is shared.
        Err(e @ RevokeError::NotShared(_)) => {
            tracing::warn!(error = %e, "shared signals: the revocation was not shared yet");
            Ok("revoked")
        }
        // Not recorded: forget the jti so the transmitter's retry is applied.
        Err(e) => {
            tracing::error!(error = %e, "shared signals: the revocation was refused");
            let _ = inner.store.delete(&key).await;
            Err(unavailable("the revocation cannot be recorded now", 60))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_looked_up_where_ssf_puts_it_then_appended() {
        let at = |issuer: &str| -> Vec<String> {
            well_known(&Url::parse(issuer).unwrap()).iter().map(Url::to_string).collect()
        };
        assert_eq!(
            at("https://acme.okta.com"),
            ["https://acme.okta.com/.well-known/ssf-configuration"]
        );
        assert_eq!(
            at("https://idp.example/realms/x/"),
            [
                "https://idp.example/.well-known/ssf-configuration/realms/x",
                "https://idp.example/realms/x/.well-known/ssf-configuration"
            ]
        );
    }
}
