#!/usr/bin/env bash
# Local single-node Kafka (KRaft, broker + controller) from the official jars on Maven Central.
#
#   kafka.sh setup    resolve the broker jars once into a cache outside the repo (no network afterwards)
#   kafka.sh start    format storage once, start the broker in the background, wait until it answers
#   kafka.sh stop     SIGTERM, wait up to 15 s, then SIGKILL
#   kafka.sh status   one line; exit 0 when running, 3 when stopped
#
# Environment:
#   KEFU_DATA_DIR               data dir (default <repo>/.run): kafka.pid, kafka/ (data, config, cluster id), logs/
#   KEFU_KAFKA_PORT             PLAINTEXT port on 127.0.0.1 (default 9092)
#   KEFU_KAFKA_CONTROLLER_PORT  controller port (default KEFU_KAFKA_PORT + 1)
#   KEFU_KAFKA_LIBS             jar cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/kefu-pulse/kafka-libs-3.9.1)
#   KEFU_KAFKA_START_TIMEOUT    seconds to wait for the broker (default 60)
#   KEFU_PYTHON                 python with aiokafka for the readiness check (default <repo>/.venv/bin/python)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
KAFKA_VERSION=3.9.1

LOG_TAG=kafka
# shellcheck source-path=SCRIPTDIR/../.. source=deploy/lib/process.sh
source "$REPO/deploy/lib/process.sh"

DATA_DIR="$(resolve_data_dir "$REPO")"
PORT="${KEFU_KAFKA_PORT:-9092}"
CPORT="${KEFU_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
LIBS="${KEFU_KAFKA_LIBS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kefu-pulse/kafka-libs-$KAFKA_VERSION}"
TIMEOUT="${KEFU_KAFKA_START_TIMEOUT:-60}"
PY="${KEFU_PYTHON:-$REPO/.venv/bin/python}"

PIDFILE="$DATA_DIR/kafka.pid"
KDIR="$DATA_DIR/kafka"
LOGDIR="$DATA_DIR/logs"
PROPS="$KDIR/server.properties"

# pid of our broker when it runs (pid file + live process whose command line is ours), else nothing.
CMDLINE='kafka\.Kafka'  # what our broker's command line holds (tells a reused pid apart)
running_pid() { pid_from_file "$PIDFILE" "$CMDLINE"; }

log_tail() {
  local f
  for f in "$LOGDIR/kafka.out" "$LOGDIR/kafka.log"; do
    [[ -s "$f" ]] || continue
    echo "---- last lines of $f ----" >&2
    tail -n 30 "$f" >&2
  done
}

