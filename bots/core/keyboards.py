"""The buttons the bot shows, as platform-neutral :class:`Button` rows, and their action names.

Action names are short because Telegram allows 64 bytes of callback data and a job id takes 32.
"""

from __future__ import annotations

from bots.core import karaoke
from bots.core.ports import Button, Keyboard
from engine.karaoke import GUIDE_LEVELS_DB, KaraokeSettings
from service.limits import OUTPUT_FORMATS
from texts import chat as messages

BUY = "buy"  # arg: preview job id → an invoice in the chat (Stars, or card by provider token)
CARD = "card"  # arg: preview job id → a Stripe Checkout link
FORMAT = "fmt"  # arg: wav | flac | mp3
FEEDBACK = "fb"  # arg: "up:<job id>" | "down:<job id>"
FEEDBACK_UP = "up"
FEEDBACK_DOWN = "down"
KARAOKE_SETTINGS = "ks"  # arg: a karaoke change (bots.core.karaoke) → the saved preference
KARAOKE_PREVIEW = "kp"  # arg: "<change>:<preview job id>" → preference changed, clip rendered
SHOW_PAGE = "pg"  # arg: job id → its results page, shown to its owner alone (ephemeral)
LANGUAGE = "lang"  # arg: a language's code (texts.languages.CODES) → spoken from then on
# /language's buttons per row (ten languages: four rows).
LANGUAGES_PER_ROW = 3


def language_buttons() -> Keyboard:
    """/language: one button per language, each named in itself."""
    buttons = [Button(language.native, LANGUAGE, language.code) for language in messages.languages()]
    return [buttons[i : i + LANGUAGES_PER_ROW] for i in range(0, len(buttons), LANGUAGES_PER_ROW)]


def formats(current: str) -> list[Button]:
    return [Button(messages.format_button(fmt, current), FORMAT, fmt) for fmt in OUTPUT_FORMATS]


def karaoke_settings(current: KaraokeSettings) -> Keyboard:
    """/settings: the guide level (one button per level, the current one ticked), key and tempo
    steps, and back to the original."""
    guides = [None, *sorted(GUIDE_LEVELS_DB)]
    return [
        [
            Button(
                messages.karaoke_guide_button(level, current.guide_db),
                KARAOKE_SETTINGS,
                karaoke.guide_change(level),
            )
            for level in guides
        ],
        [Button(label, KARAOKE_SETTINGS, change) for label, change in _steps()],
        [Button(messages.KARAOKE_RESET_BUTTON, KARAOKE_SETTINGS, karaoke.RESET)],
    ]


def karaoke_preview(job_id: str) -> list[Button]:
    """Under a preview: key and tempo steps and the next guide level; each tap renders the clip
    with the changed preference."""
    return [
        Button(label, KARAOKE_PREVIEW, f"{change}:{job_id}")
        for label, change in [*_steps(), (messages.KARAOKE_GUIDE_NEXT_BUTTON, karaoke.GUIDE_NEXT)]
    ]


def _steps() -> tuple[tuple[str, str], ...]:
    """The key and tempo steps, labelled in the language of the moment (never at import)."""
    return (
        (messages.KARAOKE_KEY_DOWN_BUTTON, karaoke.KEY_DOWN),
        (messages.KARAOKE_KEY_UP_BUTTON, karaoke.KEY_UP),
        (messages.KARAOKE_TEMPO_DOWN_BUTTON, karaoke.TEMPO_DOWN),
        (messages.KARAOKE_TEMPO_UP_BUTTON, karaoke.TEMPO_UP),
    )


def open_in_browser(page_url: str | None) -> Keyboard:
    """The job's results page (``web.results_page_url``), where there is one."""
    return [[Button(messages.OPEN_IN_BROWSER_BUTTON, url=page_url)]] if page_url else []


def show_page(job_id: str) -> Keyboard:
    """Under a public note (Discord's closed DMs): the job's results page, shown only to the
    one who taps it, and only if the job is theirs (:meth:`~bots.core.results.Results.page_button`)."""
    return [[Button(messages.SHOW_PAGE_BUTTON, SHOW_PAGE, job_id)]]


def preview(
    job_id: str,
    price: str,
    in_chat: bool,
    card: bool,
    current: str,
    page_url: str | None = None,
    karaoke_tools: bool = False,
    buy_url: str | None = None,
) -> Keyboard:
    """Buy in the chat (an invoice), pay by card (a Checkout link), the stems' format, the
    karaoke steps (``karaoke_tools``) and the preview's results page: at most five rows, as
    Discord allows. ``buy_url`` (the preview's signed buy link, :meth:`Context.buy_link`) makes
    the card button that link itself: one tap to Checkout."""
    rows: list[list[Button]] = []
    if in_chat:
        rows.append([Button(messages.buy_button(price), BUY, job_id)])
    if card:  # beside an invoice button it is the other way to pay; alone it is *the* buy button
        label = messages.PAY_BY_CARD_BUTTON if in_chat else messages.buy_by_card_button(price)
        rows.append([Button(label, url=buy_url) if buy_url else Button(label, CARD, job_id)])
    rows.append(formats(current))
    if karaoke_tools:
        rows.append(karaoke_preview(job_id))
    return [*rows, *open_in_browser(page_url)]


def feedback(job_id: str, page_url: str | None = None) -> Keyboard:
    return [
        [
            Button(messages.THUMBS_UP, FEEDBACK, f"{FEEDBACK_UP}:{job_id}"),
            Button(messages.THUMBS_DOWN, FEEDBACK, f"{FEEDBACK_DOWN}:{job_id}"),
        ],
        *open_in_browser(page_url),
    ]


def downloads(urls: dict[str, str]) -> Keyboard:
    """One link button per stem (signed download links)."""
    return [[Button(messages.download_button(name), url=url) for name, url in urls.items()]]


def card_link(url: str) -> Keyboard:
    return [[Button(messages.PAY_BY_CARD_BUTTON, url=url)]]
