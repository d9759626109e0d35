"""End to end: a song in, a preview out, paid in Stars, stems delivered, rated — and the ways a
paid order must never be lost."""

from __future__ import annotations

from pathlib import Path

from payments import OrderState
from tests.bots.conftest import ADMIN_ID, PRICE_STARS, Harness


async def test_song_preview_payment_stems_and_reaction(
    bot: Harness, worker: object, media: dict[str, Path], wait_until
) -> None:
    api, user = bot.api, bot.user(101, "Ann")
    api.send_media(user, media["song"], "audio", title="Blue Song", performer="The Testers")

    # Answered at once, then the same message is edited with the queue position and progress.
    await api.wait_for_text(user.id, "Got it")
    progress = await api.wait_for_text(user.id, "Separating the preview…")
    assert progress.endswith("%")

    instrumental, vocals, photo = await bot.preview(user)
    assert instrumental.params["title"] == "Blue Song (instrumental preview)"
    assert vocals.params["title"] == "Blue Song (vocals preview)"
    assert instrumental.params["performer"] == vocals.params["performer"] == "The Testers"
    assert instrumental.files["audio"][0] == "Blue Song (instrumental preview).mp3"
    assert instrumental.files["audio"][1][:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert photo.files["photo"][1][:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{PRICE_STARS} ⭐" in bot.button(photo, "buy:")["text"]
    bot.button(photo, "fmt:wav")

    invoice = await bot.buy(user, photo)
    assert invoice.params["currency"] == "XTR"
    assert invoice.params["prices"] == [{"label": "Full stems", "amount": PRICE_STARS}]
    assert not invoice.params.get("provider_token")
    assert await bot.pay_invoice(user, invoice, charge_id="stars-charge-1")
    await api.wait_for_text(user.id, "Payment received")

    stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
    titles = [c.params["title"] for c in stems[2:]]
    assert titles == ["Blue Song (vocals)", "Blue Song (instrumental)"]
    assert [c.files["audio"][0] for c in stems[2:]] == [
        "Blue Song (vocals).mp3",
        "Blue Song (instrumental).mp3",
    ]
    done = await api.wait_for_text(user.id, "Here are your stems (MP3)")
    assert done
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    await wait_until(
        lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED, what="delivered"
    )
    (payment,) = bot.pay.ledger.payments_for(order.id)
    assert payment.charge_id == "stars-charge-1" and payment.amount == PRICE_STARS

    # A 👍 on the vocals stem is stored with the job and the model version that made it.
    api.react(user, stems[2].result["message_id"], "👍")
    stats = await wait_until(lambda: (s := bot.pay.stats()).feedback_total == 1 and s, what="feedback row")
    (approval,) = stats.approval
    full_job = bot.queue.get(bot.pay.ledger.get_order(order.id).fulfil_job_id)
    assert approval.model_version == full_job.model_version and approval.up == 1
    assert "reaction" in bot.pay.feedback.export_csv()

    # Paying the same order again is refused before any money moves, as is an invoice the bot
    # never made.
    ok, why = await bot.pre_checkout(user, invoice.params["payload"], PRICE_STARS)
    assert not ok and "already paid" in why
    ok, why = await bot.pre_checkout(user, "vr1:" + "0" * 32, PRICE_STARS)
    assert not ok and "no longer valid" in why
    assert len(api.calls_to(user.id, "sendAudio")) == 4  # and nothing was sent twice

    # Changing one's mind with the 👎 button overwrites the rating (one per person and job).
    feedback_message = api.calls_to(user.id, "sendMessage")[-1]
    api.press(user, feedback_message.result, bot.button(feedback_message, "fb:down:")["callback_data"])
    await wait_until(lambda: bot.pay.stats().approval[0].down == 1, what="rating changed")
    assert bot.pay.stats().feedback_total == 1

    api.send_text(user, "/history")
    assert f"{PRICE_STARS} ⭐ · delivered" in await api.wait_for_text(user.id, "Your orders")

    # An admin refunds the delivered order by hand; /stats shows it.
    admin = bot.user(ADMIN_ID)
    api.send_text(admin, f"/refund {order.id}")
    assert await api.wait_for_text(admin.id, f"Order {order.id} refunded")
    refunds = [c for c in api.calls if c.method == "refundStarPayment"]
    assert [c.params["telegram_payment_charge_id"] for c in refunds] == ["stars-charge-1"]
    api.send_text(admin, "/stats")
    stats_text = await api.wait_for_text(admin.id, "Refunds: 1")
    assert "👍 0 / 👎 1" in stats_text
    assert "Jobs today: done full 1, preview 1 · failed full 0, preview 0" in stats_text
    assert "s on average" in stats_text.split("Preview wait today: ")[1].splitlines()[0]


async def test_failed_paid_job_is_refunded_once_and_the_user_told(
    bot: Harness, worker: object, media: dict[str, Path], wait_until
) -> None:
    api, user = bot.api, bot.user(102)
    api.send_media(user, media["song"], "audio")
    _, _, photo = await bot.preview(user)
    # The stored upload gets damaged after the preview: the paid full-length job will fail.
    preview_job = bot.button(photo, "buy:")["callback_data"].partition(":")[2]
    stored = bot.queue.storage.local_path(bot.queue.get(preview_job).input_key)
    stored.write_bytes(b"\x00garbage" * 4096)

    invoice = await bot.buy(user, photo)
    assert await bot.pay_invoice(user, invoice, charge_id="stars-charge-fail")
    told = await api.wait_for_text(user.id, "has been refunded", timeout=90)
    assert f"{PRICE_STARS} ⭐" in told

    refunds = [c for c in api.calls if c.method == "refundStarPayment"]
    assert len(refunds) == 1
    assert refunds[0].params == {
        "user_id": str(user.id),
        "telegram_payment_charge_id": "stars-charge-fail",
    }
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.REFUNDED)
    assert len(api.calls_to(user.id, "sendAudio")) == 2  # the preview only, no stems


async def test_song_expired_between_checkout_and_payment_is_refunded(
    bot: Harness, worker: object, media: dict[str, Path]
) -> None:
    api, user = bot.api, bot.user(103)
    api.send_media(user, media["song2"], "document", mime_type="audio/mpeg")
    _, _, photo = await bot.preview(user)
    invoice = await bot.buy(user, photo)
    payload = invoice.params["payload"]
    ok, _ = await bot.pre_checkout(user, payload, PRICE_STARS)
    assert ok
    # Retention deletes the upload in the seconds between checkout and payment.
    preview_job = bot.button(photo, "buy:")["callback_data"].partition(":")[2]
    bot.queue.storage.delete(bot.queue.get(preview_job).input_key)
    api.successful_payment(user, payload, PRICE_STARS, "stars-charge-expired")
    # The pipeline records a failed job; its event makes the bot refund and say why, once.
    told = await api.wait_for_text(user.id, "has been refunded")
    assert "no longer stored" in told and f"({PRICE_STARS} ⭐)" in told
    assert len([t for t in api.texts_to(user.id) if "has been refunded" in t]) == 1
    assert [c.params["telegram_payment_charge_id"] for c in api.calls if c.method == "refundStarPayment"] == [
        "stars-charge-expired"
    ]
    # And a new checkout for that song is refused: it is gone.
    ok, why = await bot.pre_checkout(user, payload, PRICE_STARS)
    assert not ok and why


async def test_two_users_at_once_only_see_their_own_files(
    bot: Harness, worker: object, media: dict[str, Path]
) -> None:
    api = bot.api
    ann, bob, cat = bot.user(201, "Ann"), bot.user(202, "Bob"), bot.user(203, "Cat")
    api.send_media(ann, media["voice"], "voice", mime_type="audio/ogg")
    api.send_media(bob, media["video"], "video", mime_type="video/mp4")
    api.send_media(cat, media["song_wav"], "document", file_name="cat song.wav")

    previews = {u.id: await bot.preview(u, timeout=120) for u in (ann, bob, cat)}
    titles = {uid: {c.params.get("title") for c in calls[:2]} for uid, calls in previews.items()}
    assert titles[ann.id] == {"voice (instrumental preview)", "voice (vocals preview)"}
    assert titles[bob.id] == {"clip (instrumental preview)", "clip (vocals preview)"}
    assert titles[cat.id] == {"cat song (instrumental preview)", "cat song (vocals preview)"}
    jobs_of = {uid: bot.button(calls[2], "buy:")["callback_data"] for uid, calls in previews.items()}
    assert len(set(jobs_of.values())) == 3
    # Every file went to the chat of the person who sent the song, exactly once each.
    for user in (ann, bob, cat):
        assert len(api.calls_to(user.id, "sendAudio")) == 2
        assert len(api.calls_to(user.id, "sendPhoto")) == 1
    audio = [c.files["audio"][1] for calls in previews.values() for c in calls[:2]]
    assert len(set(audio)) == 6

    # Bob taps "buy" with Ann's preview job: no invoice, just a polite refusal.
    api.press(bob, previews[bob.id][2].result, jobs_of[ann.id])
    toast = await api.wait_for(
        lambda: [c for c in api.calls if c.method == "answerCallbackQuery"], what="toast"
    )
    assert "can't find that order" in toast[-1].params["text"]
    assert not api.calls_to(bob.id, "sendInvoice")
    assert not [c for c in api.calls if c.method == "sendInvoice"]
