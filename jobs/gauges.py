"""The pipeline's deployment-wide figures, read from Redis when Prometheus scrapes.

Queue depths, the oldest waiting job's age, running jobs and workers alive describe the whole
deployment, not a process: they are read at scrape time (a prometheus_client custom collector)
by the one process that registers :class:`PipelineCollector` — the web server — so adding bots
or workers never counts them twice, and they can never drift from what Redis holds.

``vr_queue_oldest_wait_seconds`` is what people in line have waited so far, and
``vr_preview_expected_wait_seconds`` what a song sent now would wait — the figure admission
decides by (``jobs.wait``, from the workers' measured ``vr_preview_worker_seconds``): what an
autoscaler scales workers on (docs/OPERATIONS.md).
A Redis that does not answer makes these families absent from the scrape (and logs why), never
a failed scrape: the process's own figures still go out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rq import Queue
from rq.job import Job
from rq.worker_registration import REDIS_WORKER_KEYS

from jobs import keys, replies
from jobs.wait import WaitEstimate
from metrics import families

log = logging.getLogger(__name__)

# How many ids at the head of a queue are looked at for the oldest waiting job (ids whose job
# is gone are skipped).
HEAD_LOOKED_AT = 5


class PipelineCollector(Collector):
    """``vr_queue_depth``, ``vr_queue_oldest_wait_seconds`` and ``vr_jobs_running`` per queue,
    ``vr_workers_alive``, and — given ``expected_wait`` (``JobQueue.expected_wait``) — the
    expected wait of a preview sent now and the preview time per worker it is worked out from."""

    def __init__(
        self, connection: redis.Redis, expected_wait: Callable[[], WaitEstimate] | None = None
    ) -> None:
        self.connection = connection
        self.expected_wait = expected_wait

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # collected on each scrape only: registering must not touch Redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            gauges = self._read()
        except redis.RedisError:
            log.warning("could not read the queues for /metrics", exc_info=True)
            return
        yield from gauges

    def _read(self) -> list[GaugeMetricFamily]:
        depth = GaugeMetricFamily(families.QUEUE_DEPTH, "Jobs waiting in each queue.", labels=["queue"])
        oldest = GaugeMetricFamily(
            families.QUEUE_OLDEST_WAIT,
            "How long the oldest job waiting in each queue has waited (0 when none waits).",
            labels=["queue"],
        )
        running = GaugeMetricFamily(families.JOBS_RUNNING, "Jobs running now, by queue.", labels=["queue"])
        now = time.time()
        for name in keys.QUEUES:
            queue = Queue(name, connection=self.connection)
            depth.add_metric([name], queue.count)
            oldest.add_metric([name], self._oldest_wait(queue, now))
            running.add_metric([name], queue.started_job_registry.get_job_count(cleanup=False))
        alive = GaugeMetricFamily(families.WORKERS_ALIVE, "Workers registered and heard from.")
        alive.add_metric([], self._workers_alive())
        gauges = [depth, oldest, running, alive]
        if self.expected_wait is not None:
            estimate = self.expected_wait()
            wait = GaugeMetricFamily(
                families.PREVIEW_EXPECTED_WAIT,
                "Seconds a free preview sent now would wait until it is in its chat (admission's figure).",
            )
            wait.add_metric([], estimate.seconds)
            per_worker = GaugeMetricFamily(
                families.PREVIEW_WORKER_SECONDS,
                "Seconds of a worker per preview: the workers' moving average (or the prior before any).",
            )
            per_worker.add_metric([], estimate.preview_s)
            gauges += [wait, per_worker]
        return gauges

    def _oldest_wait(self, queue: Queue, now: float) -> float:
        # The head of the list is the oldest waiting job (RQ appends, workers pop the head); a
        # head whose job hash is gone (deleted, expired) is skipped over by RQ too.
        for job in Job.fetch_many(queue.get_job_ids(0, HEAD_LOOKED_AT - 1), connection=self.connection):
            if job is not None and job.enqueued_at is not None:
                enqueued = job.enqueued_at
                if enqueued.tzinfo is None:  # RQ writes UTC
                    enqueued = enqueued.replace(tzinfo=UTC)
                return max(0.0, now - enqueued.timestamp())
        return 0.0

    def _workers_alive(self) -> int:
        # RQ's set of workers keeps a dead one until a maintenance round cleans it; its hash
        # expires with its TTL, so only workers whose hash still exists are alive.
        names = [replies.text(k) for k in self.connection.smembers(REDIS_WORKER_KEYS)]
        if not names:
            return 0
        pipe = self.connection.pipeline()
        for name in names:
            pipe.exists(name)
        return sum(1 for found in pipe.execute() if found)
