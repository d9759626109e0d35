"""``Payments``: the one object a process builds to use this package.

It opens (and migrates) the store and assembles the parts around one ``Database`` so callers never
wire modules by hand. What varies per process is injected: the bot registers its Stars refund
function; the webhook service passes ``on_paid`` to ``fulfilment``.

Threading note: store methods are synchronous, one short transaction each. From async code call
them with ``await asyncio.to_thread(...)``; the async methods here (refunds, Stripe) already do.
"""

from __future__ import annotations

from db.database import Database, open_database
from db.tables import Provider
from payments.fulfilment import Fulfilment, GiveUp, OnPaid
from payments.ledger import Ledger
from payments.records import price_in
from payments.recovery import RecoveryReport, recover
from payments.refunds import Refunder
from payments.settings import Settings
from payments.stars import SongAvailable, StarsPayments
from payments.stripe_checkout import StripeCheckout
from people.feedback import FeedbackStore, Stats
from people.privacy import ForgetResult, forget_user
from people.ratelimit import RateLimiter
from people.users import Users


class Payments:
    """Users, ledger, feedback, refunds and (if configured) Stripe over one database."""

    def __init__(self, settings: Settings, db: Database) -> None:
        # Every process that builds this keeps abuse limits (a new account takes over a kept
        # ban, /forget keeps one): without ABUSE_HMAC_SECRET it refuses to start (SettingsError)
        # rather than fail, or make a guessable mark, mid-request.
        self.abuse_key = settings.abuse_key
        self.settings = settings
        self.db = db
        self.users = Users(db, settings)
        self.ledger = Ledger(db, settings)
        self.feedback = FeedbackStore(db)
        self.refunder = Refunder(self.ledger)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        self.stripe: StripeCheckout | None = None
        if settings.stripe_api_key:
            self.stripe = StripeCheckout(settings)
            self.refunder.register(Provider.STRIPE, self.stripe.refund)
            self.refunder.register(Provider.TELEGRAM_CARD, self.stripe.refund)

    @classmethod
    def open(cls, settings: Settings | None = None, *, migrate: bool = True) -> Payments:
        """Open the store named by ``settings.database_url`` (default: from the environment)."""
        settings = Settings.from_env() if settings is None else settings
        settings.abuse_key  # noqa: B018 - refuse before opening anything (see __init__)
        return cls(settings, open_database(settings.database_url, migrate=migrate))

    def stars(self, song_available: SongAvailable) -> StarsPayments:
        return StarsPayments(self.ledger, self.users, song_available, self.settings.telegram_provider_token)

    def list_price(self, provider: Provider) -> tuple[int, str]:
        """(amount, currency) a new order costs through ``provider`` (buttons, texts)."""
        s = self.settings
        return price_in(provider, s.price_stars, s.price_cents, s.currency)

    def fulfilment(self, on_paid: OnPaid) -> Fulfilment:
        return Fulfilment(self.ledger, on_paid, self.refunder)

    async def recover(self, on_paid: OnPaid, give_up: GiveUp | None = None) -> RecoveryReport:
        """Start-up recovery (see ``payments.recovery``) with this process's providers;
        ``give_up`` hands an order that can't be delivered to the person's bot to refund and
        tell (the job bridge's ``give_up``)."""
        return await recover(
            self.ledger,
            self.fulfilment(on_paid),
            self.refunder,
            self.settings.max_fulfil_attempts,
            give_up,
        )

    def forget(self, platform: str, platform_user_id: str | int) -> ForgetResult:
        return forget_user(self.db, platform, platform_user_id, self.abuse_key)

    def stats(self) -> Stats:
        return self.feedback.stats()

    def close(self) -> None:
        self.db.dispose()
