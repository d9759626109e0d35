"""Telegram invoices: their contents, pre-checkout rules, and recording ``successful_payment``.

The bot does the Bot API calls (``sendInvoice``, ``answerPreCheckoutQuery``,
``refundStarPayment``); this module decides what to send and whether to accept, so the rules live
once and are testable without Telegram. By default invoices are in Stars, Telegram's
digital-goods currency ``XTR`` (a whole number of Stars, no payment provider token). A deployment
allowed to take cards in Telegram sets ``TELEGRAM_PROVIDER_TOKEN``: invoices then carry that token
and the order's card price (``PRICE_CENTS`` in ``PRICE_CURRENCY``), payments are recorded as
``Provider.TELEGRAM_CARD`` and refunded through Stripe (``refundStarPayment`` is for Stars only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from db.tables import OrderState, Provider
from payments.ledger import Ledger
from payments.records import STARS_CURRENCY, IncomingPayment, Order, PaidResult
from people.users import Users

log = logging.getLogger(__name__)

PAYLOAD_PREFIX = "vr1:"  # versioned so a future payload format can be told apart
_PAYLOAD_RE = re.compile(r"^vr1:([0-9a-f]{32})$")
INVOICE_TITLE = "Full-length stems"
INVOICE_DESCRIPTION = "Vocals and instrumental of your whole song, in full quality."
INVOICE_LABEL = "Full stems"

# Shown by Telegram in the payment sheet when we decline (keep them short and friendly).
MSG_UNKNOWN = "This invoice is no longer valid. Please send the song again."
MSG_NOT_YOURS = "This invoice belongs to someone else."
MSG_ALREADY_PAID = "This song is already paid for - your stems are on their way."
MSG_CLOSED = "This order is closed. Please send the song again to buy it."
MSG_PRICE = "The price has changed. Please ask for a new invoice."
MSG_GONE = "Sorry, this song has expired from our storage. Please send it again."
MSG_BANNED = "Payments are not available for this account."
# Each refusal's stable code: the bots' text catalogue may say it in its own words.
REFUSAL_CODES = {
    MSG_UNKNOWN: "invoice_unknown",
    MSG_NOT_YOURS: "invoice_not_yours",
    MSG_ALREADY_PAID: "order_already_paid",
    MSG_CLOSED: "order_closed",
    MSG_PRICE: "price_changed",
    MSG_GONE: "song_gone",
    MSG_BANNED: "payer_banned",
}

# Whether the song behind an order is still stored (the preview's upload, kept for a while).
SongAvailable = Callable[[Order], bool]


class InvalidPayload(ValueError):
    """An invoice payload we did not make."""


def invoice_payload(order: Order) -> str:
    return f"{PAYLOAD_PREFIX}{order.id}"


def parse_payload(payload: str) -> str:
    """The order id inside an invoice payload."""
    match = _PAYLOAD_RE.match(payload or "")
    if match is None:
        raise InvalidPayload(f"not one of our invoice payloads: {payload[:40]!r}")
    return match.group(1)


def in_chat_provider(provider_token: str | None) -> Provider:
    """Who takes the money of a Telegram invoice: Stars, or a card through the provider token."""
    return Provider.TELEGRAM_CARD if provider_token else Provider.STARS


def provider_of(currency: str) -> Provider:
    """Who took the money of a ``successful_payment``: its currency says (Stars are ``XTR``), so
    an invoice sent before the configuration changed is still recorded, and refunded, rightly."""
    return Provider.STARS if currency.upper() == STARS_CURRENCY else Provider.TELEGRAM_CARD


@dataclass(frozen=True)
class StarsInvoice:
    """Arguments for ``Bot.send_invoice`` (``prices=[LabeledPrice(label, amount)]``)."""

    title: str
    description: str
    payload: str
    currency: str  # ISO 4217, upper case, as Telegram wants it ("XTR" for Stars)
    label: str
    amount: int
    provider_token: str | None = None


def build_invoice(order: Order, provider_token: str | None = None) -> StarsInvoice:
    if not order.payable:
        raise ValueError(f"order {order.id} is {order.state.value}, not payable")
    amount, currency = order.price_for(in_chat_provider(provider_token))
    return StarsInvoice(
        title=INVOICE_TITLE,
        description=INVOICE_DESCRIPTION,
        payload=invoice_payload(order),
        currency=currency.upper(),
        label=INVOICE_LABEL,
        amount=amount,
        provider_token=provider_token,
    )


@dataclass(frozen=True)
class PreCheckoutDecision:
    """Answer for ``answerPreCheckoutQuery``: ``ok``, else ``error_message`` for the buyer."""

    ok: bool
    error_message: str | None = None
    order: Order | None = None

    @property
    def code(self) -> str | None:
        """The refusal's stable code (:data:`REFUSAL_CODES`); None when accepted."""
        return REFUSAL_CODES.get(self.error_message or "")


