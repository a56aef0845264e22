//! [`ProtectedResource`]: OAuth 2.0 Protected Resource Metadata (RFC 9728).

use std::fmt;

use http::Uri;
use serde_json::{Map, Value};

/// The protected resource an [`AuthLayer`](crate::AuthLayer) guards, for its OAuth 2.0
/// Protected Resource Metadata (RFC 9728): the document an OAuth client (an MCP client, say)
/// reads to learn which authorization servers issue tokens for this API, and how to present
/// them.
///
/// Given to [`AuthLayerBuilder::protected_resource`](crate::AuthLayerBuilder::protected_resource),
/// it changes three things:
/// * the document is served by [`AuthLayer::resource_metadata_routes`](crate::AuthLayer::resource_metadata_routes)
///   at `/.well-known/oauth-protected-resource`, and for a resource with a path also at the
///   path-suffixed form of section 3.1 (`https://api.example.com/mcp` →
///   `/.well-known/oauth-protected-resource/mcp`), the URL the challenges name;
/// * every 401 challenge and every step-up or scope 403 challenge carries
///   `resource_metadata="<that URL>"` (section 5.1), so a client that meets the 401 finds the
///   authorization server by itself;
/// * tokens must be **audience-bound** to the resource (RFC 8707, as the MCP authorization
///   spec requires): when the layer has no [`audience`](crate::AuthLayerBuilder::audience),
///   the resource identifier becomes its one accepted audience.
///
/// The document is built from the layer's configuration: `authorization_servers` are the
/// layer's issuers (its [`issuer`](crate::AuthLayerBuilder::issuer) calls and the issuer of an
/// [`IssuerKeys`](crate::jwks::IssuerKeys)), `bearer_methods_supported` is `["header"]` when the
/// layer reads `Authorization` (a cookie is not an RFC 6750 method), and with
/// [DPoP](crate::AuthLayerBuilder) on, `dpop_signing_alg_values_supported` and
/// `dpop_bound_access_tokens_required`. `resource_signing_alg_values_supported` is left out:
/// the layer signs no responses.
///
/// ```
/// use axum_session_mfa::{Algorithm, AuthLayer, Key, ProtectedResource};
/// # let key = Key::hmac(Algorithm::HS256, &[7; 32]).unwrap();
/// let auth = AuthLayer::builder(key)
///     .issuer("https://auth.example.com")
///     .protected_resource(
///         ProtectedResource::new("https://api.example.com/mcp")
///             .unwrap()
///             .scopes_supported(["files:read", "files:write"])
///             .resource_name("Example MCP server"),
///     )
///     .build()
///     .unwrap();
/// let app: axum::Router = axum::Router::new().merge(auth.resource_metadata_routes().unwrap());
/// # let _ = app;
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct ProtectedResource {
    resource: String,
    /// The path of the metadata document: the well-known prefix and the resource's path.
    metadata_path: String,
    scopes_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
}

impl fmt::Debug for ProtectedResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedResource")
            .field("resource", &self.resource)
            .field("scopes_supported", &self.scopes_supported)
            .finish_non_exhaustive()
    }
}

/// The well-known path of RFC 9728 section 3.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// Why a resource identifier was refused by [`ProtectedResource::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidResource {
    /// Not an absolute URL with a scheme and a host.
    NotAbsolute,
    /// Not `https` (`http` is accepted for `localhost` and loopback addresses only, for
    /// development).
    NotHttps,
    /// It has a query or a fragment (RFC 9728 section 1.2 forbids fragments; a query would make
    /// the well-known URL ambiguous).
    QueryOrFragment,
}

impl fmt::Display for InvalidResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "the resource identifier must be an absolute URL",
            Self::NotHttps => {
                "the resource identifier must use https (http only for localhost and loopback)"
            }
            Self::QueryOrFragment => "the resource identifier must have no query or fragment",
        })
    }
}

impl std::error::Error for InvalidResource {}

