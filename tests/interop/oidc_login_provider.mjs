// Starts a real OpenID Provider (the `oidc-provider` npm package, OpenID Certified) on
// 127.0.0.1 configured for the browser sign-in lifecycle: authorization code + PKCE (S256)
// sign-in, refresh token rotation, step-up (max_age / prompt=login / acr_values) and
// RP-initiated sign-out. Run `npm ci` in this folder first.
//
// stdout: exactly one JSON line once listening (everything else, logs included, goes to stderr):
//   {
//     "issuer":                 "http://127.0.0.1:<port>",
//     "client_id":              "lifecycle-client",
//     "client_secret":          "<long secret; only unreserved URL characters>",
//     "token_endpoint_auth_method": "client_secret_basic",
//     "resource":               "https://api.lifecycle.test",
//     "authorization_endpoint": "<issuer>/auth",
//     "token_endpoint":         "<issuer>/token",
//     "end_session_endpoint":   "<issuer>/session/end",
//     "revocation_endpoint":    "<issuer>/token/revocation",
//     "introspection_endpoint": "<issuer>/token/introspection",
//     "userinfo_endpoint":      "<issuer>/me",
//     "jwks_uri":               "<issuer>/jwks",
//     "stats_endpoint":         "<issuer>/test/stats",
//     "redirect_uris":          [...], "post_logout_redirect_uris": [...],
//     "backchannel_logout_uri": "<uri>" | null,
//     "access_token_ttl":       <seconds>,
//     "account":                {"sub": "user-1", "email": "ada@example.test", ...},
//     "interaction_login_path_prefix": "/interaction/"
//   }
// Then it serves until killed (SIGTERM/SIGINT) or until stdin closes (no orphan lingers).
//
// Environment:
//   OP_PORT                    port to listen on (default 0 = random)
//   OP_REDIRECT_URIS           space-separated redirect_uris (default http://127.0.0.1:3000/auth/callback)
//   OP_POST_LOGOUT_URIS        space-separated post_logout_redirect_uris (default http://127.0.0.1:3000/)
//   OP_BACKCHANNEL_LOGOUT_URI  optional; registers backchannel_logout_uri with
//                              backchannel_logout_session_required = true
//   OP_ACCESS_TTL              access token lifetime in seconds (default 60)
//   OP_REFRESH_TTL             refresh token lifetime in seconds (default 86400)
//   OP_CLIENT_SECRET           the client's secret (default: a random one per start)
//   DEBUG=oidc-provider:*      oidc-provider's own debug logging (stderr)
//
// Client: one confidential client `lifecycle-client`, token_endpoint_auth_method
// client_secret_basic only (oidc-provider allows one method per client; revocation and
// introspection use the same), grant_types authorization_code + refresh_token, response_types
// code, PKCE required (S256 is the only method oidc-provider 9 supports).
//
// Scopes: openid profile email offline_access (resource server scope `api:read` is optional;
// request it to get a `scope` claim in the access token). NOTE: oidc-provider drops
// `offline_access` from an authorization request unless it also carries prompt=consent; this
// peer issues a refresh token for every authorization_code / refresh_token grant anyway. Without
// offline_access the refresh token is bound to the OP session (expiresWithSession), so
// RP-initiated logout revokes it; with offline_access (prompt=consent) it survives logout.
// Refresh tokens rotate on every use; presenting a spent one gives invalid_grant and revokes the
// whole Grant. oidc-provider keeps ONE Grant per (OP browser session, client): every sign-in in
// the same OP session extends it, so reuse detection or revoking any refresh token at the
// revocation endpoint kills the tokens of all those sign-ins. Errors carry the generic
// error_description "grant request is invalid"; the real reason is logged on stderr.
//
// Step-up: max_age=N forces the login form when the OP session's login is older than N s
// (max_age=0 is turned into prompt=login); prompt=login always shows it; acr_values alone is
// voluntary in oidc-provider and does NOT force a login (the MFA choice is the form's).
//
// Access tokens: JWT (typ at+jwt, RS256, aud = resource, lifetime OP_ACCESS_TTL) for the default
// resource (used even when the authorization/token request names none). Claims: iss, sub, aud,
// exp, iat, jti, client_id, [scope], auth_time, amr, acr, sid, email. auth_time/amr/acr are those
// of the login that produced the authorization code; refreshes keep them unchanged.
// ID tokens: RS256, sub, aud, iss, iat, exp, auth_time (always: require_auth_time), amr, acr,
// sid, nonce, at_hash/c_hash as oidc-provider does, plus name/given_name/family_name (profile)
// and email/email_verified (email).
//
// Interactions (the OP's own login UI; oidc-provider's dev interactions are disabled):
//   GET  /interaction/:uid        login prompt: an HTML form; consent-only prompt: auto-approved
//                                 (303 straight back to the authorization flow, no form)
//   POST /interaction/:uid/login  application/x-www-form-urlencoded, logs in AND consents:
//          account    optional account id (default "user-1"; any id resolves to Ada's profile)
//          mfa        "1"/"on"/"true" => amr ["pwd","otp","mfa"], acr "urn:test:loa:2";
//                     absent          => amr ["pwd"],             acr "urn:test:loa:1"
//          ts_offset  test only: integer seconds added to the login time (e.g. -3600 simulates a
//                     provider that did NOT re-authenticate: auth_time stays an hour old)
//   POST /interaction/:uid/abort  the user cancels: the RP gets error=access_denied
// The form has a checkbox labelled "Use my second factor (MFA)" and a button "Sign in".
//
// Sign-out: GET/POST <issuer>/session/end (id_token_hint, post_logout_redirect_uri, state,
// client_id) renders a confirmation form that submits itself with a tiny inline script and also
// has a visible "Sign out" button (name=logout value=yes); it posts to /session/end/confirm, which
// redirects (303) to post_logout_redirect_uri (with state) or to /session/end/success.
//
// Test-only counters: GET /test/stats -> {"code_grants", "code_failures", "refresh_grants",
// "refresh_failures", "end_sessions"}; POST /test/stats/reset sets them all to 0.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

