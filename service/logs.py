"""The one logging set-up every process's ``main`` calls: one format, the job on every line about
a job, and no secret on any line.

Invariants, and why:

* **One format for every process.** ``LOG_FORMAT=json`` writes one JSON object a line (``ts``,
  ``level``, ``logger``, ``process``, ``message``, ``job_id``/``platform`` when about a job,
  ``exc`` with a traceback) for a log collector; ``text`` (the default) writes the same fields
  as one readable line. Every ``main`` (the worker, each bot, the web server, retention, the
  migrations, the demo) calls :func:`setup`, so a log collector parses every process the same way.
* **The job on every line about a job.** :func:`about_job` (a context manager) and
  :func:`bind_job` put a job id and its platform in a :mod:`contextvars` variable; every record
  logged meanwhile carries them — from our code and from RQ's, discord.py's or PTB's alike —
  without each call naming them. A context variable follows asyncio tasks (each task copies
  it), so two songs handled at once in one bot never swap ids.
* **No secret on any line.** :func:`setup` takes the secret values of the process's settings
  (:func:`secrets_of`: every :func:`service.envconfig.env_field` declared ``secret=True``) and
  the formatter replaces each, wherever it appears (a message, an argument, a traceback, a URL a
  library logged), by ``[secret]``. Names of people's files never reach a line in the first
  place: jobs are logged by id (``jobs.line`` gives RQ id-only descriptions) and stored under
  ids, not names.

The standard library only (this is ``service``): any part may call it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

from service.envconfig import env_field, secret_values

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECRET_MARK = "[secret]"
# Shorter values than this are not redacted: a one-letter "secret" would blank every line.
MIN_SECRET_LENGTH = 6
TEXT_FORMAT = "%(asctime)s %(levelname)s %(process_name)s %(name)s: %(message)s%(job_suffix)s"

_job: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("log_job", default=None)


def _log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in FORMATS:
        raise ValueError(f"must be one of {', '.join(FORMATS)}")
    return value


def _level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in LEVELS:
        raise ValueError(f"must be one of {', '.join(LEVELS)}")
    return value


@dataclass(frozen=True)
class LogSettings:
    """How every process logs (``LOG_FORMAT``, ``LOG_LEVEL``)."""

    log_format: str = env_field("LOG_FORMAT", _log_format, default="text")
    log_level: str = env_field("LOG_LEVEL", _level, default="INFO")


def secrets_of(*settings: object) -> list[str]:
    """The values of every secret field (``env_field(..., secret=True)``) of ``settings``, and
    the password of every URL among their values (``DATABASE_URL``, ``REDIS_URL``)."""
    found = [value for owner in settings for value in secret_values(owner)]
    for owner in settings:
        for value in vars(owner).values():
            if isinstance(value, str) and "://" in value:
                try:
                    password = urlsplit(value).password
                except ValueError:
                    continue
                if password:
                    found.append(password)
    return found


@contextmanager
def about_job(job_id: str, platform: str = "") -> Iterator[None]:
    """Every line logged inside the block names ``job_id`` and ``platform``."""
    token = _job.set((job_id, platform))
    try:
        yield
    finally:
        _job.reset(token)


def bind_job(job_id: str, platform: str = "") -> None:
    """Every line logged from here on in the current context (an asyncio task: the rest of it)
    names ``job_id`` and ``platform``."""
    _job.set((job_id, platform))


def current_job() -> tuple[str, str] | None:
    """The (job id, platform) lines are being tagged with now, if any."""
    return _job.get()


class _JobFields(logging.Filter):
    """Puts the context's job id and platform (or an explicit ``extra=``) on each record."""

    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name

    def filter(self, record: logging.LogRecord) -> bool:
        about = _job.get()
        if about is not None:
            if not getattr(record, "job_id", ""):
                record.job_id = about[0]
            if not getattr(record, "platform", ""):
                record.platform = about[1]
        record.process_name = self.process_name
        job_id = getattr(record, "job_id", "")
        platform = getattr(record, "platform", "")
        parts = [f"job={job_id}" if job_id else "", f"platform={platform}" if platform else ""]
        suffix = " ".join(p for p in parts if p)
        record.job_suffix = f" [{suffix}]" if suffix else ""
        return True


class _Redacting(logging.Formatter):
    """Replaces every secret by :data:`SECRET_MARK` in the finished line."""

    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        # Longest first: a secret that contains another is hidden whole.
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def redact(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, SECRET_MARK)
        return line

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class TextFormatter(_Redacting):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(secrets, TEXT_FORMAT)


class JsonFormatter(_Redacting):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "process": getattr(record, "process_name", ""),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("job_id", "platform"):
            value = getattr(record, name, "")
            if value:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return self.redact(json.dumps(line, ensure_ascii=False, default=str))


def setup(
    settings: LogSettings,
    process_name: str,
    *,
    secrets: Iterable[str] = (),
    quiet: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Make the root logger write ``settings``' format to ``stream`` (stderr), every line
    tagged with ``process_name`` and the current job, ``secrets`` redacted; ``quiet`` loggers
    are turned down to warnings (httpx logs request URLs). Replaces any handler set before, so
    libraries that add their own only when none is set (RQ's worker) use this one."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter(secrets) if settings.log_format == "json" else TextFormatter(secrets)
    )
    handler.setFormatter(formatter)
    handler.addFilter(_JobFields(process_name))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
