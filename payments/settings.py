"""Payments configuration, read once from the environment.

Secrets (Stripe keys, the download-link secret) come only from the environment and are kept out
of ``repr`` so that logging a ``Settings`` never leaks them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB_PATH = Path("var") / "payments.sqlite3"

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
# A paid order is retried this many times by recovery before it is refunded instead.
DEFAULT_MAX_FULFIL_ATTEMPTS = 3


class SettingsError(ValueError):
    """A configuration value is missing or malformed; raised at start-up, never mid-request."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


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
            raise SettingsError(f"ADMIN_IDS entry {part!r} is not platform:id")
        ids.add(f"{platform.lower()}:{pid}")
    return frozenset(ids)


@dataclass(frozen=True)
class Settings:
    """Everything the payments package needs to know about its deployment."""

    database_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    stripe_api_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    # Override for the Stripe API address (tests point it at a loopback stub).
    stripe_api_base: str | None = None
    # A Telegram payment-provider token (BotFather, connected to our Stripe account): Telegram
    # invoices then charge cards in ``currency`` instead of Stars. Only for deployments whose
    # goods Telegram lets be paid by card; its refunds go through Stripe, so it needs the key.
    telegram_provider_token: str | None = field(default=None, repr=False)
    public_base_url: str = f"http://{DEFAULT_WEBHOOK_HOST}:{DEFAULT_WEBHOOK_PORT}"
    currency: str = DEFAULT_CURRENCY
    price_cents: int = DEFAULT_PRICE_CENTS
    price_stars: int = DEFAULT_PRICE_STARS
    free_previews_per_day: int = DEFAULT_FREE_PREVIEWS_PER_DAY
    paid_previews_per_day: int = DEFAULT_PAID_PREVIEWS_PER_DAY
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE
    admin_ids: frozenset[str] = frozenset()
    webhook_host: str = DEFAULT_WEBHOOK_HOST
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    download_secret: str | None = field(default=None, repr=False)
    download_ttl_s: int = DEFAULT_DOWNLOAD_TTL_S
    max_fulfil_attempts: int = DEFAULT_MAX_FULFIL_ATTEMPTS

    def __post_init__(self) -> None:
        if self.telegram_provider_token and not self.stripe_api_key:
            raise SettingsError(
                "TELEGRAM_PROVIDER_TOKEN needs STRIPE_API_KEY: card payments made in Telegram "
                "are refunded through Stripe's API"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); unknown variables are ignored."""
        env = os.environ if env is None else env
        currency = env.get("PRICE_CURRENCY", DEFAULT_CURRENCY).strip().lower() or DEFAULT_CURRENCY
        return cls(
            database_url=env.get("DATABASE_URL", "").strip() or f"sqlite:///{DEFAULT_DB_PATH}",
            stripe_api_key=_optional(env, "STRIPE_API_KEY"),
            stripe_webhook_secret=_optional(env, "STRIPE_WEBHOOK_SECRET"),
            stripe_api_base=_optional(env, "STRIPE_API_BASE"),
            telegram_provider_token=_optional(env, "TELEGRAM_PROVIDER_TOKEN"),
            public_base_url=(
                _optional(env, "PUBLIC_BASE_URL") or f"http://{DEFAULT_WEBHOOK_HOST}:{DEFAULT_WEBHOOK_PORT}"
            ).rstrip("/"),
            currency=currency,
            price_cents=_int(env, "PRICE_CENTS", DEFAULT_PRICE_CENTS, minimum=1),
            price_stars=_int(env, "PRICE_STARS", DEFAULT_PRICE_STARS, minimum=1),
            free_previews_per_day=_int(env, "FREE_PREVIEWS_PER_DAY", DEFAULT_FREE_PREVIEWS_PER_DAY),
            paid_previews_per_day=_int(env, "PAID_PREVIEWS_PER_DAY", DEFAULT_PAID_PREVIEWS_PER_DAY),
            rate_limit_per_minute=_int(
                env, "RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE, minimum=1
            ),
            admin_ids=_admin_ids(env.get("ADMIN_IDS", "")),
            webhook_host=env.get("WEBHOOK_HOST", DEFAULT_WEBHOOK_HOST).strip() or DEFAULT_WEBHOOK_HOST,
            webhook_port=_int(env, "WEBHOOK_PORT", DEFAULT_WEBHOOK_PORT),
            download_secret=_optional(env, "DOWNLOAD_SECRET"),
            download_ttl_s=_int(env, "DOWNLOAD_TTL_S", DEFAULT_DOWNLOAD_TTL_S, minimum=60),
            max_fulfil_attempts=_int(env, "MAX_FULFIL_ATTEMPTS", DEFAULT_MAX_FULFIL_ATTEMPTS, minimum=1),
        )

    def is_admin(self, platform: str, platform_user_id: str | int) -> bool:
        """Admins are named in config so that nobody can grant themselves the role via the DB."""
        return f"{platform.lower()}:{platform_user_id}" in self.admin_ids
