//! `mcp::ToolGuardLayer` in front of a stand-in MCP endpoint: each tool call refused or passed
//! by its tool's policy, with the guards' statuses and challenges, the body handed on intact,
//! and every request the guard cannot read refused (fail closed).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use axum_session_mfa::mcp::{DEFAULT_MAX_BODY_BYTES, ToolCallError, ToolGuardLayer};
use axum_session_mfa::{MfaPolicy, ProblemCode, RejectionKind};
use http::Request;
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::audit::capture;
use crate::common::*;

/// The stand-in MCP endpoint: answers `POST` with the body it received, `GET` (the SSE
/// stream) with "stream"; counts the requests that reached it.
fn app_with(tools: ToolGuardLayer) -> (Router, Arc<AtomicUsize>) {
    let reached = Arc::new(AtomicUsize::new(0));
    let (on_post, on_get) = (reached.clone(), reached.clone());
    let endpoint = post(move |body: Bytes| async move {
        on_post.fetch_add(1, Ordering::SeqCst);
        body
    })
    .get(move || async move {
        on_get.fetch_add(1, Ordering::SeqCst);
        "stream"
    });
    let auth = builder_for(Algorithm::HS256).build().unwrap();
    (Router::new().route("/mcp", endpoint.route_layer(tools)).layer(auth), reached)
}

fn tools() -> ToolGuardLayer {
    let recent = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300));
    ToolGuardLayer::new().tool("delete_file", recent.build())
}

fn app() -> (Router, Arc<AtomicUsize>) {
    app_with(tools())
}

fn call(id: u32, tool: &str) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": {"path": "a.txt"}}})
}

fn post_body(body: impl Into<Body>, token: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/mcp").header("content-type", "application/json");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(body.into()).unwrap()
}

fn post_json(message: &serde_json::Value, token: Option<&str>) -> Request<Body> {
    post_body(message.to_string(), token)
}

/// A step-up 403 for the `recent-mfa` policy, challenge and problem body alike.
fn assert_step_up(reply: &Reply) {
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(reply.code(), "insufficient_user_authentication");
    let challenge = reply.www_authenticate();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(challenge.contains("max_age=300"), "{challenge}");
    assert_eq!(reply.json()["policy"], "recent-mfa");
    assert_eq!(reply.json()["rule"], "methods_missing");
    assert_eq!(reply.headers["content-type"], "application/problem+json");
}

