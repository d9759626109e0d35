"""The words of the web pages: the results page, its refusals, and the payment server's pages.

Plain text only: the pages escape every text (``html.escape``) before they put markup around
it, so a translation can never inject HTML; where a sentence holds markup (the expiry date's
``<time>``), its placeholder is filled after escaping.
"""

from __future__ import annotations

from collections.abc import Mapping

from texts.chat import stem_name
from texts.numbers import decimal, integer
from texts.translation import N_, _

# A page that refuses: (its title, what it says), by the refusal's name.
_NOTICES: Mapping[str, tuple[str, str]] = {
    # The results page (web.results_page).
    "results_expired": (
        N_("This link has expired"),
        N_(
            "Links to results last a limited time. Ask the bot in the chat for a new one, or "
            "send the song again."
        ),
    ),
    "results_invalid": (
        N_("This link is not valid"),
        N_("The address may be incomplete: open it again from the chat, where the bot sent it."),
    ),
    "results_gone": (
        N_("These results are gone"),
        N_("They are no longer stored. Send the song to the bot again."),
    ),
    "refunded": (
        N_("No longer available"),
        N_("This purchase was refunded, so its files are gone."),
    ),
    "form_too_large": (N_("Not understood"), N_("That request was too large.")),
    "form_unknown": (N_("Not understood"), N_("Press 👍 or 👎 on the page to rate the result.")),
    "karaoke_unknown": (
        N_("Not understood"),
        N_("Choose the guide vocal, key and tempo from the lists on the page."),
    ),
    "file_gone": (N_("File gone"), N_("This file is no longer stored. Send the song again.")),
    "not_found": (
        N_("Nothing here"),
        N_("This address does not lead to any results. Open the link from the chat."),
    ),
    # The upload page (web.uploads).
    "upload_invalid": (
        N_("This link is not valid"),
        N_("The address may be incomplete: open it again from the chat, where the bot sent it."),
    ),
    "upload_expired": (
        N_("This link has expired"),
        N_("Upload links last a limited time. Ask the bot in the chat for a new one."),
    ),
    "upload_used": (
        N_("This link was used"),
        N_(
            "A song came in through it already: the bot continues in the chat. For another "
            "song, ask the bot in the chat for a new link."
        ),
    ),
    "upload_busy": (
        N_("Upload in progress"),
        N_("A file is being uploaded through this link right now. Wait for it to finish."),
    ),
    "upload_no_file": (N_("No file"), N_("Choose the song's file, then press Upload.")),
    "upload_cut_off": (
        N_("The upload was interrupted"),
        N_("Nothing was kept. Please try again: the link still works."),
    ),
    "upload_done": (
        N_("Got it!"),
        N_("Your song is in. Go back to the chat: its preview arrives there in a moment."),
    ),
    # The payment server's own pages (web.server).
    "download_expired": (
        N_("Link expired"),
        N_("This download link is invalid or has expired."),
    ),
    "download_unavailable": (N_("Not available"), N_("This download is no longer available.")),
    "download_gone": (N_("Not found"), N_("This file is no longer stored.")),
    "buy_expired": (N_("Link expired"), N_("This link is invalid or has expired.")),
    "buy_song_gone": (
        N_("Song expired"),
        N_("This song is no longer stored. Send it to the bot again."),
    ),
    "buy_refused": (N_("Not available"), N_("This song can't be bought.")),
    "buy_paid": (N_("Already paid"), N_("This song is paid for: the stems come to the chat.")),
    "buy_not_payable": (N_("Not available"), N_("This song can't be bought right now.")),
    "checkout_done": (
        N_("Thank you!"),
        N_("Your payment is being confirmed. Go back to the chat: your stems will arrive there."),
    ),
    "checkout_cancelled": (
        N_("Payment cancelled"),
        N_("Nothing was charged. You can pay later from the chat."),
    ),
}


def notice(name: str) -> tuple[str, str]:
    """A refusal page's (title, text) in the active language."""
    title, text = _NOTICES[name]
    return _(title), _(text)


# ------------------------------------------------------------------------------------ results page

_STEM_LABELS: Mapping[str, str] = {
    "vocals": N_("Vocals"),
    "instrumental": N_("Instrumental"),
    "karaoke": N_("Karaoke version"),
}


def stem_label(stem: str) -> str:
    """A stem's heading on the page ("Vocals"); an unknown one by its name, capitalised."""
    return _(_STEM_LABELS[stem]) if stem in _STEM_LABELS else stem.title()


def page_title(song: str) -> str:
    return _("{song} — stems").format(song=song)


def preview_kind(clip: str, start: str | None) -> str:
    """What the page shows for a preview: its length and, when known, where it starts."""
    if start:
        return _(
            "Free preview: {clip} from {start}. The full-length stems can be bought in the chat."
        ).format(clip=clip, start=start)
    return _("Free preview: {clip}. The full-length stems can be bought in the chat.").format(clip=clip)


