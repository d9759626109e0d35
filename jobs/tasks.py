"""What a worker runs for a job: fetch → decode → separate → encode → store, with progress.

``process(job_id)`` is the function RQ calls (enqueued by name from :mod:`jobs.queue`);
``on_failure`` is its failure callback. The loaded model lives in a process-wide
:class:`WorkerContext`, created once when the worker starts (``worker.py``) and reused by every job,
which is why the worker class must not fork per job (see docs/PIPELINE.md).

Failure handling:

* bad audio (:class:`engine.errors.AudioError`) or a song deleted from storage is permanent: the
  job fails at once with its error's code and is never retried;
* anything else (storage or Redis hiccup, timeout, the worker dying mid-job) is transient: RQ
  retries it with backoff; ``on_failure`` publishes ``retrying`` or, once retries are spent, a
  final ``failed`` event (``refund=True`` for a paid job);
* a cancel request is seen at the next progress step and ends the job as ``cancelled``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import redis
from rq import get_current_job
from rq.job import Job
from rq.timeouts import JobTimeoutException

from engine.audio import decode, encode, preview_cut
from engine.constants import SAMPLE_RATE
from engine.errors import AudioError
from engine.karaoke import KaraokeSettings
from jobs import analysis, cache, job_metrics, keys, lifecycle, retention, wait
from jobs.delivery import end_without_results
from jobs.errors import InputExpiredError
from jobs.events import EventType
from jobs.karaoke_variants import render_karaoke
from jobs.records import KARAOKE_OUTPUT, JobKind, JobRecord, JobStatus, RecordStore
from jobs.settings import Settings
from jobs.storage import Storage, StorageError, open_storage
from jobs.timeouts import PREVIEW_CONTEXT_S, PREVIEW_SCAN_S
from service.errors import ErrorCode

log = logging.getLogger(__name__)

PROGRESS_EVENT_STEP = 5  # percent between two progress events
PROGRESS_EVENT_MIN_INTERVAL_S = 1.0  # and at least this long between them
WARMUP_SECONDS = 1.0
# Overall progress: decoding is quick, separation is most of the work, then encode + upload.
DECODED_AT = 5
SEPARATED_AT = 85

# Failures a retry cannot fix: the job fails at once with the error's code and parameters.
PERMANENT_ERRORS = (AudioError, InputExpiredError)


class JobCancelled(Exception):
    """Raised from the progress callback when the person cancelled a running job."""


@dataclass
class WorkerContext:
    """What a worker process holds between jobs: settings, connections and the warm model."""

    settings: Settings
    connection: redis.Redis
    storage: Storage
    records: RecordStore
    model: Any  # engine.predict.Separator
    model_version: str

    @classmethod
    def create(cls, settings: Settings, model: Any | None = None) -> WorkerContext:
        """Load the model once, run it once (so the first job is not slow), announce its
        version (the cache keys on it); the key and tempo analysis warms up meanwhile."""
        from engine.predict import load_model, separate

        connection = redis.Redis.from_url(settings.redis_url)
        if model is None:
            if not settings.model_path.is_file():
                raise FileNotFoundError(f"model checkpoint {settings.model_path} not found; set MODEL_PATH")
            model = load_model(settings.model_path, device=settings.device)
        analysis.warm_up_in_background()
        separate(np.zeros((2, int(WARMUP_SECONDS * SAMPLE_RATE)), dtype=np.float32), model)
        connection.set(keys.MODEL_VERSION, model.version)
        return cls(
            settings=settings,
            connection=connection,
            storage=open_storage(settings),
            records=RecordStore(connection, settings.record_ttl_s),
            model=model,
            model_version=model.version,
        )


_context: WorkerContext | None = None


def init_context(settings: Settings | None = None, model: Any | None = None) -> WorkerContext:
    global _context
    _context = WorkerContext.create(settings or Settings.from_env(), model)
    return _context


def get_context() -> WorkerContext:
    """The process's context, created on first use if the worker did not create it."""
    return _context if _context is not None else init_context()


# --------------------------------------------------------------------------- the job


