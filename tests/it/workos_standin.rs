//! An in-process stand-in for the WorkOS User Management API: the AuthKit sign-in lifecycle
//! (authorize with PKCE, code and refresh-token grants, logout) and the JWKS, on 127.0.0.1.
//!
//! Request and response shapes follow the published API as `@workos-inc/node` 11.0.0 reads and
//! writes them (`tests/interop/workos_client.mjs` checks the stand-in with that client):
//!
//! - `GET /user_management/authorize`: the hosted sign-in page, which signs user
//!   [`USER_ID`] in at once and answers `302` to `redirect_uri?code=..&state=..`.
//! - `POST /user_management/authenticate` (JSON or form body), grants `authorization_code`
//!   and `refresh_token`: `{user, organization_id, access_token, refresh_token,
//!   authentication_method}`. OAuth failures are `400 {"error", "error_description"}`
//!   (`invalid_grant`, `invalid_request`); a wrong client is `401 invalid_client`.
//! - `GET /user_management/sessions/logout?session_id[&return_to]`: ends the session, `302`.
//! - `GET /sso/jwks/{client_id}`: the RS256 public key of `tests/fixtures/keys/rsa_public.pem`.
//! - `GET /events?events=<types, comma-separated>&range_start&limit&after` (the API key as
//!   Bearer token): the events tests emit ([`WorkOsStandIn::emit_event`]) and the
//!   `session.revoked` of each session revocation or logout, oldest first, as
//!   `{"object": "list", "data", "list_metadata": {"before", "after"}}`; `after` is an event
//!   id, `list_metadata.after` the last one listed.
//!
//! Access tokens are RS256 JWTs with WorkOS's real issuer
//! (`https://api.workos.com/user_management/<client_id>`) and WorkOS's claims (`sid`, `org_id`,
//! `role`, `roles`, `permissions`, ...) plus `auth_time`, and, like WorkOS, no `amr`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rand::Rng;
use serde_json::{Value, json};

/// The stand-in's client id (WorkOS: `client_...`).
pub const CLIENT_ID: &str = "client_standin";
/// The stand-in's API key, which is also the `client_secret` of the authenticate grants.
pub const API_KEY: &str = "sk_test_standin_0f4d2b7c9a1e5f3d";
/// The one user who signs in.
pub const USER_ID: &str = "user_01STANDIN";
pub const USER_EMAIL: &str = "ada@example.test";
/// The organization of every session unless the authorize or refresh request names another.
pub const ORG_ID: &str = "org_01STANDIN";
/// The `kid` of the signing key (header of the access tokens, and the JWKS).
pub const KID: &str = "standin-rs256";
/// WorkOS's issuer prefix: the `iss` claim is this followed by the client id.
pub const ISSUER_PREFIX: &str = "https://api.workos.com/user_management/";

const PRIVATE_PEM: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/rsa_private.pem"));
const PUBLIC_PEM: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/rsa_public.pem"));

/// Largest request body the stand-in reads (`413` past it).
const BODY_LIMIT: usize = 16 * 1024;
/// Authorization codes live 10 minutes, as WorkOS's do.
const CODE_TTL_SECS: u64 = 600;
/// WorkOS access tokens live 5 minutes by default.
const DEFAULT_ACCESS_TTL_SECS: u64 = 300;
/// `auth_time` of a session that a provider ignoring `max_age` had before the app asked.
const STALE_SESSION_AGE_SECS: u64 = 3600;
const USER_CREATED_AT: &str = "2024-01-01T00:00:00.000Z";

/// What the stand-in has answered so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `GET /user_management/authorize` calls that signed someone in (302 with a code).
    pub authorizations: u64,
    /// Successful `authorization_code` grants.
    pub code_grants: u64,
    /// Failed `authorization_code` grants (any non-2xx answer).
    pub code_failures: u64,
    /// Successful `refresh_token` grants.
    pub refresh_grants: u64,
    /// Failed `refresh_token` grants (any non-2xx answer, injected failures included).
    pub refresh_failures: u64,
    /// Well-formed `GET /user_management/sessions/logout` calls.
    pub logouts: u64,
    /// Accepted `POST /user_management/sessions/revoke` calls.
    pub session_revocations: u64,
    /// `GET /events` calls (any answer).
    pub events_calls: u64,
}

struct Session {
    auth_time: u64,
    ended: bool,
    authentication_method: String,
}

struct CodeGrant {
    session_id: String,
    organization_id: String,
    code_challenge: Option<String>,
    expires_at: u64,
}

struct RefreshGrant {
    session_id: String,
    organization_id: String,
}

struct Inner {
    access_ttl: u64,
    ignore_max_age: bool,
    authentication_method: String,
    stats: Stats,
    sessions: HashMap<String, Session>,
    current_session: Option<String>,
    codes: HashMap<String, CodeGrant>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    fail_next_refresh: Option<u16>,
    refresh_delay_ms: u64,
    last_authorize_query: Option<Vec<(String, String)>>,
    last_sign_in_at: Option<u64>,
    /// While set, refresh answers wait for permits (after the grant is decided).
    refresh_gate: Option<Arc<tokio::sync::Semaphore>>,
    /// Refresh answers that reached the gate so far.
    refreshes_held: u64,
    /// What refreshes put in their answers instead of the session's own values.
    refresh_overrides: RefreshOverrides,
    /// The claim that carries `auth_time` (a namespaced one, as Auth0 custom claims are).
    auth_time_claim: String,
    /// The events `GET /events` lists, oldest first: (created at, the event).
    events: Vec<(u64, Value)>,
    /// Each `GET /events`: when, and its query.
    events_requests: Vec<(std::time::Instant, String)>,
    fail_next_events: Option<u16>,
}

/// Answers of a misbehaving provider: a refresh for another user or issuer.
#[derive(Clone, Default)]
pub struct RefreshOverrides {
    /// The access token's `sub`.
    pub sub: Option<String>,
    /// The access token's `iss`.
    pub iss: Option<String>,
    /// The `user.id` of the answer.
    pub user_id: Option<String>,
}

struct Shared {
    base_url: String,
    client_id: String,
    api_key: String,
    key: EncodingKey,
    jwks: Value,
    /// "Now" for the tokens it issues and the sessions it keeps (the system clock unless a test
    /// gives the app's clock, so both move together).
    clock: Mutex<axum_session_mfa::Clock>,
    inner: Mutex<Inner>,
}

impl Shared {
    fn now(&self) -> u64 {
        self.clock.lock().unwrap_or_else(PoisonError::into_inner).now()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn issuer(&self) -> String {
        format!("{ISSUER_PREFIX}{}", self.client_id)
    }
}

/// A WorkOS User Management stand-in serving on `127.0.0.1:<random port>`; the server task
/// is aborted when this is dropped.
pub struct WorkOsStandIn {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WorkOsStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WorkOsStandIn {
    /// Reads "now" from `clock` from here on (the app's test clock: moving it ages the sessions
    /// the stand-in keeps and dates the tokens it issues, so a test moves time instead of
    /// sleeping).
    pub fn use_clock(&self, clock: axum_session_mfa::Clock) {
        *self.shared.clock.lock().unwrap_or_else(PoisonError::into_inner) = clock;
    }

