"""The monitoring examples hang together: the compose file mounts files that exist where
the configurations expect them, and the traffic generator runs. (The PromQL inside is
checked against a real Prometheus in ``test_prometheus_server.py``; Docker is not needed.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.prometheus_server import COMPOSE, DASHBOARD, PROMETHEUS_CONFIG, REPO


def mounts(service: dict) -> dict[str, Path]:
    """Container path -> host path of a compose service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        host, container = volume.split(":")[:2]
        found[container] = (COMPOSE.parent / host).resolve()
    return found


def test_compose_mounts_what_prometheus_and_grafana_read() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    prometheus = mounts(services["prometheus"])
    assert prometheus["/etc/prometheus/prometheus.yml"] == PROMETHEUS_CONFIG
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    for rule_file in config["rule_files"]:
        mounted = prometheus[f"/etc/prometheus/{rule_file}"]
        assert mounted.is_file()
        assert mounted == PROMETHEUS_CONFIG.parent / rule_file  # what promtool checks
    [job] = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["host.docker.internal:9464"]
    assert "host.docker.internal:host-gateway" in services["prometheus"]["extra_hosts"]

    grafana = mounts(services["grafana"])
    provisioning = grafana["/etc/grafana/provisioning"]
    [datasource] = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    [provider] = yaml.safe_load((provisioning / "dashboards" / "llmtrace.yaml").read_text())[
        "providers"
    ]
    folder = provider["options"]["path"]
    dashboards = [c for c, h in grafana.items() if c.startswith(folder + "/")]
    assert [grafana[c] for c in dashboards] == [DASHBOARD]


def test_dashboard_panels_use_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    names = [v["name"] for v in dashboard["templating"]["list"]]
    assert names == ["datasource", "job", "model", "prompt"]
    titles = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        titles.append(panel["title"])
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    for wanted in ("Calls / s", "Error rate", "p95", "first chunk", "Tokens / s", "per hour",
                   "prompt version", "variant", "Budget"):  # fmt: skip
        assert [t for t in titles if wanted in t], wanted


def test_the_traffic_generator_runs() -> None:
    script = REPO / "examples" / "grafana" / "traffic.py"
    result = subprocess.run(
        [sys.executable, str(script), "--calls", "8", "--port", "0", "--host", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "serving metrics at http://127.0.0.1:" in result.stdout
    assert "8 calls" in result.stdout
