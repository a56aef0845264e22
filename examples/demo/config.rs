//! The demo's environment contract (the table in `main.rs`), read once at start.
//!
//! Fail closed: any `AUTH_*` variable the demo does not know (a typo such as `AUTH_JWKS_URI`),
//! or one that is set but blank or not UTF-8, stops the demo with a message naming it. Without
//! that rule a mistyped key variable would start the token-minting development issuer instead of
//! verifying the keys the user meant to configure.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum_session_mfa::authkit::IronPasswords;
use axum_session_mfa::jwks::{JwksKeys, Provider};
use axum_session_mfa::{Algorithm, Key, KeySource};

/// Every `AUTH_*` variable the demo reads.
const KNOWN: [&str; 11] = [
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
];

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
        let default_cookie = if authkit.is_some() { "wos-session" } else { "session" };
        let cookie = get("AUTH_COOKIE").unwrap_or_else(|| default_cookie.to_owned());

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
        Ok(Self {
            addr,
            cookie,
            issuers,
            audiences: list("AUTH_AUDIENCE"),
            authkit,
            step_up_url: get("AUTH_STEP_UP_URL"),
            keys,
        })
    }
}

impl KeyChoice {
    /// The key source for the layer. Every error names the variable (and the file) it is about
    /// and carries the crate's own message.
    pub async fn key_source(self, issuers: &[String]) -> Result<KeySource, String> {
        Ok(match self {
            Self::OidcIssuer(issuer) => Provider::discover(&issuer)
                .await
                .map_err(|e| format!("AUTH_OIDC_ISSUER {issuer}: {e}"))?
                .into(),
            Self::WorkOs(client_id) => Provider::workos(&client_id)
                .map_err(|e| format!("AUTH_WORKOS_CLIENT_ID: {e}"))?
                .into(),
            Self::JwksUrl(url) => {
                let keys = JwksKeys::new(&url).map_err(|e| format!("AUTH_JWKS_URL {url}: {e}"))?;
                // The first AUTH_ISSUER; the layer accepts the others too (main.rs adds them).
                Provider::new(keys, &issuers[0]).into()
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
            let hint = closest(&name).map(|k| format!(" (did you mean {k}?)")).unwrap_or_default();
            return Err(format!(
                "unknown variable {name}{hint}: unset it; the demo reads {}",
                KNOWN.join(", ")
            ));
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

/// The known variable nearest to a mistyped name (case-insensitive, at most 3 edits away).
fn closest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_uppercase();
    KNOWN
        .into_iter()
        .map(|known| (edit_distance(&name, known), known))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, known)| known)
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.bytes().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