    /// Binds a random loopback port and serves on the current tokio runtime.
    pub async fn start() -> Self {
        axum_session_mfa::install_crypto_provider();
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            client_id: CLIENT_ID.to_owned(),
            api_key: API_KEY.to_owned(),
            key: EncodingKey::from_rsa_pem(PRIVATE_PEM)
                .expect("tests/fixtures/keys/rsa_private.pem"),
            jwks: public_jwks(),
            clock: Mutex::new(axum_session_mfa::Clock::system()),
            inner: Mutex::new(Inner {
                access_ttl: DEFAULT_ACCESS_TTL_SECS,
                ignore_max_age: false,
                authentication_method: "Password".to_owned(),
                stats: Stats::default(),
                sessions: HashMap::new(),
                current_session: None,
                codes: HashMap::new(),
                refresh_tokens: HashMap::new(),
                fail_next_refresh: None,
                refresh_delay_ms: 0,
                last_authorize_query: None,
                last_sign_in_at: None,
                refresh_gate: None,
                refreshes_held: 0,
                refresh_overrides: RefreshOverrides::default(),
                auth_time_claim: "auth_time".to_owned(),
                events: Vec::new(),
                events_requests: Vec::new(),
                fail_next_events: None,
            }),
        });
        let app = Router::new()
            .route("/user_management/authorize", get(authorize))
            .route("/user_management/authenticate", post(authenticate))
            .route("/user_management/sessions/logout", get(logout))
            .route("/user_management/sessions/revoke", post(revoke_session))
            .route("/sso/jwks/{client_id}", get(jwks))
            .route("/events", get(list_events))
            .route("/standin/signed_out", get(signed_out))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { shared, server }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The port (for `new WorkOS(key, { apiHostname: '127.0.0.1', port, https: false })`).
    pub fn port(&self) -> u16 {
        self.shared.base_url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// `https://api.workos.com/user_management/<client_id>`: the real WorkOS issuer.
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// `<base_url>/sso/jwks/<client_id>`, as `userManagement.getJwksUrl(clientId)` builds it.
    pub fn jwks_url(&self) -> String {
        format!("{}/sso/jwks/{}", self.shared.base_url, self.shared.client_id)
    }

    /// `<base_url>/user_management/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/user_management/authorize", self.shared.base_url)
    }

    /// Where logout redirects without `return_to` (WorkOS: the dashboard's logout redirect).
    pub fn signed_out_url(&self) -> String {
        format!("{}/standin/signed_out", self.shared.base_url)
    }

    pub fn public_jwk_kid(&self) -> &str {
        KID
    }

    /// Lifetime of the access tokens issued from now on (default 300 s, as WorkOS).
    pub fn set_access_ttl(&self, secs: u64) {
        self.shared.lock().access_ttl = secs;
    }

    /// A provider that does not re-authenticate: `max_age` and `prompt=login` continue the
    /// current session with its old `auth_time`; before the first sign-in, they start a session
    /// whose `auth_time` is `now - 3600` (a provider session the app never saw).
    pub fn set_ignore_max_age(&self, yes: bool) {
        self.shared.lock().ignore_max_age = yes;
    }

    /// `authentication_method` of the sessions that later sign-ins create (default
    /// `"Password"`). WorkOS's values: `Password`, `Passkey`, `MagicAuth`, `SSO`, `GoogleOAuth`,
    /// `MicrosoftOAuth`, `GitHubOAuth`, `AppleOAuth`, ... There is no `MFA`: a TOTP second
    /// factor leaves the primary method (e.g. `Password`) in place, and the access token carries
    /// no `amr`. A refresh reports the method of its session.
    pub fn set_authentication_method(&self, method: &str) {
        self.shared.lock().authentication_method = method.to_owned();
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats
    }

    /// Every outstanding refresh token becomes invalid (`400 invalid_grant`); sessions stay.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.lock().refresh_tokens.clear();
    }

    /// The next refresh grant answers `status` (4xx or 5xx) at once, before any check, and
    /// leaves the refresh token unspent. `429` carries `Retry-After: 1`.
    pub fn fail_next_refresh(&self, status: u16) {
        assert!((400..=599).contains(&status), "fail_next_refresh wants a 4xx or 5xx status");
        self.shared.lock().fail_next_refresh = Some(status);
    }

    /// Delays every refresh answer by `ms`. The grant is decided (and the token spent) when the
    /// request arrives; only the answer waits, as when a response is slow on the way back.
    pub fn set_refresh_delay(&self, ms: u64) {
        self.shared.lock().refresh_delay_ms = ms;
    }

    /// From now on every refresh answer waits (the grant decided, the old token spent, the new
    /// tokens issued) until [`release_refreshes`](Self::release_refreshes): a provider whose
    /// answer is slow on its way back, held as long as the test wants.
    pub fn hold_refreshes(&self) {
        self.shared.lock().refresh_gate = Some(Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Lets every held refresh answer go, and later ones through at once.
    pub fn release_refreshes(&self) {
        if let Some(gate) = self.shared.lock().refresh_gate.take() {
            gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
        }
    }

    /// Refresh answers that reached the gate of [`hold_refreshes`](Self::hold_refreshes).
    pub fn refreshes_held(&self) -> u64 {
        self.shared.lock().refreshes_held
    }

    /// What later refreshes answer instead of the session's own `sub`, `iss` or user.
    pub fn set_refresh_overrides(&self, overrides: RefreshOverrides) {
        self.shared.lock().refresh_overrides = overrides;
    }

    /// Puts `auth_time` under another claim name in the tokens issued from now on.
    pub fn set_auth_time_claim(&self, name: &str) {
        self.shared.lock().auth_time_claim = name.to_owned();
    }

    /// Whether `refresh_token` would still be accepted.
    pub fn refresh_token_alive(&self, refresh_token: &str) -> bool {
        let inner = self.shared.lock();
        inner
            .refresh_tokens
            .get(refresh_token)
            .is_some_and(|g| inner.sessions.get(&g.session_id).is_some_and(|s| !s.ended))
    }

    /// The query pairs of the last `GET /user_management/authorize`, in order.
    pub fn last_authorize_query(&self) -> Option<Vec<(String, String)>> {
        self.shared.lock().last_authorize_query.clone()
    }

    /// The session the next authorize continues (`None` before a sign-in or after its logout).
    pub fn current_session_id(&self) -> Option<String> {
        let inner = self.shared.lock();
        inner
            .current_session
            .clone()
            .filter(|sid| inner.sessions.get(sid).is_some_and(|s| !s.ended))
    }

    /// `auth_time` of a session.
    pub fn session_auth_time(&self, session_id: &str) -> Option<u64> {
        self.shared.lock().sessions.get(session_id).map(|s| s.auth_time)
    }

    /// Whether a session was ended by logout.
    pub fn session_ended(&self, session_id: &str) -> Option<bool> {
        self.shared.lock().sessions.get(session_id).map(|s| s.ended)
    }

    /// Appends an event to what `GET /events` lists, dated now: `{"object": "event", "id",
    /// "event", "data", "created_at"}` (`EventResponseBase` of `@workos-inc/node`). Returns it.
    pub fn emit_event(&self, event: &str, data: Value) -> Value {
        let now = self.shared.now();
        emit(&mut self.shared.lock(), now, event, data)
    }

    /// A `session.revoked` event for `session_id` of [`USER_ID`] (`SessionRevokedEventResponse`).
    pub fn emit_session_revoked(&self, session_id: &str) -> Value {
        let now = self.shared.now();
        let data = session_json(session_id, now);
        emit(&mut self.shared.lock(), now, "session.revoked", data)
    }

    /// A `user.deleted` event for `user_id` (`UserDeletedEventResponse`).
    pub fn emit_user_deleted(&self, user_id: &str) -> Value {
        let mut user = user_json(None);
        user["id"] = json!(user_id);
        self.emit_event("user.deleted", user)
    }

    /// An `organization_membership.deleted` event for `user_id` in [`ORG_ID`]
    /// (`OrganizationMembershipDeletedResponse`).
    pub fn emit_membership_deleted(&self, user_id: &str) -> Value {
        let data = json!({
            "object": "organization_membership",
            "id": format!("om_{}", ulid_like()),
            "organization_id": ORG_ID,
            "organization_name": "Stand-in Org",
            "status": "inactive",
            "user_id": user_id,
            "role": { "slug": "member" },
            "created_at": USER_CREATED_AT,
            "updated_at": USER_CREATED_AT,
        });
        self.emit_event("organization_membership.deleted", data)
    }

    /// The next `GET /events` answers `status` at once (`429` with `Retry-After: 1`).
    pub fn fail_next_events(&self, status: u16) {
        self.shared.lock().fail_next_events = Some(status);
    }

    /// Every `GET /events` so far: when it arrived, and its raw query.
    pub fn events_requests(&self) -> Vec<(std::time::Instant, String)> {
        self.shared.lock().events_requests.clone()
    }
}

/// Appends an event dated `now` and returns it.
fn emit(inner: &mut Inner, now: u64, event: &str, data: Value) -> Value {
    let body = json!({
        "object": "event",
        "id": format!("event_{}", ulid_like()),
        "event": event,
        "data": data,
        "created_at": iso8601(now),
    });
    inner.events.push((now, body.clone()));
    body
}

/// The WorkOS Session object (`SessionResponse` of `@workos-inc/node`), revoked `now`.
fn session_json(session_id: &str, now: u64) -> Value {
    json!({
        "object": "session",
        "id": session_id,
        "user_id": USER_ID,
        "ip_address": "127.0.0.1",
        "user_agent": null,
        "organization_id": ORG_ID,
        "auth_method": "password",
        "status": "revoked",
        "expires_at": iso8601(now + 30 * 24 * 3600),
        "ended_at": iso8601(now),
        "created_at": iso8601(now),
        "updated_at": iso8601(now),
    })
}

// ---- handlers ---------------------------------------------------------------------------

async fn authorize(
    State(s): State<Arc<Shared>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()),
    };
    s.lock().last_authorize_query = Some(pairs.clone());
    let params = match unique_params(&pairs) {
        Ok(p) => p,
        Err(msg) => return invalid_request(msg),
    };
    let param = |name: &str| params.get(name).copied();

