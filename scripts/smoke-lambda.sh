#!/usr/bin/env bash
# The real Lambda function binaries end to end: `cargo lambda watch` routes
# the paths of the root Cargo.toml's [workspace.metadata.lambda.watch.router]
# to the functions through its emulation of the Lambda runtime API (the same
# event path as on AWS: API Gateway HTTP API payload, lambda_http, the
# runtime loop), each function binary running against a DynamoDB table on
# moto_server, and scripts/smoke_lambda.py exercises every route and checks
# each status and body. Closes with `smoke: N passed, N failed`; fails on
# any failure or on an ERROR logged by a function.
#
# The function binaries are those of scripts/build.sh (the one debug build
# CI makes), started here: cargo lambda watch runs with --only-lambda-apis
# because left to itself it would `cargo run --bin` each function, which
# resolves features per function and compiles most dependencies again.
set -euo pipefail
cd "$(dirname "$0")/.."

LAMBDA_VENV="${ACCOUNTS_LAMBDA_VENV:-.venv-lambda}"
CARGO_LAMBDA_VERSION="$(sed -n 's/^cargo-lambda==//p' scripts/lambda-requirements.txt)"
if ! "$LAMBDA_VENV/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  echo "smoke-lambda.sh: installing cargo-lambda $CARGO_LAMBDA_VERSION (scripts/lambda-requirements.txt) into $LAMBDA_VENV" >&2
  python3 -m venv "$LAMBDA_VENV"
  "$LAMBDA_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/lambda-requirements.txt
fi

out=target/smoke
rm -rf "$out"
mkdir -p "$out"

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
watch_pid=""
provider_pid=""
function_pids=()
cleanup() {
  for pid in "${function_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -z "$provider_pid" ] || kill "$provider_pid" 2>/dev/null || true
  [ -z "$watch_pid" ] || kill "$watch_pid" 2>/dev/null || true
  stop_moto
}
trap cleanup EXIT
trap "exit 1" INT TERM
start_moto "$out/moto_server.log"

table="accounts-smoke"
region=us-east-1

# What every process here shares: moto for DynamoDB and Secrets Manager,
# and throwaway credentials (on AWS, the endpoint and the role's).
aws_env() {
  cat <<ENV
AWS_ENDPOINT_URL_DYNAMODB=$MOTO_ENDPOINT
AWS_ENDPOINT_URL_SECRETS_MANAGER=$MOTO_ENDPOINT
AWS_REGION=$region
AWS_ACCESS_KEY_ID=smoke
AWS_SECRET_ACCESS_KEY=smoke
ENV
}
# Each function's own environment is exactly what template.yaml gives it
# (scripts/template_env.py), the template's parameters at their defaults
# but for these: so a function that needs a setting the template does not
# give it (the private keys' secret, say) fails here. The signing keys are
# JWK sets in two secrets (made below with `accounts-admin key rotate`); on
# AWS only the signing functions are given the private secret's name.
# JWT_ISSUER is left unset (IssuerUrl empty): the issuer is then the API's
# own URL.
template_parameters=(
  "Table=$table"
  "PrivateKeysSecretName=accounts-smoke/private-keys"
  "PublicKeysSecretName=accounts-smoke/public-keys"
  "MfaKeySecretName=accounts-smoke/mfa-key"
  "JwtAlgorithm=RS256"
  "IssuerUrl="
)
# The operator tool's environment: both secrets (it writes them).
{
  aws_env
  echo "TABLE_NAME=$table"
  echo "JWT_PRIVATE_KEYS_SECRET=accounts-smoke/private-keys"
  echo "JWT_PUBLIC_KEYS_SECRET=accounts-smoke/public-keys"
  echo "JWT_ALGORITHM=RS256"
} >"$out/admin.env"

scripts/build.sh -q

# The tests' local identity provider (Google, Microsoft, GitHub), for the
# social functions: the template's provider parameters point at it, and
# each code flow's client secret is a Secrets Manager secret of its own
# (made below), which the template names to that function only.
target/debug/fake-provider >"$out/provider.env" 2>"$out/provider.log" &
provider_pid=$!
for _ in $(seq 1 100); do
  grep -q '^FAKE_PROVIDER_URL=' "$out/provider.env" && break
  sleep 0.1
done
setting() { sed -n "s/^$1=//p" "$out/provider.env"; }
fake_provider=$(setting FAKE_PROVIDER_URL)
[ -n "$fake_provider" ] || { echo "smoke-lambda.sh: fake-provider did not start" >&2; exit 1; }
client_secret=$(setting GITHUB_CLIENT_SECRET)
template_parameters+=(
  "GoogleClientId=$(setting GOOGLE_CLIENT_ID)" "GoogleIssuer=$(setting GOOGLE_ISSUER)"
  "MicrosoftClientId=$(setting MICROSOFT_CLIENT_ID)" "MicrosoftIssuer=$(setting MICROSOFT_ISSUER)"
  "GithubClientId=$(setting GITHUB_CLIENT_ID)" "GithubUrl=$(setting GITHUB_URL)"
  "GithubApiUrl=$(setting GITHUB_API_URL)"
  "GoogleClientSecretName=accounts-smoke/google-client-secret"
  "MicrosoftClientSecretName=accounts-smoke/microsoft-client-secret"
  "GithubClientSecretName=accounts-smoke/github-client-secret"
)

