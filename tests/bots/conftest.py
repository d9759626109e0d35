"""Fixtures for the Telegram bot: the whole service, for real, around a fake Bot API server.

``bot`` gives a :class:`Harness`: a real PTB ``Application`` (built by ``bots.telegram.app``, run by
its ``serve``) long-polling :class:`FakeBotApi` on loopback, the real job queue on the test's own
``redis-server``, the payments store on a fresh SQLite file, and — for tests that ask for
``worker`` — a real ``python worker.py`` process separating with the shipped model when
``models/vocals-unet.pt`` exists, else with a tiny exported U-Net (what matters here is the flow,
not separation quality).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

import jobs
import payments
from bots.core.services import Services
from bots.telegram.app import build_application, serve
from bots.telegram.config import TelegramConfig
from testbed.fake_bot_api import Call, FakeBotApi, User
from testbed.redis_server import RedisServer
from testbed.workers import ABUSE_HMAC_SECRET, REPO, WorkerProcess, Workers, fast_settings
from tests.bots.songs import (
    write_converted,
    write_corrupt_mp3,
    write_empty_file,
    write_large_short_wav,
    write_long_flac,
    write_silence,
    write_song,
    write_text_file,
    write_voice_note,
    write_zero_length_wav,
)

SHIPPED_MODEL = REPO / "models" / "vocals-unet.pt"
TOKEN = "123456:TEST-token-for-the-fake-server"
ADMIN_ID = 900
PRICE_STARS = 50
PREVIEW_LENGTH_S = 3.0
SERVE_START_TIMEOUT_S = 20.0


# ------------------------------------------------------------------------------ test songs


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every input file the tests send, made once per session (about a second)."""
    root = tmp_path_factory.mktemp("media")
    song = write_song(root / "Blue Song.mp3", seconds=6.0, seed=0)
    short = write_song(root / "short.wav", seconds=4.0, seed=9)
    return {
        "song": song,
        "song2": write_song(root / "Other Song.mp3", seconds=5.0, seed=3),
        "song_wav": write_song(root / "song.wav", seconds=5.0, seed=5),
        "voice": write_voice_note(root / "voice.ogg", write_song(root / "v.wav", 4.0, seed=7)),
        "video": _video(root / "clip.mp4", song),
        "text": write_text_file(root / "lyrics.txt"),
        "corrupt": write_corrupt_mp3(root / "broken.mp3", song),
        "large": write_large_short_wav(root / "big.wav"),
        "long": write_long_flac(root / "two-hours.flac"),
        "empty": write_empty_file(root / "empty.mp3"),
        "zero_length": write_zero_length_wav(root / "zero.wav"),
        "silence": write_silence(root / "silence.mp3"),
        "mono": write_converted(root / "mono.wav", short, 44100, 1),
        "phone": write_converted(root / "phone 8k.wav", short, 8000, 1),
        "surround": write_converted(root / "surround 96k.flac", short, 96000, 6),
    }


def _video(path: Path, audio: Path) -> Path:
    """A tiny real video (black frames) with the song as its sound track."""
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x64:r=5",
            "-i",
            str(audio),
            "-shortest",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


# ------------------------------------------------------------------------------ the model


@pytest.fixture(scope="session")
def model_path(request: pytest.FixtureRequest) -> Path:
    """The shipped model when there is one (the flow as people see it), else the tiny one."""
    return SHIPPED_MODEL if SHIPPED_MODEL.is_file() else request.getfixturevalue("tiny_model")


# ------------------------------------------------------------------------------ settings


@pytest.fixture
def jobs_settings(redis_server: RedisServer, tmp_path: Path, model_path: Path) -> jobs.Settings:
    # More heartbeat slack: the bot, its fake Bot API and the worker share the cores.
    return fast_settings(
        redis_server.url,
        tmp_path / "storage",
        model_path,
        preview_length_s=PREVIEW_LENGTH_S,
        worker_heartbeat_ttl_s=5,
    )


@pytest.fixture
def payments_settings(tmp_path: Path) -> payments.Settings:
    return payments.Settings(
        database_url=f"sqlite:///{tmp_path / 'payments.sqlite3'}",
        price_stars=PRICE_STARS,
        free_previews_per_day=5,
        admin_ids=frozenset({f"telegram:{ADMIN_ID}"}),
        abuse_hmac_secret=ABUSE_HMAC_SECRET,
    )


# ------------------------------------------------------------------------------ the worker


