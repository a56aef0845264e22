// The official TypeScript MCP SDK (@modelcontextprotocol/sdk) as the client of
// examples/mcp_server.rs, for tests/it/interop_mcp.rs. Run `npm ci` first.
//
// argv:   <mcp url> <tokens as JSON: {"plain": "...", "scoped_mfa": "..."}>
//         plain: a valid token for the resource, no scope, no MFA;
//         scoped_mfa: the same with scope "files:read" and amr ["pwd","mfa"].
// stdout: one JSON object with what the SDK saw at each step:
//   {"anonymous": {refusal, resource_metadata_url, www_authenticate_params, metadata},
//    "plain": {tools, whoami, read_file: {refusal}, delete_file: {refusal}},
//    "scoped_mfa": {read_file, delete_file}}
// where a refusal is {error_code, status, www_authenticate, problem} of the SDK's error and the
// HTTP response it came from.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  discoverOAuthProtectedResourceMetadata,
  extractResourceMetadataUrl,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';

const [url, tokensJson] = process.argv.slice(2);
if (!url || !tokensJson) throw new Error('usage: mcp_client.mjs <mcp url> <tokens json>');
const tokens = JSON.parse(tokensJson);
const serverUrl = new URL(url);

// The last refused HTTP response the transport received (a copy: the SDK reads the body).
let lastRefused;
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!response.ok) lastRefused = response.clone();
  return response;
};

async function connect(token) {
  const requestInit = token ? { headers: { Authorization: `Bearer ${token}` } } : undefined;
  const transport = new StreamableHTTPClientTransport(serverUrl, { requestInit, fetch: recordingFetch });
  const client = new Client({ name: 'axum-session-mfa-interop', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

// What a refused request looked like to the SDK (its error) and on the wire.
async function refusal(error) {
  const response = lastRefused;
  lastRefused = undefined;
  return {
    sdk_error: error instanceof StreamableHTTPError ? 'StreamableHTTPError' : error?.constructor?.name,
    error_code: error?.code ?? null,
    status: response?.status ?? null,
    www_authenticate: response?.headers.get('www-authenticate') ?? null,
    problem: response ? await response.json().catch(() => null) : null,
    response,
  };
}

async function expectRefused(promise) {
  try {
    const value = await promise;
    return { unexpected_success: value };
  } catch (error) {
    return refusal(error);
  }
}

async function callText(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result)}`);
  return result.content.map((c) => c.text).join('');
}

const out = {};

// 1. No token: the 401, and discovery through its resource_metadata.
{
  const refused = await expectRefused(connect(undefined));
  const { response, ...seen } = refused;
  const resourceMetadataUrl = response ? extractResourceMetadataUrl(response) : undefined;
  const params = response ? extractWWWAuthenticateParams(response) : {};
  const metadata = resourceMetadataUrl
    ? await discoverOAuthProtectedResourceMetadata(serverUrl, { resourceMetadataUrl })
    : null;
  out.anonymous = {
    refusal: seen,
    resource_metadata_url: resourceMetadataUrl?.href ?? null,
    www_authenticate_params: {
      resource_metadata_url: params.resourceMetadataUrl?.href ?? null,
      error: params.error ?? null,
      scope: params.scope ?? null,
    },
    metadata,
  };
}

const strip = ({ response, ...seen }) => seen;

// 2. A token without the scope and without MFA: the harmless tool works, the others are refused.
{
  const client = await connect(tokens.plain);
  const { tools } = await client.listTools();
  out.plain = {
    tools: tools.map((t) => t.name).sort(),
    whoami: await callText(client, 'whoami', {}),
    read_file: strip(await expectRefused(callText(client, 'read_file', { path: 'notes.txt' }))),
    delete_file: strip(await expectRefused(callText(client, 'delete_file', { path: 'notes.txt' }))),
  };
  await client.close();
}

// 3. A token with the scope, from a session that passed MFA: both tools run.
{
  const client = await connect(tokens.scoped_mfa);
  out.scoped_mfa = {
    read_file: await callText(client, 'read_file', { path: 'notes.txt' }),
    delete_file: await callText(client, 'delete_file', { path: 'notes.txt' }),
  };
  await client.close();
}

process.stdout.write(JSON.stringify(out) + '\n');
