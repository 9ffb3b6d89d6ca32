#!/usr/bin/env bash
# Kefu Pulse local stack: Kafka + Redis + Faust worker(s) + alert dispatcher + API replica(s), no Docker.
# The Makefile calls this; so does tests/stack.py (with its own KEFU_DATA_DIR and ports).
#
#   stack.sh setup          venv + Python deps, redis-server, Java/Maven, Kafka jars, web build (idempotent)
#   stack.sh web-deps       only web/node_modules (npm ci when package.json or the lock file changed)
#   stack.sh up             setup, then start what is not running; returns when /readyz?processing=true is
#                           200 on every replica (Kafka, Redis reachable and all KEFU_WORKERS workers process,
#                           together every partition)
#   stack.sh down           stop API replicas, workers, Kafka, Redis (SIGTERM, 15 s, SIGKILL)
#   stack.sh status         one line per service
#   stack.sh run            setup + up + URLs/tokens + the simulator in the foreground; Ctrl-C stops all
#   stack.sh info           print URLs and tokens
#   stack.sh clean          down, then remove the data dir
#   stack.sh topics         create the Kafka topics (python -m streams.kafka)
#   stack.sh start-worker I | stop-worker I | kill-worker I (SIGKILL)
#   stack.sh start-api I    (waits for /readyz) | stop-api I
#   stack.sh start-dispatcher | stop-dispatcher | kill-dispatcher (SIGKILL)   the alert webhook dispatcher
#   stack.sh start-kafka | stop-kafka | start-redis | stop-redis
#   stack.sh kill-broker I | start-broker I   with KEFU_KAFKA_BROKERS=3: SIGKILL / restart broker I (fault tests)
#
# Environment (defaults in brackets; see shared/spec/local-stack.md):
#   KEFU_API_PORT [8000]  KEFU_API_REPLICAS [1]  KEFU_WORKERS [1]  KEFU_KAFKA_PORT [9092]
#   KEFU_KAFKA_CONTROLLER_PORT [kafka port + 1]  KEFU_REDIS_PORT [6379]  KEFU_CLOCK [wall]
#   KEFU_INGEST_TOKEN / KEFU_VIEWER_TOKEN / KEFU_ADMIN_TOKEN [generated once, kept in $KEFU_DATA_DIR/tokens.env]
#   KEFU_DATA_DIR [<repo>/.run]: pid files, logs/, kafka/, redis/, tokens.env
#   KEFU_READY_TIMEOUT [90]: seconds `up` waits for /readyz?processing=true
#   KEFU_DEMO_SHOPS [the simulator's list]: `run`'s shops and team sizes, `shop=agents,…` (or plain
#     shop ids, comma-separated: sizes by position); the first shop's wall and console and all of them
#     on the multi-shop wall are the printed URLs
#   KEFU_ALLOW_PRIVATE_WEBHOOKS, KEFU_PARTITIONS, other KEFU_*: passed through to the processes
#   KEFU_KAFKA_BROKERS [1]: 3 runs three KRaft brokers (replication factor 3, min.insync.replicas 2) on
#     KEFU_KAFKA_PORT + 0/2/4 (controllers + 1); the processes get all three as KEFU_KAFKA_BOOTSTRAP
#   KEFU_REDIS_CLUSTER [unset]: 1 runs a 3-node Redis Cluster on KEFU_REDIS_PORT + 0/1/2 (bus ports
#     KEFU_REDIS_CLUSTER_BUS_PORT [redis port + 10000] + 0/1/2); the processes use RedisCluster clients
#   (deployments and their costs: docs/operations.md)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"

export KEFU_API_PORT="${KEFU_API_PORT:-8000}"
export KEFU_API_REPLICAS="${KEFU_API_REPLICAS:-1}"
export KEFU_WORKERS="${KEFU_WORKERS:-1}"
export KEFU_KAFKA_PORT="${KEFU_KAFKA_PORT:-9092}"
export KEFU_KAFKA_CONTROLLER_PORT="${KEFU_KAFKA_CONTROLLER_PORT:-$((KEFU_KAFKA_PORT + 1))}"
export KEFU_REDIS_PORT="${KEFU_REDIS_PORT:-6379}"
export KEFU_CLOCK="${KEFU_CLOCK:-wall}"
LOG_TAG=stack
# shellcheck source-path=SCRIPTDIR/../.. source=deploy/lib/process.sh
source "$REPO/deploy/lib/process.sh"
DATA_DIR="$(resolve_data_dir "$REPO")"
export KEFU_DATA_DIR="$DATA_DIR"
READY_TIMEOUT="${KEFU_READY_TIMEOUT:-90}"

