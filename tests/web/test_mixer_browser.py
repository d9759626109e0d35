"""The results page's mixer in a real Chromium: what it plays, captured sample by sample.

A recorder (an ``AudioWorkletNode`` the test adds, fed by every node the page connects to the
speakers) keeps the very samples the page sends out, each with its context frame; the page's
mixer says where the song is on that clock (``mixerTimeline``). What it played must be
instrumental + level × vocals — the stored stems, decoded by us — at three vocal levels and after
a seek across a segment seam, aligned to within 5 ms and 30 dB SNR, and at full levels the song
itself. The test's recorder is a blob module, so the test lifts the page's CSP for that run only
(CDP ``Page.setBypassCSP``); the karaoke test runs under the real CSP, the script included.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Iterator

import numpy as np
import pytest
import soundfile as sf
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from engine.audio import decode
from testbed.workers import Workers

from .conftest import Site
from .test_results_browser import (
    CHROMEDRIVER,
    CHROMIUM,
    WAIT_S,
    accessible_names,
    browser,
    downloads,
    screenshot,
)

__all__ = ["browser", "downloads"]  # the module-scoped Chromium of the results page's tests

RATE = 44_100
MAX_LAG_S = 0.005
MIN_SNR_DB = 30.0
SETTLE_S = 0.15  # a level glides for ~10 ms (mixer.js RAMP_S): measure after it
WINDOW_S = 0.8

RECORDER = """
(() => {
  const Native = window.AudioContext;
  const recorded = (window.__recorded = { chunks: [], ctx: null });
  const pending = [];
  const module = `class Recorder extends AudioWorkletProcessor {
    process(inputs) {
      const input = inputs[0];
      const [left, right] = [input[0], input[1] || input[0]];
      if (input.length) this.port.postMessage([currentFrame, left.slice(), right.slice()]);
      return true;
    }
  }
  registerProcessor("recorder", Recorder);`;
  window.AudioContext = class extends Native {
    constructor(...args) {
      super(...args);
      recorded.ctx = this;
      const url = URL.createObjectURL(new Blob([module], { type: "text/javascript" }));
      this.audioWorklet.addModule(url).then(() => {
        const node = new AudioWorkletNode(this, "recorder", {
          numberOfInputs: 1, numberOfOutputs: 0, channelCount: 2, channelCountMode: "explicit" });
        node.port.onmessage = (e) => recorded.chunks.push(e.data);
        this.__recorder = node;
        for (const source of pending.splice(0)) connect.call(source, node);
      });
    }
  };
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    const result = connect.call(this, target, ...rest);
    if (target instanceof AudioDestinationNode) {
      if (this.context.__recorder) connect.call(this, this.context.__recorder);
      else pending.push(this);
    }
    return result;
  };
})();
"""

# The recorded samples by context frame (silence where nothing played: an input with no active
# source has no channels, and the recorder gets nothing for those quanta), as base64 float32.
TAKE = """
const chunks = window.__recorded.chunks;
const first = chunks[0][0], last = chunks[chunks.length - 1];
const frames = last[0] + last[1].length - first;
const out = new Float32Array(frames * 2);
for (const [frame, left, right] of chunks) {
  const at = (frame - first) * 2;
  for (let i = 0; i < left.length; i++) { out[at + 2 * i] = left[i]; out[at + 2 * i + 1] = right[i]; }
}
const bytes = new Uint8Array(out.buffer);
let text = "";
for (let i = 0; i < bytes.length; i += 0x8000) {
  text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
}
return { first, data: btoa(text) };
"""


def _now(driver: WebDriver) -> float:
    return float(driver.execute_script("return window.__recorded.ctx.currentTime"))


def _timeline(driver: WebDriver) -> dict[str, float] | None:
    result = driver.execute_script("return document.getElementById('mixer').mixerTimeline || null")
    return result  # type: ignore[no-any-return]


def _wait_until(driver: WebDriver, ctx_time: float) -> None:
    deadline = time.monotonic() + WAIT_S
    while _now(driver) < ctx_time:
        assert time.monotonic() < deadline, "the audio clock stopped"
        time.sleep(0.05)


def _snr_db(played: np.ndarray, wanted: np.ndarray) -> float:
    noise = float(np.sum((played - wanted) ** 2))
    return 10 * np.log10(float(np.sum(wanted**2)) / max(noise, 1e-20))


def _best_lag(played: np.ndarray, reference: np.ndarray, start: int, length: int, search: int) -> int:
    """The shift (frames) of ``reference`` that the window ``played[start:start+length]`` fits best."""
    window = played[:, start : start + length]
    errors = [
        float(np.sum((window - reference[:, start + lag : start + lag + length]) ** 2))
        for lag in range(-search, search + 1)
    ]
    return int(np.argmin(errors)) - search


@pytest.fixture
def capture(browser: WebDriver) -> Iterator[WebDriver]:
    browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": True})
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    try:
        yield browser
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )
        browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": False})


def test_the_mixer_plays_instrumental_plus_level_times_vocals(capture: WebDriver, site: Site) -> None:
    driver = capture
    job = site.jobs.lossless
    vocals = decode(site.jobs.stored(job, "vocals"), 60.0, allow_silence=True)
    instrumental = decode(site.jobs.stored(job, "instrumental"), 60.0, allow_silence=True)
    song, _ = sf.read(site.jobs.songs / "3.wav", dtype="float32", always_2d=True)
    song = song.T

    driver.get(site.page_url(job))
    WebDriverWait(driver, WAIT_S).until(lambda d: d.find_element(By.ID, "mixer").is_displayed())
    play = driver.find_element(By.ID, "mixer-play")
    play.send_keys(Keys.ENTER)  # by keyboard
    WebDriverWait(driver, WAIT_S).until(lambda d: _timeline(d) is not None)
    first = _timeline(driver)
    assert first is not None and first["frame"] == 0
    assert play.text == "Pause"

    # (context time the level holds from, vocal level, the anchor in force)
    spans: list[tuple[float, float, dict[str, float]]] = [(first["ctxTime"], 1.0, first)]

    def hold(level: float) -> None:
        start, _, anchor = spans[-1]
        _wait_until(driver, max(start, _now(driver)) + SETTLE_S + WINDOW_S + 0.05)
        slider = driver.find_element(By.CSS_SELECTOR, "[data-level=vocals]")
        changed = driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));"
            "return window.__recorded.ctx.currentTime",
            slider,
            str(round(level * 100)),
        )
        spans.append((float(changed), level, anchor))

    hold(0.5)
    hold(0.2)
    # A seek to 4.2 s: the window after it crosses the seam between segments 0 and 1 (5 s).
    _wait_until(driver, spans[-1][0] + SETTLE_S + WINDOW_S + 0.05)
    driver.execute_script(
        "const s = document.getElementById('mixer-position'); s.value = '4';"
        "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));"
    )
    WebDriverWait(driver, WAIT_S).until(lambda d: (_timeline(d) or {}).get("frame") == 4 * RATE)
    seek = _timeline(driver)
    assert seek is not None
    spans.append((seek["ctxTime"], 0.2, seek))
    _wait_until(driver, seek["ctxTime"] + 1.3)  # 4.0 → 5.3 s of the song
    shot = screenshot(driver, "results-mixer-phone.png")
    assert shot.stat().st_size > 10_000
    taken = driver.execute_script(TAKE)
    driver.find_element(By.ID, "mixer-play").send_keys(Keys.ENTER)  # pause
    played = np.frombuffer(base64.b64decode(taken["data"]), dtype=np.float32).reshape(-1, 2).T
    first_frame = int(taken["first"])

    search = int(0.02 * RATE)  # look ±20 ms for the best fit; it must be within 5 ms
    checked = []
    for k, (start, level, anchor) in enumerate(spans):
        # The window: from SETTLE_S after the level took hold, WINDOW_S long (after a seek: 1 s).
        from_ctx = start + SETTLE_S
        length = int((1.0 if k == len(spans) - 1 else WINDOW_S) * RATE)
        at = int(round(from_ctx * RATE)) - first_frame  # index into ``played``
        song_at = int(anchor["frame"] + round((from_ctx - anchor["ctxTime"]) * RATE))
        lo, hi = song_at - search, song_at + length + search
        wanted = instrumental[:, lo:hi] + level * vocals[:, lo:hi]
        window = played[:, at : at + length]
        lag = _best_lag(played[:, at - search : at + length + search], wanted, search, length, search)
        assert abs(lag) <= MAX_LAG_S * RATE, (k, level, lag)
        snr = _snr_db(window, wanted[:, search + lag : search + lag + length])
        assert snr >= MIN_SNR_DB, (k, level, snr, lag)
        checked.append((level, lag, round(snr, 1), song_at + lag))
        if level == 1.0:  # full levels: the song itself
            mix = song[:, song_at + lag : song_at + lag + length]
            assert _snr_db(window, mix) >= MIN_SNR_DB, "at full levels the mixer is not the song"
    assert [c[0] for c in checked] == [1.0, 0.5, 0.2, 0.2], checked
    assert checked[-1][3] < 5 * RATE < checked[-1][3] + RATE  # the last window crossed the seam

    # Mute by keyboard: the vocals go, the instrumental stays; solo the vocals: only them.
    mute = driver.find_element(By.CSS_SELECTOR, "[data-mute=vocals]")
    mute.send_keys(Keys.SPACE)
    assert mute.get_attribute("aria-pressed") == "true"
    named = accessible_names(driver)
    assert {"Play", "Mute vocals", "Solo vocals", "Mute instrumental", "Solo instrumental"} <= set(
        named["button"]
    ), named["button"]
    assert {"Position", "Vocals level", "Instrumental level"} <= set(named["slider"]), named["slider"]


def test_without_javascript_the_page_has_its_two_players(site: Site) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(site.page_url(site.jobs.preview))
        players = driver.find_elements(By.TAG_NAME, "audio")
        assert len(players) == 2 and all(p.is_displayed() for p in players)
        assert not driver.find_element(By.ID, "mixer").is_displayed()  # hidden: it needs the script
        assert driver.find_element(By.ID, "karaoke-key").is_displayed()  # the form posts without it
    finally:
        driver.quit()


def test_a_karaoke_setting_chosen_on_the_page_brings_the_new_version(
    browser: WebDriver, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Under the real CSP: the script runs (the mixer shows), the form asks the karaoke queue, a
    real worker renders, and the page puts the new version's player in without a reload."""
    jobs = site.jobs
    workers = Workers(jobs.settings, tmp_path_factory.mktemp("karaoke-worker"))
    workers.start(1)
    try:
        browser.get(site.page_url(jobs.preview))
        WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "mixer").is_displayed())
        Select(browser.find_element(By.ID, "karaoke-key")).select_by_value("3")
        Select(browser.find_element(By.ID, "karaoke-guide")).select_by_value("12")
        browser.find_element(By.CSS_SELECTOR, "form.karaoke button[type=submit]").click()
        WebDriverWait(browser, WAIT_S).until(lambda d: "version=g12.k3.t100" in d.current_url)
        status = browser.find_element(By.ID, "karaoke-pending").text
        assert "Making the preview with guide vocal −12 dB, key +3" in html.unescape(status)
        WebDriverWait(browser, WAIT_S * 2).until(lambda d: d.find_elements(By.ID, "karaoke-version"))
        heading = browser.find_element(By.ID, "karaoke-version").text
        assert heading == "🎤 Karaoke preview: guide vocal −12 dB, key +3, tempo 100 %."
        player = browser.find_element(By.CSS_SELECTOR, "audio[aria-labelledby=karaoke-version]")
        assert player.get_attribute("src").endswith("/karaoke/g12.k3.t100/audio")
        ready = browser.execute_async_script(
            "const [a, done] = arguments; a.muted = true;"
            "a.play().then(() => { a.pause(); done({d: a.duration, e: a.error && a.error.code}); })"
            ".catch(e => done({failed: String(e)}));",
            player,
        )
        assert "failed" not in ready and ready["e"] is None and abs(ready["d"] - 3.0) < 0.2, ready
        fits = "return document.documentElement.scrollWidth <= window.innerWidth"
        assert browser.execute_script(fits)
        assert screenshot(browser, "results-karaoke-phone.png").stat().st_size > 10_000
    finally:
        workers.stop_all()
