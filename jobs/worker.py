"""The worker process: load the model once, keep it warm, run jobs in this very process.

Why not RQ's default forking ``Worker``: it forks a fresh child (the "work horse") for every job.
On these machines a parent that has run a torch operation before forking makes every job hang
until its timeout (torch's CPU thread pool does not survive ``fork``), and a CUDA context can never
be used from a forked child. Forking before torch runs would mean loading the model in every
child, i.e. no warm model. So :class:`WarmWorker` extends RQ's non-forking ``SimpleWorker``; what
the work horse gave us we put back:

* a heartbeat thread keeps the job's RQ execution alive with a short TTL while it runs, so if this
  process dies (OOM, SIGKILL, a lost machine) RQ's registry clean-up — run by any other worker every
  ``WORKER_MAINTENANCE_S`` — notices within about ``WORKER_HEARTBEAT_TTL_S`` and retries the job
  (or fails it with an event the bot turns into a refund);
* job time limits still apply (RQ's SIGALRM death penalty works in the main thread);
* a crash takes the worker down with it: run it under a supervisor (compose ``restart:``,
  systemd, scripts/run.sh) — the model loads again in seconds.

One worker per GPU; any number of workers on any number of machines share one Redis (and S3 when
they do not share a disk). RQ's scheduler, which moves retries with backoff back onto the queues,
runs in a process RQ forks from the first worker; it never touches torch. Its lock is taken over
from a holder that is gone (``jobs/scheduler.py``) when a worker starts and at every maintenance
round, so retries are not held up for the lock's TTL after a crash.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

import redis
from rq import Queue, SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.worker import WorkerStatus

from jobs import analysis, keys, replies, retention
from jobs.records import JobStatus
from jobs.scheduler import NamedScheduler, take_over_abandoned_locks
from jobs.settings import Settings
from jobs.tasks import WorkerContext, init_context
from metrics import MetricsSettings, families
from metrics import serve as serve_metrics
from service import logs
from service.envconfig import load_or_exit

log = logging.getLogger(__name__)

# The separations whose result gets a key and tempo analysis after it (not karaoke renders).
ANALYSED_QUEUES = frozenset({keys.PREVIEW_QUEUE, keys.FULL_QUEUE})


class WarmWorker(SimpleWorker):
    """SimpleWorker plus a heartbeat thread while a job runs, and the retention sweep in its
    maintenance round."""

    heartbeat_interval_s: float = 10.0
    heartbeat_ttl_s: int = 60
    context: WorkerContext | None = None

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # Short, and kept fresh by the heartbeat thread: a dead worker's job is found quickly.
        return self.heartbeat_ttl_s

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run ``job`` with its heartbeat; every line logged meanwhile names the song's job id
        and platform, and the attempt's wall time goes to ``vr_job_duration_seconds``."""
        execution = self.prepare_execution(job)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(job, execution, stop), name="rq-heartbeat", daemon=True
        )
        beat.start()
        started = time.monotonic()
        try:
            with logs.about_job(*self._about(job)):
                self.perform_job(job, queue, execution)
        finally:
            stop.set()
            beat.join()
            families.JOB_DURATION.labels(families.bounded(queue.name, families.QUEUES)).observe(
                time.monotonic() - started
            )
        self.set_state(WorkerStatus.IDLE)

    def _about(self, job: Job) -> tuple[str, str]:
        """The song's job id (every task's first argument; an analysis or karaoke RQ job has
        an id of its own) and its platform, for the log lines of the attempt."""
        job_id = str(job.args[0]) if job.args else job.id
        try:
            platform = self.connection.hget(keys.record(job_id), "platform")
        except redis.RedisError:
            platform = None
        return job_id, replies.text(platform) if platform else ""

    def handle_job_success(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: StartedJobRegistry,
        execution: Execution,
    ) -> None:
        """RQ's own bookkeeping of a finished job, then, for a separation that ended DONE, its
        key and tempo put in line (jobs/analysis.py): queued only once the job has ended for
        RQ too, so the analysis can never hold up the stems or look like a running song."""
        super().handle_job_success(job, queue, started_job_registry, execution)
        if queue.name not in ANALYSED_QUEUES or self.context is None:
            return
        try:
            record = self.context.records.get(job.id)
        except redis.RedisError:
            log.warning("could not read job %s to queue its analysis", job.id, exc_info=True)
            return
        if record is not None and record.status is JobStatus.DONE and not record.analysis:
            analysis.enqueue(self.connection, self.context.settings, record)

    def _beat(self, job: Job, execution: Execution, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_interval_s):
            try:
                self.maintain_heartbeats(job, execution)
            except redis.RedisError:
                log.warning("heartbeat for job %s failed; retrying", job.id, exc_info=True)

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """RQ's own start-up of the scheduler, with a :class:`NamedScheduler` and after taking
        over the locks of schedulers that are gone."""
        self._take_over_scheduler_locks()
        self.scheduler = NamedScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def _take_over_scheduler_locks(self) -> None:
        try:
            take_over_abandoned_locks(self.connection, self.queue_names())
        except redis.RedisError:
            log.warning("could not check the scheduler locks", exc_info=True)

    def run_maintenance_tasks(self) -> None:
        # Freed locks are acquired (and our scheduler started) by RQ's maintenance below.
        self._take_over_scheduler_locks()
        super().run_maintenance_tasks()
        if self.context is not None:
            try:
                retention.sweep_if_due(self.context.storage, self.connection, self.context.settings)
            except Exception:
                log.exception("retention sweep failed")


def build_worker(settings: Settings, context: WorkerContext, name: str | None = None) -> WarmWorker:
    connection = redis.Redis.from_url(settings.redis_url)
    queues = [Queue(name_, connection=connection) for name_ in keys.QUEUES]
    # RQ's idle dequeue waits worker_ttl - 15 s between maintenance rounds: tie it to ours.
    worker = WarmWorker(
        queues,
        connection=connection,
        name=name or f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}",
        worker_ttl=settings.maintenance_interval_s + 15,
        maintenance_interval=settings.maintenance_interval_s,
    )
    worker.heartbeat_interval_s = settings.worker_heartbeat_s
    worker.heartbeat_ttl_s = settings.worker_heartbeat_ttl_s
    worker.context = context
    return worker


def main() -> None:
    settings, log_settings, metrics_settings = load_or_exit(
        "worker", [Settings, logs.LogSettings, MetricsSettings]
    )
    logs.setup(log_settings, "worker", secrets=logs.secrets_of(settings))
    serve_metrics(metrics_settings, "worker")
    if settings.torch_num_threads:
        import torch

        torch.set_num_threads(settings.torch_num_threads)
    context = init_context(settings)
    log.info("model %s loaded on %s", context.model_version, context.model.device)
    worker = build_worker(settings, context)
    # RQ's own handlers: SIGTERM/SIGINT finish the current job, then exit (warm shutdown).
    worker.work(with_scheduler=True, logging_level="INFO")


if __name__ == "__main__":
    main()
