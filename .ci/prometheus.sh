#!/usr/bin/env bash
# A real Prometheus for the metrics tests (tests/metrics), without Docker or systemd.
#
#   .ci/prometheus.sh install              apt-get install Debian's prometheus (has promtool)
#   .ci/prometheus.sh start <workdir>      start it on a free loopback port, wait until ready
#   source <workdir>/prometheus.env        exports LLMTRACE_PROMETHEUS_URL / _TARGETS / _PID
#   .ci/prometheus.sh stop <workdir>       stop it (SIGTERM, then SIGKILL after 30 s)
#
# The server scrapes every target listed in <workdir>/targets/*.json (Prometheus file
# service discovery: a test writes {"targets": ["127.0.0.1:<port>"], "labels": {...}}
# there) every second, and loads the alerting rules of examples/prometheus/alerts.yml,
# evaluated every second. Its data and log live in <workdir>; the Debian package's own
# systemd service is never used. Settings: PROMETHEUS_BIN (default: prometheus on PATH),
# PROMETHEUS_START_TIMEOUT (seconds, default 60).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

die() {
  echo "prometheus.sh: $*" >&2
  exit 1
}

binary() {
  local bin=${PROMETHEUS_BIN:-$(command -v prometheus || true)}
  [[ -n "$bin" && -x "$bin" ]] || return 1
  echo "$bin"
}

install() {
  if binary >/dev/null; then
    echo "prometheus.sh: $("$(binary)" --version 2>&1 | head -n 1) already installed"
    return
  fi
  local sudo=""
  ((EUID == 0)) || sudo=sudo
  # policy-rc.d keeps the package's service from starting where that is possible.
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus \
    >/dev/null
  binary >/dev/null || die "apt-get finished but there is no prometheus binary"
  echo "prometheus.sh: installed $("$(binary)" --version 2>&1 | head -n 1)"
}

free_port() {
  python3 - <<'EOF'
import socket

s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

ready() {
  python3 - "$1" <<'EOF' 2>/dev/null
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1] + "/-/ready", timeout=2) as response:
    sys.exit(response.status != 200)
EOF
}

write_config() {
  local workdir=$1
  cat >"$workdir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $root/examples/prometheus/alerts.yml
scrape_configs:
  - job_name: llmtrace-tests
    file_sd_configs:
      - files: ["$workdir/targets/*.json"]
        refresh_interval: 1s
EOF
}

# Start once on the given port. 0 once ready, 1 if the server exited (the port was taken
# meanwhile: worth another try), 2 if it was still not ready after the timeout.
launch() {
  local bin=$1 workdir=$2 port=$3 timeout=$4 url="http://127.0.0.1:$3"
  nohup "$bin" --config.file="$workdir/prometheus.yml" --storage.tsdb.path="$workdir/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn \
    </dev/null >>"$workdir/prometheus.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$workdir/prometheus.pid"
  local began=$SECONDS
  while ((SECONDS - began < timeout)); do
    if ready "$url"; then
      cat >"$workdir/prometheus.env" <<EOF
export LLMTRACE_PROMETHEUS_URL=$url
export LLMTRACE_PROMETHEUS_TARGETS=$workdir/targets
export LLMTRACE_PROMETHEUS_PID=$pid
EOF
      echo "prometheus.sh: Prometheus (pid $pid) ready at $url after $((SECONDS - began)) s"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  stop "$workdir" >/dev/null
  return 2
}

start() {
  local workdir=$1 timeout=${PROMETHEUS_START_TIMEOUT:-60} bin
  bin=$(binary) || die "no prometheus binary (run: $0 install, or set PROMETHEUS_BIN)"
  mkdir -p "$workdir"
  workdir=$(cd "$workdir" && pwd)
  if [[ -f "$workdir/prometheus.pid" ]] && kill -0 "$(cat "$workdir/prometheus.pid")" 2>/dev/null; then
    die "a Prometheus started from $workdir is still running (pid $(cat "$workdir/prometheus.pid"))"
  fi
  rm -f "$workdir/prometheus.env"
  mkdir -p "$workdir/targets" "$workdir/data"
  write_config "$workdir"
  local attempt status
  for attempt in 1 2 3; do
    status=0
    launch "$bin" "$workdir" "$(free_port)" "$timeout" || status=$?
    ((status == 0)) && return 0
    if ((status == 2)); then
      echo "prometheus.sh: not ready after $timeout s" >&2
      break
    fi
    echo "prometheus.sh: Prometheus exited during start (attempt $attempt)" >&2
  done
  echo "---- last lines of $workdir/prometheus.log" >&2
  tail -n 40 "$workdir/prometheus.log" >&2 || true
  die "Prometheus did not become ready"
}

stop() {
  local workdir=$1 pid
  [[ -f "$workdir/prometheus.pid" ]] || return 0
  pid=$(cat "$workdir/prometheus.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local began=$SECONDS
    while kill -0 "$pid" 2>/dev/null && ((SECONDS - began < 30)); do
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "prometheus.sh: pid $pid ignored SIGTERM for 30 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$workdir/prometheus.pid" "$workdir/prometheus.env"
  echo "prometheus.sh: stopped Prometheus (pid $pid)"
}

case "${1:-}" in
install)
  [[ $# -eq 1 ]] || die "usage: $0 install"
  install
  ;;
start)
  [[ $# -eq 2 ]] || die "usage: $0 start <workdir>"
  start "$2"
  ;;
stop)
  [[ $# -eq 2 ]] || die "usage: $0 stop <workdir>"
  stop "$2"
  ;;
*)
  die "usage: $0 install | start <workdir> | stop <workdir>"
  ;;
esac
