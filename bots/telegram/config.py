"""Telegram bot configuration from the environment.

Only Telegram's own settings live here; prices, admins and the database are the payments
package's settings, queues and storage the pipeline's, each read once by its owner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PUBLIC_API_BASE_URL = "https://api.telegram.org/bot"
PUBLIC_FILE_BASE_URL = "https://api.telegram.org/file/bot"
# The public Bot API lets bots download files up to 20 MB and upload up to 50 MB.
PUBLIC_DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
# A local Bot API server (``telegram-bot-api --local``) serves files of any size from its disk;
# it also accepts uploads up to 2000 MB, but stems never get near 50 MB as MP3, so we keep one
# upload limit for both.
DEFAULT_SPOOL_DIR = Path("var") / "telegram-uploads"
# Answering a pre-checkout query later than 10 s makes Telegram cancel the payment.
PRE_CHECKOUT_DEADLINE_S = 10.0


class ConfigError(ValueError):
    """A required setting is missing or malformed (raised at start-up)."""


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(repr=False)
    api_base_url: str = PUBLIC_API_BASE_URL
    file_base_url: str = PUBLIC_FILE_BASE_URL
    # True when api_base_url is a local Bot API server started with --local.
    local_mode: bool = False
    upload_limit: int = UPLOAD_LIMIT
    spool_dir: Path = DEFAULT_SPOOL_DIR

    @property
    def download_limit(self) -> int | None:
        return None if self.local_mode else PUBLIC_DOWNLOAD_LIMIT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramConfig:
        env = os.environ if env is None else env
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
        api_base = env.get("TELEGRAM_API_BASE_URL", "").strip() or PUBLIC_API_BASE_URL
        file_base = env.get("TELEGRAM_FILE_BASE_URL", "").strip() or PUBLIC_FILE_BASE_URL
        local_raw = env.get("TELEGRAM_LOCAL_MODE", "").strip().lower()
        if local_raw not in ("", "1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ConfigError(f"TELEGRAM_LOCAL_MODE must be true or false, got {local_raw!r}")
        local_mode = local_raw in ("1", "true", "yes", "on")
        if local_mode and api_base == PUBLIC_API_BASE_URL:
            raise ConfigError("TELEGRAM_LOCAL_MODE needs TELEGRAM_API_BASE_URL (your local server)")
        upload_raw = env.get("TELEGRAM_UPLOAD_LIMIT_BYTES", "").strip()
        try:
            upload_limit = int(upload_raw) if upload_raw else UPLOAD_LIMIT
        except ValueError as exc:
            raise ConfigError("TELEGRAM_UPLOAD_LIMIT_BYTES must be an integer") from exc
        if not 0 < upload_limit <= UPLOAD_LIMIT:
            raise ConfigError(f"TELEGRAM_UPLOAD_LIMIT_BYTES must be 1..{UPLOAD_LIMIT}")
        return cls(
            token=token,
            api_base_url=api_base,
            file_base_url=file_base,
            local_mode=local_mode,
            upload_limit=upload_limit,
            spool_dir=Path(env.get("TELEGRAM_SPOOL_DIR", "").strip() or DEFAULT_SPOOL_DIR),
        )
