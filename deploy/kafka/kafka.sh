#!/usr/bin/env bash
# Local single-node Kafka (KRaft, broker + controller) from the official jars on Maven Central.
#
#   kafka.sh setup    resolve the broker jars once into a cache outside the repo (no network afterwards)
#   kafka.sh start    format storage once, start the broker in the background, wait until it answers
#   kafka.sh stop     SIGTERM, wait up to 15 s, then SIGKILL
#   kafka.sh status   one line; exit 0 when running, 3 when stopped
#
# With KEFU_KAFKA_BROKERS=3 the same commands act on three KRaft nodes (each broker + controller, one
# cluster id; default replication factor 3, min.insync.replicas 2): node i (1..3) listens on
# KEFU_KAFKA_PORT + 2(i-1), its controller on KEFU_KAFKA_CONTROLLER_PORT + 2(i-1); pid file
# kafka-<i>.pid, data kafka-<i>/, logs logs/kafka-<i>/. `start` waits until all three are in the
# metadata. For fault tests: `kafka.sh start-node I`, `stop-node I`, `kill-node I` (SIGKILL).
#
# Environment:
#   KEFU_DATA_DIR               data dir (default <repo>/.run): kafka.pid, kafka/ (data, config, cluster id), logs/
#   KEFU_KAFKA_PORT             PLAINTEXT port on 127.0.0.1 (default 9092)
#   KEFU_KAFKA_CONTROLLER_PORT  controller port (default KEFU_KAFKA_PORT + 1)
#   KEFU_KAFKA_LIBS             jar cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/kefu-pulse/kafka-libs-3.9.1)
#   KEFU_KAFKA_START_TIMEOUT    seconds to wait for the broker (default 60)
#   KEFU_PYTHON                 python with aiokafka for the readiness check (default <repo>/.venv/bin/python)
#   KEFU_KAFKA_BROKERS          1 (default) or 3 (see above)
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
  local budget="$1" bootstrap="${2:-127.0.0.1:$PORT}" brokers="${3:-1}"
  if [[ ! -x "$PY" ]]; then
    return 0  # no venv yet: the open port has to do
  fi
  "$PY" - "$bootstrap" "$budget" "$brokers" 2>>"$LOGDIR/kafka-ready.err" <<'PYEOF'
import asyncio
import logging
import sys
import time

from aiokafka.client import AIOKafkaClient

logging.disable(logging.CRITICAL)


async def main(bootstrap: str, budget: float, brokers: int) -> int:
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(client.bootstrap(), 5)
            if len(client.cluster.brokers()) >= brokers:
                return 0
        except Exception:
            pass
        finally:
            await client.close()
        await asyncio.sleep(0.2)
    return 1


sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))))
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

# Stops the three-node deployment's processes too when their pid files are there: `down` without the
# switch the stack was started with must not leave them running.
cmd_stop() {
  stop_pid_file "$PIDFILE" "$CMDLINE"
  nodes_stop kafka "$MAX_NODES" "$CMDLINE"
}

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

# ------------------------------------------------------------------------------- three brokers

