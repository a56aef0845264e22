#!/usr/bin/env python3
"""Writes the fuzz seed inputs in fuzz/seeds/<target>/ (run from anywhere; needs openssl).

The targets assert that nothing authenticates, so every seed must be rejected: the tokens
signed with the target's keys are expired, and the iron seals are the test fixtures, sealed
under passwords that are not the target's (the MAC check fails)."""
import base64, hmac, hashlib, json, subprocess, os
root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def enc(o): return b64(json.dumps(o, separators=(",", ":")).encode())
def hs(header, claims, key=bytes([7]*32)):
    si = enc(header) + "." + enc(claims)
    return si + "." + b64(hmac.new(key, si.encode(), hashlib.sha256).digest())
def rs(header, claims):
    si = enc(header) + "." + enc(claims)
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", root + "/tests/fixtures/keys/rsa_private.pem"],
                         input=si.encode(), capture_output=True, check=True).stdout
    return si + "." + b64(sig)
claims = {"iss": "https://auth.example.com", "sub": "user_01", "aud": "api", "exp": 1000,
          "iat": 900, "nbf": 900, "auth_time": 900, "amr": ["pwd", "mfa"], "acr": "aal2", "sid": "s1"}
seeds = {
  # correct HS256 signature under the target's key: reaches claim validation, fails on exp
  "hs256_expired": hs({"alg": "HS256", "typ": "JWT", "kid": "h"}, claims),
  # correct signature, no kid: key chosen by algorithm
  "hs256_nokid_expired": hs({"alg": "HS256"}, {"sub": "u", "exp": 1}),
  # correct signature, claims of the wrong types
  "hs256_badtypes": hs({"alg": "HS256", "kid": "h"}, {"sub": 1, "exp": "2", "nbf": None, "auth_time": []}),
  # wrong HMAC key: bad signature
  "hs256_wrongkey": hs({"alg": "HS256", "kid": "h"}, {"sub": "u", "exp": 9999999999}, key=b"x"*32),
  # correct RS256 signature under the fixture key: reaches claim validation, fails on exp
  "rs256_expired": rs({"alg": "RS256", "typ": "JWT", "kid": "r"}, claims),
  # forbidden / critical headers
  "hs256_crit": hs({"alg": "HS256", "kid": "h", "crit": ["b64"], "b64": False}, {"sub": "u", "exp": 1}),
  # algorithm not pinned to the key
  "es256_on_rsa_kid": enc({"alg": "ES256", "kid": "r"}) + "." + enc({"sub": "u", "exp": 1}) + "." + b64(b"\0"*64),
}
for name, tok in seeds.items():
    open(f"{root}/fuzz/seeds/token/{name}", "w").write(tok)
# iron: the test fixtures' seals (their passwords differ from the target's, so the MAC check
# fails; the target also tries each input behind `Fe26.2*1*`).
for f in ["iron-webcrypto-v2", "authkit-nextjs-session", "workos-node-session"]:
    d = json.load(open(f"{root}/tests/fixtures/iron/{f}.json"))
    c = d["cookie"]
    open(f"{root}/fuzz/seeds/iron_cookie/{f}", "w").write(c)
