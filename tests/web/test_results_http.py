"""The results page over plain HTTP: what it serves (Range, types, names) and what it refuses
(forged, expired, other jobs, path tricks, listings), against a real server and real jobs."""

from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from engine.analysis import analyse
from engine.constants import SAMPLE_RATE
from engine.karaoke import KaraokeSettings
from jobs.karaoke_variants import render_karaoke
from payments import SettingsError
from tests.conftest import e_minor_at_120
from tests.payments.conftest import make_settings
from tests.payments.test_store import stripe_payment
from web import DownloadLinks, results_page_url
from web.downloads import PAGE_TOKEN_RE, PageGrant

from .conftest import OWNER, Site


def test_page_shows_the_job_and_loads_nothing_from_elsewhere(site: Site) -> None:
    full = site.jobs.full
    path = site.path(full)
    reply = site.get(path)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    csp = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "media-src 'self';" in csp
    assert "script-src 'self';" in csp and "unsafe" not in csp  # our own file, nothing inline
    page = reply.text
    assert "<h1>Night Drive</h1>" in page and "Full song, 0:08" in page
    token = path.rsplit("/", 1)[1]
    assert page.count("<audio ") == 2
    for stem in ("vocals", "instrumental"):
        assert f'src="{token}/audio/{stem}"' in page and f'href="{token}/file/{stem}"' in page
    assert f'src="{token}/waveform.png"' in page
    assert "This link expires on" in page
    assert re.findall(r"<script[^>]*>", page, re.IGNORECASE) == ['<script src="../static/mixer.js" defer>']
    urls = [u for u in re.findall(r'(?:src|href|action)="([^"]*)"', page) if u != "../static/mixer.js"]
    assert urls and all(u.startswith(token) for u in urls), urls  # relative, this job only
    assert site.jobs.other.id not in page


def test_page_shows_the_songs_key_and_tempo_once_analysed(site: Site) -> None:
    """The record's analysis as the worker writes it (``jobs.analysis``), of a song of known
    key and tempo: the page of the full job shows the line."""
    full = site.jobs.full
    records = site.jobs.queue.records
    kept = records.get(full.id).analysis  # what the fixture's worker found in its tone song
    song = e_minor_at_120(10.0).T
    try:
        records.update(full.id, analysis="")
        assert "Tempo and key" not in site.get(site.path(full)).text  # not analysed: nothing said
        records.update(full.id, analysis=analyse(song, SAMPLE_RATE).to_json(beats=False))
        page = site.get(site.path(full)).text
        assert '<h2 id="key-heading">Tempo and key</h2>' in page
        assert "120 BPM · E minor · 9A (whole song)" in page
    finally:
        records.update(full.id, analysis=kept)


def test_a_preview_page_offers_only_the_preview(site: Site) -> None:
    jobs = site.jobs
    path = site.path(jobs.preview)
    page = site.get(path).text
    assert "Free preview: 0:03" in page and "bought in the chat" in page
    vocals = site.get(f"{path}/audio/vocals")
    assert vocals.status == 200
    assert vocals.body == jobs.stored(jobs.preview, "vocals").read_bytes()
    assert vocals.body != jobs.stored(jobs.full, "vocals").read_bytes()
    assert "Night Drive (vocals, preview).mp3" in vocals.headers["Content-Disposition"]


def test_range_requests_answer_206_with_the_right_bytes(site: Site) -> None:
    data = site.jobs.stored(site.jobs.full, "vocals").read_bytes()
    size = len(data)
    audio = f"{site.path(site.jobs.full)}/audio/vocals"

    whole = site.get(audio)
    assert whole.status == 200 and whole.body == data
    assert whole.headers["Content-Type"] == "audio/mpeg"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Disposition"].startswith('inline; filename="Night Drive (vocals).mp3"')

    part = site.get(audio, Range="bytes=100-1099")
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{size}"
    assert part.body == data[100:1100]
    tail = site.get(audio, Range="bytes=-200")
    assert tail.status == 206 and tail.body == data[-200:]
    rest = site.get(audio, Range=f"bytes={size - 10}-")
    assert rest.status == 206 and rest.body == data[-10:]
    assert site.get(audio, Range=f"bytes={size}-").status == 416

    download = site.get(f"{site.path(site.jobs.full)}/file/instrumental")
    assert download.status == 200
    assert download.body == site.jobs.stored(site.jobs.full, "instrumental").read_bytes()
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="Night Drive (instrumental).mp3"; '
        "filename*=UTF-8''Night%20Drive%20%28instrumental%29.mp3"
    )
    picture = site.get(f"{site.path(site.jobs.full)}/waveform.png")
    assert picture.status == 200 and picture.headers["Content-Type"] == "image/png"
    assert picture.body.startswith(b"\x89PNG")


