//! The small examples in `examples/` run as their binaries, as `demo.rs` runs the demo: each
//! starts with its documented environment and answers as its module docs say.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::*;
use crate::demo::{free_port, http, start_example};

/// `verify_only` with an HS256 secret: `/` is public, `/me` needs a session, `/admin` MFA.
#[test]
fn verify_only_guards_its_routes() {
    let secret = "verify-only-shared-secret-of-32-bytes+";
    let issuer = "https://auth.example.com";
    let env = [("AUTH_HS256_SECRET", secret), ("AUTH_ISSUER", issuer)];
    let app = start_example("verify_only", "BIND", "/", free_port(), &env, None);
    let key = EncodingKey::from_secret(secret.as_bytes());
    let bearer = |amr| {
        let mut c = claims();
        c["iss"] = json!(issuer);
        c["amr"] = amr;
        format!("Bearer {}", sign_with(&Header::new(Algorithm::HS256), &c, &key))
    };
    let (pwd, mfa) = (bearer(json!(["pwd"])), bearer(json!(["pwd", "mfa"])));

    let (status, headers, _) = http(&app, "GET", "/admin", &[], None);
    assert_eq!((status, headers["www-authenticate"].to_str().unwrap()), (401, "Bearer"));
    assert_eq!(http(&app, "GET", "/me", &[], None).0, 401);
    assert_eq!(http(&app, "GET", "/me", &[("authorization", &pwd)], None).0, 200);
    let (status, headers, _) = http(&app, "GET", "/admin", &[("authorization", &pwd)], None);
    assert_eq!(status, 403);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_user_authentication"), "{challenge}");
    let (status, _, body) = http(&app, "GET", "/admin", &[("authorization", &mfa)], None);
    assert_eq!((status, body.as_str()), (200, "hello user_123, your session passed MFA\n"));
    // The recent-MFA route asks for MFA within 300 s.
    let (status, headers, _) = http(&app, "GET", "/admin/recent", &[("authorization", &pwd)], None);
    assert_eq!(status, 403);
    assert!(headers["www-authenticate"].to_str().unwrap().contains("max_age=300"));
    // Another issuer's token is refused.
    let mut other = claims();
    other["iss"] = json!("https://elsewhere.example");
    let other = format!("Bearer {}", sign_with(&Header::new(Algorithm::HS256), &other, &key));
    assert_eq!(http(&app, "GET", "/me", &[("authorization", &other)], None).0, 401);
}
