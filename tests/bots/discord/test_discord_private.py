"""What is a person's own never lands in a server channel for everyone: a /separate song's later
messages (after Discord stops taking follow-ups at 15 minutes, or after a restart), the paid
stems and their download links, karaoke clips and refund notices go ephemeral while the
interaction lives, then to the person's DMs. Where their DMs are closed, the channel gets one
short note that names no song and tells them to open their DMs — and the stems follow once they
do."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobs
import payments
from bots.core import context as bot_context
from bots.discord import chat as discord_chat
from payments import IncomingPayment, OrderState, Provider
from tests.bots.discord.conftest import DiscordHarness, PaymentsService, job_of
from tests.bots.fake_discord import CHANNEL_ID, FakeDiscord, Message, Person
from tests.support.stripe_stub import StripeStub

# Long enough for the first job events, far too short for the preview (the real one is 14 min).
SHORT_INTERACTION_S = 0.05


def public_after(fake: FakeDiscord, after: int) -> list[Message]:
    """What everyone in the server channel sees, sent after message ``after``."""
    return [m for m in fake.in_channel(CHANNEL_ID) if m.id > after and not m.ephemeral]


async def pay(
    bot: DiscordHarness, service: PaymentsService, stripe: StripeStub, who: Person, waveform: Message
) -> payments.Order:
    await bot.open_buy_link(waveform)
    order = bot.order_of(who)
    session = next(s for s in stripe.sessions.values() if s["client_reference_id"] == order.id)
    assert await service.checkout_completed(order.id, session["id"], order.price_cents) == 200
    return order


async def test_a_slash_song_outliving_its_interaction_goes_to_the_persons_dms(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    monkeypatch: pytest.MonkeyPatch,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    ivy = bot.person(9101, "ivy")
    # Discord no longer takes follow-ups by the time the preview is ready.
    monkeypatch.setattr(discord_chat, "INTERACTION_TTL_S", SHORT_INTERACTION_S)
    await fake.slash(ivy, "separate", in_guild=True, file=media["song"])
    *_, waveform = await bot.preview(ivy.dm_channel)  # not in the channel: in ivy's DMs
    assert fake.dms_opened and set(fake.dms_opened) == {ivy.id}
    assert public_after(fake, 0) == []

    await bot.stop()
    await bot.start()  # a restart: nothing of the interaction is left in memory
    order = await pay(bot, payments_service, stripe_stub, ivy, waveform)
    await fake.wait_for_text(ivy.dm_channel, "Here are your stems", timeout=120)
    stems = [m for m in fake.in_channel(ivy.dm_channel) if m.files and m.id > waveform.id]
    assert sorted(n for m in stems for n in m.files) == [
        "Blue Song (instrumental).mp3",
        "Blue Song (vocals).mp3",
    ]
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
    assert public_after(fake, 0) == []  # nothing of ivy's was ever posted for everyone


async def test_a_song_sent_in_the_channel_gets_its_stems_and_clips_in_dms(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    carol = bot.person(9202, "carol")
    await fake.send(carol, media["song2"], in_guild=True)  # mentions the bot, in public
    *_, waveform = await bot.preview(CHANNEL_ID)  # the free preview: where she posted it
    job_id = job_of(waveform)

    tap = await fake.press(carol, waveform, f"vr:kp:kup:{job_id}")
    await fake.answer_text(tap, "Making the preview")
    clip = await fake.wait_for(
        lambda: next((m for m in fake.in_channel(carol.dm_channel) if m.files), None),
        60,
        "the karaoke clip in carol's DMs",
    )
    assert "karaoke preview" in next(iter(clip.files))

    order = await pay(bot, payments_service, stripe_stub, carol, waveform)
    await fake.wait_for_text(carol.dm_channel, "Here are your stems", timeout=120)
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
    stems = [m for m in fake.in_channel(carol.dm_channel) if m.files and m.id > clip.id]
    assert sorted(n for m in stems for n in m.files) == [  # with the key she chose: +1
        "Other Song (instrumental).mp3",
        "Other Song (karaoke).mp3",
        "Other Song (vocals).mp3",
    ]
    leaked = [m for m in public_after(fake, waveform.id) if m.files or "stems" in m.content]
    assert leaked == []


async def test_closed_dms_get_a_note_naming_no_song_then_the_stems_once_opened(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    dan = bot.person(9303, "dan")
    fake.closed_dms.add(dan.id)
    bot.services.events.claim_idle_ms = 2_000  # the failed delivery is tried again soon
    await fake.send(dan, media["song"], in_guild=True)
    *_, waveform = await bot.preview(CHANNEL_ID)
    order = await pay(bot, payments_service, stripe_stub, dan, waveform)

    note = await fake.wait_for_text(CHANNEL_ID, "direct messages", timeout=120)
    assert not note.ephemeral and note.content.startswith(f"<@{dan.id}>")
    assert "Blue Song" not in note.content and not note.files and not note.urls
    assert bot.pay.ledger.get_order(order.id).state is OrderState.PAID  # kept, not refunded
    assert [m for m in public_after(fake, waveform.id) if m.files or "stems" in m.content] == []

    fake.closed_dms.discard(dan.id)  # dan opens his DMs: the next try reaches him
    await fake.wait_for_text(dan.dm_channel, "Here are your stems", timeout=60)
    await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED)
    notes = [m for m in fake.in_channel(CHANNEL_ID) if "direct messages" in m.content]
    assert len(notes) == 1  # told once, not at every try
    assert not stripe_stub.calls("/v1/refunds")


async def test_the_closed_dms_note_shows_the_page_to_its_owner_alone(
    discord_bot: DiscordHarness,
    payments_service: PaymentsService,
    worker: object,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The note's one button, "Show it here only to me": another person's tap is refused
    (ephemeral, no link); the owner's is answered ephemerally — the results page where there is
    one, else a word to open their DMs — and the page's link is never posted for everyone."""
    fake, bot = discord_bot.fake, discord_bot
    dan, eve = bot.person(9304, "dan"), bot.person(9405, "eve")
    fake.closed_dms.add(dan.id)
    await fake.send(dan, media["song"], in_guild=True)
    *_, waveform = await bot.preview(CHANNEL_ID)
    order = await pay(bot, payments_service, stripe_stub, dan, waveform)

    note = await fake.wait_for_text(CHANNEL_ID, "direct messages", timeout=120)
    assert not note.ephemeral and note.content.startswith(f"<@{dan.id}>")
    assert "Blue Song" not in note.content and not note.files and not note.urls
    assert "button below" in note.content
    full_job = bot.pay.ledger.get_order(order.id).fulfil_job_id  # the paid job: its page
    assert full_job
    button = note.button("vr:pg:")
    assert button == f"vr:pg:{full_job}"

    tap = await fake.press(eve, note, button)  # someone else: refused, and no link
    refusal = await fake.answer_text(tap, "someone else")
    assert refusal.ephemeral and not refusal.urls
    assert all(not m.urls for m in fake.answers(tap))

    # No page a person could open (the suite's PUBLIC_BASE_URL is loopback): open your DMs.
    tap = await fake.press(dan, note, button)
    no_page = await fake.answer_text(tap, "direct messages")
    assert no_page.ephemeral and not no_page.urls

    monkeypatch.setattr(bot_context, "is_loopback_url", lambda _url: False)  # a page is served
    tap = await fake.press(dan, note, button)
    answer = await fake.answer_text(tap, "only you")
    assert answer.ephemeral and answer.for_user == dan.id
    [page] = answer.urls
    assert page.startswith(f"{payments_service.url}/r/{full_job}")

    tap = await fake.press(eve, note, button)  # still refused, with a page to hand out now
    await fake.answer_text(tap, "someone else")
    assert all(not m.urls for m in fake.answers(tap))

    public = [m for m in fake.in_channel(CHANNEL_ID) if not m.ephemeral]
    assert [m for m in public if page in m.content or page in m.urls] == []
    assert [m for m in public if any("/r/" in url for url in m.urls)] == []
    assert fake.in_channel(dan.dm_channel) == []  # DMs still closed: nothing reached them


