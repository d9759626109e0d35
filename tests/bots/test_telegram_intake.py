"""What the bot says to input it can't use, and the commands around the songs."""

from __future__ import annotations

from pathlib import Path

from engine.errors import CorruptAudioError, EmptyAudioError, NotAudioError, SilentAudioError
from tests.bots.conftest import ADMIN_ID, PRICE_STARS, Harness
from texts import error_text


async def test_polling_asks_for_reactions_and_start_explains_price_and_privacy(
    bot: Harness,
) -> None:
    api = bot.api
    assert api.allowed_updates and all(
        "message_reaction" in (allowed or []) for allowed in api.allowed_updates
    )
    commands = [c for c in api.calls if c.method == "setMyCommands"]
    assert commands and {"start", "help", "settings", "cancel"} <= {
        c["command"] for c in commands[0].params["commands"]
    }
    user = bot.user(1)
    api.send_text(user, "/start")
    text = await api.wait_for_text(user.id, "split a song")
    assert f"{PRICE_STARS} ⭐" in text and "deleted after 24 hours" in text


async def test_bad_inputs_get_their_friendly_messages(bot: Harness, media: dict[str, Path]) -> None:
    api = bot.api
    text_user, corrupt_user, big_user, long_user, chat_user = (bot.user(i) for i in range(11, 16))
    api.send_media(text_user, media["text"], "document", mime_type="text/plain")
    api.send_media(corrupt_user, media["corrupt"], "audio", mime_type="audio/mpeg")
    big = api.send_media(big_user, media["large"], "document", mime_type="audio/wav")
    api.send_media(long_user, media["long"], "audio", mime_type="audio/flac")
    api.send_text(chat_user, "hello, can you remove vocals?")

    assert await api.wait_for_text(text_user.id, error_text(NotAudioError.code))
    assert await api.wait_for_text(corrupt_user.id, error_text(CorruptAudioError.code))
    too_big = await api.wait_for_text(big_user.id, "bots can only download files up to 21 MB")
    assert "26 MB" in too_big
    assert await api.wait_for_text(long_user.id, "That song is 2 hours long")
    assert await api.wait_for_text(chat_user.id, "Send me a song")
    # Without a declared size the bot asks; the Bot API refuses; the person hears why.
    undeclared = bot.user(16)
    api.send_media(undeclared, media["large"], "document", declare_size=False)
    assert await api.wait_for_text(undeclared.id, "That file is too big: bots can only download")
    # Nothing was queued and nobody's free previews were used up.
    for user in (text_user, corrupt_user, big_user, long_user):
        assert bot.queue.active_jobs("telegram", user.id) == []
        record = bot.pay.users.get("telegram", user.id)
        assert record is not None and bot.pay.users.previews_used_today(record) == 0
    # The 25 MB file was refused from its declared size: the bot never asked to download it.
    fetched = [c.params["file_id"] for c in api.calls if c.method == "getFile"]
    assert big["document"]["file_id"] not in fetched
    errors = [c.method for c in api.calls if str(c.result).startswith("<error")]
    assert errors == ["getFile"]  # the undeclared big file, refused by the Bot API


async def test_empty_and_silent_audio_are_refused_kindly(
    bot: Harness, media: dict[str, Path], wait_until
) -> None:
    api = bot.api
    empty, zero, silent = (bot.user(i) for i in range(61, 64))
    api.send_media(empty, media["empty"], "audio", mime_type="audio/mpeg")
    api.send_media(zero, media["zero_length"], "document", mime_type="audio/wav")
    api.send_media(silent, media["silence"], "audio", mime_type="audio/mpeg")
    assert await api.wait_for_text(empty.id, error_text(EmptyAudioError.code))
    assert await api.wait_for_text(zero.id, error_text(EmptyAudioError.code))
    assert await api.wait_for_text(silent.id, error_text(SilentAudioError.code))
    # Nothing queued, and the free preview a refused song took is given back.
    for user in (empty, zero, silent):
        assert bot.queue.active_jobs("telegram", user.id) == []
        account = bot.pay.users.get("telegram", user.id)
        await wait_until(lambda a=account: bot.pay.users.previews_used_today(a) == 0)


