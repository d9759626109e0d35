"""Discord bot configuration, read at start-up by the one helper, ``service.envconfig``.

Only Discord's own settings live here; prices, admins and the database are the payments
package's settings, queues and storage the pipeline's, each read once by its owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.envconfig import env_field, integer, load

PUBLIC_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_SPOOL_DIR = Path("var") / "discord-uploads"
# Discord's own limit per file for a server without boosts and in DMs (discord.utils has it too);
# the real limit of a chat is read from the interaction or the server, this is only the fallback.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
# Discord's largest per-file limit (a server at boost level 3); DISCORD_UPLOAD_LIMIT_BYTES may
# only lower what a chat allows.
MAX_UPLOAD_LIMIT = 100 * 1024 * 1024


def _ids(raw: str) -> tuple[int, ...]:
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"must be comma-separated numeric ids ({part!r} is not)")
        ids.append(int(part))
    return tuple(ids)


def _api_base(raw: str) -> str:
    base = raw.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return base


@dataclass(frozen=True)
class DiscordConfig:
    token: str = env_field("DISCORD_BOT_TOKEN", secret=True)
    # discord.py's REST base (``discord.http.Route.BASE``); the gateway URL is asked from it.
    api_base_url: str = env_field("DISCORD_API_BASE_URL", _api_base, default=PUBLIC_API_BASE_URL)
    # Servers whose slash commands are synced at start (appear at once while developing);
    # empty: global commands (Discord may take a while to show changes).
    guild_ids: tuple[int, ...] = env_field("DISCORD_GUILD_IDS", _ids, default=())
    # A cap under every chat's own upload limit (tests, or a slow uplink); None: Discord's limits.
    upload_limit_cap: int | None = env_field(
        "DISCORD_UPLOAD_LIMIT_BYTES", integer(1, MAX_UPLOAD_LIMIT), default=None
    )
    spool_dir: Path = env_field("DISCORD_SPOOL_DIR", Path, default=DEFAULT_SPOOL_DIR)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DiscordConfig:
        return load(cls, env)
