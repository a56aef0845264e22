// Opens a seal with the real npm packages, so seals written by the Rust crate are checked by
// the peers that will read them in production. Run `npm ci` in this folder first.
//
// stdin:  {"password": "...", "sealed": "Fe26.2*...", "via": "iron-session" | "iron-webcrypto"}
// stdout: the unsealed JSON value, then a newline (iron-session: `unsealData`, which is what
//         @workos-inc/authkit-nextjs calls on every request; iron-webcrypto: v2 `unseal`).
import { unsealData } from 'iron-session';
import * as Iron from 'iron-webcrypto';

const { password, sealed, via = 'iron-session' } = JSON.parse(
  await new Response(process.stdin).text(),
);
let value;
if (via === 'iron-session') {
  value = await unsealData(sealed, { password });
} else if (via === 'iron-webcrypto') {
  // iron-webcrypto knows no iron-session version suffix.
  value = await Iron.unseal(sealed.replace(/~2$/, ''), { 1: password }, Iron.defaults);
} else {
  throw new Error(`unknown via: ${via}`);
}
process.stdout.write(`${JSON.stringify(value)}\n`);
