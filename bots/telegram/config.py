"""Telegram bot configuration, read at start-up by the one helper, ``service.envconfig``.

Only Telegram's own settings live here; prices, admins and the database are the payments
package's settings, queues and storage the pipeline's, each read once by its owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.envconfig import SettingsError, boolean, env_field, integer, load

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


@dataclass(frozen=True)
class TelegramConfig:
    token: str = env_field("TELEGRAM_BOT_TOKEN", secret=True)
    api_base_url: str = env_field("TELEGRAM_API_BASE_URL", default=PUBLIC_API_BASE_URL)
    file_base_url: str = env_field("TELEGRAM_FILE_BASE_URL", default=PUBLIC_FILE_BASE_URL)
    # True when api_base_url is a local Bot API server started with --local.
    local_mode: bool = env_field("TELEGRAM_LOCAL_MODE", boolean, default=False)
    upload_limit: int = env_field(
        "TELEGRAM_UPLOAD_LIMIT_BYTES", integer(1, UPLOAD_LIMIT), default=UPLOAD_LIMIT
    )
    spool_dir: Path = env_field("TELEGRAM_SPOOL_DIR", Path, default=DEFAULT_SPOOL_DIR)

    def __post_init__(self) -> None:
        if self.local_mode and self.api_base_url == PUBLIC_API_BASE_URL:
            raise SettingsError("TELEGRAM_LOCAL_MODE needs TELEGRAM_API_BASE_URL (your local server)")

    @property
    def download_limit(self) -> int | None:
        return None if self.local_mode else PUBLIC_DOWNLOAD_LIMIT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramConfig:
        return load(cls, env)