class StarsPayments:
    """Telegram invoices in Stars or, with ``provider_token``, by card (see the module doc)."""

    def __init__(
        self,
        ledger: Ledger,
        users: Users,
        song_available: SongAvailable,
        provider_token: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.users = users
        self.song_available = song_available
        self._provider_token = provider_token
        self.provider = in_chat_provider(provider_token)

    def invoice(self, order: Order) -> StarsInvoice:
        return build_invoice(order, self._provider_token)

    def check_pre_checkout(
        self, platform_user_id: str | int, payload: str, currency: str, total_amount: int
    ) -> PreCheckoutDecision:
        """Accept only if the order exists, is the payer's, unpaid, at this price, still stored.

        Telegram gives us 10 seconds to answer; every check here is one indexed read.
        """
        try:
            order = self.ledger.get_order(parse_payload(payload))
        except InvalidPayload:
            order = None
        if order is None:
            return PreCheckoutDecision(False, MSG_UNKNOWN)
        user = self.users.get("telegram", platform_user_id)
        if user is None or user.id != order.user_id:
            return PreCheckoutDecision(False, MSG_NOT_YOURS, order)
        if user.banned:
            return PreCheckoutDecision(False, MSG_BANNED, order)
        if order.state in (OrderState.PAID, OrderState.DELIVERED):
            return PreCheckoutDecision(False, MSG_ALREADY_PAID, order)
        if order.state is not OrderState.CREATED:
            return PreCheckoutDecision(False, MSG_CLOSED, order)
        price, price_currency = order.price_for(self.provider)
        if currency.upper() != price_currency.upper() or total_amount != price:
            return PreCheckoutDecision(False, MSG_PRICE, order)
        try:
            available = self.song_available(order)
        except Exception:
            log.exception("song availability check failed for order %s", order.id)
            available = False
        if not available:
            return PreCheckoutDecision(False, MSG_GONE, order)
        return PreCheckoutDecision(True, None, order)

    def record_payment(
        self,
        payload: str,
        currency: str,
        total_amount: int,
        telegram_payment_charge_id: str,
        provider_payment_charge_id: str | None = None,
        *,
        payer_id: str | int | None = None,
    ) -> PaidResult:
        """Record a ``successful_payment`` message with both charge ids; a redelivered update is
        a harmless replay.

        The money has already moved when this runs, so nothing is rejected here: a payment that
        cannot be granted (order already paid, price changed) is recorded and comes back with
        ``needs_refund`` so the caller refunds it through ``Refunder.refund_payment``. So does
        one whose payload names no order we have (or is not ours at all): it is refunded to
        ``payer_id``, the Telegram user who paid.
        """
        try:
            order_id = parse_payload(payload)
        except InvalidPayload:
            order_id = ""  # names no order
        return self.ledger.record_payment(
            IncomingPayment(
                provider=provider_of(currency),
                order_id=order_id,
                charge_id=telegram_payment_charge_id,
                amount=total_amount,
                currency=currency,
                event_id=f"successful_payment:{telegram_payment_charge_id}",
                event_type="successful_payment",
                provider_ref=provider_payment_charge_id,
                payer=None if payer_id is None else ("telegram", str(payer_id)),
            )
        )