async def test_mono_phone_and_surround_recordings_get_a_preview(
    bot: Harness, worker: object, media: dict[str, Path]
) -> None:
    """Unusual but good audio: mono 44.1 kHz, 8 kHz phone audio, 96 kHz 5.1 — all accepted."""
    api = bot.api
    people = {bot.user(71): "mono", bot.user(72): "phone", bot.user(73): "surround"}
    for user, name in people.items():
        api.send_media(user, media[name], "document")
    for user, name in people.items():
        instrumental, vocals, photo = await bot.preview(user, timeout=120)
        stem = media[name].stem
        assert instrumental.params["title"] == f"{stem} (instrumental preview)"
        assert vocals.files["audio"][1][:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
        assert photo.files["photo"][1][:8] == b"\x89PNG\r\n\x1a\n"
        assert bot.button(photo, "buy:")


async def test_settings_button_changes_the_output_format(bot: Harness) -> None:
    api, user = bot.api, bot.user(21)
    api.send_text(user, "/settings")
    (shown,) = await api.wait_for_call(user.id, "sendMessage")
    assert "MP3" in shown.params["text"]
    flac = bot.button(shown, "fmt:flac")
    api.press(user, shown.result, flac["callback_data"])
    answer = await api.wait_for(
        lambda: [c for c in api.calls if c.method == "answerCallbackQuery"], what="toast"
    )
    assert "FLAC" in answer[0].params["text"]
    assert bot.services.state.output_format(user.id) == "flac"


async def test_admin_commands_are_for_admins_only(bot: Harness) -> None:
    api, admin, someone = bot.api, bot.user(ADMIN_ID), bot.user(31)
    api.send_text(someone, "/start")
    await api.wait_for_text(someone.id, "split a song")
    api.send_text(someone, "/stats")
    assert await api.wait_for_text(someone.id, "for admins")
    api.send_text(admin, "/ban 31 spamming")
    assert await api.wait_for_text(admin.id, "User 31 is banned")
    api.send_text(admin, "/stats")
    stats = await api.wait_for_text(admin.id, "Users:")
    assert "1 banned" in stats and "Feedback by model version" in stats
    api.send_media(someone, Path(__file__), "document")
    assert await api.wait_for_text(someone.id, "can't use the bot")


async def test_cancel_history_and_forget(bot: Harness, media: dict[str, Path], wait_until) -> None:
    api, user = bot.api, bot.user(41)
    api.send_text(user, "/cancel")
    assert await api.wait_for_text(user.id, "nothing in line")

    api.send_media(user, media["song"], "audio")  # no worker runs: it stays in line
    await api.wait_for_text(user.id, "Got it — separating the preview")
    account = bot.pay.users.get("telegram", user.id)
    assert bot.pay.users.previews_used_today(account) == 1
    api.send_text(user, "/cancel")
    assert await api.wait_for_text(user.id, "out of the queue")
    await wait_until(lambda: not bot.queue.active_jobs("telegram", user.id), what="cancelled")
    # The cancelled preview doesn't count against the free ones.
    await wait_until(lambda: bot.pay.users.previews_used_today(account) == 0, what="released")

    api.send_text(user, "/history")
    assert await api.wait_for_text(user.id, "no orders yet")

    bot.services.state.set_output_format(user.id, "flac")
    api.send_media(user, media["song2"], "audio")  # in line while they ask to be forgotten
    await wait_until(lambda: bot.queue.active_jobs("telegram", user.id), what="queued")
    api.send_text(user, "/forget")
    assert await api.wait_for_text(user.id, "/forget yes")
    api.send_text(user, "/forget yes")
    assert await api.wait_for_text(user.id, "deleted your data")
    await wait_until(lambda: not bot.queue.active_jobs("telegram", user.id), what="cancelled")
    # Its status message says so (the first /cancel's reply and edit were the other two).
    cancelled = "Cancelled — that song is out of the queue."
    await api.wait_for(lambda: api.texts_to(user.id).count(cancelled) == 3, what="third notice")
    assert bot.pay.users.get("telegram", user.id) is None
    assert bot.services.state.output_format(user.id) == "mp3"


async def test_telegram_failures_end_in_a_message_not_silence(bot: Harness, media: dict[str, Path]) -> None:
    api, user = bot.api, bot.user(51)
    # getFile fails once: the download is reported, nothing is queued, sending again works.
    api.failures["getFile"] = 1
    api.send_media(user, media["song"], "audio")
    assert await api.wait_for_text(user.id, "couldn't download that file")
    assert bot.queue.active_jobs("telegram", user.id) == []
    api.send_media(user, media["song"], "audio")
    assert await api.wait_for_text(user.id, "Got it — separating the preview")

    # A reply that fails mid-handler reaches the error handler, which still answers.
    other = bot.user(52)
    api.failures["sendMessage"] = 1
    api.send_text(other, "/history")
    assert await api.wait_for_text(other.id, "something went wrong on my side")
