// Signs Security Event Tokens (RFC 8417) with the `jose` npm package, for
// tests/it/shared_signals.rs: the SSF transmitter's side. Run `npm ci` first.
//
// argv:   one JSON object:
//   {"keys": {"transmitter": <private JWK>, "stranger": <private JWK>} | null,
//    "sets": [{"key": "transmitter" | "stranger", "header": {...}, "claims": {...}}, ...]}
//   Without keys, two RS256 key pairs are generated: the transmitter's (published) and a
//   stranger's (never published). Each SET's header is {alg: RS256, kid: "ssf-1",
//   typ: "secevent+jwt"} with the given members over it (a null member is removed); its claims
//   are signed as given.
// stdout: one JSON object:
//   {"keys": {...the private JWKs, to sign more later},
//    "jwks": {"keys": [the transmitter's public JWK, kid "ssf-1"]},
//    "sets": ["<compact JWS>", ...]}
import { SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';

const input = JSON.parse(process.argv[2] ?? '{}');

const fresh = async () => exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey);
const keys = input.keys ?? { transmitter: await fresh(), stranger: await fresh() };

const { d, p, q, dp, dq, qi, ...pub } = keys.transmitter;
const jwks = { keys: [{ ...pub, kid: 'ssf-1', alg: 'RS256', use: 'sig' }] };

const sets = [];
for (const spec of input.sets ?? []) {
  const header = { alg: 'RS256', kid: 'ssf-1', typ: 'secevent+jwt', ...(spec.header ?? {}) };
  for (const [name, value] of Object.entries(header)) if (value === null) delete header[name];
  const key = await importJWK(keys[spec.key ?? 'transmitter'], 'RS256');
  sets.push(await new SignJWT(spec.claims).setProtectedHeader(header).sign(key));
}

process.stdout.write(JSON.stringify({ keys, jwks, sets }) + '\n');
