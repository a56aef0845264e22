// Starts a real OpenID Provider (the `oidc-provider` npm package, OpenID Certified) on
// 127.0.0.1 with a random port, for tests/interop_oidc.rs. Run `npm ci` in this folder first.
//
// stdout: one JSON line once listening:
//   {"issuer": "http://127.0.0.1:<port>", "token_endpoint": "...",
//    "client_id": "...", "client_secret": "...", "resource": "..."}
// Then it serves until killed (or until stdin closes, so an orphan never lingers).
//
// Tokens: client credentials with a resource indicator give JWT access tokens (typ at+jwt,
// RS256, aud = the resource). `extraTokenClaims` adds `auth_time`, and `amr`/`acr` driven by
// the requested scope: scope `mfa` gives amr ["pwd","otp","mfa"] and acr "urn:test:loa:2";
// without it amr ["pwd"] and acr "urn:test:loa:1".
import http from 'node:http';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const RESOURCE = 'https://api.interop.test';
const CLIENT_ID = 'interop-client';
const CLIENT_SECRET = 'interop-client-secret-that-is-long-enough';

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'interop-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'read mfa',
  }],
  scopes: ['read', 'mfa'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) throw new Error('unknown resource');
        return {
          scope: 'read mfa',
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    const scopes = String(token.scope || '').split(' ');
    const mfa = scopes.includes('mfa');
    return {
      amr: mfa ? ['pwd', 'otp', 'mfa'] : ['pwd'],
      acr: mfa ? 'urn:test:loa:2' : 'urn:test:loa:1',
      auth_time: Math.floor(Date.now() / 1000) - 5,
    };
  },
});
server.on('request', provider.callback());

process.stdout.write(JSON.stringify({
  issuer,
  token_endpoint: `${issuer}/token`,
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  resource: RESOURCE,
}) + '\n');

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
