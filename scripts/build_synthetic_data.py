"""Build synthetic training material: festival singing and fluidsynth accompaniment from music21 scores.

    python scripts/build_synthetic_data.py --out ../data-cache/synthetic [--minutes 25] [--seed 0]
    python scripts/build_synthetic_data.py --out ../data-cache/key-tempo --key-tempo 96


Why: real isolated vocals are what the training data is shortest of, and every real stem we hold
has one style. Synthetic singing and General-MIDI accompaniment are not realistic, but they are
free, reproducible from package archives alone (no internet beyond Debian and PyPI), and they add
voices, melodies and instrument timbres the model has not heard.

- ``<out>/vocals/festival/*.flac``: melodies (the top part of a score, rests as silence) sung by
  Debian's festival in its singing mode, with the score's lyrics where it has them and simple
  syllables ("la", "na", ...) otherwise, randomly transposed into the voice's range and tempo.
  Written at festival's native 16 kHz mono: ``engine.data`` takes each file's true band-width
  from its sample rate, so the files must not be upsampled.
- ``<out>/instrumental/fluidsynth__*.flac``: other scores rendered by fluidsynth with the
  FluidR3 General MIDI soundfont, 44.1 kHz stereo, random GM programs per part (never a voice
  or choir program), some with a simple drum pattern on channel 10. Loose files directly in
  ``instrumental/``, because ``engine.data`` sums the files of a sub-folder into one song.
- with ``--key-tempo N`` instead: ``<out>/pieces/*.flac``, N Bach chorales of known key and tempo
  for ``bench/key_tempo.py`` (all 24 keys, 60–180 BPM, half with GM drums), and
  ``<out>/LABELS.tsv``: each piece's key (the score's declared key plus the transposition
  applied) and tempo (the one it was rendered at); see :func:`build_key_tempo`.
- ``<out>/MANIFEST.tsv``: one row per file (kind, file, seconds, rate, channels, generator,
  music21 corpus work, licence), and ``<out>/licences/``: the copyright files of the Debian
  packages and music21's licence and corpus licence note.

Scores come from the music21 corpus, repertories of long-dead composers only. Left out on purpose:
``essenFolksong`` (its licence.txt allows non-commercial use only) and the Humdrum files
(``palestrina`` and other ``.krn``: copyright John Miller / CCARH with a licence agreement),
and any score whose own copyright line names a rights holder (e.g. a modern edition's).
No effects are added: training adds reverb, EQ and pitch augmentation itself.

Deterministic for a given ``--seed``; a re-run skips files that already exist (incremental), and a
larger ``--minutes`` continues where the last run stopped. Scores that fail to parse or render
are skipped and counted.

Needs (build time only, not the service):
    apt-get install -y festival festvox-kallpc16k festvox-kdlpc16k festvox-italp16k \
        festvox-itapc16k fluidsynth fluid-soundfont-gm
    pip install music21      # the corpus ships inside the package; works offline
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
FESTIVAL_VOICE_DIR = Path("/usr/share/festival/voices")
APT_LINE = (
    "apt-get install -y festival festvox-kallpc16k festvox-kdlpc16k festvox-italp16k "
    "festvox-itapc16k fluidsynth fluid-soundfont-gm"
)

# festival voice -> (Debian package, range of the melody's median MIDI note after transposition).
# All four are diphone voices, which festival's singing mode drives; they were checked with
# librosa.pyin to follow the written notes. Other Debian voices (HTS, clunits) ignore its targets.
VOICES = {
    "kal_diphone": ("festvox-kallpc16k", (48, 62)),  # American English male
    "ked_diphone": ("festvox-kdlpc16k", (48, 62)),  # American English male
    "pc_diphone": ("festvox-itapc16k", (47, 60)),  # Italian male
    "lp_diphone": ("festvox-italp16k", (57, 70)),  # Italian female
}
VOICE_LICENCE = {
    "festvox-kallpc16k": "permissive free licence (A. W. Black, K. Lenzo 1998; CSTR/CMU)",
    "festvox-kdlpc16k": "permissive free licence (CSTR/CMU)",
    "festvox-itapc16k": "GPL-2+ (IFM Development Team, ISTC-CNR/ITC-irst)",
    "festvox-italp16k": "GPL-2+ (IFM Development Team, ISTC-CNR/ITC-irst)",
}
COPYRIGHT_PACKAGES = ("festival", *(pkg for pkg, _ in VOICES.values()), "fluid-soundfont-gm")
SOUNDFONT_LICENCE = "FluidR3_GM soundfont: MIT (fluid-soundfont-gm)"

# music21 corpus repertory -> composer and death (every one long out of copyright).
REPERTORIES = {
    "bach": "J. S. Bach, d. 1750",
    "monteverdi": "C. Monteverdi, d. 1643",
    "trecento": "14th/early-15th-century composers",
    "handel": "G. F. Handel, d. 1759",
    "verdi": "G. Verdi, d. 1901",
    "schubert": "F. Schubert, d. 1828",
    "liliuokalani": "Liliuokalani, d. 1917",
    "haydn": "J. Haydn, d. 1809",
    "mozart": "W. A. Mozart, d. 1791",
    "beethoven": "L. van Beethoven, d. 1827",
    "joplin": "S. Joplin, d. 1917",
    "schumann_robert": "R. Schumann, d. 1856",
    "schumann_clara": "C. Schumann, d. 1896",
    "weber": "C. M. von Weber, d. 1826",
    "corelli": "A. Corelli, d. 1713",
    "cpebach": "C. P. E. Bach, d. 1788",
}
VOCAL_REPERTORIES = ("bach", "monteverdi", "trecento", "handel", "verdi", "schubert", "liliuokalani")
INSTRUMENTAL_REPERTORIES = (
    "bach",
    "haydn",
    "mozart",
    "beethoven",
    "joplin",
    "schumann_robert",
    "schumann_clara",
    "weber",
    "corelli",
    "cpebach",
)
SCORE_SUFFIXES = {".mxl", ".xml", ".musicxml"}
MAX_SCORE_BYTES = 3_000_000  # bounds music21's parse time

VOCAL_SECONDS = (10.0, 40.0)
INSTRUMENTAL_SECONDS = (30.0, 120.0)
VOCAL_NOTE_S = (0.3, 0.7)  # the melody's median note lasts this long: sets the tempo
INSTRUMENTAL_NOTE_S = (0.2, 0.5)
MAX_REST_S = 3.0  # longer rests in a melody are shortened
MIN_NOTE_S = 0.06  # shorter notes are merged into the one before
LYRICS_SHARE = 0.75  # a score with lyrics is sung with them this often, with syllables otherwise
SYLLABLES = ("la", "na", "da", "oh", "ah", "do", "be", "ma", "no", "lo", "so", "me", "hey", "yeah", "ooh")
MAX_REPEATS = 4  # a short score is repeated (like verses) up to this often to reach its length
DRUM_SHARE = 0.5
TRANSPOSE_INSTRUMENTAL = (-4, 4)
# General MIDI programs (0-based) an accompaniment may use; choir/voice sounds (52-54, 85, 91, 94)
# and saxophones, which can pass for a voice, are left out.
PROGRAMS = (
    *range(6),
    *range(16, 21),
    *range(24, 31),
    *range(40, 46),
    48,
    49,
    50,
    *range(56, 62),
    80,
    81,
    84,
    87,
    88,
    89,
    90,
    92,
    95,
    46,
    11,
    12,
)
BASS_PROGRAMS = (32, 33, 34, 35, 36, 37, 38, 39, 42, 43)
PEAK = 0.9
MIN_RMS = 1e-3  # quieter output is broken, not music
FESTIVAL_TIMEOUT_S = 120
FLUIDSYNTH_TIMEOUT_S = 180
MAX_DURATION_ERROR = 0.25  # festival output this far off the planned length is a mis-parse
MANIFEST_HEADER = (
    "kind",
    "file",
    "seconds",
    "sample_rate",
    "channels",
    "generator",
    "music21_work",
    "licence",
)


@dataclass
class Work:
    path: Path  # absolute
    rel: str  # path inside the music21 corpus, e.g. bach/bwv66.6.mxl
    repertory: str


def check_tools(singing: bool = True) -> None:
    tools = ("text2wave", "festival", "fluidsynth") if singing else ("fluidsynth",)
    missing = [t for t in tools if not shutil.which(t)]
    if not SOUNDFONT.exists():
        missing.append(str(SOUNDFONT))
    if missing:
        sys.exit(f"missing {', '.join(missing)}; install with:\n  {APT_LINE}")
    try:
        import music21  # noqa: F401
    except ImportError:
        sys.exit("missing music21; install with:\n  pip install music21")


def installed_voices() -> list[str]:
    return [v for v in VOICES if any(FESTIVAL_VOICE_DIR.glob(f"*/{v}"))]


def corpus_works(repertories: tuple[str, ...]) -> dict[str, list[Work]]:
    from music21 import corpus

    root = Path(corpus.__file__).parent
    found: dict[str, list[Work]] = {r: [] for r in repertories}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if (
            p.suffix.lower() in SCORE_SUFFIXES
            and rel.parts[0] in found
            and p.stat().st_size <= MAX_SCORE_BYTES
        ):
            found[rel.parts[0]].append(Work(p, rel.as_posix(), rel.parts[0]))
    return found


def interleave(groups: list[list[Work]]) -> list[Work]:
    """Round-robin over repertories so that no one composer fills the first minutes."""
    out, i = [], 0
    while any(i < len(g) for g in groups):
        out.extend(g[i] for g in groups if i < len(g))
        i += 1
    return out


def plan_works(seed: int) -> tuple[list[Work], list[Work]]:
    """Vocal and instrumental work lists, disjoint (Bach's chorales are split between them)."""
    rng = np.random.default_rng(seed)
    works = corpus_works(tuple(dict.fromkeys(VOCAL_REPERTORIES + INSTRUMENTAL_REPERTORIES)))
    for r in works:
        works[r] = [works[r][i] for i in rng.permutation(len(works[r]))]
    shared = set(VOCAL_REPERTORIES) & set(INSTRUMENTAL_REPERTORIES)
    vocal = [works[r][0::2] if r in shared else works[r] for r in VOCAL_REPERTORIES]
    instrumental = [works[r][1::2] if r in shared else works[r] for r in INSTRUMENTAL_REPERTORIES]
    return interleave(vocal), interleave(instrumental)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text.rsplit(".", 1)[0]).strip("-")


