//! Floods `examples/load_target.rs` with distinct valid tokens and records its memory: the check
//! that a flood cannot grow the server past the token cache's bound. `scripts/load.sh` runs it.
//!
//! ```sh
//! cargo run --release --example flood -- http://127.0.0.1:8080 1000000 100000
//! ```
//!
//! Arguments: the server's loopback base URL, how many distinct tokens (default 1,000,000, at
//! most 10,000,000) and how often to sample (default every 100,000 requests). Each token is a
//! fresh HS256 MFA token (unique `jti` and `sid`) sent once to `/auth` over one keep-alive
//! connection. It first samples the cold server, then warms it up (10,000 requests with one
//! token, cache hits) and samples again: that is the baseline. Each sample is one line: requests
//! sent, the server's `VmRSS` and peak `VmHWM` (KiB) and its `/stats`. Any answer but 200, or
//! more than 30 minutes, stops the flood with an error.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The same as in `examples/load_target.rs`.
const ISSUER: &str = "https://issuer.load.test";
const HS256_SECRET: &[u8] = b"load-target-test-secret-not-for-production";
const WARM_UP: usize = 10_000;
const DEADLINE: Duration = Duration::from_secs(30 * 60);

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args.first().map_or("http://127.0.0.1:8080", String::as_str);
    if !(base.starts_with("http://127.0.0.1:") || base.starts_with("http://[::1]:")) {
        return Err(format!("{base}: loopback only (http://127.0.0.1:PORT)").into());
    }
    let count: usize = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let every: usize = args.get(2).map_or(Ok(100_000), |s| s.parse())?;
    if count > 10_000_000 || every == 0 {
        return Err("COUNT at most 10,000,000; EVERY at least 1".into());
    }

    axum_session_mfa::install_crypto_provider();
    let key = EncodingKey::from_secret(HS256_SECRET);
    let header = Header::new(Algorithm::HS256);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None) // loopback only, whatever proxy the environment names
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let get = |path: &str, token: Option<&str>| -> Result<String, Error> {
        let mut req = agent.get(format!("{base}{path}"));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let mut res = req.call()?;
        let status = res.status();
        let body = res.body_mut().read_to_string()?;
        if status != 200 {
            return Err(format!("GET {path}: {status} {body}").into());
        }
        Ok(body)
    };
    let started = Instant::now();
    let sample = |label: &str, sent: usize| -> Result<(), Error> {
        let rss: Value = serde_json::from_str(&get("/rss", None)?)?;
        let s: Value = serde_json::from_str(&get("/stats", None)?)?;
        println!(
            "{label:<7} sent={sent:>8} rss_kib={} hwm_kib={} entries={} bytes={} evictions={} \
             hits={} misses={} t={:.1}s",
            rss["rss_kib"],
            rss["hwm_kib"],
            s["entries"],
            s["bytes"],
            s["evictions"],
            s["hits"],
            s["misses"],
            started.elapsed().as_secs_f64(),
        );
        Ok(())
    };

    sample("cold", 0)?;
    let warm = jsonwebtoken::encode(&header, &claims(usize::MAX, now), &key)?;
    for _ in 0..WARM_UP {
        get("/auth", Some(&warm))?;
    }
    sample("warm", 0)?;
    println!("token length: {} bytes", jsonwebtoken::encode(&header, &claims(0, now), &key)?.len());
    for i in 0..count {
        if started.elapsed() > DEADLINE {
            return Err(format!("deadline: {i} of {count} tokens sent in {DEADLINE:?}").into());
        }
        get("/auth", Some(&jsonwebtoken::encode(&header, &claims(i, now), &key)?))?;
        if (i + 1) % every == 0 {
            sample("flood", i + 1)?;
        }
    }
    sample("after", count)?;
    Ok(())
}

/// The claims `load_target --mint` signs, `jti` and `sid` unique.
fn claims(i: usize, now: u64) -> Value {
    json!({
        "iss": ISSUER, "sub": "user_01HXYZABCDEF", "sid": format!("session_{i:08}"),
        "org_id": "org_01HXYZ", "role": "admin", "roles": ["admin", "member"],
        "permissions": ["reports:read", "users:write", "billing:read"],
        "amr": ["pwd", "mfa"], "acr": "urn:example:loa:2",
        "auth_time": now - 30, "iat": now - 30, "exp": now + 3600, "jti": format!("flood-{i}"),
    })
}
