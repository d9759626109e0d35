"""An unpaid order follows the person's latest preview of the song (issue 21, defect 2): Buy
tapped, not paid, the upload expired, the same song sent again and Buy tapped under the new
preview — the invoice is payable, not "song has expired" forever. Real PTB against the fake Bot
API, the real queue on redis-server (no worker: the previews wait in line), SQLite."""

from __future__ import annotations

from pathlib import Path

from tests.bots.conftest import PRICE_STARS, Harness


async def test_an_unpaid_order_follows_the_latest_preview_of_the_song(
    bot: Harness, media: dict[str, Path]
) -> None:
    api, person = bot.api, bot.user(751)
    api.send_text(person, "/start")
    await api.wait_for_text(person.id, "I split a song")
    hello = api.calls_to(person.id, "sendMessage")[-1].result  # any bot message carries a tap
    first = bot.queue.submit(str(person.id), "telegram", str(person.id), media["song"])
    api.press(person, hello, f"buy:{first.id}")
    (invoice,) = await api.wait_for_call(person.id, "sendInvoice")
    payload = invoice.params["payload"]

    bot.queue.storage.delete(first.input_key)  # not paid in time: retention deleted the upload
    ok, refusal = await bot.pre_checkout(person, payload, PRICE_STARS)
    assert not ok and "no longer stored" in refusal

    second = bot.queue.submit(str(person.id), "telegram", str(person.id), media["song"])
    assert second.content_hash == first.content_hash  # the same song
    api.press(person, hello, f"buy:{second.id}")
    invoices = await api.wait_for_call(person.id, "sendInvoice", count=2)
    assert invoices[-1].params["payload"] == payload  # the same order ...
    ok, refusal = await bot.pre_checkout(person, payload, PRICE_STARS)
    assert ok, refusal  # ... now paying for the upload that is stored
    (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", person.id).id)
    assert order.job_id == second.id
