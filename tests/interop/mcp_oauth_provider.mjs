// The authorization server of examples/mcp_server.rs for tests/it/interop_mcp.rs: a real
// `oidc-provider` on 127.0.0.1 with a random port. Run `npm ci` in this folder first.
//
// env:    MCP_RESOURCE   the MCP server's resource identifier (`http://127.0.0.1:<port>/mcp`)
// stdout: one JSON line once listening:
//   {"issuer": "http://127.0.0.1:<port>", "jwks_uri": "...", "token_endpoint": "...",
//    "client_id": "...", "client_secret": "...", "resource": MCP_RESOURCE}
// Then it serves until killed (or until stdin closes, so an orphan never lingers).
//
// One pre-registered confidential client with the client credentials grant, allowed the scope
// `files:read`. Resource indicators (RFC 8707) on: a token request naming MCP_RESOURCE gets a
// JWT access token (typ at+jwt, RS256) with `aud` = MCP_RESOURCE and `scope` = the requested
// scopes the resource knows; any other resource is refused (invalid_target). No default
// resource: a token request without `resource` gets an opaque token the MCP server cannot
// verify, so the client must send the indicator itself.
import http from 'node:http';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const RESOURCE = process.env.MCP_RESOURCE;
if (!RESOURCE) throw new Error('set MCP_RESOURCE');
const CLIENT_ID = 'mcp-interop-client';
const CLIENT_SECRET = 'mcp-interop-client-secret-that-is-long-enough';
const SCOPES = 'files:read';

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'mcp-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: SCOPES,
  }],
  scopes: SCOPES.split(' '),
  ttl: { ClientCredentials: 600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new Error('unknown resource');
        return {
          scope: SCOPES,
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});
server.on('request', provider.callback());

process.stdout.write(JSON.stringify({
  issuer,
  jwks_uri: `${issuer}/jwks`,
  token_endpoint: `${issuer}/token`,
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  resource: RESOURCE,
}) + '\n');

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
