#!/usr/bin/env bash
# Local Redis (Debian's redis-server) for development and tests.
#
#   redis.sh start    start on 127.0.0.1:$KEFU_REDIS_PORT (daemonized, appendonly) and wait for PING
#   redis.sh stop     SIGTERM (Redis writes its data), wait up to 15 s, then SIGKILL
#   redis.sh status   one line; exit 0 when running, 3 when stopped
#
# With KEFU_REDIS_CLUSTER=1 the same commands act on a local 3-node Redis Cluster instead (three
# masters, no replicas, slots split evenly by `redis-cli --cluster create`): node i (1..3) listens on
# KEFU_REDIS_PORT + i - 1, its cluster bus on KEFU_REDIS_CLUSTER_BUS_PORT + i - 1, pid file
# redis-<i>.pid, data redis-<i>/, log logs/redis-<i>.log. Clients need one node as seed
# (KEFU_REDIS_PORT) and discover the rest. `start` returns once the cluster state is ok on all nodes.
#
# Environment:
#   KEFU_DATA_DIR    data dir (default <repo>/.run): redis.pid, redis/ (AOF + RDB), logs/redis.log
#   KEFU_REDIS_PORT  port on 127.0.0.1 (default 6379)
#   KEFU_REDIS_CLUSTER            1: the 3-node cluster above (default: one server)
#   KEFU_REDIS_CLUSTER_BUS_PORT   first cluster bus port (default KEFU_REDIS_PORT + 10000)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

LOG_TAG=redis
# shellcheck source-path=SCRIPTDIR/../.. source=deploy/lib/process.sh
source "$REPO/deploy/lib/process.sh"

DATA_DIR="$(resolve_data_dir "$REPO")"
PORT="${KEFU_REDIS_PORT:-6379}"
PIDFILE="$DATA_DIR/redis.pid"
RDIR="$DATA_DIR/redis"
LOGDIR="$DATA_DIR/logs"
TIMEOUT=30

# pid of our server when it runs (pid file + live process whose command line is ours), else nothing.
CMDLINE='redis-server'  # what our server's command line holds (tells a reused pid apart)
running_pid() { pid_from_file "$PIDFILE" "$CMDLINE"; }

# PING over a plain TCP connection (no redis-cli needed); true on +PONG (not -LOADING etc.).
ping() {
  local reply port="${1:-$PORT}"
  reply="$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 line <&3 && printf '%s' "$line"
  )" || true
  [[ "$reply" == "+PONG"* ]]
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    say "already running (pid $pid, 127.0.0.1:$PORT)"
    return 0
  fi
  rm -f "$PIDFILE"
  command -v redis-server >/dev/null || die "redis-server is missing (apt-get install -y redis-server; deploy/local/stack.sh setup does this)"
  if port_open "$PORT"; then
    die "port 127.0.0.1:$PORT is already in use by another process (set KEFU_REDIS_PORT)"
  fi
  mkdir -p "$RDIR" "$LOGDIR"
  local t0=$SECONDS
  # Built-in defaults plus these options (Debian's /etc/redis/redis.conf is not read). Both the daemon's
  # --logfile and the start-up output go to the one log (nothing reads it meanwhile).
  # shellcheck disable=SC2094
  redis-server --port "$PORT" --bind 127.0.0.1 --protected-mode yes \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$LOGDIR/redis.log" --loglevel notice \
    --dir "$RDIR" --appendonly yes --appendfsync everysec \
    --supervised no </dev/null >>"$LOGDIR/redis.log" 2>&1 \
    || { tail -n 20 "$LOGDIR/redis.log" >&2; die "redis-server failed to start"; }
  local deadline=$((SECONDS + TIMEOUT))
  until ping; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$LOGDIR/redis.log" >&2
      die "no PONG from 127.0.0.1:$PORT after ${TIMEOUT}s"
    fi
    if [[ -f "$PIDFILE" ]] && ! running_pid >/dev/null; then
      tail -n 20 "$LOGDIR/redis.log" >&2
      die "redis-server exited during start-up (log above: $LOGDIR/redis.log)"
    fi
    sleep 0.1
  done
  # The daemon writes its pid file itself; wait for it so stop/status find the process.
  until [[ -s "$PIDFILE" ]]; do
    ((SECONDS < deadline)) || die "redis-server answers but wrote no pid file $PIDFILE"
    sleep 0.05
  done
  say "ready (pid $(cat "$PIDFILE"), 127.0.0.1:$PORT, data $RDIR) after $((SECONDS - t0))s"
}

