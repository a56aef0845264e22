//! The demo's environment contract, read once at start: `DEMO_ADDR` and the variables in
//! [`KNOWN`], each explained in the README's table (section "The demo"), all optional.
//!
//! At most one key source (`AUTH_OIDC_ISSUER`, `AUTH_WORKOS_CLIENT_ID`, `AUTH_JWKS_URL`,
//! `AUTH_HS256_SECRET`, `AUTH_PUBLIC_KEY_PEM`); with none, the development issuer runs.
//!
//! Fail closed: any `AUTH_*` variable the demo does not know (a typo such as `AUTH_JWKS_URI`),
//! or one that is set but blank or not UTF-8, stops the demo with a message naming it (exit
//! status 2). Without that rule a mistyped key variable would start the token-minting
//! development issuer instead of verifying the keys the user meant to configure. The same holds
//! for combinations: a client secret without its client id, or sign-in settings without a
//! provider to sign in with, stop the demo rather than starting it in another mode than the
//! one meant.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

#[cfg(feature = "lifecycle")]
use axum_session_mfa::AuthLayerBuilder;
use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::dpop::DpopMode;
use axum_session_mfa::jwks::{IssuerKeys, JwksKeys};
#[cfg(feature = "lifecycle")]
use axum_session_mfa::lifecycle::{
    ConfigError, IdentityProvider, OpenIdProvider, ProviderError, Sessions, SharedSignals,
    WORKOS_API,
};
#[cfg(feature = "redis")]
use axum_session_mfa::store::RedisStore;
use axum_session_mfa::store::{MemoryStore, RevocationStore, Store};
use axum_session_mfa::{Algorithm, Key, KeySource, ProtectedResource};

/// Every `AUTH_*` variable the demo reads.
const KNOWN: [&str; 25] = [
    "AUTH_HS256_SECRET",
    "AUTH_PUBLIC_KEY_PEM",
    "AUTH_ALG",
    "AUTH_ISSUER",
    "AUTH_AUDIENCE",
    "AUTH_COOKIE",
    "AUTH_JWKS_URL",
    "AUTH_OIDC_ISSUER",
    "AUTH_WORKOS_CLIENT_ID",
    "AUTH_IRON_PASSWORD",
    "AUTH_STEP_UP_URL",
    "AUTH_CLIENT_ID",
    "AUTH_CLIENT_SECRET",
    "AUTH_REDIRECT_URI",
    "AUTH_SCOPES",
    "AUTH_RESOURCE",
    "AUTH_WORKOS_API_URL",
    "AUTH_REDIS_URL",
    "AUTH_REDIS_CA_FILE",
    "AUTH_SSF_ISSUER",
    "AUTH_SSF_AUDIENCE",
    "AUTH_WORKOS_WEBHOOK_SECRET",
    "AUTH_WORKOS_EVENTS",
    "AUTH_DPOP",
    "AUTH_RESOURCE_URL",
];

/// The variables that only mean something with the sign-in routes (the session lifecycle).
const SIGN_IN_ONLY: [&str; 8] = [
    "AUTH_CLIENT_ID",
    "AUTH_CLIENT_SECRET",
    "AUTH_REDIRECT_URI",
    "AUTH_SCOPES",
    "AUTH_RESOURCE",
    "AUTH_WORKOS_API_URL",
    "AUTH_WORKOS_WEBHOOK_SECRET",
    "AUTH_WORKOS_EVENTS",
];

/// The variables of WorkOS sign-in only.
const WORKOS_ONLY: [&str; 3] =
    ["AUTH_WORKOS_API_URL", "AUTH_WORKOS_WEBHOOK_SECRET", "AUTH_WORKOS_EVENTS"];

/// The variables that each name a key source; at most one may be set.
const KEY_SOURCES: [&str; 5] = [
    "AUTH_OIDC_ISSUER",
    "AUTH_WORKOS_CLIENT_ID",
    "AUTH_JWKS_URL",
    "AUTH_HS256_SECRET",
    "AUTH_PUBLIC_KEY_PEM",
];