async def test_a_refund_notice_for_a_channel_song_goes_to_dms(
    discord_bot: DiscordHarness,
    payments_settings: payments.Settings,
    jobs_settings: jobs.Settings,
    media: dict[str, Path],
    stripe_stub: StripeStub,
    wait_until,
) -> None:
    fake, bot = discord_bot.fake, discord_bot
    hana = bot.person(9404, "hana")
    preview = bot.queue.submit(hana.id, "discord", CHANNEL_ID, media["song"], kind="preview")
    pay_ = bot.pay
    user = pay_.users.get_or_create("discord", hana.id)
    order = pay_.ledger.create_order(user, preview.content_hash, preview.id)
    paid = pay_.ledger.record_payment(
        IncomingPayment(
            provider=Provider.STRIPE,
            order_id=order.id,
            charge_id="pi_hana_private",
            amount=order.price_cents,
            currency=order.currency,
            event_id="evt_hana_private",
            event_type="checkout.session.completed",
        )
    )
    assert paid.granted
    for attempt in range(payments_settings.max_fulfil_attempts):  # started, never delivered
        pay_.ledger.note_fulfil_attempt(order.id, "system", f"attempt {attempt}")
    service = PaymentsService(payments_settings, jobs.JobQueue(jobs_settings))
    await service.start()  # its recovery gives the order up: refunded, and hana told
    try:
        told = await fake.wait_for_text(hana.dm_channel, "has been refunded")
        assert "$1.99" in told.content
        await wait_until(lambda: pay_.ledger.get_order(order.id).state is OrderState.REFUNDED)
    finally:
        await service.stop()
        service.queue.connection.close()
    assert [m for m in fake.in_channel(CHANNEL_ID) if "refund" in m.content] == []
