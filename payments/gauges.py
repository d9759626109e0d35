"""Orders paid but not yet delivered, read from the store when Prometheus scrapes.

The gauge must return to zero: every paid order ends delivered or refunded (payments' recovery
sees to it), so a value that stays up — ``vr_orders_paid_undelivered_oldest_seconds`` past 15
minutes, the alert — is money taken for stems nobody got. Computed at scrape time by the one
process that registers :class:`OrdersCollector` (the web server), never counted up and down by
the processes that pay and deliver, so a crash between the two can neither leave it high nor
count an order twice. A database that does not answer makes the families absent from the
scrape (and logs why).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from metrics import families
from payments.ledger import Ledger

log = logging.getLogger(__name__)


class OrdersCollector(Collector):
    """``vr_orders_paid_undelivered`` and ``vr_orders_paid_undelivered_oldest_seconds``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # collected on each scrape only: registering must not touch the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count, oldest = self.ledger.paid_undelivered()
        except SQLAlchemyError:
            log.warning("could not read the paid orders for /metrics", exc_info=True)
            return
        paid = GaugeMetricFamily(
            families.ORDERS_PAID_UNDELIVERED, "Orders paid whose stems are not delivered yet."
        )
        paid.add_metric([], count)
        yield paid
        age = GaugeMetricFamily(
            families.ORDERS_PAID_UNDELIVERED_OLDEST,
            "How long ago the longest-waiting paid, undelivered order was paid (0 when none).",
        )
        waited = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        age.add_metric([], max(0.0, waited))
        yield age
