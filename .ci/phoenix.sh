#!/usr/bin/env bash
# Arize Phoenix as a real OTLP receiver for the end-to-end tests (tests/e2e), without Docker.
#
#   .ci/phoenix.sh install <venv-dir>            create the venv and pip install Phoenix (idempotent)
#   .ci/phoenix.sh start <venv-dir> <workdir>    start it on free loopback ports, wait for /healthz
#   source <workdir>/phoenix.env                 exports LLMTRACE_PHOENIX_URL / LLMTRACE_PHOENIX_GRPC
#   .ci/phoenix.sh stop <workdir>                stop it (SIGTERM, then SIGKILL after 30 s)
#
# Phoenix gets its own venv because it pulls in openai and much more, which must not leak
# into the environment llmtrace is tested in. Settings: PYTHON (interpreter for the venv,
# default python3), PHOENIX_SPEC (pip requirement, default the version the harness was
# verified with), PHOENIX_START_TIMEOUT (seconds, default 180). The data (SQLite) and the
# server log live in <workdir>; on a failed start the log's tail is printed.
set -euo pipefail

die() {
  echo "phoenix.sh: $*" >&2
  exit 1
}

has_phoenix() {
  [[ -x "$1/bin/python" ]] &&
    "$1/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("phoenix") is None)' \
      2>/dev/null
}

install() {
  local venv=$1
  if has_phoenix "$venv"; then
    echo "phoenix.sh: Phoenix already installed in $venv"
    return
  fi
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/pip" install -q --disable-pip-version-check "${PHOENIX_SPEC:-arize-phoenix==20.26.1}"
  has_phoenix "$venv" || die "pip finished but phoenix is not importable in $venv"
  echo "phoenix.sh: installed $("$venv/bin/pip" show arize-phoenix | sed -n 's/^Version: /arize-phoenix /p')"
}

# Two distinct TCP ports free on every interface (Phoenix's gRPC server binds all of them).
free_ports() {
  "$1" - <<'EOF'
import socket

sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("", 0))
print(*(s.getsockname()[1] for s in sockets))
for s in sockets:
    s.close()
EOF
}

healthy() {
  "$1" - "$2" <<'EOF' 2>/dev/null
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=2) as response:
    sys.exit(response.status != 200)
EOF
}

# Start once on the given ports. Returns 0 once healthy, 1 if the server exited (e.g. a port
# was taken meanwhile: worth another try), 2 if it was still not healthy after the timeout.
launch() {
  local venv=$1 workdir=$2 http_port=$3 grpc_port=$4 timeout=$5
  local python="$venv/bin/python" url="http://127.0.0.1:$http_port"
  mkdir -p "$workdir/data"
  PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=$http_port PHOENIX_GRPC_PORT=$grpc_port \
    PHOENIX_WORKING_DIR="$workdir/data" PHOENIX_TELEMETRY_ENABLED=false PYTHONUNBUFFERED=1 \
    nohup "$python" -m phoenix.server.main serve </dev/null >>"$workdir/phoenix.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$workdir/phoenix.pid"
  local began=$SECONDS
  while ((SECONDS - began < timeout)); do
    if healthy "$python" "$url"; then
      cat >"$workdir/phoenix.env" <<EOF
export LLMTRACE_PHOENIX_URL=$url
export LLMTRACE_PHOENIX_GRPC=http://127.0.0.1:$grpc_port
export LLMTRACE_PHOENIX_PID=$pid
EOF
      echo "phoenix.sh: Phoenix (pid $pid) healthy after $((SECONDS - began)) s:" \
        "OTLP/HTTP $url, OTLP/gRPC http://127.0.0.1:$grpc_port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  stop "$workdir" >/dev/null
  return 2
}

start() {
  local venv=$1 workdir=$2 timeout=${PHOENIX_START_TIMEOUT:-180}
  has_phoenix "$venv" || die "no Phoenix in $venv (run: $0 install $venv)"
  mkdir -p "$workdir"
  workdir=$(cd "$workdir" && pwd)
  if [[ -f "$workdir/phoenix.pid" ]] && kill -0 "$(cat "$workdir/phoenix.pid")" 2>/dev/null; then
    die "a Phoenix started from $workdir is still running (pid $(cat "$workdir/phoenix.pid"))"
  fi
  rm -f "$workdir/phoenix.env"
  local attempt ports status
  for attempt in 1 2 3; do
    ports=$(free_ports "$venv/bin/python")
    status=0
    # shellcheck disable=SC2086 # two words on purpose
    launch "$venv" "$workdir" $ports "$timeout" || status=$?
    ((status == 0)) && return 0
    if ((status == 2)); then
      echo "phoenix.sh: not healthy after $timeout s" >&2
      break
    fi
    echo "phoenix.sh: Phoenix exited during start (attempt $attempt)" >&2
  done
  echo "---- last lines of $workdir/phoenix.log" >&2
  tail -n 40 "$workdir/phoenix.log" >&2 || true
  die "Phoenix did not become healthy"
}

stop() {
  local workdir=$1 pid
  [[ -f "$workdir/phoenix.pid" ]] || return 0
  pid=$(cat "$workdir/phoenix.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local began=$SECONDS
    while kill -0 "$pid" 2>/dev/null && ((SECONDS - began < 30)); do
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "phoenix.sh: pid $pid ignored SIGTERM for 30 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$workdir/phoenix.pid" "$workdir/phoenix.env"
  echo "phoenix.sh: stopped Phoenix (pid $pid)"
}

case "${1:-}" in
install)
  [[ $# -eq 2 ]] || die "usage: $0 install <venv-dir>"
  install "$2"
  ;;
start)
  [[ $# -eq 3 ]] || die "usage: $0 start <venv-dir> <workdir>"
  start "$2" "$3"
  ;;
stop)
  [[ $# -eq 2 ]] || die "usage: $0 stop <workdir>"
  stop "$2"
  ;;
*)
  die "usage: $0 install <venv-dir> | start <venv-dir> <workdir> | stop <workdir>"
  ;;
esac
