"""The results page's mixer and karaoke routes over plain HTTP, against a real server, real jobs
and the real karaoke queue (no worker runs here: a render asked for stays in line)."""

from __future__ import annotations

import html
import io
from urllib.parse import parse_qs, urlsplit

import numpy as np
import soundfile as sf
from rq import Queue
from rq.job import Job

from engine.audio import decode
from engine.karaoke import KaraokeSettings
from jobs import keys, stats
from jobs.karaoke_jobs import rq_job_id
from service.pseudonyms import abuse_mark
from web.stem_segments import SEGMENT_FRAMES

from .conftest import Site


def test_the_script_is_ours_and_the_mixer_reads_stems_in_exact_segments(site: Site) -> None:
    script = site.get("/static/mixer.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert b"decodeAudioData" in script.body

    job = site.jobs.lossless
    path = site.path(job)
    page = site.get(path).text
    assert 'id="mixer"' in page and " hidden " in page.split('id="mixer"')[1][:40]  # shown by script
    layout = site.get(f"{path}/mixer.json")
    assert layout.status == 200 and layout.headers["Cache-Control"] == "no-store"
    mix = layout.json()
    vocals = decode(site.jobs.stored(job, "vocals"), 60.0, allow_silence=True)
    assert mix == {
        "sampleRate": 44_100,
        "frames": vocals.shape[1],
        "segmentFrames": SEGMENT_FRAMES,
        "stems": ["vocals", "instrumental"],
    }
    second = site.get(f"{path}/segment/vocals/1.flac")
    assert second.status == 200 and second.headers["Content-Type"] == "audio/flac"
    audio, _ = sf.read(io.BytesIO(second.body), dtype="float32", always_2d=True)
    assert np.max(np.abs(audio.T - vocals[:, SEGMENT_FRAMES:])) < 1e-4

    for bad in ("segment/vocals/2.flac", "segment/waveform/0.flac", "segment/..%2fvocals/0.flac"):
        assert site.get(f"{path}/{bad}").status == 404, bad
    forged = path[:-4] + ("0000" if not path.endswith("0000") else "1111")
    assert site.get(f"{forged}/mixer.json").status == 403
    assert site.get(f"{forged}/segment/vocals/0.flac").status == 403


def _ask(site: Site, path: str, **form: str) -> tuple[int, dict[str, list[str]], str]:
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    reply = site.request("POST", f"{path}/karaoke", headers, body)
    if reply.status != 303:
        return reply.status, {}, reply.text
    target = urlsplit(reply.headers["Location"])
    assert target.path == f"../{path.rsplit('/', 1)[1]}"
    query = parse_qs(target.query)
    page = html.unescape(site.get(f"{path}?{target.query}").text)
    return reply.status, query, page


def test_a_karaoke_setting_is_the_chats_render_under_the_chats_limits(site: Site) -> None:
    jobs = site.jobs
    preview = jobs.preview
    path = site.path(preview)
    page = site.get(path).text
    assert 'action="' in page and 'name="key"' in page and "Make this version" in page
    assert 'name="key"' not in site.get(site.path(jobs.full)).text  # a paid job's is its order's
    assert site.request("POST", f"{site.path(jobs.full)}/karaoke", {}, b"").status == 404

    assert _ask(site, path, guide="loud", key="0", tempo="100")[0] == 400
    assert _ask(site, path, guide="off", key="9", tempo="100")[0] == 400

    connection = jobs.queue.connection
    up_two = KaraokeSettings(-12.0, 2, 90)
    slot = keys.karaoke_slot(preview.platform, preview.user_id)
    try:
        status, query, page = _ask(site, path, guide="12", key="2", tempo="90")
        assert status == 303 and query == {"version": ["g12.k2.t90"], "asked": ["queued"]}
        assert "Making the preview with guide vocal −12 dB, key +2, tempo 90 %" in page
        assert 'id="karaoke-pending"' in page and 'http-equiv="refresh"' in page  # no script: reloads
        job = Job.fetch(rq_job_id(preview.id, up_two), connection=connection)
        assert job.origin == "karaoke" and job.args == (preview.id, "g12.k2.t90")
        state = site.get(f"{path}/karaoke/g12.k2.t90/status").json()
        assert state == {"state": "pending"}
        assert site.get(f"{path}/karaoke/g12.k2.t90/audio").status == 410

        # The same version again: already on it; another while it waits: one at a time.
        assert _ask(site, path, guide="12", key="2", tempo="90")[1]["asked"] == ["already"]
        status, query, page = _ask(site, path, guide="off", key="-1", tempo="100")
        assert query["asked"] == ["one_at_a_time"]
        assert "Your last karaoke preview is still being made" in page
        # The original settings: the instrumental itself, nothing rendered, saved as the choice.
        status, query, page = _ask(site, path, guide="off", key="0", tempo="100")
        assert query["asked"] == ["original"] and "That's the original" in page
    finally:
        Queue("karaoke", connection=connection).empty()
        connection.delete(slot)


def test_the_days_allowance_and_a_ban_refuse_in_the_chats_words(site: Site) -> None:
    jobs = site.jobs
    preview = jobs.preview
    path = site.path(preview)
    settings = jobs.settings
    connection = jobs.queue.connection
    mark = abuse_mark(settings.abuse_key, preview.platform, preview.user_id)
    count = keys.karaoke_renders(stats.day(), mark)
    kept = connection.get(count)
    connection.set(count, settings.karaoke_renders_per_day)
    owner = site.pay.users.get_or_create(preview.platform, preview.user_id)
    try:
        status, query, page = _ask(site, path, guide="6", key="-2", tempo="110")
        assert query["asked"] == ["quota"] and "the most for one day" in page
        assert not connection.exists(keys.karaoke_slot(preview.platform, preview.user_id))
        site.pay.users.set_banned(owner.id, True, "admin:1")
        status, query, page = _ask(site, path, guide="6", key="-2", tempo="110")
        assert query["asked"] == ["banned"] and "this account can't use the bot" in page
        assert Queue("karaoke", connection=connection).count == 0  # nothing asked of a worker
    finally:
        site.pay.users.set_banned(owner.id, False, "admin:1")
        if kept is None:
            connection.delete(count)
        else:
            connection.set(count, kept)
