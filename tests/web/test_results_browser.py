"""The results page in a real browser: Debian's chromium driven through its chromedriver.

Both come from apt (``scripts/setup.sh --dev``); selenium is pointed at them, so Selenium Manager
never runs and no browser is downloaded. Headless, and ``--no-sandbox`` because CI runs as root.
Screenshots are kept in ``test-artifacts/`` (git-ignored; ``TEST_ARTIFACTS_DIR`` moves it).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import OWNER, SONG_S, Site

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / "test-artifacts")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = (390, 844)  # CSS pixels of a common phone
WAIT_S = 60.0
MAX_TABS = 40

# Load and seek one <audio>: muted play() (the autoplay flag allows it) then pause, as a person
# pressing play would; then a seek to ``target`` seconds, reporting what the element says.
SEEK_SCRIPT = """
const [audio, target, done] = arguments;
(async () => {
  audio.muted = true;
  await audio.play();
  audio.pause();
  while (audio.readyState < 2) await new Promise(r => setTimeout(r, 50));
  const loaded = audio.readyState;
  await new Promise(resolve => {
    audio.addEventListener('seeked', resolve, {once: true});
    audio.currentTime = target;
  });
  while (audio.readyState < 2) await new Promise(r => setTimeout(r, 50));
  done({loaded, readyState: audio.readyState, currentTime: audio.currentTime,
        duration: audio.duration, seekableEnd: audio.seekable.length ? audio.seekable.end(0) : 0,
        error: audio.error && audio.error.code});
})().catch(e => done({failed: String(e)}));
"""


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[WebDriver]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        pytest.fail(f"{missing} missing: run scripts/setup.sh --dev (apt chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required",
        "--no-first-run",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    # A phone's screen (a headless window can't be narrower than 500 px; this can), touch and
    # the viewport <meta> honoured as on a phone.
    options.add_experimental_option(
        "mobileEmulation",
        {"deviceMetrics": {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 2.0, "touch": True}},
    )
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page at phone width (beyond the window), kept as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def accessible_names(driver: WebDriver) -> dict[str, list[str]]:
    """Role -> the accessible names of the page's nodes of that role, in document order."""
    names: dict[str, list[str]] = {}
    for node in driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]:
        if not node.get("ignored") and "role" in node:
            names.setdefault(node["role"]["value"], []).append(node.get("name", {}).get("value", ""))
    return names


def wait_for_file(folder: Path, name: str) -> Path:
    target = folder / name
    deadline = time.monotonic() + WAIT_S
    while not target.is_file() or any(folder.glob("*.crdownload")):
        assert time.monotonic() < deadline, f"no download {name}: {sorted(os.listdir(folder))}"
        time.sleep(0.1)
    return target


