# shellcheck shell=bash
# Process helpers of the local stack, sourced (never run) by deploy/kafka/kafka.sh, deploy/redis/redis.sh
# and deploy/local/stack.sh. The sourcing script sets LOG_TAG (the prefix of its messages) first.
#
# Invariant: a process is signalled only when its pid file names a live process whose command line
# matches the caller's pattern, so a pid reused by another program after a crash is never touched.

say() { echo "$LOG_TAG: $*"; }
die() { echo "$LOG_TAG: ERROR: $*" >&2; exit 1; }

# resolve_data_dir <repo>: KEFU_DATA_DIR (default .run) as an absolute path (relative ones are under <repo>).
resolve_data_dir() {
  local dir="${KEFU_DATA_DIR:-.run}"
  [[ "$dir" = /* ]] || dir="$1/$dir"
  echo "$dir"
}

# True while <pid> runs; a zombie (exited, not reaped yet by a slow init) counts as gone.
proc_alive() {
  local s
  s="$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)" || return 1
  [[ -n "$s" && "$s" != Z && "$s" != X ]]
}

# True when something accepts a TCP connection on 127.0.0.1:<port> (no nc or curl needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_from_file <pid file> <extended regex>: prints the pid when the file names a live process whose
# command line matches the regex; fails otherwise (no file, garbage, gone, or someone else's pid).
pid_from_file() {
  local file="$1" pattern="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  proc_alive "$pid" || return 1
  cmdline_matches "$pid" "$pattern" || return 1
  echo "$pid"
}

# cmdline_matches <pid> <extended regex>: true when the process's command line matches.
cmdline_matches() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qE -- "$2"; }

# wait_exec <pid> <extended regex>: true once <pid>'s command line matches (it has exec'd: until then the
# child of `cmd &` shows this shell's command line, and pid_from_file takes it for gone) or once it has
# exited (the caller's own check reports that); gives up after 5 s.
wait_exec() {
  local pid="$1" pattern="$2" i
  for ((i = 0; i < 100; i++)); do
    proc_alive "$pid" || return 0
    cmdline_matches "$pid" "$pattern" && return 0
    sleep 0.05
  done
}

# wait_gone <tenths of a second> <pid>...: true as soon as none of the pids runs, false at the deadline.
wait_gone() {
  local tenths="$1" i pid alive
  shift
  for ((i = 0; i <= tenths; i++)); do
    alive=0
    for pid in "$@"; do proc_alive "$pid" && alive=1; done
    [[ $alive -eq 1 ]] || return 0
    ((i == tenths)) || sleep 0.1
  done
  return 1
}

# terminate <pid>...: SIGTERM to all (they save their state), up to 15 s, then SIGKILL to those left.
terminate() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait_gone 150 "$@" && return 0
  for pid in "$@"; do
    if proc_alive "$pid"; then
      say "pid $pid still running after 15s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait_gone 50 "$@" || true
}

# stop_pid_file <pid file> <extended regex>: terminate the process the pid file names (when ours) and
# remove the file (a stale one too).
stop_pid_file() {
  local file="$1" pid
  if ! pid="$(pid_from_file "$file" "$2")"; then
    [[ -f "$file" ]] && say "removing stale pid file"
    rm -f "$file"
    return 0
  fi
  say "stopping (pid $pid)"
  terminate "$pid"
  rm -f "$file"
  say "stopped"
}

# Numbered nodes (kafka.sh with KEFU_KAFKA_BROKERS=3, redis.sh with KEFU_REDIS_CLUSTER=1): node i of a
# deployment has the pid file `node_pidfile i` and the port `node_port i`, two functions the sourcing
# script defines.

# The most nodes a deployment may have: a single server's `stop` ends nodes 1..MAX_NODES left running.
# shellcheck disable=SC2034  # read by the sourcing scripts
MAX_NODES=9

# nodes_stop <label> <count> <extended regex>: stop_pid_file for nodes 1..count in order, each one's
# messages tagged <label>-<i>; a node without a pid file is skipped silently.
nodes_stop() {
  local label="$1" count="$2" pattern="$3" i
  for ((i = 1; i <= count; i++)); do
    LOG_TAG="$label-$i" stop_pid_file "$(node_pidfile "$i")" "$pattern"
  done
}

# nodes_status <label> <count> <extended regex> [<note>]: one line per node, running (pid and port) or
# stopped, with " (<note>)" appended when given; status 3 when none runs, 0 otherwise.
nodes_status() {
  local label="$1" count="$2" pattern="$3" note="${4:+ ($4)}" i pid up=0
  for ((i = 1; i <= count; i++)); do
    if pid="$(pid_from_file "$(node_pidfile "$i")" "$pattern")"; then
      printf '%-9s running  pid %s  127.0.0.1:%s%s\n' "$label-$i" "$pid" "$(node_port "$i")" "$note"
      up=1
    else
      printf '%-9s stopped%s\n' "$label-$i" "$note"
    fi
  done
  ((up)) || return 3
}