    match param("client_id") {
        None => return invalid_request("client_id is required."),
        Some(id) if id != s.client_id => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client ID.");
        }
        Some(_) => {}
    }
    match param("response_type") {
        None => return invalid_request("response_type is required."),
        Some("code") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_response_type",
                format!("The response type is not supported: {other}"),
            );
        }
    }
    let Some(redirect_uri) = param("redirect_uri") else {
        return invalid_request("redirect_uri is required.");
    };
    if !is_absolute_url(redirect_uri) {
        return invalid_request("redirect_uri must be an absolute URL without a fragment.");
    }
    match param("provider") {
        Some("authkit") => {}
        Some(other) => {
            return invalid_request(format!(
                "The stand-in only signs in with provider=authkit, not {other}."
            ));
        }
        None if param("connection_id").is_none() && param("organization_id").is_none() => {
            return invalid_request(
                "One of provider, connection_id or organization_id is required.",
            );
        }
        None => {}
    }
    if param("screen_hint").is_some_and(|hint| hint != "sign-in" && hint != "sign-up") {
        return invalid_request("screen_hint must be sign-in or sign-up.");
    }
    let code_challenge = match (param("code_challenge"), param("code_challenge_method")) {
        (Some(challenge), Some("S256")) => {
            if !is_s256_challenge(challenge) {
                return invalid_request(
                    "code_challenge must be a base64url SHA-256 digest (43 characters).",
                );
            }
            Some(challenge.to_owned())
        }
        (Some(_), Some(_)) => return invalid_request("code_challenge_method must be S256."),
        (Some(_), None) => return invalid_request("code_challenge_method is required (S256)."),
        (None, Some(_)) => return invalid_request("code_challenge_method without code_challenge."),
        (None, None) => None,
    };
    let max_age = match param("max_age").map(str::parse::<u64>) {
        None => None,
        Some(Ok(secs)) => Some(secs),
        Some(Err(_)) => return invalid_request("max_age must be a non-negative integer."),
    };
    let force_login = param("prompt") == Some("login");
    let organization_id = param("organization_id").unwrap_or(ORG_ID).to_owned();

    let now = s.now();
    let code = random_token(32);
    {
        let mut inner = s.lock();
        let current = inner.current_session.clone().and_then(|sid| {
            inner.sessions.get(&sid).filter(|x| !x.ended).map(|x| (sid, x.auth_time))
        });
        let asks_reauth = force_login || max_age.is_some();
        let too_old = |auth_time: u64| {
            force_login || max_age.is_some_and(|m| m == 0 || now.saturating_sub(auth_time) > m)
        };
        let session_id = match current {
            Some((sid, auth_time)) if inner.ignore_max_age || !too_old(auth_time) => sid,
            _ => {
                // A provider that ignores max_age may hold a session the app never saw: stale.
                let unseen = inner.sessions.is_empty() && inner.ignore_max_age && asks_reauth;
                let auth_time =
                    if unseen { now.saturating_sub(STALE_SESSION_AGE_SECS) } else { now };
                let sid = format!("session_{}", ulid_like());
                let method = inner.authentication_method.clone();
                inner.sessions.insert(
                    sid.clone(),
                    Session { auth_time, ended: false, authentication_method: method },
                );
                inner.current_session = Some(sid.clone());
                sid
            }
        };
        inner.codes.insert(
            code.clone(),
            CodeGrant {
                session_id,
                organization_id,
                code_challenge,
                expires_at: now + CODE_TTL_SECS,
            },
        );
        inner.stats.authorizations += 1;
    }

    let mut location = redirect_uri.to_owned();
    location.push(if redirect_uri.contains('?') { '&' } else { '?' });
    location.push_str("code=");
    location.push_str(&percent_encode(&code));
    if let Some(state) = param("state") {
        location.push_str("&state=");
        location.push_str(&percent_encode(state));
    }
    redirect(&location)
}

async fn authenticate(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return api_error(e.status(), "invalid_request", &e.body_text()),
    };
    let fields = match parse_fields(&headers, &body) {
        Ok(fields) => fields,
        Err(msg) => return invalid_request(msg),
    };
    match fields.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let resp = code_grant(&s, &fields);
            let mut inner = s.lock();
            if resp.status().is_success() {
                inner.stats.code_grants += 1;
            } else {
                inner.stats.code_failures += 1;
            }
            resp
        }
        Some("refresh_token") => {
            let (resp, delay_ms, gate) = {
                let resp = refresh_grant(&s, &fields);
                let mut inner = s.lock();
                if resp.status().is_success() {
                    inner.stats.refresh_grants += 1;
                } else {
                    inner.stats.refresh_failures += 1;
                }
                let gate = inner.refresh_gate.clone();
                if gate.is_some() {
                    inner.refreshes_held += 1;
                }
                (resp, inner.refresh_delay_ms, gate)
            };
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            if let Some(gate) = gate {
                let _ = gate.acquire().await;
            }
            resp
        }
        None => invalid_request("grant_type is required."),
        Some(other) => invalid_request(format!("The grant type is not supported: {other}")),
    }
}

