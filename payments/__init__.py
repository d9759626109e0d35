"""Money: orders and their ledger, Stripe Checkout, Telegram Stars, refunds, fulfilment, recovery.

Public API (stable; bots and services import from here)::

    from payments import Payments, Settings

    pay = Payments.open(Settings.from_env())        # opens + migrates the store
    # pay.users, pay.feedback, pay.rate_limiter, pay.forget(...): the people room (see people/)
    order = pay.ledger.create_order(user, content_hash, preview_job_id, output_format="flac")
    pay.ledger.is_entitled(user.id, song_key)       # bought (and not refunded)?
    # Stripe: await pay.stripe.create_session(order, keep_s=seconds_the_song_stays)
    #   -> CheckoutLink(url, session_id, expires_at); expires before the song can be deleted
    # Telegram invoices (Stars; by card when TELEGRAM_PROVIDER_TOKEN is set):
    stars = pay.stars(song_available=lambda order: ...)
    invoice = stars.invoice(order)                  # -> StarsInvoice for Bot.send_invoice
    decision = stars.check_pre_checkout(tg_user_id, payload, currency, total_amount)
    result = stars.record_payment(payload, currency, total_amount, tg_charge_id, provider_charge_id)
    #   result.granted -> await pay.fulfilment(on_paid).start(result.order, why)
    #     (on_paid: web.jobs_bridge.JobsFulfilment(queue, pay.ledger).on_paid);
    #   result.needs_refund -> await pay.refunder.refund_payment(result.payment.id, why, actor)
    pay.refunder.register(Provider.STARS, refund_fn)  # async (RefundRequest) -> ref | None
    pay.ledger.mark_delivered(order.id, actor="telegram")       # after the stems were sent
    await pay.refunder.refund_order(order.id, reason, actor)    # paid job failed: refund once
    await pay.refunder.retry_pending()      # bot start-up: re-send its pending Stars refunds
    await pay.recover(on_paid)              # ONE process per deployment (python -m web.server)
    pay.stats()

Signed download links and results pages: ``web`` (``web.DownloadLinks``, ``web.results_page_url``).

Store methods are synchronous (one short transaction); in async code wrap them in
``asyncio.to_thread``. Refunds, fulfilment start, recovery and Stripe calls are ``async``.
Design, state machine and configuration: docs/PAYMENTS.md.

Direction: ``payments`` imports ``people`` (an order belongs to a person; Stars checks quotas),
``db`` and ``service``; never ``web``, ``jobs`` or the bots (``tests/test_layout.py``).
:class:`Payments` (``payments.service``) is the composition root of the store: it assembles the
people room and the money over one database, so it lives in the higher of the two.
"""

from db.tables import OrderState, PaymentStatus, Provider
from payments.fulfilment import Fulfilment, FulfilmentImpossible, OnPaid
from payments.ledger import Ledger, OrderError
from payments.records import (
    KIND_FULL_STEMS,
    STARS_CURRENCY,
    IncomingPayment,
    LedgerEntry,
    Order,
    PaidOutcome,
    PaidResult,
    Payment,
    RefundRequest,
)
from payments.recovery import RecoveryReport, recover
from payments.refunds import Refunder, RefundFn, RefundStatus
from payments.service import Payments
from payments.settings import Settings, SettingsError
from payments.stars import (
    InvalidPayload,
    PreCheckoutDecision,
    SongAvailable,
    StarsInvoice,
    StarsPayments,
    build_invoice,
    invoice_payload,
    parse_payload,
)
from payments.stripe_checkout import CheckoutLink, SongExpiring, StripeCheckout

__all__ = [
    "KIND_FULL_STEMS",
    "STARS_CURRENCY",
    "CheckoutLink",
    "Fulfilment",
    "FulfilmentImpossible",
    "IncomingPayment",
    "InvalidPayload",
    "Ledger",
    "LedgerEntry",
    "OnPaid",
    "Order",
    "OrderError",
    "OrderState",
    "PaidOutcome",
    "PaidResult",
    "Payment",
    "PaymentStatus",
    "Payments",
    "PreCheckoutDecision",
    "Provider",
    "RecoveryReport",
    "RefundFn",
    "RefundRequest",
    "RefundStatus",
    "Refunder",
    "Settings",
    "SettingsError",
    "SongAvailable",
    "SongExpiring",
    "StarsInvoice",
    "StarsPayments",
    "StripeCheckout",
    "build_invoice",
    "invoice_payload",
    "parse_payload",
    "recover",
]
