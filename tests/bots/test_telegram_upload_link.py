"""A song too big for the chat goes in through an upload link: the page (real Chromium) takes
the file, checks it as the bot does, and the bot carries on in the chat as if it had been sent
there — the real PTB bot against the fake Bot API, a real worker, the real web server.

Screenshots of the page are kept in ``test-artifacts/`` (as the results page's are).
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

import jobs
import payments
from engine.errors import NotAudioError
from testbed.redis_server import free_port
from tests.bots.conftest import Harness
from tests.web.conftest import LiveServer
from tests.web.test_results_browser import browser, downloads, screenshot
from texts import chat as messages
from texts import error_text
from web.server import build_app
from web.upload_links import UploadLinks
from web.uploads import UploadDesk

__all__ = ["browser", "downloads"]  # the browser fixtures, shared with the results page's tests

DOWNLOAD_SECRET = "upload-test-download-secret"
WAIT_S = 60.0
URL_RE = re.compile(r"http://127\.0\.0\.1:\d+/u/\S+")


@pytest.fixture
def web_port() -> int:
    return free_port()


@pytest.fixture
def payments_settings(payments_settings: payments.Settings, web_port: int) -> payments.Settings:
    """The bots' settings (tests/bots/conftest.py), with upload links: the web server's address."""
    return dataclasses.replace(
        payments_settings, download_secret=DOWNLOAD_SECRET, public_base_url=f"http://127.0.0.1:{web_port}"
    )


@dataclass
class WebServer:
    base: str
    spool: Path
    links: UploadLinks
    desk: UploadDesk

    def leftovers(self) -> list[Path]:
        return sorted(self.spool.rglob("*")) if self.spool.exists() else []


@pytest.fixture
def web_server(
    jobs_settings: jobs.Settings, payments_settings: payments.Settings, web_port: int, tmp_path: Path
) -> Iterator[WebServer]:
    """``python -m web.server`` as composed in production (its own store and queue), in a thread."""
    pay = payments.Payments.open(payments_settings)
    queue = jobs.JobQueue(jobs_settings)
    links = UploadLinks(payments_settings)
    spool = tmp_path / "web-spool"
    desk = UploadDesk(pay, queue, links, spool)
    app, _ = build_app(pay, pay.fulfilment(lambda order: None), uploads=desk)
    try:
        with LiveServer(app, port=web_port):
            yield WebServer(f"http://127.0.0.1:{web_port}", spool, links, desk)
    finally:
        queue.connection.close()
        pay.close()


def send_in_browser(driver: WebDriver, url: str, song: Path, shot: str | None = None) -> str:
    """Open the link, choose the file, press Upload; what the page says once it answered."""
    driver.get(url)
    driver.find_element(By.ID, "file").send_keys(str(song))
    if shot:
        screenshot(driver, shot)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("done", "refused")
    )
    return driver.find_element(By.ID, "status").text


async def test_a_song_sent_through_the_upload_page_continues_in_the_chat(
    bot: Harness, worker: object, media: dict[str, Path], web_server: WebServer, browser: WebDriver
) -> None:
    api, user = bot.api, bot.user(501)
    # Over the chat's download limit: the answer is a link, not a refusal.
    api.send_media(user, media["large"], "document", mime_type="audio/wav")
    told = await api.wait_for_text(user.id, "Send it through this link instead")
    assert "bots can only download files up to 21 MB" in told and URL_RE.search(told)
    # Any file, by /upload.
    api.send_text(user, "/upload")
    told = await api.wait_for_text(user.id, "Open this link in your browser")
    match = URL_RE.search(told)
    assert match is not None
    url = match.group(0)

    # A file the bot would refuse gets the bot's words on the page; the link stays usable.
    said = await asyncio.to_thread(send_in_browser, browser, url, media["text"], "upload-page.png")
    assert error_text(NotAudioError.code) in said
    await asyncio.to_thread(screenshot, browser, "upload-page-refused.png")

    said = await asyncio.to_thread(send_in_browser, browser, url, media["song"])
    assert "Your song is in" in said
    await asyncio.to_thread(screenshot, browser, "upload-page-done.png")
    # The chat carries on as if the song had been sent there: status message, preview, buttons.
    assert await api.wait_for_text(user.id, "separating the preview")
    _instrumental, _vocals, photo = await bot.preview(user, timeout=90)
    job = bot.queue.get(bot.button(photo, "buy:")["callback_data"].split(":", 1)[1])
    assert job is not None and (job.chat_id, job.filename) == (str(user.id), media["song"].name)
    assert web_server.leftovers() == []  # the upload went into storage; nothing left behind

    # The link took its song: opened again, it says so.
    await asyncio.to_thread(browser.get, url)
    assert "This link was used" in browser.find_element(By.TAG_NAME, "h1").text


async def test_expired_forged_and_cut_off_uploads_are_refused_and_leave_nothing(
    web_server: WebServer, media: dict[str, Path]
) -> None:
    links = web_server.links
    expired = links.url("telegram", 77, 77, "en", now=time.time() - links.ttl_s - 5)
    url = links.url("telegram", 77, 77, "en")
    async with aiohttp.ClientSession() as http:
        async with http.get(expired) as reply:
            assert reply.status == 403 and "This link has expired" in await reply.text()
        async with http.get(url[:-1] + ("0" if url[-1] != "0" else "1")) as reply:
            assert reply.status == 403 and "This link is not valid" in await reply.text()
        # Without JavaScript the form posts the file and the answer is a page.
        form = aiohttp.FormData()
        form.add_field("file", media["text"].read_bytes(), filename="lyrics.txt")
        async with http.post(url, data=form) as reply:
            page = await reply.text()
            assert reply.status == 422 and html.escape(error_text(NotAudioError.code)) in page
            assert "Choose another file" in page  # back to the form: the link still takes a file

    # Cut off midway: the file was streaming to disk; then nothing is left and the link works.
    port = int(url.split(":")[2].split("/")[0])
    path = url.split(str(port), 1)[1]
    head = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n"
    )
    total = len(head) + 4_000_000 + len(b"\r\n--B--\r\n")
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {total}\r\n"
            "Content-Type: multipart/form-data; boundary=B\r\n\r\n".encode()
            + head
            + media["large"].read_bytes()[:1_000_000]
        )
        deadline = time.monotonic() + WAIT_S
        while not [p for p in web_server.leftovers() if p.is_file()]:
            assert time.monotonic() < deadline, "the upload never reached the disk"
            await asyncio.sleep(0.05)
    deadline = time.monotonic() + WAIT_S
    while web_server.leftovers():
        assert time.monotonic() < deadline, f"left behind: {web_server.leftovers()}"
        await asyncio.sleep(0.05)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as reply:
            assert reply.status == 200 and 'type="file"' in await reply.text()
        # The script asks before sending: a declared size over ours, or a banned person, is
        # refused with the bot's words, and nothing is sent.
        ask = {"Accept": "application/json"}
        async with http.post(f"{url}/check?size={300 * 1024 * 1024}", headers=ask) as reply:
            answer = await reply.json()
            assert reply.status == 413 and not answer["ok"] and "MB" in answer["text"]
        users = web_server.desk.payments.users
        users.set_banned(users.get_or_create("telegram", 77).id, True, actor="test")
        async with http.post(f"{url}/check?size=1000", headers=ask) as reply:
            assert (reply.status, (await reply.json())["text"]) == (403, messages.BANNED)