def test_players_load_and_seek_download_decodes_and_thumbs_up_is_recorded(
    browser: WebDriver, site: Site, downloads: Path
) -> None:
    jobs = site.jobs
    browser.get(site.page_url(jobs.full))
    assert browser.title == "Night Drive — stems"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Night Drive"
    players = browser.find_elements(By.TAG_NAME, "audio")
    assert len(players) == 2

    for player, target in zip(players, (5.0, 2.5), strict=True):
        state = browser.execute_async_script(SEEK_SCRIPT, player, target)
        assert "failed" not in state, state
        assert state["error"] is None and state["loaded"] >= 2 and state["readyState"] >= 2
        assert abs(state["currentTime"] - target) < 0.1, state
        assert abs(state["duration"] - SONG_S) < 0.2, state
        assert state["seekableEnd"] >= state["duration"] - 0.1, state  # Range: all of it seekable
        label = browser.find_element(By.ID, player.get_attribute("aria-labelledby")).text
        assert label in ("Vocals", "Instrumental")

    # Every control has a name a screen reader reads out (Chromium's own accessibility tree).
    named = accessible_names(browser)
    assert named["Audio"] == ["Vocals", "Instrumental"], named
    assert named["button"].count("") == 0 and {"Sounds good", "Not good"} <= set(named["button"])
    links = named["link"]
    assert [re.sub(r"\d+(\.\d)? [KM]B", "N", n) for n in links] == [
        "Download vocals (MP3, N)",
        "Download instrumental (MP3, N)",
    ], links
    assert named["image"] and all(named["image"])

    # Readable on a phone: nothing wider than the screen, the buttons big enough to tap.
    fits = "return document.documentElement.scrollWidth <= window.innerWidth"
    assert browser.execute_script(fits)
    narrow = {"width": 320, "height": 640, "deviceScaleFactor": 2, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", narrow)
    assert browser.execute_script("return window.innerWidth") == 320
    assert browser.execute_script(fits), "the page is wider than a 320 px phone"
    phone = {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    heights = browser.execute_script(
        "return [...document.querySelectorAll('a.button, button')].map(b => b.getBoundingClientRect().height)"
    )
    assert len(heights) == 9 and min(heights) >= 44  # downloads, 👍/👎, the mixer's play/mute/solo
    # No request left this origin (CSP forbids it; the browser's own record agrees).
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert len(fetched) >= 3 and all(url.startswith(site.base + "/") for url in fetched), fetched
    shot = screenshot(browser, "results-page-phone.png")
    assert shot.stat().st_size > 10_000

    browser.find_element(By.PARTIAL_LINK_TEXT, "Download vocals").click()
    saved = wait_for_file(downloads, "Night Drive (vocals).mp3")
    assert saved.read_bytes() == jobs.stored(jobs.full, "vocals").read_bytes()
    audio, rate = sf.read(saved, dtype="float32")
    assert rate == 44_100 and audio.ndim == 2 and audio.shape[1] == 2
    assert abs(len(audio) / rate - SONG_S) < 0.2 and np.isfinite(audio).all()

    # 👍 by keyboard alone: Tab to the button, Enter.
    up = browser.find_element(By.CSS_SELECTOR, "button[value=up]")
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(MAX_TABS):
        if browser.switch_to.active_element == up:
            break
        body.send_keys(Keys.TAB)
    assert browser.switch_to.active_element == up, "👍 cannot be reached with Tab"
    up.send_keys(Keys.ENTER)
    WebDriverWait(browser, WAIT_S, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: "Thanks for the feedback" in d.find_element(By.TAG_NAME, "main").text
    )
    assert browser.current_url.endswith("?rated=up")
    assert browser.find_element(By.CSS_SELECTOR, "button[value=up]").get_attribute("aria-pressed") == "true"
    owner = site.pay.users.get_or_create("telegram", OWNER)
    rows = site.pay.feedback.export_csv().strip().splitlines()[1:]
    assert [row.split(",")[2:6] for row in rows] == [
        [f"user:{owner.id}", jobs.full.id, jobs.full.model_version, "1"]
    ]


def test_an_expired_link_shows_the_403_page(browser: WebDriver, site: Site) -> None:
    browser.get(site.page_url(site.jobs.full, now=0))
    assert browser.find_element(By.TAG_NAME, "h1").text == "This link has expired"
    assert "Ask the bot in the chat for a new one" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.TAG_NAME, "audio")
    screenshot(browser, "results-page-expired.png")


@pytest.mark.browser
def test_chromium_is_the_apt_one() -> None:
    """The test set-up installs Debian's browser; nothing was downloaded by a Python package."""
    assert shutil.which("chromium") == CHROMIUM and shutil.which("chromedriver") == CHROMEDRIVER


def test_a_persian_page_renders_right_to_left(browser: WebDriver, site: Site) -> None:
    """The page speaks its job's language: Persian is laid out right to left (``dir=rtl``), the
    players, buttons and downloads are worded in it, and the page still fits a phone."""
    records = site.jobs.queue.records
    records.update(site.jobs.full.id, language="fa")
    try:
        browser.get(site.page_url(site.jobs.full))
        html = browser.find_element(By.TAG_NAME, "html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("fa", "rtl")
        direction = "return getComputedStyle(document.querySelector('main')).direction"
        assert browser.execute_script(direction) == "rtl"
        assert browser.title == "Night Drive — ترک‌ها"
        named = accessible_names(browser)
        assert named["Audio"] == ["صدای خواننده", "بی‌کلام"], named
        assert {"خوب است", "خوب نیست"} <= set(named["button"])
        assert all(name.startswith("دانلود ") for name in named["link"]), named["link"]
        # The mixer (shown by its script) speaks Persian too.
        WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "mixer").is_displayed())
        named = accessible_names(browser)
        assert {"موقعیت", "بلندی صدای خواننده", "بلندی بی‌کلام"} <= set(named["slider"]), named["slider"]
        assert {"پخش", "بی‌صدا کردن صدای خواننده", "فقط بی‌کلام"} <= set(named["button"]), named["button"]
        # Right to left: the first button of the rating row sits right of the second.
        left = browser.execute_script(
            "return [...document.querySelectorAll('.rate button')].map(b => b.getBoundingClientRect().left)"
        )
        assert left[0] > left[1], left
        fits = "return document.documentElement.scrollWidth <= window.innerWidth"
        assert browser.execute_script(fits)
        shot = screenshot(browser, "results-page-persian-rtl.png")
        assert shot.stat().st_size > 10_000
    finally:
        records.update(site.jobs.full.id, language="")
