"""The monitoring files (monitoring/, the compose profile ``monitoring``), read as Prometheus and
Grafana would: every service scraped on its own metrics port, every query of the dashboard and
every alert naming a metric the code exports, and the alert rules checked and unit-tested by
Debian's ``promtool`` (``monitoring/alerts_test.yml``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from metrics import families
from metrics.settings import OFFSETS, WORKER_OFFSET
from testbed.workers import REPO

MONITORING = REPO / "monitoring"
METRIC = re.compile(r"\bvr_[a-z_]+\b")
METRICS_PORT = 9400  # docker-compose.yml's
SCRAPED = {  # compose service -> the metrics offset of the process it runs
    "webhook": OFFSETS["web"],
    "telegram": OFFSETS["telegram"],
    "discord": OFFSETS["discord"],
    "worker": WORKER_OFFSET,
}


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _dashboard() -> dict:
    return json.loads((MONITORING / "grafana" / "dashboards" / "vocal-remover.json").read_text())


def test_every_dashboard_query_names_an_exported_metric() -> None:
    dashboard = _dashboard()
    exported = families.exported_names()
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Queue and latency", "Money", "Quality by model version"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    named: set[str] = set()
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "prometheus"
        for target in panel["targets"]:
            found = set(METRIC.findall(target["expr"]))
            assert found, (panel["title"], target["expr"])
            assert found <= exported, (panel["title"], found - exported)
            named |= found
    # Each family is on the dashboard (a histogram through one of its series).
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in named}
    every = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in exported}
    assert every <= shown, sorted(every - shown)
    datasource = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["uid"] == "prometheus"


def test_every_alert_names_an_exported_metric() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} >= {
        "PreviewsSlow",
        "QueueWaitingTooLong",
        "JobFailureRate",
        "RefundsSpike",
        "PaidOrdersUndelivered",
        "NoWorkerAlive",
    }
    for rule in rules:
        assert set(METRIC.findall(rule["expr"])) <= families.exported_names(), rule["alert"]


def test_prometheus_scrapes_every_service_on_its_own_internal_port() -> None:
    compose = _compose()
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"])
    assert compose["x-app"]["environment"]["METRICS_PORT"] == str(METRICS_PORT)
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    targets: dict[str, str] = {}
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, port = target.partition(":")
                targets[host] = port
        for dns in job.get("dns_sd_configs", []):
            for host in dns["names"]:
                targets[host] = str(dns["port"])
    assert targets == {name: str(METRICS_PORT + offset) for name, offset in SCRAPED.items()}
    for name in SCRAPED:  # the metrics ports are never published
        published = " ".join(services[name].get("ports", []))
        assert str(METRICS_PORT + SCRAPED[name]) not in published, name


@pytest.mark.apt
def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: apt-get install prometheus (scripts/setup.sh --dev)"
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        done = subprocess.run([promtool, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout
