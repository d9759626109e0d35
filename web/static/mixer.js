/*
 * The results page's stem mixer, and the karaoke version's status (web/results_html.py).
 *
 * What is heard is exactly  instrumental × its level + vocals × its level  (mute and solo set a
 * level to 0): both stems go through one Web Audio graph, each into its own GainNode, into the
 * speakers. The stems sum to the song, so at full levels this is the song itself.
 *
 * Streamed, never decoded whole: the page fetches short segments of each stem from our own
 * server (GET <token>/segment/<stem>/<i>.flac: frames [i·N, (i+1)·N), exact, web/stem_segments.py),
 * decodes one at a time, and schedules segment i of both stems at the same context time,
 * end to end on one clock (AudioBufferSourceNode.start(when)), a few seconds ahead of what
 * plays. A played segment is let go, so a 20-minute song holds about as much decoded audio as a
 * 30-second one (bench/mixer_memory.py). The context runs at the stems' sample rate, so nothing is
 * resampled and both stems stay aligned to the sample; a seek drops what was scheduled and
 * starts again at the new frame.
 *
 * Without this script the page shows the two plain players; the mixer section stays hidden.
 * Every word shown comes from the page's data- attributes (the page's language).
 */
(() => {
  "use strict";
  const LEAD_S = 0.1; // from "segment decoded" to its first sample playing
  const AHEAD_S = 8; // how far ahead segments are scheduled
  const TICK_MS = 200;
  const RAMP_S = 0.01; // level changes glide (time constant): no click
  const POLL_MS = 2000;
  const POLL_MAX = 300; // a karaoke version is polled for ten minutes at most

  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  const clock = (seconds) => {
    const total = Math.max(0, Math.round(seconds));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const ss = String(s).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  karaokeStatus();
  mixer();

  function karaokeStatus() {
    const pending = document.getElementById("karaoke-pending");
    if (!pending || !window.fetch) return;
    const d = pending.dataset;
    let polls = 0;
    const ready = () => {
      const heading = document.createElement("h3");
      heading.id = "karaoke-version";
      heading.textContent = d.ready;
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "metadata";
      audio.src = `${d.base}/audio`;
      audio.setAttribute("aria-labelledby", heading.id);
      const link = document.createElement("a");
      link.className = "button";
      link.href = `${d.base}/file`;
      link.download = "";
      link.textContent = d.download;
      pending.replaceWith(heading, audio, link);
    };
    const poll = async () => {
      polls += 1;
      try {
        const reply = await fetch(`${d.base}/status`, { credentials: "same-origin" });
        const { state } = await reply.json();
        if (state === "ready") return ready();
        if (state !== "pending") {
          pending.textContent = d.failed;
          return;
        }
      } catch (_) {
        // a lost poll: the next one asks again
      }
      if (polls < POLL_MAX) setTimeout(poll, POLL_MS);
    };
    setTimeout(poll, POLL_MS);
  }

  function mixer() {
    const root = document.getElementById("mixer");
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!root || !Context || !window.fetch) return;
    const d = root.dataset;
    const playButton = root.querySelector("#mixer-play");
    const seek = root.querySelector("#mixer-position");
    const time = root.querySelector("#mixer-time");
    const status = root.querySelector("#mixer-status");
    const stems = ["vocals", "instrumental"];
    const levels = { vocals: 1, instrumental: 1 };
    const muted = { vocals: false, instrumental: false };
    const solo = { vocals: false, instrumental: false };

    let layout = null; // {sampleRate, frames, segmentFrames}
    let ctx = null;
    const gains = {};
    let playing = false;
    let generation = 0; // bumped by every play, pause and seek: older work stops
    let anchor = null; // song frame anchor.frame plays at context time anchor.ctxTime
    let resumeFrame = 0;
    let dragging = false;
    const sources = new Set();
    const loads = new Map(); // segment index → Promise of {stem: AudioBuffer}

    const say = (text) => {
      status.textContent = text || "";
    };
    const seconds = (frame) => frame / layout.sampleRate;
    const segments = () => Math.ceil(layout.frames / layout.segmentFrames);

    fetch(`${d.base}/mixer.json`, { credentials: "same-origin" })
      .then((reply) => (reply.ok ? reply.json() : Promise.reject(new Error(String(reply.status)))))
      .then((answer) => {
        layout = answer;
        seek.max = String(Math.max(1, Math.floor(seconds(layout.frames))));
        root.hidden = false;
        showPosition(0);
        bind();
      })
      .catch(() => undefined); // the plain players below still work: the mixer stays hidden

    function bind() {
      playButton.addEventListener("click", () => (playing ? pause() : play()));
      seek.addEventListener("input", () => {
        dragging = true;
        showPosition(Number(seek.value) * layout.sampleRate);
      });
      seek.addEventListener("change", () => {
        dragging = false;
        const frame = Math.min(Number(seek.value) * layout.sampleRate, layout.frames - 1);
        if (playing) startAt(frame);
        else resumeFrame = frame;
        showPosition(frame);
      });
      for (const stem of stems) {
        const slider = root.querySelector(`[data-level="${stem}"]`);
        const shown = root.querySelector(`output[for="${slider.id}"]`);
        slider.addEventListener("input", () => {
          levels[stem] = Number(slider.value) / 100;
          const text = fill(d.percent, { percent: slider.value });
          slider.setAttribute("aria-valuetext", text);
          if (shown) shown.textContent = text;
          applyLevels();
        });
        for (const [attr, flags] of [["data-mute", muted], ["data-solo", solo]]) {
          const button = root.querySelector(`[${attr}="${stem}"]`);
          button.addEventListener("click", () => {
            flags[stem] = !flags[stem];
            button.setAttribute("aria-pressed", String(flags[stem]));
            applyLevels();
          });
        }
      }
      setInterval(tick, TICK_MS);
    }

    function level(stem) {
      const soloed = stems.some((s) => solo[s]);
      if (muted[stem] || (soloed && !solo[stem])) return 0;
      return levels[stem];
    }

    function applyLevels() {
      if (!ctx) return;
      for (const stem of stems) {
        const param = gains[stem].gain;
        param.cancelScheduledValues(ctx.currentTime);
        param.setTargetAtTime(level(stem), ctx.currentTime, RAMP_S);
      }
    }

    function ensureContext() {
      if (ctx) return ctx;
      try {
        ctx = new Context({ sampleRate: layout.sampleRate, latencyHint: "playback" });
      } catch (_) {
        ctx = new Context(); // an old browser: it resamples, both stems alike
      }
      for (const stem of stems) {
        gains[stem] = ctx.createGain();
        gains[stem].gain.value = level(stem);
        gains[stem].connect(ctx.destination);
      }
      return ctx;
    }

    function currentFrame() {
      if (!playing || !anchor) return resumeFrame;
      const elapsed = Math.max(0, ctx.currentTime - anchor.ctxTime);
      return Math.min(layout.frames, anchor.frame + Math.round(elapsed * layout.sampleRate));
    }

    function showPosition(frame) {
      const length = clock(seconds(layout.frames));
      const at = clock(seconds(frame));
      time.textContent = `${at} / ${length}`;
      if (!dragging) seek.value = String(Math.floor(seconds(frame)));
      seek.setAttribute("aria-valuetext", fill(d.position, { position: at, length }));
    }

    function tick() {
      if (!layout) return;
      const frame = currentFrame();
      if (playing && frame >= layout.frames) {
        pause();
        resumeFrame = 0;
      }
      showPosition(playing ? frame : resumeFrame);
    }

    async function play() {
      ensureContext();
      await ctx.resume();
      playing = true;
      playButton.textContent = d.pause;
      startAt(resumeFrame >= layout.frames ? 0 : resumeFrame);
    }

    function pause() {
      resumeFrame = currentFrame();
      generation += 1;
      stopAll();
      playing = false;
      anchor = null;
      playButton.textContent = d.play;
      say("");
    }

    function stopAll() {
      for (const source of sources) {
        source.onended = null;
        try {
          source.stop();
        } catch (_) {
          // never started
        }
        source.disconnect();
      }
      sources.clear();
      loads.clear();
    }

    function load(index) {
      if (!loads.has(index)) {
        const decoded = Promise.all(
          stems.map(async (stem) => {
            const reply = await fetch(`${d.base}/segment/${stem}/${index}.flac`, { credentials: "same-origin" });
            if (!reply.ok) throw new Error(String(reply.status));
            return ctx.decodeAudioData(await reply.arrayBuffer());
          }),
        ).then((buffers) => Object.fromEntries(stems.map((stem, i) => [stem, buffers[i]])));
        loads.set(index, decoded);
      }
      return loads.get(index);
    }

    // Context time at which segment `index`'s first frame plays on the current anchor.
    const segmentTime = (index) =>
      anchor.ctxTime + (index * layout.segmentFrames - anchor.frame) / layout.sampleRate;

    function schedule(index, buffers) {
      const skip = Math.max(0, anchor.frame - index * layout.segmentFrames); // frames
      const when = segmentTime(index) + skip / layout.sampleRate;
      for (const stem of stems) {
        const source = ctx.createBufferSource();
        source.buffer = buffers[stem];
        source.connect(gains[stem]);
        source.onended = () => {
          sources.delete(source);
          source.disconnect(); // the decoded segment can go
        };
        source.start(when, skip / layout.sampleRate);
        sources.add(source);
      }
    }

    async function startAt(frame) {
      generation += 1;
      const mine = generation;
      stopAll();
      anchor = null;
      resumeFrame = frame;
      const first = Math.floor(frame / layout.segmentFrames);
      say(d.loading);
      let buffers;
      try {
        buffers = await load(first);
      } catch (_) {
        if (mine === generation) failed();
        return;
      }
      if (mine !== generation) return;
      say("");
      const rate = layout.sampleRate;
      // On a sample of the context's clock: every segment then starts on a sample, too.
      anchor = { ctxTime: Math.ceil((ctx.currentTime + LEAD_S) * rate) / rate, frame };
      root.mixerTimeline = { ...anchor }; // where the song is on the context's clock
      schedule(first, buffers);
      loads.delete(first);
      feed(mine, first + 1);
    }

    async function feed(mine, index) {
      while (mine === generation && index < segments()) {
        if (segmentTime(index) - ctx.currentTime > AHEAD_S) {
          await sleep(TICK_MS);
          continue;
        }
        let buffers;
        try {
          buffers = await load(index);
        } catch (_) {
          if (mine === generation) failed();
          return;
        }
        if (mine !== generation) return;
        loads.delete(index);
        if (segmentTime(index) < ctx.currentTime + 0.005) {
          // It came too late (a slow network): start again from where the song is now.
          startAt(Math.min(currentFrame(), index * layout.segmentFrames));
          return;
        }
        schedule(index, buffers);
        index += 1;
        if (index < segments()) load(index).catch(() => undefined); // fetched while this plays
      }
    }

    function failed() {
      pause();
      say(d.failed);
    }
  }
})();
