//! The official TypeScript MCP SDK (`@modelcontextprotocol/sdk`) against
//! `examples/mcp_server.rs`: the client meets the 401, finds the authorization server through
//! its `resource_metadata` with the SDK's own discovery helpers, then connects with tokens the
//! test signs, and every refusal reaches the SDK as the status and challenge the server sent.
//! Then the SDK's own OAuth machinery against a real authorization server (`oidc-provider`):
//! from no token to the tool calls, nothing but the client's credentials handed to it.

use serde_json::{Value, json};

use crate::demo::{free_port, start_example};
use crate::interop_support::{Peer, require, run};
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

/// One HTTP exchange of the SDK, as `mcp_oauth_client.mjs` recorded it: "METHOD url [JSON-RPC
/// method] [auth scheme] -> status".
fn exchange(e: &Value) -> String {
    let mut line = format!("{} {}", e["method"].as_str().unwrap(), e["url"].as_str().unwrap());
    for part in [&e["rpc"], &e["authorization"]] {
        if let Some(part) = part.as_str() {
            line = format!("{line} {part}");
        }
    }
    format!("{line} -> {}", e["status"])
}

fn exchanges(wire: &Value) -> Vec<String> {
    wire.as_array().unwrap().iter().map(exchange).collect()
}

/// The SDK's `Client` + `StreamableHTTPClientTransport` with its own `ClientCredentialsProvider`
/// as `authProvider`, given only a client id and secret and the issuer they may go to, against
/// the example configured with `oidc-provider` as its issuer and JWKS. With no token the first
/// request gets the 401; the SDK follows its `resource_metadata`, discovers the authorization
/// server it names, asks for a token with the RFC 8707 `resource` of the metadata, and retries:
/// the token `oidc-provider` issued (aud = the MCP resource, iss = the issuer) is what the
/// example verified against the provider's JWKS, and the tools run.
///
/// On the 403 `insufficient_scope` of a token without `files:read`, SDK 1.32.2 runs its
/// authorization again (discovery and a new token request) and retries once, but its client
/// credentials flow asks for the scope configured in the provider, not the challenge's: the new
/// token has no more scope, the retry meets the same challenge, and the SDK gives up with a 403
/// `StreamableHTTPError` ("after trying upscoping"). The challenge told it the scope to ask for.
#[test]
fn the_typescript_sdk_authorizes_itself_with_oidc_provider() {
    require("@modelcontextprotocol/sdk");
    require("oidc-provider");
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let op = Peer::spawn_with_env("mcp_oauth_provider.mjs", &[("MCP_RESOURCE", &resource)]);
    let config: Value = serde_json::from_str(&op.greeting).expect("greeting is JSON");
    let (issuer, client_id) = (config["issuer"].as_str().unwrap(), &config["client_id"]);
    let env = [("AUTH_ISSUER", issuer), ("AUTH_JWKS_URL", config["jwks_uri"].as_str().unwrap())];
    let app = start_example("mcp_server", "BIND", "/health", port, &env, None);
    let out = run("mcp_oauth_client.mjs", &[&resource, op.greeting.trim()]);
    let out: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", app.base);
    let token_endpoint = format!("{issuer}/token");

    // 1. A client asking for files:read. The SDK's first request has no token: 401, naming the
    // metadata; then the metadata, the authorization server's metadata (at the issuer the
    // metadata names), the token request, and the retried initialize with the token it got.
    let scoped = &out["scoped"];
    let wire = exchanges(&scoped["wire"]);
    assert_eq!(
        wire[..5],
        [
            format!("POST {resource} initialize -> 401"),
            format!("GET {metadata_url} -> 200"),
            format!("GET {issuer}/.well-known/oauth-authorization-server -> 200"),
            format!("POST {token_endpoint} Basic -> 200"),
            format!("POST {resource} initialize Bearer -> 200"),
        ],
        "{wire:#?}"
    );
    let challenge = &scoped["wire"][0]["www_authenticate"];
    assert_eq!(challenge, &json!(format!("Bearer resource_metadata=\"{metadata_url}\"")));
    // The token request: client credentials, the scope asked for, the resource (RFC 8707).
    let form = &scoped["wire"][3]["form"];
    let expected =
        json!({"grant_type": "client_credentials", "scope": "files:read", "resource": resource});
    assert_eq!(form, &expected);
    // What the SDK found on the way: the metadata URL of the challenge, the example's metadata
    // and the authorization server it names, that server's own metadata.
    let discovered = &scoped["discovered"];
    assert_eq!(discovered.as_array().unwrap().len(), 1, "{discovered}");
    let found = &discovered[0];
    assert_eq!(found["resource_metadata_url"], json!(metadata_url), "{found}");
    assert_eq!(found["resource_metadata"]["resource"], json!(resource));
    assert_eq!(found["resource_metadata"]["scopes_supported"], json!(["files:read"]));
    assert_eq!(found["authorization_server_url"], json!(issuer));
    assert_eq!(found["authorization_server_issuer"], json!(issuer));
    assert_eq!(found["token_endpoint"], json!(token_endpoint));
    // One token, oidc-provider's: for the MCP resource, from the issuer, with the scope.
    let tokens = scoped["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let claims = &tokens[0]["claims"];
    assert_eq!(claims["aud"], json!(resource), "{claims}");
    assert_eq!(claims["iss"], json!(issuer), "{claims}");
    assert_eq!(claims["scope"], "files:read", "{claims}");
    assert_eq!(&claims["client_id"], client_id, "{claims}");
    // Every later MCP request carried it and passed (the GET of the SSE stream runs alongside,
    // so only the POSTs are in order); no other token request.
    let later: Vec<_> = wire[5..].iter().filter(|e| e.starts_with("POST")).cloned().collect();
    assert_eq!(
        later,
        [
            format!("POST {resource} notifications/initialized Bearer -> 202"),
            format!("POST {resource} tools/list Bearer -> 200"),
            format!("POST {resource} tools/call Bearer -> 200"),
            format!("POST {resource} tools/call Bearer -> 200"),
        ],
        "{wire:#?}"
    );
    assert!(wire[5..].iter().all(|e| e.contains(" Bearer -> 2")), "{wire:#?}");
    // The tools, run with the identity and scope of that token.
    assert_eq!(scoped["tools"], json!(["delete_file", "read_file", "whoami"]), "{scoped}");
    assert_eq!(&scoped["whoami"], client_id);
    assert_eq!(scoped["read_file"], "the contents of notes.txt");

    // 2. A client asking for no scope: connected the same way, with a token without scope.
    let unscoped = &out["unscoped"];
    let wire = exchanges(&unscoped["connect_wire"]);
    assert_eq!(wire[0], format!("POST {resource} initialize -> 401"), "{wire:#?}");
    assert!(wire.contains(&format!("POST {resource} tools/call Bearer -> 200")), "{wire:#?}");
    assert_eq!(&unscoped["whoami"], client_id);
    let first = &unscoped["tokens"][0]["claims"];
    assert_eq!((&first["aud"], &first["iss"]), (&json!(resource), &json!(issuer)), "{first}");
    assert_eq!(first["scope"], Value::Null, "{first}");
    // read_file: 403 insufficient_scope naming files:read; the SDK authorizes again (metadata,
    // authorization server, a token request) and retries once, with a token of the same scope.
    let wire = exchanges(&unscoped["wire"]);
    assert_eq!(
        wire,
        [
            format!("POST {resource} tools/call Bearer -> 403"),
            format!("GET {metadata_url} -> 200"),
            format!("GET {issuer}/.well-known/oauth-authorization-server -> 200"),
            format!("POST {token_endpoint} Basic -> 200"),
            format!("POST {resource} tools/call Bearer -> 403"),
        ],
    );
    let challenge = unscoped["wire"][0]["www_authenticate"].as_str().unwrap();
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"files:read\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");
    assert_eq!(unscoped["wire"][4]["www_authenticate"], json!(challenge));
    // The new token request names the resource but not the challenge's scope: the SDK's client
    // credentials flow sends the provider's configured scope (none here).
    let form = &unscoped["wire"][3]["form"];
    assert_eq!(form, &json!({"grant_type": "client_credentials", "resource": resource}));
    let tokens = unscoped["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let again = &tokens[1]["claims"];
    assert_ne!(again["jti"], first["jti"], "a new token");
    assert_eq!((&again["aud"], &again["scope"]), (&json!(resource), &Value::Null), "{again}");
    // So the SDK stops with the server's status.
    let read = &unscoped["read_file"];
    assert_eq!(
        (&read["error_name"], &read["error_code"]),
        (&json!("StreamableHTTPError"), &json!(403))
    );
    assert!(read["message"].as_str().unwrap().contains("403 after trying upscoping"), "{read}");
}
