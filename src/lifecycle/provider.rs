//! [`IdentityProvider`]: the client side of the provider's sign-in endpoints (WorkOS AuthKit or
//! any OpenID Provider): the authorization URL, the code and refresh grants, the logout URL.

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use http::header::RETRY_AFTER;
use reqwest::{Client, Url, redirect};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::authkit::{Impersonator, RefreshToken, SessionUser};
use crate::jwks::{DiscoveryError, IssuerKeys, JwksKeys, JwksOptions, UrlError};
use crate::keys::discovery;
use crate::keys::http::parse_url;

/// The WorkOS API everyone uses unless told otherwise.
pub const WORKOS_API: &str = "https://api.workos.com";

/// The scopes asked of an OpenID Provider unless [`OpenIdProvider::scopes`] says otherwise.
pub const DEFAULT_SCOPES: &str = "openid profile email offline_access";

/// The OAuth error of a dead refresh token.
const INVALID_GRANT: &str = "invalid_grant";

/// A refresh answered for another `sub` or `iss` than the session's (OpenID Connect Core 12.2).
pub(crate) const SUBJECT_CHANGED: &str = "subject_changed";

/// Largest token-endpoint response read, in bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Largest page of WorkOS events read, in bytes (100 events of a few KiB each).
#[cfg(feature = "revocation")]
const MAX_EVENTS_BYTES: usize = 1024 * 1024;

/// A client secret or API key: its `Debug` is redacted and it never serializes.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why an [`IdentityProvider`] could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProviderError {
    /// A URL (API base, issuer, endpoint) is not allowed: `https`, or `http` on loopback only.
    Url(UrlError),
    /// OpenID discovery failed.
    Discovery(DiscoveryError),
    /// The discovery document lacks an endpoint the sign-in flow needs.
    MissingEndpoint(&'static str),
    /// A client id, secret or other value is empty or malformed.
    Invalid(&'static str),
    /// The HTTP client could not be built.
    Client(String),
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => e.fmt(f),
            Self::Discovery(e) => e.fmt(f),
            Self::MissingEndpoint(name) => {
                write!(f, "the provider's discovery document has no `{name}`")
            }
            Self::Invalid(what) => write!(f, "invalid provider setting: {what}"),
            Self::Client(e) => write!(f, "cannot build the HTTP client: {e}"),
        }
    }
}

impl std::error::Error for ProviderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Url(e) => Some(e),
            Self::Discovery(e) => Some(e),
            _ => None,
        }
    }
}

impl From<UrlError> for ProviderError {
    fn from(e: UrlError) -> Self {
        Self::Url(e)
    }
}

/// How the client authenticates at an OpenID Provider's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// HTTP Basic (RFC 6749 section 2.3.1), the default.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

#[derive(Debug, Clone)]
// One value per provider, built once: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    WorkOs {
        api: Url,
    },
    Oidc {
        authorization: Url,
        token: Url,
        end_session: Option<Url>,
        revocation: Option<Url>,
        auth: ClientAuth,
        scopes: String,
        resource: Option<String>,
        audience: Option<String>,
    },
}

/// The identity provider that signs users in: WorkOS AuthKit ([`workos`](Self::workos)) or any
/// OpenID Provider ([`OpenIdProvider::discover`]), with this application's client credentials. Give it to
/// [`Sessions::builder`](super::Sessions::builder).
///
/// Every URL must be `https`, except `http` to a loopback address (local providers, tests).
/// The client secret (WorkOS: the API key) is redacted in `Debug` and sent only to the token
/// endpoint.
#[derive(Clone)]
#[must_use]
pub struct IdentityProvider {
    kind: Kind,
    client_id: String,
    secret: Secret,
    keys: IssuerKeys,
    http: Client,
}

impl fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .field("issuers", &self.keys.issuers())
            .finish_non_exhaustive()
    }
}