def process(job_id: str) -> dict[str, str]:
    """Run one job to its end. Returns the stored outputs (name → storage key)."""
    ctx = get_context()
    record = ctx.records.get(job_id)
    if record is None:
        raise LookupError(f"job record {job_id} is missing")
    if record.finished:
        return dict(record.outputs)
    job = get_current_job()
    if record.cancel_requested:
        _end_cancelled(ctx, record)
        return {}
    started = time.time()
    ctx.records.update(
        job_id,
        status=JobStatus.RUNNING,
        progress=0,
        started_at=started,
        worker=os.environ.get("RQ_WORKER_ID", "") or (job.worker_name if job else "") or "",
        worker_pid=os.getpid(),
        model_version=ctx.model_version,
        error_code="",
        error_params={},
        error_message="",  # a record from before the catalogue: its old words go too
    )
    record.attempts = ctx.records.increment_attempts(job_id)
    reporter = ProgressReporter(ctx, record, job)
    try:
        if record.outputs:  # a paid karaoke order answered by stems already stored (submit_full)
            outputs, preview_start = dict(record.outputs), None
        else:
            outputs, preview_start = _run(ctx, record, reporter)
        if record.karaoke:
            outputs[KARAOKE_OUTPUT] = _render_karaoke(ctx, record, outputs, reporter)
    except PERMANENT_ERRORS as exc:
        if job is not None:
            job.retries_left = 0  # bad input, or the song is gone: retrying cannot help
        if end_without_results(
            ctx.connection,
            ctx.storage,
            record,
            JobStatus.FAILED,
            ctx.settings.events_maxlen,
            error_code=exc.code,
            error_params=exc.params,
        ):
            job_metrics.ended_failed(str(record.kind), exc.code)
        raise
    except JobCancelled:
        _end_cancelled(ctx, record)
        return {}
    record.model_version = ctx.model_version
    record.outputs = outputs
    if record.order_id:
        retention.pin(ctx.connection, outputs.values(), record.order_id)
    if lifecycle.finish(
        ctx.connection,
        record,
        JobStatus.DONE,
        ctx.settings.events_maxlen,
        outputs=outputs,
        preview_start_s=preview_start,
        cache_entry=cache.entry_for(ctx.settings, record),
    ):
        if record.kind is JobKind.PREVIEW:  # what admission's expected wait is made of
            try:
                wait.record_preview(ctx.connection, time.time() - started)
            except redis.RedisError:  # the stems are out: a lost measurement is only a figure
                log.warning("could not record the time of preview %s", job_id, exc_info=True)
    return outputs


def _run(
    ctx: WorkerContext, record: JobRecord, reporter: ProgressReporter
) -> tuple[dict[str, str], float | None]:
    from engine.predict import Stems

    with tempfile.TemporaryDirectory(prefix=f"vr-{record.id[:8]}-") as tmp:
        work = Path(tmp)
        try:
            source = ctx.storage.get_file(record.input_key, work / Path(record.input_key).name)
        except StorageError as exc:  # deleted (retention), not a hiccup: those raise otherwise
            raise InputExpiredError(record.input_key) from exc
        audio = decode(source, max_duration_s=ctx.settings.max_duration_s)
        reporter.report(DECODED_AT)
        if record.kind is JobKind.PREVIEW:
            start_s, mixture, stems = _separate_preview(ctx, audio, reporter)
        else:
            start_s = None
            mixture = audio
            stems = _separate(ctx, audio, reporter, DECODED_AT, SEPARATED_AT)
        job_metrics.separated(str(record.kind), reporter.separated_s, reporter.separating_s)
        del audio
        fmt = record.output_format
        files = {
            "vocals": encode(stems.vocals, work / f"vocals.{fmt}", fmt),
            "instrumental": encode(stems.instrumental, work / f"instrumental.{fmt}", fmt),
        }
        reporter.report(SEPARATED_AT + 5)
        from engine.waveform import render_waveforms

        files["waveform"] = render_waveforms(
            mixture, Stems(stems.vocals, stems.instrumental), work / "waveform.png"
        )
        reporter.report(SEPARATED_AT + 10)
        outputs: dict[str, str] = {}
        for name, path in files.items():
            key = f"results/{record.id}/{path.name}"
            ctx.storage.put_file(key, path)
            outputs[name] = key
        reporter.check_cancel()
        return outputs, start_s


def _render_karaoke(
    ctx: WorkerContext, record: JobRecord, outputs: dict[str, str], reporter: ProgressReporter
) -> str:
    """The full job's karaoke variant, from the stems just stored (no second separation)."""
    reporter.report(SEPARATED_AT + 10)
    key = render_karaoke(
        ctx.storage,
        record.id,
        outputs,
        KaraokeSettings.parse(record.karaoke),
        max_duration_s=ctx.settings.max_duration_s,
    )
    reporter.check_cancel()
    return key


def _separate(ctx: WorkerContext, audio: np.ndarray, reporter: ProgressReporter, low: int, high: int) -> Any:
    from engine.predict import separate

    started = time.monotonic()
    stems = separate(audio, ctx.model, progress=lambda f: reporter.report(low + (high - low) * f))
    reporter.separating_s += time.monotonic() - started
    reporter.separated_s += audio.shape[1] / SAMPLE_RATE
    return stems


