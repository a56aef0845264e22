//! WorkOS events (feature `revocation`): WorkOS has no back-channel logout; it publishes
//! `session.revoked`, `user.deleted` and `organization_membership.deleted` as webhooks and
//! through its Events API. Both paths end here, in the sessions'
//! [`Revocations`](crate::Revocations), so every instance refuses what WorkOS ended.
//!
//! * The webhook route (`POST /auth/workos/webhook`): the `WorkOS-Signature` header checked as
//!   `@workos-inc/node`'s `webhooks.constructEvent` checks it, the event id spent in the shared
//!   store (a delivery repeated on any instance is acknowledged, not applied again), the
//!   session or user revoked.
//! * The poller ([`PollEvents`]): `GET /events` every few seconds, by one instance at a time (a
//!   lease in the store), from a cursor kept in the store.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use std::{fmt, str};

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use http::header::CACHE_CONTROL;
use http::{HeaderValue, StatusCode};
use serde_json::Value;

use super::provider::{EventsFrom, GrantError, Secret};
use super::routes::refuse;
use super::{ConfigError, Inner, Sessions, SessionsBuilder, check_path};
use crate::authkit::crypto::verify_hmac_sha256_keyed;
use crate::problem::Problem;
use crate::reject::SignInError;
use crate::store::{MAX_TTL, Store};
use crate::{Revocations, RevokeError, audit};

/// The webhook route's path unless [`SessionsBuilder::workos_webhook_path`] says otherwise.
pub const DEFAULT_WORKOS_WEBHOOK_PATH: &str = "/auth/workos/webhook";

/// How far a signature's timestamp may be from now unless
/// [`SessionsBuilder::workos_webhook_tolerance`] says otherwise: 3 minutes, as
/// `@workos-inc/node`.
pub const DEFAULT_WORKOS_WEBHOOK_TOLERANCE: Duration = Duration::from_secs(180);

/// The event types that revoke; the poller asks for these only.
pub(crate) const EVENT_TYPES: [&str; 3] =
    ["session.revoked", "user.deleted", "organization_membership.deleted"];

/// The header WorkOS signs deliveries with.
const SIGNATURE_HEADER: &str = "workos-signature";
/// Largest webhook body read.
const MAX_BODY: usize = 256 * 1024;
/// Longest event id accepted.
const MAX_EVENT_ID: usize = 256;
/// How long an event id is remembered: longer than WorkOS retries a delivery (about 3 days).
const SEEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Events asked for per page (the API's maximum).
const PAGE: u8 = 100;
/// Pages read per poll at most (a backlog is read over the next polls).
const PAGES_PER_POLL: usize = 10;
/// The store keys of the poller's lease and cursor (under the store's prefix).
const LEASE_KEY: &str = "workos-events:lease";
const CURSOR_KEY: &str = "workos-events:cursor";
/// How long the poller waits after WorkOS refused its request (a wrong API key, say).
const REFUSED_BACKOFF: Duration = Duration::from_secs(60);
/// How long the poller waits after the store failed.
const STORE_BACKOFF: Duration = Duration::from_secs(5);
/// The shortest interval between polls.
const MIN_EVERY: Duration = Duration::from_millis(10);

/// Audit `source` of a webhook delivery and of a polled event.
const WEBHOOK: &str = "workos_webhook";
const POLLED: &str = "workos_events";

/// What the builder was told about the webhook.
pub(super) struct Settings {
    secret: Option<Secret>,
    path: String,
    tolerance: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secret: None,
            path: DEFAULT_WORKOS_WEBHOOK_PATH.to_owned(),
            tolerance: DEFAULT_WORKOS_WEBHOOK_TOLERANCE,
        }
    }
}

