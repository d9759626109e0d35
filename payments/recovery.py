"""Start-up recovery: no paid order is left behind by a crash.

Run once when a payments-owning process starts (and safe to run again at any time):

1. refunds that were started but never confirmed are sent again (same idempotency key);
2. every order still ``paid`` (money in, stems not delivered) is handed to fulfilment again -
   re-enqueued, or re-sent if its job already finished (``on_paid`` decides, idempotently);
3. an order that has been started ``max_attempts`` times without being delivered is refunded
   instead of being retried forever.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from payments.fulfilment import Fulfilment
from payments.ledger import Ledger
from payments.models import OrderState
from payments.refunds import Refunder, RefundStatus

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    redriven: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)
    refunds_retried: list[RefundStatus] = field(default_factory=list)


async def recover(
    ledger: Ledger, fulfilment: Fulfilment, refunder: Refunder, max_attempts: int
) -> RecoveryReport:
    report = RecoveryReport()
    report.refunds_retried = await refunder.retry_pending()
    for order in await asyncio.to_thread(ledger.orders_in_state, OrderState.PAID):
        if order.fulfil_attempts >= max_attempts:
            status = await refunder.refund_order(
                order.id, f"not delivered after {order.fulfil_attempts} attempts", "recovery"
            )
            if status is not RefundStatus.SKIPPED:
                report.refunded.append(order.id)
            continue
        await fulfilment.start(order, "recovery after restart")
        report.redriven.append(order.id)
    if report.redriven or report.refunded or report.refunds_retried:
        log.warning(
            "recovery: %d order(s) re-driven, %d refunded, %d pending refund(s) retried",
            len(report.redriven),
            len(report.refunded),
            len(report.refunds_retried),
        )
    return report
