"""Stems past the chat's upload limit come as signed download links (never a refund), served by
the payments service; and the chat's limit is Discord's, from the interaction or the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from payments import OrderState
from tests.bots.discord.conftest import DiscordHarness, PaymentsService
from tests.bots.fake_discord import CHANNEL_ID
from tests.support.stripe_stub import StripeStub

# Smaller than one MP3 stem of the 5-second test song: even MP3 does not fit.
TINY_LIMIT = 40_000


@pytest.fixture
def discord_options() -> dict[str, Any]:
    return {"upload_limit_cap": TINY_LIMIT}


async def test_stems_over_the_limit_even_as_mp3_come_as_download_links(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    dave = bot.person(4004, "dave")
    settings = await fake.slash(dave, "settings", in_guild=True)
    menu = await fake.answer_text(settings, "sent as MP3")
    assert menu.ephemeral  # a server channel: only dave sees his settings
    tap = await fake.press(dave, menu, "vr:fmt:wav")
    assert "WAV" in (await fake.answer_text(tap, "Done")).content

    await fake.send(dave, media["song2"], in_guild=True)  # mentions the bot, in the server
    *_, waveform = await bot.preview(CHANNEL_ID)
    await bot.open_buy_link(waveform)
    (session,) = stripe_stub.sessions.values()
    order = bot.order_of(dave)
    assert order.output_format == "wav"
    assert await payments_service.checkout_completed(order.id, session["id"], order.price_cents) == 200

    # The links work for whoever holds them: they go to dave's DMs, not to the channel.
    told = await fake.wait_for_text(dave.dm_channel, "download links", timeout=120)
    assert "bigger than the 40 KB files I can send here, even as MP3" in told.content
    assert [u.split("?")[0].rsplit("/", 1)[1] for u in told.urls] == ["vocals", "instrumental"]
    assert not [m for m in fake.in_channel(dave.dm_channel) if m.files]
    assert not [m for m in fake.in_channel(CHANNEL_ID) if m.id > waveform.id and not m.ephemeral]
    assert fake.refused_uploads == 0  # nothing was even tried over the limit
    await fake.wait_for_text(dave.dm_channel, "Here are your stems (WAV)")
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
    assert not stripe_stub.calls("/v1/refunds")

    # The links work (the WAV the person chose), and only as signed.
    full = bot.queue.get(bot.pay.ledger.get_order(order.id).fulfil_job_id)
    async with aiohttp.ClientSession() as http:
        async with http.get(told.urls[0]) as response:
            assert response.status == 200
            body = await response.read()
        async with http.get(told.urls[0].replace("sig=", "sig=0")) as forged:
            assert forged.status == 403
    assert body == bot.queue.storage.local_path(full.outputs["vocals"]).read_bytes()
    assert body[:4] == b"RIFF"
