#!/usr/bin/env bash
# Property-based fuzzing of accounts-local from openapi.yaml with
# schemathesis: every operation, with a real bearer token, checking that no
# response is a 5xx, that every response matches its documented schema and
# status codes, and prints how many cases ran. Fails on any finding.
#
# Two runs: on the embedded store (in memory), then on DynamoDB (a table on
# moto_server, started as scripts/test.sh does), since each store refuses
# different inputs (DynamoDB: key sizes, nesting depth, number range, ...)
# and both must answer them with a 4xx.
#
# usage: scripts/fuzz.sh [MAX_EXAMPLES per operation, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXAMPLES="${1:-100}"
VENV="${FUZZ_VENV:-.venv-fuzz}"
SCHEMATHESIS_VERSION="4.32.5"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "fuzz.sh: installing schemathesis==$SCHEMATHESIS_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
server=""
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  stop_moto
}
trap cleanup EXIT

scripts/build.sh -q
rm -rf target/fuzz
mkdir -p target/fuzz

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fuzz_as BASE OUT EMAIL FILTERS...: registers EMAIL (an owner: the highest
# role, so that authorized paths are reached too) and fuzzes the operations
# FILTERS select with its token. Its callers run it under `||`, which turns
# `set -e` off inside it: every step checks its own outcome. Without a
# working token every protected call would answer a documented 401 and the
# run would pass having fuzzed nothing behind the session check, so the
# token is proven first (GET /user/profile answers 200 with it).
fuzz_as() {
  local base="$1" out="$2" email="$3" token reply
  shift 3
  if ! reply=$(curl -sS --fail-with-body -X POST "$base/user/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"Secure-pass-123\",\"firstName\":\"Fuzz\",\"lastName\":\"Er\",\"companyName\":\"Acme\",\"isBusiness\":true}"); then
    echo "fuzz.sh: registering $email failed: $reply" >&2
    return 1
  fi
  if ! token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])' <<<"$reply") || [ -z "$token" ]; then
    echo "fuzz.sh: no access token for $email in: $reply" >&2
    return 1
  fi
  if ! curl -sS --fail -o /dev/null "$base/user/profile" -H "Authorization: Bearer $token"; then
    echo "fuzz.sh: the token of $email is refused by GET /user/profile" >&2
    return 1
  fi
  "$VENV/bin/schemathesis" run openapi.yaml "$@" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "$MAX_EXAMPLES" \
    --phases examples,coverage,fuzzing \
    --seed 20261127 \
    --generation-database none \
    --workers 2 \
    --no-color \
    --report ndjson --report-dir "$out/$email" 2>&1 | tee -a "$out/run.txt"
  return "${PIPESTATUS[0]}"
}

# fuzz_server NAME ARGS...: starts accounts-local with ARGS, fuzzes it,
# stops it; its findings and log are under target/fuzz/NAME.
fuzz_server() {
  local name="$1"
  shift
  local out="target/fuzz/$name" port base status cases
  mkdir -p "$out"
  port=$(free_port)
  base="http://127.0.0.1:$port"
  RUST_LOG=warn target/debug/accounts-local "$@" --addr "127.0.0.1:$port" >"$out/server.log" 2>&1 &
  server=$!
  # Up when it answers /health (200: its store answers too); a server that
  # exited or never answered fails the run instead of fuzzing nothing.
  local up=""
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null --fail "$base/health"; then up=1; break; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$up" ]; then
    echo "fuzz.sh: $name: accounts-local did not start (answer /health within 10 s); its log:" >&2
    cat "$out/server.log" >&2
    kill "$server" 2>/dev/null || true
    server=""
    return 1
  fi

  # The operations that end the caller's session (ending one by id: the
  # fuzzer learns the caller's session id from GET /sessions; ending all;
  # deactivation) would leave the rest of the run with a dead token: each
  # gets a run of its own, after the others, with a caller of its own.
  local enders=(post-sessions-revoke delete-token post-sessions-revoke-all post-user-deactivate)
  local others=() op
  for op in "${enders[@]}"; do others+=(--exclude-operation-id "$op"); done
  status=0
  fuzz_as "$base" "$out" fuzz@acme.com "${others[@]}" || status=1
  for op in "${enders[@]}"; do
    fuzz_as "$base" "$out" "$op@acme.com" --include-operation-id "$op" || status=1
  done
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""

  cases=$(python3 - "$out" <<'PY'
import glob, json, sys
cases = 0
for path in glob.glob(f"{sys.argv[1]}/*/*.ndjson"):
    for line in open(path):
        event = json.loads(line)
        if "ScenarioFinished" in event:
            cases += len(event["ScenarioFinished"].get("recorder", {}).get("cases", {}) or {})
print(cases)
PY
)
  if grep -q '"level":"ERROR"' "$out/server.log"; then
    echo "fuzz.sh: $name: the server logged an error:" >&2
    grep '"level":"ERROR"' "$out/server.log" | head -5 >&2
    status=1
  fi
  if [ "$cases" -eq 0 ]; then
    echo "fuzz.sh: $name: no case ran" >&2
    status=1
  fi
  echo "fuzz.sh: $name: $cases generated cases run, $([ "$status" = 0 ] && echo ok || echo FAILED)"
  return "$status"
}

failed=0
fuzz_server embedded --memory || failed=1

start_moto target/fuzz/moto_server.log
# The AWS configuration both binaries read: moto, with fake credentials.
export AWS_ENDPOINT_URL_DYNAMODB="$MOTO_ENDPOINT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=fuzz AWS_SECRET_ACCESS_KEY=fuzz
table="accounts-fuzz"
target/debug/accounts-admin --dynamodb-table "$table" table create
fuzz_server dynamodb --dynamodb-table "$table" || failed=1

exit "$failed"
