"""Payments configuration, read once at start-up (``service.envconfig``).

Secrets (Stripe keys, the download-link secret) come only from the environment or ``.env`` and are
kept out of ``repr`` (and out of error messages) so that logging a ``Settings`` never leaks them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from db.settings import DEFAULT_DATABASE_URL
from service import pseudonyms
from service.envconfig import SettingsError, boolean, env_field, integer, load

# Pricing is per song (see docs/PAYMENTS.md): one flat price for the full stems of one upload.
DEFAULT_PRICE_CENTS = 199
DEFAULT_CURRENCY = "usd"
DEFAULT_PRICE_STARS = 100
DEFAULT_FREE_PREVIEWS_PER_DAY = 3
DEFAULT_PAID_PREVIEWS_PER_DAY = 20
DEFAULT_RATE_LIMIT_PER_MINUTE = 20
DEFAULT_WEBHOOK_HOST = "127.0.0.1"
DEFAULT_WEBHOOK_PORT = 8080
DEFAULT_DOWNLOAD_TTL_S = 7 * 24 * 3600
# An upload link (a file too big for the chat, web.upload_links) is good for this long.
DEFAULT_UPLOAD_LINK_TTL_S = 3600
# A paid order is retried this many times by recovery before it is refunded instead.
DEFAULT_MAX_FULFIL_ATTEMPTS = 3
# The deployment's name in its Checkout Sessions' metadata (``STRIPE_ENVIRONMENT``).
DEFAULT_STRIPE_ENVIRONMENT = "production"
STRIPE_ENVIRONMENT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

__all__ = ["Settings", "SettingsError"]


def _currency(raw: str) -> str:
    return raw.lower()


def _environment(raw: str) -> str:
    if not STRIPE_ENVIRONMENT_RE.match(raw):
        raise ValueError("must be 1..40 lowercase letters, digits, '-' or '_'")
    return raw


def _base_url(raw: str) -> str:
    return raw.rstrip("/")


def _admin_ids(raw: str) -> frozenset[str]:
    """Parse ``ADMIN_IDS``: comma-separated ``platform:id`` pairs, e.g. ``telegram:42,discord:7``.

    A bare number is taken as a Telegram id because that is the platform most admins use.
    """
    ids = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" not in part:
            part = f"telegram:{part}"
        platform, _, pid = part.partition(":")
        if not platform or not pid:
            raise ValueError(f"entry {part!r} is not platform:id")
        ids.add(f"{platform.lower()}:{pid}")
    return frozenset(ids)


@dataclass(frozen=True)
class Settings:
    """Everything the payments package needs to know about its deployment."""

    database_url: str = env_field("DATABASE_URL", default=DEFAULT_DATABASE_URL)
    stripe_api_key: str | None = env_field("STRIPE_API_KEY", default=None, secret=True)
    stripe_webhook_secret: str | None = env_field("STRIPE_WEBHOOK_SECRET", default=None, secret=True)
    # This deployment's name, written with our app's marker into the metadata of every Checkout
    # Session we open: a Stripe account shared with another integration (or with our staging)
    # sends every endpoint all of its sessions, and the webhook takes only those so marked.
    stripe_environment: str = env_field(
        "STRIPE_ENVIRONMENT", _environment, default=DEFAULT_STRIPE_ENVIRONMENT
    )
    # Override for the Stripe API address (tests point it at a loopback stub).
    stripe_api_base: str | None = env_field("STRIPE_API_BASE", default=None)
    # A Telegram payment-provider token (BotFather, connected to our Stripe account): Telegram
    # invoices then charge cards in ``currency`` instead of Stars. Only for deployments whose
    # goods Telegram lets be paid by card; its refunds go through Stripe, so it needs the key.
    telegram_provider_token: str | None = env_field("TELEGRAM_PROVIDER_TOKEN", default=None, secret=True)
    # Stripe Checkout links ("Pay by card") on Telegram too. Off by default: Telegram's rules
    # for bots say digital goods are paid in Stars, so a deployment that sets up Stripe (for
    # Discord) must not show Telegram users a card link unless it knows Telegram allows it.
    # Invoices through ``TELEGRAM_PROVIDER_TOKEN`` are unaffected.
    telegram_card_links: bool = env_field("TELEGRAM_CARD_LINKS", boolean, default=False)
    public_base_url: str = env_field(
        "PUBLIC_BASE_URL", _base_url, default=f"http://{DEFAULT_WEBHOOK_HOST}:{DEFAULT_WEBHOOK_PORT}"
    )
    currency: str = env_field("PRICE_CURRENCY", _currency, default=DEFAULT_CURRENCY)
    price_cents: int = env_field("PRICE_CENTS", integer(1), default=DEFAULT_PRICE_CENTS)
    price_stars: int = env_field("PRICE_STARS", integer(1), default=DEFAULT_PRICE_STARS)
    free_previews_per_day: int = env_field(
        "FREE_PREVIEWS_PER_DAY", integer(0), default=DEFAULT_FREE_PREVIEWS_PER_DAY
    )
    paid_previews_per_day: int = env_field(
        "PAID_PREVIEWS_PER_DAY", integer(0), default=DEFAULT_PAID_PREVIEWS_PER_DAY
    )
    rate_limit_per_minute: int = env_field(
        "RATE_LIMIT_PER_MINUTE", integer(1), default=DEFAULT_RATE_LIMIT_PER_MINUTE
    )
    admin_ids: frozenset[str] = env_field("ADMIN_IDS", _admin_ids, default=frozenset())
    webhook_host: str = env_field("WEBHOOK_HOST", default=DEFAULT_WEBHOOK_HOST)
    webhook_port: int = env_field("WEBHOOK_PORT", integer(0), default=DEFAULT_WEBHOOK_PORT)
    download_secret: str | None = env_field("DOWNLOAD_SECRET", default=None, secret=True)
    download_ttl_s: int = env_field("DOWNLOAD_TTL_S", integer(60), default=DEFAULT_DOWNLOAD_TTL_S)
    upload_link_ttl_s: int = env_field("UPLOAD_LINK_TTL_S", integer(60), default=DEFAULT_UPLOAD_LINK_TTL_S)
    # Where the web server streams uploads while they arrive ("": the system's temporary folder);
    # an upload that is cut off or refused leaves nothing here.
    upload_spool_dir: str = env_field("UPLOAD_SPOOL_DIR", default="")
    # Keys the HMAC of a forgotten person's platform id under which /forget keeps their ban and
    # today's previews (people.abuse): only abuse limits, nothing else. Required wherever
    # ``Payments`` is built (the bots, the payments service); see ``abuse_key``.
    abuse_hmac_secret: str | None = env_field("ABUSE_HMAC_SECRET", default=None, secret=True)
    max_fulfil_attempts: int = env_field(
        "MAX_FULFIL_ATTEMPTS", integer(1), default=DEFAULT_MAX_FULFIL_ATTEMPTS
    )

    def __post_init__(self) -> None:
        if self.telegram_provider_token and not self.stripe_api_key:
            raise SettingsError(
                "TELEGRAM_PROVIDER_TOKEN needs STRIPE_API_KEY: card payments made in Telegram "
                "are refunded through Stripe's API"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: the environment over ``.env``); unknown
        variables are ignored; every bad value is named in one ``SettingsError``."""
        return load(cls, env)

    @property
    def takes_stripe_webhooks(self) -> bool:
        """The web server adds the Stripe route (``STRIPE_WEBHOOK_SECRET`` set), and so is the
        payments service: it owns payments' recovery (a bot never runs it then)."""
        return bool(self.stripe_webhook_secret)

    @property
    def abuse_key(self) -> bytes:
        """The key of the abuse-limit HMAC (:mod:`people.abuse`): ``ABUSE_HMAC_SECRET``, its own
        secret. Unset, :class:`SettingsError` — never an empty key (an unkeyed hash of a platform
        id is undone by trying every id) nor one borrowed from ``DOWNLOAD_SECRET`` (rotating that
        would lift every kept ban); see :mod:`service.pseudonyms`."""
        return pseudonyms.abuse_key(self.abuse_hmac_secret)

    def is_admin(self, platform: str, platform_user_id: str | int) -> bool:
        """Admins are named in config so that nobody can grant themselves the role via the DB."""
        return f"{platform.lower()}:{platform_user_id}" in self.admin_ids
