"""The upload page's HTML, CSS and script (:mod:`web.uploads`): served by us, nothing from
another site.

The page is a plain HTML form (``multipart/form-data``) that works without JavaScript: the
browser posts the file and shows the server's answer as a page. Our own script
(:data:`SCRIPT`, served as ``/u/upload.js`` under ``script-src 'self'``, no inline script)
makes it better where it runs: it asks the server about the file's declared size first
(``<token>/check``), then sends the file with a progress bar and shows the answer in place,
where a refused file can be replaced at once. Its words come from the page itself (``data-``
attributes, escaped like every text), so the script holds none. URLs are relative to the page
(``/u/<token>``), as the results page's are.
"""

from __future__ import annotations

import base64
import hashlib
import html

from texts import languages
from texts import web as words
from web import results_html

CSS = (
    results_html.CSS
    + """
input[type=file]{display:block;width:100%;margin:.5rem 0 1rem;font:inherit}
progress{display:block;width:100%;height:1.25rem;margin:1rem 0}
[hidden]{display:none}
label{font-weight:600}
"""
)
CSP_STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
SCRIPT_NAME = "upload.js"

_SHELL = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{title}</title><style>{css}</style></head>
<body><main>
{body}
</main>{script}</body></html>
"""

SCRIPT = """"use strict";
(() => {
  const form = document.getElementById("upload");
  if (!form || !window.FormData || !window.XMLHttpRequest || !window.fetch) return;
  const input = form.querySelector("input[type=file]");
  const button = form.querySelector("button");
  const bar = document.getElementById("progress");
  const status = document.getElementById("status");
  const words = form.dataset;
  const say = (title, text) => {
    const heading = document.createElement("h2");
    heading.textContent = title;
    const line = document.createElement("p");
    line.textContent = text;
    status.replaceChildren(heading, line);
  };
  const ready = () => {
    input.disabled = false;
    button.disabled = false;
    bar.hidden = true;
  };
  const answered = (answer) => {
    say(answer.title || words.cutOffTitle, answer.text || words.cutOff);
    if (answer.ok) {
      form.hidden = true;
      bar.hidden = true;
      document.body.dataset.state = "done";
    } else {
      ready();
      input.value = "";
      document.body.dataset.state = "refused";
    }
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) {
      say(words.noFileTitle, words.noFile);
      return;
    }
    const body = new FormData(form);
    input.disabled = true;
    button.disabled = true;
    document.body.dataset.state = "checking";
    try {  // the declared size and the link first: nothing is sent that would be refused
      const check = await fetch(form.action + "/check?size=" + file.size, {
        method: "POST", headers: {Accept: "application/json"}});
      const answer = await check.json();
      if (!answer.ok) {
        answered(answer);
        return;
      }
    } catch (error) {
      answered({});
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    bar.hidden = false;
    bar.removeAttribute("value");
    status.textContent = words.uploading;
    document.body.dataset.state = "uploading";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
      }
    };
    xhr.upload.onload = () => { status.textContent = words.checking; };
    xhr.onload = () => answered(xhr.response || {});
    xhr.onerror = xhr.onabort = () => answered({});
    xhr.send(body);
  });
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def document(title: str, body: str, script: bool = False) -> str:
    """A page in the language in effect (its ``lang`` and direction), with our script or none."""
    language = languages.current_language()
    tag = f'<script src="{SCRIPT_NAME}"></script>' if script else ""
    return _SHELL.format(
        lang=language.tag, dir=language.direction, title=_e(title), css=CSS, body=body, script=tag
    )


def upload_page(token: str, max_size: str, max_minutes: int) -> str:
    """The form: one file, posted to the page's own address."""
    cut_off_title, cut_off = words.notice("upload_cut_off")
    no_file_title, no_file = words.notice("upload_no_file")
    data = {
        "uploading": words.upload_progress(),
        "checking": words.upload_checking(),
        "cut-off-title": cut_off_title,
        "cut-off": cut_off,
        "no-file-title": no_file_title,
        "no-file": no_file,
    }
    attributes = " ".join(f'data-{name}="{_e(value)}"' for name, value in data.items())
    body = (
        f"<h1>{_e(words.upload_title())}</h1>"
        f"<p>{_e(words.upload_intro(max_size, max_minutes))}</p>"
        f'<form id="upload" class="card" method="post" action="{_e(token)}" '
        f'enctype="multipart/form-data" {attributes}>'
        f'<label for="file">{_e(words.upload_file_label())}</label>'
        '<input id="file" name="file" type="file" accept="audio/*,video/*" required>'
        f'<button class="button" type="submit">{_e(words.upload_button())}</button></form>'
        f'<progress id="progress" hidden aria-label="{_e(words.upload_progress())}"></progress>'
        '<div id="status" class="notice" role="status" aria-live="polite"></div>'
    )
    return document(words.upload_title(), body, script=True)


def answer_page(title: str, text: str, again_token: str | None = None) -> str:
    """The server's answer to a posted file (no script): done, or why not — with a way back to
    the form while the link still takes a file."""
    again = (
        f'<p><a class="button" href="{_e(again_token)}">{_e(words.upload_again())}</a></p>'
        if again_token
        else ""
    )
    body = f'<h1>{_e(title)}</h1><p class="notice" id="status">{_e(text)}</p>{again}'
    return document(title, body)
