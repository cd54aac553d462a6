#!/usr/bin/env bash
# The whole test suite: unit tests, the store conformance suite and the
# endpoint tests, on the embedded store and on DynamoDB (moto_server, a real
# DynamoDB-compatible server, installed into a virtualenv and started here),
# and the browser tests (headless Chromium, installed with apt when missing).
# Extra arguments go to `cargo test`, which runs with --no-fail-fast so that
# one run reports every failing test binary, not only the first.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${ACCOUNTS_VENV:-.venv}"

if ! "$VENV/bin/moto_server" --help >/dev/null 2>&1; then
  echo "test.sh: installing moto[server] (scripts/moto-requirements.txt) into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/moto-requirements.txt
fi

# Headless Chromium for the browser tests (local/tests/browser.rs), installed
# with apt when missing; no browser, no test run.
if ! chromium=$(scripts/ensure-chromium.sh); then
  echo "test.sh: no headless Chromium for the browser tests (see above)" >&2
  exit 1
fi
export ACCOUNTS_CHROMIUM="$chromium"
echo "test.sh: $("$chromium" --version 2>/dev/null)" >&2

# The SAM translator, for the tests of what CloudFormation deploys
# (tests/transformed_template.rs runs scripts/transform-template.py with it).
ACCOUNTS_SAM_VENV="$(scripts/sam-venv.sh)"
export ACCOUNTS_SAM_VENV

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p target
# moto's server, one request at a time: plain moto_server runs requests on
# parallel threads without a lock, so its conditional writes and
# transactions race, where DynamoDB's are atomic (see the script).
"$VENV/bin/python" scripts/moto_serialized.py 127.0.0.1 "$port" >target/moto_server.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null; sleep 0.2; kill -9 "$moto_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/"; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "test.sh: moto_server exited; see target/moto_server.log" >&2
    cat target/moto_server.log >&2
    exit 1
  fi
  sleep 0.2
done
if ! curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/"; then
  echo "test.sh: moto_server did not answer on port $port within 20 s" >&2
  exit 1
fi
echo "test.sh: moto_server on 127.0.0.1:$port" >&2

export ACCOUNTS_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
# A JWT verifier that is not this service (tests/verifier): joserfc comes with moto.
ACCOUNTS_TEST_PYTHON="$(cd "$VENV" && pwd)/bin/python"
export ACCOUNTS_TEST_PYTHON
set +e
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' target/test-output.txt
exit "$status"
