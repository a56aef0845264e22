//! Remote keys (feature `jwks`): a JSON Web Key Set cached, refreshed in the background and
//! refetched on unknown `kid`s ([`JwksKeys`]), OpenID Connect discovery and provider presets
//! ([`IssuerKeys`]). A layer uses them through a [`IssuerKeys`], which pins the issuers:
//!
//! ```no_run
//! use axum_session_mfa::AuthLayer;
//! use axum_session_mfa::jwks::{JwksKeys, IssuerKeys};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = JwksKeys::new("https://idp.example/.well-known/jwks.json")?;
//! let auth = AuthLayer::builder(IssuerKeys::new(keys, "https://idp.example")).build()?;
//! # let _ = auth; Ok(()) }
//! ```
//!
//! # Behaviour
//! * **Which keys**: each JWK is converted by the rule in [`KeySource`](crate::KeySource) ("Keys from a JWKS"):
//!   signing keys only, one pinned algorithm each, no symmetric keys; a key that fails the rule
//!   is skipped and logged once (`tracing` warn), the good ones are kept. A response with no
//!   usable key at all counts as a failed fetch.
//! * **Freshness**: a fetched set is fresh for `Cache-Control: max-age`, clamped to
//!   [`JwksOptions::min_ttl`]..=[`JwksOptions::max_ttl`] ([`JwksOptions::default_ttl`] when the
//!   header is absent; `no-cache`/`no-store` count as 0, so the floor applies). After 80% of that
//!   time, the next request starts a refresh in a background task and is itself served from the
//!   current set, without waiting.
//! * **Bounded staleness**: when refreshes fail, the last good set keeps being served until
//!   [`JwksOptions::max_stale`] past its expiry; after that, requests that need a key get
//!   [`AuthError::KeysUnavailable`](crate::AuthError::KeysUnavailable) (503 with `Retry-After`) until a fetch succeeds.
//! * **Unknown `kid`**: a token naming a `kid` that is not in the set triggers an immediate
//!   refetch (the request waits for it). Fetches are single-flight: concurrent requests share
//!   one. On-demand fetches (and retries after failures) are at least
//!   [`JwksOptions::refetch_interval`] apart, so a flood of tokens with random `kid`s costs at
//!   most one fetch per interval; within the interval an unknown `kid` is refused at once
//!   ([`AuthError::UnknownKey`](crate::AuthError::UnknownKey)).
//! * **Nothing cached yet** (first fetch failed or not yet made): the request fetches (within the
//!   interval rule); if no set is available it gets [`AuthError::KeysUnavailable`](crate::AuthError::KeysUnavailable), never a pass.
//!   Recovery is automatic: the first request after the interval fetches again.
//! * **Hot path**: a request whose `kid` is in a fresh set reads an [`arc_swap`] snapshot; it
//!   takes no lock that a fetch holds and makes no network call.
//! * **Network**: see [`KeySource`](crate::KeySource) for the URL rule (https, or http to loopback only).
//!   Connect and total timeouts and a body size limit apply; the key URL comes from
//!   configuration (or a discovery document fetched from the configured issuer), never from a
//!   token.
//! * **Key selection**: a token's `kid` must name a key of the set exactly (keys published
//!   without a `kid` are not wildcards here); a token without `kid` is accepted only when exactly
//!   one key of the set is pinned to its `alg`.

pub use crate::keys::{DiscoveryError, IssuerKeys, JwksError, JwksKeys, JwksOptions, UrlError};
