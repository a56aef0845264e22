//! Sign-out that sticks. A sign-out (or a revocation) comes before, during or after a refresh
//! of the same session, on the instance that refreshes or on another one (two instances on
//! one Redis), against the WorkOS stand-in held at its answer for as long as the test wants.
//! Once the sign-out has answered, no cookie of the session works on any instance, the old one
//! or the one the refresh produced, and what the refresh produced is ended at the provider.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::authkit::{AuthKitSession, IronPasswords};
use axum_session_mfa::lifecycle::{IdentityProvider, Sessions};
use axum_session_mfa::store::{MemoryStore, RedisOptions, RedisStore, RevocationStore, Store};
use axum_session_mfa::{AuthContext, RequireAuth, Revocations};
use http::StatusCode;

use crate::lifecycle_support::{Browser, Page, TestClock, serve};
use crate::workos_standin::{API_KEY, CLIENT_ID, RefreshOverrides, USER_ID, WorkOsStandIn};

const PASSWORD: &str = "a-cookie-password-every-instance-has";
const COOKIE: &str = "wos-session";

struct Cluster {
    standin: WorkOsStandIn,
    apps: Vec<String>,
    clock: TestClock,
    revocations: Vec<Revocations>,
}

fn passwords() -> IronPasswords {
    IronPasswords::new("1", PASSWORD).unwrap()
}

async fn me(ctx: AuthContext) -> Json<AuthContext> {
    Json(ctx)
}

/// `n` instances of one app against one stand-in, sharing revocations and refresh leases
/// through Redis (a key prefix of their own), or one instance in memory.
async fn cluster(n: usize) -> Cluster {
    crate::prerequisites::report();
    let standin = WorkOsStandIn::start().await;
    let clock = TestClock::default();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let prefix = format!("it-signout-{}-{}", std::process::id(), nanos.as_nanos());
    let redis = crate::prerequisites::redis_url();
    let (mut apps, mut revocations) = (Vec::new(), Vec::new());
    for _ in 0..n {
        // One instance keeps its state in memory; several share Redis.
        let (listed, store): (Arc<dyn RevocationStore>, Arc<dyn Store>) = if n == 1 {
            let memory = MemoryStore::new();
            (Arc::new(memory.clone()), Arc::new(memory))
        } else {
            let options = RedisOptions::default().prefix(&prefix);
            let redis = RedisStore::with_options(&redis, options).unwrap();
            (Arc::new(redis.clone()), Arc::new(redis))
        };
        // The tests move the clock by up to an hour: a staleness bound beyond that keeps the
        // copies from looking stale between a move and the next resync (not what they test).
        let r = Revocations::builder(listed)
            .clock(clock.clock())
            .max_staleness(Duration::from_secs(4 * 3600))
            .resync_every(Duration::from_millis(100))
            .start()
            .await;
        tokio::spawn(r.keep_current());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = format!("http://{}", listener.local_addr().unwrap());
        let idp = IdentityProvider::workos_at(standin.base_url(), CLIENT_ID, API_KEY).unwrap();
        let sessions = Sessions::builder(idp, passwords(), format!("{app}/auth/callback"))
            .clock(clock.clock())
            .store(store)
            .revocations(r.clone())
            .build()
            .unwrap();
        let router = Router::new()
            .route("/me", get(me).route_layer(RequireAuth::new()))
            .merge(sessions.routes())
            .layer(sessions.auth_layer());
        serve(listener, router);
        apps.push(app);
        revocations.push(r);
    }
    Cluster { standin, apps, clock, revocations }
}

impl Cluster {
    /// Signs in at the first instance (clock at its true time) and returns the cookie.
    async fn sign_in(&self) -> String {
        self.clock.set_offset(0);
        let mut browser = Browser::new();
        let page = browser.navigate(&format!("{}/auth/login?return_to=/me", self.apps[0])).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        browser.cookie(&self.apps[0], COOKIE).unwrap()
    }

    /// `GET /me` on instance `i` with `cookie`, as an API client.
    async fn me(&self, i: usize, cookie: &str) -> Page {
        get_with(&self.apps[i], "/me", cookie).await
    }

