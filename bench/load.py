"""A crowd at the Telegram bot: N people each send a song within a few seconds.

    python bench/load.py [--people 100] [--spread-s 5] [--song-s 30] [--workers 1]
                         [--max-wait-s 180] [--cold] [--model PATH] [--timeout-s 1200]
                         [--note TEXT] [--no-record]

Everything is the production path, in separate processes as deployed: ``python -m bots.telegram``
(the real bot, long-polling the fake Bot API the tests use, ``testbed/fake_bot_api.py``, served
from this process), ``python worker.py`` × ``--workers``, a real redis-server (append-only file
on), storage and the payments store (SQLite) in a temporary directory. Each person sends their own
song (the bundled demo mix looped from a different offset, so the same-song cache never answers),
as an audio message, at a random moment within ``--spread-s``. Before the crowd one more person
sends a song and gets its preview, so the workers have measured one, as on a running service;
``--cold`` leaves that out (a fresh deployment: admission assumes ``PREVIEW_ESTIMATE_S``).

Measured:

* time to the first answer: from the moment the update is handed to the bot's long poll to the
  bot's first Bot API call addressed to that person (p50 / p99 / max; the goal: every person
  within 2 s);
* how each person's upload ended: preview delivered (both stems and the waveform), told "busy,
  try later", or something else (listed); how many were admitted, beside what the bound
  (``--max-wait-s``, the bot's ``MAX_PREVIEW_WAIT_S``) and the workers' measured preview time
  (jobs/wait.py, read from Redis at the end) let wait at once;
* told wait against the actual one, per person admitted: the first status message that names an
  expected wait ("ready in about …") against the time from that message to the preview; the
  ratio actual / told (p50, max; the goal: at most 1.2), each person's printed on stdout;
* time to the preview (p50 / p99 / max, for those who got one);
* peak memory (VmHWM) of the bot and of each worker process, Redis's peak memory;
* nothing lost or crossed: every person has an outcome; every stem a person received was cut
  from their own song (the file name carries the person's id through the bot's title tags); every
  job record names its sender; no job failed, no event was dead-lettered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench._record import record
from jobs import JobQueue, Settings
from jobs import keys as job_keys
from jobs.settings import DEFAULT_MAX_PREVIEW_WAIT_S
from jobs.wait import HANDOVER_S, WaitEstimate
from testbed.fake_bot_api import FakeBotApi, User
from testbed.redis_server import RedisServer
from testbed.workers import Workers
from texts import chat as messages

ROOT = Path(__file__).resolve().parent.parent
DEMO_SONG = ROOT / "assets/demo/demo-song.mp3"
DEFAULT_MODEL = ROOT / "models/vocals-unet.pt"
TOKEN = "123456:LOAD-bench-token"
FIRST_ANSWER_GOAL_S = 2.0
TOLD_WAIT_GOAL = 1.2  # a preview arrives no later than the wait its person was told plus 20 %
BOT_START_TIMEOUT_S = 60.0
FIRST_USER_ID = 10_000
SOURCE_S = 200.0  # the songs start anywhere in this many seconds of the looped demo mix
# The back-pressure answer contains this; texts matching IN_PROGRESS are the status message on
# its way (checking, place in line, progress %, ready); any other text ended the upload.
BUSY_MARK = "busy"
IN_PROGRESS = re.compile(
    "|".join(re.escape(t) for t in (messages.CHECKING, messages.PREVIEW_READY))
    + r"|separating|in line|\d+ ?%",
    re.I,
)
# The expected wait in a status message (English, texts/units.py): "in about 1 minute 30 seconds".
TOLD_WAIT = re.compile(r"ready in about (?:(\d+) minutes?)? ?(?:(\d+) seconds?)?")


def told_wait_s(text: str) -> float | None:
    found = TOLD_WAIT.search(text)
    if found is None or not any(found.groups()):
        return None
    minutes, seconds = (int(g) if g else 0 for g in found.groups())
    return 60.0 * minutes + seconds


@dataclass
class Person:
    user: User
    song: Path
    sent_at: float = 0.0
    first_answer_at: float | None = None
    preview_at: float | None = None
    told_at: float | None = None  # the first status message naming an expected wait
    told_s: float | None = None  # that wait
    texts: list[str] = field(default_factory=list)

    @property
    def actual_s(self) -> float | None:
        """From being told the wait to the preview."""
        if self.told_at is None or self.preview_at is None:
            return None
        return self.preview_at - self.told_at

    @property
    def outcome(self) -> str | None:
        if self.preview_at is not None:
            return "preview"
        if any(BUSY_MARK in t.lower() for t in self.texts):
            return "busy"
        refusals = [t for t in self.texts if not IN_PROGRESS.search(t)]
        return f"other: {refusals[-1][:70]}" if refusals else None


class TimedBotApi(FakeBotApi):
    """The fake Bot API, noting when each person first hears from the bot and gets a preview."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.people: dict[int, Person] = {}
        self._seen = 0

    def _notify(self) -> None:
        now = time.monotonic()
        for call in self.calls[self._seen :]:
            person = self.people.get(call.chat_id or 0)
            if person is None:
                continue
            if person.first_answer_at is None:
                person.first_answer_at = now
            text = call.params.get("text")
            if text:
                person.texts.append(str(text))
                told = told_wait_s(str(text))
                if told is not None and person.told_at is None:
                    person.told_at, person.told_s = now, told
            if call.method == "sendPhoto" and len(self.calls_to(person.user.id, "sendAudio")) >= 2:
                person.preview_at = now
        self._seen = len(self.calls)
        super()._notify()


