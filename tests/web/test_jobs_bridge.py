"""The composition with the real job pipeline: Redis, RQ queue, local storage, decoded audio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobs import EventType, JobEvent, JobKind, JobQueue, JobStatus, keys
from jobs import Settings as JobsSettings
from payments import OrderState, Payments, Provider, RefundRequest
from testbed.workers import Workers, fast_settings
from tests.payments.conftest import make_settings
from tests.payments.test_store import at_once, stripe_payment
from texts import error_text
from web import ServiceHooks
from web.jobs_bridge import JobsFulfilment
from web.server import serve


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
    assert event.error_code == "input_expired" and "send it again" in error_text(event.error_code)
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


# ------------------------------------------------------------------ issue 21, defect 5


@pytest.fixture
def worked_queue(redis_server, tmp_path: Path, tiny_model: Path) -> Iterator[JobQueue]:
    """A queue with one real worker separating with the tiny model."""
    settings = fast_settings(redis_server.url, tmp_path / "storage", tiny_model)
    workers = Workers(settings, tmp_path)
    workers.start(1)
    try:
        yield JobQueue(settings)
    finally:
        workers.stop_all()


def _until(predicate: Callable[[], object], timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def _end_events(queue: JobQueue, job_id: str) -> list[JobEvent]:
    stream = queue.connection.xrange(keys.events("telegram"))
    return [
        e
        for sid, raw in stream
        if (e := JobEvent.from_fields(sid, raw)).job_id == job_id and e.type is EventType.DONE
    ]


async def _paid_order_with_its_full_job(
    queue: JobQueue, pay: Payments, user: str, song: Path
) -> tuple[str, str, JobsFulfilment]:
    """A finished preview of ``song`` for ``user``, an order for it paid by card, and recovery's
    first round started its full job: (order id, full job id, the bridge)."""
    preview = queue.submit(user, "telegram", user, song)
    _until(lambda: queue.get(preview.id).status is JobStatus.DONE)
    order = pay.ledger.create_order(
        pay.users.get_or_create("telegram", int(user)), preview.content_hash, preview.id
    )
    pay.ledger.record_payment(stripe_payment(order.id))
    bridge = JobsFulfilment(queue, pay.ledger)
    await pay.recover(bridge.on_paid, bridge.give_up)
    return order.id, pay.ledger.get_order(order.id).fulfil_job_id, bridge


async def test_a_finished_paid_job_whose_done_event_was_trimmed_is_handed_over_again(
    worked_queue: JobQueue, db_url: str, make_song: Callable[..., Path]
) -> None:
    queue = worked_queue
    pay = Payments.open(make_settings(db_url))
    try:
        order_id, job_id, bridge = await _paid_order_with_its_full_job(
            queue, pay, "4242", make_song(1.0, seed=4)
        )
        done = _until(lambda: (r := queue.get(job_id)).status is JobStatus.DONE and r)
        assert len(_end_events(queue, job_id)) == 1
        await pay.recover(bridge.on_paid, bridge.give_up)  # its event waits: nothing to do
        assert len(_end_events(queue, job_id)) == 1

        # The stream was trimmed before the bots read it: the next round publishes it again.
        queue.connection.xtrim(keys.events("telegram"), maxlen=0, approximate=False)
        await pay.recover(bridge.on_paid, bridge.give_up)
        (event,) = _end_events(queue, job_id)
        assert event.order_id == order_id and event.outputs == done.outputs
        assert (event.user_id, event.chat_id) == ("4242", "4242") and not event.refund
        assert pay.ledger.get_order(order_id).fulfil_attempts == 2  # counted: bounded
        await pay.recover(bridge.on_paid, bridge.give_up)
        assert len(_end_events(queue, job_id)) == 1

        # The bot sent the stems but the store missed "delivered": the job's record says so.
        queue.mark_delivered(job_id)
        await pay.recover(bridge.on_paid, bridge.give_up)
        assert pay.ledger.get_order(order_id).state is OrderState.DELIVERED
    finally:
        pay.close()


async def test_giving_up_a_finished_undelivered_order_lets_its_files_go(
    worked_queue: JobQueue, db_url: str, make_song: Callable[..., Path]
) -> None:
    """Issue 21, defect 9's seam with defect 5: recovery gives up an order whose job finished
    but whose stems never reached the person (its end lost from the stream every time). The
    failed job that makes the bot refund must let the finished job's files go too; the order
    ends refunded, so nothing will ever unpin them otherwise."""
    queue = worked_queue
    pay = Payments.open(make_settings(db_url, max_fulfil_attempts=2))
    try:
        order_id, job_id, bridge = await _paid_order_with_its_full_job(
            queue, pay, "4343", make_song(1.0, seed=5)
        )  # attempt 1: the full job
        done = _until(lambda: (r := queue.get(job_id)).status is JobStatus.DONE and r)
        stored = [done.input_key, *done.outputs.values()]
        assert all(_pinned_by(queue, key) == {order_id} for key in stored)
        for _ in range(2):  # attempt 2 publishes the end again, then recovery gives up
            queue.connection.xtrim(keys.events("telegram"), maxlen=0, approximate=False)
            await pay.recover(bridge.on_paid, bridge.give_up)

        failed = queue.get(pay.ledger.get_order(order_id).fulfil_job_id)
        assert failed.id != job_id and failed.status is JobStatus.FAILED
        assert [e.refund for e in queue_events(queue, failed.id)] == [True]  # the bot refunds
        assert queue.get(job_id).delivered_at is None
        assert {key: _pinned_by(queue, key) for key in stored} == {key: set() for key in stored}
    finally:
        pay.close()


async def test_an_order_whose_stems_were_delivered_is_never_given_up_into_a_refund(
    worked_queue: JobQueue, db_url: str, make_song: Callable[..., Path]
) -> None:
    """The bot sent the stems, then the store missed "delivered", and the order has used its
    attempts: recovery's give-up finds the job's record says delivered and catches the ledger up,
    rather than refund stems the person has."""
    queue = worked_queue
    pay = Payments.open(make_settings(db_url, max_fulfil_attempts=1))
    try:
        order_id, job_id, bridge = await _paid_order_with_its_full_job(
            queue, pay, "4444", make_song(1.0, seed=6)
        )  # attempt 1, the last one
        _until(lambda: queue.get(job_id).status is JobStatus.DONE)
        queue.mark_delivered(job_id)  # the stems reached the person; the ledger missed it

        report = await pay.recover(bridge.on_paid, bridge.give_up)
        assert pay.ledger.get_order(order_id).state is OrderState.DELIVERED
        assert report.refunded == [] and pay.ledger.get_order(order_id).fulfil_job_id == job_id
        assert not [e for e in queue_events(queue, job_id) if e.refund]
    finally:
        pay.close()


def _pinned_by(queue: JobQueue, storage_key: str) -> set[str]:
    return {raw.decode() for raw in queue.connection.smembers(keys.pins(storage_key))}


def queue_events(queue: JobQueue, job_id: str) -> list[JobEvent]:
    return [
        e
        for sid, raw in queue.connection.xrange(keys.events("telegram"))
        if (e := JobEvent.from_fields(sid, raw)).job_id == job_id
    ]


async def test_the_payments_service_reconciles_paid_orders_periodically(db_url: str, tmp_path: Path) -> None:
    """The service re-drives paid orders every sweep, not only at start-up: an order paid while
    it runs whose end the stream lost is found without a restart."""
    settings = make_settings(db_url, webhook_host="127.0.0.1", webhook_port=0)
    seen: list[str] = []
    ready = asyncio.Event()
    stop = asyncio.Event()

    def hooks(payments: Payments) -> ServiceHooks:
        return ServiceHooks(on_paid=lambda order: bool(seen.append(order.id)))

    service = asyncio.create_task(
        serve(settings, hooks, stop=stop, on_ready=lambda _port: ready.set(), sweep_interval_s=0.2)
    )
    pay = Payments.open(settings)
    try:
        await asyncio.wait_for(ready.wait(), 30)
        order = pay.ledger.create_order(pay.users.get_or_create("telegram", 77), "song", "job")
        pay.ledger.record_payment(stripe_payment(order.id))
        deadline = time.monotonic() + 10
        while order.id not in seen:
            assert time.monotonic() < deadline, "the sweep never re-drove the paid order"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        pay.close()
