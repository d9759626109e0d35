"""The web server's memory while a big song streams in through an upload link.

    python bench/upload_memory.py [--mb 190] [--rate-mb-s 20] [--note TEXT] [--no-record]

Everything is the production path in its own process: ``python -m web.server`` (the upload page,
``web/uploads.py``) against a real redis-server, storage and the payments store (SQLite) in a
temporary directory. A WAV of about ``--mb`` MB (a generated stereo song, 44.1 kHz, 16-bit) is
posted to a fresh upload link as the page's form does (``multipart/form-data``), at
``--rate-mb-s`` so the stream lasts seconds, while this script samples the server's resident
memory (``VmRSS`` in ``/proc``) every 50 ms.

Measured: the server's RSS before the upload, its highest while the body streams in, and how
much it grew over the stream (the goal: flat — the file goes to disk in 256 KiB pieces, never
whole in memory); then, apart, the peak once the whole file is in, while it is probed and
submitted (the submission decodes the song once to hash it, as for a song sent in a chat:
``jobs/submit.py``), and the reply.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import soundfile as sf

from bench._record import record
from payments import Settings as PaymentsSettings
from testbed.redis_server import RedisServer, free_port
from web.upload_links import UploadLinks

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RATE = 44_100
BYTES_PER_FRAME = 4  # stereo, 16-bit
SAMPLE_EVERY_S = 0.05
SEND_CHUNK = 256 * 1024
SECRET = "upload-memory-bench-secret"
START_TIMEOUT_S = 60.0


def write_song(path: Path, size_mb: float) -> Path:
    """A stereo WAV of about ``size_mb`` MB: chords and a noise bed, written in blocks."""
    frames = int(size_mb * 1e6 / BYTES_PER_FRAME)
    rng = np.random.default_rng(7)
    block = SAMPLE_RATE * 10
    with sf.SoundFile(path, "w", SAMPLE_RATE, 2, subtype="PCM_16") as out:
        for start in range(0, frames, block):
            t = (np.arange(start, min(frames, start + block)) / SAMPLE_RATE)[:, None]
            tone = 0.2 * np.sin(2 * np.pi * np.array([220.0, 330.0]) * t)
            out.write((tone + 0.02 * rng.standard_normal(tone.shape)).astype(np.float32))
    return path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Sampler:
    pid: int
    phase: str = "idle"
    sent: int = 0
    samples: list[tuple[float, str, int, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - start, self.phase, self.sent, rss_mb(self.pid)))
            time.sleep(SAMPLE_EVERY_S)

    def stop(self) -> None:
        self._stop.set()


def upload(url: str, song: Path, rate_mb_s: float, sampler: Sampler) -> tuple[int, str]:
    """POST the song as the page's form does, throttled to ``rate_mb_s``."""
    head = (
        b'--BENCH\r\nContent-Disposition: form-data; name="file"; filename="big-song.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n"
    )
    tail = b"\r\n--BENCH--\r\n"
    size = song.stat().st_size
    host_port, path = url.split("//", 1)[1].split("/", 1)
    conn = http.client.HTTPConnection(host_port, timeout=600)
    conn.putrequest("POST", "/" + path)
    conn.putheader("Content-Type", "multipart/form-data; boundary=BENCH")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.putheader("Accept", "application/json")
    conn.endheaders()
    sampler.phase = "streaming"
    conn.send(head)
    began = time.monotonic()
    with song.open("rb") as f:
        while chunk := f.read(SEND_CHUNK):
            conn.send(chunk)
            sampler.sent += len(chunk)
            ahead = sampler.sent / (rate_mb_s * 1e6) - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
    conn.send(tail)
    sampler.phase = "checking"  # probe + submit (one decode to hash the song)
    reply = conn.getresponse()
    body = reply.read().decode()
    sampler.phase = "after"
    conn.close()
    return reply.status, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=190.0, help="size of the uploaded WAV")
    parser.add_argument("--rate-mb-s", type=float, default=20.0, help="upload speed")
    parser.add_argument("--note", default="")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp_name:
        tmp = Path(tmp_name)
        song = write_song(tmp / "big-song.wav", args.mb)
        redis_server = RedisServer(tmp / "redis")
        redis_server.start()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "REDIS_URL": redis_server.url,
            "STORAGE_DIR": str(tmp / "storage"),
            "DATABASE_URL": f"sqlite:///{tmp / 'payments.sqlite3'}",
            "DOWNLOAD_SECRET": SECRET,
            "ABUSE_HMAC_SECRET": SECRET + "-abuse",
            "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
            "PUBLIC_BASE_URL": base,
            "UPLOAD_SPOOL_DIR": str(tmp / "spool"),
        }
        for name in ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "S3_BUCKET"):
            env.pop(name, None)
        server = subprocess.Popen(
            [sys.executable, "-m", "web.server"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "server.log", "wb"),
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1).close()
                    break
                except OSError:
                    assert server.poll() is None, (tmp / "server.log").read_text()
                    assert time.monotonic() < deadline, "the web server did not start"
                    time.sleep(0.1)
            settings = PaymentsSettings(download_secret=SECRET, public_base_url=base)
            url = UploadLinks(settings).url("telegram", 1, 1, "en")
            sampler = Sampler(server.pid)
            thread = threading.Thread(target=sampler.run, daemon=True)
            thread.start()
            time.sleep(1.0)
            status, body = upload(url, song, args.rate_mb_s, sampler)
            time.sleep(1.0)
            sampler.stop()
            thread.join()
        finally:
            server.terminate()
            server.wait(30)
            redis_server.stop(kill=True)
        assert status == 200 and '"ok": true' in body, (status, body)
        size_mb = song.stat().st_size / 1e6
        left = [p for p in (tmp / "spool").rglob("*") if p.is_file()]

    rows = ["| t (s) | phase | sent (MB) | server RSS (MB) |", "|---:|---|---:|---:|"]
    next_t = 0.0
    for t, phase, sent, rss in sampler.samples:
        if t >= next_t:
            rows.append(f"| {t:.1f} | {phase} | {sent / 1e6:.0f} | {rss:.0f} |")
            next_t = t + 1.0
    by_phase: dict[str, list[float]] = {}
    for _t, phase, _sent, rss in sampler.samples:
        by_phase.setdefault(phase, []).append(rss)
    idle = by_phase["idle"][-1]
    streaming = by_phase.get("streaming", [idle])
    checking = by_phase.get("checking", [idle])
    summary = (
        f"Upload of a {size_mb:.0f} MB WAV ({size_mb * 1e6 / BYTES_PER_FRAME / SAMPLE_RATE / 60:.1f} min, "
        f"stereo 16-bit) through an upload link at {args.rate_mb_s:g} MB/s into `python -m web.server` "
        f"(`bench/upload_memory.py --mb {args.mb:g} --rate-mb-s {args.rate_mb_s:g}`). "
        f"{'Note: ' + args.note + '. ' if args.note else ''}\n\n"
        f"| | server RSS (MB) |\n|---|---:|\n"
        f"| before the upload | {idle:.0f} |\n"
        f"| highest while the body streamed in | {max(streaming):.0f} |\n"
        f"| growth over the stream | {max(streaming) - streaming[0]:+.0f} |\n"
        f"| highest while probed and submitted (one decode to hash it) | {max(checking):.0f} |\n"
        f"| after the reply | {by_phase.get('after', [idle])[-1]:.0f} |\n\n"
        f"Reply {status}; files left in the upload spool afterwards: {len(left)}.\n\n"
        "Every second:\n\n" + "\n".join(rows)
    )
    record("Upload by link: the web server's memory while a big song streams in", summary, args.no_record)


if __name__ == "__main__":
    main()