    /// Sign-out on instance `i` with `cookie`; the answer must clear the cookie.
    async fn sign_out(&self, i: usize, cookie: &str) {
        let page = get_with(&self.apps[i], "/auth/logout", cookie).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{page:?}");
        assert!(page.set_cookie(COOKIE).is_some_and(|c| c.value().is_empty()), "{page:?}");
    }

    /// Waits until every instance's copy holds what instance `from` holds (the announcement
    /// reached them), so what follows does not depend on the propagation delay.
    async fn propagated(&self, from: usize) {
        let want = self.revocations[from].len();
        wait_for("the revocation to reach every instance", || {
            self.revocations.iter().all(|r| r.len() >= want)
        })
        .await;
    }

    /// Every instance refuses `cookie` (401), with or without a refresh due, and the provider
    /// sees no refresh for it.
    async fn refused_everywhere(&self, cookie: &str, what: &str) {
        let grants = self.standin.stats().refresh_grants;
        for offset in [0, 280, 3600] {
            self.clock.set_offset(offset);
            for i in 0..self.apps.len() {
                let page = self.me(i, cookie).await;
                assert_eq!(
                    page.status,
                    StatusCode::UNAUTHORIZED,
                    "{what} on {i} at +{offset}: {page:?}"
                );
                assert!(
                    !has_live_session(&page),
                    "{what} on {i} at +{offset}: a live session cookie {:?}",
                    page.set_cookies
                );
            }
        }
        assert_eq!(self.standin.stats().refresh_grants, grants, "{what}: refreshed again");
    }
}

async fn get_with(app: &str, path: &str, cookie: &str) -> Page {
    let mut browser = Browser::new().api();
    browser.set_cookie_value(app, COOKIE, cookie);
    browser.get(&format!("{app}{path}")).await
}