def test_head_answers_like_get_without_a_body_and_is_refused_the_same(site: Site) -> None:
    data = site.jobs.stored(site.jobs.full, "vocals").read_bytes()
    audio = f"{site.path(site.jobs.full)}/audio/vocals"
    head = site.request("HEAD", audio)
    assert head.status == 200 and head.body == b""
    assert int(head.headers["Content-Length"]) == len(data)
    forged = audio.replace(".", "x", 1)
    refused = site.request("HEAD", forged)
    assert refused.status == 403 and refused.body == b""
    assert "Content-Length" not in refused.headers or refused.headers["Content-Length"] != str(len(data))


def _forge(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("0" if last != "0" else "1")


def test_forged_other_and_expired_tokens_get_a_friendly_403(site: Site) -> None:
    jobs = site.jobs
    path = site.path(jobs.full)
    token = path.rsplit("/", 1)[1]
    job_id, expires, sig = PAGE_TOKEN_RE.match(token).groups()
    other_sig = PAGE_TOKEN_RE.match(site.path(jobs.other).rsplit("/", 1)[1]).group(3)
    refused = [
        f"/r/{_forge(token)}",  # one character of the signature changed
        f"/r/{job_id}.{int(expires) + 3600}.{sig}",  # a later expiry
        f"/r/{jobs.other.id}.{expires}.{sig}",  # this signature on another job
        f"/r/{job_id}.{expires}.{other_sig}",  # another job's signature on this job
        f"/r/{job_id}.{expires}",
        f"/r/{job_id}",
    ]
    for bad in refused:
        for suffix in ("", "/audio/vocals", "/file/vocals", "/waveform.png"):
            reply = site.get(bad + suffix)
            assert reply.status == 403, (bad + suffix, reply.status)
            assert "This link is not valid" in reply.text
            assert reply.headers["Content-Type"].startswith("text/html")

    expired = site.path(jobs.full, now=0)
    for suffix in ("", "/audio/vocals", "/file/instrumental", "/waveform.png"):
        reply = site.get(expired + suffix)
        assert reply.status == 403
        assert "This link has expired" in reply.text and "new one" in reply.text
    # A download link's signature is no page token, and a page's is no download link.
    download = DownloadLinks(site.settings).url(job_id, "vocals").split("sig=")[1]
    assert site.get(f"/r/{job_id}.{expires}.{download}").status == 403


def test_path_tricks_and_listings_are_refused(site: Site) -> None:
    jobs = site.jobs
    path = site.path(jobs.full)
    token = path.rsplit("/", 1)[1]
    other_token = site.path(jobs.other).rsplit("/", 1)[1]
    other_key = jobs.other.outputs["vocals"]  # results/<other job>/vocals.mp3
    secrets = [
        jobs.stored(jobs.other, "vocals").read_bytes()[:4096],
        b"root:",
    ]
    tricks = [
        f"{path}/audio/../../../../../etc/passwd",
        f"{path}/audio/..%2f..%2f..%2f..%2fetc%2fpasswd",
        f"{path}/audio/%2e%2e%2f%2e%2e%2f{quote(other_key, safe='')}",
        f"{path}/audio/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        f"{path}/audio/..%5c..%5c{other_key.replace('/', '%5c')}",
        f"{path}/audio/vocals%00.mp3",
        f"{path}/audio/vocals.mp3",
        f"{path}/audio/{jobs.other.id}",
        f"{path}/audio/{quote(other_key, safe='')}",
        f"{path}/file/%2fetc%2fpasswd",
        f"{path}/../{other_token}/audio/vocals",
        f"/r/{token}%2f..%2f{other_token}/audio/vocals",
        f"/r/..%2f{other_token}/audio/vocals",
        f"{path}/audio/vocals/../../../{other_token}/audio/vocals",
        f"/r/{token}/%2e%2e/{other_token}/audio/vocals",
    ]
    for trick in tricks:
        reply = site.get(trick)
        assert reply.status in (400, 403, 404), (trick, reply.status)
        assert not any(secret in reply.body for secret in secrets), trick

    listings = ["/r", "/r/", f"{path}/", f"{path}/audio", f"{path}/audio/", f"{path}/file/"]
    for listing in listings:
        reply = site.get(listing)
        assert reply.status == 404, (listing, reply.status)
        assert "Nothing here" in reply.text
        assert ".mp3" not in reply.text and "Index of" not in reply.text
    assert "Nothing here" not in site.get("/robots.txt").text  # /r… is not all of /r*


def test_thumbs_up_is_the_owners_one_rating_of_the_job(site: Site) -> None:
    jobs, pay = site.jobs, site.pay
    path = site.path(jobs.full)
    token = path.rsplit("/", 1)[1]
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def ratings() -> list[list[str]]:
        return [row.split(",") for row in pay.feedback.export_csv().strip().splitlines()[1:]]

    reply = site.request("POST", path, form, b"rating=up")
    assert reply.status == 303 and reply.headers["Location"] == f"{token}?rated=up"
    owner = pay.users.get_or_create("telegram", OWNER)
    (row,) = ratings()
    assert row[2:] == [f"user:{owner.id}", jobs.full.id, jobs.full.model_version, "1", "button", "👍"]
    assert 'aria-pressed="true" aria-label="Sounds good"' in site.get(f"{path}?rated=up").text

    assert site.request("POST", path, form, b"rating=up").status == 303  # pressed again
    assert site.request("POST", path, form, b"rating=down").status == 303  # changed their mind
    (row,) = ratings()
    assert row[5:] == ["-1", "button", "👎"]

    assert site.request("POST", f"/r/{_forge(token)}", form, b"rating=up").status == 403
    assert site.request("POST", site.path(jobs.full, now=0), form, b"rating=up").status == 403
    assert site.request("POST", path, form, b"rating=sideways").status == 400
    assert site.request("POST", path, form, b"rating=up&" + b"x" * 4000).status == 413
    (row,) = ratings()
    assert row[5] == "-1"  # none of the refused presses changed anything
    assert pay.feedback.approval_by_model()[0].down == 1


def test_refunded_order_and_deleted_files_close_the_page(site: Site) -> None:
    jobs, pay = site.jobs, site.pay
    user = pay.users.get_or_create("telegram", OWNER)
    order = pay.ledger.create_order(user, jobs.full.content_hash, jobs.preview.id)
    pay.ledger.record_payment(stripe_payment(order.id))
    real = site.source[0]
    site.source[0] = lambda job_id: dataclasses.replace(real(job_id), order_id=order.id)
    path = site.path(jobs.full)
    assert site.get(path).status == 200  # paid
    request = pay.ledger.begin_order_refund(order.id, "test", "system")
    pay.ledger.complete_refund(request.payment_id, "re_1", "stripe")
    for suffix in ("", "/audio/vocals", "/file/vocals"):
        reply = site.get(path + suffix)
        assert reply.status == 410 and "refunded" in reply.text

    def without_vocals(job_id: str) -> object:
        results = real(job_id)
        files = {k: v for k, v in results.files.items() if k != "vocals"}
        return dataclasses.replace(results, files=files)

    site.source[0] = without_vocals
    page = site.get(path)
    assert page.status == 200 and "This file is no longer stored." in page.text
    assert page.text.count("<audio ") == 1
    assert site.get(f"{path}/audio/vocals").status == 410
    site.source[0] = lambda job_id: None  # retention deleted the job's record
    reply = site.get(path)
    assert reply.status == 410 and "Send the song to the bot again" in reply.text


def test_results_page_url(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'payments.sqlite3'}"
    settings = make_settings(sqlite_url, public_base_url="https://bot.example.test/vr")
    url = results_page_url(settings, "abc123", now=1_000)
    token = url.removeprefix("https://bot.example.test/vr/r/")
    job_id, expires, _sig = PAGE_TOKEN_RE.match(token).groups()
    assert (job_id, int(expires)) == ("abc123", 1_000 + settings.download_ttl_s)
    assert results_page_url(settings, "abc123", now=1_000, ttl_s=60).split(".")[-2] == "1060"
    links = DownloadLinks(settings)
    assert links.verify_page(token, now=2_000) == PageGrant("abc123", int(expires))
    assert links.verify_page(token, now=int(expires) + 1).expired
    assert links.verify_page(token.replace("abc123", "abc124"), now=2_000) is None
    with pytest.raises(ValueError):
        results_page_url(settings, "../etc")
    with pytest.raises(SettingsError):
        results_page_url(make_settings(sqlite_url, download_secret=None), "abc123")


def test_a_paid_karaoke_version_is_listed_only_on_its_own_job(site: Site) -> None:
    jobs, queue = site.jobs, site.jobs.queue
    settings = KaraokeSettings(semitones=2)
    record = dataclasses.replace(jobs.full, id=uuid.uuid4().hex, karaoke=settings.to_string())
    key = render_karaoke(queue.storage, record.id, record.outputs, settings)
    record.outputs = {**record.outputs, "karaoke": key}
    queue.records.create(record)
    path = site.path(record)
    page = site.get(path).text
    token = path.rsplit("/", 1)[1]
    assert page.count("<audio ") == 3 and "Karaoke version" in page
    assert f'src="{token}/audio/karaoke"' in page and f'href="{token}/file/karaoke"' in page
    download = site.get(f"{path}/file/karaoke")
    assert download.status == 200
    assert download.body == queue.storage.local_path(key).read_bytes()
    assert 'filename="Night Drive (karaoke).mp3"' in download.headers["Content-Disposition"]

    # A job answered from those stored results for an order without karaoke: not its file.
    answered = dataclasses.replace(record, id=uuid.uuid4().hex, karaoke="")
    queue.records.create(answered)
    other_path = site.path(answered)
    assert "Karaoke" not in site.get(other_path).text
    assert site.get(f"{other_path}/file/karaoke").status == 410
    assert site.get(f"{site.path(jobs.full)}/file/karaoke").status == 410


def test_a_refusal_speaks_the_browsers_language(site: Site) -> None:
    """A page that knows no job speaks the browser's language (Accept-Language)."""
    browser_says = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    reply = site.get(site.path(site.jobs.full, now=0), **browser_says)
    assert reply.status == 403
    assert '<html lang="de" dir="ltr">' in reply.text and "Dieser Link ist abgelaufen" in reply.text
