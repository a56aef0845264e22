// Checks the Rust WorkOS stand-in (tests/it/workos_standin.rs) with the real `@workos-inc/node`
// client: sign-in (authorize + PKCE, code grant), refresh (rotation, spent tokens, the SDK's own
// sealed-session refresh), sign-out (logout URL), the JWKS (verified with `jose`), and the
// `session.revoked` event the logout lists at `GET /events` (`events.listEvents`).
//
// Usage (the stand-in must be running):
//   node workos_client.mjs <base_url> <client_id> <api_key>
//   echo '{"baseUrl":"http://127.0.0.1:PORT","clientId":"client_standin","apiKey":"sk_..."}' \
//     | node workos_client.mjs
//
// Prints one JSON line. Success: {"ok":true,"checks":[...],"session_id",...}, exit 0.
// Failure: {"ok":false,"failed":"<check>","error":"...","checks":[<passed so far>]}, exit 1.
// The stand-in's state is changed on the way (one sign-in, refreshes, a logout).
import {
  WorkOS,
  OauthException,
  UnauthorizedException,
} from '@workos-inc/node';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const passed = [];
let current = 'arguments';

function fail(error) {
  console.log(
    JSON.stringify({
      ok: false,
      failed: current,
      error: String(error?.stack ?? error),
      checks: passed,
    }),
  );
  process.exit(1);
}

process.on('unhandledRejection', fail);

