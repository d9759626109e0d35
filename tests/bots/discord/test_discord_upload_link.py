"""/upload on Discord: the link is the person's alone (an ephemeral answer in a server channel),
and the song sent through it continues in their DMs — status, preview and buttons — never in
the channel for everyone."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from tests.bots.discord.conftest import DiscordHarness, PaymentsService
from tests.bots.fake_discord import CHANNEL_ID

URL_RE = re.compile(r"http://127\.0\.0\.1:\d+/u/\S+")


async def test_upload_asked_in_a_channel_continues_in_the_persons_dms(
    discord_bot: DiscordHarness, payments_service: PaymentsService, worker: object, media: dict[str, Path]
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    kai = bot.person(9301, "kai")
    await fake.slash(kai, "upload", in_guild=True)
    answer = await fake.wait_for_text(CHANNEL_ID, "Open this link in your browser", seen_by=kai.id)
    assert answer.ephemeral and answer.for_user == kai.id
    match = URL_RE.search(answer.content)
    assert match is not None

    form = aiohttp.FormData()
    form.add_field("file", media["song"].read_bytes(), filename=media["song"].name)
    async with aiohttp.ClientSession() as http:
        async with http.post(match.group(0), data=form, headers={"Accept": "application/json"}) as reply:
            assert reply.status == 200 and (await reply.json())["ok"] is True

    assert await fake.wait_for_text(kai.dm_channel, "separating the preview")
    *_, waveform = await bot.preview(kai.dm_channel)
    assert waveform.components  # the buttons: buy, format, …
    public = [m for m in fake.in_channel(CHANNEL_ID) if not m.ephemeral]
    assert public == []  # nothing of kai's song was posted for everyone
