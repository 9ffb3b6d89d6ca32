#!/bin/sh
# Kefu Pulse container entrypoint (deploy/Dockerfile): one role per container.
#
#   api          python -m api on 0.0.0.0:$KEFU_API_PORT (8000)
#   worker       python -m streams.worker (Prometheus metrics on $KEFU_WORKER_METRICS_PORT, 9102)
#   dispatcher   python -m streams.alerts.dispatcher (alert webhooks)
#   topics       python -m streams.kafka (creates every topic; a one-shot job before any worker)
#   simulate …   kefu-pulse simulate … (the Double-11 simulator)
#   healthcheck  the image's HEALTHCHECK: api → GET /readyz, worker → GET /healthz of its metrics
#                server, other roles → healthy while running
#   anything else is executed as given (e.g. `kefu-pulse report --shop S --day D`)
set -eu

ROLE_FILE="${TMPDIR:-/tmp}/kefu-role"

remember() { printf '%s\n' "$1" >"$ROLE_FILE" 2>/dev/null || true; }

http_ok() {
  exec python - "$1" <<'PY'
import sys
import urllib.request

try:
    urllib.request.urlopen(sys.argv[1], timeout=4)
except Exception as exc:  # HTTP 503 (not ready), refused, timeout
    sys.exit(f"unhealthy: {sys.argv[1]}: {exc}")
PY
}

role="${1:-api}"
[ "$#" -gt 0 ] && shift
case "$role" in
  api)
    remember api
    exec python -m api --host 0.0.0.0 --port "${KEFU_API_PORT:-8000}" "$@"
    ;;
  worker)
    remember worker
    # The `worker` label of its metrics: the container's hostname (the pod name on Kubernetes).
    KEFU_WORKER_NAME="${KEFU_WORKER_NAME:-$(cat /proc/sys/kernel/hostname 2>/dev/null || echo worker)}"
    export KEFU_WORKER_NAME
    exec python -m streams.worker "$@"
    ;;
  dispatcher)
    remember dispatcher
    exec python -m streams.alerts.dispatcher "$@"
    ;;
  topics)
    exec python -m streams.kafka "$@"
    ;;
  simulate)
    exec kefu-pulse simulate "$@"
    ;;
  healthcheck)
    case "$(cat "$ROLE_FILE" 2>/dev/null || echo other)" in
      api) http_ok "http://127.0.0.1:${KEFU_API_PORT:-8000}/readyz" ;;
      worker)
        if [ "${KEFU_WORKER_METRICS_PORT:-0}" != 0 ]; then
          http_ok "http://127.0.0.1:${KEFU_WORKER_METRICS_PORT}/healthz"
        fi
        exit 0
        ;;
      *) exit 0 ;;
    esac
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
