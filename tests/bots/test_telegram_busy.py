"""Admission at the bot: each person is told their place and expected wait, kept current as the
line moves; past the bound an upload is answered "busy, try again later" with the wait at once,
before anything is downloaded, and no free preview is used up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import jobs
from tests.bots.conftest import Harness


@pytest.fixture
def jobs_settings(jobs_settings: jobs.Settings) -> jobs.Settings:
    # No worker measured a preview yet: 10 s each is assumed; 25 s is the bound (two wait), and
    # a waiting person is told their wait again every half second.
    return replace(
        jobs_settings, max_preview_wait_s=25.0, preview_estimate_s=10.0, wait_update_interval_s=0.5
    )


async def test_a_full_line_says_busy_before_downloading(bot: Harness, media: dict[str, Path]) -> None:
    api = bot.api
    first, second, third = bot.user(180), bot.user(181), bot.user(182)
    api.send_media(first, media["song"], "audio")  # no worker runs: they wait in line
    await api.wait_for_text(first.id, "separating the preview")
    api.send_media(second, media["song2"], "audio")
    await api.wait_for_text(second.id, "you are #2 in line")
    sent = api.send_media(third, media["song_wav"], "audio")
    told = await api.wait_for_text(third.id, "busy")
    assert "2 songs are waiting" in told and "about 35 seconds" in told
    assert "send it again in a few minutes" in told
    fetched = [c.params["file_id"] for c in api.calls if c.method == "getFile"]
    assert sent["audio"]["file_id"] not in fetched  # refused before downloading
    assert bot.queue.active_jobs("telegram", third.id) == []
    user = bot.pay.users.get("telegram", third.id)
    assert user is not None and bot.pay.users.previews_used_today(user) == 0


async def test_the_place_and_wait_are_told_and_kept_current_as_the_line_moves(
    bot: Harness, media: dict[str, Path]
) -> None:
    api = bot.api
    first, second = bot.user(183), bot.user(184)
    api.send_media(first, media["song"], "audio")  # no worker runs: both wait in line
    await api.wait_for_text(first.id, "separating the preview now; it should be ready in about 15 seconds")
    api.send_media(second, media["song2"], "audio")
    told = await api.wait_for_text(second.id, "you are #2 in line")
    assert "ready in about 25 seconds" in told
    api.send_text(second, "/status")  # says the same
    assert await api.wait_for_text(second.id, "preview: #2 in line, ready in about 25 seconds")
    status = bot.services.state.status_message(bot.queue.active_jobs("telegram", second.id)[0].id)
    assert status is not None
    api.send_text(first, "/cancel")  # the line moves: the second song is next now
    (update,) = await api.wait_for_call(
        second.id,
        "editMessageText",
        lambda call: "now; it should be ready in about 15 seconds" in str(call.params.get("text")),
    )
    assert int(update.params["message_id"]) == status.message_id  # the same status message
