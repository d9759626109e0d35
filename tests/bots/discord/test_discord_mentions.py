"""No message of the bot can ping anyone: it repeats file names and titles people chose
(``@everyone.mp3``, ``<@&role>.mp3``), so every message goes out with no mentions allowed
(``AllowedMentions.none()`` on the client: Discord gets ``allowed_mentions: {"parse": []}``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.bots.discord.conftest import DiscordHarness
from tests.bots.fake_discord import CHANNEL_ID, GUILD_ID

NO_MENTIONS = {"parse": []}


def _posted_text(payload: dict[str, Any]) -> str | None:
    """The text a request asks Discord to show (an interaction answer carries it in ``data``)."""
    body = payload.get("data") if "type" in payload and "data" in payload else payload
    return (body or {}).get("content")


async def test_a_song_named_to_ping_the_server_pings_nobody(
    discord_bot: DiscordHarness, worker: object, media: dict[str, Path], tmp_path: Path
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    named = tmp_path / "songs" / f"@everyone <@&{GUILD_ID}> @here.mp3"
    named.parent.mkdir()
    shutil.copy(media["song"], named)
    mia = bot.person(6006, "mia")

    # In the channel, mentioning the bot (public answers), then by /separate (ephemeral ones).
    await fake.send(mia, named, in_guild=True)
    *_, waveform = await bot.preview(CHANNEL_ID)
    command = await fake.slash(mia, "separate", in_guild=True, file=named)
    await fake.answer_text(command, "Your preview is ready")
    tap = await fake.press(mia, waveform, "vr:fmt:wav")  # a tap: a follow-up, then an edit
    await fake.answer_text(tap, "WAV")

    said = [(method, path, p) for method, path, p in fake.payloads if _posted_text(p)]
    assert any("@everyone" in (_posted_text(p) or "") for _, _, p in said)  # the title, as sent
    assert {method for method, _, _ in said} >= {"POST", "PATCH"}
    for method, path, payload in said:
        assert payload.get("allowed_mentions") == NO_MENTIONS, (method, path, payload)
