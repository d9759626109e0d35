"""Every text the bots say to a person, in one place.

Kept free of platform markup (plain text only) so a wording change or a translation touches one
file. Functions take the few values that vary. Texts whose words differ by platform — how a
command with arguments is typed, what a person may send ("voice note" only on Telegram), how the
stems are sold (Stars only where there are Stars), how long songs are kept (the deployment's
``RETENTION_HOURS``) — are methods of a :class:`Catalogue`, one per platform
(:func:`catalogue`); the core reaches them as ``ctx.text``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the figures' shapes: this module stays free of the back-end
    import jobs
    import people
    from engine.analysis import Analysis, Key
    from engine.karaoke import KaraokeSettings


def _mb(size_bytes: float) -> str:
    """Sizes as people read them: "26 MB", "0.3 MB", or "40 KB" for tiny limits."""
    if size_bytes < 1e5:
        return f"{size_bytes / 1e3:.0f} KB"
    return f"{size_bytes / 1e6:.0f} MB" if size_bytes >= 10e6 else f"{size_bytes / 1e6:.1f} MB"


# ------------------------------------------------------------------------------------ commands

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does, price and privacy"),
    ("help", "How to use the bot"),
    ("settings", "Choose the output format"),
    ("history", "Your orders"),
    ("status", "Where your songs are: place in line, progress"),
    ("cancel", "Cancel your song in line"),
    ("forget", "Delete everything we store about you"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "Users, jobs, revenue, feedback by model version"),
    ("grant", "<user id> paid|free — set a user's level (paid: more previews a day)"),
    ("refund", "<order id> — refund an order, even a delivered one"),
    ("export", "— all ratings as a CSV file"),
    ("ban", "<user id> [reason] — block a user"),
    ("unban", "<user id> — lift a ban"),
)


# What each admin command takes, as (option name, what it is) — Discord shows them as options.
ADMIN_ARGS: Mapping[str, str] = {
    "grant": "<user id> paid|free",
    "refund": "<order id>",
    "ban": "<user id> [reason]",
    "unban": "<user id>",
}


@dataclass(frozen=True)
class Catalogue:
    """The texts that speak one platform's words (see the module doc)."""

    platform: str
    # What a person may send us, as a list in a sentence.
    media: str
    # How a command's arguments are typed: "/forget yes" (Telegram) or "/forget confirm: yes".
    option_style: bool
    # Whether the platform's own in-chat payment (Stars) exists: wording of the card fallback.
    in_chat_payment: str | None
    retention_hours: int
    # How long bought stems stay downloadable after delivery (their links' lifetime; 0: no links).
    paid_kept_days: int = 0

    def command(self, name: str, option: str = "", value: str = "") -> str:
        if not value:
            return f"/{name}"
        return f"/{name} {option}: {value}" if self.option_style else f"/{name} {value}"

    def start(self, price: str, card: bool, preview_s: float, max_minutes: int) -> str:
        return (
            "Hi! I split a song into vocals and instrumental.\n\n"
            f"Send me a song ({self.media}). In a few seconds you get a "
            f"free {preview_s:.0f}-second preview of both parts and a waveform picture.\n"
            f"The full stems cost {price}{' (or pay by card)' if card else ''}. "
            f"Songs up to {max_minutes} minutes.\n\n"
            f"Privacy: your audio is deleted after {self.retention_hours} hours; we keep only your "
            f"user id and your orders. {self.command('forget')} deletes that too.\n\n"
            f"{self.paid_kept}"
            f"{self.command('help')} shows all commands."
        )

    @property
    def paid_kept(self) -> str:
        """Bought stems outlive the uploads: their download links must keep working."""
        if not self.paid_kept_days:
            return ""
        days = self.paid_kept_days
        return (
            f"Stems you bought stay downloadable for {days} day{'s' if days != 1 else ''} "
            "after they arrive, as long as their links and page; then they are deleted too.\n\n"
        )

    def help_text(self, is_admin: bool = False) -> str:
        lines = ["Send me a song and I will separate it. Commands:"]
        lines += [f"/{name} — {what}" for name, what in self.commands()]
        if is_admin:
            lines.append("\nAdmin:")
            lines += [f"/{name} {what}" for name, what in ADMIN_COMMANDS]
        return "\n".join(lines)

    def commands(self) -> tuple[tuple[str, str], ...]:
        """The commands a person sees in the platform's menu."""
        if self.platform == DISCORD:
            return (("separate", "Separate a song: attach it as the file option"), *COMMANDS[1:])
        return COMMANDS

    @property
    def send_a_song(self) -> str:
        return f"Send me a song as {self.media}, and I'll separate the vocals from the music."

    @property
    def card_unavailable(self) -> str:
        if self.in_chat_payment:
            return f"Card payments aren't available right now — please pay with {self.in_chat_payment}."
        return "Card payments aren't available right now — please try again later."

    @property
    def song_expired(self) -> str:
        return (
            f"That song was deleted from our storage after {self.retention_hours} hours. "
            "Please send it again."
        )

    @property
    def forget_confirm(self) -> str:
        return (
            "This deletes your orders history, settings and any stored songs. Paid stems that "
            f"weren't delivered yet are delivered first. Kept: payment records (the law requires "
            "them) and, under a code that doesn't name you, a ban or today's free and karaoke "
            "previews. "
            f"Send {self.command('forget', 'confirm', 'yes')} to confirm."
        )

    def usage(self, command: str) -> str:
        return f"Usage: {self.command(command, 'args', ADMIN_ARGS.get(command, ''))}"

    def error(self, code: str | None, said: str | None) -> str | None:
        """What to tell a person about a refusal or failure from another package — the engine's
        bad audio, the pipeline's errors — by its stable ``code``: this catalogue's own words
        where they depend on the platform or the deployment, else the owner's friendly message
        ``said`` (None when there is none)."""
        if code in (INPUT_EXPIRED, SONG_GONE):
            return (
                f"That song is no longer stored (uploads are kept for {self.retention_hours} "
                "hours). Please send it again to get the full version."
            )
        if code == ORDER_IN_FLIGHT:
            return (
                "You have a paid order that is still being processed. Please try "
                f"{self.command('forget')} again once your stems have arrived (or the payment "
                "was refunded)."
            )
        return said or None

    # A buy button whose in-chat invoice this platform doesn't have (a forged button).
    NO_IN_CHAT_PAYMENTS = "Paying in the chat isn't available here — use the Buy full stems button."


