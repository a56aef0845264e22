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
///   at the URL of section 3.1, which the challenges name: `/.well-known/oauth-protected-resource`
///   for a resource without a path, and for one with a path that path appended
///   (`https://api.example.com/mcp` → `/.well-known/oauth-protected-resource/mcp`), so several
///   resources can share a host;
/// * every 401 challenge and every step-up or scope 403 challenge carries
///   `resource_metadata="<that URL>"` (section 5.1), so a client that meets the 401 finds the
///   authorization server by itself;
/// * tokens must be **audience-bound** to the resource (RFC 8707, as the MCP authorization
///   spec requires): when the layer has no [`audience`](crate::AuthLayerBuilder::audience),
///   the resource identifier becomes its one accepted audience.
///
/// The document is built from the layer's configuration: `authorization_servers` are the
/// layer's issuers, unless [`authorization_servers`](Self::authorization_servers) names others
/// (its [`issuer`](crate::AuthLayerBuilder::issuer) calls and the issuer of an
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
    /// Named instead of the layer's issuers, when set.
    authorization_servers: Vec<String>,
}

impl fmt::Debug for ProtectedResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtectedResource")
            .field("resource", &self.resource)
            .field("scopes_supported", &self.scopes_supported)
            .finish_non_exhaustive()
    }
}

/// The well-known path of protected resource metadata (RFC 9728 section 3); a resource with a
/// path is described at this path followed by its own.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

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
    /// It has user information (`user@host`), or its path has a character outside RFC 3986's
    /// unreserved and sub-delimiter set (`"`, `{`, `*`, non-ASCII, ...) or a segment starting
    /// with `:` (a route pattern): its metadata URL could not be served or named exactly.
    UnsupportedCharacters,
}

impl fmt::Display for InvalidResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "the resource identifier must be an absolute URL",
            Self::NotHttps => {
                "the resource identifier must use https (http only for localhost and loopback)"
            }
            Self::QueryOrFragment => "the resource identifier must have no query or fragment",
            Self::UnsupportedCharacters => {
                "the resource identifier must have no user information, and its path only \
                 letters, digits and -._~!$&'()+,;=@% (no segment starting with :)"
            }
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
        if authority.as_str().contains('@') {
            return Err(InvalidResource::UnsupportedCharacters);
        }
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
        let path = uri.path();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@%/".contains(c);
        if !path.chars().all(allowed) || path.contains("/:") {
            return Err(InvalidResource::UnsupportedCharacters);
        }
        // Section 3.1: the well-known path goes between the host and the path; a path of just
        // `/` is no path.
        let path = if path == "/" { "" } else { path };
        let metadata_path = format!("{RESOURCE_METADATA_PATH}{path}");
        Ok(Self {
            resource,
            metadata_path,
            scopes_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            authorization_servers: Vec::new(),
        })
    }

    /// The issuer identifiers of the authorization servers to name (`authorization_servers`),
    /// instead of every issuer the layer accepts: when the layer also trusts issuers that are
    /// no OAuth authorization servers a client could use (an internal token service, say), or
    /// when the issuer URL where clients find the server's RFC 8414 metadata differs.
    pub fn authorization_servers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_servers = issuers.into_iter().map(Into::into).collect();
        self
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
        format!("{}{}", self.origin(), self.metadata_path)
    }

    /// The resource's scheme and authority: `https://api.example.com`.
    pub(crate) fn origin(&self) -> String {
        let uri: Uri = self.resource.parse().expect("checked by ProtectedResource::new");
        let scheme = uri.scheme_str().unwrap_or("https");
        let authority = uri.authority().map_or("", |a| a.as_str());
        format!("{scheme}://{authority}")
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
        let servers = if self.authorization_servers.is_empty() {
            issuers
        } else {
            &self.authorization_servers
        };
        doc.insert("authorization_servers".into(), servers.into());
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
                "https://api.example.com/mcp/",
                "https://api.example.com/.well-known/oauth-protected-resource/mcp/",
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
            ("https://user@api.example.com/mcp", InvalidResource::UnsupportedCharacters),
            ("https://api.example.com/:tenant/mcp", InvalidResource::UnsupportedCharacters),
            ("https://api.example.com/*rest", InvalidResource::UnsupportedCharacters),
            ("https://api.example.com/{id}", InvalidResource::UnsupportedCharacters),
            ("https://api.example.com/caf\u{e9}", InvalidResource::UnsupportedCharacters),
        ] {
            assert_eq!(ProtectedResource::new(resource), Err(error), "{resource}");
        }
    }
}
