"""Every text the bots say to a person in a chat.

Kept free of platform markup (plain text only). Functions take the few values that vary; fixed
texts are module attributes (``chat.CHECKING``) translated each time they are read (the
:data:`_FIXED` table and :func:`__getattr__`), so the active language of the moment is the one
spoken. Texts whose words differ by platform — how a command with arguments is typed, what a
person may send ("voice note" only on Telegram), how the stems are sold (Stars only where there
are Stars), how long songs are kept (the deployment's ``RETENTION_HOURS``) — are methods of a
:class:`Catalogue`, one per platform (:func:`catalogue`); the core reaches them as ``ctx.text``.
The figures of /stats and the karaoke settings come in as the small shapes below (protocols),
so this module imports nothing above :mod:`service`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from service.errors import ErrorCode
from texts import music, numbers
from texts.errors import error_text
from texts.languages import LANGUAGES, Language, current_language, speak
from texts.translation import N_, _, ngettext, pgettext
from texts.units import megabytes, wait_duration


class KaraokeShape(Protocol):
    """The karaoke settings as the texts read them (``engine.karaoke.KaraokeSettings``)."""

    @property
    def guide_db(self) -> float | None: ...
    @property
    def semitones(self) -> int: ...
    @property
    def tempo_percent(self) -> int: ...


class ApprovalShape(Protocol):
    @property
    def model_version(self) -> str: ...

    @property
    def up(self) -> int: ...

    @property
    def down(self) -> int: ...

    @property
    def approval_rate(self) -> float | None: ...


class StoreFigures(Protocol):
    """People and money for /stats (``people.Stats``); read-only, as the frozen records are."""

    @property
    def users_total(self) -> int: ...

    @property
    def users_paid(self) -> int: ...

    @property
    def users_banned(self) -> int: ...

    @property
    def previews_today(self) -> int: ...

    @property
    def orders_by_state(self) -> Mapping[str, int]: ...

    @property
    def revenue(self) -> Mapping[str, int]: ...

    @property
    def refunds(self) -> int: ...

    @property
    def unmatched_refunded(self) -> int: ...

    @property
    def unmatched_open(self) -> int: ...

    @property
    def approval(self) -> Sequence[ApprovalShape]: ...


class JobFigures(Protocol):
    """The pipeline's figures for /stats (``jobs.JobStats``); read-only, as the frozen record is."""

    @property
    def done(self) -> Mapping[str, int]: ...

    @property
    def failed(self) -> Mapping[str, int]: ...

    @property
    def cancelled(self) -> Mapping[str, int]: ...

    @property
    def cached(self) -> int: ...

    @property
    def waiting(self) -> Mapping[str, int]: ...

    @property
    def running(self) -> int: ...

    @property
    def mean_preview_latency_s(self) -> float | None: ...