cmd_setup() {
  if [[ -f "$LIBS/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "maven (mvn) is missing: apt-get install -y maven (deploy/local/stack.sh setup does this)"
  say "resolving Kafka $KAFKA_VERSION jars from Maven Central into $LIBS (once)"
  mkdir -p "$(dirname "$LIBS")"
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  local mvnlog
  mvnlog="$(dirname "$LIBS")/mvn-kafka-libs.log"
  if ! mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
    sed 's/\x1b\[[0-9;]*m//g' "$mvnlog" | tail -n 30 >&2
    rm -rf "$tmp"
    die "mvn could not resolve the Kafka jars (network to Maven Central?); log above: $mvnlog"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"; }
  touch "$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  say "$(find "$LIBS" -maxdepth 1 -name '*.jar' | wc -l) jars in $LIBS"
}

java_cmd() {
  JAVA_CMD=(java -Xmx512m -Xms256m -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "-Dkafka.logs.dir=$LOGDIR" "-Dlog4j.configuration=file:$HERE/log4j.properties"
    -cp "$LIBS/*" kafka.Kafka "$PROPS")
}

render_props() {
  mkdir -p "$KDIR/data" "$LOGDIR"
  sed -e "s|@KAFKA_PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" -e "s|@DATA_DIR@|$DATA_DIR|g" \
    "$HERE/server.properties.template" >"$PROPS.tmp"
  mv "$PROPS.tmp" "$PROPS"
}

format_once() {
  [[ -f "$KDIR/data/meta.properties" ]] && return 0
  local cid
  if [[ -s "$KDIR/cluster.id" ]]; then
    cid="$(cat "$KDIR/cluster.id")"
  else
    cid="$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    [[ -n "$cid" ]] || die "kafka.tools.StorageTool random-uuid gave nothing"
    echo "$cid" >"$KDIR/cluster.id"
  fi
  say "formatting storage in $KDIR/data (cluster id $cid)"
  java -cp "$LIBS/*" "-Dlog4j.configuration=file:$HERE/log4j.properties" "-Dkafka.logs.dir=$LOGDIR" \
    kafka.tools.StorageTool format -t "$cid" -c "$PROPS" --ignore-formatted >"$LOGDIR/kafka-format.out" 2>&1 \
    || { cat "$LOGDIR/kafka-format.out" >&2; die "storage format failed"; }
}

# Waits until the broker answers a metadata request with itself in the broker list.
metadata_ready() {
  local budget="$1"
  if [[ ! -x "$PY" ]]; then
    return 0  # no venv yet: the open port has to do
  fi
  "$PY" - "127.0.0.1:$PORT" "$budget" 2>>"$LOGDIR/kafka-ready.err" <<'PYEOF'
import asyncio
import logging
import sys
import time

from aiokafka.client import AIOKafkaClient

logging.disable(logging.CRITICAL)


async def main(bootstrap: str, budget: float) -> int:
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(client.bootstrap(), 5)
            if client.cluster.brokers():
                return 0
        except Exception:
            pass
        finally:
            await client.close()
        await asyncio.sleep(0.2)
    return 1


sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]))))
PYEOF
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    say "already running (pid $pid, 127.0.0.1:$PORT)"
    return 0
  fi
  rm -f "$PIDFILE"
  [[ -f "$LIBS/.complete" ]] || cmd_setup
  command -v java >/dev/null || die "java is missing (apt-get install -y openjdk-17-jre-headless)"
  if port_open "$PORT"; then
    die "port 127.0.0.1:$PORT is already in use by another process (set KEFU_KAFKA_PORT)"
  fi
  if port_open "$CPORT"; then
    die "controller port 127.0.0.1:$CPORT is already in use (set KEFU_KAFKA_CONTROLLER_PORT)"
  fi
  render_props
  format_once
  local t0=$SECONDS
  # Own session: survives the terminal, and a Ctrl-C in `make run` does not hit it directly.
  java_cmd
  setsid "${JAVA_CMD[@]}" >>"$LOGDIR/kafka.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  say "starting (pid $pid, 127.0.0.1:$PORT, controller $CPORT, data $KDIR)"
  local deadline=$((SECONDS + TIMEOUT))
  while ! port_open "$PORT"; do
    if ! proc_alive "$pid"; then
      rm -f "$PIDFILE"
      log_tail
      die "the broker exited during start-up (logs above; full logs in $LOGDIR)"
    fi
    if ((SECONDS >= deadline)); then
      log_tail
      die "port 127.0.0.1:$PORT not open after ${TIMEOUT}s (broker pid $pid left running; kafka.sh stop ends it)"
    fi
    sleep 0.2
  done
  local left=$((deadline - SECONDS))
  ((left > 0)) || left=1
  if ! metadata_ready "$left"; then
    log_tail
    proc_alive "$pid" || rm -f "$PIDFILE"
    die "the broker did not answer a metadata request within ${TIMEOUT}s"
  fi
  say "ready after $((SECONDS - t0))s"
}

cmd_stop() { stop_pid_file "$PIDFILE" "$CMDLINE"; }

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "$PORT"; then
      echo "kafka     running  pid $pid  127.0.0.1:$PORT"
    else
      echo "kafka     starting pid $pid  127.0.0.1:$PORT (port not open)"
    fi
    return 0
  fi
  echo "kafka     stopped"
  return 3
}

case "${1:-}" in
  setup) cmd_setup ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {setup|start|stop|status}" >&2; exit 2 ;;
esac
