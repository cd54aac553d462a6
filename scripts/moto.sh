# Sourced by the scripts that need a DynamoDB-compatible server:
# `start_moto LOG` installs moto[server] (scripts/moto-requirements.txt)
# into $ACCOUNTS_VENV (default .venv) if it is missing, starts it one
# request at a time (scripts/moto_serialized.py: plain moto_server runs
# requests on parallel threads without a lock, so its conditional writes and
# transactions race, where DynamoDB's are atomic), waits until it answers,
# and sets MOTO_PID and MOTO_ENDPOINT. The caller stops it with `stop_moto`
# (e.g. in its EXIT trap).

start_moto() {
  local log="$1"
  local venv="${ACCOUNTS_VENV:-.venv}"
  if ! "$venv/bin/moto_server" --help >/dev/null 2>&1; then
    echo "moto.sh: installing moto[server] (scripts/moto-requirements.txt) into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/moto-requirements.txt
  fi
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$(dirname "$log")"
  "$venv/bin/python" scripts/moto_serialized.py 127.0.0.1 "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$MOTO_ENDPOINT/moto-api/"; then
      echo "moto.sh: moto_server on 127.0.0.1:$port" >&2
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto.sh: moto_server exited; see $log" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "moto.sh: moto_server did not answer on port $port within 20 s" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null
    sleep 0.2
    kill -9 "$MOTO_PID" 2>/dev/null || true
  fi
}
