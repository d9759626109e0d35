"""``/metrics`` on a process's own internal port (:class:`metrics.settings.MetricsSettings`).

:func:`serve` starts prometheus_client's HTTP server in a daemon thread. A port already taken
stops the process at start-up (two processes on one port would each export half the figures).
The listening socket is closed in any child forked afterwards (RQ forks its scheduler from the
worker): a child holding it would keep the port after its parent died, and the restarted
worker could not bind it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from metrics.settings import MetricsSettings

log = logging.getLogger(__name__)


class MetricsPortError(SystemExit):
    """The metrics port could not be opened."""


def serve(settings: MetricsSettings, process: str, registry: CollectorRegistry = REGISTRY) -> int | None:
    """Serve ``registry`` on ``process``' port; returns the port, or None when metrics are off.
    ``settings.port == 0`` is not allowed by the settings; tests use :func:`serve_on`."""
    port = settings.port_of(process)
    if port is None:
        return None
    return serve_on(settings.host, port, registry)


def serve_on(host: str, port: int, registry: CollectorRegistry = REGISTRY) -> int:
    """Serve ``registry`` on ``host:port`` (0: any free port); returns the port bound."""
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as err:
        raise MetricsPortError(f"cannot serve /metrics on {host}:{port}: {err}") from None
    _close_in_children(server)
    bound = int(server.server_port)
    log.info("metrics on http://%s:%d/metrics", host, bound)
    return bound


def _close_in_children(server: Any) -> None:
    def close() -> None:
        try:
            server.socket.close()
        except OSError:
            pass

    os.register_at_fork(after_in_child=close)