# Fixed texts, read as module attributes (``chat.CHECKING``) and translated at each read.
_FIXED: dict[str, str] = {
    # karaoke
    "KARAOKE_ORIGINAL": N_("That's the original: the instrumental preview above."),
    "KARAOKE_SLOW_DOWN": N_("You're tapping very fast — please wait a minute and try again."),
    "KARAOKE_ALREADY_MAKING": N_("Already on it — the preview comes in a moment."),
    "KARAOKE_PREVIEW_GONE": N_("I can't find that preview any more. Please send the song again."),
    "KARAOKE_ONE_AT_A_TIME": N_(
        "Your last karaoke preview is still being made — it comes in a moment. Tap again once it's here."
    ),
    "KARAOKE_BUSY": N_("I'm very busy right now. Please try that key again in a few minutes."),
    "KARAOKE_FAILED": N_("Sorry — I couldn't make that karaoke preview. Please try again in a few minutes."),
    "KARAOKE_PART": N_("karaoke"),  # the paid karaoke file: "<title> (karaoke).<fmt>"
    "KARAOKE_KEY_DOWN_BUTTON": N_("🎤 Key −1"),
    "KARAOKE_KEY_UP_BUTTON": N_("Key +1"),
    "KARAOKE_TEMPO_DOWN_BUTTON": N_("Tempo −5 %"),
    "KARAOKE_TEMPO_UP_BUTTON": N_("Tempo +5 %"),
    "KARAOKE_GUIDE_NEXT_BUTTON": N_("Guide vocal"),
    "KARAOKE_RESET_BUTTON": N_("Original"),
    # upload
    "CHECKING": N_("Got it — checking your song…"),
    "SLOW_DOWN": N_("You're sending songs very fast — please wait a minute and try again."),
    "DOWNLOAD_FAILED": N_("I couldn't download that file. Please send it again."),
    "BANNED": N_("Sorry, this account can't use the bot."),
    # /upload, or a file too big for the chat, where the deployment has no upload page.
    "UPLOAD_UNAVAILABLE": N_(
        "Sending by link isn't available here. Please send the song in the chat as a smaller "
        "file — an mp3 or m4a of it is usually small enough."
    ),
    "UPLOAD_LINKS_SLOW_DOWN": N_(
        "You've asked for several upload links just now — please use the last one, or wait a "
        "minute for a new one."
    ),
    "INTERNAL_ERROR": N_("Sorry, something went wrong on my side. Please try again in a minute."),
    "CACHED": N_("I've separated this song before — here it is right away."),
    "PREVIEW_READY": N_("Your preview is ready ↓"),
    "JOB_FAILED": N_("Sorry, I couldn't separate that song. Please try again."),
    # paying
    "PAY_BY_CARD_BUTTON": N_("Pay by card"),
    "ORDER_UNKNOWN": N_("I can't find that order any more. Please send the song again."),
    "ORDER_ALREADY_PAID": N_("You've already paid for this song — the stems are on their way."),
    "CHECKOUT_REFUSED": N_("This payment can't go ahead. Please send the song again."),
    "FULL_READY": N_("Your stems are ready ↓"),
    # The payment arrived but could not be recorded yet (the store is down): recovery records it
    # from Telegram's own list of payments, then the stems (or the refund) follow.
    "PAYMENT_NOT_RECORDED": N_(
        "Payment received — thank you! I couldn't note it down just now; I'll do so in a few "
        "minutes, and then your stems (or your refund) will arrive here."
    ),
    "PAYMENT_DELAYED": N_(
        "Payment received — thank you! The separation will start in a moment; your stems will arrive here."
    ),
    "UNDELIVERABLE": N_("Sorry — I couldn't send you the stems."),
    "REFUND_FAILED": N_(
        "Sorry — I couldn't separate your song, and the automatic refund didn't go through. "
        "An admin has been told and will refund you by hand."
    ),
    "RETRYING": N_("That took longer than it should — I'm trying again."),
    # private delivery: said in a server channel, for everyone, when a person's own message
    # (stems, a clip, a refund notice) can't reach their DMs: it names no song, carries no link.
    "DMS_CLOSED": N_(
        "I have something for you that only you should see, but your direct messages are closed. "
        "Allow direct messages from this server (its Privacy Settings) and I'll try again in a "
        "few minutes — or tap the button below, and what I answer there only you will see. Next "
        "time you can send me your songs in a direct message."
    ),
    # Under DMS_CLOSED: shows the job's results page to its owner alone (an ephemeral answer).
    "SHOW_PAGE_BUTTON": N_("Show it here only to me"),
    # Someone else tapped a button that belongs to another person's song.
    "NOT_YOUR_BUTTON": N_("That button is for someone else's song — it does nothing for you."),
    # The owner's answer (only they see it), above the results page's link button.
    "PAGE_HERE": N_("Here it is — only you can see this. Your results page:"),
    # The owner's answer where there's no results page (no DOWNLOAD_SECRET).
    "NO_PAGE_OPEN_DMS": N_(
        "I can only send this to your direct messages: allow direct messages from this server "
        "(its Privacy Settings) and I'll try again in a few minutes."
    ),
    # feedback
    "OPEN_IN_BROWSER_BUTTON": N_("🌐 Open in browser"),
    "THUMBS_UP": N_("👍"),
    "THUMBS_DOWN": N_("👎"),
    "FEEDBACK_THANKS": N_("Thanks for the feedback!"),
    "FEEDBACK_UNKNOWN": N_("I couldn't match that to a song — thanks anyway!"),
    # history, status, cancel
    "NO_ORDERS": N_("You have no orders yet. Send me a song to start."),
    "NOTHING_IN_FLIGHT": N_("You have no songs in progress. Send me a song to start."),
    "NOTHING_TO_CANCEL": N_("You have nothing in line to cancel."),
    "FORGOTTEN": N_("Done — I've deleted your data and your songs."),
    # admin
    "NOT_ADMIN": N_("That command is for admins."),
    "UNKNOWN_USER": N_("I don't know that user id (they have to message the bot first)."),
    "EXPORT_CAPTION": N_("All ratings so far (users as internal ids)."),
    # The slash-command option of Discord's /separate and /forget.
    "SEPARATE_FILE_OPTION": N_("The song: an audio or video file"),
    "FORGET_CONFIRM_OPTION": N_("Type yes to delete your data"),
    "LANGUAGE_OPTION": N_("The language I answer you in"),
    # /language without a choice: a button per language (each in its own name) below this.
    "LANGUAGE_CHOOSE": N_("Which language shall I speak with you? Tap one:"),
    "LANGUAGE_UNKNOWN": N_("I don't speak that one yet. Tap one of these:"),
    # A delivered file's title when the person's file name gave none: "song (vocals).mp3".
    "SONG": N_("song"),
}


