"""The one log set-up: both formats, the job on every line about one, no secret on any line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from service import logs
from service.envconfig import SettingsError, env_field, load

TOKEN = "123456:AAE-very-secret-bot-token"


@dataclass(frozen=True)
class _Owner:
    token: str = env_field("SOME_TOKEN", secret=True, default="")
    database_url: str = env_field("SOME_DB_URL", default="")
    name: str = env_field("SOME_NAME", default="")


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _logged(fmt: str, secrets: list[str], emit) -> list[str]:
    stream = io.StringIO()
    logs.setup(logs.LogSettings(log_format=fmt), "worker", secrets=secrets, stream=stream)
    emit(logging.getLogger("tests.logs"))
    return stream.getvalue().splitlines()


def test_json_lines_carry_the_job_and_never_a_secret(restore_root: None) -> None:
    def emit(log: logging.Logger) -> None:
        log.info("starting with %s", TOKEN)
        with logs.about_job("job-1", "telegram"):
            log.warning("fetching https://api.telegram.org/bot%s/getFile", TOKEN)
            try:
                raise RuntimeError(f"refused {TOKEN}")
            except RuntimeError:
                log.exception("job failed")
        log.info("done")

    lines = [json.loads(line) for line in _logged("json", [TOKEN], emit)]
    assert [line["message"] for line in lines] == [
        "starting with [secret]",
        "fetching https://api.telegram.org/bot[secret]/getFile",
        "job failed",
        "done",
    ]
    assert all(line["process"] == "worker" and line["logger"] == "tests.logs" for line in lines)
    assert [line.get("job_id") for line in lines] == [None, "job-1", "job-1", None]
    assert [line.get("platform") for line in lines] == [None, "telegram", "telegram", None]
    assert "RuntimeError: refused [secret]" in lines[2]["exc"]
    assert all(TOKEN not in json.dumps(line) for line in lines)


def test_text_lines_are_readable_with_the_same_fields(restore_root: None) -> None:
    def emit(log: logging.Logger) -> None:
        with logs.about_job("job-2", "discord"):
            log.info("token %s", TOKEN)
        log.info("idle")

    about, idle = _logged("text", [TOKEN], emit)
    assert about.endswith("INFO worker tests.logs: token [secret] [job=job-2 platform=discord]")
    assert idle.endswith("INFO worker tests.logs: idle")


async def test_each_asyncio_task_keeps_its_own_job(restore_root: None) -> None:
    stream = io.StringIO()
    logs.setup(logs.LogSettings(log_format="json"), "telegram", stream=stream)
    log = logging.getLogger("tests.logs")

    async def handle(job_id: str) -> None:
        logs.bind_job(job_id, "telegram")
        await asyncio.sleep(0.01)  # the other task runs meanwhile
        log.info("delivering %s", job_id)

    await asyncio.gather(handle("a"), handle("b"))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {(line["message"], line["job_id"]) for line in lines} == {
        ("delivering a", "a"),
        ("delivering b", "b"),
    }
    assert logs.current_job() is None  # the tasks' bindings stayed in the tasks


def test_secrets_are_the_secret_fields_and_url_passwords() -> None:
    owner = _Owner(token=TOKEN, database_url="postgresql://app:pg-pass-123@db/x", name="visible")
    assert logs.secrets_of(owner) == [TOKEN, "pg-pass-123"]
    assert logs.secrets_of(_Owner()) == []


def test_a_bad_log_format_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="LOG_FORMAT must be one of text, json"):
        load(logs.LogSettings, {"LOG_FORMAT": "xml"})
    assert load(logs.LogSettings, {"LOG_FORMAT": "JSON", "LOG_LEVEL": "warning"}) == logs.LogSettings(
        log_format="json", log_level="WARNING"
    )
