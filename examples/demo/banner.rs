//! What the demo prints at start: where it listens, who signs users in, what to try, and the
//! shared state (never the Redis password), with a warning block when Redis does not answer.

use crate::config::{Config, Stores};
use crate::{Mode, RECENT};

pub async fn print(config: &Config, mode: &Mode, stores: &Stores) {
    let base = format!("http://{}", config.addr);
    println!("axum-session-mfa demo listening on {base}");
    let what = shared_state(config);
    match &stores.redis {
        None => println!("Shared state: {what}."),
        #[cfg(not(feature = "redis"))]
        Some(never) => match *never {},
        // Redis connects lazily and reconnects on its own: ask it once, to say so at start.
        #[cfg(feature = "redis")]
        Some(redis) => match redis.ping().await {
            Ok(()) => println!("Shared state: {what}: it answered at start."),
            Err(e) => {
                println!("Shared state: {what}: it did NOT answer at start.");
                warn_redis_down(&what, &e.to_string());
            }
        },
    }
    match mode {
        Mode::Dev(_) => {
            println!("No key configured: running the built-in development issuer.");
            if config.authkit.is_some() {
                println!(
                    "  It hands out AuthKit-style sealed `{}` cookies. Its tokens carry `amr`; \
                     real WorkOS access tokens do not, so with WorkOS RequireMfa denies every \
                     session.",
                    config.cookie
                );
            }
            println!(
                "  Browser: open {base}/ and sign in with or without MFA, then visit /me and \
                 /admin."
            );
            println!("  curl:    T=$(curl -s '{base}/dev/token?mfa=true')");
            println!("           curl -i -H \"Authorization: Bearer $T\" {base}/admin");
        }
        #[cfg(feature = "lifecycle")]
        Mode::Sessions { sessions, provider, redirect_uri, polls } => {
            // Sessions::build checked that it is an absolute URL.
            let url = url::Url::parse(redirect_uri).expect("a checked redirect URI");
            let (origin, callback) = (url.origin().ascii_serialization(), url.path());
            println!(
                "Signing users in with {provider} (client `{}`); the session is the sealed \
                 cookie `{}`, Bearer tokens are accepted too.",
                sessions.provider().client_id(),
                sessions.cookie_name()
            );
            println!(
                "  Sign-in routes: GET {}, GET {callback}, GET|POST /auth/logout, GET /auth/session",
                sessions.login_path()
            );
            println!(
                "  Register at the provider: redirect URI {redirect_uri}, sign-out redirect {origin}/"
            );
            if let Some(issuer) = &config.ssf_issuer {
                println!(
                    "  Shared Signals: POST {origin}{} receives {issuer}'s Security Event Tokens; \
                     register it as the stream's push endpoint",
                    sessions.shared_signals_path()
                );
            }
            if let Some(path) = sessions.workos_webhook_path() {
                println!(
                    "  WorkOS webhook: POST {path} (register {origin}{path} for session.revoked, \
                     user.deleted, organization_membership.deleted)"
                );
            }
            if *polls {
                println!(
                    "  WorkOS Events API: polled every 5 s for session.revoked, user.deleted, \
                     organization_membership.deleted (one instance at a time)"
                );
            }
            println!(
                "  Browser: open {base}/ and sign in, then visit /me, /admin and /admin/recent."
            );
        }
        Mode::Verify => {
            println!("Send tokens as the cookie `{}` or as a Bearer token:", config.cookie);
            println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/me");
            println!("  curl -i -H \"Authorization: Bearer $TOKEN\" {base}/admin");
        }
    }
    if config.workos {
        println!(
            "  /admin is RequireMfa: WorkOS tokens carry no `amr`, so it refuses every WorkOS \
             session (403; with a step-up URL, browsers get a page saying so)."
        );
        println!(
            "  /admin/recent is RequireRecentAuth: a sign-in within {} s (403 after that; with \
             sign-in, browsers are asked to sign in again).",
            RECENT.as_secs()
        );
    } else {
        println!(
            "  Without a session: curl -i {base}/admin  (401), password-only: 403, with mfa: 200"
        );
        println!("  /admin/recent: MFA within the last {} s.", RECENT.as_secs());
    }
}

/// "in memory ..." or "Redis at host:port over TLS ...", without the password.
fn shared_state(config: &Config) -> String {
    match &config.redis_url {
        None => "in memory (this process only)".to_owned(),
        #[cfg(feature = "redis")]
        Some(url) => redis_place(url, config.redis_ca_file.as_deref()),
        #[cfg(not(feature = "redis"))]
        Some(_) => unreachable!("config.rs refuses AUTH_REDIS_URL without the redis feature"),
    }
}

#[cfg(feature = "redis")]
fn redis_place(url: &str, ca_file: Option<&str>) -> String {
    // RedisStore::with_options accepted it, so it parses.
    let Ok(url) = url::Url::parse(url) else { return "Redis".to_owned() };
    let place = match url.host_str() {
        Some(host) => format!("{host}:{}", url.port().unwrap_or(6379)),
        None => format!("the socket {}", url.path()),
    };
    let how = match (matches!(url.scheme(), "rediss" | "valkeys"), ca_file) {
        (true, Some(path)) => format!("over TLS, trusting the CA in {path}"),
        (true, None) => "over TLS, trusting the system's roots".to_owned(),
        (false, _) => "without TLS".to_owned(),
    };
    format!("Redis at {place} {how}")
}

/// A Redis that does not answer at start deserves more than one log line: revocations are
/// not shared, and sessions are refused once the local copy is stale.
fn warn_redis_down(what: &str, error: &str) {
    let rule = "=".repeat(78);
    eprintln!("\n{rule}");
    eprintln!("WARNING: the shared state did not answer at start.");
    eprintln!("WARNING:   {what}");
    eprintln!("WARNING:   {error}");
    eprintln!("WARNING: This instance could not load the revocations: until Redis answers,");
    eprintln!("WARNING: requests with a session get 503 (revocation_unavailable) and");
    eprintln!("WARNING: revocations are not shared. The demo keeps reconnecting on its own.");
    eprintln!("WARNING: Check AUTH_REDIS_URL (host, port, password, redis:// or rediss://)");
    eprintln!("WARNING: and, for TLS, AUTH_REDIS_CA_FILE.");
    eprintln!("{rule}\n");
}
