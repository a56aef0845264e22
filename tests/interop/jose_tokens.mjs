// Mints tokens with the `jose` npm package, for tests/interop_jose.rs. Run `npm ci` first.
//
// argv:   <issuer> <attacker-jku-url>
// stdout: one JSON object:
//   {"jwks": {"keys": [...]},                      public keys, one per algorithm, with kid/alg/use
//    "tokens": {"RS256": "...", "PS256": ..., "ES256": ..., "ES384": ..., "EdDSA": ...},
//    "attacks": {"embedded_jwk": ..., "jku": ..., "hs256_rsa_pem_secret": ...,
//                "hs256_rsa_jwk_secret": ..., "alg_none": ..., "alg_none_signed": ...}}
// Every token carries iss=<issuer>, sub "jose-user", amr ["pwd","mfa"], exp in 10 minutes.
import { SignJWT, UnsecuredJWT, generateKeyPair, exportJWK, exportSPKI } from 'jose';

const [issuer, attackerUrl] = process.argv.slice(2);
if (!issuer || !attackerUrl) throw new Error('usage: jose_tokens.mjs <issuer> <attacker-jku-url>');

const claims = { sub: 'jose-user', amr: ['pwd', 'mfa'], acr: 'urn:jose:loa:2' };
const now = Math.floor(Date.now() / 1000);
const mint = (header, key) =>
  new SignJWT({ ...claims, auth_time: now - 5 })
    .setProtectedHeader({ typ: 'at+jwt', ...header })
    .setIssuer(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(key);

const specs = [
  ['RS256', {}],
  ['PS256', {}],
  ['ES256', {}],
  ['ES384', {}],
  ['EdDSA', { crv: 'Ed25519' }],
];
const keys = [];
const tokens = {};
const pairs = {};
for (const [alg, options] of specs) {
  const pair = await generateKeyPair(alg, { ...options, extractable: true });
  pairs[alg] = pair;
  const kid = `jose-${alg.toLowerCase()}`;
  keys.push({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' });
  tokens[alg] = await mint({ alg, kid }, pair.privateKey);
}

// The attacker's own key pair: never published in the JWKS.
const attacker = await generateKeyPair('RS256', { extractable: true });
const attackerJwk = await exportJWK(attacker.publicKey);
const rsaPem = await exportSPKI(pairs.RS256.publicKey);
const rsaJwk = keys.find((k) => k.alg === 'RS256');
const enc = new TextEncoder();

const unsecured = new UnsecuredJWT({ ...claims })
  .setIssuer(issuer)
  .setIssuedAt(now)
  .setExpirationTime(now + 600)
  .encode();
const attacks = {
  // RFC 7515 `jwk`: the token carries its own (attacker's) verification key.
  embedded_jwk: await mint({ alg: 'RS256', kid: 'jose-rs256', jwk: attackerJwk }, attacker.privateKey),
  // `jku`: points at a JWKS the attacker controls.
  jku: await mint({ alg: 'RS256', kid: 'attacker', jku: attackerUrl }, attacker.privateKey),
  // Algorithm confusion: HS256 keyed with the published RSA public key.
  hs256_rsa_pem_secret: await mint({ alg: 'HS256', kid: 'jose-rs256' }, enc.encode(rsaPem)),
  hs256_rsa_jwk_secret: await mint({ alg: 'HS256', kid: 'jose-rs256' }, enc.encode(JSON.stringify(rsaJwk))),
  // `alg: none` as jose encodes it (empty signature), and with a signature segment added.
  alg_none: unsecured,
  alg_none_signed: `${unsecured}c2lnbmF0dXJl`,
};

process.stdout.write(JSON.stringify({ jwks: { keys }, tokens, attacks }) + '\n');