impl Settings {
    /// The webhook, checked against the provider and the revocations; `None` when none was
    /// asked for.
    pub(super) fn build(
        self,
        workos: bool,
        revocations: bool,
    ) -> Result<Option<Webhook>, ConfigError> {
        let Some(secret) = self.secret else { return Ok(None) };
        if !workos {
            return Err(ConfigError::NotWorkOs("workos_webhook"));
        }
        if !revocations {
            return Err(ConfigError::NoRevocations("workos_webhook"));
        }
        if secret.expose().is_empty() {
            return Err(ConfigError::WebhookSecret);
        }
        check_path(&self.path)?;
        Ok(Some(Webhook { secret, path: self.path, tolerance: self.tolerance }))
    }
}

/// The webhook route's settings.
pub(crate) struct Webhook {
    secret: Secret,
    pub(crate) path: String,
    tolerance: Duration,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("secret", &self.secret)
            .field("path", &self.path)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl SessionsBuilder {
    /// Mounts the WorkOS webhook route (feature `revocation`), `POST /auth/workos/webhook`
    /// unless [`workos_webhook_path`](Self::workos_webhook_path) moves it, for the endpoint
    /// whose signing `secret` the WorkOS dashboard shows. Each delivery's `WorkOS-Signature`
    /// is checked (HMAC-SHA256 of `<t>.<body>`, its timestamp within
    /// [`workos_webhook_tolerance`](Self::workos_webhook_tolerance)); `session.revoked`
    /// revokes the session (`data.id`, the `sid` of WorkOS access tokens), `user.deleted` the
    /// user, `organization_membership.deleted` every session of the member (`data.user_id`)
    /// authenticated until then; other events are acknowledged and ignored. An event id is
    /// applied once across instances sharing the store. Refusals: 401 for a missing, malformed
    /// or wrong signature or a timestamp out of tolerance, 400 for a body that is not a JSON
    /// event or is over 256 KiB, 503 when the event cannot be recorded now (codes under
    /// WorkOS webhook in the [rejections guide](crate::guide::rejections)). See the
    /// [guide](crate::guide::idp_events).
    ///
    /// [`build`](Self::build) fails with [`ConfigError::NotWorkOs`] for another provider, with
    /// [`ConfigError::NoRevocations`] without [`revocations`](Self::revocations), and with
    /// [`ConfigError::WebhookSecret`] for an empty secret. The secret never shows in `Debug`.
    ///
    /// ```
    /// # use axum_session_mfa::authkit::IronPasswords;
    /// # use axum_session_mfa::lifecycle::{IdentityProvider, Sessions};
    /// # use axum_session_mfa::{Revocations, store::MemoryStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// # let idp = IdentityProvider::workos("client_01H", "sk_test_123")?;
    /// # let passwords = IronPasswords::new("1", "a-cookie-password-of-32-characters!")?;
    /// let revocations = Revocations::builder(MemoryStore::new()).start().await;
    /// let sessions = Sessions::builder(idp, passwords, "https://app.example.com/auth/callback")
    ///     .revocations(revocations)
    ///     .workos_webhook("the endpoint's secret from the WorkOS dashboard")
    ///     .build()?;
    /// assert_eq!(sessions.workos_webhook_path(), Some("/auth/workos/webhook"));
    /// # Ok(()) }
    /// ```
    pub fn workos_webhook(mut self, secret: impl Into<String>) -> Self {
        self.workos.secret = Some(Secret::new(secret));
        self
    }

    /// The WorkOS webhook route's path (default `/auth/workos/webhook`).
    pub fn workos_webhook_path(mut self, path: impl Into<String>) -> Self {
        self.workos.path = path.into();
        self
    }

    /// How far a webhook signature's timestamp may be from now, before or after (default 3
    /// minutes, as `@workos-inc/node`): an older delivery is refused as a possible replay.
    pub fn workos_webhook_tolerance(mut self, tolerance: Duration) -> Self {
        self.workos.tolerance = tolerance;
        self
    }
}

impl Sessions {
    /// The WorkOS webhook route's path, when [`SessionsBuilder::workos_webhook`] mounted it
    /// (feature `revocation`). WorkOS's servers post to it, so a
    /// [`CrossOriginProtectionLayer`](crate::CrossOriginProtectionLayer) around the routes
    /// should let it through with
    /// [`insecure_bypass_path`](crate::CrossOriginProtectionLayer::insecure_bypass_path).
    pub fn workos_webhook_path(&self) -> Option<&str> {
        self.inner.workos_webhook.as_ref().map(|w| w.path.as_str())
    }

