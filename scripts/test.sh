#!/usr/bin/env bash
# The whole test suite: unit tests, the store conformance suite and the
# endpoint tests, on the embedded store and on DynamoDB (moto_server, a real
# DynamoDB-compatible server, installed into a virtualenv and started here),
# and the browser tests (headless Chromium, installed with apt when missing).
# Extra arguments go to `cargo test`, which runs with --no-fail-fast so that
# one run reports every failing test binary, not only the first.
set -euo pipefail
cd "$(dirname "$0")/.."

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

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
trap stop_moto EXIT
start_moto target/moto_server.log

export ACCOUNTS_TEST_DYNAMODB_ENDPOINT="$MOTO_ENDPOINT"
# A JWT verifier that is not this service (tests/verifier): joserfc comes with moto.
ACCOUNTS_TEST_PYTHON="$(cd "${ACCOUNTS_VENV:-.venv}" && pwd)/bin/python"
export ACCOUNTS_TEST_PYTHON
set +e
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' target/test-output.txt
exit "$status"