VENV="$REPO/.venv"
PY="$VENV/bin/python"
export KEFU_PYTHON="$PY"
export PYTHONUNBUFFERED=1
STAMP="$VENV/.kefu-pulse-installed"
LOGDIR="$DATA_DIR/logs"
CACHE="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kefu-pulse"
KAFKA_SH="$REPO/deploy/kafka/kafka.sh"
REDIS_SH="$REPO/deploy/redis/redis.sh"

for v in KEFU_API_PORT KEFU_API_REPLICAS KEFU_WORKERS KEFU_KAFKA_PORT KEFU_KAFKA_CONTROLLER_PORT KEFU_REDIS_PORT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done

# ------------------------------------------------------------- deployments: brokers, Redis Cluster

# KEFU_KAFKA_BROKERS=3 / KEFU_REDIS_CLUSTER=1 (deploy/kafka/kafka.sh and deploy/redis/redis.sh start
# them): what every process of the stack must be told, and which local ports they occupy.
export KEFU_KAFKA_BROKERS="${KEFU_KAFKA_BROKERS:-1}"
[[ "$KEFU_KAFKA_BROKERS" == 1 || "$KEFU_KAFKA_BROKERS" == 3 ]] \
  || die "KEFU_KAFKA_BROKERS must be 1 or 3, got '$KEFU_KAFKA_BROKERS'"
[[ "${KEFU_REDIS_CLUSTER:-0}" =~ ^[01]$ ]] || die "KEFU_REDIS_CLUSTER must be 1 or unset, got '$KEFU_REDIS_CLUSTER'"
if ((KEFU_KAFKA_BROKERS == 3)); then
  export KEFU_REPLICATION_FACTOR="${KEFU_REPLICATION_FACTOR:-3}"
  export KEFU_KAFKA_BOOTSTRAP="${KEFU_KAFKA_BOOTSTRAP:-127.0.0.1:$KEFU_KAFKA_PORT,127.0.0.1:$((KEFU_KAFKA_PORT + 2)),127.0.0.1:$((KEFU_KAFKA_PORT + 4))}"
fi

# Every local port of Kafka and Redis (for `down`'s "still listening" check).
backend_ports() {
  local i
  for ((i = 0; i < KEFU_KAFKA_BROKERS; i++)); do
    echo $((KEFU_KAFKA_PORT + 2 * i)) $((KEFU_KAFKA_CONTROLLER_PORT + 2 * i))
  done
  if [[ "${KEFU_REDIS_CLUSTER:-}" == 1 ]]; then
    echo "$KEFU_REDIS_PORT" $((KEFU_REDIS_PORT + 1)) $((KEFU_REDIS_PORT + 2))
  else
    echo "$KEFU_REDIS_PORT"
  fi
}

backend_summary() {
  local kafka="Kafka 127.0.0.1:$KEFU_KAFKA_PORT" redis="Redis 127.0.0.1:$KEFU_REDIS_PORT"
  ((KEFU_KAFKA_BROKERS == 1)) || kafka="Kafka $KEFU_KAFKA_BROKERS brokers ($KEFU_KAFKA_BOOTSTRAP)"
  [[ "${KEFU_REDIS_CLUSTER:-}" != 1 ]] || redis="Redis Cluster 127.0.0.1:$KEFU_REDIS_PORT-$((KEFU_REDIS_PORT + 2))"
  echo "$kafka, $redis"
}

# ---------------------------------------------------------------------------------------------- setup

SUDO=""
if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null; then SUDO="sudo"; fi
APT_UPDATED=0

apt_install() {
  say "installing $* (apt-get)"
  if [[ $APT_UPDATED -eq 0 ]]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  # No service auto-start during the install (a system redis on 6379 would collide with `make up`).
  local policy=/usr/sbin/policy-rc.d added=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && added=1
  fi
  local rc=0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
  [[ $added -eq 1 ]] && $SUDO rm -f "$policy"
  [[ $rc -eq 0 ]] || die "apt-get install $* failed"
}