def work_licence(work: Work, note: str | None) -> str:
    text = (
        f"composition public domain ({REPERTORIES[work.repertory]}); encoding from the music21 corpus "
        "(licences/music21-corpus-license.txt)"
    )
    return f"{text}; score note: {note}" if note else text


def restricted(note: str | None) -> bool:
    """A score's own copyright line names a rights holder (a modern edition) and frees nothing."""
    if not note:
        return False
    holder = re.sub(r"copyright|©|\(c\)", "", note, flags=re.I).strip(" .,")
    return bool(holder) and not re.search(r"public domain|creative commons", note, re.I)


def parse(work: Work):
    from music21 import converter

    score = converter.parse(str(work.path))
    if not score.parts:
        raise ValueError("no parts")
    return score


# --- vocals ---------------------------------------------------------------------------------


def clean_word(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", text.lower())


def melody(score) -> list[tuple[int | None, float, str, bool]]:
    """The top part as ``(midi or None for a rest, quarter lengths, lyric, has_lyric)``."""
    from music21 import chord, note

    events: list[tuple[int | None, float, str, bool]] = []
    t = 0.0
    for el in score.parts[0].stripTies().flatten().notesAndRests:
        ql = float(el.quarterLength)
        if ql <= 0 or el.duration.isGrace:
            continue
        start = float(el.offset)
        if start < t - 1e-6:  # a second voice in the same part: keep the first
            continue
        if start > t + 1e-6:
            events.append((None, start - t, "", False))
        if isinstance(el, note.Rest):
            events.append((None, ql, "", False))
        else:
            midi = max(p.midi for p in el.pitches) if isinstance(el, chord.Chord) else el.pitch.midi
            lyric = el.lyrics[0].text if el.lyrics else ""
            events.append((int(midi), ql, clean_word(lyric), bool(lyric)))
        t = start + ql
    return events


def festival_note(midi: int) -> str:
    # festival's singing mode names MIDI note 69 "A5" (octave = midi // 12), one above the usual.
    return ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")[midi % 12] + str(midi // 12)


_SYLLABLE_COUNTS: dict[tuple[str, str], int] = {}


def syllable_counts(voice: str, words: set[str]) -> dict[str, int]:
    """How many syllables festival's lexicon gives each word: singing mode needs exactly one."""
    todo = sorted(w for w in words if (voice, w) not in _SYLLABLE_COUNTS)
    if todo:
        lookups = " ".join(f'"{w}"' for w in todo)
        script = (
            f'(voice_{voice})\n(mapcar (lambda (w) (format t "%s %d\\n" w '
            f"(length (car (cdr (cdr (lex.lookup w nil))))))) '({lookups}))\n"
        )
        with tempfile.NamedTemporaryFile("w", suffix=".scm") as f:
            f.write(script)
            f.flush()
            out = subprocess.run(
                ["festival", "-b", f.name], capture_output=True, text=True, timeout=FESTIVAL_TIMEOUT_S
            ).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                _SYLLABLE_COUNTS[(voice, parts[0])] = int(parts[1])
    return {w: _SYLLABLE_COUNTS.get((voice, w), 0) for w in words}


def singing_xml(
    events: list[tuple[int | None, float, str, bool]],
    sec_per_ql: float,
    use_lyrics: bool,
    voice: str,
    rng: np.random.Generator,
) -> tuple[str, float]:
    """SINGING markup (festival's Singing.v0_1.dtd) and its planned length in seconds.

    With lyrics, a note without a syllable continues the one before (a slur, ``NOTE="A4+C5"``).
    Words festival would split into several syllables are replaced by a one-syllable one, since
    singing mode maps notes to syllables one to one.
    """
    sung: list[list] = []  # [notes, seconds, word] per syllable; rests as [None, seconds, ""]
    for midi, ql, word, has_lyric in events:
        seconds = ql * sec_per_ql
        if midi is None:
            seconds = min(seconds, MAX_REST_S)
            if sung and sung[-1][0] is None:
                sung[-1][1] = min(sung[-1][1] + seconds, MAX_REST_S)
            elif sung:
                sung.append([None, seconds, ""])
            continue
        if sung and sung[-1][0] is not None and (seconds < MIN_NOTE_S or (use_lyrics and not has_lyric)):
            sung[-1][0].append(midi)
            sung[-1][1].append(seconds)
            continue
        sung.append([[midi], [seconds], word if use_lyrics else ""])
    while sung and sung[-1][0] is None:
        sung.pop()
    words = {s[2] for s in sung if s[0] is not None and s[2]}
    counts = syllable_counts(voice, words | set(SYLLABLES))
    good = [w for w in SYLLABLES if counts.get(w) == 1] or ["la"]
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE SINGING PUBLIC "-//SINGING//DTD SINGING mark up//EN" "Singing.v0_1.dtd" []>',
        '<SINGING BPM="60">',
    ]
    total = 0.0
    for notes, seconds, word in sung:
        if notes is None:
            lines.append(f'<REST SECONDS="{seconds:.3f}"></REST>')
            total += seconds
            continue
        if not re.search("[aeiouy]", word) or counts.get(word) != 1:
            word = good[int(rng.integers(len(good)))]
        pitch = "+".join(festival_note(m) for m in notes)
        durs = "+".join(f"{s:.3f}" for s in seconds)
        lines.append(f'<PITCH NOTE="{pitch}"><DURATION SECONDS="{durs}">{word}</DURATION></PITCH>')
        total += sum(seconds)
    lines.append("</SINGING>")
    return "\n".join(lines) + "\n", total


