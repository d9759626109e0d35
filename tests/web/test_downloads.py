"""Signed download links served by the payments app; only paid, unrefunded orders get files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from payments import Order, Payments, SettingsError
from people import User
from tests.payments.conftest import make_settings
from tests.payments.test_store import stripe_payment
from web import DownloadLinks
from web.server import build_app


@pytest.fixture
def stems(tmp_path: Path) -> dict[str, Path]:
    vocals = tmp_path / "vocals.mp3"
    vocals.write_bytes(b"ID3" + b"\x00" * 1000)
    return {"vocals": vocals}


@pytest.fixture
async def client(pay: Payments, stems: dict[str, Path]) -> AsyncIterator[TestClient]:
    def locate(order: Order, name: str) -> Path | str | None:
        if name == "instrumental":
            return "https://storage.example.test/presigned/instrumental"
        return stems.get(name)

    app, _ = build_app(pay, pay.fulfilment(lambda order: None), locate_stem=locate)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_paid_order_downloads_and_refund_revokes(pay: Payments, user: User, client: TestClient) -> None:
    links = DownloadLinks(pay.settings)
    order = pay.ledger.create_order(user, "song", "job")
    url = links.url(order.id, "vocals")
    assert url.startswith("https://bot.example.test/download/")

    assert (await client.get(path_of(url))).status == 410  # not paid yet
    pay.ledger.record_payment(stripe_payment(order.id))
    resp = await client.get(path_of(url))
    assert resp.status == 200
    assert (await resp.read()).startswith(b"ID3")
    assert 'filename="vocals.mp3"' in resp.headers["Content-Disposition"]

    redirect = await client.get(path_of(links.url(order.id, "instrumental")), allow_redirects=False)
    assert redirect.status == 302
    assert redirect.headers["Location"].startswith("https://storage.example.test/")
    assert (await client.get(path_of(links.url(order.id, "waveform")))).status == 404

    request = pay.ledger.begin_order_refund(order.id, "failed", "system")
    pay.ledger.complete_refund(request.payment_id, "re_1", "stripe")
    assert (await client.get(path_of(url))).status == 410


async def test_tampered_and_expired_links_are_refused(pay: Payments, user: User, client: TestClient) -> None:
    links = DownloadLinks(pay.settings)
    order = pay.ledger.create_order(user, "song", "job")
    pay.ledger.record_payment(stripe_payment(order.id))
    good = path_of(links.url(order.id, "vocals"))
    other = pay.ledger.create_order(user, "song-2", "job-2")
    assert (await client.get(good.replace(order.id, other.id))).status == 403
    assert (await client.get(good[:-4] + "0000")).status == 403
    expired = path_of(links.url(order.id, "vocals", now=0))
    assert (await client.get(expired)).status == 403
    assert (await client.get(f"/download/{order.id}/vocals")).status == 403
    with pytest.raises(ValueError):
        links.url(order.id, "../etc/passwd")


def test_links_need_a_secret(sqlite_url: str) -> None:
    with pytest.raises(SettingsError):
        DownloadLinks(make_settings(sqlite_url, download_secret=None))
