"""The results page's HTML and CSS: server-rendered, one script of ours, nothing from elsewhere.

Invariants the tests hold us to:

* every URL in a page is relative to the page itself (``<token>/audio/vocals`` from
  ``/r/<token>``), so the page works under any ``PUBLIC_BASE_URL`` path prefix and can never point
  at another job;
* no inline script, no external font, image or style: the one ``<style>`` block is allowed by its
  hash in the Content-Security-Policy (:data:`CSP_STYLE_HASH`), everything else by ``'self'``;
  the one ``<script>`` is our own file (``../static/mixer.js``), and everything works without it:
  the mixer section is ``hidden`` until the script shows it, the two plain players stay, the
  karaoke form posts, and a version being made refreshes the page (``<noscript>`` meta refresh);
* every word the script shows comes from the page (``data-`` attributes, in the page's language);
* every control has a visible text label or an ``aria-label``, players are labelled by their
  heading, focus is always visible, and the layout is a single column that fits a 320 px phone.

Everything a person or their file name put into a page goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.analysis import Analysis
from engine.karaoke import KaraokeSettings
from texts import chat, languages, music, numbers
from texts import web as words

CSS = """
:root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fafafa;--card:#fff;--muted:#5f6368;
--accent:#0b57d0;--accent-fg:#fff;--border:#d0d4da}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--bg:#16171a;--card:#202124;
--muted:#b0b4ba;--accent:#8ab4f8;--accent-fg:#0b1a33;--border:#3c4043}}
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:42rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:0 0 .5rem}
.muted{color:var(--muted)}
.card{background:var(--card);border:1px solid var(--border);border-radius:12px;
padding:1rem;margin:1rem 0}
img.waveform{display:block;width:100%;height:auto;border-radius:8px}
audio{display:block;width:100%;margin:.25rem 0 .75rem}
.button{display:inline-flex;align-items:center;justify-content:center;gap:.4rem;
min-height:44px;padding:.5rem 1rem;border-radius:8px;border:2px solid var(--accent);
background:var(--accent);color:var(--accent-fg);font:inherit;font-weight:600;
text-decoration:none;cursor:pointer}
.button.secondary{background:transparent;color:var(--fg);border-color:var(--border)}
.button[aria-pressed=true]{border-color:var(--accent);outline:2px solid var(--accent)}
a:focus-visible,button:focus-visible,audio:focus-visible,input:focus-visible,
select:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
[hidden]{display:none!important}
.transport,.channel{display:flex;align-items:center;gap:.5rem;flex-wrap:wrap;margin:.5rem 0}
.channel label,.field label{flex:1 1 100%;font-weight:600}
input[type=range]{flex:1 1 5rem;min-width:0;min-height:44px;accent-color:var(--accent)}
.channel .button{padding:.5rem .7rem}
.level{min-width:3.5rem;text-align:end}
.field{display:flex;flex-wrap:wrap;gap:.25rem;margin:.5rem 0}
select{font:inherit;min-height:44px;width:100%;padding:.25rem .5rem;border-radius:8px;
border:1px solid var(--border);background:var(--card);color:var(--fg)}
.rate{display:flex;gap:.75rem;flex-wrap:wrap}
.notice{border-left:4px solid var(--accent);padding-left:.75rem}
"""
CSP_STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()

_SHELL = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{title}</title><style>{css}</style>{head}</head>
<body><main>
{body}
</main>{script}</body></html>
"""
SCRIPT_TAG = '<script src="../static/mixer.js" defer></script>'
REFRESH_S = 5  # a karaoke version being made, without script: the page reloads this often

FORMAT_LABELS = {".mp3": "MP3", ".flac": "FLAC", ".wav": "WAV"}
RATING_UP = "up"
RATING_DOWN = "down"


@dataclass(frozen=True)
class StemView:
    """One stem as the page shows it; ``suffix`` None: no longer stored."""

    name: str
    suffix: str | None
    size: int | None


