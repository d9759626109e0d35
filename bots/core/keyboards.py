"""The buttons the bot shows, as platform-neutral :class:`Button` rows, and their action names.

Action names are short because Telegram allows 64 bytes of callback data and a job id takes 32.
"""

from __future__ import annotations

from bots import messages
from bots.core.ports import Button, Keyboard
from engine.constants import OUTPUT_FORMATS

BUY = "buy"  # arg: preview job id → an invoice in the chat (Stars, or card by provider token)
CARD = "card"  # arg: preview job id → a Stripe Checkout link
FORMAT = "fmt"  # arg: wav | flac | mp3
FEEDBACK = "fb"  # arg: "up:<job id>" | "down:<job id>"
FEEDBACK_UP = "up"
FEEDBACK_DOWN = "down"


def formats(current: str) -> list[Button]:
    return [Button(messages.format_button(fmt, current), FORMAT, fmt) for fmt in OUTPUT_FORMATS]


def open_in_browser(page_url: str | None) -> Keyboard:
    """The job's results page (``payments.results_page_url``), where there is one."""
    return [[Button(messages.OPEN_IN_BROWSER_BUTTON, url=page_url)]] if page_url else []


def preview(
    job_id: str, price: str, in_chat: bool, card: bool, current: str, page_url: str | None = None
) -> Keyboard:
    """Buy in the chat (an invoice), pay by card (a Checkout link), the stems' format, and the
    preview's results page."""
    rows: list[list[Button]] = []
    if in_chat:
        rows.append([Button(messages.buy_button(price), BUY, job_id)])
    if card:  # beside an invoice button it is the other way to pay; alone it is *the* buy button
        label = messages.PAY_BY_CARD_BUTTON if in_chat else messages.buy_by_card_button(price)
        rows.append([Button(label, CARD, job_id)])
    rows.append(formats(current))
    return rows + open_in_browser(page_url)


def feedback(job_id: str, page_url: str | None = None) -> Keyboard:
    return [
        [
            Button(messages.THUMBS_UP, FEEDBACK, f"{FEEDBACK_UP}:{job_id}"),
            Button(messages.THUMBS_DOWN, FEEDBACK, f"{FEEDBACK_DOWN}:{job_id}"),
        ]
    ] + open_in_browser(page_url)


def downloads(urls: dict[str, str]) -> Keyboard:
    """One link button per stem (signed download links)."""
    return [[Button(messages.download_button(name), url=url) for name, url in urls.items()]]


def card_link(url: str) -> Keyboard:
    return [[Button(messages.PAY_BY_CARD_BUTTON, url=url)]]
