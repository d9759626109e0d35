"""``python -m bots.telegram`` as a process: configured from the environment, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import jobs
import payments
from tests.bots.conftest import TOKEN
from tests.bots.fake_bot_api import FakeBotApi, User
from tests.support.workers import REPO


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
        await fake_api.wait_for(
            lambda: fake_api.allowed_updates or process.poll() is not None, 60, "polling"
        )
        assert process.poll() is None, log.read_text()
        user = User(7)
        fake_api.send_text(user, "/help")
        assert await fake_api.wait_for_text(user.id, "/settings")
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
    assert code == 0, log.read_text()
    assert TOKEN not in log.read_text()  # the token never reaches the log