/// A token-endpoint client: no redirects (a token endpoint never redirects; following one
/// would replay the secret elsewhere), no proxy, bounded time.
fn http_client() -> Result<Client, ProviderError> {
    Client::builder()
        .no_proxy()
        .redirect(redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("axum-session-mfa/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProviderError::Client(e.to_string()))
}

fn non_empty(value: &str, what: &'static str) -> Result<(), ProviderError> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(ProviderError::Invalid(what));
    }
    Ok(())
}

/// An OpenID Provider found by discovery, with what only an OpenID Provider has (scopes, an
/// RFC 8707 resource, a required audience). Give it to
/// [`Sessions::builder`](super::Sessions::builder), which takes it as an [`IdentityProvider`].
///
/// WorkOS has none of these options, so they cannot be set for it:
///
/// ```compile_fail
/// use axum_session_mfa::lifecycle::IdentityProvider;
/// let workos = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
/// let _ = workos.resource("https://api.example.com"); // no such method
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct OpenIdProvider(IdentityProvider);

impl From<OpenIdProvider> for IdentityProvider {
    fn from(provider: OpenIdProvider) -> Self {
        provider.0
    }
}

impl OpenIdProvider {
    /// Any OpenID Provider, by discovery from its issuer URL: the document names the
    /// authorization, token and (optional) end-session endpoints and the key set; its `issuer`
    /// must equal `issuer` exactly. The client authenticates with its secret (HTTP Basic, or
    /// `client_secret_post` when that is all the provider supports). Scopes default to
    /// [`DEFAULT_SCOPES`].
    ///
    /// ```no_run
    /// use axum_session_mfa::lifecycle::OpenIdProvider;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = OpenIdProvider::discover("https://login.example.com", "my-app", "secret")
    ///     .await?
    ///     .resource("https://api.example.com");
    /// # let _ = idp; Ok(()) }
    /// ```
    pub async fn discover(
        issuer: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, ProviderError> {
        let (client_id, client_secret) = (client_id.into(), client_secret.into());
        non_empty(&client_id, "the client id is empty")?;
        non_empty(&client_secret, "the client secret is empty")?;
        let options = JwksOptions::default();
        let meta = discovery::discover_metadata(issuer, &options)
            .await
            .map_err(ProviderError::Discovery)?;
        let authorization = meta
            .authorization_endpoint
            .ok_or(ProviderError::MissingEndpoint("authorization_endpoint"))?;
        let token = meta.token_endpoint.ok_or(ProviderError::MissingEndpoint("token_endpoint"))?;
        let auth = match meta.token_endpoint_auth_methods {
            Some(methods)
                if !methods.iter().any(|m| m == "client_secret_basic")
                    && methods.iter().any(|m| m == "client_secret_post") =>
            {
                ClientAuth::Post
            }
            _ => ClientAuth::Basic,
        };
        let keys = JwksKeys::from_url(meta.jwks_uri, options)
            .map_err(|e| ProviderError::Discovery(DiscoveryError::Jwks(e)))?;
        Ok(Self(IdentityProvider {
            kind: Kind::Oidc {
                authorization,
                token,
                end_session: meta.end_session_endpoint,
                revocation: meta.revocation_endpoint,
                auth,
                scopes: DEFAULT_SCOPES.to_owned(),
                resource: None,
                audience: None,
            },
            client_id,
            secret: Secret::new(client_secret),
            keys: IssuerKeys::new(keys, meta.issuer),
            http: http_client()?,
        }))
    }

    /// The scopes to ask an OpenID Provider for (default [`DEFAULT_SCOPES`]; keep `openid`, and
    /// `offline_access` for a refresh token).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if let Kind::Oidc { scopes: s, .. } = &mut self.0.kind {
            *s = scopes.into_iter().map(|x| x.as_ref().to_owned()).collect::<Vec<_>>().join(" ");
        }
        self
    }

    /// An RFC 8707 `resource` sent on the authorization and token requests, so the provider
    /// issues a JWT access token for your API; it also becomes the audience the access tokens
    /// must carry.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        if let Kind::Oidc { resource: r, audience, .. } = &mut self.0.kind {
            let resource = resource.into();
            *audience = Some(resource.clone());
            *r = Some(resource);
        }
        self
    }

    /// The audience access tokens must carry, for providers that bind access tokens to an API
    /// without RFC 8707 (Auth0's `audience`, Keycloak's audience mappers). [`resource`](Self::resource)
    /// sets it too.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        if let Kind::Oidc { audience: a, .. } = &mut self.0.kind {
            *a = Some(audience.into());
        }
        self
    }
}

