//! OpenID Connect discovery (with the RFC 8414 fallback): from an issuer URL to its key set.
//!
//! [`IssuerKeys::discover`](super::IssuerKeys::discover) fetches
//! `<issuer>/.well-known/openid-configuration`; if that fails it tries the RFC 8414 location
//! `https://host/.well-known/oauth-authorization-server<path>`. The document's `issuer` must
//! equal the configured issuer exactly (byte for byte: a trailing slash matters), and its
//! `jwks_uri` must be `https` when the issuer is (no downgrade through the loopback exception)
//! and pass the URL rule of [`KeySource`](crate::KeySource). The issuer is then the only accepted
//! `iss`.

use std::fmt;

use reqwest::Url;
use serde::Deserialize;

use super::http::{self, UrlError};
use super::jwks::{JwksError, JwksOptions};

/// Why discovery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer or the document's `jwks_uri` is not an allowed URL.
    Url(UrlError),
    /// Neither well-known document could be fetched and parsed.
    Fetch(String),
    /// The document's `issuer` differs from the configured issuer.
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's `issuer`.
        found: String,
    },
    /// The key set could not be set up.
    Jwks(JwksError),
    /// An `https` issuer published a `jwks_uri` that is not `https`: keys fetched over plain
    /// HTTP could be swapped in transit, so discovery refuses the downgrade.
    InsecureJwksUri(String),
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => write!(f, "discovery: {e}"),
            Self::Fetch(e) => write!(f, "discovery failed: {e}"),
            Self::IssuerMismatch { expected, found } => write!(
                f,
                "discovery document names issuer `{found}`, expected exactly `{expected}`"
            ),
            Self::Jwks(e) => write!(f, "discovery: {e}"),
            Self::InsecureJwksUri(uri) => {
                write!(f, "discovery: the https issuer's jwks_uri `{uri}` is not https")
            }
        }
    }
}

impl std::error::Error for DiscoveryError {}

impl From<UrlError> for DiscoveryError {
    fn from(e: UrlError) -> Self {
        Self::Url(e)
    }
}

#[derive(Deserialize)]
struct Document {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// What discovery learned about a provider, each URL checked by the URL rule (and never a step
/// down from an `https` issuer).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub(crate) struct Metadata {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: Url,
    pub(crate) authorization_endpoint: Option<Url>,
    pub(crate) token_endpoint: Option<Url>,
    pub(crate) end_session_endpoint: Option<Url>,
    pub(crate) revocation_endpoint: Option<Url>,
    /// `None` when the document does not say (the OAuth default is `client_secret_basic`).
    pub(crate) token_endpoint_auth_methods: Option<Vec<String>>,
}

/// The two well-known locations for an issuer, OIDC first.
fn well_known(issuer: &Url) -> [Url; 2] {
    let mut oidc = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    oidc.set_query(None);
    oidc.set_fragment(None);
    let mut oauth = oidc.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    [oidc, oauth]
}

/// A URL of the document (`jwks_uri`, an endpoint), checked by the URL rule and never a step
/// down from an `https` issuer: the loopback exception is for local issuers, not a way from
/// `https` to `http`.
pub(crate) fn jwks_uri_for(issuer: &Url, jwks_uri: &str) -> Result<Url, DiscoveryError> {
    let jwks_uri = http::parse_url(jwks_uri)?;
    if issuer.scheme() == "https" && jwks_uri.scheme() != "https" {
        return Err(DiscoveryError::InsecureJwksUri(jwks_uri.to_string()));
    }
    Ok(jwks_uri)
}

/// Fetches the discovery document and returns the verified `(issuer, jwks_uri)`.
pub(crate) async fn discover(
    issuer: &str,
    options: &JwksOptions,
) -> Result<(String, Url), DiscoveryError> {
    discover_metadata(issuer, options).await.map(|m| (m.issuer, m.jwks_uri))
}

/// Fetches the discovery document and returns its verified metadata.
pub(crate) async fn discover_metadata(
    issuer: &str,
    options: &JwksOptions,
) -> Result<Metadata, DiscoveryError> {
    let issuer_url = http::parse_url(issuer)?;
    let client =
        http::client(options.limits()).map_err(|e| DiscoveryError::Jwks(JwksError::Client(e)))?;
    let mut failures = Vec::new();
    for url in well_known(&issuer_url) {
        let fetched = match http::get_json(&client, &url, options.limits().max_body_bytes).await {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{url}: {e}"));
                continue;
            }
        };
        let document: Document = match serde_json::from_slice(&fetched.body) {
            Ok(d) => d,
            Err(_) => {
                failures.push(format!("{url}: not a JSON object with `issuer` and `jwks_uri`"));
                continue;
            }
        };
        if document.issuer != issuer {
            return Err(DiscoveryError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: document.issuer,
            });
        }
        let jwks_uri = jwks_uri_for(&issuer_url, &document.jwks_uri)?;
        let endpoint = |url: Option<String>| url.map(|u| jwks_uri_for(&issuer_url, &u)).transpose();
        return Ok(Metadata {
            issuer: document.issuer,
            jwks_uri,
            authorization_endpoint: endpoint(document.authorization_endpoint)?,
            token_endpoint: endpoint(document.token_endpoint)?,
            end_session_endpoint: endpoint(document.end_session_endpoint)?,
            revocation_endpoint: endpoint(document.revocation_endpoint)?,
            token_endpoint_auth_methods: document.token_endpoint_auth_methods_supported,
        });
    }
    Err(DiscoveryError::Fetch(failures.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_issuer_never_downgrades_its_key_set_to_http() {
        let https = Url::parse("https://idp.example").unwrap();
        for downgrade in ["http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]/k"] {
            let err = jwks_uri_for(&https, downgrade).unwrap_err();
            assert!(matches!(err, DiscoveryError::InsecureJwksUri(_)), "{downgrade}: {err:?}");
        }
        assert!(jwks_uri_for(&https, "https://keys.idp.example/jwks").is_ok());
        // A loopback issuer (local development, tests) may publish loopback http keys.
        let local = Url::parse("http://127.0.0.1:9000").unwrap();
        assert!(jwks_uri_for(&local, "http://127.0.0.1:9000/jwks").is_ok());
        assert!(matches!(
            jwks_uri_for(&local, "http://idp.example/jwks"),
            Err(DiscoveryError::Url(UrlError::Insecure(_)))
        ));
    }

    #[test]
    fn well_known_locations() {
        let [a, b] = well_known(&Url::parse("https://idp.example").unwrap());
        assert_eq!(a.as_str(), "https://idp.example/.well-known/openid-configuration");
        assert_eq!(b.as_str(), "https://idp.example/.well-known/oauth-authorization-server");
        let [a, b] = well_known(&Url::parse("https://idp.example/realms/x/").unwrap());
        assert_eq!(a.as_str(), "https://idp.example/realms/x/.well-known/openid-configuration");
        assert_eq!(
            b.as_str(),
            "https://idp.example/.well-known/oauth-authorization-server/realms/x"
        );
    }
}
