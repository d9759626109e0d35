"""The page's pure parts: escaping of what people named their files, download names, headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from web import results_html
from web.job_results import JobResults, StoredFile
from web.jobs_bridge import JobsFulfilment
from web.results_page import _csp, content_disposition, download_name

from .conftest import FinishedJobs

HOSTILE = '<img src=x onerror=alert(1)>"/../../etc/passwd'


def view(title: str, **overrides: object) -> results_html.PageView:
    values: dict[str, object] = dict(
        token="job.1.abc",
        title=title,
        preview=False,
        clip_s=185.0,
        start_s=None,
        stems=[
            results_html.StemView("vocals", ".flac", 3_500_000),
            results_html.StemView("instrumental", None, None),
        ],
        has_waveform=True,
        expires=1_800_000_000,
    )
    values.update(overrides)
    return results_html.PageView(**values)  # type: ignore[arg-type]


def test_a_hostile_title_is_text_not_markup() -> None:
    page = results_html.results_page(view(HOSTILE))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Full song, 3:05." in page and "FLAC, 3.3 MB" in page
    assert page.count("<audio ") == 1 and "This file is no longer stored." in page
    assert '<time datetime="2027-01-15T08:00+00:00">15 Jan 2027, 08:00 UTC</time>' in page
    preview = results_html.results_page(view("Song", preview=True, clip_s=30.0, start_s=42.0))
    assert "Free preview: 0:30 from 0:42." in preview
    message = results_html.message_page(HOSTILE, HOSTILE)
    assert "<img" not in message


def test_download_names_and_disposition() -> None:
    results = JobResults("j", False, HOSTILE, "telegram", "1", "v1", None, 1.0, None, {})
    name = download_name(results, "vocals", ".mp3")
    assert "/" not in name and "<" not in name and '"' not in name and name.endswith("(vocals).mp3")
    preview = JobResults("j", True, "Café «Noir»", "telegram", "1", "v1", None, 1.0, 0.0, {})
    assert download_name(preview, "instrumental", ".wav") == "Café Noir (instrumental, preview).wav"
    assert content_disposition("attachment", 'Café "x" (vocals).mp3') == (
        'attachment; filename="Caf_ _x_ (vocals).mp3"; '
        "filename*=UTF-8''Caf%C3%A9%20%22x%22%20%28vocals%29.mp3"
    )


def test_presigned_storage_origin_is_the_only_other_source() -> None:
    files = {
        "vocals": StoredFile("https://bucket.s3.example.test/results/j/vocals.mp3?X-Amz=1", ".mp3"),
        "waveform": StoredFile(Path("/srv/waveform.png"), ".png", 10),
    }
    csp = _csp(files)
    assert "media-src 'self' https://bucket.s3.example.test;" in csp
    assert "default-src 'none'" in csp and results_html.CSP_STYLE_HASH in csp


def test_unknown_or_unfinished_jobs_have_no_results(
    finished_jobs: FinishedJobs, make_song: Callable[..., Path]
) -> None:
    bridge = JobsFulfilment(finished_jobs.queue, ledger=None)  # type: ignore[arg-type]
    assert bridge.job_results("no-such-job") is None
    waiting = finished_jobs.queue.submit("999", "telegram", "999", make_song(1.0, seed=9))
    assert not waiting.finished and bridge.job_results(waiting.id) is None  # no worker runs now
    results = bridge.job_results(finished_jobs.preview.id)
    assert results is not None and results.preview and results.title == "Night Drive"
    assert set(results.files) == {"vocals", "instrumental", "waveform"}
    assert results.clip_s == 3.0 and results.user_id == "4242"


def test_key_and_tempo_are_shown_and_a_different_preview_is_noted() -> None:
    from engine.analysis import MAJOR, MINOR, Analysis, Key

    whole = Analysis(bpm=124.2, tempo_confidence=0.6, key=Key(9, MINOR), key_confidence=0.2)
    preview = Analysis(bpm=124.0, tempo_confidence=0.6, key=Key(0, MAJOR), key_confidence=0.2)
    page = results_html.results_page(view("Song", analysis=whole, preview_analysis=preview))
    assert "124 BPM · A minor · 8A (whole song)" in page
    assert "The preview said 124 BPM · C major · 8B: the whole song decides." in page
    unsure = Analysis(bpm=90.0, tempo_confidence=0.6, key=Key(1, MAJOR), key_confidence=0.01)
    assert "90 BPM · key unclear" in results_html.results_page(view("Song", analysis=unsure))
    guess = Analysis(bpm=90.0, tempo_confidence=0.01, key=Key(1, MAJOR), key_confidence=0.01)
    assert "Tempo and key" not in results_html.results_page(view("Song", analysis=guess))
    assert "Tempo and key" not in results_html.results_page(view("Song"))
