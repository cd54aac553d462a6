#!/usr/bin/env bash
# Property-based fuzzing of accounts-local from openapi.yaml with
# schemathesis: every operation, with a real bearer token, checking that no
# response is a 5xx, that every response matches its documented schema and
# status codes, and prints how many cases ran. Fails on any finding.
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

cargo build -q -p accounts-local
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
mkdir -p target/fuzz
RUST_LOG=warn target/debug/accounts-local --memory --addr "127.0.0.1:$port" >target/fuzz/server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$base/" && break; sleep 0.1; done

# A caller with the highest role, so that authorized paths are reached too.
token=$(curl -s -X POST "$base/user/register" -H 'content-type: application/json' \
  -d '{"email":"fuzz@acme.com","password":"Secure-pass-123","firstName":"Fuzz","lastName":"Er","companyName":"Acme","isBusiness":true}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')

"$VENV/bin/schemathesis" run openapi.yaml \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --phases examples,coverage,fuzzing \
  --seed 20261127 \
  --generation-database none \
  --workers 2 \
  --no-color \
  --report ndjson --report-dir target/fuzz 2>&1 | tee target/fuzz/run.txt
status=${PIPESTATUS[0]}

python3 - target/fuzz <<'PY'
import glob, json, sys
cases = 0
for path in glob.glob(f"{sys.argv[1]}/*.ndjson"):
    for line in open(path):
        event = json.loads(line)
        if "ScenarioFinished" in event:
            cases += len(event["ScenarioFinished"].get("recorder", {}).get("cases", {}) or {})
print(f"fuzz.sh: {cases} generated cases run")
PY
if grep -q '"level":"ERROR"' target/fuzz/server.log; then
  echo "fuzz.sh: the server logged an error:" >&2
  grep '"level":"ERROR"' target/fuzz/server.log | head -5 >&2
  exit 1
fi
exit "$status"