@pytest.fixture
def start_worker(jobs_settings: jobs.Settings, tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    """``start_worker()`` starts a worker and returns once its model is loaded."""
    workers = Workers(jobs_settings, tmp_path)
    yield lambda: workers.start(1)[0]
    workers.stop_all()


@pytest.fixture
def worker(start_worker: Callable[[], WorkerProcess]) -> WorkerProcess:
    return start_worker()


# ------------------------------------------------------------------------------ the bot


@dataclass
class Harness:
    """The running bot plus everything a test needs to talk to it and look behind it."""

    api: FakeBotApi
    services: Services
    config: TelegramConfig
    tmp_path: Path
    recovery_interval_s: float = 300.0
    _users: dict[int, User] = field(default_factory=dict)
    _stop: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Build the Application the way ``main()`` does and serve until :meth:`stop`."""
        self.api.allowed_updates.clear()
        application = build_application(self.config, self.services)
        self._stop = asyncio.Event()
        task = self._task = asyncio.create_task(
            serve(application, self._stop, recovery_interval_s=self.recovery_interval_s)
        )
        await self.api.wait_for(
            lambda: self.api.allowed_updates or task.done(),
            timeout=SERVE_START_TIMEOUT_S,
            what="the bot to start polling",
        )
        if task.done():
            task.result()

    async def stop(self) -> None:
        """Stop polling and consuming events, as on SIGTERM (Redis and the store stay up)."""
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 30)
            self._task = None

    @property
    def queue(self) -> jobs.JobQueue:
        return self.services.queue

    @property
    def pay(self) -> payments.Payments:
        return self.services.payments

    def user(self, user_id: int, name: str = "Test", language_code: str = "en") -> User:
        """A person whose Telegram app speaks ``language_code``."""
        return self._users.setdefault(user_id, User(user_id, first_name=name, language_code=language_code))

    async def preview(self, user: User, timeout: float = 60.0) -> list[Call]:
        """Wait for a full preview (two audio messages and the waveform photo) for ``user``."""
        audio = await self.api.wait_for_call(user.id, "sendAudio", count=2, timeout=timeout)
        photo = await self.api.wait_for_call(user.id, "sendPhoto", timeout=timeout)
        return [*audio[:2], photo[0]]

    def button(self, call: Call, prefix: str) -> dict[str, Any]:
        """The inline button on a sent message whose callback data starts with ``prefix``."""
        for row in call.params["reply_markup"]["inline_keyboard"]:
            for button in row:
                if button.get("callback_data", "").startswith(prefix):
                    return button
        raise AssertionError(f"no {prefix!r} button in {call.params['reply_markup']}")

    async def buy(self, user: User, photo: Call) -> Call:
        """Tap "Full stems — N ⭐" under a preview; return the invoice the bot sends."""
        data = self.button(photo, "buy:")["callback_data"]
        before = len(self.api.calls_to(user.id, "sendInvoice"))
        self.api.press(user, photo.result, data)
        invoices = await self.api.wait_for_call(user.id, "sendInvoice", count=before + 1)
        return invoices[-1]

    async def pay_invoice(self, user: User, invoice: Call, charge_id: str) -> bool:
        """Go through Telegram's checkout: pre-checkout (must be accepted), then the payment."""
        payload = invoice.params["payload"]
        amount = sum(p["amount"] for p in invoice.params["prices"])
        ok, _ = await self.pre_checkout(user, payload, amount)
        if ok:
            self.api.successful_payment(user, payload, amount, charge_id)
        return ok

    async def pre_checkout(self, user: User, payload: str, amount: int) -> tuple[bool, str]:
        """Ask the bot to confirm a checkout; return (ok, error message)."""
        query_id = self.api.pre_checkout(user, payload, amount)
        answer = await self.api.wait_for(
            lambda: next(
                (
                    c
                    for c in self.api.calls
                    if c.method == "answerPreCheckoutQuery"
                    and c.params.get("pre_checkout_query_id") == query_id
                ),
                None,
            ),
            what="pre-checkout answer",
        )
        return answer.params.get("ok") in ("true", True), answer.params.get("error_message", "")


@pytest.fixture
async def fake_api(tmp_path: Path) -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi(TOKEN, tmp_path / "telegram-files")
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


@pytest.fixture
def bot_options() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the bot's TelegramConfig."""
    return {}


@pytest.fixture
async def bot(
    fake_api: FakeBotApi,
    jobs_settings: jobs.Settings,
    payments_settings: payments.Settings,
    tmp_path: Path,
    bot_options: dict[str, Any],
) -> AsyncIterator[Harness]:
    config = TelegramConfig.from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake_api.base_url,
            "TELEGRAM_FILE_BASE_URL": fake_api.base_file_url,
            "TELEGRAM_SPOOL_DIR": str(tmp_path / "spool"),
        }
    )
    config = replace(config, **bot_options)
    fake_api.local_mode = config.local_mode
    services = Services.build("telegram", jobs_settings, payments_settings, consumer_name="test")
    services.events.block_ms = 200  # the stop event is checked between reads
    harness = Harness(fake_api, services, config, tmp_path)
    try:
        await harness.start()
        yield harness
    finally:
        await harness.stop()
        await services.close()


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``await wait_until(predicate, timeout)`` for state outside the fake server (DB, Redis)."""

    async def wait(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "it") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await asyncio.to_thread(predicate)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.1)

    return wait
