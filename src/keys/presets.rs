//! [`IssuerKeys`]: a remote key set plus the issuers it signs for (presets for WorkOS and
//! OpenID discovery).

use super::discovery::{self, DiscoveryError};
use super::jwks::{JwksError, JwksKeys, JwksOptions};

/// The keys of one issuer (or a few): a remote key set and the `iss` values its tokens carry. Pass it to
/// [`AuthLayer::builder`](crate::AuthLayer::builder), which uses the key set and accepts the
/// issuers (more with [`AuthLayerBuilder::issuer`](crate::AuthLayerBuilder::issuer)).
#[derive(Debug, Clone)]
#[must_use]
pub struct IssuerKeys {
    keys: JwksKeys,
    issuers: Vec<String>,
}

impl IssuerKeys {
    /// WorkOS (AuthKit / User Management and SSO): keys from
    /// `https://api.workos.com/sso/jwks/<client_id>`, issuers `https://api.workos.com` and
    /// `https://api.workos.com/user_management/<client_id>`. WorkOS access tokens are RS256 and
    /// often carry no `aud`; add [`audience`](crate::AuthLayerBuilder::audience) only if yours do.
    ///
    /// ```no_run
    /// use axum_session_mfa::AuthLayer;
    /// use axum_session_mfa::jwks::IssuerKeys;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let auth = AuthLayer::builder(IssuerKeys::workos("client_01H...")?).build()?;
    /// # let _ = auth; Ok(()) }
    /// ```
    pub fn workos(client_id: &str) -> Result<Self, JwksError> {
        Self::workos_with(client_id, JwksOptions::default())
    }

    /// [`IssuerKeys::workos`] with tuned [`JwksOptions`].
    pub fn workos_with(client_id: &str, options: JwksOptions) -> Result<Self, JwksError> {
        let api = reqwest::Url::parse("https://api.workos.com").expect("a valid URL");
        Self::workos_at(&api, client_id, options)
    }

    /// WorkOS with the key set fetched from another API base (a proxy or a test stand-in);
    /// the accepted issuers stay WorkOS's.
    pub(crate) fn workos_at(
        api: &reqwest::Url,
        client_id: &str,
        options: JwksOptions,
    ) -> Result<Self, JwksError> {
        if client_id.is_empty()
            || !client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(JwksError::Url(super::http::UrlError::Invalid(format!(
                "https://api.workos.com/sso/jwks/{client_id}"
            ))));
        }
        let base = api.as_str().trim_end_matches('/');
        let keys = JwksKeys::with_options(&format!("{base}/sso/jwks/{client_id}"), options)?;
        Ok(Self {
            keys,
            issuers: vec![
                "https://api.workos.com".to_owned(),
                format!("https://api.workos.com/user_management/{client_id}"),
            ],
        })
    }

    /// Any OpenID Provider, by discovery from its issuer URL (see
    /// the [`jwks`](crate::jwks) module): the document's `issuer` must equal `issuer` exactly,
    /// its `jwks_uri` becomes the key set, and `issuer` becomes the accepted `iss`.
    ///
    /// ```no_run
    /// use axum_session_mfa::AuthLayer;
    /// use axum_session_mfa::jwks::IssuerKeys;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let idp = IssuerKeys::discover("https://login.example.com/realms/acme").await?;
    /// let auth = AuthLayer::builder(idp).audience("my-api").build()?;
    /// # let _ = auth; Ok(()) }
    /// ```
    pub async fn discover(issuer: &str) -> Result<Self, DiscoveryError> {
        Self::discover_with(issuer, JwksOptions::default()).await
    }

    /// [`IssuerKeys::discover`] with tuned [`JwksOptions`] (used for the discovery fetch too).
    pub async fn discover_with(issuer: &str, options: JwksOptions) -> Result<Self, DiscoveryError> {
        let (issuer, jwks_uri) = discovery::discover(issuer, &options).await?;
        let keys = JwksKeys::from_url(jwks_uri, options).map_err(DiscoveryError::Jwks)?;
        Ok(Self { keys, issuers: vec![issuer] })
    }

    /// A provider from an explicit key set and issuer (no discovery).
    ///
    /// ```no_run
    /// use axum_session_mfa::jwks::{JwksKeys, IssuerKeys};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = JwksKeys::new("https://idp.example/jwks.json")?;
    /// let idp = IssuerKeys::new(keys, "https://idp.example");
    /// # let _ = idp; Ok(()) }
    /// ```
    pub fn new(keys: JwksKeys, issuer: impl Into<String>) -> Self {
        Self { keys, issuers: vec![issuer.into()] }
    }

    /// The key set.
    pub fn keys(&self) -> &JwksKeys {
        &self.keys
    }

    /// The accepted issuers.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    pub(crate) fn into_parts(self) -> (JwksKeys, Vec<String>) {
        (self.keys, self.issuers)
    }
}
