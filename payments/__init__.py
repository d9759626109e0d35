"""Payments, ledger, users and feedback: money and data that are never lost.

Public API (stable; bots and services import from here)::

    from payments import Payments, Settings

    pay = Payments.open(Settings.from_env())        # opens + migrates the store
    user = pay.users.get_or_create("telegram", tg_user_id)    # platform ids only, no names
    quota = pay.users.consume_preview(user)         # PreviewQuota(allowed, used, limit, resets_at)
    pay.users.release_preview(user)                 # preview failed, give it back
    pay.rate_limiter.allow(f"telegram:{tg_user_id}")  # per-user requests/minute (in memory)
    pay.users.set_banned(user.id, True, actor=admin.actor)

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
    #     (on_paid: payments.jobs_bridge.JobsFulfilment(queue, pay.ledger).on_paid);
    #   result.needs_refund -> await pay.refunder.refund_payment(result.payment.id, why, actor)
    pay.refunder.register(Provider.STARS, refund_fn)  # async (RefundRequest) -> ref | None
    pay.ledger.mark_delivered(order.id, actor="telegram")       # after the stems were sent
    DownloadLinks(pay.settings).url(order.id, "vocals")  # signed link served by payments.webhook
    results_page_url(pay.settings, job_id)   # the job's signed results page (players, downloads, 👍/👎)
    await pay.refunder.refund_order(order.id, reason, actor)    # paid job failed: refund once
    await pay.refunder.retry_pending()      # bot start-up: re-send its pending Stars refunds
    await pay.recover(on_paid)              # ONE process per deployment (python -m payments.webhook)

    pay.feedback.record(user, job_id, model_version, +1 / -1, source="reaction", value="👍")
    pay.feedback.withdraw(user, job_id); pay.stats(); pay.feedback.export_csv()
    pay.forget("telegram", tg_user_id)              # /forget -> ForgetResult

Store methods are synchronous (one short transaction); in async code wrap them in
``asyncio.to_thread``. Refunds, fulfilment start, recovery and Stripe calls are ``async``.
Design, state machine and configuration: docs/PAYMENTS.md.
"""

from db.database import Database, open_database
from db.tables import AccessLevel, OrderState, PaymentStatus, Provider
from payments.downloads import DownloadLinks, StemLocator, results_page_url
from payments.feedback import (
    SOURCE_BUTTON,
    SOURCE_REACTION,
    FeedbackError,
    FeedbackStore,
    ModelApproval,
    Stats,
    rating_for_reaction,
)
from payments.fulfilment import Fulfilment, FulfilmentImpossible, OnPaid, ServiceHooks
from payments.ledger import Ledger, OrderError
from payments.privacy import ForgetResult, forget_user
from payments.ratelimit import RateLimiter
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
    User,
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
from payments.users import PreviewQuota, UserError, Users

__all__ = [
    "KIND_FULL_STEMS",
    "SOURCE_BUTTON",
    "SOURCE_REACTION",
    "STARS_CURRENCY",
    "AccessLevel",
    "CheckoutLink",
    "Database",
    "DownloadLinks",
    "FeedbackError",
    "FeedbackStore",
    "ForgetResult",
    "Fulfilment",
    "FulfilmentImpossible",
    "IncomingPayment",
    "InvalidPayload",
    "Ledger",
    "LedgerEntry",
    "ModelApproval",
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
    "PreviewQuota",
    "Provider",
    "RateLimiter",
    "RecoveryReport",
    "RefundFn",
    "RefundRequest",
    "RefundStatus",
    "Refunder",
    "Settings",
    "ServiceHooks",
    "SettingsError",
    "SongAvailable",
    "SongExpiring",
    "StarsInvoice",
    "StarsPayments",
    "Stats",
    "StemLocator",
    "StripeCheckout",
    "User",
    "UserError",
    "Users",
    "build_invoice",
    "forget_user",
    "invoice_payload",
    "open_database",
    "parse_payload",
    "rating_for_reaction",
    "recover",
    "results_page_url",
]