impl IdentityProvider {
    /// WorkOS AuthKit at `https://api.workos.com`, with the client id (`client_…`) and the API key
    /// (`sk_…`, WorkOS's client secret). Access tokens are verified with the WorkOS key set
    /// of that client and its issuers ([`IssuerKeys::workos`]).
    ///
    /// ```
    /// use axum_session_mfa::lifecycle::IdentityProvider;
    /// let workos = IdentityProvider::workos("client_01H", "sk_test_123").unwrap();
    /// ```
    pub fn workos(
        client_id: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Result<Self, ProviderError> {
        Self::workos_at(WORKOS_API, client_id, api_key)
    }

    /// As [`workos`](Self::workos), with another API base URL for the requests (a proxy, or a
    /// stand-in in tests). The accepted token issuers stay WorkOS's
    /// (`https://api.workos.com/user_management/<client_id>`); only the requests and the key
    /// set (`<base>/sso/jwks/<client_id>`) go to `api_base`.
    pub fn workos_at(
        api_base: &str,
        client_id: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Result<Self, ProviderError> {
        let (client_id, api_key) = (client_id.into(), api_key.into());
        non_empty(&api_key, "the WorkOS API key is empty")?;
        let api = parse_url(api_base.trim_end_matches('/'))?;
        let keys = IssuerKeys::workos_at(&api, &client_id, JwksOptions::default())
            .map_err(|_| ProviderError::Invalid("the WorkOS client id is not a client_… id"))?;
        Ok(Self {
            kind: Kind::WorkOs { api },
            client_id,
            secret: Secret::new(api_key),
            keys,
            http: http_client()?,
        })
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// `true` for WorkOS AuthKit.
    pub fn is_workos(&self) -> bool {
        matches!(self.kind, Kind::WorkOs { .. })
    }

    /// The key set and issuers that verify this provider's tokens.
    pub fn keys(&self) -> &IssuerKeys {
        &self.keys
    }

    /// The audience access tokens must carry (OpenID Providers).
    pub(crate) fn required_audience(&self) -> Option<&str> {
        match &self.kind {
            Kind::Oidc { audience, .. } => audience.as_deref(),
            Kind::WorkOs { .. } => None,
        }
    }

    /// The authorization URL the browser is sent to.
    pub(crate) fn authorize_url(&self, req: &AuthorizeRequest<'_>) -> Url {
        let (mut url, workos) = match &self.kind {
            Kind::WorkOs { api } => {
                let mut url = api.clone();
                url.set_path("/user_management/authorize");
                (url, true)
            }
            Kind::Oidc { authorization, .. } => (authorization.clone(), false),
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &self.client_id);
            q.append_pair("redirect_uri", req.redirect_uri);
            q.append_pair("state", req.state);
            q.append_pair("code_challenge", req.code_challenge);
            q.append_pair("code_challenge_method", "S256");
            if let Some(max_age) = req.max_age {
                q.append_pair("max_age", &max_age.to_string());
            }
            if workos {
                q.append_pair("provider", "authkit");
            }
            if let Kind::Oidc { scopes, resource, .. } = &self.kind {
                q.append_pair("scope", scopes);
                q.append_pair("nonce", req.nonce);
                if let Some(acr) = req.acr_values {
                    q.append_pair("acr_values", acr);
                }
                if let Some(resource) = resource {
                    q.append_pair("resource", resource);
                }
            }
        }
        url
    }

    /// Exchanges an authorization code (with the PKCE verifier).
    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, GrantError> {
        match &self.kind {
            Kind::WorkOs { .. } => {
                self.workos_grant(serde_json::json!({
                    "grant_type": "authorization_code",
                    "client_id": self.client_id,
                    "client_secret": self.secret.expose(),
                    "code": code,
                    "code_verifier": verifier,
                }))
                .await
            }
            Kind::Oidc { resource, .. } => {
                let mut form = vec![
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier),
                ];
                if let Some(r) = resource {
                    form.push(("resource", r));
                }
                self.oidc_grant(form).await
            }
        }
    }

    /// Spends a refresh token for new tokens.
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<Tokens, GrantError> {
        match &self.kind {
            Kind::WorkOs { .. } => {
                self.workos_grant(serde_json::json!({
                    "grant_type": "refresh_token",
                    "client_id": self.client_id,
                    "client_secret": self.secret.expose(),
                    "refresh_token": refresh_token,
                }))
                .await
            }
            Kind::Oidc { resource, .. } => {
                let mut form =
                    vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
                if let Some(r) = resource {
                    form.push(("resource", r));
                }
                self.oidc_grant(form).await
            }
        }
    }

    /// Where to send the browser to end the provider's session too, if the provider has such an
    /// endpoint: WorkOS's session logout (needs the `sid`), or the OpenID Provider's
    /// `end_session_endpoint` (with the ID token as `id_token_hint`).
    pub(crate) fn logout_url(
        &self,
        sid: Option<&str>,
        id_token: Option<&str>,
        return_to: &str,
    ) -> Option<Url> {
        match &self.kind {
            Kind::WorkOs { api } => {
                let sid = sid?;
                let mut url = api.clone();
                url.set_path("/user_management/sessions/logout");
                url.query_pairs_mut()
                    .append_pair("session_id", sid)
                    .append_pair("return_to", return_to);
                Some(url)
            }
            Kind::Oidc { end_session, .. } => {
                let mut url = end_session.clone()?;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(hint) = id_token {
                        q.append_pair("id_token_hint", hint);
                    }
                    q.append_pair("client_id", &self.client_id);
                    q.append_pair("post_logout_redirect_uri", return_to);
                }
                Some(url)
            }
        }
    }

