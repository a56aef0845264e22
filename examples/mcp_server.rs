//! An MCP server (rmcp, streamable HTTP on Axum) behind `AuthLayer`, with step-up per tool:
//! every MCP request needs an access token bound to this server (401 otherwise, naming the
//! protected resource metadata from which MCP clients find the authorization server),
//! `read_file` needs the scope `files:read` (403 `insufficient_scope`), and `delete_file` needs
//! MFA within the last five minutes (403 with the RFC 9470 step-up challenge, `max_age=300`).
//! `whoami` needs nothing more than the session.
//!
//! ```sh
//! AUTH_HS256_SECRET=a-shared-secret-of-at-least-32-bytes AUTH_ISSUER=https://auth.example.com \
//!   cargo run --example mcp_server
//! npx @modelcontextprotocol/inspector   # then connect to http://127.0.0.1:3002/mcp
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `AUTH_ISSUER` | required: the authorization server, the tokens' accepted `iss` |
//! | `AUTH_JWKS_URL` or `AUTH_HS256_SECRET` | the keys: a JWKS URL, or a shared secret (32+ bytes) |
//! | `BIND` | listen address (default `127.0.0.1:3002`); the resource is `http://<BIND>/mcp` |
//!
//! Tokens must carry the resource as `aud` (RFC 8707): `"aud":"http://127.0.0.1:3002/mcp"`,
//! and for `read_file` a `scope` claim with `files:read`.

use std::time::Duration;

use axum::Router;
use axum_session_mfa::jwks::{IssuerKeys, JwksKeys};
use axum_session_mfa::mcp::ToolGuardLayer;
use axum_session_mfa::{
    Algorithm, AuthLayer, AuthOutcome, Key, KeySource, MfaPolicy, ProtectedResource, RequireAuth,
};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{schemars, tool, tool_router};

/// The MCP server: its tools know nothing of authentication; the layers in `run` guard them.
#[derive(Clone)]
struct Files;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct FilePath {
    /// The file's path.
    path: String,
}

#[tool_router(server_handler)]
impl Files {
    #[tool(description = "Who the access token says you are")]
    async fn whoami(&self, Extension(http): Extension<http::request::Parts>) -> String {
        let outcome = http.extensions.get::<AuthOutcome>().and_then(AuthOutcome::context);
        outcome.map_or_else(|| "nobody".to_owned(), |ctx| ctx.sub().to_owned())
    }

    #[tool(description = "Read a file (needs the files:read scope)")]
    async fn read_file(&self, Parameters(file): Parameters<FilePath>) -> String {
        format!("the contents of {}", file.path)
    }

    #[tool(description = "Delete a file (needs MFA within the last five minutes)")]
    async fn delete_file(&self, Parameters(file): Parameters<FilePath>) -> String {
        format!("deleted {}", file.path)
    }
}

type Error = Box<dyn std::error::Error>;

async fn run() -> Result<(), Error> {
    let addr = opt("BIND").unwrap_or_else(|| "127.0.0.1:3002".to_owned());
    // The resource's identifier: tokens must name it as `aud`, and the 401s point MCP clients
    // at its metadata, which names the issuer as the authorization server.
    let resource = ProtectedResource::new(format!("http://{addr}/mcp"))?
        .scopes_supported(["files:read"])
        .resource_name("Files (axum-session-mfa example)");
    let auth = AuthLayer::builder(keys()?)
        .issuer(var("AUTH_ISSUER")?)
        .protected_resource(resource)
        .build()?;

    // Step-up per tool: MCP sends every call as a POST to /mcp, so a route guard cannot tell
    // the tools apart; this layer reads the JSON-RPC body and applies the tool's policy.
    let recent_mfa = MfaPolicy::builder().name("recent-mfa").max_age(Duration::from_secs(300));
    let tools = ToolGuardLayer::new()
        .tool("read_file", MfaPolicy::scopes_only(["files:read"]))
        .tool("delete_file", recent_mfa.build());

    let mcp = StreamableHttpService::new(
        || Ok(Files),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let metadata = auth.resource_metadata_routes().ok_or("no protected resource")?;
    let app = Router::new()
        .route_service("/mcp", mcp)
        .route_layer(tools)
        // Any MCP request without a valid token: 401, which starts the client's authorization.
        .route_layer(RequireAuth::new())
        .merge(metadata) // GET /.well-known/oauth-protected-resource/mcp, public
        .route("/health", axum::routing::get(|| async { "ok" }))
        .layer(auth);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("mcp_server listening on http://{addr}/mcp");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The keys to verify with: the authorization server's JWKS, or a shared secret.
fn keys() -> Result<KeySource, Error> {
    if let Some(url) = opt("AUTH_JWKS_URL") {
        return Ok(IssuerKeys::new(JwksKeys::new(&url)?, var("AUTH_ISSUER")?).into());
    }
    let secret = var("AUTH_HS256_SECRET").map_err(|_| "set AUTH_JWKS_URL or AUTH_HS256_SECRET")?;
    Ok(Key::hmac(Algorithm::HS256, secret.as_bytes())?.into())
}

// Plumbing: environment, errors.

fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn var(name: &str) -> Result<String, Error> {
    opt(name).ok_or_else(|| format!("set {name}").into())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("mcp_server: {e}");
        std::process::exit(2);
    }
}