/// The demo's settings.
pub struct Config {
    pub addr: SocketAddr,
    pub cookie: String,
    pub issuers: Vec<String>,
    pub audiences: Vec<String>,
    /// `AUTH_IRON_PASSWORD`: read (and, with the development issuer, write) AuthKit cookies.
    pub authkit: Option<IronPasswords>,
    pub step_up_url: Option<String>,
    /// The configured key source and the variable that named it; `None`: no key configured,
    /// so the development issuer runs.
    pub keys: Option<(&'static str, KeyChoice)>,
    /// The sign-in routes (`/auth/*`), when the provider's client credentials are set.
    pub sign_in: Option<SignIn>,
    /// The tokens come from WorkOS (`AUTH_WORKOS_CLIENT_ID`), which sends no `amr`.
    pub workos: bool,
    /// `AUTH_REDIS_URL`: revocations (and refresh leases) shared through this Redis.
    pub redis_url: Option<String>,
    /// `AUTH_REDIS_CA_FILE`: the PEM of the CA that signed the Redis certificate (`rediss://`),
    /// trusted instead of the system's roots.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub redis_ca_file: Option<String>,
    /// `AUTH_SSF_ISSUER`: the OpenID Shared Signals transmitter whose events revoke sessions.
    #[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
    pub ssf_issuer: Option<String>,
    /// `AUTH_DPOP`: `allowed` or `required` (RFC 9449 proofs, their `jti` kept in the store).
    pub dpop: Option<DpopMode>,
    /// `AUTH_RESOURCE_URL`: the API is an OAuth protected resource with this identifier
    /// (RFC 9728 metadata, `resource_metadata` in challenges, tokens bound to it as `aud`).
    pub resource: Option<ProtectedResource>,
}

impl Config {
    /// Where revocations and refresh leases live: this process, or the Redis of
    /// `AUTH_REDIS_URL` (with the CA of `AUTH_REDIS_CA_FILE`). Connects lazily: a Redis that
    /// is down is no error here (the banner says so).
    pub fn stores(&self) -> Result<Stores, String> {
        let Some(url) = &self.redis_url else {
            let memory = MemoryStore::new();
            return Ok(Stores {
                revocations: Arc::new(memory.clone()),
                sessions: Arc::new(memory),
                redis: None,
            });
        };
        #[cfg(feature = "redis")]
        {
            let mut options = axum_session_mfa::store::RedisOptions::default();
            let mut vars = "AUTH_REDIS_URL";
            if let Some(path) = &self.redis_ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("AUTH_REDIS_CA_FILE: cannot read {path}: {e}"))?;
                options = options.ca_pem(pem);
                vars = "AUTH_REDIS_URL with AUTH_REDIS_CA_FILE";
            }
            let redis =
                RedisStore::with_options(url, options).map_err(|e| format!("{vars}: {e}"))?;
            Ok(Stores {
                revocations: Arc::new(redis.clone()),
                sessions: Arc::new(redis.clone()),
                redis: Some(redis),
            })
        }
        #[cfg(not(feature = "redis"))]
        {
            let _ = url;
            Err("AUTH_REDIS_URL needs the `redis` feature: cargo run --example demo --features \
                 redis"
                .into())
        }
    }
}

/// The stores the demo chose: one value behind both traits (in memory, or Redis).
pub struct Stores {
    /// For `Revocations::builder`.
    pub revocations: Arc<dyn RevocationStore>,
    /// For `SessionsBuilder::store`.
    #[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
    pub sessions: Arc<dyn Store>,
    /// The Redis, to ask whether it answers at start.
    #[cfg(feature = "redis")]
    pub redis: Option<RedisStore>,
    #[cfg(not(feature = "redis"))]
    pub redis: Option<std::convert::Infallible>,
}