def __getattr__(name: str) -> str:
    """A fixed text (:data:`_FIXED`) in the active language."""
    if name == "CANCELLED":  # the pipeline's own code for it has the words
        return error_text(ErrorCode.CANCELLED) or ""
    try:
        return _(_FIXED[name])
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


# ------------------------------------------------------------------------------------ commands

_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("What this bot does, price and privacy")),
    ("help", N_("How to use the bot")),
    ("settings", N_("Choose the output format")),
    ("history", N_("Your orders")),
    ("status", N_("Where your songs are: place in line, progress")),
    ("cancel", N_("Cancel your song in line")),
    ("upload", N_("Send a big file through a link, in your browser")),
    ("language", N_("Choose the language I speak")),
    ("forget", N_("Delete everything we store about you")),
)
_SEPARATE = ("separate", N_("Separate a song: attach it as the file option"))
_ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", N_("Users, jobs, revenue, feedback by model version")),
    ("grant", N_("<user id> paid|free — set a user's level (paid: more previews a day)")),
    ("refund", N_("<order id> — refund an order, even a delivered one")),
    ("export", N_("— all ratings as a CSV file")),
    ("ban", N_("<user id> [reason] — block a user")),
    ("unban", N_("<user id> — lift a ban")),
)
# What each admin command takes — Discord shows them as options.
_ADMIN_ARGS: Mapping[str, str] = {
    "grant": N_("<user id> paid|free"),
    "refund": N_("<order id>"),
    "ban": N_("<user id> [reason]"),
    "unban": N_("<user id>"),
}


def command_names() -> dict[str, str]:
    """The person's slash commands by their name in the language in effect (Discord shows a
    command's localised name: 1–32 lowercase letters, digits, ``-`` or ``_``, no spaces)."""
    return {
        "separate": pgettext("command", "separate"),
        "start": pgettext("command", "start"),
        "help": pgettext("command", "help"),
        "settings": pgettext("command", "settings"),
        "history": pgettext("command", "history"),
        "status": pgettext("command", "status"),
        "cancel": pgettext("command", "cancel"),
        "upload": pgettext("command", "upload"),
        "language": pgettext("command", "language"),
        "forget": pgettext("command", "forget"),
    }


def forget_yes() -> str:
    """The word that confirms /forget, in the language in effect ("/forget yes")."""
    return pgettext("confirms /forget", "yes")


@functools.cache
def _forget_yes_words() -> frozenset[str]:
    words = {"yes"}
    for language in LANGUAGES:
        with speak(language.code):
            words.add(forget_yes().casefold())
    return frozenset(words)


def confirms_forget(answer: str) -> bool:
    """Whether ``answer`` (what follows /forget) confirms it: "yes" in English or in any of our
    languages — a person may type it in the language they think in, whatever the bot speaks."""
    return answer.strip().casefold() in _forget_yes_words()


def language_saved(language: Language) -> str:
    """Said in the language just chosen (``language.native``: its own name for itself)."""
    return _("Done — I'll speak {language} with you from now on.").format(language=language.native)


def languages() -> tuple[Language, ...]:
    """The languages /language offers, each named in itself."""
    return LANGUAGES


def admin_commands() -> tuple[tuple[str, str], ...]:
    """The admins' commands as (name, what it takes and does)."""
    return tuple((name, _(what)) for name, what in _ADMIN_COMMANDS)


def admin_args(command: str) -> str:
    """What an admin command takes ("" for none)."""
    return _(_ADMIN_ARGS[command]) if command in _ADMIN_ARGS else ""


