"""Where a process serves ``/metrics``: ``METRICS_HOST``, ``METRICS_PORT`` and ``WORKER_INDEX``.

Every process of one host gets its own port, never the public web port: ``METRICS_PORT`` is the
first, and each process adds its fixed offset (:data:`OFFSETS`) — the web server 0, the
Telegram bot 1, the Discord bot 2, worker *i* 10 + *i* (``WORKER_INDEX``, which
``scripts/run.sh`` sets for each worker it starts). Empty ``METRICS_PORT`` serves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.envconfig import env_field, integer

# A process's place after METRICS_PORT; workers take WORKER_OFFSET + WORKER_INDEX.
OFFSETS = {"web": 0, "telegram": 1, "discord": 2}
WORKER_OFFSET = 10
MAX_WORKERS_PER_HOST = 64


@dataclass(frozen=True)
class MetricsSettings:
    host: str = env_field("METRICS_HOST", default="127.0.0.1")
    port: int | None = env_field(
        "METRICS_PORT", integer(1, 65535 - WORKER_OFFSET - MAX_WORKERS_PER_HOST), default=None
    )
    worker_index: int = env_field("WORKER_INDEX", integer(0, MAX_WORKERS_PER_HOST - 1), default=0)

    def port_of(self, process: str) -> int | None:
        """The port ``process`` ("web", "telegram", "discord" or "worker") serves on, if any."""
        if self.port is None:
            return None
        if process == "worker":
            return self.port + WORKER_OFFSET + self.worker_index
        return self.port + OFFSETS[process]
