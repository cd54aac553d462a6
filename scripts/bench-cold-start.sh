#!/usr/bin/env bash
# Cold start, spawn to first response: every function's release binary and
# the two floors of bench/ (hello-lambda: lambda_http alone; dynamodb-lambda:
# a DynamoDB client built at init and one GetItem per request), each handed
# a real API Gateway HTTP API event by a stub Runtime API
# (scripts/bench_cold_start.py), against a table made by `accounts-admin
# table create` on moto_server. The signing keys come from moto's Secrets
# Manager as on AWS (KEYS=secrets, the default) or from a key file
# (KEYS=file). The HTTPS trust store is the system's as a process finds it
# with no SSL_CERT_* variables set (on Debian the bundle and the ~150
# per-certificate files of /etc/ssl/certs; on provided.al2023 the bundle),
# or the bundle file alone with TRUST=file (SSL_CERT_FILE); FLOOR_TRUST=webpki
# gives the DynamoDB floor roots compiled in instead. Prints a Markdown
# table; raw samples go to target/bench/.
#
# usage: [KEYS=file|secrets] [TRUST=system|file] [FLOOR_TRUST=webpki] \
#   scripts/bench-cold-start.sh [RUNS, default 30] [BINARY ...]
# (every function under functions/ and both floors when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-30}"
shift || true
KEYS="${KEYS:-secrets}"
OUT=target/bench
mkdir -p "$OUT"

functions=$(ls functions)
if [ $# -gt 0 ]; then
  # Only the named binaries, and the three the set-up calls (register, add
  # a member, log in); a binary@NAME=VALUE spec names its binary first.
  # (and, for mfa/verify-login, the two that turn TOTP on for its accounts)
  mfa=""
  case " $* " in *" post-mfa-verify-login "*) mfa="post-mfa-setup post-mfa-verify-setup" ;; esac
  # shellcheck disable=SC2086
  built=$(printf '%s\n' "${@%%@*}" post-user-register post-organization-users post-user-login $mfa \
    | grep -v -e '^hello-lambda$' -e '^dynamodb-lambda$' | sort -u)
else
  built=$functions
fi
# Two builds: the functions and the floors without the accounts crate's
# `embedded` feature, as they are deployed (one build would unify features
# and link SQLite into them); the operator tool, which needs it, apart.
# The floors are built at the release profile's opt-level ("z"), like the
# functions that wait on DynamoDB (scripts/bench-load.sh builds them at 3).
# shellcheck disable=SC2046
cargo build --release -q -p accounts-bench $(printf -- '-p %s ' $built)
# The operator tool, from the one debug build of scripts/build.sh (built
# alone it would resolve its features anew and compile most crates again).
scripts/build.sh -q

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
trap stop_moto EXIT
trap "exit 1" INT TERM
# moto logs each request's start and end (bench_cold_start.py takes its
# time out of first − warm in a column of its own).
export MOTO_SERVICE_LOG="$OUT/moto-service-cold.log"
rm -f "$MOTO_SERVICE_LOG"
start_moto "$OUT/moto_server.log"
# MOTO_CPUSET=/sys/fs/cgroup/cpuset/<group>: moto on other CPUs than the
# measured function (as DynamoDB is on other machines), run in a cpuset of
# its own CPU (BENCHMARKS.md, "Power tuning").
if [ -n "${MOTO_CPUSET:-}" ]; then echo "$MOTO_PID" >"$MOTO_CPUSET/cgroup.procs"; fi

unset SSL_CERT_FILE SSL_CERT_DIR
if [ "${TRUST:-system}" = file ]; then
  # openssl-probe's list, in its order: Debian's, then Amazon Linux's.
  for bundle in /etc/ssl/certs/ca-certificates.crt \
    /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem /etc/pki/tls/certs/ca-bundle.crt; do
    if [ -f "$bundle" ]; then export SSL_CERT_FILE="$bundle"; break; fi
  done
fi

# shellcheck source=scripts/bench-env.sh
. scripts/bench-env.sh
target/debug/accounts-admin table create >/dev/null
if [ "$KEYS" = file ]; then
  keys_dir=$(mktemp -d)
  target/debug/accounts-admin --data "$keys_dir" key rotate >/dev/null
  export JWT_KEYS_FILE="$keys_dir/jwt-keys.json"
else
  export JWT_PRIVATE_KEYS_SECRET=accounts-bench/private-keys
  export JWT_PUBLIC_KEYS_SECRET=accounts-bench/public-keys
  target/debug/accounts-admin key rotate >/dev/null
  # The MFA data key as the template keeps it (MFA_KEY_SECRET_NAME wins
  # over bench-env.sh's MFA_KEY).
  "${ACCOUNTS_VENV:-.venv}/bin/python" -c 'import boto3, os
boto3.client("secretsmanager", region_name="us-east-1",
    endpoint_url=os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"]).create_secret(
    Name="accounts-bench/mfa-key", SecretString=os.environ["MFA_KEY"])'
  export MFA_KEY_SECRET_NAME=accounts-bench/mfa-key
fi

if [ $# -eq 0 ]; then
  # shellcheck disable=SC2086
  set -- hello-lambda dynamodb-lambda $functions
fi
BENCH_OUT="$OUT" python3 scripts/bench_cold_start.py "$RUNS" target/release "$KEYS" "$@"