@dataclass(frozen=True)
class Catalogue:
    """The texts that speak one platform's words (see the module doc)."""

    platform: str
    # What a person may send us, as a list in a sentence (a source text, translated at use).
    media: str
    # How a command's arguments are typed: "/forget yes" (Telegram) or "/forget confirm: yes".
    option_style: bool
    # Whether the platform's own in-chat payment (Stars) exists: wording of the card fallback.
    in_chat_payment: str | None
    retention_hours: int
    # How long bought stems stay downloadable after delivery (their links' lifetime; 0: no links).
    paid_kept_days: int = 0

    def command(self, name: str, option: str = "", value: str = "") -> str:
        """How a person types a command here. Discord shows slash commands by their localised
        name where it has the language (:attr:`texts.languages.Language.discord`)."""
        if self.option_style and current_language().discord:
            name = command_names().get(name, name)
        if not value:
            return f"/{name}"
        return f"/{name} {option}: {value}" if self.option_style else f"/{name} {value}"

    def start(self, price: str, card: bool, preview_s: float, max_minutes: int) -> str:
        return _(
            "Hi! I split a song into vocals and instrumental.\n\n"
            "Send me a song ({media}). In a few seconds you get a "
            "free {seconds}-second preview of both parts and a waveform picture.\n"
            "The full stems cost {price}{or_card}. "
            "Songs up to {max_minutes} minutes.\n\n"
            "Privacy: your audio is deleted after {hours} hours; we keep only your "
            "user id and your orders. {forget} deletes that too.\n\n"
            "{paid_kept}"
            "{help} shows all commands."
        ).format(
            media=_(self.media),
            seconds=numbers.integer(round(preview_s)),
            price=price,
            or_card=_(" (or pay by card)") if card else "",
            max_minutes=max_minutes,
            hours=self.retention_hours,
            forget=self.command("forget"),
            paid_kept=self.paid_kept,
            help=self.command("help"),
        )

    @property
    def paid_kept(self) -> str:
        """Bought stems outlive the uploads: their download links must keep working."""
        if not self.paid_kept_days:
            return ""
        days = self.paid_kept_days
        return ngettext(
            "Stems you bought stay downloadable for {days} day after they arrive, as long as "
            "their links and page; then they are deleted too.\n\n",
            "Stems you bought stay downloadable for {days} days after they arrive, as long as "
            "their links and page; then they are deleted too.\n\n",
            days,
        ).format(days=days)

    def help_text(self, is_admin: bool = False) -> str:
        lines = [_("Send me a song and I will separate it. Commands:")]
        lines += [f"{self.command(name)} — {what}" for name, what in self.commands()]
        if is_admin:
            lines.append("\n" + _("Admin:"))
            lines += [f"/{name} {what}" for name, what in admin_commands()]
        return "\n".join(lines)

    def commands(self) -> tuple[tuple[str, str], ...]:
        """The commands a person sees in the platform's menu (name, description)."""
        shown = (_SEPARATE, *_COMMANDS[1:]) if self.platform == DISCORD else _COMMANDS
        return tuple((name, _(what)) for name, what in shown)

    @property
    def send_a_song(self) -> str:
        return _("Send me a song as {media}, and I'll separate the vocals from the music.").format(
            media=_(self.media)
        )

    @property
    def card_unavailable(self) -> str:
        if self.in_chat_payment:
            return _("Card payments aren't available right now — please pay with {in_chat}.").format(
                in_chat=_(self.in_chat_payment)
            )
        return _("Card payments aren't available right now — please try again later.")

    @property
    def song_expired(self) -> str:
        return _("That song was deleted from our storage after {hours} hours. Please send it again.").format(
            hours=self.retention_hours
        )

    @property
    def forget_confirm(self) -> str:
        return _(
            "This deletes your orders history, settings and any stored songs. Paid stems that "
            "weren't delivered yet are delivered first. Kept: payment records (the law requires "
            "them) and, under a code that doesn't name you, a ban or today's free and karaoke "
            "previews. Send {confirm} to confirm."
        ).format(confirm=self.command("forget", "confirm", forget_yes()))

    def usage(self, command: str) -> str:
        return _("Usage: {command}").format(command=self.command(command, "args", admin_args(command)))

    def error(
        self, code: str | None, params: Mapping[str, Any] | None = None, said: str | None = None
    ) -> str | None:
        """What to tell a person about a refusal or failure from another package — the engine's
        bad audio, the pipeline's errors, the payments' refusals — by its stable ``code`` and
        ``params``: this catalogue's own words where they depend on the platform or the
        deployment, else the code's words (:func:`texts.error_text`); ``said`` is what a record
        written by an older release said instead (its ``error_message``), used when the code's
        words can't be made; None when there is nothing to say."""
        if code in (ErrorCode.INPUT_EXPIRED, ErrorCode.SONG_GONE):
            return _(
                "That song is no longer stored (uploads are kept for {hours} hours). "
                "Please send it again to get the full version."
            ).format(hours=self.retention_hours)
        if code == ErrorCode.ORDER_IN_FLIGHT:
            return _(
                "You have a paid order that is still being processed. Please try {forget} again "
                "once your stems have arrived (or the payment was refunded)."
            ).format(forget=self.command("forget"))
        words = error_text(code, **(params or {})) if code else None
        return words or said or None

    @property
    def NO_IN_CHAT_PAYMENTS(self) -> str:
        """A buy button whose in-chat invoice this platform doesn't have (a forged button)."""
        return _("Paying in the chat isn't available here — use the Buy full stems button.")