def make_song(path: Path, source_wav: Path, seconds: float, offset_s: float) -> Path:
    """``seconds`` of ``source_wav`` from ``offset_s``, as a 192 kbps mp3."""
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-ss",
            f"{offset_s:.3f}",
            "-i",
            str(source_wav),
            "-t",
            f"{seconds:.0f}",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "192k",
            str(path),
        ],
        check=True,
    )
    return path


async def warm_up(api: TimedBotApi, tmp: Path, source: Path, args: argparse.Namespace) -> None:
    """One person (not in the crowd or its figures) sends a song and gets its preview, so the
    workers have measured a preview before the crowd comes — as on a service that has been
    running (the measurement outlives restarts in Redis); ``--cold`` skips it."""
    someone = User(FIRST_USER_ID - 1, first_name="warm-up")
    song = make_song(tmp / "song-warm-up.mp3", source, args.song_s, SOURCE_S)
    api.send_media(someone, song, "audio", mime_type="audio/mpeg", duration=int(args.song_s))
    print("a warm-up song first (--cold skips it) ...", flush=True)
    await api.wait_for(
        lambda: len(api.calls_to(someone.id, "sendPhoto")) >= 1,
        timeout=args.timeout_s,
        what="the warm-up preview",
    )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="vr-load-"))
    server = RedisServer(tmp / "redis")
    server.start()
    settings = Settings(redis_url=server.url, storage_dir=tmp / "storage", model_path=args.model)
    workers = Workers(settings, tmp)
    api = TimedBotApi(TOKEN, tmp / "telegram-files")
    await api.start()
    bot: subprocess.Popen[bytes] | None = None
    try:
        print(f"making {args.people} songs of {args.song_s:.0f} s ...", flush=True)
        rng = random.Random(12)
        # The demo mix looped to a few minutes, decoded once: every song is a cut of it from its
        # own offset (no two hash the same, so the same-song cache never answers).
        source = tmp / "demo.wav"
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
                "-t",
                f"{SOURCE_S + args.song_s:.0f}",
                str(source),
            ],
            check=True,
        )
        people = [
            Person(
                User(FIRST_USER_ID + i, first_name=f"P{i}"),
                make_song(
                    tmp / f"song-{FIRST_USER_ID + i}.mp3", source, args.song_s, rng.uniform(0, SOURCE_S)
                ),
            )
            for i in range(args.people)
        ]
        api.people = {p.user.id: p for p in people}
        threads = max(1, (os.cpu_count() or 1) // args.workers)
        started = workers.start(args.workers, TORCH_NUM_THREADS=str(threads))
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "TELEGRAM_FILE_BASE_URL": api.base_file_url,
            "TELEGRAM_SPOOL_DIR": str(tmp / "spool"),
            "REDIS_URL": server.url,
            "STORAGE_DIR": str(tmp / "storage"),
            "MODEL_PATH": str(args.model),
            "DATABASE_URL": f"sqlite:///{tmp / 'payments.sqlite3'}",
            # The bot refuses to start without it (abuse limits); a throwaway one for the run.
            "ABUSE_HMAC_SECRET": os.environ.get("ABUSE_HMAC_SECRET") or "bench-load-abuse-secret",
            "PYTHONPATH": str(ROOT),
            "MAX_PREVIEW_WAIT_S": str(args.max_wait_s),
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "bots.telegram"],
            cwd=ROOT,
            env=env,
            stdout=(tmp / "bot.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        await api.wait_for(
            lambda: api.allowed_updates or bot.poll() is not None,
            timeout=BOT_START_TIMEOUT_S,
            what="the bot to poll",
        )
        if bot.poll() is not None:
            raise RuntimeError((tmp / "bot.log").read_text()[-3000:])
        await asyncio.sleep(1.0)  # the bot's start-up calls (commands, recovery) are done
        if not args.cold:  # a service that has served before: its workers measured a preview
            await warm_up(api, tmp, source, args)
        load_before = load_average()

        print(f"{args.people} people send a song within {args.spread_s:g} s ...", flush=True)
        t0 = time.monotonic()
        for moment, person in sorted(
            ((rng.uniform(0, args.spread_s), p) for p in people), key=lambda pair: pair[0]
        ):
            await asyncio.sleep(max(0.0, t0 + moment - time.monotonic()))
            person.sent_at = time.monotonic()
            api.send_media(
                person.user, person.song, "audio", mime_type="audio/mpeg", duration=int(args.song_s)
            )
        deadline = time.monotonic() + args.timeout_s
        while any(p.outcome is None for p in people) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - t0
        load_during = load_average()
        bot_peak = peak_rss_mb(bot.pid)
        worker_peaks = [peak_rss_mb(w.pid) for w in started]
        connection = redis.Redis.from_url(server.url)
        memory = connection.info("memory")
        estimate = JobQueue(settings).expected_wait()
        checks = check_nothing_lost_or_crossed(api, people, JobQueue(settings), connection)
    finally:
        if bot is not None and bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(timeout=60)
            except subprocess.TimeoutExpired:
                bot.kill()
        workers.stop_all()
        await api.stop()
        server.stop(kill=True)
    return report(
        args, people, elapsed, bot_peak, worker_peaks, memory, checks, load_before, load_during, estimate
    )


