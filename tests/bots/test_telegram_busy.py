"""Back-pressure at the bot: with the line full, an upload is answered "busy, try again later"
at once, before anything is downloaded, and no free preview is used up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import jobs
from tests.bots.conftest import Harness


@pytest.fixture
def jobs_settings(jobs_settings: jobs.Settings) -> jobs.Settings:
    return replace(jobs_settings, max_waiting_previews_per_worker=1)


async def test_a_full_line_says_busy_before_downloading(bot: Harness, media: dict[str, Path]) -> None:
    api = bot.api
    first, second = bot.user(181), bot.user(182)
    api.send_media(first, media["song"], "audio")  # no worker runs: it waits in line
    await api.wait_for_text(first.id, "separating the preview")
    sent = api.send_media(second, media["song2"], "audio")
    told = await api.wait_for_text(second.id, "busy")
    assert "1 song is waiting" in told and "send it again in a few minutes" in told
    fetched = [c.params["file_id"] for c in api.calls if c.method == "getFile"]
    assert sent["audio"]["file_id"] not in fetched  # refused before downloading
    assert bot.queue.active_jobs("telegram", second.id) == []
    user = bot.pay.users.get("telegram", second.id)
    assert user is not None and bot.pay.users.previews_used_today(user) == 0