    /// Ends what a sign-out (or a discarded refresh) leaves at the provider, best effort: at
    /// WorkOS the session `sid` (which ends every refresh token of it: WorkOS cannot revoke a
    /// refresh token alone), at an OpenID Provider with a revocation endpoint each refresh
    /// token (RFC 7009). Failures are logged, never retried.
    pub(crate) async fn end_session(&self, sid: Option<&str>, refresh_tokens: &[RefreshToken]) {
        match &self.kind {
            Kind::WorkOs { api } => {
                let Some(sid) = sid else { return };
                let mut url = api.clone();
                url.set_path("/user_management/sessions/revoke");
                let body = serde_json::json!({ "session_id": sid }).to_string();
                let request = self
                    .http
                    .post(url)
                    .bearer_auth(self.secret.expose())
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body);
                match request.send().await {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => tracing::warn!(
                        status = r.status().as_u16(),
                        "WorkOS session revocation refused"
                    ),
                    Err(e) => tracing::warn!(error = %e, "WorkOS session revocation failed"),
                }
            }
            Kind::Oidc { revocation: Some(url), auth, .. } => {
                for rt in refresh_tokens {
                    let form = [("token", rt.expose()), ("token_type_hint", "refresh_token")];
                    let request = self.authenticated(self.http.post(url.clone()), *auth, &form);
                    if let Err(e) = request.send().await {
                        tracing::debug!(error = %e, "refresh token revocation failed");
                    }
                }
            }
            Kind::Oidc { revocation: None, .. } => {}
        }
    }

    fn authenticated(
        &self,
        request: reqwest::RequestBuilder,
        auth: ClientAuth,
        form: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        match auth {
            ClientAuth::Basic => {
                // RFC 6749 section 2.3.1: both parts form-urlencoded before Basic encoding.
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                request.basic_auth(enc(&self.client_id), Some(enc(self.secret.expose()))).form(form)
            }
            ClientAuth::Post => {
                let mut all: Vec<(&str, &str)> = form.to_vec();
                all.push(("client_id", &self.client_id));
                all.push(("client_secret", self.secret.expose()));
                request.form(&all)
            }
        }
    }

    async fn oidc_grant(&self, form: Vec<(&str, &str)>) -> Result<Tokens, GrantError> {
        let Kind::Oidc { token, auth, .. } = &self.kind else {
            unreachable!("oidc_grant is only called for OpenID Providers")
        };
        let request = self.authenticated(self.http.post(token.clone()), *auth, &form);
        let body: OidcTokens = send(request).await?;
        // The ID token's profile is read only once the token is verified (the callback, the
        // refresh): unverified claims never become the session's user.
        Ok(Tokens {
            access_token: body.access_token,
            refresh_token: body.refresh_token,
            id_token: body.id_token,
            user: None,
            authentication_method: None,
            impersonator: None,
            organization_id: None,
        })
    }

    async fn workos_grant(&self, body: Value) -> Result<Tokens, GrantError> {
        let Kind::WorkOs { api } = &self.kind else {
            unreachable!("workos_grant is only called for WorkOS")
        };
        let mut url = api.clone();
        url.set_path("/user_management/authenticate");
        let request = self
            .http
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let response: WorkOsTokens = send(request).await?;
        Ok(Tokens {
            access_token: response.access_token,
            refresh_token: Some(response.refresh_token),
            id_token: None,
            user: Some(response.user.into()),
            authentication_method: response.authentication_method,
            impersonator: response.impersonator,
            organization_id: response.organization_id,
        })
    }
}