@dataclass(frozen=True)
class KaraokeView:
    """A preview's karaoke section: the form's choices and selection, the version asked for
    (``shown``: None for none, or the original) and where it stands, the answer's words."""

    chosen: KaraokeSettings
    shown: KaraokeSettings | None
    state: str  # "ready", "pending", "failed", "none" (web.page_tools.VariantState)
    said: str | None
    guide_choices: Sequence[str]  # "off", "18", "12", "6"
    key_choices: Sequence[int]
    tempo_choices: Sequence[int]


@dataclass(frozen=True)
class PageView:
    token: str
    title: str
    preview: bool
    clip_s: float
    start_s: float | None
    stems: Sequence[StemView]
    has_waveform: bool
    expires: int
    rated: str | None = None  # the rating just given ("up"/"down"), for the thank-you line
    analysis: Analysis | None = None  # key and tempo, once analysed
    preview_analysis: Analysis | None = None  # a full job's preview's answer
    mixer: bool = False  # both stems stored and the mixer's routes served
    karaoke: KaraokeView | None = None  # a preview's karaoke settings, where offered


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour)."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def human_size(size: int) -> str:
    return words.size(size)


def when(epoch: int) -> tuple[str, str]:
    """(ISO 8601 for ``<time datetime>``, a readable UTC date for people)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="minutes"), numbers.moment(moment)


def _key_and_tempo_section(view: PageView) -> str:
    """The song's tempo and key, worded as the bots word them (:mod:`texts.music`)."""
    line = music.key_and_tempo(view.analysis)
    if line is None:
        return ""
    earlier = music.key_and_tempo(view.preview_analysis)
    note = (
        f'<p class="muted">{_e(music.preview_differed(earlier))}</p>'
        if earlier is not None and earlier != line and not view.preview
        else ""
    )
    shown = line if view.preview else music.whole_song(line)
    return (
        '<section class="card" aria-labelledby="key-heading">'
        f'<h2 id="key-heading">{_e(music.heading())}</h2>'
        f'<p class="key-tempo">{_e(shown)}</p>{note}</section>'
    )


def document(title: str, body: str, *, script: bool = False, head: str = "") -> str:
    """The page in the language in effect: its ``lang`` and writing direction (right to left
    for Persian) are the language's, so the browser lays the page out and reads it aloud right."""
    language = languages.current_language()
    return _SHELL.format(
        lang=language.tag,
        dir=language.direction,
        title=_e(title),
        css=CSS,
        body=body,
        head=head,
        script=SCRIPT_TAG if script else "",
    )


def _mixer_section(view: PageView) -> str:
    """The mixer, ``hidden`` until the script has loaded its layout (no script: not shown)."""
    channels = "".join(
        f'<div class="channel" role="group" aria-labelledby="mixer-{stem}-label">'
        f'<label id="mixer-{stem}-label" for="mixer-{stem}-level">{_e(words.level_label(stem))}</label>'
        f'<input type="range" id="mixer-{stem}-level" data-level="{stem}" min="0" max="100" step="1" '
        f'value="100" aria-valuetext="{_e(words.percent().format(percent=100))}">'
        f'<output class="level" for="mixer-{stem}-level" aria-hidden="true">'
        f"{_e(words.percent().format(percent=100))}</output>"
        f'<button type="button" class="button secondary" data-mute="{stem}" aria-pressed="false" '
        f'aria-label="{_e(words.mute_label(stem))}">{_e(words.mute())}</button>'
        f'<button type="button" class="button secondary" data-solo="{stem}" aria-pressed="false" '
        f'aria-label="{_e(words.solo_label(stem))}">{_e(words.solo())}</button>'
        "</div>"
        for stem in ("vocals", "instrumental")
    )
    length = clock(view.clip_s)
    return (
        f'<section class="card" id="mixer" aria-labelledby="mixer-heading" hidden '
        f'data-base="{_e(view.token)}" data-play="{_e(words.play())}" data-pause="{_e(words.pause())}" '
        f'data-percent="{_e(words.percent())}" data-position="{_e(words.position_of())}" '
        f'data-loading="{_e(words.mixer_loading())}" data-failed="{_e(words.mixer_failed())}">'
        f'<h2 id="mixer-heading">{_e(words.mixer_heading())}</h2>'
        f'<p class="muted">{_e(words.mixer_intro())}</p>'
        '<div class="transport">'
        f'<button type="button" class="button" id="mixer-play">{_e(words.play())}</button>'
        f'<span id="mixer-time" class="muted" aria-hidden="true">0:00 / {_e(length)}</span></div>'
        f'<div class="channel"><label for="mixer-position">{_e(words.position())}</label>'
        f'<input type="range" id="mixer-position" min="0" max="{max(1, int(view.clip_s))}" step="1" '
        f'value="0" aria-valuetext="{_e(words.position_of().format(position="0:00", length=length))}">'
        "</div>"
        f"{channels}"
        '<p id="mixer-status" class="muted" role="status"></p>'
        "</section>"
    )