/// The session lifecycle's settings: this application's client at the provider named by the
/// key source (`AUTH_OIDC_ISSUER` or `AUTH_WORKOS_CLIENT_ID`).
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub struct SignIn {
    /// `AUTH_CLIENT_ID` (OpenID), or `AUTH_WORKOS_CLIENT_ID` (WorkOS).
    pub client_id: String,
    /// `AUTH_CLIENT_SECRET`: the client secret (WorkOS: the API key).
    pub client_secret: String,
    /// `AUTH_REDIRECT_URI`, default `http://<DEMO_ADDR>/auth/callback`.
    pub redirect_uri: String,
    /// `AUTH_SCOPES` (OpenID only), space-separated.
    pub scopes: Option<Vec<String>>,
    /// `AUTH_RESOURCE` (OpenID only): the RFC 8707 resource, also the required audience.
    pub resource: Option<String>,
    /// `AUTH_WORKOS_API_URL` (WorkOS only): another API base URL for the requests.
    pub workos_api: Option<String>,
    /// `AUTH_WORKOS_WEBHOOK_SECRET` (WorkOS only): mounts `POST /auth/workos/webhook`.
    pub workos_webhook_secret: Option<String>,
    /// `AUTH_WORKOS_EVENTS=poll` (WorkOS only): polls the Events API instead of (or besides)
    /// the webhook.
    pub workos_poll: bool,
    /// `AUTH_IRON_PASSWORD`: seals the session cookie.
    pub passwords: IronPasswords,
    /// `AUTH_SSF_ISSUER`: receive this Shared Signals transmitter's events at `POST /auth/ssf`.
    pub ssf_issuer: Option<String>,
    /// `AUTH_SSF_AUDIENCE`: the `aud` of its events, default the client id.
    pub ssf_audience: Option<String>,
}

/// The one key source the environment names.
pub enum KeyChoice {
    OidcIssuer(String),
    WorkOs(String),
    JwksUrl(String),
    Hs256Secret(String),
    PublicKeyPem { path: String, alg: Option<Algorithm> },
}

