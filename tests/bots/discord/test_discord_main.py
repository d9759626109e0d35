"""``python -m bots.discord`` as a process: configured from the environment (the fake Discord's
REST base; the gateway URL asked from it), stopped by SIGTERM; refused clearly without a token."""

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
from testbed.workers import REPO
from tests.bots.discord.conftest import TOKEN
from tests.bots.fake_discord import FakeDiscord, Person


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    return {**env, "PYTHONPATH": str(REPO), "DISCORD_SPOOL_DIR": str(tmp_path / "spool"), **extra}


async def test_module_entry_point_connects_answers_and_stops_cleanly(
    fake_discord: FakeDiscord,
    jobs_settings: jobs.Settings,
    payments_settings: payments.Settings,
    tmp_path: Path,
) -> None:
    env = _env(
        tmp_path,
        DISCORD_BOT_TOKEN=TOKEN,
        DISCORD_API_BASE_URL=fake_discord.api_base_url,
        REDIS_URL=jobs_settings.redis_url,
        STORAGE_DIR=str(jobs_settings.storage_dir),
        DATABASE_URL=payments_settings.database_url,
    )
    log = tmp_path / "bot.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bots.discord"],
        cwd=tmp_path,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        await fake_discord.wait_for(
            lambda: "help" in fake_discord.commands or process.poll() is not None, 60, "commands"
        )
        assert process.poll() is None, log.read_text()
        assert ("GET", "/gateway/bot") in fake_discord.calls
        interaction = await fake_discord.slash(Person(42), "help")
        assert await fake_discord.answer_text(interaction, "/settings")
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
    assert code == 0, log.read_text()
    assert TOKEN not in log.read_text()  # the token never reaches the log


@pytest.mark.slow  # starts the bot's process (imports torch)
def test_without_a_token_it_says_what_is_missing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bots.discord"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DISCORD_BOT_TOKEN is not set" in done.stderr
