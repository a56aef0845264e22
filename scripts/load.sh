#!/usr/bin/env bash
# Load test and memory flood against examples/load_target.rs, on loopback (BENCHMARKS.md,
# "Load (wrk) and memory under a flood").
#
#   scripts/load.sh [-d SECONDS] [-c CONNECTIONS] [-t THREADS] [-n TOKENS] [-f FLOOD] [-p PORT]
#
#   -d  seconds per wrk scenario (default 60; 5 for a quick try)
#   -c  wrk connections (default 32), -t wrk threads (default 1): the same for every scenario
#   -n  distinct RS256 tokens for the unique-token scenario (default 200000, far more than the
#       cache's 10,000 entries, so requests miss); minted once (about 80 s) into target/load/
#   -f  distinct HS256 tokens in the memory flood (default 1000000; 0 skips the flood)
#   -p  port on 127.0.0.1 (default 18080)
#   PIN=0 in the environment: do not pin the server to CPU 0 and wrk/flood to CPU 1
#   LOAD_CACHE=off in the environment: the server runs without its token cache
#
# Scenarios, each on a fresh server: (a) GET /bare, a router without the auth layer, sent the
# same request as (b) so that the difference is the layer alone; (b) GET /auth (AuthLayer +
# RequireMfa) with one MFA token on every request: cache hits; (c) GET /auth with a different
# token on every request: cache misses (RS256 verified), but for the few thousand tokens the
# cache's main queue keeps (each hits once per cycle); and, for reference, GET /bare
# without any Authorization header. Ratios are to (a). Then the flood (examples/flood.rs) on
# another fresh server: cold and warm RSS, then RSS and the cache's stats every 100,000 tokens.
# Exits non-zero on any non-2xx answer or socket error.
# Needs wrk (Debian: apt-get install -y wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60 connections=32 threads=1 unique=200000 flood=1000000 port=18080
while getopts "d:c:t:n:f:p:" opt; do
  case $opt in
    d) duration=$OPTARG ;;
    c) connections=$OPTARG ;;
    t) threads=$OPTARG ;;
    n) unique=$OPTARG ;;
    f) flood=$OPTARG ;;
    p) port=$OPTARG ;;
    *) sed -n '5,14p' "$0" >&2; exit 2 ;;
  esac
done
for n in "$duration" "$connections" "$threads" "$unique" "$flood" "$port"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "not a number: $n" >&2; exit 2; }
done
((duration >= 1 && duration <= 600)) || { echo "-d: 1 to 600 seconds" >&2; exit 2; }
((unique >= 1 && unique <= 2000000)) || { echo "-n: 1 to 2,000,000 tokens" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }

base=http://127.0.0.1:$port
out=target/load
mkdir -p "$out"
server_cpu=() client_cpu=()
if [[ ${PIN:-1} != 0 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
  server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi

echo "== build (release)"
cargo build --release --quiet --example load_target --example flood
target=target/release/examples/load_target

tokens=$out/tokens-$unique.txt
# Tokens are valid 7 days: mint again after one.
if [[ ! -s $tokens ]] || [[ -n $(find "$tokens" -mmin +1440) ]]; then
  echo "== minting $unique RS256 tokens into $tokens"
  "$target" --mint "$unique" "$tokens"
fi
head -n 1 "$tokens" >"$out/one-token.txt"

server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT
trap "exit 130" INT TERM

start_server() {
  "${server_cpu[@]}" "$target" "$port" >"$out/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do
    curl -sf "$base/bare" >/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "load_target did not start:" >&2
  cat "$out/server.log" >&2
  exit 1
}

# The second field of the first line of file $1 matching regex $2 (wrk's report), or "-".
field() { awk -v pat="$2" '$0 ~ pat { print $2; found = 1; exit } END { if (!found) print "-" }' "$1"; }

# The number under key $2 in the flat JSON object $1.
json() { sed -E "s/.*\"$2\":([0-9]+).*/\1/" <<<"$1"; }

declare -A rps
errors_total=0
summary=$out/summary.md
{
  echo "| scenario | req/s | p50 | p99 | errors | vs bare | server CPU µs/req | cache hits / misses | RSS after (KiB) |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$summary"

scenario() { # name path tokens
  local name=$1 path=$2 file=$3 report=$out/wrk-$1.txt
  echo "== $name: GET $path, ${duration}s, $threads thread(s), $connections connections"
  start_server
  if [[ $file != - ]]; then # the token must be accepted before it is measured
    curl -sf -o /dev/null -H "Authorization: Bearer $(head -n 1 "$file")" "$base$path" ||
      { echo "$name: the server refused the token" >&2; exit 1; }
  fi
  "${client_cpu[@]}" wrk -t "$threads" -c "$connections" -d "${duration}s" --timeout 10s \
    --latency -s scripts/load.lua "$base$path" -- "$file" "$threads" | tee "$report"
  local stats rss cpu
  stats=$(curl -sf "$base/stats") rss=$(curl -sf "$base/rss")
  # The server's CPU time (user + system) since it started, in clock ticks.
  cpu=$(awk '{ print $14 + $15 }' "/proc/$server_pid/stat")
  echo "stats: $stats  rss: $rss  server cpu ticks: $cpu" | tee -a "$report"
  stop_server

  local non2xx socket errors
  non2xx=$(awk '/Non-2xx/ { print $NF; found = 1 } END { if (!found) print 0 }' "$report")
  socket=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10; found = 1 }
                END { if (!found) print 0 }' "$report")
  errors=$((non2xx + socket))
  errors_total=$((errors_total + errors))
  rps[$name]=$(field "$report" "^Requests/sec:")
  # Server CPU per request: the layer's cost whatever share of the cores wrk takes.
  local per_request
  per_request=$(awk -v ticks="$cpu" -v hz="$(getconf CLK_TCK)" \
    '/ requests in / { printf "%.1f", ticks / hz * 1e6 / $1 }' "$report")
  local ratio=1.00
  [[ $name == bare ]] || ratio=$(awk -v a="${rps[$name]}" -v b="${rps[bare]}" \
    'BEGIN { printf "%.2f", a / b }')
  echo "| $name | ${rps[$name]} | $(field "$report" "^ +50%") | $(field "$report" "^ +99%") |" \
    "$errors | $ratio | $per_request | $(json "$stats" hits) / $(json "$stats" misses) |" \
    "$(json "$rss" rss_kib) |" >>"$summary"
}

scenario bare /bare "$out/one-token.txt"
scenario cached /auth "$out/one-token.txt"
scenario unique /auth "$tokens"
scenario bare-no-token /bare -

echo
echo "== summary (wrk -t $threads -c $connections -d ${duration}s --latency; reports in $out/)"
cat "$summary"

if ((flood > 0)); then
  echo
  echo "== memory: flood of $flood distinct HS256 tokens"
  start_server
  "${client_cpu[@]}" target/release/examples/flood "$base" "$flood" 100000 | tee "$out/flood.txt"
  stop_server
fi

if ((errors_total > 0)); then
  echo "FAILED: $errors_total errors (non-2xx answers or socket errors)" >&2
  exit 1
fi