fn code_grant(s: &Shared, fields: &HashMap<String, String>) -> Response {
    if let Some(resp) = client_error(s, fields) {
        return resp;
    }
    let Some(code) = fields.get("code") else {
        return invalid_request("code is required.");
    };
    let invalid_code = || invalid_grant(format!("The code '{code}' has expired or is invalid."));
    let now = s.now();
    let mut inner = s.lock();
    // Single use: any attempt spends the code, a failed one included.
    let Some(grant) = inner.codes.remove(code) else {
        return invalid_code();
    };
    if now >= grant.expires_at {
        return invalid_code();
    }
    if let Some(challenge) = &grant.code_challenge {
        let Some(verifier) = fields.get("code_verifier") else {
            return invalid_request("code_verifier is required.");
        };
        if !is_code_verifier(verifier)
            || URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes())) != *challenge
        {
            return invalid_code();
        }
    }
    if inner.sessions.get(&grant.session_id).is_none_or(|x| x.ended) {
        return invalid_code();
    }
    inner.last_sign_in_at = Some(now);
    issue_tokens(s, &mut inner, &grant.session_id, &grant.organization_id, false)
}

fn refresh_grant(s: &Shared, fields: &HashMap<String, String>) -> Response {
    if let Some(status) = s.lock().fail_next_refresh.take() {
        return injected_failure(status);
    }
    if let Some(resp) = client_error(s, fields) {
        return resp;
    }
    let Some(token) = fields.get("refresh_token") else {
        return invalid_request("refresh_token is required.");
    };
    let mut inner = s.lock();
    let Some(grant) = inner.refresh_tokens.remove(token) else {
        return invalid_grant("Invalid refresh token.");
    };
    if inner.sessions.get(&grant.session_id).is_none_or(|x| x.ended) {
        return invalid_grant("Session has already ended.");
    }
    let organization_id = fields.get("organization_id").cloned().unwrap_or(grant.organization_id);
    issue_tokens(s, &mut inner, &grant.session_id, &organization_id, true)
}

async fn logout(
    State(s): State<Arc<Shared>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(e) => return invalid_request(e.body_text()),
    };
    let params = match unique_params(&pairs) {
        Ok(p) => p,
        Err(msg) => return invalid_request(msg),
    };
    let Some(session_id) = params.get("session_id").copied().filter(|sid| !sid.is_empty()) else {
        // What `getLogoutUrl` documents: UnprocessableEntityException (422).
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_parameters",
            "session_id is required.",
        );
    };
    let return_to = params.get("return_to").copied();
    if return_to.is_some_and(|url| !is_absolute_url(url)) {
        return invalid_request("return_to must be an absolute URL without a fragment.");
    }
    {
        let mut inner = s.lock();
        if let Some(session) = inner.sessions.get_mut(session_id) {
            session.ended = true;
        }
        inner.refresh_tokens.retain(|_, grant| grant.session_id != session_id);
        if inner.current_session.as_deref() == Some(session_id) {
            inner.current_session = None;
        }
        inner.stats.logouts += 1;
        let now = s.now();
        emit(&mut inner, now, "session.revoked", session_json(session_id, now));
    }
    match return_to {
        Some(url) => redirect(url),
        None => redirect(&format!("{}/standin/signed_out", s.base_url)),
    }
}

/// `POST /user_management/sessions/revoke` with `{"session_id"}`, authenticated with the API
/// key (`userManagement.revokeSession` of `@workos-inc/node`): ends the session and every
/// refresh token of it.
async fn revoke_session(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", s.api_key));
    if !authorized {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "Invalid API key.");
    }
    let fields = match parse_fields(&headers, &body) {
        Ok(fields) => fields,
        Err(msg) => return invalid_request(msg),
    };
    let Some(session_id) = fields.get("session_id").filter(|s| !s.is_empty()) else {
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_parameters",
            "session_id is required.",
        );
    };
    let mut inner = s.lock();
    let Some(session) = inner.sessions.get_mut(session_id) else {
        return api_error(StatusCode::NOT_FOUND, "entity_not_found", "Session not found.");
    };
    session.ended = true;
    inner.refresh_tokens.retain(|_, grant| grant.session_id != *session_id);
    if inner.current_session.as_deref() == Some(session_id.as_str()) {
        inner.current_session = None;
    }
    inner.stats.session_revocations += 1;
    let now = s.now();
    emit(&mut inner, now, "session.revoked", session_json(session_id, now));
    Json(json!({})).into_response()
}

/// `GET /events` (`events.listEvents` of `@workos-inc/node`), authenticated with the API key.
/// `events` is one parameter, its types comma-separated (what the SDK sends); `limit` 1 to 100
/// (default 10); `after` an event id listed before (422 otherwise); `range_start` an ISO 8601
/// time. A parameter given twice is `422`.
async fn list_events(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", s.api_key));
    let mut inner = s.lock();
    inner.stats.events_calls += 1;
    let raw = uri.query().unwrap_or_default().to_owned();
    inner.events_requests.push((std::time::Instant::now(), raw));
    if !authorized {
        return api_error(StatusCode::UNAUTHORIZED, "unauthorized", "Invalid API key.");
    }
    if let Some(status) = inner.fail_next_events.take() {
        return injected_failure(status);
    }
    let unprocessable =
        |msg: &str| api_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_parameters", msg);
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(e) => return unprocessable(&e.body_text()),
    };
    let params = match unique_params(&pairs) {
        Ok(p) => p,
        Err(msg) => return unprocessable(&msg),
    };
    let types: Option<Vec<&str>> = params.get("events").map(|e| e.split(',').collect());
    let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return unprocessable("limit must be between 1 and 100."),
    };
    let since = match params.get("range_start").map(|t| parse_iso8601(t)) {
        None => 0,
        Some(Some(t)) => t,
        Some(None) => return unprocessable("range_start must be an ISO 8601 date."),
    };
    let start = match params.get("after") {
        None => 0,
        Some(after) => {
            match inner.events.iter().position(|(_, e)| e["id"].as_str() == Some(*after)) {
                Some(i) => i + 1,
                None => return unprocessable("after must be the id of an event."),
            }
        }
    };
    let data: Vec<Value> = inner.events[start..]
        .iter()
        .filter(|(at, _)| *at >= since)
        .filter(|(_, e)| {
            types.as_ref().is_none_or(|t| t.iter().any(|t| e["event"].as_str() == Some(*t)))
        })
        .take(limit)
        .map(|(_, e)| e.clone())
        .collect();
    let after = data.last().map(|e| e["id"].clone()).unwrap_or(Value::Null);
    Json(json!({
        "object": "list",
        "data": data,
        "list_metadata": { "before": null, "after": after },
    }))
    .into_response()
}

async fn jwks(State(s): State<Arc<Shared>>, Path(client_id): Path<String>) -> Response {
    if client_id != s.client_id {
        return api_error(
            StatusCode::NOT_FOUND,
            "entity_not_found",
            "Could not find a client with that ID.",
        );
    }
    Json(s.jwks.clone()).into_response()
}