TELEGRAM = "telegram"
DISCORD = "discord"
# Codes whose words the catalogue owns: jobs.errors.InputExpiredError.code, the Stars
# pre-checkout refusal payments.stars.REFUSAL_CODES[MSG_GONE], people.privacy.ORDER_IN_FLIGHT.
INPUT_EXPIRED = "input_expired"
SONG_GONE = "song_gone"
ORDER_IN_FLIGHT = "order_in_flight"
_WORDS: Mapping[str, tuple[str, bool, str | None]] = {
    TELEGRAM: ("an audio file, voice note, document or video", False, "Stars"),
    DISCORD: ("an audio or video attachment (or with /separate)", True, None),
}


def catalogue(platform: str, retention_hours: int, paid_kept_days: int = 0) -> Catalogue:
    """The texts for ``platform``, telling the deployment's real retention time (and how long
    bought stems are kept, ``paid_kept_days``; 0 where there are no download links)."""
    media, option_style, in_chat = _WORDS.get(platform, _WORDS[DISCORD])
    return Catalogue(platform, media, option_style, in_chat, retention_hours, paid_kept_days)

# ------------------------------------------------------------------------------------ settings


def settings(current_format: str) -> str:
    return (
        f"Your stems are sent as {current_format.upper()}.\n"
        "WAV is lossless and large, FLAC is lossless and smaller, MP3 (320k) is smallest."
    )


def format_saved(fmt: str) -> str:
    return f"Done — your stems will be sent as {fmt.upper()}."


# ------------------------------------------------------------------------------------ karaoke


def karaoke_summary(settings: KaraokeSettings) -> str:
    """The settings in words: "guide vocal −12 dB, key +2, tempo 90 %"."""
    guide = "guide vocal off" if settings.guide_db is None else (
        f"guide vocal −{abs(settings.guide_db):g} dB"
    )
    key = "original key" if settings.semitones == 0 else f"key {settings.semitones:+d}"
    key = key.replace("-", "−")
    return f"{guide}, {key}, tempo {settings.tempo_percent} %"