TELEGRAM = "telegram"
DISCORD = "discord"
_WORDS: Mapping[str, tuple[str, bool, str | None]] = {
    TELEGRAM: (N_("an audio file, voice note, document or video"), False, N_("Stars")),
    DISCORD: (N_("an audio or video attachment (or with /separate)"), True, None),
}


def catalogue(platform: str, retention_hours: int, paid_kept_days: int = 0) -> Catalogue:
    """The texts for ``platform``, telling the deployment's real retention time (and how long
    bought stems are kept, ``paid_kept_days``; 0 where there are no download links)."""
    media, option_style, in_chat = _WORDS.get(platform, _WORDS[DISCORD])
    return Catalogue(platform, media, option_style, in_chat, retention_hours, paid_kept_days)


# ------------------------------------------------------------------------------------ settings


def settings(current_format: str) -> str:
    return _(
        "Your stems are sent as {format}.\n"
        "WAV is lossless and large, FLAC is lossless and smaller, MP3 (320k) is smallest."
    ).format(format=current_format.upper())


def format_saved(fmt: str) -> str:
    return _("Done — your stems will be sent as {format}.").format(format=fmt.upper())


# ------------------------------------------------------------------------------------ karaoke


def karaoke_summary(settings: KaraokeShape) -> str:
    """The settings in words: "guide vocal −12 dB, key +2, tempo 90 %"."""
    guide = (
        _("guide vocal off")
        if settings.guide_db is None
        else _("guide vocal −{db} dB").format(db=f"{abs(settings.guide_db):g}")
    )
    key = (
        _("original key")
        if settings.semitones == 0
        else _("key {shift}").format(shift=f"{settings.semitones:+d}".replace("-", "−"))
    )
    return _("{guide}, {key}, tempo {tempo} %").format(guide=guide, key=key, tempo=settings.tempo_percent)


def karaoke_settings(settings: KaraokeShape) -> str:
    """The karaoke part of /settings."""
    return _(
        "🎤 Karaoke version: {summary}.\n"
        "Guide vocal mixes the singer back in quietly so you can follow the melody; key and "
        "tempo change the instrumental (and the guide). When anything differs from the "
        "original, the preview buttons play your song that way and the full stems come with "
        "a karaoke file too, at no extra charge."
    ).format(summary=karaoke_summary(settings))


def karaoke_saved(settings: KaraokeShape) -> str:
    return _("Karaoke: {summary}.").format(summary=karaoke_summary(settings))


def karaoke_rendering(settings: KaraokeShape) -> str:
    return _("🎤 Making the preview with {summary}…").format(summary=karaoke_summary(settings))


def karaoke_title(title: str) -> str:
    return _("{title} (karaoke preview)").format(title=title)


def karaoke_caption(settings: KaraokeShape) -> str:
    return _("🎤 Karaoke preview: {summary}.").format(summary=karaoke_summary(settings))


def karaoke_quota(per_day: int) -> str:
    """The person asked for today's last karaoke preview already (``KARAOKE_RENDERS_PER_DAY``)."""
    return ngettext(
        "That's {per_day} karaoke preview today, the most for one day. You can still buy the "
        "song in the key you chose, or try more keys tomorrow.",
        "That's {per_day} karaoke previews today, the most for one day. You can still buy the "
        "song in the key you chose, or try more keys tomorrow.",
        per_day,
    ).format(per_day=per_day)


def karaoke_guide_button(guide_db: float | None, current: float | None) -> str:
    label = _("Guide off") if guide_db is None else _("Guide −{db} dB").format(db=f"{abs(guide_db):g}")
    return f"✓ {label}" if guide_db == current else label


def karaoke_delivered(settings: KaraokeShape) -> str:
    return _("🎤 Your karaoke version: {summary}.").format(summary=karaoke_summary(settings))


# ------------------------------------------------------------------------------------ upload


