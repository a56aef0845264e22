// The official TypeScript MCP SDK (@modelcontextprotocol/sdk) authorizing ITSELF against
// examples/mcp_server.rs, for tests/it/interop_mcp.rs. Run `npm ci` first.
//
// argv:   <mcp url> <the greeting of mcp_oauth_provider.mjs, as JSON>
// stdout: one JSON object:
//   {"scoped":   {wire, tokens, discovered, tools, whoami, read_file},
//    "unscoped": {connect_wire, wire, tokens, discovered, whoami,
//                 read_file: {error_name, error_code, message}}}
// (unscoped: `connect_wire` up to its whoami call, `wire` the read_file call and after)
// Each client is `Client` + `StreamableHTTPClientTransport` with the SDK's own
// `ClientCredentialsProvider` (auth-extensions.js) as `authProvider`, holding only the client's
// id and secret and the issuer it may send them to: no token is handed to the SDK. Its first
// request has no token; everything after the 401 (resource metadata, authorization server
// discovery, the token request with its RFC 8707 `resource`, the retry) is the SDK's doing.
// "scoped" asks for `files:read` (the provider's `scope` option), "unscoped" for no scope, so
// its `read_file` call meets the 403 insufficient_scope.
//
// wire:   every HTTP exchange of the client, in order, through the transport's `fetch`:
//         {method, url, status, authorization (the scheme sent, or null), www_authenticate,
//          form (an urlencoded request body, as an object), rpc (a JSON-RPC request's method)}
// tokens: every token set the SDK saved (saveTokens), as {scope, token_type, issuer, claims},
//         claims being the decoded JWT payload of the access token.
// discovered: every discovery state the SDK saved (saveDiscoveryState): {resource_metadata_url
//         (the one auth() was given, from the challenge), authorization_server_url,
//         resource_metadata, authorization_server_issuer, token_endpoint}.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

const [url, providerJson] = process.argv.slice(2);
if (!url || !providerJson) throw new Error('usage: mcp_oauth_client.mjs <mcp url> <provider json>');
const as = JSON.parse(providerJson);
const serverUrl = new URL(url);

const claimsOf = (jwt) => {
  const parts = String(jwt).split('.');
  return parts.length === 3 ? JSON.parse(Buffer.from(parts[1], 'base64url').toString()) : null;
};

/** The SDK's provider, unchanged but for a record of what the SDK hands it. */
class RecordingProvider extends ClientCredentialsProvider {
  saved = [];
  discovered = [];
  // An optional OAuthClientProvider hook (no `discoveryState` getter, so nothing is cached):
  // what auth() found, and the resource metadata URL it was given (from the challenge).
  saveDiscoveryState(state) {
    this.discovered.push({
      resource_metadata_url: state.resourceMetadataUrl ?? null,
      authorization_server_url: state.authorizationServerUrl,
      resource_metadata: state.resourceMetadata ?? null,
      authorization_server_issuer: state.authorizationServerMetadata?.issuer ?? null,
      token_endpoint: state.authorizationServerMetadata?.token_endpoint ?? null,
    });
  }
  saveTokens(tokens) {
    this.saved.push({
      scope: tokens.scope ?? null,
      token_type: tokens.token_type,
      issuer: tokens.issuer ?? null,
      claims: claimsOf(tokens.access_token),
    });
    super.saveTokens(tokens);
  }
}

/** A fetch that records each exchange (without reading the body the SDK will read). */
function recordingFetch(wire) {
  return async (input, init = {}) => {
    const request = new Request(input, init);
    const entry = {
      method: request.method,
      url: request.url,
      authorization: request.headers.get('authorization')?.split(' ')[0] ?? null,
      form: null,
      rpc: null,
    };
    const type = request.headers.get('content-type') ?? '';
    if (init.body != null && type.startsWith('application/x-www-form-urlencoded')) {
      entry.form = Object.fromEntries(new URLSearchParams(String(init.body)));
    } else if (init.body != null && type.startsWith('application/json')) {
      const body = JSON.parse(String(init.body));
      entry.rpc = (Array.isArray(body) ? body : [body]).map((m) => m.method ?? 'response').join(',');
    }
    wire.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    entry.www_authenticate = response.headers.get('www-authenticate');
    return response;
  };
}

async function connect(scope) {
  const wire = [];
  const provider = new RecordingProvider({
    clientId: as.client_id,
    clientSecret: as.client_secret,
    expectedIssuer: as.issuer,
    clientName: 'axum-session-mfa-interop',
    scope,
  });
  const transport = new StreamableHTTPClientTransport(serverUrl, {
    authProvider: provider,
    fetch: recordingFetch(wire),
  });
  const client = new Client({ name: 'axum-session-mfa-interop', version: '0.0.0' });
  await client.connect(transport);
  return { client, wire, provider };
}

async function callText(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result)}`);
  return result.content.map((c) => c.text).join('');
}

const out = {};

// 1. Asking for files:read: the SDK gets a token on the 401 and every tool call with it works.
{
  const { client, wire, provider } = await connect('files:read');
  const { tools } = await client.listTools();
  out.scoped = {
    tools: tools.map((t) => t.name).sort(),
    whoami: await callText(client, 'whoami', {}),
    read_file: await callText(client, 'read_file', { path: 'notes.txt' }),
  };
  await client.close();
  out.scoped.wire = wire;
  out.scoped.tokens = provider.saved;
  out.scoped.discovered = provider.discovered;
}

// 2. Asking for no scope: whoami works; read_file meets the 403 insufficient_scope, and what
//    the SDK does about it is recorded (the calls after connecting only).
{
  const { client, wire, provider } = await connect(undefined);
  out.unscoped = { whoami: await callText(client, 'whoami', {}) };
  const connected = wire.length;
  try {
    out.unscoped.read_file = { unexpected_success: await callText(client, 'read_file', { path: 'notes.txt' }) };
  } catch (error) {
    out.unscoped.read_file = {
      error_name: error?.constructor?.name ?? null,
      error_code: error?.code ?? null,
      message: String(error?.message ?? error),
    };
  }
  await client.close();
  out.unscoped.connect_wire = wire.slice(0, connected);
  out.unscoped.wire = wire.slice(connected);
  out.unscoped.tokens = provider.saved;
  out.unscoped.discovered = provider.discovered;
}

process.stdout.write(JSON.stringify(out) + '\n');