def render_vocal(score, voice: str, rng: np.random.Generator, dest: Path) -> float:
    """Sing an excerpt of the score's top part with ``voice``; returns its length in seconds."""
    events = melody(score)
    notes = [e for e in events if e[0] is not None]
    if len(notes) < 8:
        raise ValueError("too few notes")
    lo, hi = VOICES[voice][1]
    shift = int(round(rng.uniform(lo, hi) - np.median([e[0] for e in notes])))
    events = [(None if m is None else m + shift, ql, w, h) for m, ql, w, h in events]
    sec_per_ql = rng.uniform(*VOCAL_NOTE_S) / float(np.median([e[1] for e in notes]))
    target = rng.uniform(*VOCAL_SECONDS)
    has_lyrics = sum(e[3] for e in notes) > len(notes) / 3
    use_lyrics = has_lyrics and rng.random() < LYRICS_SHARE
    # Start at the beginning or after a rest (a phrase start), then sing until the target length.
    starts = [0] + [i for i in range(1, len(events)) if events[i - 1][0] is None and events[i][0] is not None]
    start = starts[int(rng.integers(len(starts)))]
    if sum(e[1] for e in events[start:]) * sec_per_ql < VOCAL_SECONDS[0]:
        start = 0
    chosen, t = [], 0.0
    for e in events[start:]:
        if t >= target:
            break
        if not chosen and e[0] is None:
            continue
        chosen.append(e)
        t += e[1] * sec_per_ql
    xml, planned = singing_xml(chosen, sec_per_ql, use_lyrics, voice, rng)
    if planned < VOCAL_SECONDS[0]:
        raise ValueError(f"excerpt too short ({planned:.1f}s)")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "song.xml").write_text(xml)
        subprocess.run(
            ["text2wave", "-mode", "singing", "-eval", f"(voice_{voice})", "song.xml", "-o", "song.wav"],
            cwd=tmp,
            check=True,
            capture_output=True,
            timeout=FESTIVAL_TIMEOUT_S,
        )
        audio, rate = sf.read(str(Path(tmp) / "song.wav"), dtype="float32")
    seconds = len(audio) / rate
    if abs(seconds - planned) > MAX_DURATION_ERROR * planned:
        raise ValueError(f"festival sang {seconds:.1f}s of a planned {planned:.1f}s")
    return write(audio, rate, dest)


