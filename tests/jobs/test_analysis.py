"""Key and tempo with every song (issue 23): a real worker analyses each finished job after its
stems are out, stores the answer with them, puts it on the record and announces it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf
from rq.job import Job

from engine.analysis import MINOR, Analysis, Key
from engine.constants import SAMPLE_RATE
from jobs import EventType, JobKind, JobQueue, JobStatus
from jobs.analysis import ANALYSIS_KIND, RQ_ID_PREFIX, analysis_key
from tests.conftest import e_minor_at_120

from .conftest import events_for, wait_for


def analysed(job_queue: JobQueue, job_id: str) -> str:
    """Wait for the job's analysis task to end; its record's ``analysis`` afterwards."""
    rq_job = f"{RQ_ID_PREFIX}{job_id}"
    wait_for(
        lambda: (
            Job.exists(rq_job, connection=job_queue.connection)
            and Job.fetch(rq_job, connection=job_queue.connection).is_finished
        ),
        what="the analysis job",
    )
    record = job_queue.get(job_id)
    assert record is not None
    return record.analysis


def test_preview_and_full_jobs_get_their_key_and_tempo_after_the_stems(
    job_queue: JobQueue, start_workers: Callable, tmp_path: Path
) -> None:
    start_workers(1)
    song = tmp_path / "click.wav"
    sf.write(song, e_minor_at_120(10.0), SAMPLE_RATE, subtype="PCM_16")
    preview = job_queue.submit("u1", "telegram", "c1", song)
    summary = analysed(job_queue, preview.id)
    assert summary
    result = Analysis.from_json(summary)
    assert result.bpm == pytest.approx(120.0, abs=1.0)  # the preview analyses the song as sent
    assert result.key == Key(4, MINOR) and result.camelot == "9A"
    assert result.beats == ()  # the record holds the summary; the beat grid is stored
    stored = json.loads(job_queue.storage.read_bytes(analysis_key(preview.id)))
    assert len(stored["beats"]) >= 15

    # Announced after the stems: the preview's DONE first, then the analysis.
    events = events_for(job_queue.connection, "telegram", preview.id)
    done = [e for e in events if e.type is EventType.DONE]
    assert [e.kind for e in done] == [JobKind.PREVIEW, ANALYSIS_KIND]
    assert done[1].user_id == "u1" and done[1].chat_id == "c1" and not done[1].outputs

    # The same song again is answered from the cache, numbers included.
    again = job_queue.submit("u2", "telegram", "c2", song)
    assert again.cached and again.analysis == summary

    # The paid job analyses the whole separated instrumental.
    full = job_queue.submit_full(preview.id, "order-1")
    full_summary = analysed(job_queue, full.id)
    assert full_summary and Analysis.from_json(full_summary).bpm == pytest.approx(120.0, abs=1.0)
    kinds = [
        e.kind for e in events_for(job_queue.connection, "telegram", full.id) if e.type is EventType.DONE
    ]
    assert kinds == [JobKind.FULL, ANALYSIS_KIND]


def test_a_song_whose_analysis_fails_still_gets_its_stems(
    job_queue: JobQueue, start_workers: Callable, make_song: Callable
) -> None:
    """1.5 seconds is too short to analyse (``engine.analysis.MIN_AUDIO_S``), not to separate."""
    start_workers(1)
    record = job_queue.submit("u1", "discord", "c1", make_song(1.5, seed=3), kind=JobKind.FULL)
    assert analysed(job_queue, record.id) == ""
    done = job_queue.get(record.id)
    assert done is not None and done.status is JobStatus.DONE
    assert set(done.outputs) == {"vocals", "instrumental", "waveform"}
    events = events_for(job_queue.connection, "discord", record.id)
    assert [e.kind for e in events if e.type is EventType.DONE] == [JobKind.FULL]
    assert not job_queue.storage.exists(analysis_key(record.id))