# Stops the three-node deployment's processes too when their pid files are there: `down` without the
# switch the stack was started with must not leave them running.
cmd_stop() {
  stop_pid_file "$PIDFILE" "$CMDLINE"
  nodes_stop redis "$MAX_NODES" "$CMDLINE"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if ping; then
      echo "redis     running  pid $pid  127.0.0.1:$PORT"
    else
      echo "redis     running  pid $pid  127.0.0.1:$PORT (no PONG)"
    fi
    return 0
  fi
  echo "redis     stopped"
  return 3
}

# ------------------------------------------------------------------------------------ cluster mode

CLUSTER_NODES=3
BUS_PORT="${KEFU_REDIS_CLUSTER_BUS_PORT:-$((PORT + 10000))}"
node_port() { echo $((PORT + $1 - 1)); }
node_pidfile() { echo "$DATA_DIR/redis-$1.pid"; }
node_pid() { pid_from_file "$(node_pidfile "$1")" "$CMDLINE"; }

# cluster_ok: every node answers CLUSTER INFO with cluster_state:ok (all 16384 slots served).
cluster_ok() {
  local i
  for ((i = 1; i <= CLUSTER_NODES; i++)); do
    redis-cli -p "$(node_port "$i")" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

start_node() {
  local i="$1" port dir log
  port="$(node_port "$i")"
  dir="$DATA_DIR/redis-$i"
  log="$LOGDIR/redis-$i.log"
  if node_pid "$i" >/dev/null; then return 0; fi
  rm -f "$(node_pidfile "$i")"
  port_open "$port" && die "port 127.0.0.1:$port (cluster node $i) is already in use (set KEFU_REDIS_PORT)"
  mkdir -p "$dir"
  # nodes.conf (the node's identity and the slot map) lives in its data dir: a restart rejoins.
  # shellcheck disable=SC2094  # the daemon writes --logfile itself, after the start-up output
  redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 \
    --cluster-port "$((BUS_PORT + i - 1))" \
    --daemonize yes --pidfile "$(node_pidfile "$i")" --logfile "$log" --loglevel notice \
    --dir "$dir" --appendonly yes --appendfsync everysec \
    --supervised no </dev/null >>"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "redis-server (cluster node $i) failed to start"; }
}

cluster_start() {
  command -v redis-server >/dev/null || die "redis-server is missing (apt-get install -y redis-server)"
  command -v redis-cli >/dev/null || die "redis-cli is missing (apt-get install -y redis-tools)"
  mkdir -p "$LOGDIR"
  local t0=$SECONDS i deadline=$((SECONDS + TIMEOUT)) hosts=()
  for ((i = 1; i <= CLUSTER_NODES; i++)); do start_node "$i"; done
  for ((i = 1; i <= CLUSTER_NODES; i++)); do
    until ping "$(node_port "$i")"; do
      ((SECONDS < deadline)) || { tail -n 20 "$LOGDIR/redis-$i.log" >&2; die "no PONG from cluster node $i"; }
      sleep 0.1
    done
    hosts+=("127.0.0.1:$(node_port "$i")")
  done
  # A fresh cluster (no slot assigned yet) is created once; restarted nodes rejoin from nodes.conf.
  if ! redis-cli -p "$PORT" cluster info | grep -q '^cluster_slots_assigned:16384'; then
    say "creating the cluster ${hosts[*]}"
    redis-cli --cluster create "${hosts[@]}" --cluster-replicas 0 --cluster-yes >>"$LOGDIR/redis-cluster.log" 2>&1 \
      || { tail -n 20 "$LOGDIR/redis-cluster.log" >&2; die "redis-cli --cluster create failed"; }
  fi
  until cluster_ok; do
    ((SECONDS < deadline)) || die "cluster state not ok after ${TIMEOUT}s (logs in $LOGDIR/redis-*.log)"
    sleep 0.1
  done
  say "cluster ready (${hosts[*]}, bus ports from $BUS_PORT, data $DATA_DIR/redis-*) after $((SECONDS - t0))s"
}

cluster_stop() { nodes_stop redis "$CLUSTER_NODES" "$CMDLINE"; }
cluster_status() { nodes_status redis "$CLUSTER_NODES" "$CMDLINE" "cluster node"; }

if [[ "${KEFU_REDIS_CLUSTER:-}" == 1 ]]; then
  case "${1:-}" in
    start) cluster_start ;;
    stop) cluster_stop ;;
    status) cluster_status ;;
    *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
  esac
  exit
fi

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
