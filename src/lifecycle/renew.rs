//! Refresh in the layer: a sealed session whose access token expired, or expires within the
//! buffer, is refreshed before the request goes on (one refresh per session in flight; see
//! `refresh.rs`), and the response carries the resealed cookie.

use std::time::Duration;

use http::HeaderValue;
use serde_json::Value;

use serde_json::Map;

use super::IdentityProvider;
use super::Inner;
use super::provider::{GrantError, SUBJECT_CHANGED, Tokens, unverified_claims};
use super::refresh::{Lease, Plan, REUSE_WINDOW};
use crate::audit;
use crate::authkit::{AuthKitSession, RefreshToken, SEAL_PREFIX};
use crate::layer::hook::{BoxFuture, Renewed, SessionHook};
use crate::session::verify_session;
use crate::source::{FoundAll, TokenSource};
use crate::verify::Verifier;
use crate::{AuthContext, AuthError};

/// What a refresh produced: the new session and its `Set-Cookie`.
pub(crate) struct Refreshed {
    pub(crate) session: AuthKitSession,
    pub(crate) set_cookie: HeaderValue,
}

/// The key of the sealed payload that holds an OpenID ID token (for `id_token_hint`).
pub(crate) const ID_TOKEN_KEY: &str = "idToken";

/// What the layer should add to the response.
pub(crate) type SetCookie = Option<HeaderValue>;

/// Folds the tokens of a grant into a session: a new access token, the rotated refresh token
/// (the old one when the provider did not rotate), and the user when the caller verified one
/// (the WorkOS API's answer, or a verified ID token's claims); every key the session held that
/// this crate does not know stays, and so does its sign-in id.
pub(crate) fn apply(mut session: AuthKitSession, tokens: Tokens) -> AuthKitSession {
    session.access_token = tokens.access_token;
    if let Some(rt) = tokens.refresh_token {
        session.refresh_token = Some(RefreshToken::new(rt));
    }
    if let Some(id_token) = tokens.id_token {
        session.extra.insert(ID_TOKEN_KEY.to_owned(), Value::String(id_token));
    }
    if let Some(mut user) = tokens.user {
        // A verified profile replaces the sealed one, keeping the fields it does not name.
        if user.extra.is_empty() {
            user.extra = std::mem::take(&mut session.user.extra);
        }
        session.user = user;
    }
    if tokens.authentication_method.is_some() {
        session.authentication_method = tokens.authentication_method;
    }
    if tokens.impersonator.is_some() {
        session.impersonator = tokens.impersonator;
    }
    if let Some(org) = tokens.organization_id {
        session.extra.insert("organizationId".to_owned(), Value::String(org));
    }
    session
}

impl Inner {
    /// `true` when the request's token is this lifecycle's sealed session cookie.
    fn is_ours(&self, found: &FoundAll<'_>) -> bool {
        found.others.is_empty()
            && matches!(found.first.source, TokenSource::Cookie(name) if *name == self.cookie.name)
            && found.first.token.starts_with(SEAL_PREFIX)
    }

    /// `true` when `ctx`'s access token should be refreshed now.
    fn due(&self, ctx: &AuthContext, now: u64) -> bool {
        let lifetime = ctx.iat().map_or(u64::MAX, |iat| ctx.exp().saturating_sub(iat));
        let buffer = self
            .refresh_buffer
            .map_or(if lifetime <= 300 { 30 } else { 60 }, |b| b.as_secs())
            // Never more than half the token's life, or every request would refresh.
            .min(lifetime / 2);
        ctx.exp() <= now.saturating_add(buffer)
    }

    /// Whether the request's result calls for a refresh: `Some(Some(ctx))` due but still valid,
    /// `Some(None)` expired (or signed by a key the provider has since rotated out: the seal
    /// proves we wrote the session, so its refresh token may still be good), `None` not ours to
    /// refresh (another cookie, a bearer token, several tokens, not due, another failure).
    fn refresh_needed(
        &self,
        found: &FoundAll<'_>,
        result: &Result<AuthContext, AuthError>,
    ) -> Option<Option<AuthContext>> {
        if !self.is_ours(found) {
            return None;
        }
        match result {
            Ok(ctx) if !self.due(ctx, self.clock.now()) => None,
            Ok(ctx) => Some(Some(ctx.clone())),
            Err(AuthError::Expired | AuthError::UnknownKey) => Some(None),
            Err(_) => None,
        }
    }