def too_big_to_download(size_bytes: int | None, limit_bytes: int | None) -> str:
    size = (
        _("That file is {size}, but").format(size=megabytes(size_bytes))
        if size_bytes
        else _("That file is too big:")
    )
    limit = megabytes(limit_bytes) if limit_bytes else _("a limited size")
    return _(
        "{size} bots can only download files up to {limit} here. Please send a smaller "
        "version — an mp3 or m4a of the same song is usually well under that."
    ).format(size=size, limit=limit)


def _place(position: int | None) -> str:
    """Where a song is in line, as the end of a sentence (1st in line: it starts now)."""
    if position is None or position <= 1:
        return _(" now.")
    return _(", you are #{position} in line.").format(position=position)


def upload_link(url: str, max_size_bytes: int, valid_minutes: int) -> str:
    """/upload's answer: the one-time link (the person's own: the chat shows it to them alone)."""
    return _(
        "Open this link in your browser and choose the song's file (up to {size}):\n{url}\n\n"
        "It takes one song and works for {minutes} minutes. Once the file is in, I carry on in "
        "our private chat, as if you had sent it there."
    ).format(url=url, size=megabytes(max_size_bytes), minutes=valid_minutes)


def too_big_with_link(size_bytes: int, limit_bytes: int, url: str, valid_minutes: int) -> str:
    """A file over the chat's download limit (within ours): send it through a link instead."""
    return _(
        "That file is {size}, but bots can only download files up to {limit} here. Send it "
        "through this link instead — open it in your browser and choose the file:\n{url}\n\n"
        "It takes one song and works for {minutes} minutes. Once the file is in, I carry on in "
        "our private chat, as if you had sent it there."
    ).format(size=megabytes(size_bytes), limit=megabytes(limit_bytes), url=url, minutes=valid_minutes)


def received(position: int | None, wait_s: float | None = None) -> str:
    """The status message of a queued preview: its place in line and, where known, when it
    should be ready (kept current while it waits: ``jobs.wait_updates``)."""
    if wait_s is None:
        return _("Got it — separating the preview{place}").format(place=_place(position))
    wait = wait_duration(wait_s)
    if position is None or position <= 1:
        return _("Got it — separating the preview now; it should be ready in about {wait}.").format(wait=wait)
    return _(
        "Got it — separating the preview soon: you are #{position} in line, and it should be ready "
        "in about {wait}."
    ).format(position=position, wait=wait)


def progress(percent: int, full: bool = False) -> str:
    if full:
        return _("Separating the full song… {percent}%").format(percent=percent)
    return _("Separating the preview… {percent}%").format(percent=percent)


def quota_exhausted(per_day: int) -> str:
    return ngettext(
        "You've used your {per_day} free preview for today. Buy the full stems of a song you've "
        "previewed, or come back tomorrow.",
        "You've used your {per_day} free previews for today. Buy the full stems of a song you've "
        "previewed, or come back tomorrow.",
        per_day,
    ).format(per_day=per_day)


# ------------------------------------------------------------------------------------ preview


def preview_caption(start_s: float, length_s: float, price: str, card: bool) -> str:
    """The waveform picture's caption: it names the picture's rows (the picture has no words)."""
    start = f"{int(start_s) // 60}:{int(start_s) % 60:02d}"
    return _(
        "Preview: {length} s from {start}, where the vocals come in.\n"
        "Top: the original, middle: vocals, bottom: instrumental; time runs left to right.\n"
        "Full stems: {price}{or_card}. Pick the format for them below."
    ).format(
        length=numbers.integer(round(length_s)),
        start=start,
        price=price,
        or_card=_(" or by card") if card else "",
    )


def instrumental_title(title: str) -> str:
    return _("{title} (instrumental preview)").format(title=title)


def vocals_title(title: str) -> str:
    return _("{title} (vocals preview)").format(title=title)


def stem_title(title: str, stem: str) -> str:
    """A delivered file's title: "<song> (vocals)"; ``stem`` is a stem's name or a text."""
    return _("{title} ({stem})").format(title=title, stem=stem_name(stem))


_STEM_NAMES: Mapping[str, str] = {
    "vocals": N_("vocals"),
    "instrumental": N_("instrumental"),
    "karaoke": N_("karaoke"),
}


def stem_name(stem: str) -> str:
    """A stem's name as people read it ("vocals"); another word is returned as it is."""
    return _(_STEM_NAMES[stem]) if stem in _STEM_NAMES else stem


def buy_button(price: str) -> str:
    return _("Full stems — {price}").format(price=price)


def buy_by_card_button(price: str) -> str:
    """The buy button where a card link is the only way to pay (no in-chat invoices)."""
    return _("Buy full stems — {price}").format(price=price)