# The table and the signing keys, made with the operator tool (same AWS
# settings as the functions).
(
  set -a
  . "$out/admin.env"
  set +a
  target/debug/accounts-admin table create
  target/debug/accounts-admin key rotate
  # Each code flow's client secret, a secret of its own (moto takes
  # unsigned requests).
  for provider in google microsoft github; do
    curl -sf -o /dev/null "$MOTO_ENDPOINT" \
      -H 'X-Amz-Target: secretsmanager.CreateSecret' \
      -H 'Content-Type: application/x-amz-json-1.1' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=smoke/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0' \
      -d "{\"Name\": \"accounts-smoke/$provider-client-secret\", \"SecretString\": \"$client_secret\"}"
  done
  # The MFA data key: 32 random bytes, base64, in its own secret.
  python3 - "$MOTO_ENDPOINT" <<'PY'
import base64, json, os, sys, urllib.request
body = {"Name": "accounts-smoke/mfa-key", "SecretString": base64.b64encode(os.urandom(32)).decode()}
request = urllib.request.Request(sys.argv[1], data=json.dumps(body).encode(), method="POST", headers={
    "X-Amz-Target": "secretsmanager.CreateSecret", "Content-Type": "application/x-amz-json-1.1",
    "Authorization": "AWS4-HMAC-SHA256 Credential=smoke/20260101/us-east-1/secretsmanager/aws4_request, "
                     "SignedHeaders=host, Signature=0"})
urllib.request.urlopen(request, timeout=10).read()
PY
)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
started=$(date +%s.%N)
# --timeout: an invocation no function takes (an unknown route goes to
# cargo lambda's default function, which nothing serves here) ends in a 408.
"$LAMBDA_VENV/bin/cargo-lambda" lambda watch --only-lambda-apis --timeout 10 \
  --invoke-address 127.0.0.1 --invoke-port "$port" \
  >"$out/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 100); do
  # Any HTTP request would wait for a function: just connect.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  if ! kill -0 "$watch_pid" 2>/dev/null; then
    echo "smoke-lambda.sh: cargo lambda watch exited; see $out/watch.log" >&2
    cat "$out/watch.log" >&2
    exit 1
  fi
  sleep 0.1
done

# Every function of the router, each polling its own runtime API queue, as
# cargo lambda watch would start it.
functions=$(python3 -c '
import tomllib
router = tomllib.load(open("Cargo.toml", "rb"))["workspace"]["metadata"]["lambda"]["watch"]["router"]
print(" ".join(sorted({route["function"] for routes in router.values() for route in routes})))')
mkdir -p "$out/functions" "$out/env"
for function in $functions; do
  {
    aws_env
    python3 scripts/template_env.py "$function" "${template_parameters[@]}"
  } >"$out/env/$function.env"
done
# A code flow whose provider is enabled but whose client secret is not
# named refuses to start, saying which setting is missing.
refused=0
(
  set -a
  . "$out/env/post-auth-github.env"
  set +a
  unset GITHUB_CLIENT_SECRET_NAME
  ! timeout 30 target/debug/post-auth-github >"$out/no-secret.log" 2>&1 &&
    grep -q 'refusing to start.*GITHUB_CLIENT_SECRET_NAME' "$out/no-secret.log"
) || refused=1
if [ "$refused" = 1 ]; then
  echo "smoke-lambda.sh: post-auth-github without its client secret did not refuse to start" >&2
  cat "$out/no-secret.log" >&2
else
  echo "smoke-lambda.sh: post-auth-github without its client secret refuses to start" >&2
fi
for function in $functions; do
  (
    set -a
    . "$out/env/$function.env"
    set +a
    export AWS_LAMBDA_FUNCTION_NAME="$function" AWS_LAMBDA_FUNCTION_VERSION=1 \
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 \
      AWS_LAMBDA_RUNTIME_API="$base/.rt/$function"
    exec "target/debug/$function"
  ) >"$out/functions/$function.log" 2>&1 &
  function_pids+=("$!")
done
echo "smoke-lambda.sh: cargo lambda watch on $base, $(wc -w <<<"$functions") functions" >&2

set +e
# The table too: an invited member's link is read from its outbox record,
# as a person would click it in the mail (no mailer runs here).
SMOKE_DYNAMODB_ENDPOINT=$MOTO_ENDPOINT SMOKE_TABLE=$table SMOKE_FAKE_PROVIDER=$fake_provider \
  python3 scripts/smoke_lambda.py "$base" | tee "$out/smoke.txt"
status=${PIPESTATUS[0]}
set -e
for function in $functions; do
  if grep -q '"level":"ERROR"' "$out/functions/$function.log"; then
    echo "smoke-lambda.sh: $function logged an error:" >&2
    grep '"level":"ERROR"' "$out/functions/$function.log" | head -5 >&2
    status=1
  fi
done
[ "$refused" = 0 ] || status=1
echo "smoke-lambda.sh: $(python3 -c "import time; print(f'{time.time() - $started:.1f}')") s from starting cargo lambda watch" >&2
exit "$status"