    /// The WorkOS Events API poller (feature `revocation`), for deployments that cannot
    /// receive webhooks: a future to spawn, which every `every` (at least 10 ms; a few seconds
    /// suits WorkOS) asks `GET /events` for `session.revoked`, `user.deleted` and
    /// `organization_membership.deleted` after its cursor, and applies them as the webhook
    /// does. Run it on every instance: one at a time polls (a lease in the sessions'
    /// [store](SessionsBuilder::store), renewed each poll; another takes over within
    /// `3 × every + 10 s` of the holder stopping), and the cursor lives in the store, so a
    /// restart neither misses nor replays events. The first poll ever (no cursor in the store)
    /// starts from now: earlier events are not replayed. A 429 or 5xx waits for its
    /// `Retry-After` (5 s without one); a refusal (a wrong API key) is logged and tried again
    /// a minute later. It ends when every clone of the sessions is dropped; abort its task to
    /// stop it sooner.
    ///
    /// ```no_run
    /// # async fn run(sessions: axum_session_mfa::lifecycle::Sessions) -> Result<(), Box<dyn std::error::Error>> {
    /// let poller = tokio::spawn(sessions.workos_events(std::time::Duration::from_secs(5))?);
    /// // At shutdown:
    /// poller.abort();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotWorkOs`] for another provider, [`ConfigError::NoRevocations`]
    /// without [`revocations`](SessionsBuilder::revocations).
    pub fn workos_events(&self, every: Duration) -> Result<PollEvents, ConfigError> {
        if !self.inner.idp.is_workos() {
            return Err(ConfigError::NotWorkOs("workos_events"));
        }
        if self.inner.revocations.is_none() {
            return Err(ConfigError::NoRevocations("workos_events"));
        }
        let weak = Arc::downgrade(&self.inner);
        Ok(PollEvents { run: Box::pin(run(weak, every.max(MIN_EVERY))) })
    }
}

/// The future [`Sessions::workos_events`] returns: spawn it. Ends when every clone of the
/// sessions is dropped.
#[must_use = "nothing is polled unless this runs: spawn it"]
pub struct PollEvents {
    run: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl fmt::Debug for PollEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollEvents").finish_non_exhaustive()
    }
}

impl Future for PollEvents {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.run.as_mut().poll(cx)
    }
}

// ---- the webhook --------------------------------------------------------------------------

/// A refusal through the layer's `Rejection`.
fn refused(problem: Problem, detail: &str) -> SignInError {
    SignInError::new(problem, detail)
}

/// The route.
pub(super) async fn webhook(
    State(inner): State<Arc<Inner>>,
    parts: Parts,
    body: axum::body::Body,
) -> Response {
    let (Some(hook), Some(revocations)) = (&inner.workos_webhook, &inner.revocations) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let event = match verified(hook, inner.clock.now_millis(), &parts, body).await {
        Ok(event) => event,
        Err(e) => {
            audit::idp_event(WEBHOOK, "unknown", None, e.code());
            return refuse(&parts, e);
        }
    };
    match apply(&inner, revocations, WEBHOOK, &event).await {
        Ok(_) => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => refuse(&parts, e),
    }
}

