#!/usr/bin/env bash
# The one debug build that CI and the scripts run on: every binary and every
# test target of the workspace, in one feature resolution (dev-dependencies
# included), so that `cargo test --workspace` afterwards compiles nothing and
# the binaries the scripts start (accounts-local, accounts-admin, the
# functions) are these artifacts. Building a package on its own (`cargo
# build -p X`, or `cargo run --bin X` as `cargo lambda watch` does) resolves
# features for X alone (tokio without `signal`, hyper without `server`, ...)
# and so compiles most dependencies a second time.
# Extra arguments go to `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins --tests "$@"
