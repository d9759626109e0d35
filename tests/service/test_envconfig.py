"""The one settings helper: every bad value named in one error, secrets never echoed, `.env` read
under the environment, and no environment read at import time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import jobs
import payments
from bots.telegram.config import TelegramConfig
from service.envconfig import SettingsError, load_all, parse_env_file, read_environment

REPO = Path(__file__).resolve().parents[2]


def test_every_bad_value_of_every_owner_is_named_in_one_error() -> None:
    env = {
        "MAX_JOBS_PER_USER": "three",
        "PREVIEW_FORMAT": "ogg",
        "PRICE_CENTS": "0",
        "ADMIN_IDS": "telegram:",
        "TELEGRAM_UPLOAD_LIMIT_BYTES": "-5",
        "STRIPE_API_KEY": "sk_live_hush",
    }
    with pytest.raises(SettingsError) as caught:
        load_all([TelegramConfig, jobs.Settings, payments.Settings], env)
    text = str(caught.value)
    for name in (
        "TELEGRAM_BOT_TOKEN is not set",
        "TELEGRAM_UPLOAD_LIMIT_BYTES",
        "MAX_JOBS_PER_USER",
        "PREVIEW_FORMAT",
        "PRICE_CENTS",
        "ADMIN_IDS",
    ):
        assert name in text, name
    assert len(caught.value.problems) == 6
    assert "sk_live_hush" not in text


def test_secret_values_are_not_echoed_when_wrong() -> None:
    with pytest.raises(SettingsError) as caught:
        TelegramConfig.from_env({"TELEGRAM_BOT_TOKEN": "t", "TELEGRAM_LOCAL_MODE": "maybe"})
    assert "TELEGRAM_LOCAL_MODE must be true or false, got 'maybe'" in str(caught.value)


def test_env_file_is_read_under_the_environment(tmp_path: Path, monkeypatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nPRICE_CENTS=299\nREDIS_URL=redis://file:6379/0\n\nEMPTY=\n")
    assert parse_env_file(dotenv) == {"PRICE_CENTS": "299", "REDIS_URL": "redis://file:6379/0", "EMPTY": ""}
    monkeypatch.setenv("REDIS_URL", "redis://env:6379/0")
    env = read_environment(dotenv)
    assert env["PRICE_CENTS"] == "299" and env["REDIS_URL"] == "redis://env:6379/0"
    assert parse_env_file(tmp_path / "missing") == {}


@pytest.mark.slow  # starts a Python that imports every package, torch included
def test_importing_the_packages_reads_none_of_our_settings() -> None:
    ours = sorted(parse_env_file(REPO / ".env.example"))
    probe = (
        "import os\n"
        f"OURS = set({ours!r})\n"
        "class Spy(dict):\n"
        "    def _check(self, name):\n"
        "        if name in OURS: raise SystemExit(f'read {name} at import')\n"
        "    def get(self, name, *a):\n"
        "        self._check(name); return super().get(name, *a)\n"
        "    def __getitem__(self, name):\n"
        "        self._check(name); return super().__getitem__(name)\n"
        "os.environ = Spy(os.environ)\n"
        "import engine.audio, engine.predict, jobs, payments, bots.telegram.app, bots.discord.app\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
