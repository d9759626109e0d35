"""Memory of the results page's mixer in Chromium while a long song plays (and seeks).

    python bench/mixer_memory.py [--minutes 20] [--play-s 20] [--no-record]

A song's two stems are generated (MP3, stereo, 44.1 kHz, ``--minutes`` long) and served by the
real results page (``web.results_page.ResultsPage`` with plain hooks: the page, its script, the
segment endpoint) on a loopback port; Debian's headless Chromium opens the page, presses Play
and plays ``--play-s`` seconds at each of several places in the song (a seek each), while the
proportional set size (PSS, /proc/<pid>/smaps_rollup) of the page's renderer process and of
Chromium's audio service is sampled, and again after a forced garbage collection (``gc()``,
``--js-flags=--expose-gc``): played segments are garbage the page no longer holds, which V8
collects when it likes; the second column is what the page really keeps. For comparison, the
same page then does what a naive mixer would: fetch both stems whole and ``decodeAudioData``
them (the memory a phone would need).
Prints a table and appends it to docs/BENCHMARKS.md (unless ``--no-record``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bench._record import record
from engine.audio import encode
from engine.constants import SAMPLE_RATE
from payments import Payments, Settings
from web.downloads import DownloadLinks
from web.job_results import JobResults, StoredFile
from web.page_tools import PageTools
from web.results_page import ResultsPage

JOB = "bench0000mixer"
SECRET = "bench-download-secret-0123456789abcdef"
NAIVE = """
const [base, done] = arguments;
(async () => {
  const ctx = new AudioContext({sampleRate: 44100});
  window.__whole = [];
  for (const stem of ["vocals", "instrumental"]) {
    const data = await (await fetch(`${base}/audio/${stem}`)).arrayBuffer();
    window.__whole.push(await ctx.decodeAudioData(data));
  }
  done(window.__whole.map(b => b.length));
})().catch(e => done(String(e)));
"""


def make_stems(folder: Path, minutes: float) -> dict[str, Path]:
    """Two stems that sum to a 'song': a vibrato voice and a bass line with noise hits."""
    rng = np.random.default_rng(1)
    block_s = 30
    t = np.arange(block_s * SAMPLE_RATE) / SAMPLE_RATE
    voice = 0.15 * np.sin(2 * np.pi * 220 * t * (1 + 0.01 * np.sin(2 * np.pi * 5 * t)))
    band = 0.2 * np.sin(2 * np.pi * 55 * t) + 0.05 * rng.standard_normal(t.size) * (
        np.sin(4 * np.pi * t) > 0.9
    )
    repeats = int(np.ceil(minutes * 60 / block_s))
    stems = {}
    for name, block in (("vocals", voice), ("instrumental", band)):
        audio = np.tile(np.stack([block, block * 0.9]).astype(np.float32), (1, repeats))
        stems[name] = encode(audio, folder / f"{name}.mp3", "mp3")
    return stems


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def chromium_processes(root: int) -> dict[str, list[int]]:
    """The renderers, the audio service and all of Chromium among ``root``'s descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: dict[str, list[int]] = {"renderer": [], "audio": [], "all": []}
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if pid != root:
            found["all"].append(pid)
        if "--type=renderer" in cmd:
            found["renderer"].append(pid)
        elif "audio.mojom.AudioService" in cmd:
            found["audio"].append(pid)
    return found


def serve(app: web.Application) -> tuple[int, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        port.append(runner.addresses[0][1])
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(30)
    return port[0], loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--play-s", type=float, default=20.0, help="seconds played at each place")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-mixer-"))
    started = time.perf_counter()
    stems = make_stems(work, args.minutes)
    print(f"stems: {args.minutes:g} min each, {time.perf_counter() - started:.0f} s to encode")
    settings = Settings(
        database_url=f"sqlite:///{work / 'pay.sqlite3'}",
        public_base_url="http://127.0.0.1",
        download_secret=SECRET,
        abuse_hmac_secret=SECRET,
    )
    pay = Payments.open(settings)
    files = {name: StoredFile(path, ".mp3", path.stat().st_size) for name, path in stems.items()}
    results = JobResults(
        job_id=JOB,
        preview=False,
        title="Long song",
        platform="telegram",
        user_id="1",
        model_version="bench",
        order_id=None,
        clip_s=args.minutes * 60,
        start_s=None,
        files=files,
    )
    app = web.Application()
    page = ResultsPage(
        pay,
        DownloadLinks(settings),
        lambda job: results if job == JOB else None,
        PageTools(lambda job, name: stems.get(name) if job == JOB else None),
    )
    page.add_routes(app.router)
    port, _loop = serve(app)
    url = f"http://127.0.0.1:{port}/r/{DownloadLinks(settings).page_token(JOB)}"

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required",
        "--js-flags=--expose-gc",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_script_timeout(600)
    rows: list[tuple[str, float, float, float, float]] = []
    try:
        driver.get(url)
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "mixer").is_displayed())

        def sample(what: str) -> None:
            procs = chromium_processes(driver.service.process.pid)
            renderer = sum(pss_mb(pid) for pid in procs["renderer"])
            audio = sum(pss_mb(pid) for pid in procs["audio"])
            total = sum(pss_mb(pid) for pid in procs["all"])
            driver.execute_script("gc()")  # what garbage collection can give back (--expose-gc)
            time.sleep(0.5)
            collected = sum(pss_mb(pid) for pid in procs["renderer"])
            rows.append((what, renderer, collected, audio, total))
            print(
                f"{what:<40} renderers {renderer:7.1f} MB (after GC {collected:7.1f})  audio {audio:6.1f} MB"
            )

        sample("page loaded, mixer shown")
        driver.find_element(By.ID, "mixer-play").click()
        length_s = args.minutes * 60
        for at in (0.0, length_s * 0.25, length_s * 0.5, length_s - args.play_s - 5):
            if at:
                driver.execute_script(
                    "const s = document.getElementById('mixer-position'); s.value = arguments[0];"
                    "s.dispatchEvent(new Event('change'));",
                    str(int(at)),
                )
            time.sleep(args.play_s / 2)
            sample(f"playing at {int(at) // 60}:{int(at) % 60:02d} + {args.play_s / 2:g} s")
            time.sleep(args.play_s / 2)
            sample(f"playing at {int(at) // 60}:{int(at) % 60:02d} + {args.play_s:g} s")
        driver.find_element(By.ID, "mixer-play").click()
        base = url.rsplit("/", 1)[1]
        lengths = driver.execute_async_script(NAIVE, base)
        sample(f"both stems decoded whole (naive; {lengths})")
    finally:
        driver.quit()
        pay.close()

    version = driver.capabilities.get("browserVersion", "?")
    table = [
        f"{args.minutes:g}-minute song (two MP3 stems), Chromium {version} "
        f"headless, {args.play_s:g} s played at each place; PSS from /proc/<pid>/smaps_rollup.",
        "",
        "| moment | renderers PSS (MB) | renderers after a GC (MB) | audio service (MB) "
        "| all Chromium (MB) |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {what} | {renderer:.1f} | {collected:.1f} | {audio:.1f} | {total:.1f} |"
            for what, renderer, collected, audio, total in rows
        ),
        "",
        "Command: `python bench/mixer_memory.py"
        + (f" --minutes {args.minutes:g}" if args.minutes != 20 else "")
        + (f" --play-s {args.play_s:g}" if args.play_s != 20 else "")
        + "`.",
    ]
    record("Results page mixer: the page's memory while a long song plays", "\n".join(table), args.no_record)


if __name__ == "__main__":
    main()
