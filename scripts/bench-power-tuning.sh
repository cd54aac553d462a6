#!/usr/bin/env bash
# The power-tuning sweep (scripts/bench_power_tuning.py): the functions'
# release binaries at each memory size, each process held to the CPU share
# Lambda gives that size by a cgroup v1 CPU quota, against a table on
# moto_server made by `accounts-admin table create`, the signing keys in
# moto's Secrets Manager as on AWS. Needs root (the cgroup). Prints Markdown
# tables (raw samples in target/bench/power-tuning.json).
#
# usage: [SIZES=128,256,512,1024,1769,3008] [WARM=20] [BUILD=0] [MOTO_CPUSET=...] \
#   scripts/bench-power-tuning.sh [RUNS, default 5] [BINARY ...]
# (the functions listed below when none is named)
#
# The measured process and moto run at the highest priority (nice -20):
# on a machine busy with other work the quota is then what limits the
# process, not the other work. Better still, run the script in a cpuset of
# its own CPU with everything else moved off it (BENCHMARKS.md, "Power
# tuning"): a CPU share cannot be had on a CPU others are using.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
shift || true
SIZES="${SIZES:-128,256,512,1024,1769,3008}"
WARM="${WARM:-20}"
OUT=target/bench
mkdir -p "$OUT"
if [ $# -eq 0 ]; then
  set -- get-jwks get-openid-configuration default-route get-health get-user-profile \
    get-user get-user-quota get-organization-users get-sessions put-user put-user-role \
    post-organization-users post-user-login post-user-refresh post-user-register \
    post-mfa-verify-login
fi
# The set-up calls register, add a member and log in (and turns TOTP on for
# mfa/verify-login's accounts).
built=$(printf '%s\n' "$@" post-user-register post-organization-users post-user-login \
  post-mfa-setup post-mfa-verify-setup | sort -u)
# BUILD=0: the release binaries already in target/release, as they are.
if [ "${BUILD:-1}" != 0 ]; then
  # shellcheck disable=SC2046
  cargo build --release -q $(printf -- '-p %s ' $built)
fi
# The operator tool, from the one debug build of scripts/build.sh (built
# alone it would resolve its features anew and compile most crates again).
scripts/build.sh -q

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
trap stop_moto EXIT
trap "exit 1" INT TERM
# moto logs each request's start and end: its time is taken out of the
# functions' (bench_power_tuning.py).
export MOTO_SERVICE_LOG="$OUT/moto-service.log"
rm -f "$MOTO_SERVICE_LOG"
start_moto "$OUT/moto_server.log"
# MOTO_CPUSET=/sys/fs/cgroup/cpuset/<group>: moto on other CPUs than the
# measured function (as DynamoDB is on other machines), run in a cpuset of
# its own CPU (BENCHMARKS.md, "Power tuning").
if [ -n "${MOTO_CPUSET:-}" ]; then echo "$MOTO_PID" >"$MOTO_CPUSET/cgroup.procs"; fi
renice -n -20 -p "$MOTO_PID" >/dev/null

# shellcheck source=scripts/bench-env.sh
. scripts/bench-env.sh
export JWT_PRIVATE_KEYS_SECRET=accounts-bench/private-keys
export JWT_PUBLIC_KEYS_SECRET=accounts-bench/public-keys
target/debug/accounts-admin table create >/dev/null
target/debug/accounts-admin key rotate >/dev/null

BENCH_OUT="$OUT" PYTHONPATH=scripts nice -n -20 \
  python3 scripts/bench_power_tuning.py "$RUNS" "$WARM" target/release "$SIZES" "$@"