BROKERS="${KEFU_KAFKA_BROKERS:-1}"
[[ "$BROKERS" == 1 || "$BROKERS" == 3 ]] || die "KEFU_KAFKA_BROKERS must be 1 or 3, got '$BROKERS'"
node_port() { echo $((PORT + 2 * ($1 - 1))); }
node_cport() { echo $((CPORT + 2 * ($1 - 1))); }
node_pidfile() { echo "$DATA_DIR/kafka-$1.pid"; }
node_pid() { pid_from_file "$(node_pidfile "$1")" "$CMDLINE"; }
bootstrap_list() {
  local i out=()
  for ((i = 1; i <= BROKERS; i++)); do out+=("127.0.0.1:$(node_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}

# The single-node template with this node's id, ports, data dir, the three voters and replication 3 /
# min ISR 2. A killed broker is fenced after broker.session.timeout.ms (4 s here, 9 s by default): its
# partitions' leadership moves then, which bounds how long a producer sees errors.
render_node_props() {
  local i="$1" dir="$DATA_DIR/kafka-$1" voters="" j
  for ((j = 1; j <= BROKERS; j++)); do voters+="${voters:+,}$j@127.0.0.1:$(node_cport "$j")"; done
  mkdir -p "$dir/data" "$LOGDIR/kafka-$i"
  sed -e "s|@KAFKA_PORT@|$(node_port "$i")|g" -e "s|@CONTROLLER_PORT@|$(node_cport "$i")|g" \
    -e "s|^node.id=.*|node.id=$i|" -e "s|^controller.quorum.voters=.*|controller.quorum.voters=$voters|" \
    -e "s|^log.dirs=.*|log.dirs=$dir/data|" \
    -e "s|^default.replication.factor=.*|default.replication.factor=3|" \
    -e "s|^min.insync.replicas=.*|min.insync.replicas=2|" \
    -e "s|^offsets.topic.replication.factor=.*|offsets.topic.replication.factor=3|" \
    -e "s|^transaction.state.log.replication.factor=.*|transaction.state.log.replication.factor=3|" \
    -e "s|^transaction.state.log.min.isr=.*|transaction.state.log.min.isr=2|" \
    "$HERE/server.properties.template" >"$dir/server.properties.tmp"
  printf '%s\n' "" "# Three nodes (kafka.sh, KEFU_KAFKA_BROKERS=3)" "unclean.leader.election.enable=false" \
    "broker.session.timeout.ms=4000" "broker.heartbeat.interval.ms=500" >>"$dir/server.properties.tmp"
  mv "$dir/server.properties.tmp" "$dir/server.properties"
}

format_node_once() {
  local i="$1" dir="$DATA_DIR/kafka-$1" cid
  [[ -f "$dir/data/meta.properties" ]] && return 0
  mkdir -p "$DATA_DIR/kafka-cluster"
  if [[ -s "$DATA_DIR/kafka-cluster/cluster.id" ]]; then
    cid="$(cat "$DATA_DIR/kafka-cluster/cluster.id")"
  else
    cid="$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    [[ -n "$cid" ]] || die "kafka.tools.StorageTool random-uuid gave nothing"
    echo "$cid" >"$DATA_DIR/kafka-cluster/cluster.id"
  fi
  java -cp "$LIBS/*" "-Dlog4j.configuration=file:$HERE/log4j.properties" "-Dkafka.logs.dir=$LOGDIR/kafka-$i" \
    kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" --ignore-formatted \
    >"$LOGDIR/kafka-$i/format.out" 2>&1 || { cat "$LOGDIR/kafka-$i/format.out" >&2; die "storage format of node $i failed"; }
}

start_node() {
  local i="$1" pid
  if pid="$(node_pid "$i")"; then return 0; fi
  rm -f "$(node_pidfile "$i")"
  port_open "$(node_port "$i")" && die "port 127.0.0.1:$(node_port "$i") (broker $i) is already in use (set KEFU_KAFKA_PORT)"
  port_open "$(node_cport "$i")" && die "controller port 127.0.0.1:$(node_cport "$i") (broker $i) is already in use"
  render_node_props "$i"
  format_node_once "$i"
  setsid java -Xmx512m -Xms256m -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dkafka.logs.dir=$LOGDIR/kafka-$i" "-Dlog4j.configuration=file:$HERE/log4j.properties" \
    -cp "$LIBS/*" kafka.Kafka "$DATA_DIR/kafka-$i/server.properties" >>"$LOGDIR/kafka-$i/kafka.out" 2>&1 </dev/null &
  echo $! >"$(node_pidfile "$i")"
  say "broker $i starting (pid $!, 127.0.0.1:$(node_port "$i"), controller $(node_cport "$i"))"
  wait_exec $! "$CMDLINE"  # before its exec, wait_nodes's node_pid would take the broker for gone
}

# wait_nodes <budget s> <broker count>: ports open and that many brokers in the metadata.
wait_nodes() {
  local deadline=$((SECONDS + $1)) i
  for ((i = 1; i <= BROKERS; i++)); do
    node_pid "$i" >/dev/null || continue
    while ! port_open "$(node_port "$i")"; do
      node_pid "$i" >/dev/null || { tail -n 30 "$LOGDIR/kafka-$i/kafka.out" >&2; die "broker $i exited during start-up"; }
      ((SECONDS < deadline)) || die "broker $i: port $(node_port "$i") not open after $1 s"
      sleep 0.2
    done
  done
  local left=$((deadline - SECONDS))
  ((left > 0)) || left=1
  metadata_ready "$left" "$(bootstrap_list)" "$2" || die "fewer than $2 brokers in the metadata after $1 s"
}

brokers_start() {
  [[ -f "$LIBS/.complete" ]] || cmd_setup
  command -v java >/dev/null || die "java is missing (apt-get install -y openjdk-17-jre-headless)"
  local t0=$SECONDS i
  for ((i = 1; i <= BROKERS; i++)); do start_node "$i"; done
  wait_nodes "$TIMEOUT" "$BROKERS"
  say "$BROKERS brokers ready ($(bootstrap_list)) after $((SECONDS - t0))s"
}

brokers_stop() { nodes_stop kafka "$BROKERS" "$CMDLINE"; }
brokers_status() { nodes_status kafka "$BROKERS" "$CMDLINE"; }

check_node() {
  if [[ ! "${1:-}" =~ ^[1-9]$ ]] || (($1 > BROKERS)); then die "expected a broker number 1..$BROKERS, got '${1:-}'"; fi
}

if ((BROKERS > 1)); then
  case "${1:-}" in
    setup) cmd_setup ;;
    start) brokers_start ;;
    stop) brokers_stop ;;
    status) brokers_status ;;
    start-node)
      check_node "${2:-}"
      start_node "$2"
      alive=0
      for ((i = 1; i <= BROKERS; i++)); do node_pid "$i" >/dev/null && alive=$((alive + 1)); done
      wait_nodes "$TIMEOUT" "$alive"  # those running (others may be down on purpose) in the metadata
      ;;
    stop-node) check_node "${2:-}"; LOG_TAG="kafka-$2" stop_pid_file "$(node_pidfile "$2")" "$CMDLINE" ;;
    kill-node)
      check_node "${2:-}"
      if pid="$(node_pid "$2")"; then
        kill -KILL "$pid"
        while proc_alive "$pid"; do sleep 0.05; done
        say "broker $2 killed (SIGKILL, pid $pid)"
      fi
      rm -f "$(node_pidfile "$2")"
      ;;
    bootstrap) bootstrap_list ;;
    *) echo "usage: $0 {setup|start|stop|status|start-node I|stop-node I|kill-node I|bootstrap}" >&2; exit 2 ;;
  esac
  exit
fi

case "${1:-}" in
  setup) cmd_setup ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {setup|start|stop|status}" >&2; exit 2 ;;
esac