is_py311() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; }

setup_python() {
  if [[ ! -x "$PY" ]] || ! is_py311 "$PY"; then
    local base="" c
    for c in python3.11 /usr/bin/python3.11 python3; do
      if command -v "$c" >/dev/null && is_py311 "$c"; then base="$c"; break; fi
    done
    if [[ -z "$base" ]]; then
      apt_install python3.11 python3.11-venv
      base=/usr/bin/python3.11
    fi
    if ! "$base" -c 'import ensurepip, venv' 2>/dev/null; then
      apt_install python3.11-venv
    fi
    say "creating the virtualenv .venv ($("$base" -c 'import sys; print(sys.executable)'))"
    rm -rf "$VENV"
    "$base" -m venv "$VENV" || die "python3.11 -m venv .venv failed"
    rm -f "$STAMP"
  fi
  if [[ ! -f "$STAMP" || "$REPO/pyproject.toml" -nt "$STAMP" ]]; then
    say "installing Python dependencies (pip install -e '.[dev]')"
    mkdir -p "$CACHE"
    if ! "$PY" -m pip install -q --disable-pip-version-check -e '.[dev]' >"$CACHE/pip-install.log" 2>&1; then
      tail -n 30 "$CACHE/pip-install.log" >&2
      die "pip install -e '.[dev]' failed (log above: $CACHE/pip-install.log)"
    fi
    touch "$STAMP"
    DID=1
  fi
}

setup_system() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  if [[ ! -f "$CACHE/kafka-libs-3.9.1/.complete" && -z "${KEFU_KAFKA_LIBS:-}" ]]; then
    command -v mvn >/dev/null || missing+=(maven)
  fi
  if [[ -f "$REPO/web/package.json" ]] && ! command -v npm >/dev/null; then
    missing+=(nodejs npm)  # the web build needs Node >= 20.19 (Vite 7): Debian 12's own nodejs is older
  fi
  # The screens are Chinese first: without a CJK font a kiosk browser on this machine shows boxes.
  [[ -d /usr/share/fonts/opentype/noto ]] || missing+=(fonts-noto-cjk)
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
    DID=1
  fi
}

setup_kafka() {
  local libs="${KEFU_KAFKA_LIBS:-$CACHE/kafka-libs-3.9.1}"
  if [[ ! -f "$libs/.complete" ]]; then
    "$KAFKA_SH" setup
    DID=1
  fi
}

