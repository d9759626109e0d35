"""Finished jobs made by a real worker, and the payments HTTP app serving their results pages on
a loopback port (a real server in a thread, so plain ``http.client`` and a real browser can both
talk to it).

The jobs are made once per test session: a real ``redis-server``, one real ``python worker.py``
with the tiny model, and an 8-second generated song separated as a full job (MP3), a preview of
the same song, another person's full job (the one no page of ours may ever show), and a third
song as a full job in FLAC (``lossless``: its stems sum to the song exactly, for the mixer).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import soundfile as sf
from aiohttp import web

import jobs
import payments
from jobs import JobQueue, JobRecord, JobStatus
from testbed.redis_server import RedisServer
from testbed.workers import Workers, fast_settings
from tests.conftest import SAMPLE_RATE, tone_song
from tests.payments.conftest import db_url, make_settings, pay, settings, sqlite_url, user
from web.downloads import results_page_url
from web.jobs_bridge import JobsFulfilment, PageJobs
from web.server import build_app
from web.stem_cache import StemCache

# The store fixtures of the payments tests, for the server and download tests here.
__all__ = ["db_url", "pay", "settings", "sqlite_url", "user"]

OWNER = "4242"
OTHER_PERSON = "777"
SONG_S = 8.0
PREVIEW_S = 3.0
JOBS_TIMEOUT_S = 240.0


@dataclass(frozen=True)
class FinishedJobs:
    queue: JobQueue
    full: JobRecord
    preview: JobRecord
    other: JobRecord
    lossless: JobRecord
    songs: Path  # the generated songs, <seed>.wav

    @property
    def settings(self) -> jobs.Settings:
        return self.queue.settings

    def stored(self, job: JobRecord, name: str) -> Path:
        path = self.queue.output_path(job.id, name)
        assert path is not None
        return path


@pytest.fixture(scope="session")
def finished_jobs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[FinishedJobs]:
    root = tmp_path_factory.mktemp("results-page")
    redis_server = RedisServer(root / "redis")
    redis_server.start()
    settings = fast_settings(redis_server.url, root / "storage", tiny_model, preview_length_s=PREVIEW_S)
    queue = JobQueue(settings)
    workers = Workers(settings, root)
    try:
        songs = root / "songs"
        songs.mkdir()
        for seed in (1, 2, 3):
            sf.write(songs / f"{seed}.wav", tone_song(SONG_S, seed), SAMPLE_RATE, subtype="PCM_16")
        workers.start(1)
        submitted = [
            queue.submit(
                OWNER,
                "telegram",
                OWNER,
                songs / "1.wav",
                kind="full",
                output_format="mp3",
                filename="Night Drive.wav",
            ),
            queue.submit(
                OWNER, "telegram", OWNER, songs / "1.wav", kind="preview", filename="Night Drive.wav"
            ),
            queue.submit(
                OTHER_PERSON,
                "telegram",
                OTHER_PERSON,
                songs / "2.wav",
                kind="full",
                output_format="mp3",
                filename="Secret.wav",
            ),
            queue.submit(
                OWNER,
                "telegram",
                OWNER,
                songs / "3.wav",
                kind="full",
                output_format="flac",
                filename="Lossless.wav",
            ),
        ]
        deadline = time.monotonic() + JOBS_TIMEOUT_S
        while True:
            records = [queue.get(job.id) for job in submitted]
            if all(r is not None and r.finished for r in records):
                break
            assert time.monotonic() < deadline, f"jobs not done: {records}"
            time.sleep(0.2)
        assert all(r.status is JobStatus.DONE for r in records), records
    finally:
        workers.stop_all()  # the jobs are done: give the CPU back
    try:
        yield FinishedJobs(queue, *records, songs=songs)
    finally:
        redis_server.stop(kill=True)


class LiveServer:
    """An aiohttp app on 127.0.0.1:<port> (a free one by default), served by its own event loop
    in a thread."""

    def __init__(self, app: web.Application, port: int = 0) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.port = port
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> LiveServer:
        self._thread.start()
        assert self._ready.wait(30), "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Site:
    """The running app, its payments store and ways to reach it."""

    base: str
    pay: payments.Payments
    settings: payments.Settings
    jobs: FinishedJobs
    source: list[Callable[[str], object]]  # the page's result source; a test may wrap it

    def page_url(self, job: JobRecord, **kwargs: object) -> str:
        return results_page_url(self.settings, job.id, **kwargs)  # type: ignore[arg-type]

    def path(self, job: JobRecord, **kwargs: object) -> str:
        return urlsplit(self.page_url(job, **kwargs)).path

    def request(
        self, method: str, raw_path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> Reply:
        """One request with the path sent exactly as given (no client-side normalising)."""
        conn = http.client.HTTPConnection("127.0.0.1", int(urlsplit(self.base).port or 80), timeout=30)
        try:
            conn.request(method, raw_path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, raw_path: str, **headers: str) -> Reply:
        return self.request("GET", raw_path, {k.replace("_", "-"): v for k, v in headers.items()})


@pytest.fixture
def site(finished_jobs: FinishedJobs, tmp_path: Path) -> Iterator[Site]:
    settings = make_settings(f"sqlite:///{tmp_path / 'payments.sqlite3'}")
    pay = payments.Payments.open(settings)
    queue = finished_jobs.queue
    bridge = JobsFulfilment(queue, pay.ledger)
    source: list[Callable[[str], object]] = [bridge.job_results]
    app, _ = build_app(
        pay,
        pay.fulfilment(lambda order: None),
        locate_stem=bridge.locate_stem,
        job_results=lambda job_id: source[0](job_id),  # type: ignore[arg-type,return-value]
        page_tools=PageJobs(queue, StemCache(queue.storage.get_file, tmp_path / "stems")).tools(),
    )
    try:
        with LiveServer(app) as server:
            base = f"http://127.0.0.1:{server.port}"
            yield Site(base, pay, replace(settings, public_base_url=base), finished_jobs, source)
    finally:
        pay.close()
