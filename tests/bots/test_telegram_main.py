"""``python -m bots.telegram`` as a process: configured from the environment, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import jobs
import payments
from testbed.fake_bot_api import FakeBotApi, User
from testbed.workers import REPO
from tests.bots.conftest import TOKEN


async def test_module_entry_point_answers_and_stops_cleanly(
    fake_api: FakeBotApi,
    jobs_settings: jobs.Settings,
    payments_settings: payments.Settings,
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake_api.base_url,
        "TELEGRAM_FILE_BASE_URL": fake_api.base_file_url,
        "TELEGRAM_SPOOL_DIR": str(tmp_path / "spool"),
        "REDIS_URL": jobs_settings.redis_url,
        "STORAGE_DIR": str(jobs_settings.storage_dir),
        "DATABASE_URL": payments_settings.database_url,
        "PYTHONPATH": str(REPO),
    }
    log = tmp_path / "bot.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bots.telegram"],
        cwd=tmp_path,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        await fake_api.wait_for(lambda: fake_api.allowed_updates or process.poll() is not None, 60, "polling")
        assert process.poll() is None, log.read_text()
        user = User(7)
        fake_api.send_text(user, "/help")
        assert await fake_api.wait_for_text(user.id, "/settings")
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
    assert code == 0, log.read_text()
    assert TOKEN not in log.read_text()  # the token never reaches the log


@pytest.mark.slow  # starts the bot's process (imports torch)
def test_without_the_abuse_secret_it_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    """The bot keeps abuse limits (a ban and today's counts survive /forget under a keyed HMAC):
    with no ABUSE_HMAC_SECRET it does not start, rather than make marks anyone could undo."""
    env = {k: v for k, v in os.environ.items() if k != "ABUSE_HMAC_SECRET"}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",  # never reached
        DATABASE_URL=f"sqlite:///{tmp_path / 'payments.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:9/0",
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bots.telegram"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ABUSE_HMAC_SECRET is not set" in done.stderr
    assert not (tmp_path / "payments.sqlite3").exists()  # refused before opening anything