def write(audio: np.ndarray, rate: int, dest: Path) -> float:
    if np.sqrt(np.mean(audio**2)) < MIN_RMS:
        raise ValueError("silent output")
    audio = audio * (PEAK / np.max(np.abs(audio)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")  # not an audio suffix: the loader never reads it
    sf.write(str(tmp), audio, rate, format="FLAC", subtype="PCM_16")
    tmp.replace(dest)
    return len(audio) / rate


# --- instrumentals ----------------------------------------------------------------------------


def midi_file(tracks: list[list[tuple[int, bytes]]], sec_per_ql: float, tpq: int = 480) -> bytes:
    """A format-1 Standard MIDI File; each track is ``(absolute tick, event bytes)``."""

    def vlq(n: int) -> bytes:
        out = [n & 0x7F]
        while n > 0x7F:
            n >>= 7
            out.append((n & 0x7F) | 0x80)
        return bytes(reversed(out))

    tempo = int(round(sec_per_ql * 1e6)).to_bytes(3, "big")
    chunks = [(0, b"\xff\x51\x03" + tempo)], *tracks
    data = struct.pack(">4sIHHH", b"MThd", 6, 1, len(chunks), tpq)
    for events in chunks:
        body, now = b"", 0
        for tick, ev in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
            body += vlq(tick - now) + ev
            now = tick
        body += b"\x00\xff\x2f\x00"
        data += struct.pack(">4sI", b"MTrk", len(body)) + body
    return data


def part_notes(part, shift: int) -> list[tuple[float, float, int]]:
    out = []
    for el in part.stripTies().flatten().notes:
        ql = float(el.quarterLength)
        if ql <= 0 or el.duration.isGrace:
            continue
        for p in el.pitches:
            midi = p.midi + shift
            if 24 <= midi <= 108:
                out.append((float(el.offset), ql, midi))
    return out


def drum_pattern(score, start: float, end: float, rng: np.random.Generator) -> list[tuple[float, int, int]]:
    """A plain kick/snare/hat groove in the score's metre: ``(quarter-length offset, note, velocity)``."""
    from music21 import meter

    ts = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
    num, den = (ts.numerator, ts.denominator) if ts else (4, 4)
    beat = 4.0 / den
    compound = num % 3 == 0 and num > 3
    kicks = {0} | ({num // 2} if num >= 4 and not compound else set())
    snares = {num // 2} if compound else ({b for b in range(1, num, 2)} if num > 1 else set())
    hat = 51 if rng.random() < 0.3 else 42
    hits = []
    t = start - ((start % (num * beat)) if start else 0.0)
    while t < end:
        for b in range(num):
            at = t + b * beat
            if at < start or at >= end:
                continue
            if b in kicks:
                hits.append((at, 36, int(rng.integers(90, 115))))
            if b in snares:
                hits.append((at, 38, int(rng.integers(80, 110))))
            hits.append((at, hat, int(rng.integers(50, 80))))
            if not compound and at + beat / 2 < end:
                hits.append((at + beat / 2, hat, int(rng.integers(35, 65))))
        t += num * beat
    return hits


def part_tracks(
    parts: list[list[tuple[float, float, int]]],
    start: float,
    end: float,
    rng: np.random.Generator,
    tpq: int,
) -> tuple[list[list[tuple[int, bytes]]], list[int]]:
    """One MIDI track per part, each with a random GM program (the lowest part a bass one half
    the time) and velocity; returns the tracks and the programs."""
    medians = [np.median([n[2] for n in p]) if p else 0 for p in parts]
    lowest = int(np.argmin(medians)) if len(parts) > 1 else -1
    tracks, programs = [], []
    channels = [c for c in range(16) if c != 9]
    for i, notes in enumerate(parts):
        channel = channels[i % len(channels)]
        pool = BASS_PROGRAMS if i == lowest and rng.random() < 0.5 else PROGRAMS
        program = int(pool[int(rng.integers(len(pool)))])
        programs.append(program)
        velocity = int(rng.integers(65, 105))
        events = [(0, bytes([0xC0 | channel, program]))]
        for o, d, m in notes:
            v = int(np.clip(velocity + rng.integers(-8, 9), 1, 127))
            on = int(round((o - start) * tpq))
            off = max(on + 1, int(round((min(o + d, end) - start) * tpq)))
            events += [(on, bytes([0x90 | channel, m, v])), (off, bytes([0x80 | channel, m, 0]))]
        tracks.append(events)
    return tracks, programs


def drum_track(hits: list[tuple[float, int, int]], start: float, tpq: int) -> list[tuple[int, bytes]]:
    """General MIDI percussion (channel 10) from :func:`drum_pattern`'s hits."""
    events = []
    for o, key, v in hits:
        on = int(round((o - start) * tpq))
        events += [(on, bytes([0x99, key, v])), (on + tpq // 8, bytes([0x89, key, 0]))]
    return events


def fluidsynth_render(
    tracks: list[list[tuple[int, bytes]]], sec_per_ql: float, tpq: int
) -> tuple[np.ndarray, int]:
    """The tracks rendered by fluidsynth with the GM soundfont: 44.1 kHz stereo, silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "song.mid", Path(tmp) / "song.wav"
        mid.write_bytes(midi_file(tracks, sec_per_ql, tpq))
        subprocess.run(
            [
                "fluidsynth",
                "-ni",
                "-q",
                "-g",
                "0.5",
                "-r",
                "44100",
                "-O",
                "float",
                "-T",
                "wav",
                "-F",
                str(wav),
                str(SOUNDFONT),
                str(mid),
            ],
            check=True,
            capture_output=True,
            timeout=FLUIDSYNTH_TIMEOUT_S,
        )
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    loud = np.flatnonzero(np.max(np.abs(audio), axis=1) > 1e-4)
    if loud.size:
        audio = audio[loud[0] : loud[-1] + 1]
    if audio.shape[1] != 2 or rate != 44100:
        raise ValueError(f"fluidsynth wrote {audio.shape[1]} channels at {rate} Hz")
    return audio, rate


def render_instrumental(score, rng: np.random.Generator, dest: Path) -> tuple[float, str]:
    """Render an excerpt of the score with random GM programs; returns seconds and a description."""
    from music21 import stream

    shift = int(rng.integers(TRANSPOSE_INSTRUMENTAL[0], TRANSPOSE_INSTRUMENTAL[1] + 1))
    parts = [part_notes(p, shift) for p in score.parts]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError("no notes")
    every = [n for p in parts for n in p]
    sec_per_ql = rng.uniform(*INSTRUMENTAL_NOTE_S) / float(np.median([n[1] for n in every]))
    total = max(n[0] + n[1] for n in every)
    target = rng.uniform(*INSTRUMENTAL_SECONDS) / sec_per_ql
    if total >= target:
        bars = [float(m.offset) for m in score.parts[0].getElementsByClass(stream.Measure)]
        bars = [b for b in bars if b <= total - target] or [0.0]
        start = bars[int(rng.integers(len(bars)))]
        end = start + target
        parts = [[n for n in p if start <= n[0] < end] for p in parts]
    else:
        repeats = min(MAX_REPEATS, int(np.ceil(target / total)))
        start, end = 0.0, min(target, total * repeats)
        parts = [
            [(o + k * total, d, m) for k in range(repeats) for o, d, m in p if o + k * total < end]
            for p in parts
        ]
    if (end - start) * sec_per_ql < INSTRUMENTAL_SECONDS[0]:
        raise ValueError(f"excerpt too short ({(end - start) * sec_per_ql:.1f}s)")
    tpq = 480
    tracks, programs = part_tracks(parts, start, end, rng, tpq)
    drums = rng.random() < DRUM_SHARE
    if drums:
        tracks.append(drum_track(drum_pattern(score, start, end, rng), start, tpq))
    audio, rate = fluidsynth_render(tracks, sec_per_ql, tpq)
    seconds = write(audio, rate, dest)
    description = f"programs {','.join(map(str, programs))}" + ("; drums" if drums else "")
    return seconds, description


# --- the key-and-tempo test set (bench/key_tempo.py) -------------------------------------------

KEY_TEMPO_REPERTORY = "bach"  # the chorales: short, each with its key and mode declared
KEY_TEMPO_BPM = (60.0, 180.0)
KEY_TEMPO_SECONDS = 40.0
KEY_TEMPO_METRES = ((2, 4), (3, 4), (4, 4))  # the beat is the quarter note: the BPM is plain
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
LABELS_HEADER = (
    "file",
    "tonic",
    "mode",
    "key",
    "bpm",
    "drums",
    "seconds",
    "music21_work",
    "declared_key",
    "shift",
    "programs",
    "licence",
)


def declared_key(score) -> tuple[int, str] | None:
    """The key the score itself declares (its ``<key>`` with a mode: ``tonic`` pitch class,
    "major"/"minor"), or None for a score that declares none, changes key signature or metre,
    is in a metre whose beat is not the quarter note, or does not end on its tonic in the bass.
    Those last checks are what "pieces that modulate are left out" means here: read from the
    score, never from a key-finding algorithm."""
    from music21 import key, meter

    signatures = list(score.recurse().getElementsByClass(key.KeySignature))
    if not signatures or not isinstance(signatures[0], key.Key):
        return None
    if len({k.sharps for k in signatures}) != 1 or signatures[0].mode not in ("major", "minor"):
        return None
    metres = {(t.numerator, t.denominator) for t in score.recurse().getElementsByClass(meter.TimeSignature)}
    if len(metres) != 1 or next(iter(metres)) not in KEY_TEMPO_METRES:
        return None
    finals = [p.flatten().notes[-1] for p in score.parts if p.flatten().notes]
    if not finals:
        return None
    bass = min((pitch for n in finals for pitch in n.pitches), key=lambda x: x.midi)
    tonic = signatures[0].tonic.pitchClass
    return (tonic, signatures[0].mode) if bass.pitchClass == tonic else None


def render_labelled(
    score, shift: int, bpm: float, drums: bool, rng: np.random.Generator, dest: Path
) -> tuple[float, list[int]]:
    """The score's opening ``KEY_TEMPO_SECONDS`` (repeated if shorter), transposed by ``shift``
    semitones, at ``bpm`` quarter notes a minute, with random GM programs and, if ``drums``, the
    plain groove of :func:`drum_pattern` on channel 10. Returns seconds and programs."""
    parts = [p for p in (part_notes(p, shift) for p in score.parts) if p]
    if not parts:
        raise ValueError("no notes")
    sec_per_ql = 60.0 / bpm
    total = max(n[0] + n[1] for p in parts for n in p)
    end = KEY_TEMPO_SECONDS / sec_per_ql
    repeats = int(np.ceil(end / total))
    parts = [
        [(o + k * total, d, m) for k in range(repeats) for o, d, m in p if o + k * total < end] for p in parts
    ]
    tpq = 480
    tracks, programs = part_tracks(parts, 0.0, end, rng, tpq)
    if drums:
        tracks.append(drum_track(drum_pattern(score, 0.0, end, rng), 0.0, tpq))
    audio, rate = fluidsynth_render(tracks, sec_per_ql, tpq)
    return write(audio, rate, dest), programs


def build_key_tempo(out: Path, count: int, seed: int) -> dict[str, object]:
    """``count`` pieces with known key and tempo: piece ``i`` is in key ``i % 24`` (the 12 major
    keys from C, then the 12 minor), with drums in alternate rounds of 24, at tempi spread
    evenly over ``KEY_TEMPO_BPM`` in a shuffled order. The truth of each is its score's declared
    key plus the transposition applied and the tempo it was rendered at (``LABELS.tsv``)."""
    from music21 import corpus

    out.mkdir(parents=True, exist_ok=True)
    (out / "pieces").mkdir(exist_ok=True)
    copy_licences(out)
    rng = np.random.default_rng([seed, 2])
    root = Path(corpus.__file__).parent
    works = [
        Work(p, p.relative_to(root).as_posix(), KEY_TEMPO_REPERTORY)
        for p in sorted((root / KEY_TEMPO_REPERTORY).rglob("*"))
        if p.suffix.lower() in SCORE_SUFFIXES and p.stat().st_size <= MAX_SCORE_BYTES
    ]
    works = [works[i] for i in rng.permutation(len(works))]
    low, high = KEY_TEMPO_BPM
    tempi = low + (high - low) * (rng.permutation(count) + rng.uniform(0, 1, count)) / count
    labels_path = out / "LABELS.tsv"
    rows: list[list[str]] = []
    used: set[str] = set()
    began, skipped = time.monotonic(), 0
    for i in range(count):
        tonic, mode = i % 12, ("major", "minor")[(i // 12) % 2]
        drums = (i // 24) % 2 == 0
        piece_rng = np.random.default_rng([seed, 3, i])
        for work in works:
            if work.rel in used:
                continue
            try:
                score = parse(work)
                note = score.metadata.copyright if score.metadata else None
                if restricted(str(note) if note else None):
                    raise ValueError("score carries its own copyright notice")
                declared = declared_key(score)
                if declared is None or declared[1] != mode:
                    continue
                shift = (tonic - declared[0] + 6) % 12 - 6  # the nearest transposition, -6..+5
                rel = f"pieces/{i:03d}_{PITCH_NAMES[tonic]}-{mode}_{tempi[i]:.0f}bpm_{slug(work.rel)}.flac"
                seconds, programs = render_labelled(
                    score, shift, float(tempi[i]), drums, piece_rng, out / rel
                )
            except Exception as exc:
                skipped += 1
                used.add(work.rel)
                print(f"skip {work.rel}: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
                continue
            used.add(work.rel)
            rows.append(
                [
                    rel,
                    str(tonic),
                    mode,
                    f"{PITCH_NAMES[tonic]} {mode}",
                    f"{tempi[i]:.3f}",
                    "1" if drums else "0",
                    f"{seconds:.2f}",
                    work.rel,
                    f"{PITCH_NAMES[declared[0]]} {declared[1]}",
                    str(shift),
                    ",".join(map(str, programs)),
                    f"{work_licence(work, None)}; {SOUNDFONT_LICENCE}",
                ]
            )
            print(f"{rel} {seconds:.1f}s", flush=True)
            break
        else:
            raise SystemExit(f"ran out of {mode} scores after {i} pieces")
    with labels_path.open("w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(LABELS_HEADER)
        writer.writerows(rows)
    return {
        "pieces": len(rows),
        "skipped_works": skipped,
        "seconds_taken": round(time.monotonic() - began, 1),
        "labels": str(labels_path),
    }


# --- build ------------------------------------------------------------------------------------


def copy_licences(out: Path) -> None:
    from music21 import corpus

    dest = out / "licences"
    dest.mkdir(parents=True, exist_ok=True)
    for pkg in COPYRIGHT_PACKAGES:
        src = Path("/usr/share/doc") / pkg / "copyright"
        if src.exists():
            shutil.copy(src, dest / f"{pkg}.copyright")
    corpus_dir = Path(corpus.__file__).parent
    shutil.copy(corpus_dir / "license.txt", dest / "music21-corpus-license.txt")
    licence = next(corpus_dir.parent.parent.glob("music21-*.dist-info/licenses/LICENSE"), None)
    if licence:
        shutil.copy(licence, dest / "music21-LICENSE.txt")


def read_manifest(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    # rows whose file is gone (deleted by hand) are dropped, and the file is built again
    return {r[1]: r for r in rows[1:] if len(r) == len(MANIFEST_HEADER) and (path.parent / r[1]).exists()}


def write_manifest(path: Path, rows: dict[str, list[str]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(MANIFEST_HEADER)
        writer.writerows(rows[k] for k in sorted(rows))
    tmp.replace(path)


def build(out: Path, minutes: float, seed: int, voices: list[str]) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    copy_licences(out)
    manifest_path = out / "MANIFEST.tsv"
    rows = read_manifest(manifest_path)
    vocal_works, instrumental_works = plan_works(seed)
    summary: dict[str, object] = {}
    for kind, works in (("vocals", vocal_works), ("instrumental", instrumental_works)):
        began, total, made, failed = time.monotonic(), 0.0, 0, 0
        for i, work in enumerate(works):
            if total >= minutes * 60:
                break
            rng = np.random.default_rng([seed, 0 if kind == "vocals" else 1, i])
            if kind == "vocals":
                voice = voices[int(rng.integers(len(voices)))]
                rel = f"vocals/festival/{i:04d}_{slug(work.rel)}_{voice}.flac"
            else:
                rel = f"instrumental/fluidsynth__{i:04d}_{slug(work.rel)}.flac"
            dest = out / rel
            if dest.exists() and rel in rows:
                total += float(rows[rel][2])
                continue
            try:
                score = parse(work)
                note = score.metadata.copyright if score.metadata else None
                note = str(note) if note else None
                if restricted(note):
                    raise ValueError(f"score carries its own copyright notice: {note}")
                if kind == "vocals":
                    seconds = render_vocal(score, voice, rng, dest)
                    pkg = VOICES[voice][0]
                    generator = f"festival singing mode, voice {voice} ({pkg})"
                    licence = f"{work_licence(work, note)}; voice {pkg}: {VOICE_LICENCE[pkg]}"
                    rate, channels = 16000, 1
                else:
                    seconds, description = render_instrumental(score, rng, dest)
                    generator = f"fluidsynth, {SOUNDFONT.name}, {description}"
                    licence = f"{work_licence(work, note)}; {SOUNDFONT_LICENCE}"
                    rate, channels = 44100, 2
            except Exception as exc:
                failed += 1
                print(f"skip {kind} {work.rel}: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
                continue
            total += seconds
            made += 1
            rows[rel] = [kind, rel, f"{seconds:.2f}", str(rate), str(channels), generator, work.rel, licence]
            write_manifest(manifest_path, rows)
            print(f"{kind}: {rel} {seconds:.1f}s (total {total / 60:.1f} min)", flush=True)
        summary[kind] = {
            "minutes": round(total / 60, 2),
            "new_files": made,
            "skipped_works": failed,
            "seconds_taken": round(time.monotonic() - began, 1),
        }
    write_manifest(manifest_path, rows)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="../data-cache/synthetic")
    parser.add_argument("--minutes", type=float, default=25.0, help="of vocals, and again of instrumentals")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--voices", nargs="+", help=f"festival voices (default: installed of {list(VOICES)})")
    parser.add_argument(
        "--key-tempo",
        type=int,
        metavar="N",
        help="instead: build N pieces of known key and tempo (bench/key_tempo.py) in --out",
    )
    args = parser.parse_args()
    check_tools(singing=not args.key_tempo)
    if args.key_tempo:
        print(f"done: {build_key_tempo(Path(args.out).resolve(), args.key_tempo, args.seed)}")
        return
    voices = args.voices or installed_voices()
    unknown = [v for v in voices if v not in VOICES]
    if unknown or not voices:
        sys.exit(f"no usable festival voice ({unknown or 'none installed'}); install with:\n  {APT_LINE}")
    summary = build(Path(args.out).resolve(), args.minutes, args.seed, voices)
    print(f"done: {summary}; voices {voices}; manifest {Path(args.out).resolve() / 'MANIFEST.tsv'}")


if __name__ == "__main__":
    main()
