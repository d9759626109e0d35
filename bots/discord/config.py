"""Discord bot configuration from the environment.

Only Discord's own settings live here; prices, admins and the database are the payments
package's settings, queues and storage the pipeline's, each read once by its owner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PUBLIC_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_SPOOL_DIR = Path("var") / "discord-uploads"
# Discord's own limit per file for a server without boosts and in DMs (discord.utils has it too);
# the real limit of a chat is read from the interaction or the server, this is only the fallback.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
# Discord's largest per-file limit (a server at boost level 3); DISCORD_UPLOAD_LIMIT_BYTES may
# only lower what a chat allows.
MAX_UPLOAD_LIMIT = 100 * 1024 * 1024


class ConfigError(ValueError):
    """A required setting is missing or malformed (raised at start-up)."""


def _ids(raw: str, name: str) -> tuple[int, ...]:
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ConfigError(f"{name} must be comma-separated numeric ids, got {part!r}")
        ids.append(int(part))
    return tuple(ids)


@dataclass(frozen=True)
class DiscordConfig:
    token: str = field(repr=False)
    # discord.py's REST base (``discord.http.Route.BASE``); the gateway URL is asked from it.
    api_base_url: str = PUBLIC_API_BASE_URL
    # Servers whose slash commands are synced at start (appear at once while developing);
    # empty: global commands (Discord may take a while to show changes).
    guild_ids: tuple[int, ...] = ()
    # A cap under every chat's own upload limit (tests, or a slow uplink); None: Discord's limits.
    upload_limit_cap: int | None = None
    spool_dir: Path = DEFAULT_SPOOL_DIR

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DiscordConfig:
        env = os.environ if env is None else env
        token = env.get("DISCORD_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("DISCORD_BOT_TOKEN is not set")
        base = (env.get("DISCORD_API_BASE_URL", "").strip() or PUBLIC_API_BASE_URL).rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ConfigError(f"DISCORD_API_BASE_URL must be an http(s) URL, got {base!r}")
        cap_raw = env.get("DISCORD_UPLOAD_LIMIT_BYTES", "").strip()
        try:
            cap = int(cap_raw) if cap_raw else None
        except ValueError as exc:
            raise ConfigError("DISCORD_UPLOAD_LIMIT_BYTES must be an integer") from exc
        if cap is not None and not 0 < cap <= MAX_UPLOAD_LIMIT:
            raise ConfigError(f"DISCORD_UPLOAD_LIMIT_BYTES must be 1..{MAX_UPLOAD_LIMIT}")
        return cls(
            token=token,
            api_base_url=base,
            guild_ids=_ids(env.get("DISCORD_GUILD_IDS", ""), "DISCORD_GUILD_IDS"),
            upload_limit_cap=cap,
            spool_dir=Path(env.get("DISCORD_SPOOL_DIR", "").strip() or DEFAULT_SPOOL_DIR),
        )