/// The delivery's event, once its signature holds: the header, the timestamp, the body (at
/// most [`MAX_BODY`]), the HMAC; then the body as a JSON object.
async fn verified(
    hook: &Webhook,
    now_ms: u64,
    parts: &Parts,
    body: axum::body::Body,
) -> Result<Value, SignInError> {
    let mut headers = parts.headers.get_all(SIGNATURE_HEADER).iter();
    let header = match (headers.next(), headers.next()) {
        (None, _) => {
            return Err(refused(Problem::WebhookSignatureMissing, "no WorkOS-Signature header"));
        }
        (Some(_), Some(_)) => {
            let detail = "the WorkOS-Signature header appears twice";
            return Err(refused(Problem::WebhookSignatureMalformed, detail));
        }
        (Some(value), None) => value.as_bytes(),
    };
    let Some(signature) = Signature::parse(header) else {
        let detail = "the WorkOS-Signature header is not t=<ms>, v1=<hex>";
        return Err(refused(Problem::WebhookSignatureMalformed, detail));
    };
    if signature.millis.abs_diff(now_ms)
        > u64::try_from(hook.tolerance.as_millis()).unwrap_or(u64::MAX)
    {
        let detail = "the signature's timestamp is outside the tolerance";
        return Err(refused(Problem::WebhookTimestampStale, detail));
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(refused(Problem::BodyTooLarge, "the request body is over 256 KiB"));
    };
    if !signature.verify(hook.secret.expose().as_bytes(), &bytes) {
        let detail = "the signature does not match the body and the webhook secret";
        return Err(refused(Problem::WebhookSignatureInvalid, detail));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(event @ Value::Object(_)) => Ok(event),
        _ => Err(refused(Problem::WebhookNotJson, "the body is not a JSON object")),
    }
}

/// A `WorkOS-Signature` header: `t=<unix milliseconds>, v1=<HMAC-SHA256, 64 lowercase hex
/// digits>`, as WorkOS sends it and `@workos-inc/node` reads it (the comma, then optional
/// spaces). Nothing else is accepted: no other scheme, no uppercase hex (which
/// `@workos-inc/node` would refuse too).
struct Signature<'a> {
    /// The timestamp as sent: it is signed as text.
    t: &'a str,
    millis: u64,
    mac: [u8; 32],
}

impl<'a> Signature<'a> {
    fn parse(header: &'a [u8]) -> Option<Self> {
        let header = str::from_utf8(header).ok()?;
        let (t, v1) = header.split_once(',')?;
        let t = t.strip_prefix("t=")?;
        if t.is_empty() || t.len() > 16 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hex = v1.trim_start_matches(' ').strip_prefix("v1=")?;
        if hex.len() != 64 {
            return None;
        }
        let mut mac = [0u8; 32];
        for (byte, pair) in mac.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            *byte = (lower_hex(pair[0])? << 4) | lower_hex(pair[1])?;
        }
        Some(Self { t, millis: t.parse().ok()?, mac })
    }

    /// `true` when the MAC is the HMAC-SHA256 of `<t>.<body>` under `secret` (compared in
    /// constant time by the crypto backend).
    fn verify(&self, secret: &[u8], body: &[u8]) -> bool {
        verify_hmac_sha256_keyed(secret, &[self.t.as_bytes(), b".", body], &self.mac).is_ok()
    }
}

fn lower_hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

// ---- applying an event --------------------------------------------------------------------

