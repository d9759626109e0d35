"""Key and tempo on Discord (a real worker analyses the song): the preview's status message is
edited with the BPM, key and Camelot code once the analysis is in."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from engine.constants import SAMPLE_RATE
from tests.bots.discord.conftest import DiscordHarness
from tests.conftest import e_minor_at_120


async def test_the_preview_shows_key_and_tempo_when_ready(
    discord_bot: DiscordHarness, worker: object, tmp_path: Path
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    fay = bot.person(5101, "fay")
    song = tmp_path / "Click in E minor.wav"
    sf.write(song, e_minor_at_120(10.0), SAMPLE_RATE, subtype="PCM_16")
    await fake.send(fay, song)
    await bot.preview(fay.dm_channel)
    status = await fake.wait_for_text(fay.dm_channel, "120 BPM · E minor · 9A")
    assert status.content.startswith("Your preview is ready")