async fn signed_out() -> Response {
    Json(json!({ "signed_out": true })).into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    api_error(StatusCode::NOT_FOUND, "not_found", &format!("No route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    api_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("{method} is not allowed on {}", uri.path()),
    )
}

// ---- tokens -----------------------------------------------------------------------------

fn issue_tokens(
    s: &Shared,
    inner: &mut Inner,
    session_id: &str,
    organization_id: &str,
    refresh: bool,
) -> Response {
    let Some(session) = inner.sessions.get(session_id) else {
        return invalid_grant("Session has already ended.");
    };
    let iat = s.now();
    let o = if refresh { inner.refresh_overrides.clone() } else { RefreshOverrides::default() };
    let claims = json!({
        "iss": o.iss.clone().unwrap_or_else(|| s.issuer()),
        "sub": o.sub.as_deref().unwrap_or(USER_ID),
        "sid": session_id,
        "org_id": organization_id,
        "role": "admin",
        "roles": ["admin"],
        "permissions": ["widgets:read"],
        "iat": iat,
        "exp": iat + inner.access_ttl,
        "jti": ulid_like(),
    });
    let mut claims = claims;
    claims[inner.auth_time_claim.as_str()] = json!(session.auth_time);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.to_owned());
    let access_token = match jsonwebtoken::encode(&header, &claims, &s.key) {
        Ok(token) => token,
        Err(e) => {
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                &format!("signing failed: {e}"),
            );
        }
    };
    let authentication_method = session.authentication_method.clone();
    let refresh_token = random_token(25);
    inner.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshGrant {
            session_id: session_id.to_owned(),
            organization_id: organization_id.to_owned(),
        },
    );
    let mut user = user_json(inner.last_sign_in_at);
    if let Some(id) = o.user_id {
        user["id"] = json!(id);
    }
    let body = json!({
        "user": user,
        "organization_id": organization_id,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "authentication_method": authentication_method,
    });
    Json(body).into_response()
}

/// The WorkOS User object, as `deserializeUser` of `@workos-inc/node` reads it.
fn user_json(last_sign_in_at: Option<u64>) -> Value {
    json!({
        "object": "user",
        "id": USER_ID,
        "email": USER_EMAIL,
        "email_verified": true,
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "profile_picture_url": null,
        "last_sign_in_at": last_sign_in_at.map(iso8601),
        "locale": null,
        "created_at": USER_CREATED_AT,
        "updated_at": USER_CREATED_AT,
        "external_id": null,
        "metadata": {},
    })
}

fn public_jwks() -> Value {
    let key = DecodingKey::from_rsa_pem(PUBLIC_PEM).expect("tests/fixtures/keys/rsa_public.pem");
    let jwk = Jwk::from_decoding_key(&key, Some(Algorithm::RS256)).expect("RSA public JWK");
    let AlgorithmParameters::RSA(rsa) = jwk.algorithm else { unreachable!("an RSA key") };
    json!({ "keys": [{ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": rsa.n, "e": rsa.e }] })
}

/// SHA-256 from whichever crypto backend the crate was built with.
fn sha256(data: &[u8]) -> [u8; 32] {
    #[cfg(feature = "aws_lc_rs")]
    {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
        digest.as_ref().try_into().expect("32 bytes")
    }
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    {
        use sha2::Digest;
        sha2::Sha256::digest(data).into()
    }
}

// ---- requests and answers ---------------------------------------------------------------

/// Client authentication of the authenticate grants: `client_id` and `client_secret` (the API
/// key). A wrong or missing secret is `401 invalid_client`, as RFC 6749 §5.2 has it. `None`
/// when the client is authenticated, else the error answer.
fn client_error(s: &Shared, fields: &HashMap<String, String>) -> Option<Response> {
    let Some(client_id) = fields.get("client_id") else {
        return Some(invalid_request("client_id is required."));
    };
    if *client_id != s.client_id {
        return Some(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Invalid client ID."));
    }
    if fields.get("client_secret") != Some(&s.api_key) {
        return Some(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client secret.",
        ));
    }
    None
}

/// The string fields of a JSON object or form body (WorkOS accepts both); `null` is absent.
fn parse_fields(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/json" => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| format!("The body is not valid JSON: {e}"))?;
            let Value::Object(map) = value else {
                return Err("The body must be a JSON object.".to_owned());
            };
            let mut fields = HashMap::new();
            for (k, v) in map {
                match v {
                    Value::String(v) => {
                        fields.insert(k, v);
                    }
                    Value::Null => {}
                    _ => return Err(format!("{k} must be a string.")),
                }
            }
            Ok(fields)
        }
        "application/x-www-form-urlencoded" => {
            let text =
                std::str::from_utf8(body).map_err(|_| "The body is not UTF-8.".to_owned())?;
            let mut fields = HashMap::new();
            for pair in text.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let (k, v) = (percent_decode(k)?, percent_decode(v)?);
                if fields.insert(k.clone(), v).is_some() {
                    return Err(format!("{k} is repeated."));
                }
            }
            Ok(fields)
        }
        _ => Err("Content-Type must be application/json or application/x-www-form-urlencoded."
            .to_owned()),
    }
}

fn unique_params(pairs: &[(String, String)]) -> Result<HashMap<&str, &str>, String> {
    let mut params = HashMap::new();
    for (k, v) in pairs {
        if params.insert(k.as_str(), v.as_str()).is_some() {
            return Err(format!("{k} is repeated."));
        }
    }
    Ok(params)
}

fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    let description: String = description.into();
    (status, Json(json!({ "error": error, "error_description": description }))).into_response()
}

fn invalid_request(description: impl Into<String>) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_grant(description: impl Into<String>) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// WorkOS's non-OAuth error envelope: `{"code", "message"}`.
fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

fn injected_failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let message = status.canonical_reason().unwrap_or("Injected failure");
    let mut resp = (status, Json(json!({ "message": message }))).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => invalid_request("The redirect target is not a valid header value."),
    }
}

// ---- small helpers ----------------------------------------------------------------------

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A scheme, `://`, a non-empty authority; no fragment, whitespace or control characters.
fn is_absolute_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    scheme_ok
        && !authority.is_empty()
        && !url.contains('#')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|d| d.len() == 32)
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("Bad percent-encoding.")?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "The body is not UTF-8.".to_owned())
}

