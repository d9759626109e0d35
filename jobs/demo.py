"""``python -m jobs.demo [SONG]``: one song through the real queue and worker, as a person would.

Sends the bundled demo song (or SONG) as a preview, prints progress from the event stream, then
"pays" and runs the full-song job, and prints where the stems and the waveform picture are. Needs
a running Redis and ``python worker.py``. ``scripts/run.sh`` runs ``python -m web.demo``, which
is this demo with a real order in the ledger and the songs' results pages (:class:`DemoSession`
is what both share).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis

from jobs import EventConsumer, EventType, JobQueue, JobRecord, JobStatus, Settings
from service import logs
from service.envconfig import load_or_exit
from texts import error_text

DEMO_SONG = Path(__file__).resolve().parent.parent / "assets/demo/demo-song.mp3"
PLATFORM = "demo"
WORKER_WAIT_S = 300.0
JOB_WAIT_S = 900.0


def _wait_for_worker(queue: JobQueue) -> None:
    deadline = time.monotonic() + WORKER_WAIT_S
    while queue.model_version() is None:
        if time.monotonic() > deadline:
            sys.exit("no worker announced a model; is `python worker.py` running?")
        time.sleep(0.5)


async def _follow(queue: JobQueue, record: JobRecord, consumer: EventConsumer) -> JobRecord:
    """Print this job's events until it ends; return its final record."""
    if record.finished:
        return record
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        for event in await consumer.read(block_ms=1000):
            await consumer.ack(event)
            if event.job_id != record.id:
                continue
            if event.type is EventType.PROGRESS:
                print(f"  {record.kind}: {event.progress:3d}%", flush=True)
            elif event.type is EventType.RETRYING:
                print(f"  {record.kind}: retrying after {event.error_code}", flush=True)
            else:
                final = queue.get(record.id)
                assert final is not None
                return final
    sys.exit(f"job {record.id} did not finish in {JOB_WAIT_S:.0f} s")


def _show(queue: JobQueue, record: JobRecord, out_dir: Path) -> None:
    if record.status is not JobStatus.DONE:
        said = error_text(record.error_code, **record.error_params) or record.error_message
        sys.exit(f"{record.kind} job {record.status}: {said or record.error_code}")
    note = " (from the cache: this song was separated before)" if record.cached else ""
    print(f"{record.kind} ready{note}:")
    for name in ("vocals", "instrumental", "waveform"):
        path = queue.output_path(record.id, name)
        if path is None:  # remote storage: copy it here
            key = record.outputs[name]
            path = queue.fetch_output(record.id, name, out_dir / record.kind / Path(key).name)
        print(f"  {name:<13}{path}")


class DemoSession:
    """One demo person's songs through the queue, each followed on the event stream until it
    ends and its files printed."""

    def __init__(self, queue: JobQueue, consumer: EventConsumer, out_dir: Path) -> None:
        self.queue = queue
        self.consumer = consumer
        self.out_dir = out_dir

    async def preview(self, song: Path, user: str = "demo-user") -> JobRecord:
        """Send ``song`` for a free preview; returns its finished record (printed)."""
        print(f"sending {song.name} for a free preview ...", flush=True)
        preview = self.queue.submit(user, PLATFORM, "demo-chat", song, filename=song.name)
        preview = await _follow(self.queue, preview, self.consumer)
        _show(self.queue, preview, self.out_dir)
        if preview.preview_start_s is not None:
            print(f"  (the preview starts at {preview.preview_start_s:.1f} s, where the voice comes in)")
        return preview

    async def finish(self, record: JobRecord) -> JobRecord:
        """Follow a submitted job to its end; print its files, and mark them delivered."""
        final = await _follow(self.queue, record, self.consumer)
        _show(self.queue, final, self.out_dir)
        self.queue.mark_delivered(final.id)
        return final


@contextlib.asynccontextmanager
async def demo_session(settings: Settings) -> AsyncIterator[DemoSession]:
    """A :class:`DemoSession` once a worker has announced its model."""
    queue = JobQueue(settings)
    _wait_for_worker(queue)
    connection = aioredis.Redis.from_url(settings.redis_url)
    consumer = EventConsumer(connection, PLATFORM, group="demo", consumer="demo-cli")
    await consumer.ensure_group()
    try:
        yield DemoSession(queue, consumer, Path("out/demo"))
    finally:
        await connection.aclose()


async def run(song: Path, settings: Settings) -> None:
    """The preview, then the full song as if paid for (no ledger here: ``web.demo`` keeps one)."""
    async with demo_session(settings) as demo:
        preview = await demo.preview(song)
        print("paying for the full song ...")
        await demo.finish(demo.queue.submit_full(preview.id, order_id=f"demo-{int(time.time())}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", nargs="?", type=Path, default=DEMO_SONG)
    args = parser.parse_args()
    settings, log_settings = load_or_exit("jobs.demo", [Settings, logs.LogSettings])
    logs.setup(log_settings, "demo", secrets=logs.secrets_of(settings))
    asyncio.run(run(args.song, settings))


if __name__ == "__main__":
    main()
