//! [`AuthService`]: runs the layer for each request.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::Response;
use http::Request;
use tower_service::Service;

use super::Config;

/// The service produced by [`AuthLayer`](crate::AuthLayer).
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> AuthService<S> {
    pub(super) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The clone is not ready; keep the ready one for this request (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        ResponseFuture {
            inner: Box::pin(async move {
                let nonce_always = config.dpop.as_ref().is_some_and(|d| d.nonce_for(req.headers()));
                let (outcome, set_cookie) = config.authenticate(&mut req).await;
                let extensions = req.extensions_mut();
                extensions.insert(outcome);
                if let Some(responder) = &config.responder {
                    extensions.insert(responder.clone());
                }
                let mut response = inner.call(req).await?;
                if let Some(value) = set_cookie {
                    config.add_cookie(&mut response, value);
                }
                if let Some(dpop) = &config.dpop
                    && (nonce_always || response.status() == http::StatusCode::UNAUTHORIZED)
                    && let Some(nonce) = dpop.nonce_header()
                {
                    response.headers_mut().insert("dpop-nonce", nonce);
                }
                Ok(response)
            }),
        }
    }
}

/// The future of [`AuthService`]: verification (which may wait for a key fetch), then the inner
/// service.
pub struct ResponseFuture<E> {
    inner: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>,
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<E> fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
