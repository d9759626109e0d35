"""Reading a process's ``/metrics`` the way Prometheus does, and the web server as a process.

:func:`scrape` fetches a ``/metrics`` page and parses it with prometheus_client's own parser
(:class:`Scrape`: every sample by name and labels); :func:`metrics_base_for` picks a
``METRICS_PORT`` under which a process of a given kind serves on a free port;
:class:`WebServerProcess` runs the real ``python -m web.server`` (which exports the deployment's
figures) against a test's Redis, storage and payments database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

import jobs
from metrics.settings import OFFSETS, WORKER_OFFSET
from testbed.redis_server import free_port
from testbed.workers import REPO, settings_env

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Scrape:
    """One ``/metrics`` page, parsed: ``samples[(name, labels)] = value``."""

    samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name`` whose labels include ``labels`` (summed when several match); 0
        when none does (a counter never incremented is not on the page)."""
        wanted = set(labels.items())
        return sum(v for (n, have), v in self.samples.items() if n == name and wanted <= have)

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}


def parse(text: str) -> Scrape:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(samples)


def scrape(url: str, timeout: float = 10.0) -> Scrape:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        assert response.status == 200
        return parse(response.read().decode())


def metrics_base_for(process: str, worker_index: int = 0) -> tuple[int, int]:
    """(``METRICS_PORT``, the port ``process`` will serve on): a free port minus its offset."""
    offset = WORKER_OFFSET + worker_index if process == "worker" else OFFSETS[process]
    while True:
        port = free_port()
        if port - offset >= 1024:
            return port - offset, port


def wait_for_scrape(url: str, process: subprocess.Popen[bytes], log: Path) -> Scrape:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            return scrape(url, timeout=2.0)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"process exited early:\n{log.read_text()[-3000:]}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"no /metrics at {url}:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.2)


class WebServerProcess:
    """``python -m web.server`` with its ``/metrics``; :meth:`stop` ends it."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, metrics_url: str) -> None:
        self.process = process
        self.log = log
        self.metrics_url = metrics_url

    @classmethod
    def start(
        cls, jobs_settings: jobs.Settings, database_url: str, log: Path, **overrides: str
    ) -> WebServerProcess:
        base, port = metrics_base_for("web")
        env = {
            **os.environ,
            **settings_env(jobs_settings),
            "DATABASE_URL": database_url,
            "STRIPE_WEBHOOK_SECRET": "whsec_test_metrics",
            "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": str(free_port()),
            "METRICS_PORT": str(base),
            "PYTHONPATH": str(REPO),
            **overrides,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "web.server"],
            cwd=REPO,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = cls(process, log, f"http://127.0.0.1:{port}/metrics")
        try:
            wait_for_scrape(server.metrics_url, process, log)
        except BaseException:
            server.stop()
            raise
        return server

    def scrape(self) -> Scrape:
        return scrape(self.metrics_url)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")
