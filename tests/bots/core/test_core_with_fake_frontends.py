"""The platform-neutral core against fake frontends, in seconds: no platform library and, where
the code under test needs none, no Redis (the job queue points at a closed port, so any call into
it fails the test loudly); the payments store on SQLite, real audio probing. An upload asks the
queue whether it has room before downloading, so that test has the root ``redis_server``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import jobs
import payments
from bots.core import keyboards
from bots.core.flow import Flow
from bots.core.ports import (
    Button,
    ChatPayment,
    MessageRef,
    Person,
    Upload,
    in_chat_payments,
    supports_invoices,
)
from bots.core.services import Services
from payments import IncomingPayment, OrderState, Provider
from service.errors import ErrorCode
from testbed.redis_server import RedisServer
from testbed.workers import ABUSE_HMAC_SECRET
from tests.bots.core.fakes import FakeFrontend, FakeInvoiceFrontend
from texts import chat as messages
from texts import error_text

CLOSED_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens


def _services(tmp_path: Path, redis_url: str) -> Services:
    return Services.build(
        "fakechat",
        jobs.Settings(
            redis_url=redis_url,
            storage_dir=tmp_path / "storage",
            retention_s=7200,
            abuse_hmac_secret=ABUSE_HMAC_SECRET,
        ),
        payments.Settings(
            database_url=f"sqlite:///{tmp_path / 'payments.sqlite3'}", abuse_hmac_secret=ABUSE_HMAC_SECRET
        ),
    )


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = _services(tmp_path, CLOSED_REDIS)
    yield built
    built.payments.close()


@pytest.fixture
def live_services(tmp_path: Path, redis_server: RedisServer) -> Iterator[Services]:
    built = _services(tmp_path, redis_server.url)
    yield built
    built.payments.close()
    built.queue.connection.close()


def _flow(frontend: FakeFrontend, services: Services, tmp_path: Path) -> Flow:
    return Flow(frontend, services, tmp_path / "spool")


def test_in_chat_invoices_are_an_optional_capability() -> None:
    plain, paying = FakeFrontend(), FakeInvoiceFrontend()
    assert not supports_invoices(plain) and supports_invoices(paying)
    assert in_chat_payments(paying) is paying
    with pytest.raises(NotImplementedError, match="fakechat has no in-chat invoices"):
        in_chat_payments(plain)


async def test_without_invoices_a_buy_button_is_answered_and_stars_are_never_built(
    services: Services, tmp_path: Path
) -> None:
    frontend = FakeFrontend()
    flow = _flow(frontend, services, tmp_path)
    chat, person = frontend.chat(1), Person("fakechat", 1)
    answer = await flow.on_button(chat, person, "buy", "a" * 32, MessageRef(1, 1))
    assert answer == flow.ctx.text.NO_IN_CHAT_PAYMENTS
    assert chat.sent == {}
    with pytest.raises(NotImplementedError):
        await flow.on_pre_checkout(person, "vr1:x", 100, "XTR")
    with pytest.raises(NotImplementedError):
        await flow.on_payment(chat, person, ChatPayment("vr1:x", 100, "XTR", "charge"))
    assert "stars" not in vars(services)
    assert flow.ctx.sold_through is Provider.STRIPE
    flow.close()


def _paid_order(services: Services, platform: str) -> payments.Order:
    pay = services.payments
    user = pay.users.get_or_create(platform, 5)
    order = pay.ledger.create_order(user, "hash-1", "preview-job-1")
    result = pay.ledger.record_payment(
        IncomingPayment(
            provider=Provider.STRIPE,
            order_id=order.id,
            charge_id="pi_1",
            amount=order.price_cents,
            currency=order.currency,
            event_id="evt_1",
            event_type="checkout.session.completed",
        )
    )
    assert result.granted
    return order


async def test_recovery_runs_in_one_process_per_deployment(services: Services, tmp_path: Path) -> None:
    order = _paid_order(services, "fakechat")
    card_only = _flow(FakeFrontend(), services, tmp_path)
    assert not card_only.owns_recovery
    await card_only.resume()  # never touches the order (nor Redis)
    assert services.payments.ledger.get_order(order.id).fulfil_attempts == 0

    paying = _flow(FakeInvoiceFrontend(), services, tmp_path)
    assert paying.owns_recovery  # no payments service in this deployment: the invoice bot
    await paying.resume()  # re-drives the paid order: the queue is down, so one failed attempt
    recovered = services.payments.ledger.get_order(order.id)
    assert recovered.state is OrderState.PAID and recovered.fulfil_attempts == 1

    with_service = dataclasses.replace(
        services.payments.settings, stripe_api_key="sk_x", stripe_webhook_secret="whsec_x"
    )
    services.payments.settings = with_service
    assert not paying.owns_recovery  # the payments service recovers instead
    card_only.close()
    paying.close()


async def test_a_bad_upload_is_refused_before_anything_is_queued(
    live_services: Services, tmp_path: Path
) -> None:
    services = live_services
    frontend = FakeFrontend()
    flow = _flow(frontend, services, tmp_path)
    chat, person = frontend.chat(2), Person("fakechat", 2)
    text_file = tmp_path / "lyrics.txt"
    text_file.write_text("la la la\n" * 200)

    async def fetch(dest: Path) -> Path:
        dest.write_bytes(text_file.read_bytes())
        return dest

    await flow.on_upload(chat, person, Upload("lyrics.txt", text_file.stat().st_size, fetch))
    assert chat.texts == [
        "That doesn't look like an audio file. Send me a song as mp3, m4a, flac, wav, ogg or a video."
    ]
    user = services.payments.users.get("fakechat", 2)
    assert services.payments.users.consume_preview(user).used == 1  # the refusal cost nothing
    assert not list((tmp_path / "spool").glob("upload-*"))  # its folder is gone
    assert services.queue.active_jobs("fakechat", 2) == []

    fetched: list[Path] = []

    async def never(dest: Path) -> Path:
        fetched.append(dest)
        return dest

    frontend.download_limit = 1000
    await flow.on_upload(chat, person, Upload("big.mp3", 5_000_000, never))
    assert "That file is 5.0 MB, but bots can only download files up to 1 KB" in chat.texts[-1]
    assert fetched == []
    flow.close()


def test_texts_speak_each_platforms_words() -> None:
    telegram = messages.catalogue("telegram", retention_hours=24)
    discord = messages.catalogue("discord", retention_hours=2)
    assert "voice note" in telegram.start("1 ⭐", False, 30, 20)
    assert "voice note" not in discord.start("$1.99", True, 30, 20)
    assert "after 2 hours" in discord.song_expired and "after 24 hours" in telegram.song_expired
    assert "/forget yes" in telegram.forget_confirm
    assert "/forget confirm: yes" in discord.forget_confirm
    assert "Stars" in telegram.card_unavailable and "Stars" not in discord.card_unavailable
    assert telegram.usage("grant") == "Usage: /grant <user id> paid|free"
    assert discord.usage("grant") == "Usage: /grant args: <user id> paid|free"
    assert "/separate" in discord.help_text() and "/separate" not in telegram.help_text()


def test_failures_from_other_packages_are_told_in_the_catalogues_words() -> None:
    from jobs import InputExpiredError

    discord = messages.catalogue("discord", retention_hours=6)
    expired = InputExpiredError("gone")
    assert "kept for 6 hours" in discord.error(expired.code, expired.params)
    assert "no longer stored" in discord.error(expired.code, expired.params)
    assert discord.error(ErrorCode.BAD_AUDIO) == error_text(ErrorCode.BAD_AUDIO)
    from payments.stars import PreCheckoutDecision
    from people.privacy import ForgetResult

    gone = PreCheckoutDecision(False, ErrorCode.SONG_GONE)
    assert "kept for 6 hours" in discord.error(gone.code, gone.params)
    price = PreCheckoutDecision(False, ErrorCode.PRICE_CHANGED)
    assert discord.error(price.code, price.params) == error_text(ErrorCode.PRICE_CHANGED)
    refused = ForgetResult(False, ErrorCode.ORDER_IN_FLIGHT)
    assert "still being processed" in discord.error(refused.code)
    assert discord.error("unknown") is None


def test_a_record_from_before_the_catalogue_is_told_in_its_own_words() -> None:
    """Records and events already in Redis at deploy time hold ``error_message`` (words) and
    perhaps a code the catalogue can't word without params: their words are still told."""
    from jobs.events import EventType, JobEvent
    from jobs.records import JobRecord

    discord = messages.catalogue("discord", retention_hours=6)
    record = JobRecord.from_mapping(
        {
            b"id": b"j1",
            b"user_id": b"u1",
            b"platform": b"discord",
            b"chat_id": b"c1",
            b"kind": b"preview",
            b"output_format": b"mp3",
            b"input_key": b"uploads/j1",
            b"status": b"failed",
            b"error_code": b"AbandonedJobError",
            b"error_message": "Sorry — something went wrong on our side.".encode(),
        }
    )
    assert record.error_params == {}
    said = discord.error(record.error_code, record.error_params, record.error_message)
    assert said == "Sorry — something went wrong on our side."
    old_event = JobEvent.from_fields(
        "1-0",
        {
            b"data": json.dumps(
                {
                    "type": "failed",
                    "job_id": "j1",
                    "platform": "discord",
                    "user_id": "u1",
                    "chat_id": "c1",
                    "kind": "preview",
                    "error_code": "user_limit",
                    "error_message": "You already have 2 songs in progress.",
                }
            ).encode()
        },
    )
    assert old_event.type is EventType.FAILED and old_event.error_params == {}
    # user_limit needs its limit, which the old event lacks: its own words are told.
    said = discord.error(old_event.error_code, old_event.error_params, old_event.error_message)
    assert said == "You already have 2 songs in progress."
    # A new event carries the code and params, and no words.
    new = JobEvent(
        EventType.FAILED,
        "j1",
        "discord",
        "u1",
        "c1",
        "preview",
        error_code=ErrorCode.USER_LIMIT,
        error_params={"limit": 2},
    )
    data = json.loads(new.to_fields()["data"])
    assert "error_message" not in data and data["error_params"] == {"limit": 2}
    again = JobEvent.from_fields("2-0", new.to_fields())
    assert "2 songs in progress" in discord.error(again.error_code, again.error_params)