def full_kind(clip: str) -> str:
    return _("Full song, {clip}.").format(clip=clip)


def waveform_alt() -> str:
    return _("Waveform of the song, with the vocals and the instrumental below it")


def file_gone() -> str:
    return _("This file is no longer stored.")


def download(stem: str, file_format: str) -> str:
    """The download button: "Download vocals (MP3, 4.2 MB)" (``stem``: the stem's name, worded
    as the chat words it: lower case where the language writes it so)."""
    return _("Download {stem} ({format})").format(stem=stem_name(stem), format=file_format)


def size(size_bytes: int) -> str:
    """A file's size on the page: "4.2 MB", "12 KB"."""
    if size_bytes >= 1024 * 1024:
        return _("{size} MB").format(size=decimal(size_bytes / (1024 * 1024), 1))
    return _("{size} KB").format(size=integer(max(1, round(size_bytes / 1024))))


def rate_heading() -> str:
    return _("How did the separation sound?")


def rate_up() -> str:
    return _("Sounds good")


def rate_down() -> str:
    return _("Not good")


def thanks() -> str:
    return _("Thanks for the feedback!")


def expires() -> str:
    """The page's last line, unfilled: the page escapes it, then puts the ``<time>`` element
    in ``{date}``."""
    return _(
        "This link expires on {date}. Files are kept for a limited time; send the song again "
        "if they are gone."
    )


def download_part(stem: str, preview: bool) -> str:
    """The part of a downloaded file's name after the title: "vocals" or "vocals, preview"."""
    name = stem_name(stem)
    return _("{stem}, preview").format(stem=name) if preview else name


def song() -> str:
    """A downloaded file's title when the song's own file name gave none."""
    return _("song")


# ------------------------------------------------------------------------------------ the mixer

_LEVEL_LABELS: Mapping[str, str] = {"vocals": N_("Vocals level"), "instrumental": N_("Instrumental level")}
_MUTE_LABELS: Mapping[str, str] = {"vocals": N_("Mute vocals"), "instrumental": N_("Mute instrumental")}
_SOLO_LABELS: Mapping[str, str] = {"vocals": N_("Solo vocals"), "instrumental": N_("Solo instrumental")}


def mixer_heading() -> str:
    return _("Mixer")


def mixer_intro() -> str:
    return _("Play both stems together and set a level for each.")


def play() -> str:
    return _("Play")


def pause() -> str:
    return _("Pause")


def position() -> str:
    """The seek slider's label."""
    return _("Position")


def position_of() -> str:
    """The seek slider's spoken value, unfilled (the script fills it): "1:23 of 3:40"."""
    return _("{position} of {length}")


def level_label(stem: str) -> str:
    return _(_LEVEL_LABELS[stem])


def mute() -> str:
    return _("Mute")


def solo() -> str:
    return _("Solo")


def mute_label(stem: str) -> str:
    return _(_MUTE_LABELS[stem])


def solo_label(stem: str) -> str:
    return _(_SOLO_LABELS[stem])


def percent() -> str:
    """A level or a tempo, unfilled: "{percent} %" (the script fills the mixer's)."""
    return _("{percent} %")


def mixer_loading() -> str:
    return _("Loading the audio…")


def mixer_failed() -> str:
    return _("The mixer could not load the audio. The players below still work.")


# ------------------------------------------------------------------------------------ karaoke


def karaoke_intro() -> str:
    return _("Choose a guide vocal, key and tempo: the preview is made again that way.")


def guide_vocal() -> str:
    return _("Guide vocal")


def key() -> str:
    return _("Key")


def tempo() -> str:
    return _("Tempo")


def original() -> str:
    """The key list's 0: the song's own key."""
    return _("Original")


def make_version() -> str:
    return _("Make this version")


# ------------------------------------------------------------------------------------ upload page


def upload_title() -> str:
    return _("Send your song")


def upload_intro(max_size: str, max_minutes: int) -> str:
    """``max_size``: the largest file, worded ("200 MB")."""
    return _(
        "Choose the song's file: audio or video, up to {size} and {minutes} minutes. It goes "
        "straight to our server, and the bot continues in the chat as if you had sent it there."
    ).format(size=max_size, minutes=integer(max_minutes))


def upload_file_label() -> str:
    return _("Song file")


def upload_button() -> str:
    return _("Upload")


def upload_progress() -> str:
    """What the progress bar says while the file goes up (no script: the browser's own)."""
    return _("Uploading…")


def upload_checking() -> str:
    """Said once the whole file is up, while the server checks it."""
    return _("Uploaded. Checking the song…")


def upload_refused_title() -> str:
    """The heading of a refusal after the upload (its reason follows, the bot's words)."""
    return _("This file can't be used")


def upload_again() -> str:
    return _("Choose another file")