/// Where a page of WorkOS events starts: after an event already read (the cursor), or, with no
/// cursor yet, at a time (an RFC 3339 date).
#[cfg(feature = "revocation")]
pub(crate) enum EventsFrom<'a> {
    After(&'a str),
    Since(&'a str),
}

/// A page of WorkOS events (`{"object": "list", "data": [...], "list_metadata"}`), oldest
/// first.
#[cfg(feature = "revocation")]
#[derive(Deserialize)]
pub(crate) struct EventsPage {
    pub(crate) data: Vec<Value>,
}

#[cfg(feature = "revocation")]
impl IdentityProvider {
    /// `GET {api}/events` for `types`, authenticated with the API key, with the query exactly
    /// as `@workos-inc/node`'s `events.listEvents` serialises it: `events` once, its types
    /// joined with commas, then `range_start`, `limit`, `after` (`URLSearchParams` order and
    /// encoding). A network failure, 408, 429 or 5xx is [`GrantError::Unavailable`] (with the
    /// `Retry-After`); any other refusal is [`GrantError::Refused`] with `HTTP <status>`.
    pub(crate) async fn workos_events(
        &self,
        types: &[&str],
        limit: u8,
        from: &EventsFrom<'_>,
    ) -> Result<EventsPage, GrantError> {
        let Kind::WorkOs { api } = &self.kind else {
            return Err(GrantError::Refused { error: "not WorkOS".to_owned() });
        };
        let mut url = api.clone();
        url.set_path("/events");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("events", &types.join(","));
            if let EventsFrom::Since(start) = from {
                q.append_pair("range_start", start);
            }
            q.append_pair("limit", &limit.to_string());
            if let EventsFrom::After(after) = from {
                q.append_pair("after", after);
            }
        }
        let request = self
            .http
            .get(url)
            .bearer_auth(self.secret.expose())
            .header(http::header::ACCEPT, "application/json");
        let (status, retry_after, body) = read(request, MAX_EVENTS_BYTES).await?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|_| GrantError::Unavailable {
                retry_after,
                reason: "unreadable events page".to_owned(),
            });
        }
        let reason = format!("HTTP {}", status.as_u16());
        if is_transient(status) {
            return Err(GrantError::Unavailable { retry_after, reason });
        }
        Err(GrantError::Refused { error: reason })
    }
}

/// What the authorization URL carries besides the client's own settings.
pub(crate) struct AuthorizeRequest<'a> {
    pub(crate) redirect_uri: &'a str,
    pub(crate) state: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) code_challenge: &'a str,
    pub(crate) max_age: Option<u64>,
    pub(crate) acr_values: Option<&'a str>,
}

/// The tokens a grant returned. Never logged: `Debug` is not implemented.
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) id_token: Option<String>,
    pub(crate) user: Option<SessionUser>,
    pub(crate) authentication_method: Option<String>,
    pub(crate) impersonator: Option<Impersonator>,
    pub(crate) organization_id: Option<String>,
}

/// Why a grant failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrantError {
    /// The provider refused the grant (a 4xx with an OAuth `error`): `invalid_grant` means the
    /// code or refresh token is spent, revoked or expired.
    Refused {
        /// The OAuth error code (`invalid_grant`, `invalid_client`, …), `unknown` if none.
        error: String,
    },
    /// The provider could not answer: network, timeout, 408, 429, 5xx, or an unreadable body.
    Unavailable {
        /// Seconds to wait (the provider's `Retry-After`, else 5), at most 300.
        retry_after: u64,
        /// What happened, for logs (no token material).
        reason: String,
    },
}

impl GrantError {
    /// The refresh token is spent, revoked or expired; or (from this crate) the session was
    /// signed out while its refresh ran.
    pub(crate) fn ended() -> Self {
        Self::Refused { error: INVALID_GRANT.to_owned() }
    }

    /// The OAuth error of a refusal (empty for an unavailable provider).
    pub(crate) fn error(&self) -> &str {
        match self {
            Self::Refused { error } => error,
            Self::Unavailable { .. } => "",
        }
    }

    /// `true` when the session can never be refreshed again: the refresh token is dead, or the
    /// provider's answer named another user or issuer than the session's.
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self, Self::Refused { error } if error == INVALID_GRANT || error == SUBJECT_CHANGED)
    }
}

