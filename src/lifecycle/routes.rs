//! The routes the application mounts: sign-in, callback, sign-out and the session endpoint.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::Inner;
use super::cookies;
use super::flow::{LoginState, challenge, same};
use super::provider::{AuthorizeRequest, GrantError, Tokens, unverified_claims};
use super::renew::{ID_TOKEN_KEY, apply};
use crate::authkit::{AuthKitSession, SIGN_IN_KEY, SessionUser};
use crate::policy::FUTURE_AUTH_TIME_SKEW;
use crate::problem::Problem;
use crate::reject::{SignInError, reject_request};
use crate::{AuthContext, AuthOutcome, RejectionKind, audit, safe_return_to};

/// Seconds an `auth_time` may exceed the `max_age` asked for: clock skew between the provider
/// and this service, and the time from the provider's sign-in to this callback.
const MAX_AGE_TOLERANCE: u64 = 30;

/// Longest `acr_values` accepted on the sign-in route.
const MAX_ACR_VALUES: usize = 512;

pub(super) fn router<S>(inner: Arc<Inner>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let paths = inner.paths.clone();
    let router = Router::new()
        .route(&paths.login, get(login))
        .route(&paths.callback, get(callback))
        .route(&paths.logout, get(logout).post(logout))
        .route(&paths.session, get(session));
    #[cfg(feature = "revocation")]
    let router = match inner.revocations.is_some() {
        true => router.route(&paths.backchannel, axum::routing::post(super::backchannel::logout)),
        false => router,
    };
    #[cfg(feature = "revocation")]
    let router = match inner.shared_signals.is_some() {
        true => router.route(&paths.ssf, axum::routing::post(super::ssf::receive)),
        false => router,
    };
    #[cfg(feature = "revocation")]
    let router = match &inner.workos_webhook {
        Some(hook) => router.route(&hook.path, axum::routing::post(super::workos_events::webhook)),
        None => router,
    };
    router.with_state(inner)
}

/// Most parameters any of these routes reads; a longer query is refused.
const MAX_PARAMS: usize = 16;

/// The query's parameters; `None` for a parameter given twice or too many parameters.
pub(super) fn params(query: Option<&str>) -> Option<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        // At most MAX_PARAMS entries: the duplicate scan stays small.
        if pairs.len() == MAX_PARAMS || pairs.iter().any(|(other, _)| *other == k) {
            return None;
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    Some(pairs)
}

/// Longest `return_to` kept (a longer one would push the attempt cookie past what browsers
/// store); a longer one returns to `/`.
const MAX_RETURN_TO: usize = 1024;

pub(super) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Answers a refusal of one of these routes through the layer's [`Rejection`](crate::Rejection):
/// its `on_reject` and problem type base apply; by default a small page for browsers (with
/// "Try again"), problem+json otherwise, never cached. The detail never holds token material.
pub(super) fn refuse(parts: &Parts, error: SignInError) -> Response {
    let kind = RejectionKind::SignIn(error);
    reject_request(kind, &parts.method, &parts.uri, &parts.headers, &parts.extensions)
        .into_response()
}

/// A refusal whose "Try again" starts a new sign-in.
fn fail(inner: &Inner, parts: &Parts, problem: Problem, detail: &str) -> Response {
    refuse(parts, SignInError::new(problem, detail).retry(inner.paths.login.clone()))
}

