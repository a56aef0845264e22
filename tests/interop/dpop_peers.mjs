// DPoP with real peers, for tests/it/interop_dpop.rs. Run `npm ci` in this folder first.
//
// argv:   <htu> [nonce]
// stdout: one JSON object:
//   {"issuer", "resource", "public_key_pem",   the provider and its RS256 verification key
//    "token_type",                             "DPoP", as oidc-provider answered
//    "token",                                  a JWT access token bound to the client's key
//                                              (cnf.jkt), from oidc-provider (DPoP on, client
//                                              credentials grant, resource indicator)
//    "jkt",                                    that key's thumbprint (dpop's calculateThumbprint)
//    "proofs": {"oauth4webapi", "dpop", "dpop_post", "foreign_key"}}
// The client is oauth4webapi: it asks for the token with its DPoP handle (retrying once on
// use_dpop_nonce), then makes a GET to <htu> through its own protectedResourceRequest, whose
// proof is captured by a custom fetch. `dpop` (panva) signs more proofs with the same key pair
// (`dpop_post`: for POST), and `foreign_key` with a key of its own. With a nonce, the
// oauth4webapi handle learns it from a response's DPoP-Nonce and every proof carries it.
// The provider stops before the script exits.
import http from 'node:http';
import Provider from 'oidc-provider';
import * as oauth from 'oauth4webapi';
import * as dpop from 'dpop';
import { generateKeyPair, exportJWK, exportSPKI } from 'jose';

const [htu, nonce] = process.argv.slice(2);
if (!htu) throw new Error('usage: dpop_peers.mjs <htu> [nonce]');

const RESOURCE = 'https://api.dpop.test';
const CLIENT_ID = 'dpop-client';
const CLIENT_SECRET = 'dpop-client-secret-that-is-long-enough';

const signing = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(signing.privateKey)), kid: 'dpop-rs256', alg: 'RS256', use: 'sig' };

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
    scope: 'read mfa',
  }],
  scopes: ['read', 'mfa'],
  ttl: { ClientCredentials: 600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new Error('unknown resource');
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
  async extraTokenClaims() {
    return { amr: ['pwd', 'otp', 'mfa'], auth_time: Math.floor(Date.now() / 1000) - 5 };
  },
});
server.on('request', provider.callback());

try {
  const insecure = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(
    new URL(issuer),
    await oauth.discoveryRequest(new URL(issuer), insecure),
  );
  const client = { client_id: CLIENT_ID };
  const auth = oauth.ClientSecretBasic(CLIENT_SECRET);
  const keyPair = await oauth.generateKeyPair('ES256');
  const handle = oauth.DPoP(client, keyPair);
  const parameters = new URLSearchParams({ scope: 'read mfa', resource: RESOURCE });
  const grant = () => oauth.clientCredentialsGrantRequest(as, client, auth, parameters, { DPoP: handle, ...insecure })
    .then((response) => oauth.processClientCredentialsResponse(as, client, response));
  let tokens;
  try {
    tokens = await grant();
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    tokens = await grant();
  }

  // The resource call, captured: the proof oauth4webapi sends.
  let captured;
  const fetchOnce = (answer) => async (url, init) => {
    captured = new Headers(init.headers);
    return new Response('ok', { status: 200, headers: answer });
  };
  const call = (answer) => oauth.protectedResourceRequest(
    tokens.access_token, 'GET', new URL(htu), new Headers(), null,
    { DPoP: handle, [oauth.customFetch]: fetchOnce(answer), ...insecure },
  );
  if (nonce) await call({ 'dpop-nonce': nonce }); // the handle learns the nonce from a response
  await call({});
  const oauthProof = captured.get('dpop');
  if (!captured.get('authorization').startsWith('DPoP ')) throw new Error('not the DPoP scheme');

  const foreign = await dpop.generateKeyPair('ES256');
  const out = {
    issuer,
    resource: RESOURCE,
    public_key_pem: await exportSPKI(signing.publicKey),
    token_type: tokens.token_type,
    token: tokens.access_token,
    jkt: await dpop.calculateThumbprint(keyPair.publicKey),
    proofs: {
      oauth4webapi: oauthProof,
      dpop: await dpop.generateProof(keyPair, htu, 'GET', nonce, tokens.access_token),
      dpop_post: await dpop.generateProof(keyPair, htu, 'POST', nonce, tokens.access_token),
      foreign_key: await dpop.generateProof(foreign, htu, 'GET', nonce, tokens.access_token),
    },
  };
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  server.close();
  server.closeAllConnections?.();
}