impl Config {
    /// Reads and checks the environment.
    pub fn from_env() -> Result<Self, String> {
        let env = auth_variables()?;
        let get = |name: &str| env.get(name).cloned();
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| {
                    v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
                })
                .unwrap_or_default()
        };

        let addr = std::env::var("DEMO_ADDR").ok().filter(|v| !v.trim().is_empty());
        let addr = addr.as_deref().unwrap_or("127.0.0.1:3000");
        let addr = addr.trim().parse().map_err(|e| format!("DEMO_ADDR {addr:?}: {e}"))?;

        let authkit = get("AUTH_IRON_PASSWORD")
            .map(|p| IronPasswords::new("1", p).map_err(|e| format!("AUTH_IRON_PASSWORD: {e}")))
            .transpose()?;

        // One key source, said out loud: a second one would otherwise be silently ignored.
        let named: Vec<&str> = KEY_SOURCES.into_iter().filter(|v| env.contains_key(*v)).collect();
        if named.len() > 1 {
            return Err(format!("set only one key source, not {}", named.join(" and ")));
        }
        let alg = get("AUTH_ALG")
            .map(|a| {
                a.parse::<Algorithm>().map_err(|_| format!("AUTH_ALG: unknown algorithm {a:?}"))
            })
            .transpose()?;
        if alg.is_some() && !env.contains_key("AUTH_PUBLIC_KEY_PEM") {
            return Err("AUTH_ALG applies to AUTH_PUBLIC_KEY_PEM only".into());
        }
        let issuers = list("AUTH_ISSUER");
        let keys = match named.first().copied() {
            None => None,
            Some(var) => {
                let value = get(var).expect("named variables are set");
                let choice = match var {
                    "AUTH_OIDC_ISSUER" => KeyChoice::OidcIssuer(value),
                    "AUTH_WORKOS_CLIENT_ID" => KeyChoice::WorkOs(value),
                    "AUTH_JWKS_URL" if issuers.is_empty() => {
                        return Err("AUTH_JWKS_URL needs AUTH_ISSUER: a key set is often shared \
                                    by many tenants, so the accepted issuer must be pinned"
                            .into());
                    }
                    "AUTH_JWKS_URL" => KeyChoice::JwksUrl(value),
                    "AUTH_HS256_SECRET" => KeyChoice::Hs256Secret(value),
                    _ => KeyChoice::PublicKeyPem { path: value, alg },
                };
                Some((var, choice))
            }
        };
        let mut sign_in = sign_in(&env, named.first().copied(), addr, authkit.as_ref())?;
        let (ssf_issuer, ssf_audience) = (get("AUTH_SSF_ISSUER"), get("AUTH_SSF_AUDIENCE"));
        if ssf_audience.is_some() && ssf_issuer.is_none() {
            return Err("AUTH_SSF_AUDIENCE needs AUTH_SSF_ISSUER: it is the audience of that \
                        transmitter's events"
                .into());
        }
        match &mut sign_in {
            Some(s) => (s.ssf_issuer, s.ssf_audience) = (ssf_issuer.clone(), ssf_audience),
            None if ssf_issuer.is_some() => {
                return Err("AUTH_SSF_ISSUER applies to the sign-in routes (AUTH_OIDC_ISSUER or \
                            AUTH_WORKOS_CLIENT_ID with AUTH_CLIENT_SECRET): its events revoke \
                            the sessions they keep"
                    .into());
            }
            None => {}
        }
        // The cookie AuthKit apps use for sealed sessions; an OpenID Provider's sessions keep
        // the plain name even though they are sealed too.
        let default_cookie = match (&sign_in, named.first().copied()) {
            (Some(_), Some("AUTH_OIDC_ISSUER")) => "session",
            (Some(_), _) => "wos-session",
            (None, _) if authkit.is_some() => "wos-session",
            (None, _) => "session",
        };
        let cookie = get("AUTH_COOKIE").unwrap_or_else(|| default_cookie.to_owned());
        let (redis_url, redis_ca_file) = (get("AUTH_REDIS_URL"), get("AUTH_REDIS_CA_FILE"));
        if redis_ca_file.is_some() && redis_url.is_none() {
            return Err("AUTH_REDIS_CA_FILE applies to AUTH_REDIS_URL (a rediss:// URL): set it \
                        too"
            .into());
        }
        let dpop = match get("AUTH_DPOP").as_deref() {
            None => None,
            Some("allowed") => Some(DpopMode::Allowed),
            Some("required") => Some(DpopMode::Required),
            Some(other) => {
                return Err(format!("AUTH_DPOP is `allowed` or `required`, not {other:?}"));
            }
        };
        let resource = get("AUTH_RESOURCE_URL")
            .map(|url| ProtectedResource::new(url).map_err(|e| format!("AUTH_RESOURCE_URL: {e}")))
            .transpose()?;
        // With sign-in the session's tokens must be bound to the resource too, or every cookie
        // session would be refused and sent to sign in again, round and round.
        if let (Some(resource), Some(sign_in)) = (&resource, &sign_in)
            && sign_in.resource.as_deref() != Some(resource.resource())
        {
            return Err(
                "with the sign-in routes, AUTH_RESOURCE_URL needs AUTH_RESOURCE set to the \
                        same URL (OpenID only): the session's access tokens must carry it as aud"
                    .into(),
            );
        }
        Ok(Self {
            dpop,
            resource,
            addr,
            cookie,
            issuers,
            audiences: list("AUTH_AUDIENCE"),
            authkit,
            step_up_url: get("AUTH_STEP_UP_URL"),
            workos: named.first() == Some(&"AUTH_WORKOS_CLIENT_ID"),
            keys,
            sign_in,
            redis_url,
            redis_ca_file,
            ssf_issuer,
        })
    }
}

