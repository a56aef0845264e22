// Opens a seal with the real npm packages, so seals written by the Rust crate are checked by
// the peers that will read them in production. Run `npm ci` in this folder first.
//
// stdin:  {"password": "...", "sealed": "Fe26.2*...",
//          "via": "iron-session" | "iron-webcrypto" | "workos",
//          "workos": {"baseUrl": "http://127.0.0.1:<port>", "clientId": "...", "apiKey": "..."}}
// stdout: the unsealed JSON value, then a newline (iron-session: `unsealData`, which is what
//         @workos-inc/authkit-nextjs calls on every request; iron-webcrypto: v2 `unseal`;
//         workos: @workos-inc/node `loadSealedSession(...).authenticate()` against the API at
//         `baseUrl`, which verifies the access token with that API's key set: its result).
import { unsealData } from 'iron-session';
import * as Iron from 'iron-webcrypto';
import { WorkOS } from '@workos-inc/node';

const { password, sealed, via = 'iron-session', workos } = JSON.parse(
  await new Response(process.stdin).text(),
);
let value;
if (via === 'workos') {
  const base = new URL(workos.baseUrl);
  const client = new WorkOS(workos.apiKey, {
    apiHostname: base.hostname,
    port: Number(base.port),
    https: base.protocol === 'https:',
    clientId: workos.clientId,
    issuer: `https://api.workos.com/user_management/${workos.clientId}`,
  });
  const session = client.userManagement.loadSealedSession({ sessionData: sealed, cookiePassword: password });
  const result = await session.authenticate();
  // Never print tokens: the test checks who and which session.
  value = {
    authenticated: result.authenticated,
    reason: result.reason ?? null,
    userId: result.user?.id ?? null,
    sessionId: result.sessionId ?? null,
    organizationId: result.organizationId ?? null,
    authenticationMethod: result.authenticationMethod ?? null,
  };
} else if (via === 'iron-session') {
  value = await unsealData(sealed, { password });
} else if (via === 'iron-webcrypto') {
  // iron-webcrypto knows no iron-session version suffix.
  value = await Iron.unseal(sealed.replace(/~2$/, ''), { 1: password }, Iron.defaults);
} else {
  throw new Error(`unknown via: ${via}`);
}
process.stdout.write(`${JSON.stringify(value)}\n`);
