"""A song through the Discord bot, end to end: attachment or /separate → preview → Buy (a Stripe
Checkout link bound to the person and the order) → the payments service's signed webhook →
stems in the person's DMs → reactions and 👍/👎 stored with the model version."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from db.tables import FeedbackRow
from payments import OrderState
from tests.bots.discord.conftest import DiscordHarness, PaymentsService, job_of
from tests.bots.fake_discord import CHANNEL_ID, Message
from tests.support.stripe_stub import StripeStub


def _feedback(bot: DiscordHarness, user_id: int) -> list[tuple[str, str, int, str, str | None]]:
    """The person's stored ratings: (job id, model version, rating, source, value)."""
    user = bot.pay.users.get("discord", user_id)
    assert user is not None
    with bot.pay.db.read() as session:
        rows = session.scalars(select(FeedbackRow).where(FeedbackRow.user_id == user.id)).all()
        return [(r.job_id, r.model_version, r.rating, r.source, r.value) for r in rows]


async def test_dm_song_preview_buy_by_link_webhook_stems_and_ratings(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    alice = bot.person(1001, "alice")
    dm = alice.dm_channel
    await fake.send(alice, media["song"])
    status = await fake.wait_for_text(dm, "Got it")
    instrumental, vocals, waveform = await bot.preview(dm)
    assert "instrumental preview" in instrumental.content and "vocals preview" in vocals.content
    assert "Preview: 3 s" in waveform.content and "Full stems: $1.99." in waveform.content
    job_id = job_of(waveform)
    assert {"vr:fmt:wav", "vr:fmt:flac", "vr:fmt:mp3"} <= set(waveform.custom_ids)
    assert not [c for c in waveform.custom_ids if c.startswith("vr:buy:")]  # no Stars here
    (buy_label,) = [
        b["label"] for r in waveform.components for b in r["components"] if "/buy/" in b.get("url", "")
    ]
    assert buy_label == "Buy full stems — $1.99"  # a link: one tap to Checkout
    await fake.wait_for(lambda: "ready" in fake.messages[status.id].content, 30, "status: ready")

    # Buy full stems: Checkout, bound to alice and this order.
    checkout = await bot.open_buy_link(waveform)
    (session,) = stripe_stub.sessions.values()
    assert checkout == session["url"] and checkout.startswith("https://checkout.stripe.com/")
    order = bot.order_of(alice)
    assert session["client_reference_id"] == order.id and session["metadata"]["order_id"] == order.id
    assert order.job_id == job_id

    # Stripe confirms the payment to the payments service; the stems come to alice's DM.
    assert await payments_service.checkout_completed(order.id, session["id"], order.price_cents) == 200
    done = await fake.wait_for_text(dm, "Here are your stems (MP3)", timeout=120)
    stems = [m for m in fake.in_channel(dm) if m.files and m.id > waveform.id]
    assert sorted(n for m in stems for n in m.files) == [
        "Blue Song (instrumental).mp3",
        "Blue Song (vocals).mp3",
    ]
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)

    # A reaction on a stem rates the paid job; 👎 under the stems replaces it; removing the
    # reaction that no longer holds the rating changes nothing.
    full_job = bot.pay.ledger.get_order(order.id).fulfil_job_id
    model_version = bot.queue.get(full_job).model_version
    await fake.react(alice, stems[0], "🔥")
    await wait_until(lambda: _feedback(bot, alice.id), what="the reaction stored")
    assert _feedback(bot, alice.id) == [(full_job, model_version, 1, "reaction", "🔥")]
    down = await fake.press(alice, done, done.button("vr:fb:down:"))
    await fake.answer_text(down, "Thanks for the feedback")
    await fake.react(alice, stems[0], "🔥", added=False)
    await wait_until(lambda: _feedback(bot, alice.id)[0][2] == -1, what="the 👎 stored")
    await fake.react(alice, stems[1], "👍")
    await wait_until(lambda: _feedback(bot, alice.id)[0][4] == "👍", what="the 👍 stored")
    await fake.react(alice, stems[1], "👍", added=False)  # its own rating: withdrawn
    await wait_until(lambda: not _feedback(bot, alice.id), what="the 👍 withdrawn")


async def test_slash_command_in_a_server_is_private_and_two_people_at_once(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    bob, carol = bot.person(2002, "bob"), bot.person(3003, "carol")
    command = await fake.slash(bob, "separate", in_guild=True, file=media["song2"])
    await fake.send(carol, media["song_wav"], in_guild=True)  # at once, mentioning the bot

    def previews() -> tuple[list[Message], list[Message]] | None:
        files = [m for m in fake.in_channel(CHANNEL_ID) if m.files]
        bobs = [m for m in files if m.for_user == bob.id]
        carols = [m for m in files if m.for_user is None]
        return (bobs, carols) if len(bobs) == 3 and len(carols) == 3 else None

    bobs, carols = await fake.wait_for(previews, 120, "both previews")
    # Bob asked by slash command in a public channel: only he sees his song.
    assert all(m.ephemeral for m in bobs) and all("Other Song" in m.content for m in bobs[:2])
    assert not {m.id for m in bobs} & {m.id for m in fake.in_channel(CHANNEL_ID, seen_by=carol.id)}
    status = await fake.answer_text(command, "Your preview is ready")
    assert status.ephemeral and status.edits >= 2  # edited: checking → place/progress → ready
    # Carol mentioned the bot: her song is answered in the channel, for everyone.
    assert not any(m.ephemeral for m in carols)
    assert all("song" in m.content and "Other Song" not in m.content for m in carols[:2])

    # Bob can't buy carol's song through a card button of an older version naming her job.
    old = fake.plant(CHANNEL_ID, f"vr:card:{job_of(carols[2])}")
    theirs = await fake.press(bob, old, old.custom_ids[0])
    refused = await fake.answer_text(theirs, "can't find that order")
    assert refused.ephemeral and refused.for_user == bob.id
    # Each one's own Buy link: Checkout for their own order.
    for person, waveform in ((bob, bobs[2]), (carol, carols[2])):
        await bot.open_buy_link(waveform)
        assert bot.order_of(person).state is OrderState.CREATED
    assert len(stripe_stub.sessions) == 2

    # Bob pays at once: his stems come to his DMs — not ephemeral (that would not outlast his
    # next reload), and never in the channel for everyone.
    order = bot.order_of(bob)
    session = next(s for s in stripe_stub.sessions.values() if s["client_reference_id"] == order.id)
    assert await payments_service.checkout_completed(order.id, session["id"], order.price_cents) == 200
    done = await fake.wait_for_text(bob.dm_channel, "Here are your stems", timeout=120)
    assert not done.ephemeral
    stems = [m for m in fake.in_channel(bob.dm_channel) if m.files]
    assert sorted(n for m in stems for n in m.files) == [
        "Other Song (instrumental).mp3",
        "Other Song (vocals).mp3",
    ]
    public = [m for m in fake.in_channel(CHANNEL_ID) if not m.ephemeral]
    assert not [m for m in public if "Here are your stems" in m.content or "(vocals).mp3" in str(m.files)]