/// The sign-in routes' settings, when the environment asks for them, checked against the key
/// source they belong to. `key` is the variable that names the key source.
fn sign_in(
    env: &BTreeMap<String, String>,
    key: Option<&'static str>,
    addr: SocketAddr,
    passwords: Option<&IronPasswords>,
) -> Result<Option<SignIn>, String> {
    let get = |name: &str| env.get(name).cloned();
    let set = |names: &[&'static str]| names.iter().copied().find(|n| env.contains_key(*n));
    let client_id = match key {
        Some("AUTH_OIDC_ISSUER") => {
            if let Some(var) = set(&WORKOS_ONLY) {
                return Err(format!("{var} applies to AUTH_WORKOS_CLIENT_ID only"));
            }
            match (get("AUTH_CLIENT_ID"), env.contains_key("AUTH_CLIENT_SECRET")) {
                (Some(id), true) => id,
                (Some(_), false) => {
                    return Err("AUTH_CLIENT_ID needs AUTH_CLIENT_SECRET: the sign-in routes \
                                authenticate to the provider's token endpoint with it"
                        .into());
                }
                (None, true) => {
                    return Err("AUTH_CLIENT_SECRET needs AUTH_CLIENT_ID, this application's \
                                client id at AUTH_OIDC_ISSUER"
                        .into());
                }
                (None, false) => {
                    if let Some(var) = set(&["AUTH_REDIRECT_URI", "AUTH_SCOPES", "AUTH_RESOURCE"]) {
                        return Err(format!(
                            "{var} applies to the sign-in routes: set AUTH_CLIENT_ID and \
                             AUTH_CLIENT_SECRET too (without them AUTH_OIDC_ISSUER only verifies \
                             tokens)"
                        ));
                    }
                    return Ok(None);
                }
            }
        }
        Some("AUTH_WORKOS_CLIENT_ID") => {
            if env.contains_key("AUTH_CLIENT_ID") {
                return Err("AUTH_CLIENT_ID is for AUTH_OIDC_ISSUER; with WorkOS the client id \
                            is AUTH_WORKOS_CLIENT_ID: unset AUTH_CLIENT_ID"
                    .into());
            }
            if let Some(var) = set(&["AUTH_SCOPES", "AUTH_RESOURCE"]) {
                return Err(format!("{var} applies to AUTH_OIDC_ISSUER only; WorkOS ignores it"));
            }
            if !env.contains_key("AUTH_CLIENT_SECRET") {
                let sign_in_only = [&["AUTH_REDIRECT_URI"][..], &WORKOS_ONLY[..]].concat();
                if let Some(var) = set(&sign_in_only) {
                    return Err(format!(
                        "{var} applies to the sign-in routes: set AUTH_CLIENT_SECRET (the WorkOS \
                         API key) too (without it AUTH_WORKOS_CLIENT_ID only verifies tokens)"
                    ));
                }
                return Ok(None);
            }
            get("AUTH_WORKOS_CLIENT_ID").expect("the key source is set")
        }
        other => {
            if let Some(var) = set(&SIGN_IN_ONLY) {
                let now = match other {
                    Some(key) => format!("{key} only verifies tokens"),
                    None => "no key source is set".to_owned(),
                };
                return Err(format!(
                    "{var} applies to the sign-in routes of AUTH_OIDC_ISSUER or \
                     AUTH_WORKOS_CLIENT_ID, and {now}"
                ));
            }
            return Ok(None);
        }
    };
    if env.contains_key("AUTH_AUDIENCE") {
        // The callback checks the tokens it receives against the provider's settings only; a
        // narrower layer would refuse the session the callback just set, and send the browser
        // to sign in again, and again.
        return Err("AUTH_AUDIENCE does not apply with the sign-in routes: with AUTH_OIDC_ISSUER \
                    set AUTH_RESOURCE, which the sign-in asks for and the layer then requires"
            .into());
    }
    if !cfg!(feature = "lifecycle") {
        return Err("the sign-in routes (AUTH_CLIENT_SECRET) need the crate's `lifecycle` \
                    feature (on by default): run without --no-default-features"
            .into());
    }
    let Some(passwords) = passwords.cloned() else {
        return Err("the sign-in routes (AUTH_CLIENT_SECRET) need AUTH_IRON_PASSWORD (32+ \
                    characters): it seals the session cookie"
            .into());
    };
    let workos_poll = match get("AUTH_WORKOS_EVENTS").as_deref() {
        None => false,
        Some("poll") => true,
        Some(other) => {
            return Err(format!(
                "AUTH_WORKOS_EVENTS {other:?}: the one value is `poll` (read the WorkOS Events \
                 API); for webhooks set AUTH_WORKOS_WEBHOOK_SECRET"
            ));
        }
    };
    let scopes: Option<Vec<String>> =
        get("AUTH_SCOPES").map(|s| s.split_whitespace().map(str::to_owned).collect());
    if let Some(scopes) = &scopes
        && !scopes.iter().any(|s| s == "openid")
    {
        return Err("AUTH_SCOPES must include openid: the sign-in checks the ID token".into());
    }
    // The browser comes back to this demo: on its own address (loopback when it listens on
    // every interface).
    let redirect_uri = get("AUTH_REDIRECT_URI").unwrap_or_else(|| {
        let mut addr = addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}/auth/callback")
    });
    Ok(Some(SignIn {
        client_id,
        client_secret: get("AUTH_CLIENT_SECRET").expect("checked above"),
        redirect_uri,
        scopes,
        resource: get("AUTH_RESOURCE"),
        workos_api: get("AUTH_WORKOS_API_URL"),
        workos_webhook_secret: get("AUTH_WORKOS_WEBHOOK_SECRET"),
        workos_poll,
        passwords,
        ssf_issuer: None,
        ssf_audience: None,
    }))
}

