// Seals a JSON payload with the real npm packages, so the Rust iron module can
// be checked against them. Run `npm ci` in this folder first.
//
// stdin:  {"password": "...", "payload": <any JSON>, "ttl": <seconds, 0 = none>,
//          "via": "iron-session" | "workos" | "iron-webcrypto",
//          "passwordId": "1"}            (passwordId is optional, default "1")
// stdout: the sealed string, then a newline.
//
// via "iron-session":   iron-session `sealData(payload, { password: { [id]: password }, ttl })`,
//                       exactly what @workos-inc/authkit-nextjs does for its `wos-session`
//                       cookie (it passes a plain string, which iron-session maps to id "1").
//                       Output ends in `~2`. Uses iron-webcrypto v1 underneath.
// via "workos":         @workos-inc/node `userManagement.sealSessionDataFromAuthenticationResponse`,
//                       which seals {organizationId, user, accessToken, refreshToken,
//                       authenticationMethod, impersonator} with its bundled iron-webcrypto v2,
//                       id "1", no expiry, and `~2`. `payload` is the authentication response:
//                       its `accessToken` must be a JWT (decoded, not verified, for `org_id`);
//                       `ttl` must be 0 and `passwordId` "1", as WorkOS allows no other.
// via "iron-webcrypto": iron-webcrypto v2 `seal` directly; no `~2` suffix. An empty
//                       `passwordId` seals without an id (unseal then looks up "default").
import { sealData } from 'iron-session';
import * as Iron from 'iron-webcrypto';
import { WorkOS } from '@workos-inc/node';

const input = JSON.parse(await new Response(process.stdin).text());
const { password, payload, ttl = 0, via = 'iron-session', passwordId = '1' } = input;
if (typeof password !== 'string') throw new Error('password must be a string');
if (!Number.isInteger(ttl) || ttl < 0) throw new Error('ttl must be a whole number of seconds');

let sealed;
switch (via) {
  case 'iron-session':
    // iron-session seals with the numerically largest id, so ids must be numbers.
    if (!/^\d+$/.test(passwordId)) throw new Error('iron-session needs a numeric passwordId');
    sealed = await sealData(payload, { password: { [passwordId]: password }, ttl });
    break;
  case 'workos': {
    if (ttl !== 0 || passwordId !== '1') {
      throw new Error('via "workos" always seals with ttl 0 and password id "1"');
    }
    // No network: sealing only decodes the access token locally.
    const workos = new WorkOS('sk_test_interop', { clientId: 'client_interop' });
    sealed = await workos.userManagement.sealSessionDataFromAuthenticationResponse({
      authenticationResponse: payload,
      cookiePassword: password,
    });
    break;
  }
  case 'iron-webcrypto':
    sealed = await Iron.seal(
      payload,
      passwordId === '' ? password : { id: passwordId, secret: password },
      { ...Iron.defaults, ttl: ttl * 1000 },
    );
    break;
  default:
    throw new Error(`unknown via: ${via}`);
}
process.stdout.write(`${sealed}\n`);