    /// Refreshes the request's sealed session (the hook checked that it is due), and says what
    /// to set.
    async fn renew(
        &self,
        found: &FoundAll<'_>,
        result: Result<AuthContext, AuthError>,
        verifier: &Verifier,
    ) -> (Result<AuthContext, AuthError>, SetCookie) {
        let token = &found.first.token;
        let Some(still_valid) = self.refresh_needed(found, &result) else {
            return (result, None);
        };
        let Ok(session) = AuthKitSession::open(token, &self.passwords, self.clock.now_millis())
        else {
            return (result, None);
        };
        let Some(refresh_token) = session.refresh_token.clone() else {
            return (result, None);
        };
        // A revoked or signed-out session is not refreshed: its old token (the seal proves we
        // wrote it, its claims name the session) is checked before the refresh token is spent.
        #[cfg(feature = "revocation")]
        if self.is_revoked(&session) {
            return (Err(AuthError::SessionRevoked), Some(self.cookie.clear_session()));
        }
        let idp = self.idp.clone();
        let plan = Plan {
            refresh: self.refresh_task(session, refresh_token.clone()),
            keep_for: |r: &Result<Refreshed, GrantError>| match r {
                Ok(_) => REUSE_WINDOW,
                Err(GrantError::Unavailable { retry_after, .. }) => {
                    Duration::from_secs(*retry_after).min(Duration::from_secs(5))
                }
                // A refused token stays refused: later requests with it need no new call.
                Err(GrantError::Refused { .. }) => REUSE_WINDOW,
            },
            // A sign-out ended the session while the provider answered: what it produced is
            // revoked, never handed out.
            discard: move |r: Result<Refreshed, GrantError>| {
                if let Ok(refreshed) = r {
                    discard(idp, &refreshed);
                }
            },
        };
        let outcome = self.flights.run(refresh_token.expose(), plan).await;
        let failure = match outcome.as_deref() {
            Some(Ok(refreshed)) => {
                // The provider has rotated the refresh token: keep the new session even if its
                // access token does not verify here (clock skew), or the next refresh would
                // spend the old, now dead, token and sign the user out.
                let result = verify_session(verifier, refreshed.session.clone()).await;
                return (result, Some(refreshed.set_cookie.clone()));
            }
            Some(Err(e)) => e.clone(),
            None => GrantError::Unavailable { retry_after: 5, reason: "refresh failed".into() },
        };
        if failure.is_terminal() {
            return (Err(AuthError::SessionEnded), Some(self.cookie.clear_session()));
        }
        match (still_valid, failure) {
            (Some(ctx), _) => (Ok(ctx), None),
            (None, GrantError::Unavailable { retry_after, .. }) => {
                (Err(AuthError::RefreshUnavailable { retry_after }), None)
            }
            (None, GrantError::Refused { .. }) => {
                (Err(AuthError::RefreshUnavailable { retry_after: 5 }), None)
            }
        }
    }

    /// Whether the sealed session was revoked or signed out (its sign-in, its `sid`, its user).
    #[cfg(feature = "revocation")]
    fn is_revoked(&self, session: &AuthKitSession) -> bool {
        let claims = unverified_claims(&session.access_token).unwrap_or_default();
        is_revoked(&self.revocations, &self.access.names, &claims, session.sign_in_id())
    }

