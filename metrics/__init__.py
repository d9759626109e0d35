"""The figures every process exports to Prometheus (``prometheus_client``): what is counted
(:mod:`metrics.families`), where it is served (:mod:`metrics.settings`,
:mod:`metrics.endpoint`). docs/OPERATIONS.md lists them with the dashboard and the alerts.

Beneath every room but ``service``: the pipeline, people, payments, the web server and the bots
record into it; it imports nothing of ours but ``service``.
"""

from metrics import families
from metrics.endpoint import serve, serve_on
from metrics.settings import MetricsSettings

__all__ = ["MetricsSettings", "families", "serve", "serve_on"]
