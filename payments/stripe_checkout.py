"""Stripe Checkout through the official SDK: opening sessions and sending refunds.

The session carries the order in ``client_reference_id`` and ``metadata`` so the webhook can bind
the payment to the order without trusting anything the buyer's browser says, and our marker
(:func:`session_marker`: the app and ``STRIPE_ENVIRONMENT``) so the webhook tells our sessions
from those of anyone else on a shared Stripe account. Creation uses an
idempotency key derived from the order and a 12-hour window: a double-tapped "pay" button gets the
same session back from Stripe instead of a second one; the next window opens a fresh session
(and ``expires_at`` is set inside the window, so a reused key never returns an expired session).

A session must not outlive the song it pays for: the caller says how long the song is sure to stay
stored (``keep_s``; the bot restarts the song's retention clock when someone asks to pay), and the
session expires before then. Window and lifetime shrink with it, so ``expires_at`` stays a pure
function of the window and a repeated request still matches Stripe's idempotent replay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import stripe

from db.tables import Provider
from payments.records import IncomingPayment, Order, RefundRequest
from payments.settings import Settings, SettingsError
from texts import payments as invoice_texts
from texts.languages import ENGLISH, speak, stripe_locale

if TYPE_CHECKING:  # the SDK's request shapes (TypedDicts), for the checker only
    from stripe.params import RefundCreateParams
    from stripe.params.checkout import SessionCreateParams

# Checkout's page is shown in the buyer's language (its ``locale``, "auto" where Stripe has none
# of ours) and names the product in it; a key made for one language never replays another's.
# Idempotency window; Stripe keeps keys for at least 24 h and sessions live at most 24 h.
SESSION_WINDOW_S = 12 * 3600
SESSION_LIFETIME_S = 23 * 3600  # from the window start; always 11..23 h from creation
# Stripe refuses an ``expires_at`` under 30 minutes away; five minutes of margin on top.
MIN_SESSION_S = 35 * 60
MAX_NETWORK_RETRIES = 2
# Stripe id prefixes: what a refund can name.
PAYMENT_INTENT_PREFIX = "pi_"
CHARGE_PREFIXES = ("ch_", "py_")
SESSION_PREFIX = "cs_"
# Our marker in a Checkout Session's metadata: the app, and the deployment's environment
# (``STRIPE_ENVIRONMENT``). A shared Stripe account sends every endpoint all of its sessions.
MARKER_APP_KEY = "app"
MARKER_APP = "vocal-remover"
MARKER_ENV_KEY = "env"


class SongExpiring(ValueError):
    """The song will be deleted too soon for a Checkout Session Stripe accepts (30 min+)."""


@dataclass(frozen=True)
class CheckoutLink:
    session_id: str
    url: str
    expires_at: int


def _get(obj: Any, key: str) -> Any:
    """Read a field from a StripeObject or a plain dict (webhooks give StripeObjects)."""
    try:
        return obj[key]
    except (KeyError, TypeError):
        return None


def session_marker(settings: Settings) -> dict[str, str]:
    """The metadata that makes a Checkout Session ours: set on every session we open."""
    return {MARKER_APP_KEY: MARKER_APP, MARKER_ENV_KEY: settings.stripe_environment}


def carries_marker(session: Any, environment: str) -> bool:
    """True iff the session was opened by this app in this environment (:func:`session_marker`).

    ``client_reference_id`` alone proves nothing: any integration on the same Stripe account may
    set one, and a session that is not ours must never be refunded as "an unknown order"."""
    metadata = _get(session, "metadata") or {}
    return bool(
        _get(metadata, MARKER_APP_KEY) == MARKER_APP and _get(metadata, MARKER_ENV_KEY) == environment
    )


def incoming_from_session(event_id: str, event_type: str, session: Any) -> IncomingPayment:
    """Normalise a paid Checkout Session into an ``IncomingPayment``.

    The order comes from ``client_reference_id`` (set by us at creation), cross-checked with
    ``metadata.order_id``; the charge id is the PaymentIntent (what a refund needs), or the
    session id for a session that needed no payment.
    """
    order_id = _get(session, "client_reference_id")
    metadata = _get(session, "metadata") or {}
    meta_order = _get(metadata, "order_id")
    if not order_id or (meta_order and meta_order != order_id):
        raise ValueError("checkout session is not bound to one of our orders")
    intent = _get(session, "payment_intent")
    if intent is not None and not isinstance(intent, str):
        intent = _get(intent, "id")
    return IncomingPayment(
        provider=Provider.STRIPE,
        order_id=str(order_id),
        charge_id=str(intent or _get(session, "id")),
        amount=int(_get(session, "amount_total") or 0),
        currency=str(_get(session, "currency") or ""),
        event_id=event_id,
        event_type=event_type,
        provider_ref=_get(session, "id"),
    )


class StripeCheckout:
    """Thin, typed wrapper over ``stripe.StripeClient`` for the two calls we make."""

    def __init__(self, settings: Settings, client: stripe.StripeClient | None = None) -> None:
        if client is None:
            if not settings.stripe_api_key:
                raise SettingsError("STRIPE_API_KEY is not set")
            client = stripe.StripeClient(
                settings.stripe_api_key,
                base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
                max_network_retries=MAX_NETWORK_RETRIES,
            )
        self.client = client
        self.settings = settings

    def session_params(
        self,
        order: Order,
        now: float | None = None,
        keep_s: float | None = None,
        language: str | None = None,
    ) -> tuple[SessionCreateParams, str]:
        """The create-session parameters and idempotency key (pure: same window, same result).

        With ``keep_s`` (seconds the song is sure to stay stored from ``now``) the session expires
        within it: ``now + MIN_SESSION_S <= expires_at <= now + keep_s``. Raises
        :class:`SongExpiring` when ``keep_s`` is too short for any session Stripe accepts.
        ``language`` (a ``texts.languages`` code): the page's and the product name's."""
        now = time.time() if now is None else now
        lifetime = SESSION_LIFETIME_S if keep_s is None else min(SESSION_LIFETIME_S, int(keep_s))
        window_s = min(SESSION_WINDOW_S, lifetime - MIN_SESSION_S)
        if window_s <= 0:
            raise SongExpiring(f"the song stays {keep_s:.0f} s, too short for a checkout")
        window = int(now // window_s)
        base = self.settings.public_base_url
        locale = stripe_locale(language)
        with speak(language):
            product = invoice_texts.product_name()
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": order.currency,
                        "unit_amount": order.price_cents,
                        "product_data": {"name": product},
                    },
                }
            ],
            "client_reference_id": order.id,
            "metadata": {**session_marker(self.settings), "order_id": order.id, "kind": order.kind},
            "payment_intent_data": {"metadata": {**session_marker(self.settings), "order_id": order.id}},
            "success_url": f"{base}/checkout/done?order={order.id}",
            "cancel_url": f"{base}/checkout/cancelled?order={order.id}",
            "expires_at": window * window_s + lifetime,
            "locale": locale,
        }
        span = "" if window_s == SESSION_WINDOW_S else f"{window_s}s-"
        spoken = "" if locale == stripe_locale(ENGLISH) else f"-{locale}"
        return params, f"checkout-{order.id}-{span}{window}{spoken}"

    async def create_session(
        self, order: Order, keep_s: float | None = None, language: str | None = None
    ) -> CheckoutLink:
        """Open (or get back, within the window) the Checkout Session that pays ``order``,
        expiring within ``keep_s`` seconds (how long the song is sure to stay stored), in the
        buyer's ``language``."""
        if not order.payable:
            raise ValueError(f"order {order.id} is {order.state.value}, not payable")
        params, key = self.session_params(order, keep_s=keep_s, language=language)
        session = await self.client.v1.checkout.sessions.create_async(
            params, options={"idempotency_key": key}
        )
        if session.url is None:  # only a session that is no longer open has none
            raise ValueError(f"Stripe gave checkout session {session.id} without a payment page")
        return CheckoutLink(session_id=session.id, url=session.url, expires_at=session.expires_at)

    async def refund(self, request: RefundRequest) -> str | None:
        """Refund the whole payment; the key makes a retried refund a no-op at Stripe."""
        target = refund_target(request)
        if target is None:
            return None  # a session that took no money (100 % coupon): nothing to send back
        payment = request.payment
        refund = await self.client.v1.refunds.create_async(
            {
                **target,
                "metadata": {
                    "order_id": payment.order_id or "none",  # a payment that matched no order
                    "reason": request.reason[:400],
                },
            },
            options={"idempotency_key": request.idempotency_key},
        )
        return refund.id


def refund_target(request: RefundRequest) -> RefundCreateParams | None:
    """What Stripe's refund call names: ``payment_intent`` or ``charge``.

    A Checkout payment is recorded by its PaymentIntent (or, when it took no money, by its
    session: None). A card payment made in a Telegram invoice is known to Stripe by the id
    Telegram reports as ``provider_payment_charge_id`` (a charge or a PaymentIntent); without one
    the refund cannot be sent, which must not pass for success.
    """
    payment = request.payment
    if payment.provider is Provider.TELEGRAM_CARD:
        stripe_id = payment.provider_ref or ""
    elif payment.amount == 0:
        return None
    else:
        stripe_id = payment.charge_id
    if stripe_id.startswith(PAYMENT_INTENT_PREFIX):
        return {"payment_intent": stripe_id}
    if stripe_id.startswith(CHARGE_PREFIXES):
        return {"charge": stripe_id}
    if payment.provider is Provider.STRIPE and stripe_id.startswith(SESSION_PREFIX):
        return None
    raise ValueError(f"payment {payment.id} names no Stripe charge to refund ({stripe_id[:8]!r})")
