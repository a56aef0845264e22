//! Step-up per MCP tool: [`ToolGuardLayer`] applies an [`MfaPolicy`] to the JSON-RPC
//! `tools/call` requests that name a tool, before the MCP server sees them.
//!
//! The streamable HTTP transport of the Model Context Protocol sends every JSON-RPC message as a
//! `POST` to one endpoint (`/mcp`), so a route guard cannot tell `read_file` from
//! `delete_file`. This layer reads the body of each `POST` (up to a limit), finds the
//! `tools/call` requests in it (one message or a batch) and, for a tool it guards, decides
//! exactly as [`RequireMfa`](crate::RequireMfa) does, from the request's
//! [`AuthOutcome`] left by the [`AuthLayer`](crate::AuthLayer) in front of
//! it. A refusal is the guards' [`Rejection`](crate::Rejection): 401 without a valid session,
//! 403 with the RFC 9470 challenge (`Bearer error="insufficient_user_authentication"`,
//! `acr_values`, `max_age`) and an RFC 9457 body when the session must step up, which is the
//! HTTP-level answer the MCP authorization spec (2025-11-25) expects of a tool call that needs
//! more. The MCP server then receives the same bytes.
//!
//! The layer fails closed where it cannot see what a body calls:
//!
//! | request | answer |
//! |---|---|
//! | not a `POST` (the `GET` of the SSE stream, `DELETE` of a session) | passed on untouched |
//! | `POST` whose body is over the limit ([`DEFAULT_MAX_BODY_BYTES`], 1 MiB) | 413 `tool_call_too_large` |
//! | `POST` with a `Content-Encoding` other than `identity` | 415 `content_encoding_unsupported` |
//! | `POST` whose body cannot be read, or a message with `method`, `params` or `name` twice | 400 `tool_call_unreadable` |
//! | `POST` whose body is not JSON | passed on: it calls no tool, the server answers its parse error |
//! | `tools/call` of a tool the layer does not guard, or any other method | passed on |
//! | `tools/call` of a guarded tool (alone or anywhere in a batch) | its policy decides |
//!
//! Each decision is one `guard_decision` [audit](crate::audit#fields) event naming the `tool`; a
//! refused unreadable request is one `tool_call` event. Put the layer on the MCP endpoint only
//! (it buffers every `POST` it sees), behind the `AuthLayer`, and refuse requests without a
//! session on that endpoint with [`RequireAuth`](crate::RequireAuth), so that an MCP client
//! gets the 401 that starts its authorization.
//!
//! ```
//! use axum::{Router, body::Body, http::Request, routing::post};
//! use axum_session_mfa::mcp::ToolGuardLayer;
//! use axum_session_mfa::{Algorithm, AuthLayer, Key, MfaPolicy};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let key = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
//! let auth = AuthLayer::builder(key).issuer("https://issuer.example").build().unwrap();
//! // Your MCP service goes here (rmcp's `StreamableHttpService`, say).
//! let mcp = post(|| async { "the MCP server ran" });
//! let tools = ToolGuardLayer::new().tool("delete_file", MfaPolicy::new());
//! let app = Router::new().route("/mcp", mcp.route_layer(tools)).layer(auth);
//!
//! let call = |tool: &str| {
//!     let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}"}}}}"#);
//!     Request::post("/mcp").header("content-type", "application/json").body(Body::from(body)).unwrap()
//! };
//! // No session: the guarded tool is refused with 401, before the MCP server runs.
//! let refused = app.clone().oneshot(call("delete_file")).await.unwrap();
//! assert_eq!(refused.status(), 401);
//! assert_eq!(refused.headers()["www-authenticate"], "Bearer");
//! // A tool the layer does not guard is the MCP server's to answer.
//! assert_eq!(app.oneshot(call("read_file")).await.unwrap().status(), 200);
//! # });
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use http::request::Parts;
use http::{Method, Request};
use pin_project_lite::pin_project;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, RequestInfo};
use crate::guard::decide;
use crate::reject::{RejectionKind, reject_request};
use crate::{AuthOutcome, MfaPolicy, ProblemCode};

