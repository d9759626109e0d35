"""Configuration from the environment."""

from __future__ import annotations

import pytest

from payments import Settings, SettingsError


def test_defaults_use_a_sqlite_file_under_var() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///var/payments.sqlite3"
    assert settings.stripe_api_key is None and settings.admin_ids == frozenset()
    assert settings.price_cents > 0 and settings.price_stars > 0


def test_values_are_parsed_and_secrets_hidden() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg2://u@db/pay",
            "STRIPE_API_KEY": "sk_live_secret",
            "STRIPE_WEBHOOK_SECRET": "whsec_secret",
            "STRIPE_API_BASE": "http://127.0.0.1:12111",
            "PUBLIC_BASE_URL": "https://pay.example.com/",
            "PRICE_CENTS": "299",
            "PRICE_CURRENCY": "EUR",
            "PRICE_STARS": "150",
            "FREE_PREVIEWS_PER_DAY": "0",
            "ADMIN_IDS": "42, discord:7 ,telegram:9",
            "DOWNLOAD_SECRET": "dl_secret",
            "ABUSE_HMAC_SECRET": "abuse_secret",
            "TELEGRAM_CARD_LINKS": "true",
        }
    )
    assert settings.database_url.startswith("postgresql")
    assert settings.public_base_url == "https://pay.example.com"
    assert (settings.price_cents, settings.currency, settings.price_stars) == (299, "eur", 150)
    assert settings.free_previews_per_day == 0
    assert settings.admin_ids == {"telegram:42", "discord:7", "telegram:9"}
    assert settings.is_admin("telegram", 42) and not settings.is_admin("discord", 42)
    text = repr(settings)
    for secret in ("sk_live_secret", "whsec_secret", "dl_secret", "abuse_secret"):
        assert secret not in text
    assert settings.abuse_key == b"abuse_secret" and settings.telegram_card_links


@pytest.mark.parametrize(
    "env",
    [{"PRICE_CENTS": "abc"}, {"PRICE_CENTS": "0"}, {"ADMIN_IDS": "telegram:"}],
)
def test_bad_values_fail_at_startup(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)