    /// The refresh itself, run once per refresh token (on its own task).
    fn refresh_task(
        &self,
        session: AuthKitSession,
        refresh_token: RefreshToken,
    ) -> impl Future<Output = Result<Refreshed, GrantError>> + Send + 'static {
        let idp = self.idp.clone();
        let passwords = self.passwords.clone();
        let cookie = self.cookie.clone();
        let revocations = self.revocations.clone();
        let store = self.store.clone();
        let names = self.access.names.clone();
        let id_tokens = self.id_tokens.clone();
        let clock = self.clock.clone();
        async move {
            let old = unverified_claims(&session.access_token).unwrap_or_default();
            let sign_in = session.sign_in_id().map(str::to_owned);
            let lease = match Some(store).filter(|s| s.is_shared()) {
                None => None,
                Some(store) => {
                    let key = Lease::new(store, refresh_token.expose());
                    match key.acquire(&passwords, &cookie, &clock).await {
                        // Another instance refreshed (or is refreshing) this session.
                        Ok(Some(done)) => return done,
                        Ok(None) => Some(key),
                        // The shared state is unreachable: refresh here, as one instance would.
                        Err(e) => {
                            tracing::warn!(error = %e, "refresh lease unavailable; refreshing locally");
                            None
                        }
                    }
                }
            };
            let fresh =
                Fresh { idp: &idp, passwords: &passwords, cookie: &cookie, id_tokens: &id_tokens };
            let result = fresh.refresh(session, &refresh_token, &old).await;
            // A sign-out or revocation that came while the provider answered (on this instance
            // or, through the shared state, another): the new session is never handed out.
            let revoked = is_revoked(&revocations, &names, &old, sign_in.as_deref());
            let shared = match &lease {
                // Instances waiting on the lease learn that the session ended.
                Some(lease) if revoked => {
                    lease.publish(&Err(GrantError::ended())).await;
                    false
                }
                Some(lease) => lease.publish(&result).await,
                None => true,
            };
            match result {
                Ok(refreshed) if revoked || !shared => {
                    discard(idp, &refreshed);
                    Err(GrantError::ended())
                }
                other => other,
            }
        }
    }
}

impl SessionHook for Inner {
    fn wants_renewal(
        &self,
        found: &FoundAll<'_>,
        result: &Result<AuthContext, AuthError>,
        path: &str,
    ) -> bool {
        // Sign-in and sign-out replace the session: refreshing it on the way would spend a
        // refresh token whose result nobody keeps.
        let p = &self.paths;
        ![&p.login, &p.callback, &p.logout].iter().any(|x| *x == path)
            && self.refresh_needed(found, result).is_some()
    }

    fn renew<'a>(
        &'a self,
        found: &'a FoundAll<'_>,
        result: Result<AuthContext, AuthError>,
        verifier: &'a Verifier,
    ) -> BoxFuture<'a, Renewed> {
        Box::pin(Inner::renew(self, found, result, verifier))
    }

    #[cfg(feature = "revocation")]
    fn is_over(&self, result: &Result<AuthContext, AuthError>) -> bool {
        matches!(result, Err(AuthError::SessionRevoked))
    }

    #[cfg(not(feature = "revocation"))]
    fn is_over(&self, _: &Result<AuthContext, AuthError>) -> bool {
        false
    }

    fn clear(&self, found: &FoundAll<'_>) -> SetCookie {
        self.is_ours(found).then(|| self.cookie.clear_session())
    }

    fn sets_session(&self, set_cookie: &HeaderValue) -> bool {
        self.cookie.sets_session(set_cookie)
    }
}

/// Whether the session these (sealed, once verified) claims and sign-in id name is revoked.
#[cfg(feature = "revocation")]
fn is_revoked(
    revocations: &super::MaybeRevocations,
    names: &crate::ClaimNames,
    claims: &Map<String, Value>,
    sign_in: Option<&str>,
) -> bool {
    let Some(revocations) = revocations else { return false };
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    let time = |k: &str| claims.get(k).and_then(crate::claims::numeric_date);
    revocations.is_revoked(
        text("sid"),
        text("sub").unwrap_or_default(),
        || (time("iat"), time(&names.auth_time)),
        sign_in,
    )
}

/// Without feature `revocation` nothing is revoked.
#[cfg(not(feature = "revocation"))]
fn is_revoked(
    _: &super::MaybeRevocations,
    _: &crate::ClaimNames,
    _: &Map<String, Value>,
    _: Option<&str>,
) -> bool {
    false
}

/// Ends at the provider what a discarded refresh produced (its session, its refresh token), in
/// the background.
fn discard(idp: IdentityProvider, refreshed: &Refreshed) {
    let sid = unverified_claims(&refreshed.session.access_token)
        .and_then(|c| c.get("sid").and_then(Value::as_str).map(str::to_owned));
    let tokens: Vec<RefreshToken> = refreshed.session.refresh_token.iter().cloned().collect();
    audit::refresh_failed(&refreshed.session.user.id, sid.as_deref(), true, "signed_out");
    tokio::spawn(async move { idp.end_session(sid.as_deref(), &tokens).await });
}

