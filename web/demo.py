"""``python -m web.demo [SONG]``: the local demo as a person would see it — the song's results
pages, not file paths.

``scripts/run.sh`` with no tokens runs it, beside a worker and the web server on loopback. The
bundled demo song (or SONG) goes through the real queue and worker as a preview
(:func:`jobs.demo.run_preview`, which prints where its files are), and the preview's results
page is printed. Then the demo pays: an order in the local ledger, its payment recorded as
money that arrived (``Provider.DEMO``: nothing moves, nothing can be refunded), and the paid
full job started the way every payment starts one (``web.jobs_bridge.JobsFulfilment.on_paid``);
once its stems are in, the order is delivered and the full song's page printed. So the pages
check what they check in production: the signature, the job, and the order being paid.
Needs Redis, a worker, ``DOWNLOAD_SECRET`` and ``ABUSE_HMAC_SECRET`` (run.sh sets them).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import jobs
import payments
from db.tables import Provider
from jobs.demo import DEMO_SONG, PLATFORM, demo_session
from payments.records import IncomingPayment
from service.envconfig import load_or_exit
from web.downloads import DownloadLinks
from web.jobs_bridge import JobsFulfilment

DEMO_USER = "demo-user"


def pay_for(pay: payments.Payments, queue: jobs.JobQueue, preview: jobs.JobRecord) -> str:
    """Order the preview's full song for the demo person and record its payment; the paid job
    is started as after any payment. Returns the order's id."""
    user = pay.users.get_or_create(PLATFORM, DEMO_USER)
    order = pay.ledger.create_order(user, preview.content_hash, preview.id)
    amount, currency = order.price_for(Provider.DEMO)
    result = pay.ledger.record_payment(
        IncomingPayment(
            provider=Provider.DEMO,
            order_id=order.id,
            charge_id=f"demo-{order.id}",
            amount=amount,
            currency=currency,
            event_id=f"demo-{order.id}",
            event_type="demo.paid",
        )
    )
    if not result.granted:
        sys.exit(f"the demo's payment was not granted: {result.outcome}")
    JobsFulfilment(queue, pay.ledger).on_paid(order)
    return order.id


async def run(song: Path, jobs_settings: jobs.Settings, pay_settings: payments.Settings) -> None:
    links = DownloadLinks(pay_settings)
    pay = payments.Payments.open(pay_settings)
    try:
        async with demo_session(jobs_settings) as demo:
            preview = await demo.preview(song, DEMO_USER)
            print(f"  page         {links.page_url(preview.id)}", flush=True)
            print("paying for the full song ...", flush=True)
            order_id = await asyncio.to_thread(pay_for, pay, demo.queue, preview)
            order = pay.ledger.get_order(order_id)
            assert order is not None and order.fulfil_job_id is not None
            full = demo.queue.get(order.fulfil_job_id)
            assert full is not None
            full = await demo.finish(full)
            pay.ledger.mark_delivered(order_id, "demo")
            print(f"  page         {links.page_url(full.id)}", flush=True)
    finally:
        pay.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("song", nargs="?", type=Path, default=DEMO_SONG)
    args = parser.parse_args()
    jobs_settings, pay_settings = load_or_exit("web.demo", [jobs.Settings, payments.Settings])
    asyncio.run(run(args.song, jobs_settings, pay_settings))


if __name__ == "__main__":
    main()