def karaoke_settings(settings: KaraokeSettings) -> str:
    """The karaoke part of /settings."""
    return (
        f"🎤 Karaoke version: {karaoke_summary(settings)}.\n"
        "Guide vocal mixes the singer back in quietly so you can follow the melody; key and "
        "tempo change the instrumental (and the guide). When anything differs from the "
        "original, the preview buttons play your song that way and the full stems come with "
        "a karaoke file too, at no extra charge."
    )


def karaoke_saved(settings: KaraokeSettings) -> str:
    return f"Karaoke: {karaoke_summary(settings)}."


def karaoke_rendering(settings: KaraokeSettings) -> str:
    return f"🎤 Making the preview with {karaoke_summary(settings)}…"


def karaoke_title(title: str) -> str:
    return f"{title} (karaoke preview)"


def karaoke_caption(settings: KaraokeSettings) -> str:
    return f"🎤 Karaoke preview: {karaoke_summary(settings)}."


KARAOKE_ORIGINAL = "That's the original: the instrumental preview above."
KARAOKE_SLOW_DOWN = "You're tapping very fast — please wait a minute and try again."
KARAOKE_ALREADY_MAKING = "Already on it — the preview comes in a moment."
KARAOKE_PREVIEW_GONE = "I can't find that preview any more. Please send the song again."
KARAOKE_ONE_AT_A_TIME = (
    "Your last karaoke preview is still being made — it comes in a moment. Tap again once it's here."
)
KARAOKE_BUSY = "I'm very busy right now. Please try that key again in a few minutes."


def karaoke_quota(per_day: int) -> str:
    """The person asked for today's last karaoke preview already (``KARAOKE_RENDERS_PER_DAY``)."""
    return (
        f"That's {per_day} karaoke previews today, the most for one day. You can still buy the "
        "song in the key you chose, or try more keys tomorrow."
    )


KARAOKE_FAILED = "Sorry — I couldn't make that karaoke preview. Please try again in a few minutes."
KARAOKE_PART = "karaoke"  # the paid karaoke file: "<title> (karaoke).<fmt>"
KARAOKE_KEY_DOWN_BUTTON = "🎤 Key −1"
KARAOKE_KEY_UP_BUTTON = "Key +1"
KARAOKE_TEMPO_DOWN_BUTTON = "Tempo −5 %"
KARAOKE_TEMPO_UP_BUTTON = "Tempo +5 %"
KARAOKE_GUIDE_NEXT_BUTTON = "Guide vocal"
KARAOKE_RESET_BUTTON = "Original"


def karaoke_guide_button(guide_db: float | None, current: float | None) -> str:
    label = "Guide off" if guide_db is None else f"Guide −{abs(guide_db):g} dB"
    return f"✓ {label}" if guide_db == current else label


def karaoke_delivered(settings: KaraokeSettings) -> str:
    return f"🎤 Your karaoke version: {karaoke_summary(settings)}."


# ------------------------------------------------------------------------------------ upload


def too_big_to_download(size_bytes: int | None, limit_bytes: int | None) -> str:
    size = f"That file is {_mb(size_bytes)}, but" if size_bytes else "That file is too big:"
    limit = _mb(limit_bytes) if limit_bytes else "a limited size"
    return (
        f"{size} bots can only download files up to "
        f"{limit} here. Please send a smaller version — an mp3 or m4a of the same "
        "song is usually well under that."
    )


CHECKING = "Got it — checking your song…"
SLOW_DOWN = "You're sending songs very fast — please wait a minute and try again."
DOWNLOAD_FAILED = "I couldn't download that file. Please send it again."
BANNED = "Sorry, this account can't use the bot."
INTERNAL_ERROR = "Sorry, something went wrong on my side. Please try again in a minute."


def _place(position: int | None) -> str:
    """Where a song is in line, as the end of a sentence (1st in line: it starts now)."""
    return " now." if position is None or position <= 1 else f", you are #{position} in line."


def received(position: int | None) -> str:
    return f"Got it — separating the preview{_place(position)}"


def progress(percent: int, full: bool = False) -> str:
    what = "the full song" if full else "the preview"
    return f"Separating {what}… {percent}%"


CACHED = "I've separated this song before — here it is right away."


def quota_exhausted(per_day: int) -> str:
    return (
        f"You've used your {per_day} free previews for today. Buy the full stems of a song you've "
        "previewed, or come back tomorrow."
    )


