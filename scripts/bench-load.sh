#!/usr/bin/env bash
# Load benchmark: accounts-local (release, in-memory store) under wrk, on
# every core of this machine; logins/s, refreshes/s and profile reads/s with
# p50/p99 latency, next to the floors measured in the same run on the same
# cores: bare argon2id verification (under login), bare access-token signing
# (under refresh) and verification (under profile), with the service's own
# code. JWT_ALGORITHM (RS256 or ES256, default RS256) picks the signing
# algorithm of the server and the floors alike. Prints a Markdown table; the
# raw output goes to target/bench/. Needs wrk (apt-get install wrk).
#
# usage: [JWT_ALGORITHM=ES256] scripts/bench-load.sh [SECONDS per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
THREADS=$(nproc)
OUT=target/bench
mkdir -p "$OUT"

command -v wrk >/dev/null || { echo "bench-load.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
# The floors at opt-level 3, as accounts-local (Cargo.toml): argon2 and the
# token code run ~30% slower in a binary built for size.
cargo build --release -q --config 'profile.release.package.accounts-bench.opt-level=3' \
  -p accounts-local -p accounts-bench

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
RUST_LOG=warn target/release/accounts-local --memory --addr "127.0.0.1:$port" >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$base/" && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
curl -s -X POST "$base/user/register" -H 'content-type: application/json' \
  -d '{"email":"bench@acme.com","password":"Secure-pass-123","firstName":"Bench","lastName":"Mark","companyName":"Acme","isBusiness":true}' >/dev/null
# The profile reads use an account of their own: the 128 logins below would
# otherwise end its session (at most 100 live sessions a user) and every
# read would be a 401.
ACCESS_TOKEN=$(curl -s -X POST "$base/user/register" -H 'content-type: application/json' \
  -d '{"email":"bench-profile@acme.com","password":"Secure-pass-123","firstName":"Bench","lastName":"Mark","companyName":"Acme","isBusiness":true}' | json accessToken)
export ACCESS_TOKEN
: >"$OUT/refresh-tokens"
for _ in $(seq 1 128); do
  curl -s -X POST "$base/user/login" -H 'content-type: application/json' \
    -d '{"email":"bench@acme.com","password":"Secure-pass-123"}' | json refreshToken >>"$OUT/refresh-tokens"
done
# Logins go round-robin over many accounts (scripts/bench/login.lua).
LOGIN_ACCOUNTS=64
for n in $(seq 0 $((LOGIN_ACCOUNTS - 1))); do
  curl -s -o /dev/null -X POST "$base/user/register" -H 'content-type: application/json' \
    -d "{\"email\":\"bench-$n@acme.com\",\"password\":\"Secure-pass-123\",\"firstName\":\"Bench\",\"lastName\":\"Mark\",\"companyName\":\"Acme\",\"isBusiness\":true}"
done
export REFRESH_TOKENS="$OUT/refresh-tokens" WRK_THREADS="$THREADS" LOGIN_ACCOUNTS

target/release/argon2-floor "$SECONDS_PER_RUN" "$THREADS" >"$OUT/argon2-floor.json"
target/release/jwt-floor sign "$SECONDS_PER_RUN" "$THREADS" >"$OUT/jwt-sign-floor.json"
target/release/jwt-floor verify "$SECONDS_PER_RUN" "$THREADS" >"$OUT/jwt-verify-floor.json"
wrk -t"$THREADS" -c16 -d"${SECONDS_PER_RUN}s" --latency -s scripts/bench/login.lua "$base/user/login" >"$OUT/login.txt"
# The floor again right after: how far the machine drifted around the login run.
target/release/argon2-floor "$SECONDS_PER_RUN" "$THREADS" >"$OUT/argon2-floor-after.json"
wrk -t"$THREADS" -c64 -d"${SECONDS_PER_RUN}s" --latency -s scripts/bench/refresh.lua "$base/user/refresh" >"$OUT/refresh.txt"
wrk -t"$THREADS" -c64 -d"${SECONDS_PER_RUN}s" --latency -s scripts/bench/profile.lua "$base/user/profile" >"$OUT/profile.txt"

python3 - "$OUT" "$THREADS" <<'PY'
import json, re, sys
out, cores = sys.argv[1], int(sys.argv[2])
def wrk(name):
    text = open(f"{out}/{name}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rps, lat.get("50"), lat.get("99"), int(bad.group(1)) if bad else 0
floors = [json.load(open(f"{out}/{name}.json"))["per_second"]
          for name in ("argon2-floor", "argon2-floor-after")]
floor = sum(floors) / 2
sign = json.load(open(f"{out}/jwt-sign-floor.json"))
verify = json.load(open(f"{out}/jwt-verify-floor.json"))["per_second"]
alg, sign = sign["algorithm"], sign["per_second"]
rows = {name: wrk(name) for name in ("login", "refresh", "profile")}
print(f"| measure ({alg}) | per second | per core | p50 | p99 | non-2xx |")
print(f"|---|---|---|---|---|---|")
print(f"| bare argon2id verify (before and after the login run: {floors[0]:.1f}, {floors[1]:.1f}; their mean) | {floor:.1f} | {floor/cores:.1f} | | | |")
print(f"| bare {alg} token signing | {sign:.1f} | {sign/cores:.1f} | | | |")
print(f"| bare {alg} token verification | {verify:.1f} | {verify/cores:.1f} | | | |")
for name, (rps, p50, p99, bad) in rows.items():
    print(f"| {name} | {rps:.1f} | {rps/cores:.1f} | {p50} | {p99} | {bad} |")
login = rows["login"][0]
print()
print(f"login / bare argon2id verify = {login/floor:.3f} (target >= 0.9)")
print(f"logins per core = {login/cores:.1f} (target >= 30; Keycloak sizing guide: 15 per vCPU, ratio {login/cores/15:.1f}x)")
print(f"refresh / bare {alg} signing = {rows['refresh'][0]/sign:.3f} (target >= 0.9)")
print(f"refreshes per core = {rows['refresh'][0]/cores:.0f} (Keycloak: 120 per vCPU, ratio {rows['refresh'][0]/cores/120:.0f}x)")
print(f"profile / bare {alg} verification = {rows['profile'][0]/verify:.3f}")
print(f"profile reads per core = {rows['profile'][0]/cores:.0f}")
PY