/// A refusal the guard answers before reading any tool: the problem, its reason, no challenge.
fn assert_unreadable(reply: &Reply, status: u16, code: &str, reason: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.code(), code);
    assert_eq!(reply.json()["reason"], reason);
    assert!(reply.headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn a_guarded_tool_without_mfa_gets_the_step_up_challenge_and_never_reaches_the_server() {
    let (app, reached) = app();
    let reply = send(&app, post_json(&call(1, "delete_file"), Some(&hs256(&claims())))).await;
    assert_step_up(&reply);
    assert_eq!(reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_guarded_tool_with_mfa_reaches_the_server_with_the_same_bytes() {
    let (app, reached) = app();
    // Spacing and member order as a client sent them: the server must see exactly these bytes.
    let body = r#"{ "params": {"name": "delete_file", "arguments": {"path": "a.txt"}},
                   "method": "tools/call", "id": 7, "jsonrpc": "2.0" }"#;
    let reply = send(&app, post_body(body, Some(&hs256(&mfa_claims())))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), body);
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_guarded_tool_without_a_session_is_401_and_a_bad_token_401_invalid_token() {
    let (app, reached) = app();
    let reply = send(&app, post_json(&call(1, "delete_file"), None)).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "missing_token");
    assert_eq!(reply.www_authenticate(), "Bearer");
    let mut expired = mfa_claims();
    expired["exp"] = json!(now() - 3600);
    let reply = send(&app, post_json(&call(1, "delete_file"), Some(&hs256(&expired)))).await;
    assert_invalid(&reply, "token_expired");
    assert_eq!(reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn too_old_an_authentication_is_refused_with_auth_too_old() {
    let (app, _) = app();
    let mut old = mfa_claims();
    old["auth_time"] = json!(now() - 301);
    let reply = send(&app, post_json(&call(1, "delete_file"), Some(&hs256(&old)))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["rule"], "auth_too_old");
    assert!(reply.www_authenticate().contains("max_age=300"));
}

#[tokio::test]
async fn other_tools_and_methods_are_the_servers_to_answer() {
    let (app, reached) = app();
    let pwd = hs256(&claims());
    for message in [
        call(1, "read_file"),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        // `delete_file` as an argument of another tool is not a call of it.
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "read_file", "arguments": {"name": "delete_file"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ] {
        let reply = send(&app, post_json(&message, Some(&pwd))).await;
        assert_eq!(reply.status, 200, "{message}");
        // Without a session too: this layer guards tools, `RequireAuth` guards the endpoint.
        assert_eq!(send(&app, post_json(&message, None)).await.status, 200, "{message}");
    }
    assert_eq!(reached.load(Ordering::SeqCst), 8);
}

#[tokio::test]
async fn a_batch_with_a_guarded_call_anywhere_is_refused_whole() {
    let (app, reached) = app();
    let batch = json!([call(1, "read_file"), {"jsonrpc": "2.0", "id": 2, "method": "ping"},
                       call(3, "delete_file")]);
    assert_step_up(&send(&app, post_json(&batch, Some(&hs256(&claims())))).await);
    assert_eq!(send(&app, post_json(&batch, None)).await.status, 401);
    assert_eq!(reached.load(Ordering::SeqCst), 0);
    let reply = send(&app, post_json(&batch, Some(&hs256(&mfa_claims())))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn each_tool_has_its_own_policy() {
    let (app, _) = app_with(
        tools()
            .tool("read_file", MfaPolicy::scopes_only(["files:read"]))
            .tool("audit_log", MfaPolicy::builder().require("admin", |c| c.has_role("x")).build()),
    );
    let reply = send(&app, post_json(&call(1, "read_file"), Some(&hs256(&mfa_claims())))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.code(), "insufficient_scope");
    let challenge = reply.www_authenticate();
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"files:read\""), "{challenge}");
    let mut scoped = claims();
    scoped["scope"] = json!("files:read");
    let reply = send(&app, post_json(&call(1, "read_file"), Some(&hs256(&scoped)))).await;
    assert_eq!(reply.status, 200);
    // A custom rule stepping up cannot satisfy: a plain 403, no challenge.
    let reply = send(&app, post_json(&call(1, "audit_log"), Some(&hs256(&mfa_claims())))).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (403, "policy_denied"));
    assert!(reply.headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn the_layers_settings_shape_the_refusal() {
    let auth = builder_for(Algorithm::HS256).unauthorized_on_step_up().build().unwrap();
    let app =
        Router::new().route("/mcp", post(|| async { "ran" }).route_layer(tools())).layer(auth);
    let reply = send(&app, post_json(&call(1, "delete_file"), Some(&hs256(&claims())))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "insufficient_user_authentication");
    // Without an AuthLayer the guard fails closed, as the route guards do.
    let bare = Router::new().route("/mcp", post(|| async { "ran" }).route_layer(tools()));
    let reply = send(&bare, post_json(&call(1, "delete_file"), None)).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (500, "auth_layer_missing"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_declared_or_streamed() {
    let (app, reached) = app_with(tools().max_body_bytes(64));
    let mfa = hs256(&mfa_claims());
    let mut big = call(1, "read_file");
    big["params"]["arguments"]["pad"] = json!("x".repeat(64));
    let reply = send(&app, post_json(&big, Some(&mfa))).await;
    assert_unreadable(&reply, 413, "tool_call_too_large", "body_too_large");
    // A declared length over the limit is refused before any byte is read.
    let mut declared = post_body(r#"{"method":"ping"}"#, Some(&mfa));
    declared.headers_mut().insert("content-length", "65".parse().unwrap());
    let reply = send(&app, declared).await;
    assert_unreadable(&reply, 413, "tool_call_too_large", "body_too_large");
    // Streamed without a Content-Length: cut off at the limit all the same.
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        vec![Ok(Bytes::from(vec![b' '; 40])), Ok(Bytes::from(vec![b' '; 40]))];
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = send(&app, post_body(stream, Some(&mfa))).await;
    assert_unreadable(&reply, 413, "tool_call_too_large", "body_too_large");
    // Exactly at the limit is read.
    let at_limit = format!("{:<64}", r#"{"method":"ping"}"#);
    assert_eq!(send(&app, post_body(at_limit, Some(&mfa))).await.status, 200);
    assert_eq!(reached.load(Ordering::SeqCst), 1);
    assert_eq!(DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
}

#[tokio::test]
async fn a_body_that_fails_midway_is_refused_with_400() {
    let (app, reached) = app();
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        vec![Ok(Bytes::from_static(b"{\"method\":")), Err(std::io::Error::other("reset"))];
    let reply =
        send(&app, post_body(Body::from_stream(futures_util::stream::iter(chunks)), None)).await;
    assert_unreadable(&reply, 400, "tool_call_unreadable", "body_unreadable");
    assert_eq!(reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_compressed_body_is_refused_with_415() {
    let (app, reached) = app();
    for encoding in ["gzip", "br", "identity, gzip"] {
        let mut req = post_json(&call(1, "read_file"), Some(&hs256(&mfa_claims())));
        req.headers_mut().insert("content-encoding", encoding.parse().unwrap());
        let reply = send(&app, req).await;
        assert_unreadable(
            &reply,
            415,
            "content_encoding_unsupported",
            "content_encoding_unsupported",
        );
    }
    let mut req = post_json(&call(1, "read_file"), None);
    req.headers_mut().insert("content-encoding", "identity".parse().unwrap());
    assert_eq!(send(&app, req).await.status, 200);
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_member_named_twice_is_refused_since_parsers_disagree_on_it() {
    let (app, reached) = app();
    let mfa = hs256(&mfa_claims());
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","name":"delete_file"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"delete_file"}}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"delete_file"}}]"#,
    ] {
        let reply = send(&app, post_body(body, Some(&mfa))).await;
        assert_unreadable(&reply, 400, "tool_call_unreadable", "duplicate_member");
    }
    assert_eq!(reached.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_calls_no_tool_and_passes_on() {
    let (app, reached) = app();
    for body in ["", "not json", r#"{"method":"tools/call","params":{"name":"delete_file"}"#] {
        let reply = send(&app, post_body(body, None)).await;
        assert_eq!((reply.status.as_u16(), reply.text()), (200, body.to_owned()));
    }
    assert_eq!(reached.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn get_and_other_methods_pass_untouched() {
    let (app, reached) = app();
    // The SSE stream's GET, even with a body the guard would refuse on a POST.
    let req = Request::get("/mcp")
        .header("accept", "text/event-stream")
        .header("content-encoding", "gzip")
        .body(Body::from(call(1, "delete_file").to_string()))
        .unwrap();
    let reply = send(&app, req).await;
    assert_eq!((reply.status.as_u16(), reply.text()), (200, "stream".to_owned()));
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_layer_guarding_no_tool_reads_nothing() {
    let (app, reached) = app_with(ToolGuardLayer::new().max_body_bytes(1));
    let reply = send(&app, post_json(&call(1, "delete_file"), None)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn decisions_are_audited_with_the_tool() {
    let (capture, _guard) = capture();
    let (app, _) = app();
    send(&app, post_json(&call(1, "delete_file"), Some(&hs256(&claims())))).await;
    send(&app, post_json(&call(2, "delete_file"), Some(&hs256(&mfa_claims())))).await;
    let mut encoded = post_json(&call(3, "delete_file"), None);
    encoded.headers_mut().insert("content-encoding", "gzip".parse().unwrap());
    send(&app, encoded).await;
    let events: Vec<_> =
        capture.events().into_iter().filter(|e| e["target"] == "axum_session_mfa::audit").collect();
    let decisions: Vec<_> = events.iter().filter(|e| e["event"] == "guard_decision").collect();
    assert_eq!(decisions.len(), 2, "{events:#?}");
    assert_eq!(
        (&decisions[0]["decision"], &decisions[0]["reason"], &decisions[0]["tool"]),
        (&json!("deny"), &json!("methods_missing"), &json!("delete_file"))
    );
    assert_eq!(
        (&decisions[1]["decision"], &decisions[1]["tool"]),
        (&json!("allow"), &json!("delete_file"))
    );
    assert_eq!(decisions[0]["policy"], "recent-mfa");
    assert_eq!(decisions[0]["route"], "/mcp");
    let refused = events.iter().find(|e| e["event"] == "tool_call").expect("a tool_call event");
    assert_eq!(refused["reason"], "content_encoding_unsupported");
    assert_eq!(refused["decision"], "deny");
}

#[test]
fn the_refusals_are_typed_rejections() {
    assert_eq!(ToolCallError::BodyTooLarge.problem_code(), ProblemCode::ToolCallTooLarge);
    assert_eq!(ProblemCode::ToolCallTooLarge.status(), 413);
    assert_eq!(ToolCallError::ContentEncoding.problem_code().status(), 415);
    assert_eq!(ToolCallError::DuplicateMember.problem_code(), ProblemCode::ToolCallUnreadable);
    assert_eq!(ToolCallError::BodyUnreadable.problem_code().status(), 400);
    // `on_reject` sees them as `RejectionKind::ToolCall`.
    let seen = Arc::new(std::sync::Mutex::new(None));
    let store = seen.clone();
    let auth = builder_for(Algorithm::HS256)
        .on_reject(move |r| {
            if let RejectionKind::ToolCall(e) = r.kind() {
                *store.lock().unwrap() = Some(*e);
            }
            r.default_response()
        })
        .build()
        .unwrap();
    let app =
        Router::new().route("/mcp", post(|| async { "ran" }).route_layer(tools())).layer(auth);
    let mut req = post_json(&call(1, "delete_file"), None);
    req.headers_mut().insert("content-encoding", "gzip".parse().unwrap());
    let reply = tokio::runtime::Runtime::new().unwrap().block_on(send(&app, req));
    assert_eq!(reply.status, 415);
    assert_eq!(*seen.lock().unwrap(), Some(ToolCallError::ContentEncoding));
}