def format_button(fmt: str, current: str) -> str:
    return f"✓ {fmt.upper()}" if fmt == current else fmt.upper()


# ------------------------------------------------------------------------------------ paying


def invoice_title(song_title: str) -> str:
    return _("Stems: {title}").format(title=song_title)[:32]


def invoice_description(minutes: float, fmt: str) -> str:
    return _("Vocals and instrumental of the whole song ({minutes} min) as {format} files.").format(
        minutes=numbers.decimal(minutes, 1), format=fmt.upper()
    )[:255]


def card_link(url: str) -> str:
    return _("Pay by card here: {url}\nThe stems arrive in this chat as soon as the payment clears.").format(
        url=url
    )


def payment_received(position: int | None) -> str:
    return _("Payment received — thank you! Separating the full song{place}").format(place=_place(position))


def delivered(fmt: str, page_days: int | None = None) -> str:
    """The paid stems are here; ``page_days``: how long their results page (and files) last."""
    kept = (
        " "
        + ngettext(
            "Open in browser to play or download them again: the page keeps them for {days} day.",
            "Open in browser to play or download them again: the page keeps them for {days} days.",
            page_days,
        ).format(days=page_days)
        if page_days
        else ""
    )
    return _(
        "Here are your stems ({format}). React to this message or tap a button to tell me "
        "how it sounds — it helps improve the model.{kept}"
    ).format(format=fmt.upper(), kept=kept)


def fell_back(wanted: str, sent: str, limit_bytes: int) -> str:
    return _(
        "The {wanted} files would be over the {limit} upload limit, so I'm sending {sent} instead."
    ).format(wanted=wanted.upper(), limit=megabytes(limit_bytes), sent=sent.upper())


def still_too_big(limit_bytes: int | None) -> str:
    """No way to hand the stems over (None: the platform refused them as too big)."""
    why = (
        _("Even as MP3 the stems are over the {limit} upload limit.").format(limit=megabytes(limit_bytes))
        if limit_bytes
        else _("The stems are too big to send here.")
    )
    return _("{why} Your payment has been refunded.").format(why=why)


def sent_as_links(limit_bytes: int | None, valid_days: int, urls: Mapping[str, str]) -> str:
    """Stems over the chat's upload limit even as MP3 (None: the platform refused them as too
    big): links instead of files."""
    lines = "\n".join(f"{stem_name(name).capitalize()}: {url}" for name, url in urls.items())
    why = (
        _("bigger than the {limit} files I can send here, even as MP3,").format(limit=megabytes(limit_bytes))
        if limit_bytes
        else _("too big to send here,")
    )
    return ngettext(
        "Your stems are {why} so here are download links (valid for {days} day):\n{lines}",
        "Your stems are {why} so here are download links (valid for {days} days):\n{lines}",
        valid_days,
    ).format(why=why, days=valid_days, lines=lines)


def download_button(stem: str) -> str:
    return _("Download {stem}").format(stem=stem_name(stem))


def money(amount: int, currency: str) -> str:
    """A price as the language in effect writes it: Stars are whole, card currencies are
    stored in cents ("$1.99", "1,99 $", "50 ⭐")."""
    return numbers.money(amount, currency)


def refunded(amount: int, currency: str, reason: str | None = None) -> str:
    """The refund notice; ``reason`` (the words of why the job failed, :meth:`Catalogue.error`)
    replaces the generic apology when we know what went wrong."""
    why = reason.strip() if reason and reason.strip() else _("Sorry — I couldn't separate your song.")
    return _("{why}\nYour payment ({amount}) has been refunded.").format(
        why=why, amount=money(amount, currency)
    )


# ------------------------------------------------------------------------------------ history/cancel


def order_line(created: datetime, price: str, state: str) -> str:
    return f"{created:%Y-%m-%d} · {price} · {state}"


def history(lines: Iterable[str]) -> str:
    body = "\n".join(lines)
    return _("Your orders:\n{lines}").format(lines=body) if body else _(_FIXED["NO_ORDERS"])


def job_line(
    title: str, full: bool, place: int | None, progress: int, retrying: bool, wait_s: float | None = None
) -> str:
    """One song in /status: what it is and where it is (for a preview in line, when it should be
    ready: ``wait_s``, the expected wait it was told and is kept told)."""
    what = (_("{title} — full stems") if full else _("{title} — preview")).format(title=title)
    if place is not None:
        where = _("next in line") if place <= 1 else _("#{place} in line").format(place=place)
        if wait_s is not None:
            where = _("{where}, ready in about {wait}").format(where=where, wait=wait_duration(wait_s))
    elif retrying:
        where = _("trying again")
    else:
        where = _("separating, {percent}%").format(percent=progress)
    return f"• {what}: {where}"