/// Random URL-safe characters (codes and refresh tokens are opaque).
fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// 26 Crockford base32 characters, shaped like the ULIDs in WorkOS ids (`session_01H...`).
fn ulid_like() -> String {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let tail: String =
        (0..24).map(|_| CROCKFORD[rng.random_range(0..CROCKFORD.len())] as char).collect();
    format!("01{tail}")
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` (the civil-from-days algorithm).
fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
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

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff]Z` (the days-from-civil algorithm).
fn parse_iso8601(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let time = time.split('.').next()?;
    let num = |s: &str| s.parse::<i64>().ok();
    let mut d = date.splitn(3, '-').map(num);
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(num);
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

// ---- tests ------------------------------------------------------------------------------

mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A reply read by the blocking loopback client below.
    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }

        fn json(&self) -> Value {
            serde_json::from_str(&self.body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
        }

        fn location_params(&self) -> HashMap<String, String> {
            let location = self.header("location").expect("Location");
            let query = location.split_once('?').map_or("", |(_, q)| q);
            query
                .split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_owned(), percent_decode(v).unwrap()))
                .collect()
        }
    }

    /// One HTTP/1.0 exchange over a std socket, on the blocking pool so that the stand-in
    /// keeps serving on the runtime meanwhile.
    async fn http(
        base: &str,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let addr = base.trim_start_matches("http://").to_owned();
        let mut request = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(ct) = content_type {
            request.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        let raw = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&addr).expect("connect to the stand-in");
            stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            stream.write_all(&bytes).unwrap();
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).unwrap();
            raw
        })
        .await
        .unwrap();
        let text = String::from_utf8(raw).expect("utf-8 reply");
        let (head, body) = text.split_once("\r\n\r\n").expect("a complete reply");
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Reply { status, headers, body: body.to_owned() }
    }

    async fn get(s: &WorkOsStandIn, path: &str) -> Reply {
        http(s.base_url(), "GET", path, None, b"").await
    }

    async fn post_json(s: &WorkOsStandIn, body: &Value) -> Reply {
        http(
            s.base_url(),
            "POST",
            "/user_management/authenticate",
            Some("application/json"),
            body.to_string().as_bytes(),
        )
        .await
    }

    struct Pkce {
        verifier: String,
        challenge: String,
    }

    fn pkce() -> Pkce {
        let verifier = random_token(64);
        let challenge = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }

    fn authorize_path(challenge: &str, extra: &str) -> String {
        format!(
            "/user_management/authorize?client_id={CLIENT_ID}&redirect_uri={}&response_type=code\
             &provider=authkit&state=st%20ate&code_challenge={challenge}&code_challenge_method=S256{extra}",
            percent_encode("http://app.test/callback?x=1")
        )
    }

    /// The authorize step: a code for `pkce`.
    async fn sign_in(s: &WorkOsStandIn, pkce: &Pkce, extra: &str) -> String {
        let reply = get(s, &authorize_path(&pkce.challenge, extra)).await;
        assert_eq!(reply.status, 302, "{}", reply.body);
        let params = reply.location_params();
        assert!(
            reply.header("location").unwrap().starts_with("http://app.test/callback?x=1&code=")
        );
        assert_eq!(params["state"], "st ate");
        params["code"].clone()
    }

    fn code_body(code: &str, verifier: &str) -> Value {
        json!({ "grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": API_KEY,
                "code": code, "code_verifier": verifier })
    }

    fn refresh_body(token: &str) -> Value {
        json!({ "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": API_KEY,
                "refresh_token": token })
    }

    /// Authorize and exchange: the success body.
    async fn signed_in(s: &WorkOsStandIn, extra: &str) -> Value {
        let pkce = pkce();
        let code = sign_in(s, &pkce, extra).await;
        let reply = post_json(s, &code_body(&code, &pkce.verifier)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    fn verify(s: &WorkOsStandIn, token: &str) -> Value {
        let key = DecodingKey::from_rsa_pem(PUBLIC_PEM).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_issuer(&[s.issuer()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(KID));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap().claims
    }

    fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
        assert_eq!(reply.status, status, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["error"], error, "{body}");
        assert!(body["error_description"].is_string(), "{body}");
    }

    #[tokio::test]
    async fn code_grant_answers_the_workos_shapes_and_codes_are_single_use() {
        let s = WorkOsStandIn::start().await;
        let pkce = pkce();
        let code = sign_in(&s, &pkce, "").await;
        let query = s.last_authorize_query().unwrap();
        assert!(query.contains(&("code_challenge_method".to_owned(), "S256".to_owned())));

        let reply = post_json(&s, &code_body(&code, &pkce.verifier)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["organization_id"], ORG_ID);
        assert_eq!(body["authentication_method"], "Password");
        assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() >= 20));
        assert!(body.get("impersonator").is_none());
        let user = &body["user"];
        assert_eq!(user["object"], "user");
        assert_eq!(user["id"], USER_ID);
        assert_eq!(user["email"], USER_EMAIL);
        assert_eq!(user["email_verified"], true);
        assert_eq!(user["first_name"], "Ada");
        assert_eq!(user["last_name"], "Lovelace");
        assert!(
            user["last_sign_in_at"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24)
        );

        let claims = verify(&s, body["access_token"].as_str().unwrap());
        let sid = s.current_session_id().unwrap();
        assert!(sid.starts_with("session_01"));
        assert_eq!(claims["iss"], format!("https://api.workos.com/user_management/{CLIENT_ID}"));
        assert_eq!(claims["sub"], USER_ID);
        assert_eq!(claims["sid"], sid);
        assert_eq!(claims["org_id"], ORG_ID);
        assert_eq!(claims["role"], "admin");
        assert_eq!(claims["roles"], json!(["admin"]));
        assert_eq!(claims["permissions"], json!(["widgets:read"]));
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
        assert_eq!(claims["auth_time"].as_u64(), s.session_auth_time(&sid));
        assert!(claims["jti"].is_string());
        assert!(claims.get("amr").is_none() && claims.get("aud").is_none());

        let replay = post_json(&s, &code_body(&code, &pkce.verifier)).await;
        assert_oauth_error(&replay, 400, "invalid_grant");
        let stats = s.stats();
        assert_eq!((stats.authorizations, stats.code_grants, stats.code_failures), (1, 1, 1));
    }

    #[tokio::test]
    async fn refresh_tokens_rotate_and_a_spent_one_is_invalid_grant() {
        let s = WorkOsStandIn::start().await;
        s.set_access_ttl(60);
        let first = signed_in(&s, "").await;
        let first_claims = verify(&s, first["access_token"].as_str().unwrap());
        let old = first["refresh_token"].as_str().unwrap();

        let reply = post_json(&s, &refresh_body(old)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let second = reply.json();
        let new = second["refresh_token"].as_str().unwrap();
        assert_ne!(new, old);
        assert_eq!(second["user"]["id"], USER_ID);
        assert_eq!(second["authentication_method"], "Password");
        let claims = verify(&s, second["access_token"].as_str().unwrap());
        assert_eq!(claims["sid"], first_claims["sid"]);
        assert_eq!(claims["auth_time"], first_claims["auth_time"]);
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 60);
        assert_ne!(claims["jti"], first_claims["jti"]);

        assert_oauth_error(&post_json(&s, &refresh_body(old)).await, 400, "invalid_grant");
        // organization_id switches the organization of the new tokens.
        let mut switch = refresh_body(new);
        switch["organization_id"] = json!("org_01OTHER");
        let third = post_json(&s, &switch).await.json();
        assert_eq!(third["organization_id"], "org_01OTHER");
        assert_eq!(verify(&s, third["access_token"].as_str().unwrap())["org_id"], "org_01OTHER");

        let stats = s.stats();
        assert_eq!((stats.refresh_grants, stats.refresh_failures), (2, 1));
    }

    #[tokio::test]
    async fn pkce_mismatch_is_invalid_grant_and_spends_the_code() {
        let s = WorkOsStandIn::start().await;
        let pkce = pkce();
        let code = sign_in(&s, &pkce, "").await;
        let wrong = random_token(64);
        assert_oauth_error(&post_json(&s, &code_body(&code, &wrong)).await, 400, "invalid_grant");
        assert_oauth_error(
            &post_json(&s, &code_body(&code, &pkce.verifier)).await,
            400,
            "invalid_grant",
        );

        let code = sign_in(&s, &pkce, "").await;
        let mut missing = code_body(&code, "");
        missing.as_object_mut().unwrap().remove("code_verifier");
        assert_oauth_error(&post_json(&s, &missing).await, 400, "invalid_request");
    }

    #[tokio::test]
    async fn wrong_client_credentials_are_401_invalid_client_and_spend_nothing() {
        let s = WorkOsStandIn::start().await;
        let pkce = pkce();
        let code = sign_in(&s, &pkce, "").await;
        let mut bad = code_body(&code, &pkce.verifier);
        bad["client_secret"] = json!("sk_test_wrong");
        assert_oauth_error(&post_json(&s, &bad).await, 401, "invalid_client");
        bad["client_secret"] = json!(API_KEY);
        bad["client_id"] = json!("client_other");
        assert_oauth_error(&post_json(&s, &bad).await, 401, "invalid_client");
        let body = post_json(&s, &code_body(&code, &pkce.verifier)).await.json();

        let token = body["refresh_token"].as_str().unwrap();
        let mut bad = refresh_body(token);
        bad.as_object_mut().unwrap().remove("client_secret");
        assert_oauth_error(&post_json(&s, &bad).await, 401, "invalid_client");
        assert_eq!(post_json(&s, &refresh_body(token)).await.status, 200);
    }

    #[tokio::test]
    async fn max_age_reauthenticates_unless_the_provider_ignores_it() {
        let s = WorkOsStandIn::start().await;
        let now = now_secs();
        // A provider that ignores max_age, with a session older than the app knew: stale.
        s.set_ignore_max_age(true);
        let stale = signed_in(&s, "&max_age=60").await;
        let stale_claims = verify(&s, stale["access_token"].as_str().unwrap());
        let stale_time = stale_claims["auth_time"].as_u64().unwrap();
        assert!(stale_time + 3000 < now, "auth_time {stale_time} should be about an hour old");
        // Asked again (max_age, prompt=login): the same session, the same old auth_time.
        for extra in ["&max_age=60", "&max_age=0", "&prompt=login"] {
            let again = verify(&s, signed_in(&s, extra).await["access_token"].as_str().unwrap());
            assert_eq!(
                (&again["sid"], &again["auth_time"]),
                (&stale_claims["sid"], &stale_claims["auth_time"])
            );
        }

        // A provider that honours max_age re-authenticates: a new session, auth_time now.
        s.set_ignore_max_age(false);
        let fresh =
            verify(&s, signed_in(&s, "&max_age=60").await["access_token"].as_str().unwrap());
        assert_ne!(fresh["sid"], stale_claims["sid"]);
        assert!(fresh["auth_time"].as_u64().unwrap() >= now);
        // Young enough for max_age, or no max_age: the session continues.
        let kept =
            verify(&s, signed_in(&s, "&max_age=600").await["access_token"].as_str().unwrap());
        assert_eq!((&kept["sid"], &kept["auth_time"]), (&fresh["sid"], &fresh["auth_time"]));
        let kept = verify(&s, signed_in(&s, "").await["access_token"].as_str().unwrap());
        assert_eq!(kept["sid"], fresh["sid"]);
        // The older session still refreshes, with its own auth_time.
        let old =
            post_json(&s, &refresh_body(stale["refresh_token"].as_str().unwrap())).await.json();
        assert_eq!(verify(&s, old["access_token"].as_str().unwrap())["auth_time"], stale_time);
        assert_eq!(s.stats().authorizations, 7);
    }

    #[tokio::test]
    async fn the_authentication_method_belongs_to_the_session() {
        let s = WorkOsStandIn::start().await;
        s.set_authentication_method("GoogleOAuth");
        let body = signed_in(&s, "").await;
        assert_eq!(body["authentication_method"], "GoogleOAuth");
        s.set_authentication_method("Password");
        let refreshed =
            post_json(&s, &refresh_body(body["refresh_token"].as_str().unwrap())).await.json();
        assert_eq!(refreshed["authentication_method"], "GoogleOAuth");
    }

    #[tokio::test]
    async fn injected_refresh_failures_leave_the_token_unspent() {
        let s = WorkOsStandIn::start().await;
        let body = signed_in(&s, "").await;
        let token = body["refresh_token"].as_str().unwrap();
        s.fail_next_refresh(503);
        let reply = post_json(&s, &refresh_body(token)).await;
        assert_eq!(reply.status, 503);
        assert!(reply.json()["message"].is_string());
        s.fail_next_refresh(429);
        let reply = post_json(&s, &refresh_body(token)).await;
        assert_eq!((reply.status, reply.header("retry-after")), (429, Some("1")));
        let reply = post_json(&s, &refresh_body(token)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let stats = s.stats();
        assert_eq!((stats.refresh_grants, stats.refresh_failures), (1, 2));
    }

    #[tokio::test]
    async fn a_slow_refresh_loses_the_race_to_nobody_but_spends_the_token_on_arrival() {
        let s = WorkOsStandIn::start().await;
        let body = signed_in(&s, "").await;
        let token = body["refresh_token"].as_str().unwrap();
        s.set_refresh_delay(300);
        let started = std::time::Instant::now();
        let request = refresh_body(token);
        let (a, b) = tokio::join!(post_json(&s, &request), post_json(&s, &request));
        assert!(started.elapsed() >= Duration::from_millis(300));
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400]);
    }

    #[tokio::test]
    async fn logout_ends_the_session_and_revocation_kills_refresh_tokens() {
        let s = WorkOsStandIn::start().await;
        let body = signed_in(&s, "").await;
        let sid = s.current_session_id().unwrap();
        let reply = get(&s, &format!("/user_management/sessions/logout?session_id={sid}&return_to=http%3A%2F%2Fapp.test%2Fbye")).await;
        assert_eq!((reply.status, reply.header("location")), (302, Some("http://app.test/bye")));
        assert_eq!(s.session_ended(&sid), Some(true));
        assert_eq!(s.current_session_id(), None);
        let refresh = post_json(&s, &refresh_body(body["refresh_token"].as_str().unwrap())).await;
        assert_oauth_error(&refresh, 400, "invalid_grant");
        let reply = get(&s, &format!("/user_management/sessions/logout?session_id={sid}")).await;
        assert_eq!(reply.header("location"), Some(s.signed_out_url().as_str()));
        assert_eq!(get(&s, "/standin/signed_out").await.status, 200);
        assert_eq!(get(&s, "/user_management/sessions/logout").await.status, 422);
        assert_eq!(s.stats().logouts, 2);

        // A new sign-in is a new session; revoking refresh tokens ends its refreshes.
        let body = signed_in(&s, "").await;
        assert_ne!(s.current_session_id().unwrap(), sid);
        s.revoke_refresh_tokens();
        let refresh = post_json(&s, &refresh_body(body["refresh_token"].as_str().unwrap())).await;
        assert_oauth_error(&refresh, 400, "invalid_grant");
    }

    #[tokio::test]
    async fn the_jwks_serves_the_key_that_verifies_access_tokens() {
        let s = WorkOsStandIn::start().await;
        let body = signed_in(&s, "").await;
        let reply = get(&s, &format!("/sso/jwks/{CLIENT_ID}")).await;
        assert_eq!(reply.status, 200);
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&reply.body).unwrap();
        let jwk = set.find(KID).expect("the kid");
        let raw = &reply.json()["keys"][0];
        assert_eq!(
            (&raw["kty"], &raw["alg"], &raw["use"]),
            (&json!("RSA"), &json!("RS256"), &json!("sig"))
        );
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_issuer(&[s.issuer()]);
        jsonwebtoken::decode::<Value>(body["access_token"].as_str().unwrap(), &key, &validation)
            .unwrap();
        assert_eq!(get(&s, "/sso/jwks/client_other").await.status, 404);
        assert_eq!(s.jwks_url(), format!("{}/sso/jwks/{CLIENT_ID}", s.base_url()));
    }

    #[tokio::test]
    async fn bad_requests_get_json_errors_never_a_panic() {
        let s = WorkOsStandIn::start().await;
        let pkce = pkce();
        let base = authorize_path(&pkce.challenge, "");
        for (path, error) in [
            (base.replace("client_id=client_standin", "client_id=client_x"), "invalid_client"),
            (
                base.replace("response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
            (base.replace("redirect_uri=", "redirect_uri=%2Fcallback&x="), "invalid_request"),
            (
                base.replace("code_challenge_method=S256", "code_challenge_method=plain"),
                "invalid_request",
            ),
            (base.replace("&code_challenge_method=S256", ""), "invalid_request"),
            (base.replace(&pkce.challenge, "short"), "invalid_request"),
            (base.replace("provider=authkit", "provider=GoogleOAuth"), "invalid_request"),
            (format!("{base}&max_age=-1"), "invalid_request"),
            (format!("{base}&state=again"), "invalid_request"),
            ("/user_management/authorize".to_owned(), "invalid_request"),
        ] {
            let reply = get(&s, &path).await;
            assert_oauth_error(&reply, 400, error);
        }
        assert_eq!(s.stats().authorizations, 0);

        let post = |ct: Option<&'static str>, body: Vec<u8>| {
            let base = s.base_url().to_owned();
            async move { http(&base, "POST", "/user_management/authenticate", ct, &body).await }
        };
        let json_ct = Some("application/json");
        for reply in [
            post(json_ct, b"{not json".to_vec()).await,
            post(json_ct, b"[1,2]".to_vec()).await,
            post(json_ct, br#"{"grant_type":"refresh_token","refresh_token":7}"#.to_vec()).await,
            post(json_ct, br#"{"grant_type":"password"}"#.to_vec()).await,
            post(json_ct, br#"{}"#.to_vec()).await,
            post(Some("text/plain"), b"grant_type=refresh_token".to_vec()).await,
            post(
                Some("application/x-www-form-urlencoded"),
                b"grant_type=refresh_token&x=%zz".to_vec(),
            )
            .await,
        ] {
            assert_oauth_error(&reply, 400, "invalid_request");
        }
        let reply = post(json_ct, vec![b' '; BODY_LIMIT + 1]).await;
        assert_eq!(reply.status, 413);
        assert!(reply.json()["message"].is_string());

        // A form body works as JSON does.
        let form = format!(
            "grant_type=refresh_token&client_id={CLIENT_ID}&client_secret={API_KEY}&refresh_token=nope"
        );
        let reply = post(Some("application/x-www-form-urlencoded"), form.into_bytes()).await;
        assert_oauth_error(&reply, 400, "invalid_grant");

        let reply = get(&s, "/user_management/users").await;
        assert_eq!(reply.status, 404);
        assert!(reply.json()["message"].is_string());
        let reply = http(s.base_url(), "DELETE", "/user_management/authenticate", None, b"").await;
        assert_eq!(reply.status, 405);
        assert!(reply.json()["message"].is_string());
    }

    #[test]
    fn helpers() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400 + 3661), "2000-02-29T01:01:01.000Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20.000Z");
        for secs in [0, 951_782_400 + 3661, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_iso8601(&iso8601(secs)), Some(secs));
        }
        assert_eq!(parse_iso8601("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_iso8601("2023-11-14 22:13:20"), None);
        // RFC 7636 appendix B.
        let challenge =
            URL_SAFE_NO_PAD.encode(sha256(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(is_absolute_url("https://app.test/cb?x=1") && is_absolute_url("myapp://callback"));
        assert!(
            !is_absolute_url("/cb")
                && !is_absolute_url("https:///cb")
                && !is_absolute_url("https://a/#f")
        );
        assert_eq!(percent_decode(&percent_encode("a b/ü&=")).unwrap(), "a b/ü&=");
    }

    /// `GET /events`: the API key, the type filter, `range_start`, `limit`, the `after`
    /// cursor and `list_metadata.after`, and WorkOS's 422 for what it cannot read.
    #[tokio::test]
    async fn events_are_listed_in_order_after_a_cursor_for_the_api_key() {
        let s = WorkOsStandIn::start().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let list = |query: &str, key: &str| {
            let request = client.get(format!("{}/events?{query}", s.base_url())).bearer_auth(key);
            async move {
                let r = request.send().await.unwrap();
                (
                    r.status().as_u16(),
                    serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap(),
                )
            }
        };
        let a = s.emit_session_revoked("session_01A");
        s.emit_event("session.created", json!({ "id": "session_01B" }));
        let c = s.emit_user_deleted("user_01C");
        let types = "events=session.revoked%2Cuser.deleted";
        let ids = |v: &Value| -> Vec<String> {
            v["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().into()).collect()
        };
        let (status, page) = list(types, API_KEY).await;
        assert_eq!(status, 200);
        assert_eq!(ids(&page), [a["id"].as_str().unwrap(), c["id"].as_str().unwrap()]);
        assert_eq!(page["list_metadata"]["after"], c["id"]);
        let (_, page) = list(&format!("{types}&limit=1"), API_KEY).await;
        assert_eq!(page["list_metadata"]["after"], a["id"]);
        let after = format!("{types}&after={}", a["id"].as_str().unwrap());
        assert_eq!(ids(&list(&after, API_KEY).await.1), [c["id"].as_str().unwrap()]);
        let (_, page) =
            list(&format!("{types}&after={}", c["id"].as_str().unwrap()), API_KEY).await;
        assert_eq!((ids(&page).len(), &page["list_metadata"]["after"]), (0, &Value::Null));
        let (_, page) =
            list(&format!("{types}&range_start=2999-01-01T00%3A00%3A00.000Z"), API_KEY).await;
        assert_eq!(ids(&page).len(), 0);
        assert_eq!(list(types, "sk_test_wrong").await.0, 401);
        for bad in [
            "limit=0",
            "limit=101",
            "after=event_unknown",
            "range_start=yesterday",
            "limit=1&limit=2",
        ] {
            assert_eq!(list(bad, API_KEY).await.0, 422, "{bad}");
        }
        assert_eq!(s.stats().events_calls, 11);
    }

    /// The real `@workos-inc/node` client against the stand-in (tests/interop/workos_client.mjs).
    #[cfg(feature = "__interop")]
    #[tokio::test]
    async fn the_workos_node_client_signs_in_refreshes_and_signs_out() {
        use crate::interop_support::{require, run};

        require("@workos-inc/node");
        require("jose");
        let s = WorkOsStandIn::start().await;
        // The client retries a 503 by itself, and the token survives the failed attempt.
        s.fail_next_refresh(503);
        let args = [s.base_url().to_owned(), s.client_id().to_owned(), s.api_key().to_owned()];
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run("workos_client.mjs", &args)
        })
        .await
        .unwrap();
        println!("{out}");
        let report: Value =
            serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["user_id"], USER_ID);
        assert_eq!(report["authentication_method"], "Password");
        let stats = s.stats();
        assert_eq!(stats.authorizations, 1);
        assert_eq!((stats.code_grants, stats.code_failures), (1, 1));
        assert_eq!(stats.refresh_grants, 2, "{stats:?}");
        // The injected 503, the spent token (twice), the wrong API key, and after logout.
        assert_eq!(stats.refresh_failures, 5, "{stats:?}");
        assert_eq!(stats.logouts, 1);
        let sid = report["session_id"].as_str().unwrap();
        assert_eq!(s.session_ended(sid), Some(true));
    }
}