/// The sign-in route again with what the attempt asked for (`return_to`, `max_age`,
/// `acr_values`), so "Try again" after a refused step-up is the same step-up.
fn retry_link(inner: &Inner, flow: &LoginState) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("return_to", &flow.return_to);
    if let Some(max_age) = flow.max_age {
        q.append_pair("max_age", &max_age.to_string());
    }
    if let Some(acr) = &flow.acr_values {
        q.append_pair("acr_values", acr);
    }
    format!("{}?{}", inner.paths.login, q.finish())
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::try_from(location) {
        headers.insert(LOCATION, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /auth/login?return_to=&max_age=&acr_values=&step_up=1`
async fn login(
    State(inner): State<Arc<Inner>>,
    RawQuery(query): RawQuery,
    parts: Parts,
) -> Response {
    let bad = |problem: Problem, detail: &str| fail(&inner, &parts, problem, detail);
    let Some(q) = params(query.as_deref()) else {
        return bad(
            Problem::DuplicateParameter,
            "a query parameter was repeated, or there are too many",
        );
    };
    let return_to = param(&q, "return_to")
        .and_then(safe_return_to)
        .filter(|r| r.len() <= MAX_RETURN_TO)
        .unwrap_or("/")
        .to_owned();
    let max_age = match param(&q, "max_age") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= 10 * 365 * 24 * 3600 => Some(n),
            _ => return bad(Problem::InvalidMaxAge, "max_age must be a whole number of seconds"),
        },
    };
    let acr_values = match param(&q, "acr_values") {
        None | Some("") => None,
        Some(v) if v.len() <= MAX_ACR_VALUES && v.bytes().all(|b| (b' '..=b'~').contains(&b)) => {
            Some(v.to_owned())
        }
        Some(_) => {
            return bad(Problem::InvalidAcrValues, "acr_values must be short printable text");
        }
    };
    // A step-up from a policy without max_age asks for a fresh sign-in (max_age=0, which
    // OpenID defines as prompt=login), so the provider cannot answer from its session.
    let step_up = param(&q, "step_up") == Some("1");
    let max_age = max_age.or(step_up.then_some(0));
    let Some(flow) = LoginState::new(return_to, max_age, acr_values, inner.clock.now()) else {
        return bad(Problem::RngFailed, "try again");
    };
    let Some(sealed) = flow.seal(&inner.passwords, inner.clock.now_millis()) else {
        return bad(Problem::RngFailed, "try again");
    };
    let url = inner.idp.authorize_url(&AuthorizeRequest {
        redirect_uri: &inner.redirect_uri,
        state: &flow.state,
        nonce: &flow.nonce,
        code_challenge: &challenge(&flow.verifier),
        max_age: flow.max_age,
        acr_values: flow.acr_values.as_deref(),
    });
    let mut response = redirect(url.as_str());
    response.headers_mut().append(SET_COOKIE, inner.cookie.flow(&flow.state, sealed));
    response
}

/// `GET /auth/callback?code=&state=` (or `?error=`).
async fn callback(
    State(inner): State<Arc<Inner>>,
    RawQuery(query): RawQuery,
    parts: Parts,
) -> Response {
    let Some(q) = params(query.as_deref()) else {
        audit::sign_in_failed("duplicate_parameter", false);
        let detail = "a query parameter was repeated, or there are too many";
        return fail(&inner, &parts, Problem::DuplicateParameter, detail);
    };
    // The state names the attempt: without it nothing is touched, not even an attempt cookie.
    let Some(state) = param(&q, "state").filter(|s| !s.is_empty()) else {
        audit::sign_in_failed("state_missing", false);
        return fail(&inner, &parts, Problem::StateMissing, "the callback carries no state");
    };
    let mut response = complete(&inner, &q, state, &parts).await;
    // The attempt is single-use, whatever happened.
    response.headers_mut().append(SET_COOKIE, inner.cookie.clear_flow(state));
    response
}

/// Why a callback was refused, and what it says to people.
type Refusal = (Problem, String);

fn refusal(problem: Problem, detail: impl Into<String>) -> Refusal {
    (problem, detail.into())
}

/// The callback: the attempt it completes, the provider's tokens for its code, the step-up it
/// asked for, then the sealed session.
async fn complete(inner: &Inner, q: &[(String, String)], state: &str, parts: &Parts) -> Response {
    let flow = match open_attempt(inner, state, &parts.headers).await {
        Ok(flow) => flow,
        Err((problem, detail)) => {
            audit::sign_in_failed(problem.code(), false);
            return fail(inner, parts, problem, &detail);
        }
    };
    let step_up = flow.max_age.is_some() || flow.acr_values.is_some();
    // From here on the attempt is known: "Try again" repeats it.
    let refuse_attempt = |(problem, detail): Refusal, step_up: bool| {
        audit::sign_in_failed(problem.code(), step_up);
        let retry = retry_link(inner, &flow);
        refuse(parts, SignInError::new(problem, &detail).retry(retry))
    };
    let (tokens, ctx, user) = match signed_in(inner, q, &flow).await {
        Ok(signed_in) => signed_in,
        Err(refused) => return refuse_attempt(refused, step_up),
    };
    if let Err(refused) = check_step_up(&flow, &ctx, inner.clock.now()) {
        return refuse_attempt(refused, true);
    }
    let sid = ctx.sid().map(str::to_owned);
    let mut session = apply(AuthKitSession::new(String::new(), user), tokens);
    let Some(sign_in) = super::flow::random_token() else {
        return refuse_attempt(refusal(Problem::RngFailed, "try again"), step_up);
    };
    session.extra.insert(SIGN_IN_KEY.to_owned(), Value::String(sign_in));
    let Ok(sealed) = session.seal(&inner.passwords) else {
        return refuse_attempt(refusal(Problem::RngFailed, "try again"), step_up);
    };
    audit::signed_in(ctx.sub(), sid.as_deref(), step_up);
    let mut response = redirect(&flow.return_to);
    response.headers_mut().append(SET_COOKIE, inner.cookie.session(sealed));
    response
}

/// The sign-in attempt this callback completes: its cookie (once), sealed by us, for this
/// `state`, never completed before.
async fn open_attempt(
    inner: &Inner,
    state: &str,
    headers: &HeaderMap,
) -> Result<LoginState, Refusal> {
    let flow = match cookies::read(headers, &inner.cookie.flow_name(state)) {
        Err(()) => {
            return Err(refusal(Problem::LoginStateConflict, "the sign-in cookie appears twice"));
        }
        Ok(None) => {
            let detail = "no sign-in was started here, or it was already used";
            return Err(refusal(Problem::LoginStateMissing, detail));
        }
        Ok(Some(v)) => v,
    };
    let Some(flow) = LoginState::open(&flow, &inner.passwords, inner.clock.now_millis()) else {
        let detail = "the sign-in attempt expired or is not valid";
        return Err(refusal(Problem::LoginStateInvalid, detail));
    };
    if !same(state, &flow.state) {
        let detail = "the callback does not belong to this sign-in";
        return Err(refusal(Problem::StateMismatch, detail));
    }
    if !first_use_of_state(inner, &flow.state).await {
        let detail = "this sign-in attempt was already completed";
        return Err(refusal(Problem::StateReplayed, detail));
    }
    Ok(flow)
}

/// The provider's answer to the attempt: its tokens for the code, the access token verified as
/// the layer will verify it, and the user (from WorkOS, or from a verified ID token bound to
/// the attempt's `nonce`), all naming one subject.
async fn signed_in(
    inner: &Inner,
    q: &[(String, String)],
    flow: &LoginState,
) -> Result<(Tokens, AuthContext, SessionUser), Refusal> {
    if let Some(error) = param(q, "error") {
        let code: String =
            error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
        return Err(refusal(Problem::ProviderError, format!("the provider answered: {code}")));
    }
    let Some(code) = param(q, "code").filter(|c| !c.is_empty()) else {
        return Err(refusal(Problem::CodeMissing, "the callback carries no authorization code"));
    };
    let tokens = match inner.idp.exchange_code(code, &flow.verifier, &inner.redirect_uri).await {
        Ok(tokens) => tokens,
        Err(GrantError::Refused { error }) => {
            let detail = format!("the provider refused the code: {error}");
            return Err(refusal(Problem::CodeRejected, detail));
        }
        Err(GrantError::Unavailable { .. }) => {
            let detail = "the provider could not be reached; try again";
            return Err(refusal(Problem::ProviderUnavailable, detail));
        }
    };
    let ctx = inner.access.verify(&tokens.access_token).await.map_err(|e| {
        let detail = format!("the provider's access token was refused: {}", e.code());
        refusal(Problem::InvalidAccessToken, detail)
    })?;
    let mut user: Option<SessionUser> = tokens.user.clone();
    if !inner.idp.is_workos() {
        let Some(id_token) = tokens.id_token.as_deref() else {
            return Err(refusal(Problem::IdTokenMissing, "the provider returned no ID token"));
        };
        let id = inner.id_tokens.verify(id_token).await.map_err(|e| {
            refusal(Problem::InvalidIdToken, format!("the ID token was refused: {}", e.code()))
        })?;
        if id.claims().get("nonce").and_then(Value::as_str).is_none_or(|n| !same(n, &flow.nonce)) {
            let detail = "the ID token does not belong to this sign-in";
            return Err(refusal(Problem::NonceMismatch, detail));
        }
        if id.sub() != ctx.sub() {
            let detail = "the ID token and access token name different users";
            return Err(refusal(Problem::SubjectMismatch, detail));
        }
        user = unverified_claims(id_token).as_ref().and_then(super::provider::user_from_claims);
    }
    let Some(user) = user.filter(|u| u.id == ctx.sub()) else {
        let detail = "the provider's user is not the access token's subject";
        return Err(refusal(Problem::SubjectMismatch, detail));
    };
    Ok((tokens, ctx, user))
}

/// The step-up the attempt asked for, judged on the access token as the guards will judge it
/// (a provider that puts `auth_time` or `acr` only in the ID token would pass here and fail
/// every guard).
fn check_step_up(flow: &LoginState, ctx: &AuthContext, now: u64) -> Result<(), Refusal> {
    if let Some(max_age) = flow.max_age {
        match ctx.auth_time() {
            None => {
                let detail = "the provider did not say when you signed in";
                return Err(refusal(Problem::AuthTimeMissing, detail));
            }
            Some(t) if t > now.saturating_add(FUTURE_AUTH_TIME_SKEW.as_secs()) => {
                let detail = "the provider's auth_time lies in the future";
                return Err(refusal(Problem::AuthTimeInFuture, detail));
            }
            Some(t) if now.saturating_sub(t) > max_age.saturating_add(MAX_AGE_TOLERANCE) => {
                let detail = "the provider did not ask you to sign in again";
                return Err(refusal(Problem::ReauthenticationMissing, detail));
            }
            Some(_) => {}
        }
    }
    if let Some(asked) = &flow.acr_values
        && !asked.split(' ').any(|v| Some(v) == ctx.acr())
    {
        let detail = "the provider did not authenticate you as strongly as required";
        return Err(refusal(Problem::AcrNotSatisfied, detail));
    }
    Ok(())
}

/// `true` the first time an attempt's `state` reaches a callback: across instances when the
/// shared state is Redis (a replayed attempt cookie sent to another instance is refused too),
/// else (or when Redis cannot answer) in this process.
async fn first_use_of_state(inner: &Inner, state: &str) -> bool {
    let local = inner.used_states.first_use(state, inner.clock.now());
    if !inner.store.is_shared() {
        return local;
    }
    let key = format!("state:{}", super::flow::hex_sha256(state));
    let ttl = super::flow::FLOW_TTL + std::time::Duration::from_secs(60);
    match inner.store.put_new(&key, "1", ttl).await {
        Ok(first) => first && local,
        Err(_) => local,
    }
}

/// `GET` or `POST /auth/logout`.
async fn logout(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    // Every session cookie the request carries that this service sealed: a duplicate (planted
    // from a sibling domain, or a stale one) must not keep the real one from being signed out.
    let sessions: Vec<AuthKitSession> = cookies::values(&headers, &inner.cookie.name)
        .iter()
        .filter_map(|c| AuthKitSession::open(c, &inner.passwords, inner.clock.now_millis()).ok())
        .collect();
    for session in &sessions {
        let claims = unverified_claims(&session.access_token);
        let sid = claims.as_ref().and_then(|c| c.get("sid")).and_then(Value::as_str);
        audit::signed_out(&session.user.id, sid);
        sign_out(&inner, session, sid).await;
    }
    let location = match sessions.first() {
        None => inner.post_logout.clone(),
        Some(session) => {
            let claims = unverified_claims(&session.access_token);
            let sid = claims.as_ref().and_then(|c| c.get("sid")).and_then(Value::as_str);
            let id_token = session.extra.get(ID_TOKEN_KEY).and_then(Value::as_str);
            inner
                .idp
                .logout_url(sid, id_token, &inner.post_logout)
                .map_or_else(|| inner.post_logout.clone(), |u| u.to_string())
        }
    };
    let mut response = redirect(&location);
    response.headers_mut().append(SET_COOKIE, inner.cookie.clear_session());
    response
}

/// Ends a session everywhere before sign-out answers: every instance refuses its cookies (the
/// sign-in id, so also a cookie a refresh still in flight produces) and the tokens of its
/// `sid` issued so far; the refresh of its token is ended here and on every instance (one
/// still running discards its result); the provider is told (WorkOS: the session; OpenID:
/// each refresh token, the one another instance just rotated to included).
async fn sign_out(inner: &Inner, session: &AuthKitSession, sid: Option<&str>) {
    #[cfg(feature = "revocation")]
    if let Some(revocations) = &inner.revocations
        && let Err(e) = revocations.sign_out(sid, session.sign_in_id()).await
    {
        tracing::warn!(error = %e, "sign-out: the revocation was not shared yet");
    }
    let mut tokens = Vec::new();
    if let Some(rt) = &session.refresh_token {
        tokens.push(rt.clone());
        if let Some(done) = inner.flights.end(rt.expose(), Err(GrantError::ended()))
            && let Ok(refreshed) = &*done
            && let Some(rotated) = &refreshed.session.refresh_token
        {
            tokens.push(rotated.clone());
        }
        if inner.store.is_shared() {
            let lease = super::refresh::Lease::new(inner.store.clone(), rt.expose());
            if let Some(rotated) = lease.end(&inner.passwords, &inner.clock).await {
                tokens.push(rotated);
            }
        }
    }
    let (idp, sid) = (inner.idp.clone(), sid.map(str::to_owned));
    tokio::spawn(async move { idp.end_session(sid.as_deref(), &tokens).await });
}

/// `GET /auth/session`: what the browser may know about its session.
async fn session(parts: Parts) -> Response {
    let body = match parts.extensions.get::<AuthOutcome>().and_then(AuthOutcome::context) {
        None => json!({ "authenticated": false }),
        Some(ctx) => json!({
            "authenticated": true,
            "user": ctx.user(),
            "sub": ctx.sub(),
            "sid": ctx.sid(),
            "org_id": ctx.org_id(),
            "amr": ctx.amr(),
            "acr": ctx.acr(),
            "auth_time": ctx.auth_time(),
            "authentication_method": ctx.authentication_method(),
            "expires_at": ctx.exp(),
        }),
    };
    let mut response = body.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