impl ProtectedResource {
    /// The resource identifier: the URL clients use for the API (for an MCP server, the URL of
    /// its endpoint, `https://api.example.com/mcp`). `https`, or `http` for `localhost` and
    /// loopback addresses; no query, no fragment.
    ///
    /// # Errors
    ///
    /// [`InvalidResource`] for an identifier that breaks those rules.
    pub fn new(resource: impl Into<String>) -> Result<Self, InvalidResource> {
        let resource = resource.into();
        if resource.contains('#') || resource.contains('?') {
            return Err(InvalidResource::QueryOrFragment);
        }
        let uri: Uri = resource.parse().map_err(|_| InvalidResource::NotAbsolute)?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(InvalidResource::NotAbsolute);
        };
        let host = authority.host();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match scheme {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(InvalidResource::NotHttps),
        }
        let path = uri.path().trim_end_matches('/');
        let metadata_path = format!("{WELL_KNOWN_PATH}{path}");
        Ok(Self {
            resource,
            metadata_path,
            scopes_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
        })
    }

    /// The scopes clients may ask for (`scopes_supported`); MCP clients ask for these when the
    /// 401 names no scope.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A name for people (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A page of documentation for developers (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The URL of the metadata document, as the challenges name it (section 3.1: the
    /// well-known path inserted between the host and the resource's path).
    pub fn metadata_url(&self) -> String {
        let uri: Uri = self.resource.parse().expect("checked by ProtectedResource::new");
        let scheme = uri.scheme_str().unwrap_or("https");
        let authority = uri.authority().map_or("", |a| a.as_str());
        format!("{scheme}://{authority}{}", self.metadata_path)
    }

    /// The path the document is served at (with the resource's path, if it has one).
    pub(crate) fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The document, for a layer that trusts `issuers` and reads the `Authorization` header
    /// when `header` is set; `dpop` adds the DPoP members.
    pub(crate) fn document(
        &self,
        issuers: &[String],
        header: bool,
        dpop: Option<(&[String], bool)>,
    ) -> Map<String, Value> {
        let mut doc = Map::new();
        doc.insert("resource".into(), self.resource.clone().into());
        doc.insert("authorization_servers".into(), issuers.into());
        let methods: &[&str] = if header { &["header"] } else { &[] };
        doc.insert("bearer_methods_supported".into(), methods.into());
        if !self.scopes_supported.is_empty() {
            doc.insert("scopes_supported".into(), self.scopes_supported.clone().into());
        }
        if let Some((algs, required)) = dpop {
            doc.insert("dpop_signing_alg_values_supported".into(), algs.into());
            doc.insert("dpop_bound_access_tokens_required".into(), required.into());
        }
        if let Some(name) = &self.resource_name {
            doc.insert("resource_name".into(), name.clone().into());
        }
        if let Some(url) = &self.resource_documentation {
            doc.insert("resource_documentation".into(), url.clone().into());
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_url_inserts_the_well_known_path_before_the_resource_path() {
        let cases = [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com:8443/v1/mcp",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/mcp",
            ),
            (
                "http://127.0.0.1:3000/mcp",
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp",
            ),
            ("http://localhost", "http://localhost/.well-known/oauth-protected-resource"),
            ("http://[::1]:8080", "http://[::1]:8080/.well-known/oauth-protected-resource"),
        ];
        for (resource, url) in cases {
            assert_eq!(ProtectedResource::new(resource).unwrap().metadata_url(), url, "{resource}");
        }
    }

    #[test]
    fn refuses_identifiers_rfc_9728_forbids() {
        for (resource, error) in [
            ("http://api.example.com/mcp", InvalidResource::NotHttps),
            ("ftp://127.0.0.1/x", InvalidResource::NotHttps),
            ("/mcp", InvalidResource::NotAbsolute),
            ("api.example.com", InvalidResource::NotAbsolute),
            ("https://api.example.com/mcp#frag", InvalidResource::QueryOrFragment),
            ("https://api.example.com/mcp?x=1", InvalidResource::QueryOrFragment),
            ("http://127.0.0.1.evil.example/", InvalidResource::NotHttps),
        ] {
            assert_eq!(ProtectedResource::new(resource), Err(error), "{resource}");
        }
    }
}