/// What an event revokes.
enum Target<'a> {
    Session(&'a str),
    User(&'a str),
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    Revoked,
    Ignored,
    Duplicate,
}

/// The event type for the audit event: printable ASCII, at most 64 bytes, else `unknown`.
fn kind_of(event: &Value) -> &str {
    event
        .get("event")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("unknown")
}

/// Applies one event (from a delivery or a page of the Events API), once across the instances
/// that share the store, with one audit event whatever happens.
async fn apply(
    inner: &Inner,
    revocations: &Revocations,
    source: &str,
    event: &Value,
) -> Result<Applied, SignInError> {
    let kind = kind_of(event);
    let (outcome, subject) = match decide(inner, revocations, event).await {
        Ok((applied, subject)) => {
            let outcome = match applied {
                Applied::Revoked => "revoked",
                Applied::Ignored => "ignored",
                Applied::Duplicate => "duplicate",
            };
            audit::idp_event(source, kind, subject, outcome);
            return Ok(applied);
        }
        Err((e, subject)) => (e, subject),
    };
    audit::idp_event(source, kind, subject, outcome.code());
    Err(outcome)
}

/// The event's target, spent id and revocation; the subject it names for the audit event.
async fn decide<'e>(
    inner: &Inner,
    revocations: &Revocations,
    event: &'e Value,
) -> Result<(Applied, Option<&'e str>), (SignInError, Option<&'e str>)> {
    let invalid = |detail: &str| (refused(Problem::WebhookEventInvalid, detail), None);
    let Some(kind) = event.get("event").and_then(Value::as_str) else {
        return Err(invalid("the event has no type"));
    };
    let id = event.get("id").and_then(Value::as_str);
    let Some(id) = id.filter(|id| !id.is_empty() && id.len() <= MAX_EVENT_ID) else {
        return Err(invalid("the event has no id"));
    };
    let data = event.get("data");
    let field = |name: &str| data.and_then(|d| d.get(name)).and_then(Value::as_str);
    let target = match kind {
        "session.revoked" => field("id").map(Target::Session),
        "user.deleted" => field("id").map(Target::User),
        // The member may still belong to other organizations; their sessions are not told
        // apart here, so every session of the user signed in until now ends (they sign in
        // again, into what they still belong to).
        "organization_membership.deleted" => field("user_id").map(Target::User),
        _ => return Ok((Applied::Ignored, None)),
    };
    let Some(target) = target else {
        return Err(invalid("the event names no session or user"));
    };
    let subject = match target {
        Target::Session(s) | Target::User(s) => s,
    };
    if subject.is_empty() || subject.len() > crate::MAX_ID_BYTES {
        return Err(invalid("the event's session or user id is empty or too long"));
    }
    let key = format!("workos-event:{}", super::flow::hex_sha256(id));
    match inner.store.put_new(&key, "1", SEEN_TTL).await {
        Ok(true) => {}
        Ok(false) => return Ok((Applied::Duplicate, Some(subject))),
        // Revoking a session twice is harmless: go on. Revoking a user again later would end
        // the sessions signed in since: WorkOS should deliver it again.
        Err(_) if matches!(target, Target::Session(_)) => {}
        Err(_) => {
            let detail = "the event id cannot be recorded now";
            let e = refused(Problem::WebhookUnavailable, detail).retry_after(5);
            return Err((e, Some(subject)));
        }
    }
    let entry = match target {
        Target::Session(sid) => revocations.session_entry(sid),
        Target::User(sub) => revocations.user_entry(sub),
    };
    match revocations.provider_revoked(entry).await {
        Ok(()) => Ok((Applied::Revoked, Some(subject))),
        // This instance refuses the session already; the others will once it is shared.
        Err(e @ RevokeError::NotShared(_)) => {
            tracing::warn!(error = %e, "WorkOS event: the revocation was not shared yet");
            Ok((Applied::Revoked, Some(subject)))
        }
        Err(e) => {
            tracing::error!(error = %e, "WorkOS event: the revocation was refused");
            // Not applied: a delivery of it again must not count as a duplicate.
            let _ = inner.store.delete(&key).await;
            let detail = "the revocation cannot be recorded now";
            Err((refused(Problem::WebhookUnavailable, detail).retry_after(60), Some(subject)))
        }
    }
}

// ---- the poller ---------------------------------------------------------------------------

/// The poller's lease in the store: held by one instance, renewed on each poll.
struct Lease {
    me: String,
    held: bool,
    ttl: Duration,
}