PREVIEW_READY = "Your preview is ready ↓"
JOB_FAILED = "Sorry, I couldn't separate that song. Please try again."

# ------------------------------------------------------------------------------------ preview


def preview_caption(start_s: float, length_s: float, price: str, card: bool) -> str:
    start = f"{int(start_s) // 60}:{int(start_s) % 60:02d}"
    return (
        f"Preview: {length_s:.0f} s from {start}, where the vocals come in.\n"
        "Top: the original, middle: vocals, bottom: instrumental.\n"
        f"Full stems: {price}{' or by card' if card else ''}. "
        "Pick the format for them below."
    )


def instrumental_title(title: str) -> str:
    return f"{title} (instrumental preview)"


def vocals_title(title: str) -> str:
    return f"{title} (vocals preview)"


def stem_title(title: str, stem: str) -> str:
    return f"{title} ({stem})"


def buy_button(price: str) -> str:
    return f"Full stems — {price}"


PAY_BY_CARD_BUTTON = "Pay by card"


def buy_by_card_button(price: str) -> str:
    """The buy button where a card link is the only way to pay (no in-chat invoices)."""
    return f"Buy full stems — {price}"


def format_button(fmt: str, current: str) -> str:
    return f"✓ {fmt.upper()}" if fmt == current else fmt.upper()


# ------------------------------------------------------------------------------------ paying


def invoice_title(song_title: str) -> str:
    return f"Stems: {song_title}"[:32]


def invoice_description(minutes: float, fmt: str) -> str:
    return (
        f"Vocals and instrumental of the whole song ({minutes:.1f} min) as {fmt.upper()} files."
    )[:255]


def card_link(url: str) -> str:
    return f"Pay by card here: {url}\nThe stems arrive in this chat as soon as the payment clears."


ORDER_UNKNOWN = "I can't find that order any more. Please send the song again."
ORDER_ALREADY_PAID = "You've already paid for this song — the stems are on their way."
CHECKOUT_REFUSED = "This payment can't go ahead. Please send the song again."


def payment_received(position: int | None) -> str:
    return f"Payment received — thank you! Separating the full song{_place(position)}"


def delivered(fmt: str, page_days: int | None = None) -> str:
    """The paid stems are here; ``page_days``: how long their results page (and files) last."""
    kept = (
        f" Open in browser to play or download them again: the page keeps them for {page_days} "
        f"day{'s' if page_days != 1 else ''}."
        if page_days
        else ""
    )
    return (
        f"Here are your stems ({fmt.upper()}). React to this message or tap a button to tell me "
        f"how it sounds — it helps improve the model.{kept}"
    )


FULL_READY = "Your stems are ready ↓"
# The payment arrived but could not be recorded yet (the store is down): recovery records it
# from Telegram's own list of payments, then the stems (or the refund) follow.
PAYMENT_NOT_RECORDED = (
    "Payment received — thank you! I couldn't note it down just now; I'll do so in a few "
    "minutes, and then your stems (or your refund) will arrive here."
)
PAYMENT_DELAYED = (
    "Payment received — thank you! The separation will start in a moment; your stems will "
    "arrive here."
)


def fell_back(wanted: str, sent: str, limit_bytes: int) -> str:
    return (
        f"The {wanted.upper()} files would be over the {_mb(limit_bytes)} upload "
        f"limit, so I'm sending {sent.upper()} instead."
    )


def still_too_big(limit_bytes: int | None) -> str:
    """No way to hand the stems over (None: the platform refused them as too big)."""
    why = (
        f"Even as MP3 the stems are over the {_mb(limit_bytes)} upload limit."
        if limit_bytes
        else "The stems are too big to send here."
    )
    return f"{why} Your payment has been refunded."


def sent_as_links(limit_bytes: int | None, valid_days: int, urls: Mapping[str, str]) -> str:
    """Stems over the chat's upload limit even as MP3 (None: the platform refused them as too
    big): links instead of files."""
    lines = "\n".join(f"{name.capitalize()}: {url}" for name, url in urls.items())
    why = (
        f"bigger than the {_mb(limit_bytes)} files I can send here, even as MP3,"
        if limit_bytes
        else "too big to send here,"
    )
    return f"Your stems are {why} so here are download links (valid for {valid_days} days):\n{lines}"


def download_button(stem: str) -> str:
    return f"Download {stem}"


