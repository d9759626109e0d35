"""Numbers and money as the language in effect writes them (Babel's CLDR data): "1.234,5" in
German, "1 234,5" in Russian, "$1.99" and "1,99 $" for the same price.

Every figure a text shows goes through here, so a translation never carries a number format of
its own; :func:`texts.languages.current` names the locale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_precision

from texts.languages import current

# A moment on a page: day, the month in the language's words, year, time; always in UTC.
MOMENT_PATTERN = "d MMM y, HH:mm"

# Telegram Stars: whole, and no ISO currency Babel knows.
STARS = "XTR"
STAR = "⭐"


def integer(value: int) -> str:
    """A whole number: "1,234" (en), "1.234" (de), "1 234" (ru)."""
    return format_decimal(int(value), locale=current())


def decimal(value: float, digits: int = 1) -> str:
    """``value`` with exactly ``digits`` decimals, in the locale's separators ("4.2", "4,2")."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=current())


def money(amount: int, currency: str) -> str:
    """An amount in its currency's smallest unit (cents; Stars are whole), as the locale writes
    the price: "$1.99", "1,99 $", "US$ 1,99"; Stars as "50 ⭐"."""
    code = currency.upper()
    if code == STARS:
        return f"{integer(amount)} {STAR}"
    precision = get_currency_precision(code)
    return format_currency(amount / 10**precision, code, locale=current())


def moment(when: datetime) -> str:
    """A UTC moment as people read it: "15 Jan 2027, 08:00 UTC" ("15 янв. 2027 г., 08:00 UTC")."""
    return f"{format_datetime(when, MOMENT_PATTERN, tzinfo=UTC, locale=current())} UTC"
