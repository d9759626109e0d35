"""The results page's HTML and CSS: server-rendered, no script, nothing from another site.

Invariants the tests hold us to:

* every URL in a page is relative to the page itself (``<token>/audio/vocals`` from
  ``/r/<token>``), so the page works under any ``PUBLIC_BASE_URL`` path prefix and can never point
  at another job;
* no ``<script>``, no external font, image or style: the one ``<style>`` block is allowed by its
  hash in the Content-Security-Policy (:data:`CSP_STYLE_HASH`), everything else by ``'self'``;
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
from texts import languages, music, numbers
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
a:focus-visible,button:focus-visible,audio:focus-visible{outline:3px solid var(--accent);
outline-offset:2px}
.rate{display:flex;gap:.75rem;flex-wrap:wrap}
.notice{border-left:4px solid var(--accent);padding-left:.75rem}
"""
CSP_STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()

_SHELL = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{title}</title><style>{css}</style></head>
<body><main>
{body}
</main></body></html>
"""

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


def document(title: str, body: str) -> str:
    """The page in the language in effect: its ``lang`` and writing direction (right to left
    for Persian) are the language's, so the browser lays the page out and reads it aloud right."""
    language = languages.current_language()
    return _SHELL.format(lang=language.tag, dir=language.direction, title=_e(title), css=CSS, body=body)


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
        + "".join(_stem_section(view, stem) for stem in view.stems)
        + _rating_form(view)
        + '<p class="muted">'
        + _e(words.expires()).format(date=f'<time datetime="{iso}">{readable}</time>')
        + "</p>"
    )
    return document(words.page_title(view.title), body)


def message_page(title: str, text: str) -> str:
    """A friendly page for a refusal (forged or expired link, files gone, not found)."""
    body = f'<h1>{_e(title)}</h1><p class="notice">{_e(text)}</p>'
    return document(title, body)