def money(amount: int, currency: str) -> str:
    """Stars are whole; card currencies are stored in cents."""
    if currency.upper() == "XTR":
        return f"{amount} ⭐"
    return f"{amount / 100:.2f} {currency.upper()}"


def refunded(amount: int, currency: str, reason: str | None = None) -> str:
    """The refund notice; ``reason`` (a friendly sentence from the pipeline) replaces the
    generic apology when we know what went wrong."""
    why = reason.strip() if reason and reason.strip() else "Sorry — I couldn't separate your song."
    return f"{why}\nYour payment ({money(amount, currency)}) has been refunded."


UNDELIVERABLE = "Sorry — I couldn't send you the stems."


REFUND_FAILED = (
    "Sorry — I couldn't separate your song, and the automatic refund didn't go through. "
    "An admin has been told and will refund you by hand."
)
RETRYING = "That took longer than it should — I'm trying again."

# ------------------------------------------------------------------------------------ private delivery

# Said in a server channel, for everyone, when a person's own message (stems, a clip, a refund
# notice) can't reach their DMs: it names no song and carries no link.
DMS_CLOSED = (
    "I have something for you that only you should see, but your direct messages are closed. "
    "Allow direct messages from this server (its Privacy Settings) and I'll try again in a few "
    "minutes — or tap the button below, and what I answer there only you will see. Next time you "
    "can send me your songs in a direct message."
)
# Under DMS_CLOSED: shows the job's results page to its owner alone (an ephemeral answer).
SHOW_PAGE_BUTTON = "Show it here only to me"
# Someone else tapped a button that belongs to another person's song.
NOT_YOUR_BUTTON = "That button is for someone else's song — it does nothing for you."
# The owner's answer (only they see it), above the results page's link button.
PAGE_HERE = "Here it is — only you can see this. Your results page:"
# The owner's answer where there's no results page (no DOWNLOAD_SECRET).
NO_PAGE_OPEN_DMS = (
    "I can only send this to your direct messages: allow direct messages from this server "
    "(its Privacy Settings) and I'll try again in a few minutes."
)


# ------------------------------------------------------------------------------------ feedback

OPEN_IN_BROWSER_BUTTON = "🌐 Open in browser"
THUMBS_UP = "👍"
THUMBS_DOWN = "👎"
FEEDBACK_THANKS = "Thanks for the feedback!"
FEEDBACK_UNKNOWN = "I couldn't match that to a song — thanks anyway!"

# ------------------------------------------------------------------------------------ history/cancel

NO_ORDERS = "You have no orders yet. Send me a song to start."


def order_line(created: datetime, price: str, state: str) -> str:
    return f"{created:%Y-%m-%d} · {price} · {state}"


def history(lines: Iterable[str]) -> str:
    body = "\n".join(lines)
    return f"Your orders:\n{body}" if body else NO_ORDERS


CANCELLED = "Cancelled — that song is out of the queue."
NOTHING_IN_FLIGHT = "You have no songs in progress. Send me a song to start."


def job_line(title: str, full: bool, place: int | None, progress: int, retrying: bool) -> str:
    """One song in /status: what it is and where it is."""
    what = f"{title} — {'full stems' if full else 'preview'}"
    if place is not None:
        where = "next in line" if place <= 1 else f"#{place} in line"
    elif retrying:
        where = "trying again"
    else:
        where = f"separating, {progress}%"
    return f"• {what}: {where}"


def in_flight(lines: Iterable[str]) -> str:
    body = "\n".join(lines)
    return f"Your songs in progress:\n{body}" if body else NOTHING_IN_FLIGHT
NOTHING_TO_CANCEL = "You have nothing in line to cancel."
FORGOTTEN = "Done — I've deleted your data and your songs."

# ------------------------------------------------------------------------------------ admin

NOT_ADMIN = "That command is for admins."


