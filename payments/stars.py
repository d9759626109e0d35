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
from dataclasses import dataclass, field
from typing import Any

from db.tables import OrderState, Provider
from payments.ledger import Ledger
from payments.records import STARS_CURRENCY, IncomingPayment, Order, PaidResult
from people.users import Users
from service.errors import ErrorCode
from texts import payments as invoice_texts

log = logging.getLogger(__name__)

PAYLOAD_PREFIX = "vr1:"  # versioned so a future payload format can be told apart
_PAYLOAD_RE = re.compile(r"^vr1:([0-9a-f]{32})$")
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
        title=invoice_texts.invoice_title(),
        description=invoice_texts.invoice_description(),
        payload=invoice_payload(order),
        currency=currency.upper(),
        label=invoice_texts.invoice_label(),
        amount=amount,
        provider_token=provider_token,
    )


@dataclass(frozen=True)
class PreCheckoutDecision:
    """Answer for ``answerPreCheckoutQuery``: ``ok``, else why not as a ``code`` (and its
    ``params``), which the bot words for the buyer (``texts.error_text``; Telegram shows it in
    the payment sheet)."""

    ok: bool
    code: ErrorCode | None = None
    order: Order | None = None
    params: dict[str, Any] = field(default_factory=dict)


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
            return PreCheckoutDecision(False, ErrorCode.INVOICE_UNKNOWN)
        user = self.users.get("telegram", platform_user_id)
        if user is None or user.id != order.user_id:
            return PreCheckoutDecision(False, ErrorCode.INVOICE_NOT_YOURS, order)
        if user.banned:
            return PreCheckoutDecision(False, ErrorCode.PAYER_BANNED, order)
        if order.state in (OrderState.PAID, OrderState.DELIVERED):
            return PreCheckoutDecision(False, ErrorCode.ORDER_ALREADY_PAID, order)
        if order.state is not OrderState.CREATED:
            return PreCheckoutDecision(False, ErrorCode.ORDER_CLOSED, order)
        price, price_currency = order.price_for(self.provider)
        if currency.upper() != price_currency.upper() or total_amount != price:
            return PreCheckoutDecision(False, ErrorCode.PRICE_CHANGED, order)
        try:
            available = self.song_available(order)
        except Exception:
            log.exception("song availability check failed for order %s", order.id)
            available = False
        if not available:
            return PreCheckoutDecision(False, ErrorCode.SONG_GONE, order)
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
