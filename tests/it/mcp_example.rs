//! `examples/mcp_server.rs` run as its binary and spoken to in plain JSON-RPC over HTTP, as
//! its module docs say: the 401 naming the resource metadata, the metadata itself, the scope
//! and step-up refusals of a tool call, and the calls that pass reaching rmcp intact. (The
//! official TypeScript SDK drives the same binary in `interop_mcp.rs`.)

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::*;
use crate::demo::{Demo, free_port, http, start_example};

const SECRET: &str = "mcp-example-shared-secret-of-32-bytes+";
const ISSUER: &str = "https://auth.example.com";

pub struct McpExample {
    pub app: Demo,
    /// The resource identifier: `http://127.0.0.1:<port>/mcp`.
    pub resource: String,
}

/// Starts the example on a free port with an HS256 secret.
pub fn start() -> McpExample {
    let port = free_port();
    let env = [("AUTH_HS256_SECRET", SECRET), ("AUTH_ISSUER", ISSUER)];
    let app = start_example("mcp_server", "BIND", "/health", port, &env, None);
    McpExample { app, resource: format!("http://127.0.0.1:{port}/mcp") }
}

impl McpExample {
    /// A token for this resource (`aud`), from a password-only session, with `extra` claims.
    pub fn token(&self, extra: Value) -> String {
        let mut c = claims();
        c["iss"] = json!(ISSUER);
        c["aud"] = json!(self.resource);
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        sign_with(&Header::new(Algorithm::HS256), &c, &key)
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.app.base)
    }
}

/// One JSON-RPC POST to `/mcp`: (status, headers, body).
fn rpc(
    mcp: &McpExample,
    token: Option<&str>,
    session: Option<&str>,
    message: &Value,
) -> (u16, http::HeaderMap, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer));
    }
    if let Some(session) = session {
        headers.push(("mcp-session-id", session));
        headers.push(("mcp-protocol-version", "2025-06-18"));
    }
    http(&mcp.app, "POST", "/mcp", &headers, Some(&message.to_string()))
}

fn tool_call(id: u32, name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": {"path": "notes.txt"}}})
}

/// The `result` of the JSON-RPC response in an SSE body (`data: {...}` lines).
fn sse_result(body: &str) -> Value {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find_map(|m| m.get("result").cloned())
        .unwrap_or_else(|| panic!("no JSON-RPC result in {body}"))
}

/// Opens an MCP session (initialize, then `notifications/initialized`): its id.
fn open_session(mcp: &McpExample, token: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "it", "version": "0"}}});
    let (status, headers, body) = rpc(mcp, Some(token), None, &init);
    assert_eq!(status, 200, "{body}");
    let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(rpc(mcp, Some(token), Some(&session), &initialized).0, 202);
    session
}

#[test]
fn the_example_asks_for_a_token_and_names_its_metadata() {
    let mcp = start();
    let (status, headers, body) = rpc(&mcp, None, None, &tool_call(1, "whoami"));
    assert_eq!(status, 401, "{body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert_eq!(challenge, format!("Bearer resource_metadata=\"{}\"", mcp.metadata_url()));
    // The metadata is public and names the issuer as the authorization server.
    let path = "/.well-known/oauth-protected-resource/mcp";
    let (status, _, body) = http(&mcp.app, "GET", path, &[], None);
    assert_eq!(status, 200);
    let metadata: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(metadata["resource"], json!(mcp.resource));
    assert_eq!(metadata["authorization_servers"], json!([ISSUER]));
    assert_eq!(metadata["scopes_supported"], json!(["files:read"]));
    // A token for another resource (RFC 8707 audience) is refused.
    let elsewhere = mcp.token(json!({"aud": "https://other.example/mcp"}));
    let (status, headers, _) = rpc(&mcp, Some(&elsewhere), None, &tool_call(1, "whoami"));
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
}

#[test]
fn the_example_refuses_each_tool_that_needs_more() {
    let mcp = start();
    let plain = mcp.token(json!({}));
    // The guard answers before rmcp: no MCP session is needed to be refused.
    let (status, headers, body) = rpc(&mcp, Some(&plain), None, &tool_call(2, "read_file"));
    assert_eq!(status, 403, "{body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"files:read\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{}\"", mcp.metadata_url())));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], "insufficient_scope");

    let scoped = mcp.token(json!({"scope": "files:read"}));
    let (status, headers, body) = rpc(&mcp, Some(&scoped), None, &tool_call(3, "delete_file"));
    assert_eq!(status, 403, "{body}");
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(challenge.contains("max_age=300"), "{challenge}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&problem["code"], &problem["policy"]),
        (&json!("insufficient_user_authentication"), &json!("recent-mfa"))
    );
    // MFA too long ago: the same challenge, for the age.
    let stale = mcp.token(json!({"amr": ["pwd", "mfa"], "auth_time": now() - 600}));
    let (status, _, body) = rpc(&mcp, Some(&stale), None, &tool_call(4, "delete_file"));
    assert_eq!(status, 403);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["rule"], "auth_too_old");
}

#[test]
fn the_example_runs_the_tools_a_token_allows() {
    let mcp = start();
    let plain = mcp.token(json!({}));
    let session = open_session(&mcp, &plain);
    let (status, _, body) = rpc(&mcp, Some(&plain), Some(&session), &tool_call(2, "whoami"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(sse_result(&body)["content"][0]["text"], "user_123");

    let strong = mcp.token(json!({"scope": "openid files:read", "amr": ["pwd", "mfa"]}));
    let session = open_session(&mcp, &strong);
    let (status, _, body) = rpc(&mcp, Some(&strong), Some(&session), &tool_call(3, "read_file"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(sse_result(&body)["content"][0]["text"], "the contents of notes.txt");
    let (status, _, body) = rpc(&mcp, Some(&strong), Some(&session), &tool_call(4, "delete_file"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(sse_result(&body)["content"][0]["text"], "deleted notes.txt");
}
