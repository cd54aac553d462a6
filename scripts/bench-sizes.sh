#!/usr/bin/env bash
# Release binary size of every function as deployed (x86_64, stripped),
# against the limits of BENCHMARKS.md "Binary sizes": 8 MiB, and
# 11 MiB for the functions that hash or check passwords (built at
# opt-level 3 for argon2, Cargo.toml). Prints a Markdown table; exits 1 if
# one is over its limit.
#
# usage: scripts/bench-sizes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
functions=$(ls functions)
# Built as `sam build` builds them, one package's features at a time: every
# function but the mailer asks the same of the accounts crate, so they are
# built together; the mailer (feature `mailer`: SES, stream events) alone.
# Built together with accounts-local, accounts-admin or the tests, features
# would unify and link SQLite in; with the mailer, SES.
# shellcheck disable=SC2046
cargo build --release -q $(printf -- '-p %s ' $(echo "$functions" | grep -vx mailer))
cargo build --release -q -p mailer

# The functions whose request runs argon2id (register, login, a member
# made with a password, a password change, a reset, an invited member's
# first password at verify-email).
password="post-user-register post-user-login post-organization-users put-user
post-user-reset-password post-user-verify-email"
python3 - "$password" $functions <<'PY'
import os, sys
password = set(sys.argv[1].split())
MIB = 1024 * 1024
over = 0
print("| function | bytes | MiB | argon2 | limit MiB | within |")
print("|---|---:|---:|---|---:|---|")
for name in sys.argv[2:]:
    size = os.path.getsize(f"target/release/{name}")
    limit = 11 if name in password else 8
    ok = size <= limit * MIB
    over += not ok
    print(f"| `{name}` | {size:,} | {size / MIB:.2f} | {'yes' if name in password else ''} "
          f"| {limit} | {'yes' if ok else '**no**'} |")
sys.exit(1 if over else 0)
PY