/// `true` when the response sets a session cookie with a value (not a clearing one).
fn has_live_session(page: &Page) -> bool {
    page.set_cookie(COOKIE).is_some_and(|c| !c.value().is_empty())
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

fn refresh_token_of(cookie: &str) -> String {
    let session = AuthKitSession::unseal(cookie, &passwords()).unwrap();
    session.refresh_token.unwrap().expose().to_owned()
}

/// Sign-out while the provider holds the answer of a refresh that the same session started,
/// on the instance that refreshes and on the other one: the waiting request gets no session
/// (401 `session_ended`, cookie cleared), the refresh's new refresh token is dead at the
/// provider (its WorkOS session revoked), and no cookie of the session works anywhere.
#[tokio::test]
async fn a_sign_out_during_the_refresh_discards_what_it_produces() {
    for (instances, sign_out_on) in [(1, 0), (2, 0), (2, 1)] {
        let c = cluster(instances).await;
        let what = format!("{instances} instance(s), sign-out on {sign_out_on}");
        let c0 = c.sign_in().await;
        c.clock.set_offset(280); // the refresh is due (30 s before expiry)
        c.standin.hold_refreshes();
        let (app, cookie) = (c.apps[0].clone(), c0.clone());
        let pending = tokio::spawn(async move { get_with(&app, "/me", &cookie).await });
        wait_for("the refresh to reach the provider", || c.standin.refreshes_held() == 1).await;
        c.sign_out(sign_out_on, &c0).await;
        c.standin.release_refreshes();
        let page = pending.await.unwrap();
        assert_eq!(
            (page.status, page.code().as_str()),
            (StatusCode::UNAUTHORIZED, "session_ended"),
            "{what}: {page:?}"
        );
        assert!(!has_live_session(&page), "{what}: the refreshed cookie was handed out");
        wait_for("the WorkOS session to be revoked", || c.standin.stats().session_revocations >= 1)
            .await;
        assert_eq!(c.standin.current_session_id(), None, "{what}: the WorkOS session lives");
        c.propagated(sign_out_on).await;
        c.refused_everywhere(&c0, &what).await;
        assert_eq!(c.standin.stats().refresh_grants, 1, "{what}");
    }
}

/// Sign-out after the provider answered, while the new cookie has not reached the browser
/// (it signs out with the old one), on the same and on the other instance: the new cookie is
/// refused everywhere, and the refresh token it carries is dead at the provider.
#[tokio::test]
async fn a_sign_out_after_the_refresh_ends_the_cookie_it_produced() {
    for (instances, sign_out_on) in [(1, 0), (2, 0), (2, 1)] {
        let c = cluster(instances).await;
        let what = format!("{instances} instance(s), sign-out on {sign_out_on}");
        let c0 = c.sign_in().await;
        c.clock.set_offset(280);
        let page = c.me(0, &c0).await;
        assert_eq!(page.status, StatusCode::OK, "{what}: {page:?}");
        let c1 = page.set_cookie(COOKIE).expect("refreshed").value().to_owned();
        let rotated = refresh_token_of(&c1);
        assert!(c.standin.refresh_token_alive(&rotated));
        c.sign_out(sign_out_on, &c0).await;
        wait_for("the rotated refresh token to die", || !c.standin.refresh_token_alive(&rotated))
            .await;
        c.propagated(sign_out_on).await;
        c.refused_everywhere(&c1, &format!("{what}, new cookie")).await;
        c.refused_everywhere(&c0, &format!("{what}, old cookie")).await;
    }
}

/// Sign-out before any refresh: a copy of the cookie is refused on every instance and never
/// refreshed, even once its access token has expired.
#[tokio::test]
async fn a_sign_out_before_the_refresh_is_final_on_every_instance() {
    let c = cluster(2).await;
    let c0 = c.sign_in().await;
    c.sign_out(1, &c0).await;
    c.propagated(1).await;
    c.refused_everywhere(&c0, "signed out on the other instance").await;
    assert_eq!(c.standin.stats().refresh_grants, 0);
}

/// A revocation of the session (an administrator's, or a back-channel logout) on the other
/// instance while the provider holds the refresh's answer: the refresh is discarded too.
#[tokio::test]
async fn a_revocation_during_the_refresh_discards_what_it_produces() {
    let c = cluster(2).await;
    let c0 = c.sign_in().await;
    let sid = c.me(0, &c0).await.json()["sid"].as_str().unwrap().to_owned();
    c.clock.set_offset(280);
    c.standin.hold_refreshes();
    let (app, cookie) = (c.apps[0].clone(), c0.clone());
    let pending = tokio::spawn(async move { get_with(&app, "/me", &cookie).await });
    wait_for("the refresh to reach the provider", || c.standin.refreshes_held() == 1).await;
    c.revocations[1].revoke_session(&sid).await.unwrap();
    c.propagated(1).await;
    c.standin.release_refreshes();
    let page = pending.await.unwrap();
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{page:?}");
    assert!(!has_live_session(&page), "the refreshed cookie was handed out: {page:?}");
    wait_for("the WorkOS session to be revoked", || c.standin.stats().session_revocations >= 1)
        .await;
    c.refused_everywhere(&c0, "revoked during the refresh").await;
}

/// A refresh whose answer names another user (access token `sub`, or the WorkOS `user`) or
/// another issuer ends the session: 401 `session_ended`, the cookie cleared, an audit event.
#[tokio::test]
async fn a_refresh_for_another_subject_or_issuer_ends_the_session() {
    let (capture, _guard) = crate::audit::capture();
    let cases = [
        RefreshOverrides { sub: Some("user_01MALLORY".into()), ..Default::default() },
        RefreshOverrides { user_id: Some("user_01MALLORY".into()), ..Default::default() },
        RefreshOverrides {
            iss: Some("https://api.workos.com/user_management/client_other".into()),
            ..Default::default()
        },
    ];
    for overrides in cases {
        let c = cluster(1).await;
        let c0 = c.sign_in().await;
        c.standin.set_refresh_overrides(overrides);
        c.clock.set_offset(280);
        let page = c.me(0, &c0).await;
        assert_eq!(
            (page.status, page.code().as_str()),
            (StatusCode::UNAUTHORIZED, "session_ended"),
            "{page:?}"
        );
        assert!(page.set_cookie(COOKIE).is_some_and(|c| c.value().is_empty()), "cleared");
        assert_eq!(c.standin.stats().refresh_grants, 1);
    }
    let events = capture.events();
    let changed = events
        .iter()
        .filter(|e| e["event"] == "refresh_failed" && e["reason"] == "subject_changed")
        .count();
    assert_eq!(changed, 3, "{}", capture.raw());
    assert!(events.iter().all(|e| e["sub"] != "user_01MALLORY" || e["event"] != "refresh"));
    let _ = USER_ID;
}
