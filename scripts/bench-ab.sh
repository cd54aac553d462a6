#!/usr/bin/env bash
# A/B: two builds of accounts-local (release, in-memory store), GET
# /user/profile under wrk on this machine's cores, the two servers
# alternated ROUNDS times so that both see the same machine noise. Prints
# each round and the medians per core. Made to measure what a change to
# the authenticated path costs (e.g. the session check on every request).
#
# usage: scripts/bench-ab.sh A_BINARY B_BINARY [ROUNDS, default 5] [SECONDS, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
A="$1" B="$2" ROUNDS="${3:-5}" SECONDS_PER_RUN="${4:-10}"
THREADS=$(nproc)
command -v wrk >/dev/null || { echo "bench-ab.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
OUT=target/bench-ab
mkdir -p "$OUT"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
start() {
  local binary="$1" port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  RUST_LOG=warn "$binary" --memory --addr "127.0.0.1:$port" >"$OUT/server-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  curl -s -o /dev/null -X POST "http://127.0.0.1:$port/user/register" -H 'content-type: application/json' \
    -d '{"email":"bench@acme.com","password":"Secure-pass-123","firstName":"Bench","lastName":"Mark","companyName":"Acme","isBusiness":true}'
  echo "$port"
}
token() {
  curl -s -X POST "http://127.0.0.1:$1/user/login" -H 'content-type: application/json' \
    -d '{"email":"bench@acme.com","password":"Secure-pass-123"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
port_a=$(start "$A"); port_b=$(start "$B")
token_a=$(token "$port_a"); token_b=$(token "$port_b")

run() {
  ACCESS_TOKEN="$2" wrk -t"$THREADS" -c64 -d"${SECONDS_PER_RUN}s" -s scripts/bench/profile.lua \
    "http://127.0.0.1:$1/user/profile" | awk '/Requests\/sec/ {print $2}'
}
: >"$OUT/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  a=$(run "$port_a" "$token_a"); b=$(run "$port_b" "$token_b")
  echo "round $round: A $a/s, B $b/s" | tee -a "$OUT/rounds.txt"
done
python3 - "$OUT/rounds.txt" "$THREADS" <<'PY'
import re, statistics, sys
rounds = [tuple(map(float, re.findall(r"([\d.]+)/s", line))) for line in open(sys.argv[1])]
cores = int(sys.argv[2])
a = statistics.median(r[0] for r in rounds) / cores
b = statistics.median(r[1] for r in rounds) / cores
# Each round's two runs saw about the same machine: the ratio per round,
# then its median, is steadier than the ratio of the medians.
ratios = sorted(r[1] / r[0] for r in rounds)
print(f"median per core: A {a:,.0f}/s, B {b:,.0f}/s")
print(f"B/A per round: {', '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f}")
PY
