//! The server `scripts/load.sh` drives with `wrk` and `examples/flood.rs`: loopback only, test
//! keys only. Not an example to copy into production (its HS256 secret is in this file).
//!
//! ```sh
//! cargo run --release --example load_target -- 8080              # or LOAD_PORT=8080
//! cargo run --release --example load_target -- --mint 200000 tokens.txt
//! ```
//!
//! Routes on `127.0.0.1:PORT`:
//! * `GET /bare`: "ok" from a router **without** the auth layer (the baseline);
//! * `GET /auth`: "ok" behind `AuthLayer` + `RequireMfa` (200 with an MFA token, 401/403 otherwise);
//! * `GET /stats`: the layer's `cache_stats()` as JSON (null with `LOAD_CACHE=off`);
//! * with `LOAD_AUDIT=FILE` in the environment, the audit events go to FILE as JSON lines (no
//!   tracing subscriber otherwise);
//! * `GET /rss`: this process's resident memory from `/proc/self/status` (`VmRSS`, and its peak
//!   `VmHWM`), in KiB.
//!
//! The layer verifies RS256 tokens with `tests/fixtures/keys/rsa_public.pem` (`--mint` signs
//! them with `rsa_private.pem`) and HS256 tokens with [`HS256_SECRET`]: `examples/flood.rs`
//! mints a million tokens on the fly, which RSA signing (about 0.8 ms each) would make too slow.
//! The token cache is the **default** one: at most 10,000 entries and 64 MiB of weight (each
//! entry weighs an estimate of the memory its token and verified claims hold, about 5.5 KB for
//! these tokens; see BENCHMARKS.md), entries trusted 60 s at most. `LOAD_CACHE=off` in the
//! environment turns the cache off.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use axum_session_mfa::{Algorithm, AuthLayer, Key, KeySource, RequireMfa, TokenCache};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

/// The issuer every load token names.
const ISSUER: &str = "https://issuer.load.test";
/// Test-only shared secret for the flood's HS256 tokens (the same in `examples/flood.rs`).
const HS256_SECRET: &[u8] = b"load-target-test-secret-not-for-production";
const KEYS: &str = "tests/fixtures/keys";

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, count, file] if flag == "--mint" => mint(count.parse()?, file),
        [] | [_] => {
            let port = args.first().cloned().or_else(|| std::env::var("LOAD_PORT").ok());
            serve(port.as_deref().unwrap_or("8080").parse()?).await
        }
        _ => Err("usage: load_target [PORT] | load_target --mint COUNT FILE".into()),
    }
}

async fn serve(port: u16) -> Result<(), Error> {
    let rsa = Key::from_public_pem(&std::fs::read(format!("{KEYS}/rsa_public.pem"))?)?;
    let hmac = Key::hmac(Algorithm::HS256, HS256_SECRET)?;
    // LOAD_AUDIT=FILE: the audit trail as JSON lines into FILE (buffered), as a service that
    // ships it to a SIEM would; without it no subscriber is installed and events cost nothing.
    if let Some(path) = std::env::var_os("LOAD_AUDIT") {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        tracing_subscriber::fmt()
            .json()
            .with_env_filter("axum_session_mfa::audit=info")
            .with_writer(std::sync::Mutex::new(file))
            .init();
    }
    // The default token cache (`TokenCache::new()`), or none with LOAD_CACHE=off to compare.
    let cache = match std::env::var("LOAD_CACHE").as_deref() {
        Ok("off") => TokenCache::disabled(),
        _ => TokenCache::new(),
    };
    let keys = KeySource::try_from(vec![rsa, hmac])?;
    let layer = AuthLayer::builder(keys).issuer(ISSUER).token_cache(cache).build()?;

    let stats_layer = layer.clone();
    let guarded = Router::new()
        .route("/auth", get(|| async { "ok" }))
        .route_layer(RequireMfa::new())
        .layer(layer);
    let app = Router::new()
        .route("/bare", get(|| async { "ok" }))
        .route("/stats", get(move || async move { Json(stats(&stats_layer)) }))
        .route("/rss", get(|| async { Json(rss()) }))
        .merge(guarded);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

fn stats(layer: &AuthLayer) -> Value {
    match layer.cache_stats() {
        Some(s) => json!({
            "hits": s.hits, "misses": s.misses, "evictions": s.evictions,
            "entries": s.entries, "bytes": s.bytes,
        }),
        None => Value::Null,
    }
}

/// `VmRSS` and `VmHWM` from `/proc/self/status`, in KiB (null where unreadable).
fn rss() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].trim().trim_end_matches("kB").trim().parse::<u64>().ok()
    };
    json!({ "rss_kib": field("VmRSS:"), "hwm_kib": field("VmHWM:") })
}

/// Writes `count` distinct RS256 MFA tokens to `file`, one a line, valid for 7 days; signs on
/// every core.
fn mint(count: usize, file: &str) -> Result<(), Error> {
    axum_session_mfa::install_crypto_provider();
    let key = EncodingKey::from_rsa_pem(&std::fs::read(format!("{KEYS}/rsa_private.pem"))?)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(threads).max(1);
    let chunks: Vec<Result<Vec<String>, _>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let key = &key;
                scope.spawn(move || {
                    let header = Header::new(Algorithm::RS256);
                    (start..(start + chunk).min(count))
                        .map(|i| jsonwebtoken::encode(&header, &claims(i, now), key))
                        .collect::<Result<Vec<String>, _>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a signing thread panicked")).collect()
    });
    let mut out = String::new();
    for token in chunks.into_iter().collect::<Result<Vec<_>, _>>()?.concat() {
        out.push_str(&token);
        out.push('\n');
    }
    std::fs::write(file, out)?;
    println!("wrote {count} tokens to {file}");
    Ok(())
}

/// Realistic access-token claims (the size of WorkOS's or Auth0's), `jti` and `sid` unique.
fn claims(i: usize, now: u64) -> Value {
    json!({
        "iss": ISSUER, "sub": "user_01HXYZABCDEF", "sid": format!("session_{i:08}"),
        "org_id": "org_01HXYZ", "role": "admin", "roles": ["admin", "member"],
        "permissions": ["reports:read", "users:write", "billing:read"],
        "amr": ["pwd", "mfa"], "acr": "urn:example:loa:2",
        "auth_time": now - 30, "iat": now - 30, "exp": now + 7 * 86_400, "jti": format!("load-{i}"),
    })
}