def stats(figures: people.Stats, job_figures: jobs.JobStats) -> str:
    """The admins' /stats: people and money from the store, jobs from the pipeline."""

    def pairs(values: Mapping[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(values.items())) or "none"

    wait = job_figures.mean_preview_latency_s
    lines = [
        f"Users: {figures.users_total} ({figures.users_paid} paid, "
        f"{figures.users_banned} banned)",
        f"Previews today: {figures.previews_today}",
        f"Jobs today: done {pairs(job_figures.done)} · failed {pairs(job_figures.failed)} · "
        f"cancelled {sum(job_figures.cancelled.values())} · from cache {job_figures.cached}",
        f"Jobs now: waiting {pairs(job_figures.waiting)} · running {job_figures.running}",
        "Preview wait today: " + (f"{wait:.1f} s on average" if wait is not None else "none yet"),
        f"Orders: {pairs(figures.orders_by_state)}",
        f"Revenue: {pairs({k.upper(): v for k, v in figures.revenue.items()})}",
        f"Refunds: {figures.refunds}",
        f"Payments for no order: {figures.unmatched_refunded} refunded"
        + (f", {figures.unmatched_open} NOT YET REFUNDED" if figures.unmatched_open else ""),
        "Feedback by model version:",
    ]
    rows = [
        f"  {a.model_version}: 👍 {a.up} / 👎 {a.down}"
        + (f" ({a.approval_rate:.0%} approval)" if a.approval_rate is not None else "")
        for a in figures.approval
    ]
    lines += rows or ["  none yet"]
    return "\n".join(lines)


def granted(user_id: str, level: str) -> str:
    return f"User {user_id} is now {level}."


UNKNOWN_USER = "I don't know that user id (they have to message the bot first)."


def unknown_order(order_id: str) -> str:
    return f"There is no order {order_id!r} — check the id and try again."


EXPORT_CAPTION = "All ratings so far (users as internal ids)."


def banned(user_id: int) -> str:
    return f"User {user_id} is banned."


def unbanned(user_id: int) -> str:
    return f"User {user_id} is no longer banned."


def admin_refund(order_id: str, outcome: str) -> str:
    return {
        "refunded": f"Order {order_id} refunded.",
        "pending": f"Refund of order {order_id} started but not confirmed; it will be retried.",
        "skipped": f"Order {order_id} has nothing to refund (unknown, unpaid or refunded).",
    }.get(outcome, f"Order {order_id}: {outcome}")


# ================================================================ key and tempo (issue 23)
# New texts of issue 23, kept together for the catalogue move: ``_()``-style, named placeholders.


def _(text: str) -> str:
    """Marks a text for the catalogue (gettext's ``_``); the identity until it lands."""
    return text


def key_name(key: Key) -> str:
    """"A minor", "E♭ major"."""
    if key.mode == "major":
        return _("{tonic} major").format(tonic=key.spelled_tonic)
    return _("{tonic} minor").format(tonic=key.spelled_tonic)


def key_and_tempo(result: Analysis | None) -> str | None:
    """"124 BPM · A minor · 8A"; an unsure key is said to be unclear and an unsure tempo left
    out (never a guess); None when neither is sure (say nothing)."""
    if result is None or not (result.key_is_sure or result.tempo_is_sure):
        return None
    parts = []
    if result.tempo_is_sure:
        parts.append(_("{bpm} BPM").format(bpm=round(result.bpm)))
    if result.key_is_sure:
        parts.append(
            _("{key} · {camelot}").format(key=key_name(result.key), camelot=result.camelot)
        )
    else:
        parts.append(_("key unclear"))
    return " · ".join(parts)


def preview_ready(result: Analysis | None) -> str:
    """The preview's status once it is out, with its key and tempo when known."""
    line = key_and_tempo(result)
    if line is None:
        return PREVIEW_READY
    return _("{ready}\n🎵 {key_and_tempo}").format(ready=PREVIEW_READY, key_and_tempo=line)


def full_ready(result: Analysis | None, preview: Analysis | None = None) -> str:
    """The paid stems' status, with the whole song's key and tempo, and a word when they differ
    from what the preview said (the preview heard less of the song)."""
    line = key_and_tempo(result)
    if line is None:
        return FULL_READY
    text = _("{ready}\n🎵 {key_and_tempo} (whole song)").format(
        ready=FULL_READY, key_and_tempo=line
    )
    earlier = key_and_tempo(preview)
    if earlier is not None and earlier != line:
        text += _("\nThe preview said {earlier}: the whole song decides.").format(earlier=earlier)
    return text


def key_shift_lands(key: Key, semitones: int) -> str:
    """Where a karaoke key step lands: "A minor → B minor, +2"."""
    return _("{original} → {shifted}, {step}").format(
        original=key_name(key),
        shifted=key_name(key.transposed(semitones)),
        step=f"{semitones:+d}".replace("-", "−"),
    )