impl KeyChoice {
    /// The key source for the layer. Every error names the variable (and the file) it is about
    /// and carries the crate's own message.
    pub async fn key_source(self, issuers: &[String]) -> Result<KeySource, String> {
        Ok(match self {
            Self::OidcIssuer(issuer) => IssuerKeys::discover(&issuer)
                .await
                .map_err(|e| format!("AUTH_OIDC_ISSUER {issuer}: {e}"))?
                .into(),
            Self::WorkOs(client_id) => IssuerKeys::workos(&client_id)
                .map_err(|e| format!("AUTH_WORKOS_CLIENT_ID: {e}"))?
                .into(),
            Self::JwksUrl(url) => {
                let keys = JwksKeys::new(&url).map_err(|e| format!("AUTH_JWKS_URL {url}: {e}"))?;
                // The first AUTH_ISSUER; the layer accepts the others too (main.rs adds them).
                IssuerKeys::new(keys, &issuers[0]).into()
            }
            Self::Hs256Secret(secret) => Key::hmac(Algorithm::HS256, secret.as_bytes())
                .map_err(|e| format!("AUTH_HS256_SECRET: {e}"))?
                .into(),
            Self::PublicKeyPem { path, alg } => {
                let pem = std::fs::read(&path)
                    .map_err(|e| format!("AUTH_PUBLIC_KEY_PEM: cannot read {path}: {e}"))?;
                let key = Key::from_public_pem(&pem)
                    .map_err(|e| format!("AUTH_PUBLIC_KEY_PEM {path}: {e}"))?;
                match alg {
                    Some(alg) => {
                        key.with_algorithms([alg]).map_err(|e| format!("AUTH_ALG: {e}"))?
                    }
                    None => key,
                }
                .into()
            }
        })
    }
}

#[cfg(feature = "lifecycle")]
impl KeyChoice {
    /// Who signs users in, for people: "WorkOS AuthKit", or the OpenID Provider's issuer.
    pub fn provider_name(&self) -> String {
        match self {
            Self::WorkOs(_) => "WorkOS AuthKit".to_owned(),
            Self::OidcIssuer(issuer) => issuer.clone(),
            _ => "the identity provider".to_owned(),
        }
    }