def _karaoke_section(view: PageView, karaoke: KaraokeView) -> str:
    """A preview's karaoke form and the version asked for: ready (a player), being made (a
    status the script polls), or failed."""

    def select(name: str, label: str, options: list[tuple[str, str]], chosen: str) -> str:
        items = "".join(
            f'<option value="{_e(value)}"{" selected" if value == chosen else ""}>{_e(text)}</option>'
            for value, text in options
        )
        return (
            f'<div class="field"><label for="karaoke-{name}">{_e(label)}</label>'
            f'<select id="karaoke-{name}" name="{name}">{items}</select></div>'
        )

    chosen = karaoke.chosen
    guide = "off" if chosen.guide_db is None else f"{abs(chosen.guide_db):g}"
    guides = [
        (value, chat.karaoke_guide_button(None if value == "off" else -float(value), None))
        for value in karaoke.guide_choices
    ]
    keys = [
        (str(k), words.original() if k == 0 else f"{k:+d}".replace("-", "−")) for k in karaoke.key_choices
    ]
    tempos = [(str(t), words.percent().format(percent=t)) for t in karaoke.tempo_choices]
    form = (
        f'<form method="post" action="{_e(view.token)}/karaoke" class="karaoke">'
        + select("guide", words.guide_vocal(), guides, guide)
        + select("key", words.key(), keys, str(chosen.semitones))
        + select("tempo", words.tempo(), tempos, str(chosen.tempo_percent))
        + f'<button type="submit" class="button">{_e(words.make_version())}</button></form>'
    )
    said = karaoke.said
    version = ""
    shown = karaoke.shown
    if shown is not None and karaoke.state == "ready":
        base = f"{_e(view.token)}/karaoke/{_e(shown.to_string())}"
        version = (
            f'<h3 id="karaoke-version">{_e(chat.karaoke_caption(shown))}</h3>'
            f'<audio controls preload="metadata" src="{base}/audio" '
            'aria-labelledby="karaoke-version"></audio>'
            f'<a class="button" href="{base}/file" download>'
            f"{_e(words.download('karaoke', _format_of(view)))}</a>"
        )
        said = None  # the version itself answers
    elif shown is not None and karaoke.state == "pending":
        base = f"{_e(view.token)}/karaoke/{_e(shown.to_string())}"
        version = (
            f'<p id="karaoke-pending" class="notice" role="status" data-base="{base}" '
            f'data-ready="{_e(chat.karaoke_caption(shown))}" '
            f'data-download="{_e(words.download("karaoke", _format_of(view)))}" '
            f'data-failed="{_e(chat.KARAOKE_FAILED)}">'
            f"{_e(said or chat.karaoke_rendering(shown))}</p>"
        )
        said = None
    elif shown is not None and karaoke.state == "failed" and said is None:
        said = chat.KARAOKE_FAILED
    notice = f'<p role="status" class="notice">{_e(said)}</p>' if said else ""
    return (
        '<section class="card" id="karaoke" aria-labelledby="karaoke-heading">'
        f'<h2 id="karaoke-heading">{_e(words.stem_label("karaoke"))}</h2>'
        f'<p class="muted">{_e(words.karaoke_intro())}</p>{notice}{form}{version}</section>'
    )


