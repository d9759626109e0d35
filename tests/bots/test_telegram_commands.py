"""Commands around the songs: /status, /forget, and the admins' /grant, /refund, /export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jobs import keys
from people import AccessLevel
from tests.bots.conftest import ADMIN_ID, Harness


async def test_status_shows_songs_in_line_and_forget_deletes_their_jobs_and_files(
    bot: Harness, media: dict[str, Path]
) -> None:
    api, user = bot.api, bot.user(701)
    api.send_text(user, "/status")
    assert await api.wait_for_text(user.id, "You have no songs in progress")

    # No worker runs: the songs wait in line.
    api.send_media(user, media["song"], "audio", title="First Song")
    await api.wait_for_text(user.id, "Got it — separating the preview")
    api.send_media(user, media["song2"], "audio", title="Second Song")
    # The song's title is stored just after its job is queued: wait for both, or /status may
    # come in between and name the file (a race the loaded CI machine hit).
    await api.wait_for(
        lambda: (
            [bot.services.state.tags(j.id) is not None for j in bot.queue.active_jobs("telegram", user.id)]
            == [True, True]
        ),
        what="2 jobs with their titles",
    )
    api.send_text(user, "/status")
    status = await api.wait_for_text(user.id, "Your songs in progress")
    assert "• First Song — preview: next in line" in status
    assert "• Second Song — preview: #2 in line" in status

    jobs_before = bot.queue.active_jobs("telegram", user.id)
    inputs = [job.input_key for job in jobs_before]
    assert all(bot.queue.storage.exists(key) for key in inputs)
    api.send_text(user, "/forget yes")
    await api.wait_for_text(user.id, "I've deleted your data and your songs")
    # The records (file names, song tags, chat ids) and the stored songs are gone, and so is
    # what the bot kept about those jobs.
    for job in jobs_before:
        assert bot.queue.get(job.id) is None
        assert bot.services.state.tags(job.id) is None
        assert bot.services.state.status_message(job.id) is None
    assert not any(bot.queue.storage.exists(key) for key in inputs)
    assert not bot.queue.connection.exists(keys.user_jobs("telegram", str(user.id)))
    assert bot.pay.users.get("telegram", user.id) is None
    api.send_text(user, "/status")
    await api.wait_for(
        lambda: api.texts_to(user.id).count("You have no songs in progress. Send me a song to start.") == 2,
        what="an empty /status",
    )


async def test_admin_grant_refund_and_export(bot: Harness) -> None:
    api, admin, fan = bot.api, bot.user(ADMIN_ID), bot.user(702)

    # /grant: only for people the bot knows, and only known levels.
    api.send_text(admin, "/grant 702 paid")
    assert await api.wait_for_text(admin.id, "I don't know that user id")
    api.send_text(fan, "/start")
    await api.wait_for_text(fan.id, "I split a song")
    api.send_text(admin, "/grant 702 gold")
    assert await api.wait_for_text(admin.id, "Usage: /grant <user id> paid|free")
    api.send_text(admin, "/grant 702 paid")
    assert await api.wait_for_text(admin.id, "User 702 is now paid.")
    assert bot.pay.users.get("telegram", fan.id).level is AccessLevel.PAID
    # Not for everyone: the fan can't grant themselves anything.
    api.send_text(fan, "/grant 702 free")
    assert await api.wait_for_text(fan.id, "That command is for admins.")
    assert bot.pay.users.get("telegram", fan.id).level is AccessLevel.PAID

    # /refund of an order that doesn't exist says so, instead of "something went wrong".
    api.send_text(admin, "/refund 0123456789abcdef")
    told = await api.wait_for_text(admin.id, "There is no order '0123456789abcdef'")
    assert "went wrong" not in told

    # /export: every rating as a CSV document, people as internal ids only.
    fan_user = bot.pay.users.get("telegram", fan.id)
    bot.pay.feedback.record(fan_user, "job-1", "unet-v1", 1, "button", "👍")
    api.send_text(fan, "/export")
    assert await api.wait_for_text(fan.id, "That command is for admins.")
    api.send_text(admin, "/export")
    (document,) = await api.wait_for_call(admin.id, "sendDocument")
    name, data = document.files["document"]
    assert name.startswith("feedback-") and name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [(r["job_id"], r["model_version"], r["rating"]) for r in rows] == [("job-1", "unet-v1", "1")]
    assert str(fan.id) not in data.decode("utf-8")
    assert not api.calls_to(fan.id, "sendDocument")