def _separate_preview(
    ctx: WorkerContext, audio: np.ndarray, reporter: ProgressReporter
) -> tuple[float, np.ndarray, Any]:
    """Separate only what the preview needs: the opening ``PREVIEW_SCAN_S`` to find where the
    voice comes in, then (if the preview window runs past the scan) that window with a little
    context. A 4-minute song costs at most about two minutes of audio through the model."""
    from engine.activity import first_vocal_entry
    from engine.predict import Stems

    length_s = ctx.settings.preview_length_s
    total = audio.shape[1]
    total_s = total / SAMPLE_RATE
    scan_end = min(total, int(PREVIEW_SCAN_S * SAMPLE_RATE))
    middle = (DECODED_AT + SEPARATED_AT) // 2
    scanned = _separate(ctx, audio[:, :scan_end], reporter, DECODED_AT, middle)
    entry = first_vocal_entry(scanned.vocals)
    start_s = max(0.0, min(entry, total_s - length_s))
    if int(round((start_s + length_s) * SAMPLE_RATE)) <= scan_end or scan_end == total:
        base, stems = 0, scanned
    else:
        base = max(0, int((start_s - PREVIEW_CONTEXT_S) * SAMPLE_RATE))
        end = min(total, int((start_s + length_s + PREVIEW_CONTEXT_S) * SAMPLE_RATE))
        stems = _separate(ctx, audio[:, base:end], reporter, middle, SEPARATED_AT)
    offset_s = start_s - base / SAMPLE_RATE
    reporter.report(SEPARATED_AT)
    return (
        start_s,
        preview_cut(audio[:, base : base + stems.vocals.shape[1]], offset_s, length_s),
        Stems(
            vocals=preview_cut(stems.vocals, offset_s, length_s),
            instrumental=preview_cut(stems.instrumental, offset_s, length_s),
        ),
    )


class ProgressReporter:
    """Writes progress to the record and ``job.meta``, publishes throttled progress events, and
    turns a cancel request into :class:`JobCancelled` at the next step."""

    def __init__(self, ctx: WorkerContext, record: JobRecord, job: Job | None) -> None:
        self.ctx = ctx
        self.record = record
        self.job = job
        self.last_percent = -PROGRESS_EVENT_STEP
        self.last_event_at = 0.0
        # Audio run through the model so far and the time it took (the separation speed).
        self.separated_s = 0.0
        self.separating_s = 0.0

    def check_cancel(self) -> None:
        flag = self.ctx.connection.hget(keys.record(self.record.id), "cancel_requested")
        # No flag at all: the record was deleted (the person used /forget): stop as well.
        if flag is None or flag == b"1":
            raise JobCancelled(self.record.id)

    def report(self, percent: float) -> None:
        self.check_cancel()
        value = int(max(0, min(99, percent)))
        self.record.progress = value
        self.ctx.records.update(self.record.id, progress=value)
        if self.job is not None:
            self.job.meta["progress"] = value
            self.job.save_meta()
        now = time.monotonic()
        if (
            value - self.last_percent >= PROGRESS_EVENT_STEP
            and now - self.last_event_at >= PROGRESS_EVENT_MIN_INTERVAL_S
        ):
            self.last_percent, self.last_event_at = value, now
            lifecycle.announce(
                self.ctx.connection,
                self.record,
                EventType.PROGRESS,
                self.ctx.settings.events_maxlen,
                progress=value,
            )


def _end_cancelled(ctx: WorkerContext, record: JobRecord) -> None:
    """End a cancelled job. A cancel seen after the results were stored (the last check): nobody
    will fetch them, and they go *before* the end is announced, so whoever sees the job
    cancelled sees no results of it left."""
    for obj in list(ctx.storage.list(f"results/{record.id}/")):
        ctx.storage.delete(obj.key)
    end_without_results(
        ctx.connection,
        ctx.storage,
        record,
        JobStatus.CANCELLED,
        ctx.settings.events_maxlen,
        error_code=ErrorCode.CANCELLED,
    )


# --------------------------------------------------------------------------- failure callback


def on_failure(
    job: Job,
    connection: redis.Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: object,
) -> None:
    """RQ's failure callback: runs after every failed attempt, also for a job whose worker died
    (RQ's clean-up passes ``AbandonedJobError``), before RQ decides whether to retry."""
    settings = _context.settings if _context is not None else Settings.from_env()
    records = RecordStore(connection, settings.record_ttl_s)
    record = records.get(job.id)
    if record is None or record.finished:
        job_metrics.attempt_failed(job.origin, exc_type, retrying=False)
        return  # already ended (bad audio, cancel): nothing more to say
    job_metrics.attempt_failed(job.origin, exc_type, retrying=bool(job.retries_left))
    # The exception's class stays with the record, for operators; the code has the words.
    params = {"exception": exc_type.__name__ if exc_type else "unknown"}
    code = ErrorCode.JOB_TIMEOUT if exc_type is JobTimeoutException else ErrorCode.JOB_FAILED
    if job.retries_left:
        records.update(job.id, status=JobStatus.RETRYING, progress=0, error_code=code, error_params=params)
        record.progress = 0
        lifecycle.announce(
            connection,
            record,
            EventType.RETRYING,
            settings.events_maxlen,
            error_code=code,
            error_params=params,
        )
        return
    log.error("job %s failed for good: %s: %s", job.id, params["exception"], exc_value)
    storage = _context.storage if _context is not None else open_storage(settings)
    if end_without_results(
        connection,
        storage,
        record,
        JobStatus.FAILED,
        settings.events_maxlen,
        error_code=code,
        error_params=params,
    ):
        job_metrics.ended_failed(job.origin, code)
