"""The Discord bot tells a waiting song its place and expected wait, and keeps that figure
current in the same status message as the line moves (no worker runs: the songs wait)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import jobs
from tests.bots.discord.conftest import DiscordHarness


@pytest.fixture
def jobs_settings(jobs_settings: jobs.Settings) -> jobs.Settings:
    # No preview measured yet: 10 s each is assumed; the wait is told again every half second.
    return replace(jobs_settings, preview_estimate_s=10.0, wait_update_interval_s=0.5)


async def test_the_place_and_wait_are_told_and_kept_current(
    discord_bot: DiscordHarness, media: dict[str, Path]
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    alice, bob = bot.person(1101, "alice"), bot.person(1102, "bob")
    await fake.send(alice, media["song"])
    await fake.wait_for_text(alice.dm_channel, "separating the preview now; it should be ready in about 15 s")
    await fake.send(bob, media["song2"])
    status = await fake.wait_for_text(bob.dm_channel, "you are #2 in line")
    assert "ready in about 25 seconds" in status.content
    (waiting,) = bot.queue.active_jobs("discord", alice.id)
    assert bot.queue.cancel(waiting.id)  # the line moves: bob's song is next now
    await fake.wait_for(
        lambda: "now; it should be ready in about 15 seconds" in fake.messages[status.id].content,
        30,
        "bob's wait told again in his status message",
    )