# web/node_modules (the build's and the web tests' dependencies): npm ci when package.json or the lock
# file changed since the last install. Also `stack.sh web-deps` (make test-web).
setup_web_deps() {
  [[ -f "$REPO/web/package.json" ]] || return 0
  local web="$REPO/web"
  if [[ ! -f "$web/node_modules/.kefu-stamp" || "$web/package.json" -nt "$web/node_modules/.kefu-stamp" ||
    (-f "$web/package-lock.json" && "$web/package-lock.json" -nt "$web/node_modules/.kefu-stamp") ]]; then
    say "installing web dependencies (npm)"
    if [[ -f "$web/package-lock.json" ]]; then
      (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in web/"
    else
      (cd "$web" && npm install --no-audit --no-fund --loglevel=error >&2) || die "npm install failed in web/"
    fi
    mkdir -p "$web/node_modules" && touch "$web/node_modules/.kefu-stamp"
    DID=1
  fi
}

# The browser pages (web/) when the project has them: dependencies as above, build when a source is
# newer than the last build (the web's own tests, web/test/, are not part of the build).
setup_web() {
  [[ -f "$REPO/web/package.json" ]] || return 0
  local web="$REPO/web"
  setup_web_deps
  if grep -q '"build"' "$web/package.json"; then
    if [[ ! -f "$web/dist/.kefu-built" ]] || [[ -n "$(find "$web" \( -path "$web/node_modules" -o -path "$web/dist" \
      -o -path "$web/test" \) -prune -o -type f -newer "$web/dist/.kefu-built" -print -quit)" ]]; then
      say "building the web pages (npm run build)"
      (cd "$web" && npm run build --silent >&2) || die "npm run build failed in web/"
      mkdir -p "$web/dist" && touch "$web/dist/.kefu-built"
      DID=1
    fi
  fi
}

# Only the web dependencies (make test-web), under the same lock as a full set-up.
cmd_web_deps() {
  command -v npm >/dev/null || die "npm not found: run 'make setup' (installs Node.js and npm)"
  mkdir -p "$CACHE"
  DID=0
  exec 9>"$CACHE/setup.lock"
  flock -w 900 9 || die "another set-up holds $CACHE/setup.lock"
  setup_web_deps
  flock -u 9
  exec 9>&-
}

cmd_setup() {
  mkdir -p "$CACHE"
  DID=0
  # One set-up at a time on this machine (a test stack and a developer's stack may start together).
  exec 9>"$CACHE/setup.lock"
  flock -w 900 9 || die "another set-up holds $CACHE/setup.lock"
  setup_system
  setup_python
  setup_kafka
  setup_web
  flock -u 9
  exec 9>&-
  if [[ $DID -eq 0 ]]; then
    say "setup: nothing to do (venv, Python deps, redis-server, Java, Kafka jars present)"
  else
    say "setup done"
  fi
}

# --------------------------------------------------------------------------------------- processes

# HTTP status of GET http://127.0.0.1:<port><path>, "000" when there is no answer (no curl needed).
http_status() {
  local line
  line="$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
    IFS= read -r -t 5 l <&3 && printf '%s' "$l"
  )" || true
  local code="${line#* }"
  code="${code%% *}"
  [[ "$code" =~ ^[0-9]{3}$ ]] || code=000
  echo "$code"
}

pidfile() { echo "$DATA_DIR/$1.pid"; }

marker() {
  case "$1" in
    worker-*) echo 'streams\.worker' ;;
    api-*) echo '-m api( |$)' ;;
    dispatcher) echo 'streams\.alerts\.dispatcher' ;;
  esac
}

# pid of service <name> (worker-2, api-1) when its pid file names a live process of ours.
svc_pid() { pid_from_file "$(pidfile "$1")" "$(marker "$1")"; }

api_port() { echo $((KEFU_API_PORT + $1 - 1)); }

# Port an API process was started with (from its command line), else the configured one.
api_port_of() {
  local pid="$1" i="$2" p
  p="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -A1 -x -- '--port' | tail -n 1)" || true
  if [[ "$p" =~ ^[0-9]+$ ]]; then echo "$p"; else api_port "$i"; fi
}

log_tail() {
  local f="$1" n="${2:-40}"
  [[ -s "$f" ]] || { echo "---- $f: empty or missing ----" >&2; return 0; }
  echo "---- $f (last $n lines of the latest start) ----" >&2
  awk '/^==== .* starting /{buf=""} {buf = buf $0 "\n"} END{printf "%s", buf}' "$f" | tail -n "$n" >&2
}

need_module() {
  local mod="$1" what="$2"
  "$PY" -c "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('$mod') else 1)" 2>/dev/null \
    || die "$what: module '$mod' not found (the stack starts it as: python -m ${mod%.__main__});" \
      "what already runs stays up ('make down' stops it)"
}

ensure_dirs() {
  mkdir -p "$DATA_DIR" "$LOGDIR"
  [[ -f "$DATA_DIR/.kefu-data-dir" ]] || echo "Kefu Pulse local stack data (deploy/local/stack.sh)" >"$DATA_DIR/.kefu-data-dir"
}

# Lock per data dir around commands that start/stop things. Children never inherit fd 8 (8>&-).
lock_data_dir() {
  ensure_dirs
  exec 8>"$DATA_DIR/.stack.lock"
  flock -w 300 8 || die "another stack.sh holds $DATA_DIR/.stack.lock"
}
unlock_data_dir() { flock -u 8 2>/dev/null || true; exec 8>&-; }