/// The default limit of a `POST` body the guard reads: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Applies an [`MfaPolicy`] per MCP tool to JSON-RPC `tools/call` requests; builds
/// [`ToolGuard`]. See the [module](self) for what it reads and how it refuses.
///
/// ```
/// use std::time::Duration;
/// use axum_session_mfa::MfaPolicy;
/// use axum_session_mfa::mcp::ToolGuardLayer;
///
/// let recent_mfa = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300));
/// let tools = ToolGuardLayer::new()
///     .tool("delete_file", recent_mfa.build())
///     .tool("rotate_keys", MfaPolicy::new())
///     .max_body_bytes(256 * 1024);
/// assert_eq!(tools.policy("delete_file").map(|p| p.name()), Some("recent-mfa"));
/// assert!(tools.policy("read_file").is_none());
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ToolGuardLayer {
    config: Arc<Config>,
}

#[derive(Debug, Clone)]
struct Config {
    tools: HashMap<String, Arc<MfaPolicy>>,
    max_body_bytes: usize,
}

impl Default for ToolGuardLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ToolGuardLayer {
    /// A layer guarding no tool yet, reading bodies of up to [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new() -> Self {
        let config = Config { tools: HashMap::new(), max_body_bytes: DEFAULT_MAX_BODY_BYTES };
        Self { config: Arc::new(config) }
    }

    /// Calls of the tool `name` (compared exactly, as MCP servers look tools up) need a valid
    /// session that meets `policy`. Naming a tool again replaces its policy.
    pub fn tool(mut self, name: impl Into<String>, policy: MfaPolicy) -> Self {
        Arc::make_mut(&mut self.config).tools.insert(name.into(), Arc::new(policy));
        self
    }

    /// The largest `POST` body the guard reads (default [`DEFAULT_MAX_BODY_BYTES`]); a larger
    /// one is refused with 413 `tool_call_too_large`. Keep it at least the MCP server's own limit.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.config).max_body_bytes = limit;
        self
    }

    /// The policy of the tool `name`, if the layer guards it.
    pub fn policy(&self, name: &str) -> Option<&MfaPolicy> {
        self.config.tools.get(name).map(|p| &**p)
    }

    /// The guarded tools' names, in no particular order.
    pub fn tools(&self) -> impl Iterator<Item = &str> {
        self.config.tools.keys().map(String::as_str)
    }
}

impl<S> Layer<S> for ToolGuardLayer {
    type Service = ToolGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ToolGuard { inner, config: self.config.clone() }
    }
}

/// The service of [`ToolGuardLayer`]: reads a `POST`'s JSON-RPC body and guards its tool calls.
#[derive(Debug, Clone)]
pub struct ToolGuard<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> ToolGuard<S> {
    /// The guarded service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The guarded service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the guarded service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Why [`ToolGuardLayer`] refused a `POST` before it could tell which tools it calls; a
/// [`Rejection`](crate::Rejection) of kind [`RejectionKind::ToolCall`], whose body's `reason`
/// is [`code`](Self::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolCallError {
    /// The body is larger than the layer's limit: 413 `tool_call_too_large`.
    BodyTooLarge,
    /// The body has a `Content-Encoding` other than `identity`: 415
    /// `content_encoding_unsupported`.
    ContentEncoding,
    /// The body could not be read (the connection failed): 400 `tool_call_unreadable`.
    BodyUnreadable,
    /// A JSON-RPC message names `method`, `params` or the tool's `name` twice: 400
    /// `tool_call_unreadable`. Parsers disagree on which one counts, so the guard and the
    /// server could read different tools.
    DuplicateMember,
}