impl Lease {
    /// `true` when this instance holds the lease now (taking it if it is free).
    async fn hold(&mut self, store: &dyn Store) -> bool {
        if !self.held {
            self.held = matches!(store.put_new(LEASE_KEY, &self.me, self.ttl).await, Ok(true));
            return self.held;
        }
        match store.swap(LEASE_KEY, &self.me, self.ttl).await {
            // Renewed; or it had lapsed and nobody took it.
            Ok(None) => true,
            Ok(Some(v)) if v == self.me => true,
            // It lapsed and another instance took it: give it back.
            Ok(Some(other)) => {
                let _ = store.swap(LEASE_KEY, &other, self.ttl).await;
                self.held = false;
                false
            }
            Err(_) => {
                self.held = false;
                false
            }
        }
    }
}

/// Polls until the sessions are dropped.
async fn run(weak: Weak<Inner>, every: Duration) {
    let me = super::flow::random_token().unwrap_or_else(|| format!("pid-{}", std::process::id()));
    let ttl = every.saturating_mul(3).saturating_add(Duration::from_secs(10));
    let mut lease = Lease { me, held: false, ttl };
    let mut wait = Duration::ZERO;
    loop {
        tokio::time::sleep(wait).await;
        wait = every;
        let Some(inner) = weak.upgrade() else { return };
        let Some(revocations) = inner.revocations.clone() else { return };
        if !lease.hold(&*inner.store).await {
            continue;
        }
        if let Err(backoff) = poll_once(&inner, &revocations).await {
            wait = wait.max(backoff);
        }
    }
}

/// Where the cursor says to read from: after the last event read, or (no event read yet) since
/// a time. The first poll ever writes "since now".
async fn cursor(inner: &Inner) -> Result<String, Duration> {
    let store = &inner.store;
    let down = |e: crate::store::StoreError| {
        tracing::warn!(error = %e, "WorkOS events: the cursor cannot be read");
        STORE_BACKOFF
    };
    if let Some(cursor) = store.get(CURSOR_KEY).await.map_err(down)? {
        return Ok(cursor);
    }
    // Whole seconds: an event of this second is read rather than missed.
    let since = format!("since:{}", rfc3339(inner.clock.now()));
    if store.put_new(CURSOR_KEY, &since, MAX_TTL).await.map_err(down)? {
        return Ok(since);
    }
    store.get(CURSOR_KEY).await.map_err(down)?.ok_or(STORE_BACKOFF)
}