# Tokens: explicit KEFU_*_TOKEN values win; otherwise the ones kept in tokens.env; otherwise new ones.
load_tokens() {
  ensure_dirs
  local f="$DATA_DIR/tokens.env" ei="${KEFU_INGEST_TOKEN:-}" ev="${KEFU_VIEWER_TOKEN:-}" ea="${KEFU_ADMIN_TOKEN:-}"
  if [[ -f "$f" ]]; then
    # shellcheck disable=SC1090
    source "$f"
  fi
  [[ -n "$ei" ]] && KEFU_INGEST_TOKEN="$ei"
  [[ -n "$ev" ]] && KEFU_VIEWER_TOKEN="$ev"
  [[ -n "$ea" ]] && KEFU_ADMIN_TOKEN="$ea"
  rnd() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }
  [[ -n "${KEFU_INGEST_TOKEN:-}" ]] || KEFU_INGEST_TOKEN="ingest-$(rnd)"
  [[ -n "${KEFU_VIEWER_TOKEN:-}" ]] || KEFU_VIEWER_TOKEN="viewer-$(rnd)"
  [[ -n "${KEFU_ADMIN_TOKEN:-}" ]] || KEFU_ADMIN_TOKEN="admin-$(rnd)"
  export KEFU_INGEST_TOKEN KEFU_VIEWER_TOKEN KEFU_ADMIN_TOKEN
  local new
  new="$(printf 'KEFU_INGEST_TOKEN=%q\nKEFU_VIEWER_TOKEN=%q\nKEFU_ADMIN_TOKEN=%q\n' \
    "$KEFU_INGEST_TOKEN" "$KEFU_VIEWER_TOKEN" "$KEFU_ADMIN_TOKEN")"
  if [[ ! -f "$f" || "$(cat "$f")" != "$new" ]]; then
    (umask 077 && printf '%s\n' "$new" >"$f.tmp" && mv "$f.tmp" "$f")
  fi
}

# start_proc <name> <command...>: background, own session, log to logs/<name>.log, pid file <name>.pid.
start_proc() {
  local name="$1"
  shift
  local log="$LOGDIR/$name.log"
  {
    echo
    echo "==== $(date '+%F %T') starting $name: $*"
  } >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$(pidfile "$name")"
  # Before its exec, wait_ready's svc_pid took a starting API for "exited" on a loaded machine.
  wait_exec $! "$(marker "$name")"
}