def check_nothing_lost_or_crossed(
    api: TimedBotApi, people: list[Person], queue: JobQueue, connection: redis.Redis
) -> list[str]:
    """Problems found; empty when nothing was lost or crossed."""
    problems = []
    for person in people:
        if person.outcome is None:
            problems.append(f"{person.user.id}: no outcome")
        for call in api.calls_to(person.user.id, "sendAudio"):
            names = " ".join(name for name, _ in call.files.values()) + str(call.params)
            if f"song-{person.user.id}" not in names:
                problems.append(f"{person.user.id}: got someone else's stem ({names[:80]})")
        for job in queue.active_jobs("telegram", person.user.id):
            problems.append(f"{person.user.id}: job {job.id} still {job.status.value}")
    figures = queue.stats()
    if sum(figures.failed.values()):
        problems.append(f"failed jobs: {figures.failed}")
    for platform in ("telegram",):
        dead = connection.xlen(job_keys.dead_events(platform))
        if dead:
            problems.append(f"{dead} dead-lettered events")
    return problems


def report(
    args: argparse.Namespace,
    people: list[Person],
    elapsed: float,
    bot_peak: float,
    worker_peaks: list[float],
    memory: dict,
    problems: list[str],
    load_before: str,
    load_during: str,
    estimate: WaitEstimate,
) -> str:
    first = [p.first_answer_at - p.sent_at for p in people if p.first_answer_at is not None]
    previews = [p.preview_at - p.sent_at for p in people if p.preview_at is not None]
    outcomes: dict[str, int] = {}
    for person in people:
        key = person.outcome or "no outcome (timed out)"
        outcomes[key] = outcomes.get(key, 0) + 1
    within = sum(1 for f in first if f <= FIRST_ANSWER_GOAL_S)
    told = [p for p in people if p.told_s is not None]
    pairs = [(p, p.actual_s / p.told_s) for p in told if p.actual_s is not None and p.told_s]
    for person, ratio in sorted(pairs, key=lambda pair: pair[0].sent_at):
        print(
            f"{person.user.id}: told {person.told_s:.0f} s, preview after {person.actual_s:.1f} s "
            f"(× {ratio:.2f})"
        )
    ratios = [ratio for _, ratio in pairs]
    worst = max(pairs, key=lambda pair: pair[1], default=None)
    # How many may wait at once: with all W workers busy, the k-th waiting preview is told
    # ((k - 1 + W) / W + 1) previews' time and the hand-over (jobs/wait.py).
    per_worker = max(1, estimate.workers)
    room = (args.max_wait_s - HANDOVER_S) / estimate.preview_s - 2 if estimate.preview_s else -1
    at_once = max(0, int(per_worker * room) + 1)

    def seconds(values: list[float]) -> str:
        if not values:
            return "none"
        return (
            f"p50 {percentile(values, 0.5):.2f} s · p99 {percentile(values, 0.99):.2f} s · "
            f"max {max(values):.2f} s"
        )

    rows = [
        (
            "people / songs",
            f"{len(people)} × {args.song_s:.0f} s mp3, sent within "
            f"{args.spread_s:g} s; {args.workers} worker(s)",
        ),
        ("time to first answer", seconds(first)),
        (f"answered within {FIRST_ANSWER_GOAL_S:g} s", f"{within} of {len(people)}"),
        ("outcomes", " · ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))),
        (
            "admitted (told a place and wait)",
            f"{len(told)} of {len(people)}; bound {args.max_wait_s:g} s, measured "
            f"{estimate.preview_s:.2f} s per preview ({estimate.samples} previews) on "
            f"{estimate.workers} worker(s) → up to {at_once} waiting at once",
        ),
        (
            "actual / told wait",
            "none"
            if not ratios or worst is None
            else (
                f"p50 {percentile(ratios, 0.5):.2f} · max {max(ratios):.2f} (told "
                f"{worst[0].told_s:.0f} s, came after {worst[0].actual_s:.1f} s) · over "
                f"{TOLD_WAIT_GOAL:g}: {sum(r > TOLD_WAIT_GOAL for r in ratios)} of {len(ratios)}"
            ),
        ),
        ("upload → preview delivered", seconds(previews)),
        ("all settled after", f"{elapsed:.0f} s"),
        ("bot peak RSS", f"{bot_peak:.0f} MB"),
        ("worker peak RSS", ", ".join(f"{m:.0f} MB" for m in worker_peaks)),
        (
            "Redis peak memory",
            f"{memory['used_memory_peak'] / 2**20:.1f} MB (RSS {memory['used_memory_rss'] / 2**20:.1f} MB)",
        ),
        ("lost or crossed", "none" if not problems else "; ".join(problems[:8])),
        ("load average (1/5/15 min)", f"before {load_before} · at the end {load_during}"),
    ]
    table = "| measurement | result |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    model = args.model.name
    intro = (
        f"`python bench/load.py --people {args.people} --spread-s {args.spread_s:g} "
        f"--song-s {args.song_s:g} --workers {args.workers} --max-wait-s {args.max_wait_s:g}"
        f"{' --cold' if args.cold else ''}` — the real Telegram bot "
        f"(`python -m bots.telegram`) long-polling the tests' fake Bot API, `python worker.py` "
        f"with {model}, a real redis-server; separate processes. Peak RSS is each process's "
        f"VmHWM (ffmpeg children not included)."
    )
    return f"{intro}\n\n{table}\n" + (f"\n{args.note}\n" if args.note else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--spread-s", type=float, default=5.0)
    parser.add_argument("--song-s", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-wait-s", type=float, default=DEFAULT_MAX_PREVIEW_WAIT_S)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no warm-up song: the crowd meets workers that measured nothing yet",
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--timeout-s", type=float, default=1200.0)
    parser.add_argument("--note", default="", help="conditions to state under the table")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the redis-server, workers and bot it started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    body = asyncio.run(run(args))
    record("Load: a crowd at the Telegram bot", body, dry_run=args.no_record)


if __name__ == "__main__":
    main()