def in_flight(lines: Iterable[str]) -> str:
    body = "\n".join(lines)
    if not body:
        return _(_FIXED["NOTHING_IN_FLIGHT"])
    return _("Your songs in progress:\n{lines}").format(lines=body)


# ------------------------------------------------------------------------------------ admin


def stats(figures: StoreFigures, job_figures: JobFigures) -> str:
    """The admins' /stats: people and money from the store, jobs from the pipeline."""

    def pairs(values: Mapping[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(values.items())) or _("none")

    wait = job_figures.mean_preview_latency_s
    unmatched = _("Payments for no order: {refunded} refunded").format(refunded=figures.unmatched_refunded)
    if figures.unmatched_open:
        unmatched += _(", {open} NOT YET REFUNDED").format(open=figures.unmatched_open)
    lines = [
        _("Users: {total} ({paid} paid, {banned} banned)").format(
            total=figures.users_total, paid=figures.users_paid, banned=figures.users_banned
        ),
        _("Previews today: {count}").format(count=figures.previews_today),
        _("Jobs today: done {done} · failed {failed} · cancelled {cancelled} · from cache {cached}").format(
            done=pairs(job_figures.done),
            failed=pairs(job_figures.failed),
            cancelled=sum(job_figures.cancelled.values()),
            cached=job_figures.cached,
        ),
        _("Jobs now: waiting {waiting} · running {running}").format(
            waiting=pairs(job_figures.waiting), running=job_figures.running
        ),
        _("Preview wait today: {wait}").format(
            wait=_("{seconds} s on average").format(seconds=numbers.decimal(wait, 1))
            if wait is not None
            else _("none yet")
        ),
        _("Orders: {orders}").format(orders=pairs(figures.orders_by_state)),
        _("Revenue: {revenue}").format(revenue=pairs({k.upper(): v for k, v in figures.revenue.items()})),
        _("Refunds: {count}").format(count=figures.refunds),
        unmatched,
        _("Feedback by model version:"),
    ]
    rows = [
        f"  {a.model_version}: 👍 {a.up} / 👎 {a.down}"
        + (
            " " + _("({rate} approval)").format(rate=f"{a.approval_rate:.0%}")
            if a.approval_rate is not None
            else ""
        )
        for a in figures.approval
    ]
    lines += rows or ["  " + _("none yet")]
    return "\n".join(lines)


def granted(user_id: str, level: str) -> str:
    return _("User {user_id} is now {level}.").format(user_id=user_id, level=level)


def unknown_order(order_id: str) -> str:
    return _("There is no order {order} — check the id and try again.").format(order=repr(order_id))


def banned(user_id: int | str) -> str:
    return _("User {user_id} is banned.").format(user_id=user_id)


def unbanned(user_id: int | str) -> str:
    return _("User {user_id} is no longer banned.").format(user_id=user_id)


def admin_refund(order_id: str, outcome: str) -> str:
    words = {
        "refunded": N_("Order {order_id} refunded."),
        "pending": N_("Refund of order {order_id} started but not confirmed; it will be retried."),
        "skipped": N_("Order {order_id} has nothing to refund (unknown, unpaid or refunded)."),
    }
    if outcome in words:
        return _(words[outcome]).format(order_id=order_id)
    return _("Order {order_id}: {outcome}").format(order_id=order_id, outcome=outcome)


# ------------------------------------------------------------------------------ key and tempo


def preview_ready(result: music.AnalysisShape | None) -> str:
    """The preview's status once it is out, with its key and tempo when known."""
    line = music.key_and_tempo(result)
    ready = _(_FIXED["PREVIEW_READY"])
    if line is None:
        return ready
    return _("{ready}\n🎵 {key_and_tempo}").format(ready=ready, key_and_tempo=line)


def full_ready(result: music.AnalysisShape | None, preview: music.AnalysisShape | None = None) -> str:
    """The paid stems' status, with the whole song's key and tempo, and a word when they differ
    from what the preview said (the preview heard less of the song)."""
    line = music.key_and_tempo(result)
    ready = _(_FIXED["FULL_READY"])
    if line is None:
        return ready
    text = _("{ready}\n🎵 {key_and_tempo}").format(ready=ready, key_and_tempo=music.whole_song(line))
    earlier = music.key_and_tempo(preview)
    if earlier is not None and earlier != line:
        text += "\n" + music.preview_differed(earlier)
    return text


key_shift_lands = music.key_shift_lands