def _format_of(view: PageView) -> str:
    """The stems' format label (a karaoke version has the stems' format)."""
    suffix = next((stem.suffix for stem in view.stems if stem.suffix), ".mp3")
    return FORMAT_LABELS.get(suffix, suffix.lstrip(".").upper())


def _stem_section(view: PageView, stem: StemView) -> str:
    label = words.stem_label(stem.name)
    heading_id = f"stem-{stem.name}"
    if stem.suffix is None:
        return (
            f'<section class="card" aria-labelledby="{heading_id}">'
            f'<h2 id="{heading_id}">{_e(label)}</h2>'
            f'<p class="muted">{_e(words.file_gone())}</p></section>'
        )
    fmt = FORMAT_LABELS.get(stem.suffix, stem.suffix.lstrip(".").upper())
    size = f", {human_size(stem.size)}" if stem.size else ""
    return (
        f'<section class="card" aria-labelledby="{heading_id}">'
        f'<h2 id="{heading_id}">{_e(label)}</h2>'
        f'<audio controls preload="metadata" src="{_e(view.token)}/audio/{stem.name}" '
        f'aria-labelledby="{heading_id}"></audio>'
        f'<a class="button" href="{_e(view.token)}/file/{stem.name}" download>'
        f"{_e(words.download(stem.name, fmt + size))}</a>"
        "</section>"
    )


def _rating_form(view: PageView) -> str:
    def button(value: str, emoji: str, words: str) -> str:
        pressed = "true" if view.rated == value else "false"
        return (
            f'<button class="button secondary" type="submit" name="rating" value="{value}" '
            f'aria-pressed="{pressed}" aria-label="{words}">'
            f'<span aria-hidden="true">{emoji}</span> {words}</button>'
        )

    thanks = f'<p role="status" class="notice">{_e(words.thanks())}</p>' if view.rated else ""
    return (
        '<section class="card" aria-labelledby="rate-heading">'
        f'<h2 id="rate-heading">{_e(words.rate_heading())}</h2>'
        f'<form method="post" action="{_e(view.token)}" class="rate">'
        f"{button(RATING_UP, '👍', _e(words.rate_up()))}"
        f"{button(RATING_DOWN, '👎', _e(words.rate_down()))}"
        f"</form>{thanks}</section>"
    )


def results_page(view: PageView) -> str:
    """The page of one finished job."""
    if view.preview:
        start = clock(view.start_s) if view.start_s else None
        kind = words.preview_kind(clock(view.clip_s), start)
    else:
        kind = words.full_kind(clock(view.clip_s))
    iso, readable = when(view.expires)
    waveform = (
        '<figure class="card">'
        f'<img class="waveform" src="{_e(view.token)}/waveform.png" '
        f'alt="{_e(words.waveform_alt())}"></figure>'
        if view.has_waveform
        else ""
    )
    body = (
        f"<h1>{_e(view.title)}</h1>"
        f'<p class="muted">{_e(kind)}</p>'
        f"{waveform}"
        + _key_and_tempo_section(view)
        + (_mixer_section(view) if view.mixer else "")
        + "".join(_stem_section(view, stem) for stem in view.stems)
        + (_karaoke_section(view, view.karaoke) if view.karaoke is not None else "")
        + _rating_form(view)
        + '<p class="muted">'
        + _e(words.expires()).format(date=f'<time datetime="{iso}">{readable}</time>')
        + "</p>"
    )
    pending = view.karaoke is not None and view.karaoke.state == "pending"
    head = f'<noscript><meta http-equiv="refresh" content="{REFRESH_S}"></noscript>' if pending else ""
    return document(words.page_title(view.title), body, script=view.mixer or pending, head=head)


def message_page(title: str, text: str) -> str:
    """A friendly page for a refusal (forged or expired link, files gone, not found)."""
    body = f'<h1>{_e(title)}</h1><p class="notice">{_e(text)}</p>'
    return document(title, body)
