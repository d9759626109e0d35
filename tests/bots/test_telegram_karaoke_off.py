"""``KARAOKE_ENABLED=false`` hides the karaoke tools: no buttons under a preview or in /settings,
orders carry no karaoke version, and a tap from an old message changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobs
from engine.karaoke import IDENTITY, KaraokeSettings
from tests.bots.conftest import Harness


@pytest.fixture
def jobs_settings(jobs_settings: jobs.Settings) -> jobs.Settings:
    return jobs_settings.with_overrides(karaoke_enabled=False)


async def test_karaoke_off_shows_no_tools_and_orders_none(
    bot: Harness, worker: object, media: dict[str, Path]
) -> None:
    api, user = bot.api, bot.user(311)
    bot.services.state.set_karaoke(user.id, KaraokeSettings(semitones=3))  # chosen while it was on
    api.send_text(user, "/settings")
    text = await api.wait_for_text(user.id, "sent as MP3")
    assert "Karaoke" not in text
    api.send_media(user, media["song"], "audio")
    _, _, photo = await bot.preview(user)
    rows = photo.params["reply_markup"]["inline_keyboard"]
    data = [b.get("callback_data", "") for row in rows for b in row]
    assert data and not [d for d in data if d.startswith(("kp:", "ks:"))]

    job_id = bot.button(photo, "buy:")["callback_data"].partition(":")[2]
    api.press(user, photo.result, "ks:orig")
    api.press(user, photo.result, f"kp:kup:{job_id}")
    await api.wait_for(
        lambda: len([c for c in api.calls if c.method == "answerCallbackQuery"]) >= 2,
        what="both taps answered",
    )
    await bot.buy(user, photo)
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    assert order.karaoke is None
    assert bot.services.state.karaoke(user.id) == KaraokeSettings(semitones=3) != IDENTITY
