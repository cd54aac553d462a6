#!/usr/bin/env bash
# Makes sure the pinned AWS SAM tooling (scripts/sam-requirements.txt:
# aws-sam-cli with aws-sam-translator and cfn-lint) is installed in a
# virtualenv, installing it on first use, and prints the virtualenv's path.
# ACCOUNTS_SAM_VENV picks the virtualenv (default .venv-sam).
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_VENV="${ACCOUNTS_SAM_VENV:-.venv-sam}"
SAM_VERSION="$(sed -n 's/^aws-sam-cli==//p' scripts/sam-requirements.txt)"
if [ "$(SAM_CLI_TELEMETRY=0 "$SAM_VENV/bin/sam" --version 2>/dev/null)" != "SAM CLI, version $SAM_VERSION" ]; then
  echo "sam-venv: installing aws-sam-cli $SAM_VERSION (scripts/sam-requirements.txt) into $SAM_VENV" >&2
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/sam-requirements.txt
fi
(cd "$SAM_VENV" && pwd)
