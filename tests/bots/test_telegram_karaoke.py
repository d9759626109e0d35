"""Karaoke on Telegram, end to end with a real worker: a key tap under a preview sends the clip
in the new key, /settings taps change the saved preference, and a paid order with a karaoke
version delivers it next to the stems."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.audio import decode
from engine.karaoke import IDENTITY, KaraokeSettings
from testbed.fake_bot_api import Call, FakeBotApi
from testbed.workers import WorkerProcess
from tests.bots.conftest import Harness
from tests.engine.test_karaoke import cents, pitch_hz


def pitch_of(call: Call, tmp_path: Path) -> float:
    """The strongest pitch of an audio file the bot sent."""
    name, data = call.files["audio"]
    path = tmp_path / "heard" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return pitch_hz(decode(path, allow_silence=True))


async def toast(api: FakeBotApi, before: int) -> str:
    """The text of the next answer to a button tap."""
    answers = await api.wait_for(
        lambda: (a := [c for c in api.calls if c.method == "answerCallbackQuery"])[before:] and a,
        what="button answer",
    )
    return str(answers[before].params.get("text", ""))


def answers(api: FakeBotApi) -> int:
    return len([c for c in api.calls if c.method == "answerCallbackQuery"])


async def test_key_tap_under_a_preview_sends_the_clip_in_the_new_key(
    bot: Harness, worker: object, media: dict[str, Path], tmp_path: Path
) -> None:
    api, user = bot.api, bot.user(301, "Kim")
    api.send_media(user, media["song"], "audio", title="Blue Song", performer="The Testers")
    instrumental, _, photo = await bot.preview(user)

    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:kup:")["callback_data"])
    assert "key +1" in await toast(api, before)
    (clip,) = (await api.wait_for_call(user.id, "sendAudio", count=3, timeout=60))[2:]
    assert clip.params["title"] == "Blue Song (karaoke preview)"
    assert clip.params["performer"] == "The Testers"
    assert "guide vocal off, key +1, tempo 100 %" in clip.params["caption"]
    shift = cents(pitch_of(clip, tmp_path), pitch_of(instrumental, tmp_path))
    assert abs(shift - 100) < 15, shift
    assert bot.services.state.karaoke(user.id) == KaraokeSettings(semitones=1)

    # Back down to the original key: nothing to render, the instrumental above is it.
    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:kdn:")["callback_data"])
    assert "original" in await toast(api, before)
    assert bot.services.state.karaoke(user.id) == IDENTITY
    # Someone else's preview: refused, their preference untouched.
    other = bot.user(302)
    before = answers(api)
    api.press(other, photo.result, bot.button(photo, "kp:kup:")["callback_data"])
    assert "can't find that preview" in await toast(api, before)
    assert bot.services.state.karaoke(other.id) == IDENTITY
    assert len(api.calls_to(user.id, "sendAudio")) == 3

    # The preview's stems expired meanwhile: the person is told, nothing is dropped silently.
    job_id = bot.button(photo, "buy:")["callback_data"].partition(":")[2]
    for key in bot.queue.get(job_id).outputs.values():
        bot.queue.storage.delete(key)
    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:tup:")["callback_data"])
    assert "tempo 105 %" in await toast(api, before)
    await api.wait_for_text(user.id, "preview is no longer stored", timeout=60)
    assert len(api.calls_to(user.id, "sendAudio")) == 3


async def test_settings_buttons_change_the_saved_karaoke_preference(bot: Harness) -> None:
    api, user = bot.api, bot.user(303)
    api.send_text(user, "/settings")
    await api.wait_for_text(user.id, "Karaoke version: guide vocal off, original key, tempo 100 %")
    (shown,) = [c for c in api.calls_to(user.id, "sendMessage") if "Karaoke" in c.params["text"]]
    bot.button(shown, "fmt:mp3")  # beside the format row

    for data, said in [
        ("ks:g12", "guide vocal −12 dB, original key"),
        ("ks:kup", "key +1"),
        ("ks:kup", "key +2"),
        ("ks:tdn", "tempo 95 %"),
    ]:
        before = answers(api)
        api.press(user, shown.result, bot.button(shown, data)["callback_data"])
        assert said in await toast(api, before)
    assert bot.services.state.karaoke(user.id) == KaraokeSettings(-12, 2, 95)
    before = answers(api)
    api.press(user, shown.result, bot.button(shown, "ks:orig")["callback_data"])
    assert "guide vocal off, original key, tempo 100 %" in await toast(api, before)
    assert bot.services.state.karaoke(user.id) == IDENTITY


async def test_paid_order_with_a_karaoke_version_delivers_it_beside_the_stems(
    bot: Harness, worker: object, media: dict[str, Path], tmp_path: Path
) -> None:
    api, user = bot.api, bot.user(304, "Lou")
    bot.services.state.set_karaoke(user.id, KaraokeSettings(guide_db=-12, semitones=-2))
    api.send_media(user, media["song"], "audio", title="Blue Song", performer="The Testers")
    _, _, photo = await bot.preview(user)
    invoice = await bot.buy(user, photo)
    assert invoice.params["prices"][0]["amount"] == 50  # no extra charge
    assert await bot.pay_invoice(user, invoice, charge_id="stars-karaoke")
    sent = await api.wait_for_call(user.id, "sendAudio", count=5, timeout=120)
    vocals, instrumental, karaoke = sent[2:]
    assert karaoke.params["title"] == "Blue Song (karaoke)"
    assert karaoke.files["audio"][0] == "Blue Song (karaoke).mp3"
    assert "guide vocal −12 dB, key −2, tempo 100 %" in karaoke.params["caption"]
    shift = cents(pitch_of(karaoke, tmp_path), pitch_of(instrumental, tmp_path))
    assert abs(shift + 200) < 15, shift
    await api.wait_for_text(user.id, "Here are your stems (MP3)")
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    assert order.karaoke == "g12.k-2.t100"


async def test_karaoke_renders_one_at_a_time_and_a_daily_allowance_are_said_in_words(
    bot: Harness, start_worker: Callable[[], WorkerProcess], media: dict[str, Path]
) -> None:
    """Issue 21, defect 4: a free person can't fill the workers with key taps."""
    bot.queue.settings = bot.queue.settings.with_overrides(karaoke_renders_per_day=2)
    api, user = bot.api, bot.user(305, "Max")
    worker = start_worker()
    api.send_media(user, media["song"], "audio", title="Blue Song", performer="The Testers")
    _, _, photo = await bot.preview(user)
    worker.stop()  # the first render waits in line

    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:kup:")["callback_data"])
    assert "key +1" in await toast(api, before)
    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:tup:")["callback_data"])
    assert "still being made" in await toast(api, before)
    # Refused: the preference is still what they will hear.
    assert bot.services.state.karaoke(user.id) == KaraokeSettings(semitones=1)

    start_worker()
    await api.wait_for_call(user.id, "sendAudio", count=3, timeout=60)
    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:tup:")["callback_data"])
    assert "tempo 105 %" in await toast(api, before)
    await api.wait_for_call(user.id, "sendAudio", count=4, timeout=60)
    before = answers(api)
    api.press(user, photo.result, bot.button(photo, "kp:kup:")["callback_data"])
    assert "2 karaoke previews today" in await toast(api, before)
    assert bot.services.state.karaoke(user.id) == KaraokeSettings(semitones=1, tempo_percent=105)
    assert len(api.calls_to(user.id, "sendAudio")) == 4
