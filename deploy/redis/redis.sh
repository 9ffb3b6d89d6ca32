#!/usr/bin/env bash
# Local Redis (Debian's redis-server) for development and tests.
#
#   redis.sh start    start on 127.0.0.1:$KEFU_REDIS_PORT (daemonized, appendonly) and wait for PING
#   redis.sh stop     SIGTERM (Redis writes its data), wait up to 15 s, then SIGKILL
#   redis.sh status   one line; exit 0 when running, 3 when stopped
#
# Environment:
#   KEFU_DATA_DIR    data dir (default <repo>/.run): redis.pid, redis/ (AOF + RDB), logs/redis.log
#   KEFU_REDIS_PORT  port on 127.0.0.1 (default 6379)
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
  local reply
  reply="$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
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

cmd_stop() { stop_pid_file "$PIDFILE" "$CMDLINE"; }

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

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
