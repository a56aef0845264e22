// Makes real WorkOS AuthKit `wos-session` cookies for the Rust tests (tests/authkit.rs):
// access tokens signed by `jose` with the RSA fixture key (RS256), sealed by the real
// `iron-session` (what @workos-inc/authkit-nextjs uses) or `@workos-inc/node`.
// Run `npm ci --prefix tests/interop` first.
//
// stdin:  {"jobs": [{
//            "claims":   <JWT claims>,                 signed RS256 with tests/fixtures/keys/rsa_private.pem
//            "header":   {"kid": "..."},               optional extra protected header members
//            "unsigned": true,                         optional: an `alg: none` token instead (jose UnsecuredJWT)
//            "session":  {"user": {...}, "refreshToken": "...", "impersonator": {...}, ...},
//                                                      the rest of the sealed payload (accessToken is added)
//            "via":      "iron-session" | "workos",
//            "password": "...", "passwordId": "1",     passwordId only for iron-session (default "1")
//            "ttl":      <seconds, 0 = no expiry>      iron-session only (workos always seals with 0)
//         }, ...]}
// stdout: a JSON array, one {"cookie": "...", "accessToken": "..."} per job, in order.
//
// via "workos": @workos-inc/node `sealSessionDataFromAuthenticationResponse` rebuilds the
// payload as {organizationId, user, accessToken, refreshToken, authenticationMethod,
// impersonator} (organizationId from the token's org_id): `session` is its authentication
// response minus the access token.
import { readFile } from 'node:fs/promises';
import { sealData } from 'iron-session';
import { SignJWT, UnsecuredJWT, importPKCS8 } from 'jose';
import { WorkOS } from '@workos-inc/node';

const keyPath = new URL('../fixtures/keys/rsa_private.pem', import.meta.url);
const privateKey = await importPKCS8(await readFile(keyPath, 'utf8'), 'RS256');
// No network: sealing only decodes the access token locally.
const workos = new WorkOS('sk_test_interop', { clientId: 'client_interop' });

async function accessToken({ claims, header = {}, unsigned = false }) {
  if (unsigned) return new UnsecuredJWT(claims).encode();
  return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', ...header, alg: 'RS256' }).sign(privateKey);
}

async function seal(job, token) {
  const { session = {}, via = 'iron-session', password, passwordId = '1', ttl = 0 } = job;
  if (typeof password !== 'string') throw new Error('password must be a string');
  switch (via) {
    case 'iron-session':
      return sealData({ ...session, accessToken: token }, { password: { [passwordId]: password }, ttl });
    case 'workos':
      if (ttl !== 0 || passwordId !== '1') throw new Error('via "workos" seals with ttl 0 and id "1" only');
      return workos.userManagement.sealSessionDataFromAuthenticationResponse({
        authenticationResponse: { ...session, accessToken: token },
        cookiePassword: password,
      });
    default:
      throw new Error(`unknown via: ${via}`);
  }
}

const { jobs } = JSON.parse(await new Response(process.stdin).text());
const out = [];
for (const job of jobs) {
  const token = await accessToken(job);
  out.push({ cookie: await seal(job, token), accessToken: token });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
