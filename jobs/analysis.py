"""Key and tempo with every song: its own small job after the stems, kept with them, announced.

When a preview or full job has published its stems (its DONE event) and ended, its worker puts
one analysis job in line on the ``analysis`` queue (:func:`enqueue`, from
``jobs.worker.WarmWorker.handle_job_success``), which workers take after previews and before
full songs: the analysis never delays anyone's preview, and it takes seconds. That job
(:func:`run`) decodes what the answer is about — the full job's whole stored instrumental, the
preview's :data:`PREVIEW_SOURCE` (chosen by ``bench/key_tempo.py``, docs/BENCHMARKS.md) — runs
:func:`engine.analysis.analyse`, and

* stores the answer beside the stems as ``results/<job>/analysis.json`` (with the beat grid), so
  retention and ``/forget`` treat it as they treat them;
* writes it on the record as ``analysis`` (the summary, no beats: what bots and the results page
  show), which a same-song cache answer copies with the outputs;
* announces it by an event of kind :data:`ANALYSIS_KIND` (type DONE) on the job's stream, which
  the bot turns into an edit of the song's status message. A bot that knows no such kind sees a
  DONE for a job it already delivered and does nothing.

Invariant: the analysis is never on the critical path. It is queued only after the job's DONE,
and any failure (too short, silent, a bug, storage, the queue) is logged and dropped, never
retried and never told: the stems have already gone out, the person simply sees no numbers.
Nothing is written or published for a record deleted meanwhile (/forget).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import redis
from rq import Queue

from jobs import keys, lifecycle
from jobs.events import EventType
from jobs.records import JobKind, JobRecord, JobStatus, RecordStore
from jobs.scripts import script
from jobs.settings import Settings
from jobs.storage import Storage

if TYPE_CHECKING:
    from engine.analysis import Analysis

log = logging.getLogger(__name__)

ANALYSIS_KIND = "analysis"  # JobEvent.kind: the job's key and tempo are on its record now
ANALYSIS_FILE = "analysis.json"
# What a preview's analysis decodes (bench/key_tempo.py, "Key and tempo"): "mixture" (the song
# as sent, whole) or "preview" (the preview's 30-second instrumental).
PREVIEW_SOURCE = "mixture"
TASK = "jobs.analysis.run"
RQ_ID_PREFIX = "analysis-"
TIMEOUT_S = 120  # a 20-minute song decodes and is analysed (10 minutes of it) in about 15 s
# Longer songs are analysed on their first ten minutes: tempo and key are settled by then, and
# the time stays bounded (about 2.5 s per 4 minutes here).
MAX_ANALYSED_S = 600.0

# KEYS: the record, its platform's stream. ARGV: the summary JSON, max length, the event's data.
# Writes and announces only while the record exists: after /forget nothing names the person.
_SAVE_SCRIPT = script("""
if redis.call('HEXISTS', KEYS[1], 'id') == 0 then
    return 0
