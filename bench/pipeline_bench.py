"""Pipeline speed on this machine: upload → preview ready, and full-song jobs per minute.

    python bench/pipeline_bench.py [--model PATH] [--minutes 4] [--jobs 4] [--no-record]

Everything is real: a redis-server on a free loopback port, ``python worker.py`` processes, the
job API a bot calls (``JobQueue.submit``: decode + hash + store + enqueue), storage in a temporary
directory. Songs are the bundled demo mix looped to ``--minutes`` from a different offset each, so
no two share a content hash and the cache never answers. Latency is timed from the call to
``submit`` until the job's record says done (the bot gets its DONE event at that moment);
throughput from the first ``submit`` until the last job is done. With 1 worker it gets all cores
as torch threads; with 2 workers each gets half.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from rq import Worker

from bench._record import record
from jobs import JobQueue, JobRecord, Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_SONG = ROOT / "assets/demo/demo-song.mp3"
DEFAULT_MODEL = ROOT / "models/vocals-unet.pt"
LATENCY_RUNS = 3
JOB_TIMEOUT_S = 1800.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_song(path: Path, minutes: float, offset_s: float) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-stream_loop",
            "-1",
            "-i",
            str(DEMO_SONG),
            "-ss",
            f"{offset_s:.2f}",
            "-t",
            f"{minutes * 60:.0f}",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "192k",
            str(path),
        ],
        check=True,
    )
    return path


def stand_in_model(path: Path) -> Path:
    """An untrained network of the engine's default size: same cost per second as the real one."""
    from engine import checkpoint
    from engine.model import UNet, UNetConfig
    from engine.transforms import STFTConfig

    cfg = UNetConfig()
    checkpoint.export(
        {
            "ema_state": UNet(cfg).state_dict(),
            "unet": cfg.to_dict(),
            "stft": STFTConfig().to_dict(),
            "step": 0,
        },
        path,
    )
    return path


class Service:
    """A redis-server and some workers, started and stopped together."""

    def __init__(self, work: Path, model: Path) -> None:
        self.work, self.model = work, model
        self.port = free_port()
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(work),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.connection = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                self.connection.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.settings = Settings(
            redis_url=self.url, storage_dir=work / "storage", model_path=model, max_jobs_per_user=1000
        )

    def start_workers(self, n: int) -> None:
        threads = max(1, (os.cpu_count() or 1) // n)
        env = {
            **os.environ,
            "REDIS_URL": self.url,
            "STORAGE_DIR": str(self.settings.storage_dir),
            "MODEL_PATH": str(self.model),
            "TORCH_NUM_THREADS": str(threads),
            "PYTHONPATH": str(ROOT),
        }
        for i in range(n):
            log = (self.work / f"worker-{len(self.workers)}-{i}.log").open("wb")
            self.workers.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "worker.py")],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        while len(Worker.all(connection=self.connection)) < len(self.workers):
            time.sleep(0.1)

    def stop_workers(self) -> None:
        for process in self.workers:
            os.killpg(process.pid, 9)
            process.wait()
        self.workers = []
        self.connection.flushall()

    def close(self) -> None:
        self.stop_workers()
        self.redis.kill()
        self.redis.wait()


def wait_done(queue: JobQueue, job_id: str) -> JobRecord:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        rec = queue.get(job_id)
        if rec is not None and rec.finished:
            if rec.status != "done":
                raise RuntimeError(f"job {job_id} {rec.status}: {rec.error_code}")
            return rec
        time.sleep(0.02)
    raise TimeoutError(job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--jobs", type=int, default=4, help="full-song jobs per throughput run")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vr-bench-"))
    model_note = f"`{args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model}`"
    if not args.model.is_file():
        args.model = stand_in_model(work / "stand-in.pt")
        model_note = "untrained stand-in of the engine's default U-Net size (no shipped model yet)"
    songs = [make_song(work / f"song{i}.mp3", args.minutes, 1.7 * i) for i in range(LATENCY_RUNS + args.jobs)]
    service = Service(work, args.model)
    rows: list[tuple[str, str]] = []
    try:
        queue = JobQueue(service.settings)
        service.start_workers(1)
        lat, sub = [], []
        for i in range(LATENCY_RUNS):
            t0 = time.perf_counter()
            rec = queue.submit(f"lat{i}", "bench", "c", songs[i], kind="preview")
            t1 = time.perf_counter()
            wait_done(queue, rec.id)
            lat.append(time.perf_counter() - t0)
            sub.append(t1 - t0)
        rows.append(
            (
                f"upload → preview ready ({args.minutes:g}-min mp3, "
                f"{service.settings.preview_length_s:g} s preview), 1 worker",
                f"median {statistics.median(lat):.1f} s (runs: "
                f"{', '.join(f'{x:.1f}' for x in lat)}; of which submit "
                f"{statistics.median(sub):.1f} s)",
            )
        )
        service.stop_workers()

        full_songs = songs[LATENCY_RUNS:]
        for n in (1, 2):
            queue = JobQueue(service.settings)
            service.start_workers(n)
            t0 = time.perf_counter()
            ids = [
                queue.submit(f"full{n}-{i}", "bench", "c", song, kind="full").id
                for i, song in enumerate(full_songs)
            ]
            for job_id in ids:
                wait_done(queue, job_id)
            elapsed = time.perf_counter() - t0
            rows.append(
                (
                    f"full-song jobs per minute, {n} worker{'s' if n > 1 else ''} "
                    f"({len(ids)} × {args.minutes:g}-min songs)",
                    f"{len(ids) * 60 / elapsed:.2f} jobs/min ({elapsed:.0f} s in all, "
                    f"{elapsed / len(ids):.1f} s per job)",
                )
            )
            service.stop_workers()
    finally:
        service.close()
        shutil.rmtree(work, ignore_errors=True)

    table = "| measurement | result |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    body = (
        f"`python bench/pipeline_bench.py` — real redis-server, `python worker.py` "
        f"processes, the bots' `JobQueue.submit`; model: {model_note}. CPU only (no GPU "
        f"here); torch threads = cores / workers.\n\n{table}"
    )
    record("Job pipeline: preview latency and full-song throughput", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