// stdout carries only the greeting line: oidc-provider prints notices with console.info.
for (const method of ['log', 'info', 'debug']) {
  console[method] = (...args) => console.error(...args);
}

const CLIENT_ID = 'lifecycle-client';
// Unreserved characters only, so client_secret_basic needs no form-urlencoding subtleties.
const CLIENT_SECRET = process.env.OP_CLIENT_SECRET || `lifecycle-${crypto.randomBytes(32).toString('hex')}`;
const RESOURCE = 'https://api.lifecycle.test';
const RESOURCE_SCOPES = 'api:read';
const ACR_SINGLE = 'urn:test:loa:1';
const ACR_MFA = 'urn:test:loa:2';

const splitList = (value, fallback) => String(value ?? fallback).split(/\s+/).filter(Boolean);
const REDIRECT_URIS = splitList(process.env.OP_REDIRECT_URIS, 'http://127.0.0.1:3000/auth/callback');
const POST_LOGOUT_URIS = splitList(process.env.OP_POST_LOGOUT_URIS, 'http://127.0.0.1:3000/');
const BACKCHANNEL_LOGOUT_URI = process.env.OP_BACKCHANNEL_LOGOUT_URI || null;
const positive = (value, fallback) => {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};
const ACCESS_TTL = positive(process.env.OP_ACCESS_TTL, 60);
const REFRESH_TTL = positive(process.env.OP_REFRESH_TTL, 86400);
const PORT = Number.parseInt(process.env.OP_PORT || '0', 10) || 0;

// Every account id resolves to Ada's profile (sub = the id).
const PROFILE = {
  email: 'ada@example.test',
  email_verified: true,
  given_name: 'Ada',
  family_name: 'Lovelace',
  name: 'Ada Lovelace',
};

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'lifecycle-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const stats = {
  code_grants: 0, code_failures: 0, refresh_grants: 0, refresh_failures: 0, end_sessions: 0,
};

const client = {
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  client_name: 'Lifecycle test client',
  application_type: 'web',
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: REDIRECT_URIS,
  post_logout_redirect_uris: POST_LOGOUT_URIS,
  id_token_signed_response_alg: 'RS256',
  require_auth_time: true,
  scope: 'openid profile email offline_access',
  ...(BACKCHANNEL_LOGOUT_URI ? {
    backchannel_logout_uri: BACKCHANNEL_LOGOUT_URI,
    backchannel_logout_session_required: true,
  } : undefined),
};

