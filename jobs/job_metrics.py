"""What a worker counts of its jobs (``metrics.families``), in one place for every queue.

Counted in the worker process itself — RQ's ``SimpleWorker`` runs each job and its failure
callback here, no forked work horse — and each at the one step that happens once: a failure
when the job's end is written (``lifecycle.finish`` said it ended it now), a retry or a
time-limit kill in the failure callback of that attempt.
"""

from __future__ import annotations

from rq.timeouts import JobTimeoutException

from metrics import families


def attempt_failed(queue: str, exc_type: type[BaseException] | None, retrying: bool) -> None:
    """One attempt on ``queue`` failed: killed by its time limit or not; put back in line or not."""
    label = families.bounded(queue, families.QUEUES)
    if exc_type is not None and issubclass(exc_type, JobTimeoutException):
        families.JOB_TIMEOUTS.labels(label).inc()
    if retrying:
        families.JOB_RETRIES.labels(label).inc()


def ended_failed(queue: str, code: str) -> None:
    """A job on ``queue`` ended failed for good with error ``code``."""
    families.JOB_FAILURES.labels(
        families.bounded(queue, families.QUEUES), families.bounded(code, families.ERROR_CODES)
    ).inc()


def separated(kind: str, audio_s: float, wall_s: float) -> None:
    """A job of ``kind`` ran ``audio_s`` seconds of audio through the model in ``wall_s``."""
    if audio_s > 0 and wall_s > 0:
        families.SEPARATION_SPEED.labels(families.bounded(kind, families.JOB_KINDS)).observe(audio_s / wall_s)
