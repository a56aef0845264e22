#!/usr/bin/env bash
# A local OpenID Provider for trying the demo's sign-in (and any BFF built on the crate):
# `oidc-provider` from tests/interop on http://127.0.0.1:4000 (OP_PORT), with the demo's
# callback registered, a password form with an optional second factor, refresh rotation,
# step-up (max_age) and sign-out. It prints the demo's environment to paste in another
# terminal, then serves until Ctrl-C.
#
#   scripts/local-op.sh                  # then, in another terminal, paste the exports
#   DEMO_URL=http://127.0.0.1:3001 scripts/local-op.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Node.js 20 or newer with npm is needed (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "Node.js $(node --version) is too old: 20 or newer is needed (22 recommended)" >&2
  exit 1
fi
[ -d tests/interop/node_modules/oidc-provider ] || npm ci --prefix tests/interop >&2

port="${OP_PORT:-4000}"
demo="${DEMO_URL:-http://127.0.0.1:3000}"
secret="${OP_CLIENT_SECRET:-local-op-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}"
password="${AUTH_IRON_PASSWORD:-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')}"

# The provider stops when its standard input closes: keep it open for as long as we run.
coproc OP {
  exec env OP_PORT="$port" OP_CLIENT_SECRET="$secret" OP_ACCESS_TTL="${OP_ACCESS_TTL:-300}" \
    OP_REDIRECT_URIS="$demo/auth/callback" OP_POST_LOGOUT_URIS="$demo/" \
    OP_BACKCHANNEL_LOGOUT_URI="$demo/auth/backchannel-logout" \
    node tests/interop/oidc_login_provider.mjs
}
trap 'kill "$OP_PID" 2>/dev/null || true' EXIT INT TERM
IFS= read -r greeting <&"${OP[0]}" || { echo "the provider did not start" >&2; exit 1; }
field() { node -e 'const g = JSON.parse(process.argv[1]); console.log(g[process.argv[2]])' "$greeting" "$1"; }

cat <<OUT
OpenID Provider at $(field issuer): sign in as user-1; tick "Use my second factor (MFA)" for MFA.
Run the demo against it:

export AUTH_OIDC_ISSUER=$(field issuer)
export AUTH_CLIENT_ID=$(field client_id)
export AUTH_CLIENT_SECRET=$secret
export AUTH_RESOURCE=$(field resource)
export AUTH_IRON_PASSWORD=$password
export AUTH_REDIRECT_URI=$demo/auth/callback
cargo run --example demo

Then open $demo/ and sign in. Ctrl-C stops the provider.
OUT
wait "$OP_PID"