/// Reads the events after the cursor (a few pages at most) and applies them in order; the
/// cursor moves past each page. `Err` is how long to wait before the next poll.
async fn poll_once(inner: &Inner, revocations: &Revocations) -> Result<(), Duration> {
    let mut cursor = cursor(inner).await?;
    for _ in 0..PAGES_PER_POLL {
        let from = match cursor.split_once(':') {
            Some(("after", id)) => EventsFrom::After(id),
            Some(("since", time)) => EventsFrom::Since(time),
            _ => {
                tracing::warn!("WorkOS events: an unreadable cursor in the store, starting now");
                let _ = inner.store.delete(CURSOR_KEY).await;
                return Err(STORE_BACKOFF);
            }
        };
        let page = match inner.idp.workos_events(&EVENT_TYPES, PAGE, &from).await {
            Ok(page) => page,
            Err(GrantError::Unavailable { retry_after, reason }) => {
                tracing::warn!(reason, retry_after, "WorkOS events: the API cannot answer now");
                return Err(Duration::from_secs(retry_after));
            }
            Err(GrantError::Refused { error }) => {
                tracing::error!(error, "WorkOS events: the API refused the request");
                return Err(REFUSED_BACKOFF);
            }
        };
        let mut last = None;
        let mut stopped = false;
        for event in &page.data {
            // Revoked, ignored, a duplicate, or an event that can never apply (skipped, and
            // audited); one that cannot be recorded now is read again at the next poll.
            if let Err(e) = apply(inner, revocations, POLLED, event).await
                && e.status() == StatusCode::SERVICE_UNAVAILABLE
            {
                stopped = true;
                break;
            }
            if let Some(id) = event.get("id").and_then(Value::as_str) {
                last = Some(id.to_owned());
            }
        }
        if let Some(id) = last {
            cursor = format!("after:{id}");
        }
        // Written on every poll, so the cursor outlives quiet weeks (the store keeps a value
        // 30 days at most; the Events API keeps events as long).
        if let Err(e) = inner.store.swap(CURSOR_KEY, &cursor, MAX_TTL).await {
            tracing::warn!(error = %e, "WorkOS events: the cursor cannot be written");
            return Err(STORE_BACKOFF);
        }
        if stopped {
            return Err(STORE_BACKOFF);
        }
        if page.data.len() < usize::from(PAGE) {
            return Ok(());
        }
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` for seconds since the Unix epoch (the civil-from-days
/// algorithm).
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with `@workos-inc/node` 11.0.0:
    /// `webhooks.computeSignature('1700000000000', BODY, SECRET)`.
    const SECRET: &str = "a-webhook-secret-of-any-length";
    const BODY: &str = r#"{"id":"event_01","event":"session.revoked","data":{"id":"session_01"}}"#;
    const MAC: &str = "88a2b4234d8326fa0a117cd42b791ee1a0821124840df8f2a29dc106ec0aaa87";

    fn parse(header: &str) -> Option<Signature<'_>> {
        Signature::parse(header.as_bytes())
    }

    #[test]
    fn the_signature_of_workos_node_verifies_and_nothing_else_does() {
        let header = format!("t=1700000000000, v1={MAC}");
        let sig = parse(&header).expect("WorkOS's own format");
        assert_eq!(sig.millis, 1_700_000_000_000);
        assert!(sig.verify(SECRET.as_bytes(), BODY.as_bytes()));
        assert!(!sig.verify(b"another secret", BODY.as_bytes()));
        assert!(!sig.verify(SECRET.as_bytes(), BODY.replace("01", "02").as_bytes()));
        // The comma with or without a space, as `@workos-inc/node` reads it.
        assert!(parse(&format!("t=1700000000000,v1={MAC}")).is_some());
        // The timestamp is signed as sent.
        let padded = format!("t=01700000000000, v1={MAC}");
        assert!(!parse(&padded).unwrap().verify(SECRET.as_bytes(), BODY.as_bytes()));
    }

    #[test]
    fn anything_but_t_then_v1_in_lowercase_hex_is_malformed() {
        let upper = MAC.to_uppercase();
        for header in [
            String::new(),
            format!("v1={MAC}, t=1700000000000"),
            format!("t=1700000000000 v1={MAC}"),
            format!("t=, v1={MAC}"),
            format!("t=17e11, v1={MAC}"),
            format!("t=-1, v1={MAC}"),
            format!("t=12345678901234567, v1={MAC}"),
            format!(" t=1700000000000, v1={MAC}"),
            format!("t=1700000000000, v0={MAC}"),
            format!("t=1700000000000, v1={upper}"),
            format!("t=1700000000000, v1={}", &MAC[..62]),
            format!("t=1700000000000, v1={MAC}00"),
            format!("t=1700000000000, v1={MAC}, v1={MAC}"),
            "t=1700000000000, v1=".to_owned(),
        ] {
            assert!(parse(&header).is_none(), "{header:?}");
        }
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn the_webhook_secret_never_shows_in_debug() {
        let hook = Webhook {
            secret: Secret::new("whsec_very_secret"),
            path: DEFAULT_WORKOS_WEBHOOK_PATH.to_owned(),
            tolerance: DEFAULT_WORKOS_WEBHOOK_TOLERANCE,
        };
        assert!(!format!("{hook:?}").contains("very_secret"));
    }
}