#[derive(Deserialize)]
struct OidcTokens {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct WorkOsTokens {
    access_token: String,
    refresh_token: String,
    user: WorkOsUser,
    #[serde(default)]
    organization_id: Option<String>,
    #[serde(default)]
    authentication_method: Option<String>,
    #[serde(default)]
    impersonator: Option<Impersonator>,
}

/// WorkOS's `User` object as the API sends it (snake_case); sealed in AuthKit's camelCase.
#[derive(Deserialize)]
struct WorkOsUser {
    id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    profile_picture_url: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl From<WorkOsUser> for SessionUser {
    fn from(u: WorkOsUser) -> Self {
        let mut user = SessionUser::new(u.id);
        user.email = u.email;
        user.first_name = u.first_name;
        user.last_name = u.last_name;
        user.email_verified = u.email_verified;
        user.profile_picture_url = u.profile_picture_url;
        // As @workos-inc/node deserializes it: the other fields in camelCase.
        for (key, value) in u.rest {
            user.extra.insert(camel_case(&key), value);
        }
        user
    }
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The claims of a JWT whose signature is checked elsewhere (or that came straight from the
/// token endpoint over TLS); `None` when it is not a JWT with a JSON object payload.
pub(crate) fn unverified_claims(jwt: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The session user from OpenID claims (`sub`, `email`, `given_name`, …).
pub(crate) fn user_from_claims(claims: &Map<String, Value>) -> Option<SessionUser> {
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut user = SessionUser::new(text("sub")?);
    user.email = text("email");
    user.first_name = text("given_name");
    user.last_name = text("family_name");
    user.email_verified = claims.get("email_verified").and_then(Value::as_bool);
    user.profile_picture_url = text("picture");
    Some(user)
}

/// The OAuth error body (RFC 6749 section 5.2).
#[derive(Deserialize)]
struct OAuthError {
    error: String,
}

/// Sends a request and reads its answer, at most `limit` bytes: the status, the seconds its
/// `Retry-After` asks for (else 5, at most 300) and the body. A network failure or an answer
/// too large or cut short is [`GrantError::Unavailable`].
async fn read(
    request: reqwest::RequestBuilder,
    limit: usize,
) -> Result<(StatusCode, u64, Vec<u8>), GrantError> {
    let unavailable =
        |retry_after: u64, reason: String| GrantError::Unavailable { retry_after, reason };
    let mut response = request.send().await.map_err(|e| {
        let kind = if e.is_timeout() { "timeout" } else { "connection failed" };
        unavailable(5, kind.to_owned())
    })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(5, |s| s.clamp(1, 300));
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(unavailable(retry_after, "response too large".to_owned()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(_) => return Err(unavailable(retry_after, "response cut short".to_owned())),
        }
    }
    Ok((status, retry_after, body))
}

/// A status worth trying again later: 408, 429, 5xx (and anything neither success nor 4xx).
fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || !(status.is_success() || status.is_client_error())
}

/// Sends a grant request and reads its JSON, classifying failures.
async fn send<T: for<'de> Deserialize<'de>>(
    request: reqwest::RequestBuilder,
) -> Result<T, GrantError> {
    let unavailable =
        |retry_after: u64, reason: String| GrantError::Unavailable { retry_after, reason };
    let (status, retry_after, body) = read(request, MAX_RESPONSE_BYTES).await?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|_| unavailable(retry_after, "unreadable token response".to_owned()));
    }
    if is_transient(status) {
        return Err(unavailable(retry_after, format!("HTTP {}", status.as_u16())));
    }
    let error = serde_json::from_slice::<OAuthError>(&body)
        .map(|e| e.error)
        .ok()
        .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "unknown".to_owned());
    Err(GrantError::Refused { error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_cases_workos_fields() {
        assert_eq!(camel_case("last_sign_in_at"), "lastSignInAt");
        assert_eq!(camel_case("object"), "object");
    }

    #[test]
    fn only_invalid_grant_is_terminal() {
        assert!(GrantError::Refused { error: "invalid_grant".into() }.is_terminal());
        assert!(!GrantError::Refused { error: "invalid_client".into() }.is_terminal());
        let down = GrantError::Unavailable { retry_after: 5, reason: "x".into() };
        assert!(!down.is_terminal());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let idp = IdentityProvider::workos("client_01H", "sk_test_very_secret").unwrap();
        let text = format!("{idp:?}");
        assert!(!text.contains("very_secret"), "{text}");
    }
}