/// What one refresh needs besides the session.
struct Fresh<'a> {
    idp: &'a IdentityProvider,
    passwords: &'a crate::authkit::IronPasswords,
    cookie: &'a super::cookies::CookieSettings,
    id_tokens: &'a Verifier,
}

impl Fresh<'_> {
    /// Spends the refresh token and folds the answer into the session. The answer must name
    /// the session's user and issuer (OpenID Connect Core 12.2), and an ID token in it is
    /// verified before its profile replaces the stored user; otherwise the session ends.
    async fn refresh(
        &self,
        session: AuthKitSession,
        refresh_token: &RefreshToken,
        old: &Map<String, Value>,
    ) -> Result<Refreshed, GrantError> {
        let sub = session.user.id.clone();
        let sid = old.get("sid").and_then(Value::as_str);
        let result = match self.idp.refresh(refresh_token.expose()).await {
            Ok(tokens) => self.fold(session, tokens, old, refresh_token).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(_) => audit::session_refreshed(&sub, sid),
            Err(e) => {
                let reason = match e {
                    GrantError::Refused { error } => error.as_str(),
                    GrantError::Unavailable { reason, .. } => reason.as_str(),
                };
                audit::refresh_failed(&sub, sid, e.is_terminal(), reason);
            }
        }
        result
    }

    async fn fold(
        &self,
        mut session: AuthKitSession,
        mut tokens: Tokens,
        old: &Map<String, Value>,
        refresh_token: &RefreshToken,
    ) -> Result<Refreshed, GrantError> {
        let changed = || GrantError::Refused { error: SUBJECT_CHANGED.to_owned() };
        let text =
            |c: &Map<String, Value>, k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
        let new = unverified_claims(&tokens.access_token).unwrap_or_default();
        let same_user = text(&new, "sub").is_some_and(|s| s == session.user.id)
            && text(&new, "iss") == text(old, "iss")
            && tokens.user.as_ref().is_none_or(|u| u.id == session.user.id);
        if !same_user {
            self.revoke_answer(&tokens, &new, refresh_token);
            return Err(changed());
        }
        if let Some(id_token) = tokens.id_token.as_deref() {
            match self.id_tokens.verify(id_token).await {
                Ok(id) if id.sub() == session.user.id => {
                    let claims = unverified_claims(id_token).unwrap_or_default();
                    tokens.user = super::provider::user_from_claims(&claims);
                }
                Ok(_) => {
                    self.revoke_answer(&tokens, &new, refresh_token);
                    return Err(changed());
                }
                // The keys cannot be had right now: keep the new tokens (the refresh token is
                // rotated already) and the stored profile, and the old ID token for logout.
                Err(AuthError::KeysUnavailable { .. } | AuthError::UnknownKey) => {
                    tokens.id_token = None;
                }
                Err(e) => {
                    tracing::warn!(reason = e.code(), "a refreshed ID token was refused");
                    self.revoke_answer(&tokens, &new, refresh_token);
                    return Err(changed());
                }
            }
        }
        if session.sign_in_id().is_none()
            && let Some(id) = super::flow::random_token()
        {
            // A session sealed before sign-in ids existed gets one, so sign-out can end it.
            session.extra.insert(crate::authkit::SIGN_IN_KEY.to_owned(), Value::String(id));
        }
        let session = apply(session, tokens);
        let sealed = session.seal(self.passwords).map_err(|_| GrantError::Unavailable {
            retry_after: 1,
            reason: "random number generator failed".into(),
        })?;
        Ok(Refreshed { set_cookie: self.cookie.session(sealed), session })
    }

    /// Revokes what a refused answer granted (best effort).
    /// Ends at the provider what a refused answer granted, and the refresh token just spent
    /// (a provider that does not rotate keeps it alive), in the background.
    fn revoke_answer(&self, tokens: &Tokens, claims: &Map<String, Value>, spent: &RefreshToken) {
        let sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
        let mut rt: Vec<RefreshToken> =
            tokens.refresh_token.iter().cloned().map(RefreshToken::new).collect();
        rt.push(spent.clone());
        let idp = self.idp.clone();
        tokio::spawn(async move { idp.end_session(sid.as_deref(), &rt).await });
    }
}
