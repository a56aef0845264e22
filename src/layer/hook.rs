//! The hook through which whatever keeps sessions alive (the lifecycle) renews a session the
//! layer found, without the layer knowing who that is.

use std::future::Future;
use std::pin::Pin;

use http::HeaderValue;

use super::SetCookie;
use crate::source::FoundAll;
use crate::verify::Verifier;
use crate::{AuthContext, AuthError};

/// A boxed future, for the one call that may wait on the network.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a renewal gives the request: its new result, and the `Set-Cookie` to add.
pub(crate) type Renewed = (Result<AuthContext, AuthError>, SetCookie);

/// A session keeper the layer consults for every request that carried a token.
pub(crate) trait SessionHook: Send + Sync + 'static {
    /// Whether the request's session should be renewed now: cheap, no I/O, so requests that
    /// need nothing pay no allocation.
    fn wants_renewal(
        &self,
        found: &FoundAll<'_>,
        result: &Result<AuthContext, AuthError>,
        path: &str,
    ) -> bool;

    /// Renews the session (called only when [`wants_renewal`](Self::wants_renewal) said so).
    fn renew<'a>(
        &'a self,
        found: &'a FoundAll<'_>,
        result: Result<AuthContext, AuthError>,
        verifier: &'a Verifier,
    ) -> BoxFuture<'a, Renewed>;

    /// Whether `result` ends the session for good (a revoked one): its cookie is then cleared.
    fn is_over(&self, result: &Result<AuthContext, AuthError>) -> bool;

    /// A `Set-Cookie` that clears the session, when the request's token is the keeper's cookie.
    fn clear(&self, found: &FoundAll<'_>) -> SetCookie;

    /// Whether a response's `Set-Cookie` value sets the keeper's session cookie itself.
    fn sets_session(&self, set_cookie: &HeaderValue) -> bool;
}