impl ToolCallError {
    /// The stable code: `body_too_large`, `content_encoding_unsupported`, `body_unreadable` or
    /// `duplicate_member`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyTooLarge => "body_too_large",
            Self::ContentEncoding => "content_encoding_unsupported",
            Self::BodyUnreadable => "body_unreadable",
            Self::DuplicateMember => "duplicate_member",
        }
    }

    /// The problem it is answered with.
    pub fn problem_code(&self) -> ProblemCode {
        match self {
            Self::BodyTooLarge => ProblemCode::ToolCallTooLarge,
            Self::ContentEncoding => ProblemCode::ContentEncodingUnsupported,
            Self::BodyUnreadable | Self::DuplicateMember => ProblemCode::ToolCallUnreadable,
        }
    }
}

impl fmt::Display for ToolCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BodyTooLarge => "the request body is larger than the MCP endpoint accepts",
            Self::ContentEncoding => "the MCP endpoint accepts no Content-Encoding",
            Self::BodyUnreadable => "the request body could not be read",
            Self::DuplicateMember => "a JSON-RPC message names a member twice",
        })
    }
}

impl std::error::Error for ToolCallError {}

impl<S, B, ResBody> Service<Request<B>> for ToolGuard<S>
where
    S: Service<Request<Body>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ToolGuardFuture<S, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let req = req.map(Body::new);
        if req.method() != Method::POST || self.config.tools.is_empty() {
            return ToolGuardFuture::inner(self.inner.call(req));
        }
        let (parts, body) = req.into_parts();
        let encoded = parts
            .headers
            .get_all(CONTENT_ENCODING)
            .iter()
            .any(|v| !v.to_str().is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity")));
        if encoded {
            return ToolGuardFuture::done(refuse(&parts, ToolCallError::ContentEncoding));
        }
        let limit = self.config.max_body_bytes;
        let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok());
        if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > limit as u64) {
            return ToolGuardFuture::done(refuse(&parts, ToolCallError::BodyTooLarge));
        }
        // The ready service takes this request; its clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ToolGuardFuture {
            state: State::Reading {
                read: Box::pin(read_body(body, limit)),
                pending: Some(Pending { parts, inner, config: self.config.clone() }),
            },
        }
    }
}

/// Reads `body` whole, refusing it once it exceeds `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ToolCallError> {
    let mut body = std::pin::pin!(body);
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| ToolCallError::BodyUnreadable)?;
        if let Ok(data) = frame.into_data() {
            if data.len() > limit - bytes.len() {
                return Err(ToolCallError::BodyTooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(bytes))
}

/// The response to a request the guard cannot read, with its audit event.
fn refuse(parts: &Parts, error: ToolCallError) -> Response {
    let info = RequestInfo::new(&parts.method, &parts.uri, &parts.extensions);
    audit::tool_call_refused(&info, error.code());
    let kind = RejectionKind::ToolCall(error);
    reject_request(kind, &parts.method, &parts.uri, &parts.headers, &parts.extensions)
        .into_response()
}

/// Decides a read body: `None` passes it on, `Some` is the response.
fn check(config: &Config, parts: &Parts, body: &[u8]) -> Option<Response> {
    let calls = match tool_calls(body) {
        Ok(calls) => calls,
        Err(error) => return Some(refuse(parts, error)),
    };
    let info = RequestInfo::new(&parts.method, &parts.uri, &parts.extensions);
    let outcome = parts.extensions.get::<AuthOutcome>();
    for tool in &calls {
        let Some(policy) = config.tools.get(tool) else { continue };
        if let Err(kind) = decide(&info.for_tool(tool), outcome, Some(policy)) {
            let rejection =
                reject_request(kind, &parts.method, &parts.uri, &parts.headers, &parts.extensions);
            return Some(rejection.into_response());
        }
    }
    None
}

/// The tools a JSON-RPC body calls (`tools/call` with a string `params.name`), in a single
/// message or a batch; none when the body is not JSON (it calls nothing the server would run).
fn tool_calls(body: &[u8]) -> Result<Vec<String>, ToolCallError> {
    let Ok(Payload(messages)) = serde_json::from_slice::<Payload>(body) else {
        return Ok(Vec::new());
    };
    let mut calls = Vec::new();
    for message in messages {
        if message.duplicate {
            return Err(ToolCallError::DuplicateMember);
        }
        if message.method.as_deref() == Some("tools/call")
            && let Some(name) = message.name
        {
            calls.push(name);
        }
    }
    Ok(calls)
}

/// What the guard reads of a JSON-RPC body: its messages (one, or a batch's).
struct Payload(Vec<Message>);

/// What the guard reads of one JSON-RPC message. Anything that is not an object reads as a
/// message without a method; other members are skipped unread.
#[derive(Default)]
struct Message {
    /// `method`, when it is a string.
    method: Option<String>,
    /// `params.name`, when `params` is an object and `name` a string.
    name: Option<String>,
    /// `method`, `params` or `params.name` appeared twice.
    duplicate: bool,
}

/// `params`: only its `name`.
#[derive(Default)]
struct Params {
    name: Option<String>,
    duplicate: bool,
}

/// A JSON value read only when it is a string.
struct MaybeString(Option<String>);

/// Implements the visits of JSON values a reader skips: scalars and arrays read as the default.
macro_rules! skip_other_values {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

impl<'de> de::Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = Payload;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC message or batch")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Payload, A::Error> {
                MessageVisitor.visit_map(map).map(|m| Payload(vec![m]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
                let mut messages = Vec::new();
                while let Some(message) = seq.next_element::<Message>()? {
                    messages.push(message);
                }
                Ok(Payload(messages))
            }
        }
        // A scalar body is no message: the visitor's default refusal makes it "not JSON-RPC".
        deserializer.deserialize_any(PayloadVisitor)
    }
}

