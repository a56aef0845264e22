//! The official TypeScript MCP SDK (`@modelcontextprotocol/sdk`) against
//! `examples/mcp_server.rs`: the client meets the 401, finds the authorization server through
//! its `resource_metadata` with the SDK's own discovery helpers, then connects with tokens the
//! test signs, and every refusal reaches the SDK as the status and challenge the server sent.

use serde_json::{Value, json};

use crate::interop_support::{require, run};
use crate::mcp_example::start;

#[test]
fn the_typescript_sdk_discovers_the_server_and_steps_up_per_tool() {
    require("@modelcontextprotocol/sdk");
    let mcp = start();
    let tokens = json!({
        "plain": mcp.token(json!({})),
        "scoped_mfa": mcp.token(json!({"scope": "files:read", "amr": ["pwd", "mfa"]})),
    });
    let out = run("mcp_client.mjs", &[&mcp.resource, &tokens.to_string()]);
    let out: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", mcp.app.base);

    // No token: the SDK's error is the 401, and its helpers find the metadata through it.
    let anonymous = &out["anonymous"];
    let refusal = &anonymous["refusal"];
    assert_eq!(refusal["sdk_error"], "StreamableHTTPError", "{anonymous}");
    assert_eq!((&refusal["error_code"], &refusal["status"]), (&json!(401), &json!(401)));
    assert_eq!(refusal["www_authenticate"], format!("Bearer resource_metadata=\"{metadata_url}\""));
    assert_eq!(refusal["problem"]["code"], "missing_token");
    assert_eq!(anonymous["resource_metadata_url"], json!(metadata_url));
    assert_eq!(anonymous["www_authenticate_params"]["resource_metadata_url"], json!(metadata_url));
    assert_eq!(anonymous["www_authenticate_params"]["error"], Value::Null);
    let metadata = &anonymous["metadata"];
    assert_eq!(metadata["resource"], json!(mcp.resource));
    assert_eq!(metadata["authorization_servers"], json!(["https://auth.example.com"]));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    assert_eq!(metadata["scopes_supported"], json!(["files:read"]));

    // A token without the scope and without MFA: listed tools, the harmless one runs.
    let plain = &out["plain"];
    assert_eq!(plain["tools"], json!(["delete_file", "read_file", "whoami"]), "{plain}");
    assert_eq!(plain["whoami"], "user_123");
    // read_file: 403 insufficient_scope, with the scope to ask for (what the SDK re-authorizes
    // with when it has an auth provider).
    let read = &plain["read_file"];
    assert_eq!((&read["error_code"], &read["status"]), (&json!(403), &json!(403)), "{read}");
    let challenge = read["www_authenticate"].as_str().unwrap();
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"files:read\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");
    assert_eq!(read["problem"]["code"], "insufficient_scope");
    assert_eq!(read["problem"]["missing_scopes"], json!(["files:read"]));
    // delete_file: 403 with the RFC 9470 step-up challenge.
    let delete = &plain["delete_file"];
    assert_eq!((&delete["error_code"], &delete["status"]), (&json!(403), &json!(403)), "{delete}");
    let challenge = delete["www_authenticate"].as_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(challenge.contains("max_age=300"), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");
    assert_eq!(delete["problem"]["code"], "insufficient_user_authentication");
    assert_eq!(delete["problem"]["missing_methods"], json!(["mfa"]));

    // The scope and MFA: both tools run.
    assert_eq!(out["scoped_mfa"]["read_file"], "the contents of notes.txt");
    assert_eq!(out["scoped_mfa"]["delete_file"], "deleted notes.txt");
}