// The authorization code (code grant) or the rotated refresh token (refresh grant) that an access
// token is being minted from; both carry the login's authTime/amr/acr/sid.
function tokenSource(ctx) {
  const entities = ctx?.oidc?.entities ?? {};
  if (ctx?.oidc?.params?.grant_type === 'refresh_token') return entities.RefreshToken;
  return entities.AuthorizationCode ?? entities.RefreshToken;
}

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [client],
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  claims: {
    // acr/amr/auth_time listed under `openid` so every ID token carries them; oidc-provider
    // otherwise only adds acr when acr_values/claims asked for it.
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    profile: ['name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
  },
  acrValues: [ACR_SINGLE, ACR_MFA],
  // With a JWT access token for the resource the userinfo endpoint is of no use, so the
  // profile/email claims go into the ID token even for response_type=code.
  conformIdTokenClaims: false,
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url'), crypto.randomBytes(32).toString('base64url')],
    // oidc-provider only marks cookies Secure when the request itself is https, so plain
    // http on loopback works without `proxy` or explicit `secure: false`.
  },
  pkce: { required: () => true },
  // oidc-provider 9 routes its outgoing requests (backchannel logout) through an SSRF-protected
  // dispatcher that refuses loopback/private addresses; the RP under test lives on 127.0.0.1.
  fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, ...PROFILE };
      },
    };
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  // Issue a refresh token for every code/refresh grant, offline_access or not.
  issueRefreshToken: (ctx, c) => c.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: REFRESH_TTL,
    Interaction: 600,
    Session: 86400,
    Grant: 86400,
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind !== 'AccessToken') return undefined;
    const source = tokenSource(ctx);
    const claims = {};
    if (source) {
      if (source.authTime !== undefined) claims.auth_time = source.authTime;
      if (source.amr !== undefined) claims.amr = source.amr;
      if (source.acr !== undefined) claims.acr = source.acr;
    }
    const sid = token.sid ?? source?.sid;
    if (sid) claims.sid = sid;
    if (token.accountId) claims.email = PROFILE.email;
    return claims;
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true, allowedPolicy: async () => true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    userinfo: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource,
      postLogoutSuccessSource,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: RESOURCE_SCOPES,
          audience: RESOURCE,
          accessTokenTTL: ACCESS_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Error</h1>${Object.entries(out)
      .map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join('')}`);
  },
});

// Put `sid` into ID tokens and authorization codes (hence refresh and access tokens) even when
// no backchannel_logout_uri is registered; oidc-provider otherwise only does so for clients with
// backchannel_logout_session_required.
provider.Client.prototype.includeSid = function includeSid() { return true; };

provider.on('grant.success', (ctx) => {
  const gty = ctx.oidc.params?.grant_type;
  if (gty === 'authorization_code') stats.code_grants += 1;
  if (gty === 'refresh_token') stats.refresh_grants += 1;
});
const countFailure = (ctx, err) => {
  if (ctx.oidc?.route !== 'token') return;
  const gty = ctx.oidc.params?.grant_type;
  if (gty === 'authorization_code') stats.code_failures += 1;
  if (gty === 'refresh_token') stats.refresh_failures += 1;
  console.error(`token ${gty} failed: ${err?.error ?? err?.message} (${err?.error_detail ?? err?.error_description ?? ''})`);
};
provider.on('grant.error', countFailure);
provider.on('server_error', (ctx, err) => {
  countFailure(ctx, err);
  console.error('oidc-provider server_error', err);
});
provider.on('end_session.success', () => { stats.end_sessions += 1; });
provider.on('backchannel.error', (ctx, err) => console.error('backchannel logout failed:', err?.message));

function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${esc(title)}</title>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = page('Sign out', `<h1>Sign out of the test provider?</h1>
${form}
<button type="submit" form="op.logoutForm" id="op-sign-out" name="logout" value="yes">Sign out</button>
<script>document.getElementById('op-sign-out').click();</script>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<h1>Signed out</h1><p>You are signed out of the test provider.</p>');
}

function loginPage(uid, details) {
  const { params, prompt } = details;
  const facts = [
    ['Client', params.client_id],
    ['Requested scope', params.scope],
    ['Why', (prompt.reasons ?? []).join(', ')],
    ...(params.max_age !== undefined ? [['max_age', params.max_age]] : []),
    ...(params.acr_values ? [['acr_values', params.acr_values]] : []),
  ];
  return page('Sign in', `<h1>Sign in</h1>
<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
<form method="post" action="/interaction/${esc(uid)}/login">
  <p><label for="account">Account</label>
     <input id="account" name="account" type="text" value="user-1" autocomplete="username"></p>
  <p><input id="mfa" name="mfa" type="checkbox" value="1">
     <label for="mfa">Use my second factor (MFA)</label></p>
  <p><label for="ts_offset">Test only: shift the login time by (seconds)</label>
     <input id="ts_offset" name="ts_offset" type="number" step="1" value="0"></p>
  <p><button type="submit">Sign in</button></p>
</form>
<form method="post" action="/interaction/${esc(uid)}/abort">
  <p><button type="submit">Cancel</button></p>
</form>`);
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
const RS_SCOPES = new Set(RESOURCE_SCOPES.split(' '));

// Creates or extends the Grant so it covers everything the authorization request asked for.
async function grantFor(details, accountId) {
  const { params, prompt } = details;
  const promptDetails = prompt?.details ?? {};
  let grant;
  if (details.grantId && details.session?.accountId === accountId) {
    grant = await provider.Grant.find(details.grantId);
  }
  grant ??= new provider.Grant({ accountId, clientId: params.client_id });

  const requested = String(params.scope ?? '').split(' ').filter(Boolean);
  const oidcScopes = requested.filter((s) => OIDC_SCOPES.has(s));
  if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
  if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));

  const claimNames = new Set(promptDetails.missingOIDCClaims ?? []);
  if (params.claims) {
    try {
      const claims = JSON.parse(params.claims);
      for (const container of ['id_token', 'userinfo']) {
        for (const name of Object.keys(claims?.[container] ?? {})) claimNames.add(name);
      }
    } catch { /* oidc-provider validates the parameter itself */ }
  }
  if (claimNames.size) grant.addOIDCClaims([...claimNames]);

  const resourceScopes = requested.filter((s) => RS_SCOPES.has(s));
  for (const resource of [].concat(params.resource ?? RESOURCE)) {
    if (resourceScopes.length) grant.addResourceScope(resource, resourceScopes.join(' '));
  }
  for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, {
    'content-type': type, 'cache-control': 'no-store', ...headers,
  });
  res.end(body);
}

