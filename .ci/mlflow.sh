#!/usr/bin/env bash
# An MLflow tracking server as a real OTLP/HTTP receiver for the end-to-end tests (tests/e2e).
#
#   .ci/mlflow.sh install <venv-dir>            create the venv and pip install MLflow (idempotent)
#   .ci/mlflow.sh start <venv-dir> <workdir>    start `mlflow server` on a free loopback port
#   source <workdir>/mlflow.env                 exports LLMTRACE_MLFLOW_URL / LLMTRACE_MLFLOW_PYTHON
#   .ci/mlflow.sh stop <workdir>                stop it (SIGTERM to its process group, then SIGKILL)
#
# MLflow gets its own venv: it brings its own (pinned) OpenTelemetry, SQLAlchemy and much
# more, which must not leak into the environment llmtrace is tested in. The server uses its
# default SQLite backend store (MLflow accepts OTLP traces only with a SQL store), kept with
# the artifacts and the server log in <workdir>; on a failed start the log's tail is printed.
# Settings: PYTHON (interpreter for the venv, default python3), MLFLOW_SPEC (pip requirement,
# default the version the harness was verified with), MLFLOW_START_TIMEOUT (s, default 180).
set -euo pipefail

die() {
  echo "mlflow.sh: $*" >&2
  exit 1
}

has_mlflow() {
  [[ -x "$1/bin/mlflow" ]] &&
    "$1/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("mlflow") is None)' \
      2>/dev/null
}

install() {
  local venv=$1
  if has_mlflow "$venv"; then
    echo "mlflow.sh: MLflow already installed in $venv"
    return
  fi
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/pip" install -q --disable-pip-version-check "${MLFLOW_SPEC:-mlflow==3.17.2}"
  has_mlflow "$venv" || die "pip finished but mlflow is not importable in $venv"
  echo "mlflow.sh: installed $("$venv/bin/pip" show mlflow | sed -n 's/^Version: /mlflow /p')"
}

free_port() {
  "$1" - <<'PY'
import socket

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

healthy() {
  "$1" - "$2" <<'PY' 2>/dev/null
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as response:
    sys.exit(response.status != 200)
PY
}

# Start once on the given port. Returns 0 once healthy, 1 if the server exited (e.g. the port
# was taken meanwhile: worth another try), 2 if it was still not healthy after the timeout.
launch() {
  local venv=$1 workdir=$2 port=$3 timeout=$4
  local url="http://127.0.0.1:$port"
  mkdir -p "$workdir/artifacts"
  # setsid: the server forks workers; stop() signals the whole process group.
  (
    cd "$workdir"
    MLFLOW_TRACKING_URI='' PYTHONUNBUFFERED=1 exec setsid "$venv/bin/mlflow" server \
      --host 127.0.0.1 --port "$port" --workers 1 --default-artifact-root "$workdir/artifacts"
  ) </dev/null >>"$workdir/mlflow.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$workdir/mlflow.pid"
  local began=$SECONDS
  while ((SECONDS - began < timeout)); do
    if healthy "$venv/bin/python" "$url"; then
      cat >"$workdir/mlflow.env" <<ENV
export LLMTRACE_MLFLOW_URL=$url
export LLMTRACE_MLFLOW_PYTHON=$venv/bin/python
export LLMTRACE_MLFLOW_PID=$pid
ENV
      echo "mlflow.sh: MLflow (pid $pid) healthy after $((SECONDS - began)) s: $url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  stop "$workdir" >/dev/null
  return 2
}

start() {
  local venv=$1 workdir=$2 timeout=${MLFLOW_START_TIMEOUT:-180}
  has_mlflow "$venv" || die "no MLflow in $venv (run: $0 install $venv)"
  mkdir -p "$workdir"
  workdir=$(cd "$workdir" && pwd)
  if [[ -f "$workdir/mlflow.pid" ]] && kill -0 "$(cat "$workdir/mlflow.pid")" 2>/dev/null; then
    die "an MLflow started from $workdir is still running (pid $(cat "$workdir/mlflow.pid"))"
  fi
  rm -f "$workdir/mlflow.env"
  local attempt status
  for attempt in 1 2 3; do
    status=0
    launch "$venv" "$workdir" "$(free_port "$venv/bin/python")" "$timeout" || status=$?
    ((status == 0)) && return 0
    if ((status == 2)); then
      echo "mlflow.sh: not healthy after $timeout s" >&2
      break
    fi
    echo "mlflow.sh: MLflow exited during start (attempt $attempt)" >&2
  done
  echo "---- last lines of $workdir/mlflow.log" >&2
  tail -n 40 "$workdir/mlflow.log" >&2 || true
  die "MLflow did not become healthy"
}

stop() {
  local workdir=$1 pid
  [[ -f "$workdir/mlflow.pid" ]] || return 0
  pid=$(cat "$workdir/mlflow.pid")
  if kill -0 "$pid" 2>/dev/null; then
    # The server runs in its own session (setsid): its process group id is its pid.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local began=$SECONDS
    while kill -0 "$pid" 2>/dev/null && ((SECONDS - began < 30)); do
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "mlflow.sh: pid $pid ignored SIGTERM for 30 s; killing it" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$workdir/mlflow.pid" "$workdir/mlflow.env"
  echo "mlflow.sh: stopped MLflow (pid $pid)"
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
