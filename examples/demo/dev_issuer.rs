//! The built-in development issuer, used when no key is configured: it signs sessions with a
//! random HS256 key generated at start (nothing outlives the process) and serves a sign-in page,
//! a token endpoint for curl, and a step-up page. A stand-in for your identity provider.
//!
//! Its tokens always carry `amr` (`["pwd"]`, or `["pwd","otp","mfa"]` after MFA), `acr`, a
//! fresh `auth_time` and `role` `admin` (`GET /dev/token?role=...` names another). With `AUTH_IRON_PASSWORD` it hands them out sealed in AuthKit-style
//! `wos-session` cookies; real WorkOS access tokens carry no `amr`, so with WorkOS itself
//! `RequireMfa` denies every session (see docs/authkit.md).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords, SessionUser};
use axum_session_mfa::{Algorithm, AuthContext, Key, safe_return_to};
use jsonwebtoken::{EncodingKey, Header};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;

use crate::pages;

/// The `iss` of the development issuer's tokens.
pub const ISSUER: &str = "urn:axum-session-mfa:demo-issuer";

/// The `role` of the development issuer's tokens unless `/dev/token` is asked for another.
const DEFAULT_ROLE: &str = "admin";

/// Responses that carry a session or show one must not be kept by any cache.
const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// Signs sessions and sets them as cookies.
pub struct DevIssuer {
    key: EncodingKey,
    cookie: String,
    /// With `AUTH_IRON_PASSWORD`: hand out AuthKit-style `wos-session` cookies (iron seals).
    authkit: Option<IronPasswords>,
    /// With `AUTH_RESOURCE_URL`: the `aud` of every token (the API's resource identifier).
    audience: Option<String>,
}

impl DevIssuer {
    /// A fresh issuer, and the key that verifies its tokens.
    pub fn new(
        cookie: &str,
        authkit: Option<IronPasswords>,
        audience: Option<String>,
    ) -> (Arc<Self>, Key) {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let key = Key::hmac(Algorithm::HS256, &secret).expect("32 bytes are enough for HS256");
        let signing = EncodingKey::from_secret(&secret);
        let dev = Self { key: signing, cookie: cookie.to_owned(), authkit, audience };
        (Arc::new(dev), key)
    }

    /// Signs a session; `sid` is kept on step-up (same session, stronger and fresher proof).
    fn mint(&self, mfa: bool, sid: Option<&str>, role: &str, scope: Option<&str>) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let sid = sid.map(str::to_owned).unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            rand::rng().fill_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("session_{hex}")
        });
        let amr = if mfa { json!(["pwd", "otp", "mfa"]) } else { json!(["pwd"]) };
        let claims = json!({
            "iss": ISSUER,
            "sub": "user_demo",
            "sid": sid,
            "org_id": "org_demo",
            "role": role,
            "permissions": ["reports:read"],
            "amr": amr,
            "acr": if mfa { "urn:demo:mfa" } else { "urn:demo:pwd" },
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
        });
        let mut claims = claims;
        if let Some(audience) = &self.audience {
            claims["aud"] = json!(audience);
        }
        if let Some(scope) = scope {
            claims["scope"] = json!(scope);
        }
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".to_owned());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("HS256 signing cannot fail")
    }

    fn set_cookie(&self, token: &str, max_age: u64) -> HeaderValue {
        let sealed;
        let value = match &self.authkit {
            Some(passwords) if !token.is_empty() => {
                let user = SessionUser::new("user_demo");
                sealed = AuthKitSession::new(token, user).seal(passwords).expect("sealing works");
                sealed.as_str()
            }
            _ => token,
        };
        let cookie =
            format!("{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}", self.cookie);
        HeaderValue::try_from(cookie).expect("a JWT is a valid header value")
    }

    /// Redirects to `to` with the session cookie set.
    fn signed_in(&self, to: &str, mfa: bool, sid: Option<&str>) -> Response {
        let mut response = Redirect::to(to).into_response();
        let cookie = self.set_cookie(&self.mint(mfa, sid, DEFAULT_ROLE, None), 3600);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
        response
    }
}

/// `GET /`, `POST /dev/login`, `POST /dev/logout`, `GET /dev/token`, `GET`/`POST /dev/step-up`.
pub fn routes(dev: Arc<DevIssuer>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/dev/login", post(login))
        .route("/dev/logout", post(logout))
        .route("/dev/token", get(token))
        .route("/dev/step-up", get(step_up_page).post(step_up))
        .with_state(dev)
}

#[derive(Deserialize)]
struct ReturnTo {
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
struct LoginForm {
    method: String,
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    mfa: bool,
    /// The token's `role` (default `admin`): `role=member` for a user who is not an admin.
    role: Option<String>,
    /// The token's `scope` (space separated), for the routes an API guards with scopes.
    scope: Option<String>,
}

#[derive(Deserialize)]
struct StepUpForm {
    #[serde(default)]
    return_to: String,
    code: String,
}

/// The sign-in page; the layer's `login_redirect` sends signed-out browsers here.
async fn home(ctx: Option<AuthContext>, Query(q): Query<ReturnTo>) -> impl IntoResponse {
    let site = pages::Site { sign_in: pages::SignIn::Dev, workos: false };
    (NO_STORE, pages::home(&site, ctx.as_ref(), safe_return_to(&q.return_to).unwrap_or("/")))
}

async fn login(State(dev): State<Arc<DevIssuer>>, Form(form): Form<LoginForm>) -> Response {
    // Back where the browser was sent from, but only ever to a path on this site.
    dev.signed_in(safe_return_to(&form.return_to).unwrap_or("/"), form.method == "mfa", None)
}

async fn logout(State(dev): State<Arc<DevIssuer>>) -> Response {
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, dev.set_cookie("", 0));
    response
}

/// A bare token for curl: `GET /dev/token?mfa=true`, `GET /dev/token?mfa=true&role=member`,
/// `GET /dev/token?scope=files:read`.
async fn token(
    State(dev): State<Arc<DevIssuer>>,
    Query(q): Query<TokenQuery>,
) -> impl IntoResponse {
    let role = q.role.as_deref().unwrap_or(DEFAULT_ROLE);
    (NO_STORE, dev.mint(q.mfa, None, role, q.scope.as_deref()))
}

/// "Enter your one-time code"; the layer's `step_up_redirect` sends browsers here.
async fn step_up_page(ctx: Option<AuthContext>, Query(q): Query<ReturnTo>) -> Response {
    let Some(ctx) = ctx else { return Redirect::to("/").into_response() };
    pages::step_up(&ctx, safe_return_to(&q.return_to).unwrap_or("/")).into_response()
}

/// Upgrades the current session: new cookie with `mfa` and a fresh `auth_time`, same `sid`.
async fn step_up(
    State(dev): State<Arc<DevIssuer>>,
    ctx: Option<AuthContext>,
    Form(form): Form<StepUpForm>,
) -> Response {
    let Some(ctx) = ctx else { return Redirect::to("/").into_response() };
    let return_to = safe_return_to(&form.return_to).unwrap_or("/");
    if form.code.len() != 6 || !form.code.bytes().all(|b| b.is_ascii_digit()) {
        let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        return Redirect::to(&format!("/dev/step-up?return_to={encoded}")).into_response();
    }
    dev.signed_in(return_to, true, ctx.sid())
}