async function handleInteraction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    console.error(`interaction ${uid}: ${err.message}`);
    send(res, 400, 'text/html; charset=utf-8', page('Error', `<h1>Sign-in request not found</h1><p>${esc(err.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, 'text/html; charset=utf-8', page('Error', '<h1>Interaction mismatch</h1>'));
    return;
  }

  if (!action) {
    if (req.method !== 'GET') {
      send(res, 405, 'text/plain', 'method not allowed', { allow: 'GET' });
      return;
    }
    if (details.prompt.name === 'login') {
      send(res, 200, 'text/html; charset=utf-8', loginPage(uid, details));
      return;
    }
    if (details.prompt.name === 'consent' && details.session?.accountId) {
      const grantId = await grantFor(details, details.session.accountId);
      // Merge so a login submitted earlier in this same authorization request still counts
      // (max_age would otherwise ask for a login again).
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    send(res, 400, 'text/html; charset=utf-8', page('Error', `<h1>Unsupported prompt ${esc(details.prompt.name)}</h1>`));
    return;
  }

  if (req.method !== 'POST') {
    send(res, 405, 'text/plain', 'method not allowed', { allow: 'POST' });
    return;
  }

  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  const form = await readForm(req);
  const accountId = (form.get('account') || '').trim() || 'user-1';
  const mfa = ['1', 'on', 'true', 'yes'].includes(String(form.get('mfa') ?? '').toLowerCase());
  const offset = Number.parseInt(form.get('ts_offset') ?? '0', 10);
  const ts = Math.floor(Date.now() / 1000) + (Number.isInteger(offset) ? offset : 0);
  const grantId = await grantFor(details, accountId);
  const result = {
    login: {
      accountId,
      amr: mfa ? ['pwd', 'otp', 'mfa'] : ['pwd'],
      acr: mfa ? ACR_MFA : ACR_SINGLE,
      ts,
      remember: true,
    },
    consent: { grantId },
  };
  console.error(`interaction ${uid}: login ${accountId} mfa=${mfa} ts=${ts}`);
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const { pathname } = new URL(req.url, issuer);
    if (pathname === '/test/stats' && req.method === 'GET') {
      send(res, 200, 'application/json', JSON.stringify(stats));
      return;
    }
    if (pathname === '/test/stats/reset' && req.method === 'POST') {
      for (const key of Object.keys(stats)) stats[key] = 0;
      send(res, 200, 'application/json', JSON.stringify(stats));
      return;
    }
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/.exec(pathname);
    if (match) {
      await handleInteraction(req, res, match[1], match[2]);
      return;
    }
    callback(req, res);
  } catch (err) {
    console.error('request failed', err);
    if (!res.headersSent) send(res, 500, 'text/plain', 'internal error');
    else res.end();
  }
});

// Static clients are validated lazily; fail at startup instead of on the first request.
if (!(await provider.Client.find(CLIENT_ID))) throw new Error('client configuration rejected');

const endpoint = (name) => `${issuer}${provider.pathFor(name)}`;
process.stdout.write(JSON.stringify({
  issuer,
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  token_endpoint_auth_method: 'client_secret_basic',
  resource: RESOURCE,
  authorization_endpoint: endpoint('authorization'),
  token_endpoint: endpoint('token'),
  end_session_endpoint: endpoint('end_session'),
  revocation_endpoint: endpoint('revocation'),
  introspection_endpoint: endpoint('introspection'),
  userinfo_endpoint: endpoint('userinfo'),
  jwks_uri: endpoint('jwks'),
  stats_endpoint: `${issuer}/test/stats`,
  redirect_uris: REDIRECT_URIS,
  post_logout_redirect_uris: POST_LOGOUT_URIS,
  backchannel_logout_uri: BACKCHANNEL_LOGOUT_URI,
  access_token_ttl: ACCESS_TTL,
  account: { sub: 'user-1', ...PROFILE },
  interaction_login_path_prefix: '/interaction/',
}) + '\n');

const shutdown = () => process.exit(0);
process.stdin.resume();
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