    /// The session lifecycle for this key source's provider: `IdentityProvider` (discovery, or
    /// the WorkOS API) and `Sessions` with the demo's cookie. Errors name the variable.
    pub async fn sessions(
        self,
        sign_in: SignIn,
        cookie: &str,
        revocations: axum_session_mfa::Revocations,
        store: Arc<dyn Store>,
        layer: impl FnOnce(AuthLayerBuilder) -> AuthLayerBuilder + Send + 'static,
    ) -> Result<Sessions, String> {
        let SignIn { client_id, client_secret, redirect_uri, scopes, resource, .. } = sign_in;
        // The Shared Signals transmitter (AUTH_SSF_ISSUER): its events' audience is the client
        // id unless AUTH_SSF_AUDIENCE says otherwise.
        let shared_signals = match sign_in.ssf_issuer {
            Some(issuer) => {
                let audience = sign_in.ssf_audience.unwrap_or_else(|| client_id.clone());
                let signals = SharedSignals::discover(&issuer, audience)
                    .await
                    .map_err(|e| format!("AUTH_SSF_ISSUER {issuer}: {e}"))?;
                Some(signals)
            }
            None => None,
        };
        let webhook = sign_in.workos_webhook_secret;
        let idp = match self {
            Self::OidcIssuer(issuer) => {
                let mut idp = OpenIdProvider::discover(&issuer, client_id, client_secret)
                    .await
                    .map_err(|e| format!("AUTH_OIDC_ISSUER {issuer}: {e}"))?;
                if let Some(scopes) = scopes {
                    idp = idp.scopes(scopes);
                }
                if let Some(resource) = resource {
                    idp = idp.resource(resource);
                }
                idp.into()
            }
            Self::WorkOs(client_id) => {
                let api = sign_in.workos_api.as_deref().unwrap_or(WORKOS_API);
                IdentityProvider::workos_at(api, client_id, client_secret).map_err(|e| match e {
                    ProviderError::Url(_) => format!("AUTH_WORKOS_API_URL: {e}"),
                    _ => format!("AUTH_WORKOS_CLIENT_ID: {e}"),
                })?
            }
            _ => unreachable!("config.rs allows the sign-in routes with these two only"),
        };
        let builder = Sessions::builder(idp, sign_in.passwords, &redirect_uri)
            .cookie_name(cookie)
            .store(store)
            .revocations(revocations)
            .layer(layer);
        let builder = match shared_signals {
            Some(signals) => builder.shared_signals(signals), // POST /auth/ssf
            None => builder,
        };
        // WorkOS's session.revoked, user.deleted, organization_membership.deleted, signed.
        let builder = match webhook {
            Some(secret) => builder.workos_webhook(secret),
            None => builder,
        };
        builder.build().map_err(|e| match e {
            ConfigError::NoAudience => format!("AUTH_RESOURCE: {e}"),
            ConfigError::HostCookie(_) => format!("AUTH_COOKIE: {e}"),
            ConfigError::WebhookSecret => format!("AUTH_WORKOS_WEBHOOK_SECRET: {e}"),
            _ => format!("AUTH_REDIRECT_URI: {e}"),
        })
    }
}

/// The `AUTH_*` variables, checked: each must be known, UTF-8 and not blank (values trimmed).
/// Names are matched case-insensitively for the check, so `auth_hs256_secret` is refused too
/// instead of being ignored.
fn auth_variables() -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if !name.to_ascii_uppercase().starts_with("AUTH_") {
            continue;
        }
        if !KNOWN.contains(&name.as_str()) {
            let known = KNOWN.join(", ");
            return Err(format!("unknown variable {name}: unset it; the demo reads {known}"));
        }
        let value = value.into_string().map_err(|_| format!("{name} is not valid UTF-8"))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("{name} is set but blank: give it a value or unset it"));
        }
        vars.insert(name, value.to_owned());
    }
    Ok(vars)
}
