"""The composition with the real job pipeline: Redis, RQ queue, local storage, decoded audio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobs import EventType, JobEvent, JobKind, JobQueue, JobStatus, keys
from jobs import Settings as JobsSettings
from payments import OrderState, Payments, Provider, RefundRequest
from payments.jobs_bridge import JobsFulfilment

from .conftest import make_settings
from .test_store import at_once, stripe_payment


@pytest.fixture
def queue(redis_server, tmp_path: Path) -> JobQueue:
    return JobQueue(JobsSettings(redis_url=redis_server.url, storage_dir=tmp_path / "storage"))


@pytest.fixture
def sqlite_pay(sqlite_url: str) -> Iterator[Payments]:
    payments = Payments.open(make_settings(sqlite_url))
    yield payments
    payments.close()


async def test_paid_order_becomes_one_full_job_even_when_recovered_twice(
    queue: JobQueue, sqlite_pay: Payments, make_song: Callable[..., Path]
) -> None:
    pay = sqlite_pay
    preview = queue.submit("4242", "telegram", "4242", make_song(1.0, seed=1))
    user = pay.users.get_or_create("telegram", 4242)
    order = pay.ledger.create_order(
        user, preview.content_hash, preview.id, output_format="flac", karaoke="g6.k-2.t95"
    )
    bridge = JobsFulfilment(queue, pay.ledger)
    assert bridge.song_available(order)

    pay.ledger.record_payment(stripe_payment(order.id))
    await pay.recover(bridge.on_paid)
    job_id = pay.ledger.get_order(order.id).fulfil_job_id
    full = queue.get(job_id)
    assert full.kind is JobKind.FULL
    assert (full.order_id, full.source_job_id) == (order.id, preview.id)
    assert full.output_format == "flac"  # the buyer's choice, carried by the order
    assert full.karaoke == "g6.k-2.t95"  # and the karaoke variant, rendered with the stems
    assert bridge.locate_stem(pay.ledger.get_order(order.id), "vocals") is None  # not done yet

    await pay.recover(bridge.on_paid)  # a second restart while the job still waits
    # Two processes recovering at the same moment still submit nothing more.
    await asyncio.gather(pay.recover(bridge.on_paid), pay.recover(bridge.on_paid))
    assert pay.ledger.get_order(order.id).fulfil_job_id == job_id
    assert pay.ledger.get_order(order.id).fulfil_attempts == 1  # finding the job is no attempt
    full_jobs = [r for r in queue.active_jobs("telegram", "4242") if r.kind is JobKind.FULL]
    assert [r.id for r in full_jobs] == [job_id]


async def test_expired_song_becomes_a_failed_job_whose_event_asks_the_bot_to_refund(
    queue: JobQueue, sqlite_pay: Payments, make_song: Callable[..., Path]
) -> None:
    """The webhook process can't reach the chat: it records a failed full job whose FAILED event
    (refund=True, with the reason) the person's bot turns into a refund and a message."""
    pay = sqlite_pay
    refunds: list[RefundRequest] = []

    async def refund(request: RefundRequest) -> str:
        refunds.append(request)
        return "re_1"

    pay.refunder.register(Provider.STRIPE, refund)
    preview = queue.submit("4242", "telegram", "chat-4242", make_song(1.0, seed=2))
    user = pay.users.get_or_create("telegram", 4242)
    order = pay.ledger.create_order(user, preview.content_hash, preview.id)
    queue.storage.delete(preview.input_key)  # retention removed the upload
    bridge = JobsFulfilment(queue, pay.ledger)
    assert not bridge.song_available(order)

    paid = pay.ledger.record_payment(stripe_payment(order.id))
    assert await pay.fulfilment(bridge.on_paid).start(paid.order, "stripe webhook")
    failed = queue.get(pay.ledger.get_order(order.id).fulfil_job_id)
    assert failed.kind is JobKind.FULL and failed.status is JobStatus.FAILED
    stream = queue.connection.xrange(keys.events("telegram"))
    (event,) = [e for sid, raw in stream if (e := JobEvent.from_fields(sid, raw)).job_id == failed.id]
    assert event.type is EventType.FAILED and event.refund and event.order_id == order.id
    assert (event.user_id, event.chat_id) == ("4242", "chat-4242")
    assert event.error_code == "input_expired" and "send it again" in event.error_message
    # The bot refunds when it handles the event; recovery meanwhile starts nothing new.
    assert pay.ledger.get_order(order.id).state is OrderState.PAID and refunds == []
    await pay.recover(bridge.on_paid)
    assert pay.ledger.get_order(order.id).fulfil_job_id == failed.id and refunds == []


async def test_order_whose_preview_record_is_gone_is_refunded_at_once(
    queue: JobQueue, sqlite_pay: Payments, make_song: Callable[..., Path]
) -> None:
    pay = sqlite_pay
    refunds: list[RefundRequest] = []

    async def refund(request: RefundRequest) -> str:
        refunds.append(request)
        return "re_2"

    pay.refunder.register(Provider.STRIPE, refund)
    user = pay.users.get_or_create("telegram", 4343)
    order = pay.ledger.create_order(user, "hash", "no-such-preview-job")
    paid = pay.ledger.record_payment(stripe_payment(order.id))
    bridge = JobsFulfilment(queue, pay.ledger)
    assert not await pay.fulfilment(bridge.on_paid).start(paid.order, "stripe webhook")
    assert pay.ledger.get_order(order.id).state is OrderState.REFUNDED
    assert [r.payment.charge_id for r in refunds] == ["pi_1"]


def test_racing_recoveries_submit_one_job(
    queue: JobQueue, sqlite_pay: Payments, make_song: Callable[..., Path]
) -> None:
    pay = sqlite_pay
    preview = queue.submit("4242", "telegram", "4242", make_song(1.0, seed=3))
    order = pay.ledger.create_order(
        pay.users.get_or_create("telegram", 4242), preview.content_hash, preview.id
    )
    pay.ledger.record_payment(stripe_payment(order.id))
    bridge = JobsFulfilment(queue, pay.ledger)
    at_once(4, lambda i: bridge.on_paid(order))
    full_jobs = [r for r in queue.active_jobs("telegram", "4242") if r.kind is JobKind.FULL]
    assert [r.id for r in full_jobs] == [pay.ledger.get_order(order.id).fulfil_job_id]
