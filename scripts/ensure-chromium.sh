#!/usr/bin/env bash
# Headless Chromium for the browser test (local/tests/browser.rs): Debian's
# `chromium` package, installed with apt when missing (as root, or through
# sudo), or the binary ACCOUNTS_CHROMIUM names. Prints the binary's path.
# Fails (exit 1) when there is none: the browser test must not skip.
set -euo pipefail

find_chromium() {
  command -v chromium || command -v chromium-browser || true
}

# A browser named by the caller is used as it is.
if [ -n "${ACCOUNTS_CHROMIUM:-}" ]; then
  if [ ! -x "$ACCOUNTS_CHROMIUM" ]; then
    echo "ensure-chromium: ACCOUNTS_CHROMIUM=$ACCOUNTS_CHROMIUM is not an executable" >&2
    exit 1
  fi
  echo "$ACCOUNTS_CHROMIUM"
  exit 0
fi

found="$(find_chromium)"
if [ -z "$found" ]; then
  echo "ensure-chromium: chromium is missing; installing Debian's chromium package with apt-get" >&2
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n)
  else
    echo "ensure-chromium: not root and no sudo: install the chromium package by hand" >&2
    exit 1
  fi
  started=$(date +%s)
  if ! { "${sudo[@]}" apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium; } >&2; then
    echo "ensure-chromium: apt-get could not install chromium" >&2
    exit 1
  fi
  echo "ensure-chromium: installed in $(( $(date +%s) - started )) s" >&2
  found="$(find_chromium)"
  if [ -z "$found" ]; then
    echo "ensure-chromium: chromium installed but not on PATH" >&2
    exit 1
  fi
fi
echo "$found"