struct MessageVisitor;

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Message;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }
    skip_other_values!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let (mut message, mut seen_method, mut seen_params) = (Message::default(), false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "method" => {
                    message.duplicate |= std::mem::replace(&mut seen_method, true);
                    message.method = map.next_value::<MaybeString>()?.0;
                }
                "params" => {
                    message.duplicate |= std::mem::replace(&mut seen_params, true);
                    let params = map.next_value::<Params>()?;
                    message.duplicate |= params.duplicate;
                    message.name = params.name;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(message)
    }
}

impl<'de> de::Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MessageVisitor)
    }
}

impl<'de> de::Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamsVisitor;
        impl<'de> Visitor<'de> for ParamsVisitor {
            type Value = Params;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON-RPC params")
            }
            skip_other_values!();
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
                let mut params = Params::default();
                let mut seen_name = false;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "name" {
                        params.duplicate |= std::mem::replace(&mut seen_name, true);
                        params.name = map.next_value::<MaybeString>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(params)
            }
        }
        deserializer.deserialize_any(ParamsVisitor)
    }
}

impl<'de> de::Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringVisitor;
        impl<'de> Visitor<'de> for StringVisitor {
            type Value = MaybeString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<MaybeString, E> {
                Ok(MaybeString(Some(s.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<MaybeString, E> {
                Ok(MaybeString(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MaybeString, E> {
                Ok(MaybeString(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MaybeString, E> {
                Ok(MaybeString(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<MaybeString, E> {
                Ok(MaybeString(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MaybeString, E> {
                Ok(MaybeString(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeString, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeString(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeString, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeString(None))
            }
        }
        deserializer.deserialize_any(StringVisitor)
    }
}

/// What the guard still needs once the body is read.
struct Pending<S> {
    parts: Parts,
    inner: S,
    config: Arc<Config>,
}

type ReadBody = Pin<Box<dyn Future<Output = Result<Bytes, ToolCallError>> + Send>>;

pin_project! {
    /// The future of [`ToolGuard`]: reads a `POST`'s body and decides, then runs the inner
    /// service's future, or answers the refusal.
    pub struct ToolGuardFuture<S, F> {
        #[pin]
        state: State<S, F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F> {
        Reading { read: ReadBody, pending: Option<Pending<S>> },
        Inner { #[pin] future: F },
        Done { response: Option<Response> },
    }
}

impl<S, F> ToolGuardFuture<S, F> {
    fn inner(future: F) -> Self {
        Self { state: State::Inner { future } }
    }

    fn done(response: Response) -> Self {
        Self { state: State::Done { response: Some(response) } }
    }
}

impl<S, F> fmt::Debug for ToolGuardFuture<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolGuardFuture").finish_non_exhaustive()
    }
}

impl<S, F, ResBody, E> Future for ToolGuardFuture<S, F>
where
    S: Service<Request<Body>, Response = http::Response<ResBody>, Future = F, Error = E>,
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut state = self.as_mut().project().state;
            match state.as_mut().project() {
                StateProj::Reading { read, pending } => {
                    let read = ready!(read.as_mut().poll(cx));
                    let Pending { parts, mut inner, config } =
                        pending.take().expect("future polled after completion");
                    let bytes = match read {
                        Ok(bytes) => bytes,
                        Err(error) => return Poll::Ready(Ok(refuse(&parts, error))),
                    };
                    if let Some(response) = check(&config, &parts, &bytes) {
                        return Poll::Ready(Ok(response));
                    }
                    let request = Request::from_parts(parts, Body::from(bytes));
                    state.set(State::Inner { future: inner.call(request) });
                }
                StateProj::Inner { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(Body::new)));
                }
                StateProj::Done { response } => {
                    let response = response.take().expect("future polled after completion");
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ToolCallError, tool_calls};

    fn calls(body: &str) -> Result<Vec<String>, ToolCallError> {
        tool_calls(body.as_bytes())
    }

    #[test]
    fn reads_the_tool_of_a_call_in_a_message_or_a_batch() {
        let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"name":"x"},"name":"delete_file"}}"#;
        assert_eq!(calls(call).unwrap(), ["delete_file"]);
        let batch = format!(r#"[1, "x", null, {{"method":"tools/list"}}, {call}, []]"#);
        assert_eq!(calls(&batch).unwrap(), ["delete_file"]);
        // Member order does not matter; escapes are read as the server reads them.
        let reordered = r#"{"params":{"name":"delete\u005ffile"},"m\u0065thod":"tools/call"}"#;
        assert_eq!(calls(reordered).unwrap(), ["delete_file"]);
    }

    #[test]
    fn other_methods_and_non_string_names_call_nothing() {
        for body in [
            r#"{"method":"tools/list","params":{"name":"delete_file"}}"#,
            r#"{"method":"Tools/Call","params":{"name":"delete_file"}}"#,
            r#"{"method":"tools/call","params":{"name":["delete_file"]}}"#,
            r#"{"method":"tools/call","params":["delete_file"]}"#,
            r#"{"method":"tools/call"}"#,
            "not json",
            r#"{"method":"tools/call","params":{"name":"delete_file"}} trailing"#,
            "42",
            "",
        ] {
            assert_eq!(calls(body).unwrap(), Vec::<String>::new(), "{body}");
        }
    }

    #[test]
    fn a_member_named_twice_is_refused() {
        for body in [
            r#"{"method":"tools/list","method":"tools/call","params":{"name":"delete_file"}}"#,
            r#"{"method":"tools/call","params":{"name":"read_file","name":"delete_file"}}"#,
            r#"{"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}"#,
            r#"[{"method":"ping"},{"method":"x","method":"y"}]"#,
        ] {
            assert_eq!(calls(body), Err(ToolCallError::DuplicateMember), "{body}");
        }
        // Elsewhere (the arguments) a repeated member is the server's business.
        let args = r#"{"method":"tools/call","params":{"name":"a","arguments":{"k":1,"k":2}}}"#;
        assert_eq!(calls(args).unwrap(), ["a"]);
    }
}