# stop_procs <name>...: SIGTERM to all, up to 15 s, then SIGKILL; removes the pid files (stale ones too).
stop_procs() {
  local name pid pids=() names=()
  for name in "$@"; do
    if pid="$(svc_pid "$name")"; then
      pids+=("$pid")
      names+=("$name")
    elif [[ -f "$(pidfile "$name")" ]]; then
      say "$name: not running, removing its stale pid file"
      rm -f "$(pidfile "$name")"
    fi
  done
  ((${#pids[@]})) || return 0
  say "stopping ${names[*]}"
  terminate "${pids[@]}"
  for name in "${names[@]}"; do rm -f "$(pidfile "$name")"; done
}

# kill_service <name>: SIGKILL (a crash, for the fault tests), wait until it is gone, remove its pid file.
kill_service() {
  local pid
  if pid="$(svc_pid "$1")"; then
    kill -KILL "$pid"
    while proc_alive "$pid"; do sleep 0.05; done
    say "$1 killed (SIGKILL, pid $pid)"
  else
    say "$1 not running"
  fi
  rm -f "$(pidfile "$1")"
}

# Names of services of a kind (worker/api): 1..count plus any other pid file present.
svc_names() {
  local kind="$1" count="$2" i f names=()
  for ((i = 1; i <= count; i++)); do names+=("$kind-$i"); done
  for f in "$DATA_DIR/$kind"-*.pid; do
    [[ -e "$f" ]] || continue
    f="$(basename "$f" .pid)"
    [[ " ${names[*]} " == *" $f "* ]] || names+=("$f")
  done
  echo "${names[@]}"
}

check_index() { [[ "${1:-}" =~ ^[1-9][0-9]*$ ]] || die "expected a 1-based index, got '${1:-}'"; }

start_worker() {
  local i="$1" pid
  if pid="$(svc_pid "worker-$i")"; then
    say "worker-$i already running (pid $pid)"
    return 0
  fi
  rm -f "$(pidfile "worker-$i")"
  need_module streams.worker "the Faust worker"
  KEFU_WORKER_INDEX="$i" start_proc "worker-$i" "$PY" -m streams.worker
  say "worker-$i started (pid $(cat "$(pidfile "worker-$i")"), log $LOGDIR/worker-$i.log)"
}

# The alert webhook dispatcher (python -m streams.alerts.dispatcher): one instance, pid file dispatcher.pid.
start_dispatcher() {
  local pid
  if pid="$(svc_pid dispatcher)"; then
    say "dispatcher already running (pid $pid)"
    return 0
  fi
  rm -f "$(pidfile dispatcher)"
  need_module streams.alerts.dispatcher "the alert dispatcher"
  start_proc dispatcher "$PY" -m streams.alerts.dispatcher
  say "dispatcher started (pid $(cat "$(pidfile dispatcher)"), log $LOGDIR/dispatcher.log)"
}

start_api() {
  local i="$1" pid port
  port="$(api_port "$i")"
  if pid="$(svc_pid "api-$i")"; then
    say "api-$i already running (pid $pid, port $(api_port_of "$pid" "$i"))"
    return 0
  fi
  rm -f "$(pidfile "api-$i")"
  need_module api.__main__ "the API"
  if port_open "$port"; then
    die "port 127.0.0.1:$port (API replica $i) is already in use by another process (set KEFU_API_PORT)"
  fi
  KEFU_API_REPLICA_INDEX="$i" start_proc "api-$i" "$PY" -m api --port "$port"
  say "api-$i started (pid $(cat "$(pidfile "api-$i")"), http://127.0.0.1:$port, log $LOGDIR/api-$i.log)"
}

# wait_ready <api index>...: $READY_PATH 200 on each; fails early when an API or worker process dies.
# `up` waits for the workers too (/readyz?processing=true&workers=N: all N joined the group and
# process, so the first event is processed at once and no worker joins just after); start-api only
# for the replica itself.
READY_PATH=/readyz
wait_ready() {
  local t0=$SECONDS deadline=$((SECONDS + READY_TIMEOUT)) pending=("$@") still i name code
  while ((${#pending[@]})); do
    still=()
    for i in "${pending[@]}"; do
      if ! svc_pid "api-$i" >/dev/null; then
        log_tail "$LOGDIR/api-$i.log"
        rm -f "$(pidfile "api-$i")"
        die "API replica $i (python -m api --port $(api_port "$i")) exited during start-up (log above)"
      fi
      code="$(http_status "$(api_port "$i")" "$READY_PATH")"
      [[ "$code" == 200 ]] || still+=("$i")
    done
    for name in $(svc_names worker "$KEFU_WORKERS"); do
      if [[ -f "$(pidfile "$name")" ]] && ! svc_pid "$name" >/dev/null; then
        log_tail "$LOGDIR/$name.log"
        rm -f "$(pidfile "$name")"
        die "$name (python -m streams.worker) exited (log above)"
      fi
    done
    if [[ -f "$(pidfile dispatcher)" ]] && ! svc_pid dispatcher >/dev/null; then
      log_tail "$LOGDIR/dispatcher.log"
      rm -f "$(pidfile dispatcher)"
      die "the alert dispatcher (python -m streams.alerts.dispatcher) exited (log above)"
    fi
    ((${#still[@]})) || break
    pending=("${still[@]}")
    if ((SECONDS >= deadline)); then
      for i in "${pending[@]}"; do log_tail "$LOGDIR/api-$i.log"; done
      for name in $(svc_names worker "$KEFU_WORKERS"); do log_tail "$LOGDIR/$name.log" 15; done
      die "GET $READY_PATH not 200 after ${READY_TIMEOUT}s on API replica(s) ${pending[*]} (last: $code); logs above, all in $LOGDIR; 'make down' stops what runs"
    fi
    sleep 0.25
  done
  (($# == 0)) || say "$READY_PATH 200 on ${#} replica(s) after $((SECONDS - t0))s"
}

create_topics() {
  local _
  for _ in 1 2 3; do
    if "$PY" -m streams.kafka >"$LOGDIR/topics.log" 2>&1; then
      say "$(tail -n 1 "$LOGDIR/topics.log")"
      return 0
    fi
    sleep 1
  done
  log_tail "$LOGDIR/topics.log"
  die "python -m streams.kafka failed 3 times (log above); no worker was started"
}

# ----------------------------------------------------------------------------------------- commands

cmd_up() {
  local t0=$SECONDS i
  cmd_setup
  lock_data_dir
  load_tokens
  "$KAFKA_SH" start 8>&-
  "$REDIS_SH" start 8>&-
  create_topics
  for ((i = 1; i <= KEFU_WORKERS; i++)); do start_worker "$i"; done
  start_dispatcher
  local apis=()
  for ((i = 1; i <= KEFU_API_REPLICAS; i++)); do
    start_api "$i"
    apis+=("$i")
  done
  ((KEFU_WORKERS == 0)) || READY_PATH="/readyz?processing=true&workers=$KEFU_WORKERS"
  wait_ready "${apis[@]}"
  unlock_data_dir
  say "up in $((SECONDS - t0))s: API http://127.0.0.1:$KEFU_API_PORT ($KEFU_API_REPLICAS replica(s)), $KEFU_WORKERS worker(s)," \
    "$(backend_summary), data $DATA_DIR"
}

cmd_down() {
  [[ -d "$DATA_DIR" ]] || { say "nothing to stop ($DATA_DIR does not exist)"; return 0; }
  lock_data_dir
  local names
  # shellcheck disable=SC2207
  names=($(svc_names api "$KEFU_API_REPLICAS"))
  stop_procs "${names[@]}"
  stop_procs dispatcher
  # shellcheck disable=SC2207
  names=($(svc_names worker "$KEFU_WORKERS"))
  stop_procs "${names[@]}"
  "$KAFKA_SH" stop 8>&-
  "$REDIS_SH" stop 8>&-
  unlock_data_dir
  local p busy=()
  for p in $(backend_ports); do
    port_open "$p" && busy+=("$p")
  done
  for ((i = 1; i <= KEFU_API_REPLICAS; i++)); do
    p="$(api_port "$i")"
    port_open "$p" && busy+=("$p")
  done
  if ((${#busy[@]})); then
    say "warning: still listening on 127.0.0.1 port(s) ${busy[*]} (not a process with a pid file in $DATA_DIR)"
  fi
  say "down"
}

cmd_status() {
  "$KAFKA_SH" status || true
  "$REDIS_SH" status || true
  local name pid i
  for name in $(svc_names worker "$KEFU_WORKERS"); do
    if pid="$(svc_pid "$name")"; then
      printf '%-9s running  pid %s\n' "$name" "$pid"
    else
      printf '%-9s stopped\n' "$name"
    fi
  done
  if pid="$(svc_pid dispatcher)"; then
    printf '%-9s running  pid %s\n' dispatcher "$pid"
  else
    printf '%-9s stopped\n' dispatcher
  fi
  for name in $(svc_names api "$KEFU_API_REPLICAS"); do
    i="${name#api-}"
    if pid="$(svc_pid "$name")"; then
      local port
      port="$(api_port_of "$pid" "$i")"
      printf '%-9s running  pid %s  http://127.0.0.1:%s  readyz %s\n' "$name" "$pid" "$port" "$(http_status "$port" /readyz)"
    else
      printf '%-9s stopped\n' "$name"
    fi
  done
}

cmd_info() {
  load_tokens
  local base="http://127.0.0.1:$KEFU_API_PORT" shops
  # The demo's shops (KEFU_DEMO_SHOPS or the simulator's default list), comma-separated for the 作战大屏.
  shops="$("$PY" -m streams.tools.simulator --print-demo-settings | cut -f1 | paste -sd, -)" \
    || die "bad KEFU_DEMO_SHOPS (shop ids, or shop=agents, separated by commas)"
  local first="${shops%%,*}"
  first="${first:-demo-shop}"
  echo
  echo "  Wall:     $base/wall?shop=$first&token=$KEFU_VIEWER_TOKEN"
  echo "  Console:  $base/console?shop=$first&token=$KEFU_VIEWER_TOKEN"
  [[ -n "$shops" ]] && echo "  Multi-shop (多店作战大屏): $base/multishop?shops=$shops&token=$KEFU_VIEWER_TOKEN"
  echo
  echo "  Tokens (valid for every shop; kept in $DATA_DIR/tokens.env):"
  echo "    KEFU_INGEST_TOKEN=$KEFU_INGEST_TOKEN"
  echo "    KEFU_VIEWER_TOKEN=$KEFU_VIEWER_TOKEN"
  echo "    KEFU_ADMIN_TOKEN=$KEFU_ADMIN_TOKEN"
  echo
}

cmd_run() {
  cmd_up
  cmd_info
  need_module streams.tools.simulator "the simulator"
  # Each demo shop's settings match its simulated team (groups), filter phrases and test accounts.
  local shop settings
  while IFS=$'\t' read -r shop settings; do
    curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $KEFU_ADMIN_TOKEN" -H "Content-Type: application/json" \
      --data-binary "$settings" "http://127.0.0.1:$KEFU_API_PORT/api/v1/shops/$shop/settings" \
      || die "could not store the settings of $shop"
  done < <("$PY" -m streams.tools.simulator --print-demo-settings || die "bad KEFU_DEMO_SHOPS")
  say "simulator: the demo shops' Double 11 — yesterday and today so far back-filled (a minute or two), then live"
  say "(Ctrl-C stops the simulator and the stack)"
  local sim
  # Background + wait, so that a signal reaches the trap at once; the trap stops the simulator.
  "$PY" -m streams.tools.simulator --mode demo --sink http --url "http://127.0.0.1:$KEFU_API_PORT" \
    --token "$KEFU_INGEST_TOKEN" </dev/null &
  sim=$!
  trap 'kill -TERM "$sim" 2>/dev/null || true' INT TERM HUP
  local rc=0
  while proc_alive "$sim"; do
    wait "$sim" 2>/dev/null && rc=0 || rc=$?
  done
  trap 'say "stopping, please wait"' INT TERM HUP
  echo
  say "simulator(s) ended (exit $rc); stopping the stack"
  cmd_down
  trap - INT TERM HUP
}

cmd_clean() {
  cmd_down
  if [[ "$DATA_DIR" == "$REPO/.run" || -f "$DATA_DIR/.kefu-data-dir" ]]; then
    rm -rf "$DATA_DIR"
    say "removed $DATA_DIR"
  else
    say "not removing $DATA_DIR (no .kefu-data-dir marker in it)"
  fi
}

sub="${1:-}"
[[ $# -gt 0 ]] && shift
case "$sub" in
  setup) cmd_setup ;;
  web-deps) cmd_web_deps ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  run) cmd_run ;;
  info) cmd_info ;;
  clean) cmd_clean ;;
  topics) ensure_dirs; create_topics ;;
  start-worker) check_index "${1:-}"; lock_data_dir; load_tokens; start_worker "$1" ;;
  stop-worker) check_index "${1:-}"; lock_data_dir; stop_procs "worker-$1" ;;
  kill-worker) check_index "${1:-}"; lock_data_dir; kill_service "worker-$1" ;;
  start-api) check_index "${1:-}"; lock_data_dir; load_tokens; start_api "$1"; wait_ready "$1" ;;
  start-dispatcher) lock_data_dir; load_tokens; start_dispatcher ;;
  stop-dispatcher) lock_data_dir; stop_procs dispatcher ;;
  kill-dispatcher) lock_data_dir; kill_service dispatcher ;;
  stop-api) check_index "${1:-}"; lock_data_dir; stop_procs "api-$1" ;;
  start-kafka) lock_data_dir; "$KAFKA_SH" start 8>&- ;;
  stop-kafka) lock_data_dir; "$KAFKA_SH" stop 8>&- ;;
  start-redis) lock_data_dir; "$REDIS_SH" start 8>&- ;;
  stop-redis) lock_data_dir; "$REDIS_SH" stop 8>&- ;;
  kill-broker) lock_data_dir; "$KAFKA_SH" kill-node "${1:-}" 8>&- ;;
  start-broker) lock_data_dir; "$KAFKA_SH" start-node "${1:-}" 8>&- ;;
  *)
    echo "usage: $0 {setup|web-deps|up|down|status|run|info|clean|topics|start-worker I|stop-worker I|kill-worker I|start-api I|stop-api I|start-dispatcher|stop-dispatcher|kill-dispatcher|start-kafka|stop-kafka|start-redis|stop-redis|kill-broker I|start-broker I}" >&2
    exit 2
    ;;
esac
