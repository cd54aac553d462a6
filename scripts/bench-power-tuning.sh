#!/usr/bin/env bash
# The power-tuning sweep (scripts/bench_power_tuning.py): the functions'
# release binaries at each memory size, each process held to the CPU share
# Lambda gives that size by a cgroup v1 CPU quota, against a table on
# moto_server made by `accounts-admin table create`, the signing keys in
# moto's Secrets Manager as on AWS. Needs root (the cgroup). Prints Markdown
# tables (raw samples in target/bench/power-tuning.json).
#
# usage: [SIZES=128,256,512,1024,1769,3008] [WARM=20] \
#   scripts/bench-power-tuning.sh [RUNS, default 5] [BINARY ...]
# (the functions of bench_power_tuning.py's DYNAMODB_UNITS when none is named)
#
# The measured process and moto run at the highest priority (nice -20):
# on a machine busy with other work the quota is then what limits the
# process, not the other work.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
shift || true
SIZES="${SIZES:-128,256,512,1024,1769,3008}"
WARM="${WARM:-20}"
OUT=target/bench
mkdir -p "$OUT"
if [ $# -eq 0 ]; then
  set -- get-jwks get-user-profile get-organization-users post-user-refresh \
    post-user-login post-user-register
fi
# The set-up calls register, add a member and log in.
built=$(printf '%s\n' "$@" post-user-register post-organization-users post-user-login | sort -u)
# shellcheck disable=SC2046
cargo build --release -q $(printf -- '-p %s ' $built)
cargo build -q -p accounts-admin

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
trap stop_moto EXIT
trap "exit 1" INT TERM
start_moto "$OUT/moto_server.log"
renice -n -20 -p "$MOTO_PID" >/dev/null

# shellcheck source=scripts/bench-env.sh
. scripts/bench-env.sh
export JWT_PRIVATE_KEYS_SECRET=accounts-bench/private-keys
export JWT_PUBLIC_KEYS_SECRET=accounts-bench/public-keys
target/debug/accounts-admin table create >/dev/null
target/debug/accounts-admin key rotate >/dev/null

BENCH_OUT="$OUT" PYTHONPATH=scripts nice -n -20 \
  python3 scripts/bench_power_tuning.py "$RUNS" "$WARM" target/release "$SIZES" "$@"