end
redis.call('HSET', KEYS[1], 'analysis', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'data', ARGV[3])
return 1
""")


# Importing librosa and numba's first compile of its beat tracker take seconds (10 s on these
# busy cores): done once per worker process, beside the model's load, not in a person's job.
WARM_UP_WAIT_S = 120.0
_warm_up: threading.Thread | None = None


def warm_up_in_background() -> threading.Thread:
    """Start :func:`engine.analysis.warm_up` on a thread (idempotent); the worker takes jobs
    meanwhile, and the first analysis waits for it (:func:`analyse_and_publish`)."""
    global _warm_up
    if _warm_up is None:
        from engine.analysis import warm_up

        def run() -> None:
            try:
                warm_up()
            except Exception:
                log.warning("warming up the key and tempo analysis failed", exc_info=True)

        _warm_up = threading.Thread(target=run, name="analysis-warm-up", daemon=True)
        _warm_up.start()
    return _warm_up


def analysis_key(job_id: str) -> str:
    return f"results/{job_id}/{ANALYSIS_FILE}"


def enqueue(connection: redis.Redis, settings: Settings, record: JobRecord) -> None:
    """Put ``record``'s analysis in line (once per job: the RQ id is the job's). A failure to
    enqueue is logged and dropped: the stems went out, only the numbers are missing."""
    try:
        Queue(keys.ANALYSIS_QUEUE, connection=connection).enqueue_call(
            TASK,
            args=(record.id,),
            job_id=f"{RQ_ID_PREFIX}{record.id}",
            timeout=TIMEOUT_S,
            result_ttl=int(settings.retention_s),
            failure_ttl=int(settings.retention_s),
            # ids only, never a person or a file name
            description=f"key and tempo of job {record.id} from {record.platform}",
        )
    except redis.RedisError:
        log.warning("could not queue the analysis of job %s", record.id, exc_info=True)


def source_key(record: JobRecord) -> str | None:
    """The stored audio ``record``'s answer is about: a full job's instrumental; a preview's
    song as sent, or its instrumental (:data:`PREVIEW_SOURCE`)."""
    if record.kind is JobKind.PREVIEW and PREVIEW_SOURCE == "mixture":
        return record.input_key or None
    return record.outputs.get("instrumental")


def run(job_id: str) -> bool:
    """The task: decode, analyse, store, announce; True if an answer was published. Never
    raises for a song it cannot analyse (that is logged): no retry, no failure event."""
    from engine.audio import decode
    from engine.constants import SAMPLE_RATE
    from jobs.tasks import get_context  # the worker's process-wide connections and settings

    ctx = get_context()
    record = RecordStore(ctx.connection, ctx.settings.record_ttl_s).get(job_id)
    if record is None or record.status is not JobStatus.DONE or record.analysis:
        return False  # forgotten, or already answered
    key = source_key(record)
    if key is None:
        return False
    try:
        with tempfile.TemporaryDirectory(prefix=f"vr-analysis-{job_id[:8]}-") as tmp:
            path = ctx.storage.get_file(key, Path(tmp) / Path(key).name)
            audio = decode(path, max_duration_s=ctx.settings.max_duration_s, allow_silence=True)
    except Exception:
        log.warning("could not read %s to analyse job %s", key, job_id, exc_info=True)
        return False
    result = analyse_and_publish(
        ctx.connection, ctx.storage, record, audio, SAMPLE_RATE, ctx.settings.events_maxlen
    )
    return result is not None


def analyse_and_publish(
    connection: redis.Redis,
    storage: Storage,
    record: JobRecord,
    audio: np.ndarray,
    sr: int,
    events_maxlen: int,
) -> Analysis | None:
    """Analyse ``audio`` for ``record`` (already DONE), store and announce the answer. Returns
    it, or None when the analysis failed (logged; the job stays as it is)."""
    from engine.analysis import analyse

    if _warm_up is not None:
        _warm_up.join(WARM_UP_WAIT_S)
    began = time.monotonic()
    try:
        result = analyse(audio[..., : int(MAX_ANALYSED_S * sr)], sr)
        storage.put_bytes(analysis_key(record.id), result.to_json().encode())
        summary = result.to_json(beats=False)
        event = lifecycle.event_for(record, EventType.DONE, progress=100)
        event.kind = ANALYSIS_KIND
        saved = _SAVE_SCRIPT(
            keys=[keys.record(record.id), keys.events(record.platform)],
            args=[summary, events_maxlen, event.to_fields()["data"]],
            client=connection,
        )
    except Exception:
        log.warning("key and tempo analysis of job %s failed", record.id, exc_info=True)
        return None
    if not saved:  # forgotten while we worked: leave nothing of theirs behind
        storage.delete(analysis_key(record.id))
        return None
    record.analysis = summary
    log.info(
        "job %s: %.1f BPM, key %s (confidence %.2f) in %.2f s",
        record.id,
        result.bpm,
        result.camelot,
        result.key_confidence,
        time.monotonic() - began,
    )
    return result


def summary_of(record: JobRecord) -> Analysis | None:
    """The record's key and tempo, if its analysis has finished (and parses)."""
    if not record.analysis:
        return None
    from engine.analysis import Analysis

    try:
        return Analysis.from_json(record.analysis)
    except (ValueError, KeyError, TypeError):
        log.warning("job %s has an unreadable analysis", record.id)
        return None