@pytest.mark.parametrize(
    ("secret", "base", "shown"),
    [
        ("page-secret", "https://stems.example.com", True),
        ("page-secret", "http://127.0.0.1:8080", False),  # no phone can open this machine's loopback
        ("page-secret", "http://localhost:8080", False),
        ("", "https://stems.example.com", False),  # no DOWNLOAD_SECRET: no page is served
    ],
)
def test_open_in_browser_button_links_the_jobs_own_signed_page(
    tmp_path: Path, secret: str, base: str, shown: bool
) -> None:
    services = Services.build(
        "fakechat",
        jobs.Settings(redis_url=CLOSED_REDIS, storage_dir=tmp_path / "storage"),
        payments.Settings(
            database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}",
            download_secret=secret,
            public_base_url=base,
            abuse_hmac_secret=ABUSE_HMAC_SECRET,
        ),
    )
    flow = _flow(FakeFrontend(), services, tmp_path)
    job_id = "b" * 32
    url = flow.ctx.results_page(job_id)
    preview_rows = keyboards.preview(job_id, "€3", in_chat=False, card=True, current="wav", page_url=url)
    feedback_rows = keyboards.feedback(job_id, url)
    if not shown:
        assert url is None
        assert all(b.url is None for row in preview_rows + feedback_rows for b in row)
    else:
        assert url is not None and url.startswith(f"{base}/r/")
        grant = services.links.verify_page(url.rsplit("/", 1)[1])
        assert grant is not None and grant.job_id == job_id and not grant.expired
        for rows in (preview_rows, feedback_rows):
            assert rows[-1] == [Button(messages.OPEN_IN_BROWSER_BUTTON, url=url)]
    flow.close()
    services.payments.close()