/** Runs one named check; the first failure ends the script. */
async function check(name, fn) {
  current = name;
  try {
    const value = await fn();
    passed.push(name);
    return value;
  } catch (error) {
    fail(error);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function equal(actual, expected, what) {
  assert(
    actual === expected,
    `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
  );
}

/** Awaits a promise that must reject, and returns the error. */
async function rejection(promise, what) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`${what} should have failed`);
}

async function readConfig() {
  const [baseUrl, clientId, apiKey] = process.argv.slice(2);
  if (baseUrl) return { baseUrl, clientId, apiKey };
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

const { baseUrl, clientId, apiKey } = await check('arguments', async () => {
  const config = await readConfig();
  assert(config.baseUrl && config.clientId && config.apiKey, 'need baseUrl, clientId, apiKey');
  return config;
});
const base = new URL(baseUrl);
const origin = base.origin;
const issuer = `https://api.workos.com/user_management/${clientId}`;
const redirectUri = 'http://app.test/callback';
const cookiePassword = 'standin-cookie-password-at-least-32-characters';

const options = {
  apiHostname: base.hostname,
  port: Number(base.port),
  https: false,
  clientId,
  issuer,
};
const workos = new WorkOS(apiKey, options);
const um = workos.userManagement;
const jwks = createRemoteJWKSet(new URL(um.getJwksUrl(clientId)));

async function verify(accessToken) {
  const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
    issuer,
    algorithms: ['RS256'],
  });
  equal(protectedHeader.typ, 'JWT', 'typ');
  assert(!('amr' in payload), 'WorkOS access tokens carry no amr');
  return payload;
}

function isInvalidGrant(error) {
  return (
    error instanceof OauthException &&
    error.status === 400 &&
    error.error === 'invalid_grant'
  );
}

// ---- sign-in -----------------------------------------------------------------------------

const pkce = await check('pkce', () => workos.pkce.generate());

const authorizationUrl = await check('authorization_url', () => {
  const url = um.getAuthorizationUrl({
    provider: 'authkit',
    redirectUri,
    clientId,
    state: 'state-123',
    codeChallenge: pkce.codeChallenge,
    codeChallengeMethod: 'S256',
  });
  assert(
    url.startsWith(`${origin}/user_management/authorize?`),
    `authorization URL not on the stand-in: ${url}`,
  );
  return url;
});

const code = await check('authorize_redirect', async () => {
  const res = await fetch(authorizationUrl, { redirect: 'manual' });
  equal(res.status, 302, 'authorize status');
  const location = new URL(res.headers.get('location'));
  equal(`${location.origin}${location.pathname}`, redirectUri, 'redirect target');
  equal(location.searchParams.get('state'), 'state-123', 'state');
  const code = location.searchParams.get('code');
  assert(code, 'no code in the redirect');
  return code;
});

const auth = await check('authenticate_with_code', async () => {
  const auth = await um.authenticateWithCode({
    clientId,
    code,
    codeVerifier: pkce.codeVerifier,
    session: { sealSession: true, cookiePassword },
  });
  const { user } = auth;
  equal(user.object, 'user', 'user.object');
  equal(user.id, 'user_01STANDIN', 'user.id');
  equal(user.email, 'ada@example.test', 'user.email');
  equal(user.emailVerified, true, 'user.emailVerified');
  equal(user.firstName, 'Ada', 'user.firstName');
  equal(user.lastName, 'Lovelace', 'user.lastName');
  equal(user.profilePictureUrl, null, 'user.profilePictureUrl');
  equal(user.externalId, null, 'user.externalId');
  assert(typeof user.metadata === 'object', 'user.metadata');
  assert(!Number.isNaN(Date.parse(user.createdAt)), 'user.createdAt');
  assert(!Number.isNaN(Date.parse(user.updatedAt)), 'user.updatedAt');
  assert(!Number.isNaN(Date.parse(user.lastSignInAt)), 'user.lastSignInAt');
  equal(auth.organizationId, 'org_01STANDIN', 'organizationId');
  equal(auth.authenticationMethod, 'Password', 'authenticationMethod');
  equal(auth.impersonator, undefined, 'impersonator');
  equal(auth.accessToken.split('.').length, 3, 'accessToken segments');
  assert(typeof auth.refreshToken === 'string' && auth.refreshToken.length >= 20, 'refreshToken');
  assert(typeof auth.sealedSession === 'string', 'sealedSession');
  return auth;
});

await check('code_replay_is_invalid_grant', async () => {
  const error = await rejection(
    um.authenticateWithCode({ clientId, code, codeVerifier: pkce.codeVerifier }),
    'a replayed code',
  );
  assert(isInvalidGrant(error), `expected OauthException invalid_grant, got ${error}`);
});

const claims = await check('jwks_verifies_access_token', async () => {
  equal(um.getJwksUrl(clientId), `${origin}/sso/jwks/${clientId}`, 'getJwksUrl');
  const claims = await verify(auth.accessToken);
  equal(decodeProtectedHeader(auth.accessToken).kid, 'standin-rs256', 'kid');
  equal(claims.sub, 'user_01STANDIN', 'sub');
  equal(claims.org_id, 'org_01STANDIN', 'org_id');
  equal(claims.role, 'admin', 'role');
  assert(claims.sid?.startsWith('session_'), `sid: ${claims.sid}`);
  assert(Number.isInteger(claims.auth_time), 'auth_time');
  equal(claims.exp - claims.iat, 300, 'access token lifetime');
  return claims;
});

// The SDK's own session check: unseal, then verify against getJWKS() with `issuer` enforced.
await check('sealed_session_authenticates', async () => {
  const session = um.loadSealedSession({ sessionData: auth.sealedSession, cookiePassword });
  const result = await session.authenticate();
  equal(result.authenticated, true, `authenticate (${result.reason})`);
  equal(result.sessionId, claims.sid, 'sessionId');
  equal(result.organizationId, 'org_01STANDIN', 'organizationId');
  equal(result.permissions?.[0], 'widgets:read', 'permissions');
});

// ---- refresh -----------------------------------------------------------------------------

// The SDK's sealed-session refresh (authenticateWithRefreshToken with organizationId from the
// token). A Rust test may make the stand-in answer 503 first: the client retries by itself.
const refreshed = await check('sealed_session_refresh', async () => {
  const session = um.loadSealedSession({ sessionData: auth.sealedSession, cookiePassword });
  const result = await session.refresh();
  equal(result.authenticated, true, `refresh (${result.reason})`);
  equal(result.sessionId, claims.sid, 'sessionId');
  const next = result.session;
  assert(next.refreshToken !== auth.refreshToken, 'the refresh token rotates');
  equal(next.user.id, 'user_01STANDIN', 'user.id');
  equal(next.authenticationMethod, 'Password', 'authenticationMethod');
  const payload = await verify(next.accessToken);
  equal(payload.sid, claims.sid, 'sid');
  equal(payload.auth_time, claims.auth_time, 'auth_time is unchanged by a refresh');
  return next;
});

await check('spent_refresh_token_is_invalid_grant', async () => {
  const error = await rejection(
    um.authenticateWithRefreshToken({ clientId, refreshToken: auth.refreshToken }),
    'a spent refresh token',
  );
  assert(isInvalidGrant(error), `expected OauthException invalid_grant, got ${error}`);
});

await check('stale_sealed_session_refresh_is_terminal', async () => {
  const session = um.loadSealedSession({ sessionData: auth.sealedSession, cookiePassword });
  const result = await session.refresh();
  equal(result.authenticated, false, 'authenticated');
  equal(result.reason, 'invalid_grant', 'reason');
  equal(result.retryable, false, 'retryable');
});

await check('wrong_api_key_is_unauthorized', async () => {
  const other = new WorkOS('sk_test_wrong_key', options);
  const error = await rejection(
    other.userManagement.authenticateWithRefreshToken({
      clientId,
      refreshToken: refreshed.refreshToken,
    }),
    'a refresh with the wrong API key',
  );
  assert(error instanceof UnauthorizedException, `expected UnauthorizedException, got ${error}`);
  equal(error.status, 401, 'status');
});

const again = await check('authenticate_with_refresh_token', async () => {
  // The wrong key above must not have spent this token.
  const next = await um.authenticateWithRefreshToken({
    clientId,
    refreshToken: refreshed.refreshToken,
  });
  assert(next.refreshToken !== refreshed.refreshToken, 'the refresh token rotates');
  equal(next.organizationId, 'org_01STANDIN', 'organizationId');
  const payload = await verify(next.accessToken);
  equal(payload.sid, claims.sid, 'sid');
  equal(payload.auth_time, claims.auth_time, 'auth_time');
  return next;
});

// ---- sign-out ----------------------------------------------------------------------------

const logoutUrl = await check('logout', async () => {
  const returnTo = 'http://app.test/signed-out';
  const url = um.getLogoutUrl({ sessionId: claims.sid, returnTo });
  assert(
    url.startsWith(`${origin}/user_management/sessions/logout?`),
    `logout URL not on the stand-in: ${url}`,
  );
  const res = await fetch(url, { redirect: 'manual' });
  equal(res.status, 302, 'logout status');
  equal(res.headers.get('location'), returnTo, 'logout redirect');
  return url;
});

await check('refresh_after_logout_is_invalid_grant', async () => {
  const error = await rejection(
    um.authenticateWithRefreshToken({ clientId, refreshToken: again.refreshToken }),
    'a refresh after logout',
  );
  assert(isInvalidGrant(error), `expected OauthException invalid_grant, got ${error}`);
});

// ---- events ------------------------------------------------------------------------------

await check('events_list_the_logout', async () => {
  const types = ['session.revoked', 'user.deleted', 'organization_membership.deleted'];
  const list = await workos.events.listEvents({ events: types, limit: 100 });
  const revoked = list.data.filter((e) => e.event === 'session.revoked');
  equal(revoked.length, 1, 'session.revoked events');
  const [event] = revoked;
  equal(event.data.id, claims.sid, 'the revoked session');
  equal(event.data.userId, auth.user.id, 'its user');
  equal(event.data.status, 'revoked', 'its status');
  equal(list.listMetadata.after, event.id, 'list_metadata.after');
  const after = await workos.events.listEvents({ events: types, limit: 100, after: event.id });
  equal(after.data.length, 0, 'events after the last one');
});

console.log(
  JSON.stringify({
    ok: true,
    checks: passed,
    user_id: auth.user.id,
    session_id: claims.sid,
    auth_time: claims.auth_time,
    authentication_method: auth.authenticationMethod,
    jwks_url: um.getJwksUrl(clientId),
    logout_url: logoutUrl,
  }),
);
