"""Training data: pools of real stems and the random remixes the model learns from.

A data folder holds
- tracks with true pairs: any folder with ``vocals.*`` and ``accompaniment.*`` (e.g. MIR-1K clips),
- a vocals-only pool: audio files below a folder named ``vocals``,
- an instrumental-only pool: audio files below a folder named ``instrumental``; several files in one
  folder are the parts of one song and are summed (Frets on Fire ships band and guitar separately).

Training mixes are not the true pairs as recorded but random remixes — a random vocal segment over a
random instrumental segment, random gains, pan and channel swap, some vocal-free examples — because
with about two hours of stems, variety of mixtures is what the model is short of, not examples of
any one mixture.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from engine import augment, production
from engine.constants import SAMPLE_RATE

if TYPE_CHECKING:
    import torch

    from engine.transforms import STFTConfig

PATCH_FRAMES = 128  # STFT frames per training and validation example (about 3 s)
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus"}
# Validation is split off by singer and by song, never by clip, so that a checkpoint is chosen on
# voices and songs it has not heard. MIR-1K names clips <singer>_<song>_<clip>. One song of the
# produced album (train/pairs/everything-is-free, full-band stereo stems) is held out as well: the
# MIR-1K remixes alone cannot tell whether a checkpoint got better on produced, doubled, panned
# vocals — what users upload (docs/BENCHMARKS.md, "Training data choices of engine/data.py").
VALIDATION_SINGERS = frozenset({"abjones", "bobon"})
VALIDATION_SONGS = frozenset({"War_of_freedom", "Potassium"})
VALIDATION_VOCAL_SOURCES = frozenset({"saebyulgan"})

VOCAL_FREE_SHARE = 0.1  # examples with no voice at all: the mask must learn to stay shut
TRUE_PAIR_SHARE = 0.3  # examples that keep a recorded vocal with its own accompaniment
# Share of those drawn from the stereo pairs (produced songs with their true stems: the album in
# train/pairs) rather than the mono karaoke pairs: at their natural weight 5 songs among 1005
# pairs come up in well under 1 % of examples, too rarely to teach anything (the measurement:
# docs/BENCHMARKS.md, "Training data choices of engine/data.py").
STEREO_PAIR_SHARE = 0.5
# Remixes draw from the pools (full-band, studio and produced material) this often and from the
# MIR-1K-style pairs otherwise: by file count the pairs are nine tenths of the data, but they are
# one style (dry amateur karaoke, 16 kHz), and a model fed them uniformly learns that style only.
VOCAL_POOL_SHARE = 0.5
INSTRUMENTAL_POOL_SHARE = 0.7
GAIN_DB_RANGE = (-6.0, 4.0)  # vocal level relative to the accompaniment's
# The levels of real songs (``levels="songs"``): the range and the unvoiced share cover how the
# stereo true pairs of the training data are mixed (never valid/), which puts the voice much lower
# and more often silent than the remixes above do (bench/pair_levels.py; the figures:
# docs/BENCHMARKS.md, "Training data choices of engine/data.py"). A model that only ever heard a
# voice as loud as the band learns to leave a quieter one in the instrumental.
SONG_GAIN_DB_RANGE = (-15.0, 3.0)
SONG_VOCAL_FREE_SHARE = 0.2
LEVELS = ("remix", "songs")
TARGET_RMS_DB_RANGE = (-28.0, -14.0)  # loudness of the whole mix
MIN_ACTIVE_RMS = 1e-4  # a segment quieter than this is not worth training on
# A validation song's patch counts for the vocals score where the vocals are no more than this far
# below the whole mix: a patch of echo tails or breaths has a reference too faint for its SDR to
# say anything but how much bleed the mask let through, which the instrumental score already says.
SONG_VOICED_DB = -20.0
# The training split is held as float16: half the memory (hours of 44.1 kHz stereo are several GB,
# and two runs side by side must fit), at a 66 dB quantisation floor far below the Ogg Vorbis
# noise of the sources. Segments are widened to float32 as they are cut. The validation split
# stays float32, so its fixed remixes are the same as every earlier run's.
TRAIN_DTYPE = np.float16


@dataclass
class Pools:
    """Audio held in memory at 44.1 kHz, each entry ``(channels, samples)`` (float16 for the
    training split, float32 for validation: see ``TRAIN_DTYPE``).

    ``*_bands`` hold each entry's true band-width in Hz (half its original sample rate): MIR-1K is
    16 kHz, so above 8 kHz its stems are empty, and a remix must not teach the model that voice
    never goes above 8 kHz (see ``Remixer.sample``).
    """

    pairs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    vocals: list[np.ndarray] = field(default_factory=list)
    instrumentals: list[np.ndarray] = field(default_factory=list)
    pair_bands: list[float] = field(default_factory=list)
    vocal_bands: list[float] = field(default_factory=list)
    instrumental_bands: list[float] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def seconds(self) -> dict[str, float]:
        def total(arrays: Iterable[np.ndarray]) -> float:
            return sum(a.shape[-1] for a in arrays) / SAMPLE_RATE

        return {
            "pairs": total(v for v, _ in self.pairs),
            "vocals": total(self.vocals),
            "instrumentals": total(self.instrumentals),
        }


def load_file(path: Path) -> np.ndarray:
    """Read a training file with soundfile and resample it to 44.1 kHz, keeping its channels."""
    return read_with_rate(path)[0]


def read_with_rate(path: Path) -> tuple[np.ndarray, int]:
    """Like :func:`load_file`, also returning the file's original sample rate."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    data = data.T
    if rate != SAMPLE_RATE:
        g = gcd(rate, SAMPLE_RATE)
        data = resample_poly(data, SAMPLE_RATE // g, rate // g, axis=-1).astype(np.float32)
    return np.ascontiguousarray(data), rate


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)


def _is_validation(path: Path) -> bool:
    parts = set(path.parts)
    singer = re.split(r"_", path.parent.name)[0] if path.parent.name else ""
    return (
        singer in VALIDATION_SINGERS
        or bool(parts & VALIDATION_SONGS)
        or bool(parts & VALIDATION_VOCAL_SOURCES)
    )


def scan(root: Path) -> dict[str, list[list[Path]]]:
    """Find tracks in ``root``: lists of files per pair, per vocal file, per instrumental song."""
    found: dict[str, list[list[Path]]] = {"pairs": [], "vocals": [], "instrumentals": []}
    for vocal in sorted(root.rglob("vocals.*")):
        accompaniment = [p for p in vocal.parent.glob("accompaniment.*")]
        if vocal.suffix.lower() in AUDIO_SUFFIXES and accompaniment:
            found["pairs"].append([vocal, accompaniment[0]])
    for folder in sorted(root.rglob("vocals")):
        if folder.is_dir():
            found["vocals"].extend([p] for p in _audio_files(folder))
    for folder in sorted(root.rglob("instrumental")):
        if not folder.is_dir():
            continue
        by_song: dict[Path, list[Path]] = {}
        for p in _audio_files(folder):
            by_song.setdefault(p.parent, []).append(p)
        for parent, files in sorted(by_song.items()):
            if parent == folder:  # loose files are songs of their own
                found["instrumentals"].extend([f] for f in files)
            else:
                found["instrumentals"].append(files)
    return found


def manifest(root: Path, split: str) -> dict[str, object]:
    """What a checkpoint was trained on: file list with sizes and one digest over them."""
    entries = []
    for kind, groups in scan(root).items():
        for group in groups:
            if (split == "validation") != _is_validation(group[0]):
                continue
            for p in group:
                entries.append(f"{kind}\t{p.relative_to(root)}\t{p.stat().st_size}")
    digest = hashlib.sha256("\n".join(entries).encode()).hexdigest()
    return {"root": str(root), "split": split, "files": len(entries), "sha256": digest}


def load_pools(roots: Path | list[Path], split: str = "train") -> Pools:
    """Load one split (``train`` or ``validation``) of one or more data folders into memory."""
    pools = Pools()
    dtype = TRAIN_DTYPE if split == "train" else np.float32
    for root in [roots] if isinstance(roots, Path) else roots:
        _load_root(Path(root), split, pools, dtype)
    if not (pools.pairs or pools.vocals) or not (pools.pairs or pools.instrumentals):
        raise ValueError(f"no training material for split {split!r} under {roots}")
    return pools


def _load_root(root: Path, split: str, pools: Pools, dtype: type) -> None:
    for kind, groups in scan(root).items():
        for group in groups:
            if (split == "validation") != _is_validation(group[0]):
                continue
            loaded = [read_with_rate(p) for p in group]
            arrays = [a for a, _ in loaded]
            band = min(rate for _, rate in loaded) / 2
            pools.files.extend(str(p.relative_to(root)) for p in group)
            if kind == "pairs":
                vocal, acc = arrays
                n = min(vocal.shape[-1], acc.shape[-1])
                pools.pairs.append((vocal[:, :n].astype(dtype), acc[:, :n].astype(dtype)))
                pools.pair_bands.append(band)
            elif kind == "vocals":
                pools.vocals.append(arrays[0].astype(dtype))
                pools.vocal_bands.append(band)
            else:
                n = min(a.shape[-1] for a in arrays)
                chans = max(a.shape[0] for a in arrays)
                total = np.zeros((chans, n), dtype=np.float32)
                for a in arrays:
                    total += a[:, :n] if a.shape[0] == chans else a[:1, :n]
                pools.instrumentals.append(total.astype(dtype))
                pools.instrumental_bands.append(band)


def _segment(
    audio: np.ndarray, length: int, rng: np.random.Generator, *others: np.ndarray
) -> tuple[np.ndarray, ...]:
    """A random ``length``-sample stretch as float32; short material is placed at a random offset
    in silence. With ``others`` (stems of the same length), the same stretch of each: one cut per
    array given, in order."""
    n = audio.shape[-1]
    if n >= length:
        start = int(rng.integers(0, n - length + 1))
        cuts = tuple(a[:, start : start + length].astype(np.float32) for a in (audio, *others))
    else:
        start = int(rng.integers(0, length - n + 1))
        cuts = tuple(np.zeros((a.shape[0], length), dtype=np.float32) for a in (audio, *others))
        for cut, a in zip(cuts, (audio, *others), strict=True):
            cut[:, start : start + n] = a
    return cuts


def _stereo(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mono gets a random constant-power pan; stereo a random channel swap."""
    if audio.shape[0] == 1:
        pan = rng.uniform(0.2, 0.8) * np.pi / 2
        return np.concatenate([audio * np.cos(pan), audio * np.sin(pan)]) * np.sqrt(2)
    if rng.random() < 0.5:
        return audio[::-1]
    return audio


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio), dtype=np.float64)) + 1e-12)


class Remixer:
    """Draws training examples ``(mixture, vocals, instrumental, band_hz)``; audio float32
    ``(2, length)``; ``band_hz`` is the band-width both stems really have (see ``Pools``)."""

    def __init__(
        self,
        pools: Pools,
        augment: bool = False,
        production: bool = False,
        stereo_pair_share: float = STEREO_PAIR_SHARE,
        levels: str = "remix",
    ) -> None:
        """``levels``: "remix" draws the voice's level from ``GAIN_DB_RANGE`` for every example;
        "songs" from ``SONG_GAIN_DB_RANGE`` with ``SONG_VOCAL_FREE_SHARE`` vocal-free examples,
        and a stereo true pair (a real mix: the singer with that band) keeps its recorded level."""
        if levels not in LEVELS:
            raise ValueError(f"levels must be one of {LEVELS}, not {levels!r}")
        self.pools = pools
        self.levels = levels
        self.stereo_pair_share = stereo_pair_share
        self.augment = augment
        self.production = production  # engine.production: effects on remixed vocals, bus comp
        self.stereo_pairs = [i for i, (v, _) in enumerate(pools.pairs) if v.shape[0] == 2]
        self.mono_pairs = [i for i, (v, _) in enumerate(pools.pairs) if v.shape[0] != 2]
        pair_vocals = [v for v, _ in pools.pairs]
        pair_accompaniments = [a for _, a in pools.pairs]
        self.vocal_groups = [
            (g, b, share)
            for g, b, share in (
                (pools.vocals, pools.vocal_bands, VOCAL_POOL_SHARE),
                (pair_vocals, pools.pair_bands, 1 - VOCAL_POOL_SHARE),
            )
            if g
        ]
        self.instrumental_groups = [
            (g, b, share)
            for g, b, share in (
                (pools.instrumentals, pools.instrumental_bands, INSTRUMENTAL_POOL_SHARE),
                (pair_accompaniments, pools.pair_bands, 1 - INSTRUMENTAL_POOL_SHARE),
            )
            if g
        ]

    def _pick(
        self,
        groups: list[tuple[list[np.ndarray], list[float], float]],
        length: int,
        rng: np.random.Generator,
        probs: dict[str, float],
    ) -> tuple[np.ndarray, float]:
        weights = np.array([share for _, _, share in groups])
        arrays, bands, _ = groups[int(rng.choice(len(groups), p=weights / weights.sum()))]
        factor = 1.0
        if self.augment and rng.random() < probs["speed"]:
            factor = float(rng.uniform(*augment.SPEED_RANGE))
        for _ in range(8):  # avoid drawing a silent stretch of a stem
            index = int(rng.integers(len(arrays)))
            (seg,) = _segment(arrays[index], int(np.ceil(length * factor)) + 1, rng)
            if _rms(seg) > MIN_ACTIVE_RMS:
                break
        if factor != 1.0:
            seg = augment.speed(seg, factor, length)
        seg = seg[:, :length]
        if self.augment:
            seg = augment.augment(seg, probs, rng)
        return seg, bands[index]

    def _pick_pair(self, rng: np.random.Generator) -> int:
        """A true pair: from the stereo (produced) ones ``stereo_pair_share`` of the time, where
        there are both kinds."""
        if self.stereo_pairs and self.mono_pairs:
            group = self.stereo_pairs if rng.random() < self.stereo_pair_share else self.mono_pairs
        else:
            group = self.stereo_pairs or self.mono_pairs
        return group[int(rng.integers(len(group)))]

    def sample(
        self, length: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.float32]:
        recorded_level = False
        if self.pools.pairs and rng.random() < TRUE_PAIR_SHARE:
            index = self._pick_pair(rng)
            vocal_full, acc_full = self.pools.pairs[index]
            vocal_seg, acc_seg = _segment(vocal_full, length, rng, acc_full)
            vocals = _stereo(vocal_seg, rng)
            acc = _stereo(acc_seg, rng)
            band = self.pools.pair_bands[index]
            recorded_level = self.levels == "songs" and vocal_full.shape[0] == 2
        else:
            vocals, vocal_band = self._pick(self.vocal_groups, length, rng, augment.VOCAL_PROBS)
            acc, acc_band = self._pick(self.instrumental_groups, length, rng, augment.INSTRUMENTAL_PROBS)
            vocals, acc = _stereo(vocals, rng), _stereo(acc, rng)
            if self.production and rng.random() < production.PRODUCTION_SHARE:
                vocals = production.produce(vocals, rng)
            band = min(vocal_band, acc_band)
        gain_range = SONG_GAIN_DB_RANGE if self.levels == "songs" else GAIN_DB_RANGE
        vocal_free = SONG_VOCAL_FREE_SHARE if self.levels == "songs" else VOCAL_FREE_SHARE
        if not recorded_level:
            vocal_gain = _rms(acc) / _rms(vocals) * 10 ** (rng.uniform(*gain_range) / 20)
            vocals = vocals * vocal_gain
        if rng.random() < vocal_free:
            vocals = np.zeros_like(vocals)
        if self.production and rng.random() < production.BUS_COMPRESSION_SHARE:
            vocals, acc = production.bus_compress(vocals, acc, rng)
        mix = vocals + acc
        scale = 10 ** (rng.uniform(*TARGET_RMS_DB_RANGE) / 20) / _rms(mix)
        peak = float(np.max(np.abs(mix))) * scale
        if peak > 0.99:  # never train on clipped mixtures
            scale *= 0.99 / peak
        return (
            (mix * scale).astype(np.float32),
            (vocals * scale).astype(np.float32),
            (acc * scale).astype(np.float32),
            np.float32(band),
        )

    def batch(self, size: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        examples = [self.sample(length, rng) for _ in range(size)]
        return tuple(np.stack(parts) for parts in zip(*examples, strict=True))


@dataclass(frozen=True)
class ValidationSet:
    """What checkpoints and mask powers are chosen on (:mod:`engine.calibrate` scores it).

    ``remixes``: fixed random remixes of the held-out split, ``(mixture, targets, band_hz)`` with
    targets ``(n, 2 sources, channels, samples)``. ``song``: the held-out produced songs (the
    stereo true pairs of the split) *as recorded* — consecutive patches of vocals + accompaniment,
    no remixing, no gain — ``(mixture, targets, voiced)``, ``voiced`` marking the patches whose
    vocals count (see ``SONG_VOICED_DB``); ``None`` where the split holds no such song. The song
    is the part of validation that looks like what users upload, and it scores the instrumental
    too; the held-out songs should grow with every produced song the data gains (why:
    docs/BENCHMARKS.md, "Training data choices of engine/data.py").
    """

    remixes: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    song: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None


def validation_set(data: list[Path], examples: int, stft_cfg: STFTConfig) -> ValidationSet:
    """The validation set of the held-out split: the same remixes and song patches at every
    validation of a run, and in every run on the same shared data (a data root with no held-out
    singers or songs adds nothing here), so runs and calibrations compare.

    Here, beside the remixer, so that training (:mod:`engine.train`) and calibration
    (:mod:`engine.calibrate`) both use it without importing each other. torch is imported only
    when it is called: the rest of this module stays numpy-only."""
    import torch

    pools = load_pools(data, "validation")
    rng = np.random.default_rng(1234)
    length = (PATCH_FRAMES - 1) * stft_cfg.hop
    mix, vocals, acc, band = Remixer(pools).batch(examples, length, rng)
    remixes = (
        torch.from_numpy(mix),
        torch.from_numpy(np.stack([vocals, acc], axis=1)),
        torch.from_numpy(band),
    )
    song = song_patches([pair for pair in pools.pairs if pair[0].shape[0] == 2], length)
    song_tensors = None
    if song is not None:
        song_mix, song_targets, voiced = song
        song_tensors = (torch.from_numpy(song_mix), torch.from_numpy(song_targets), torch.from_numpy(voiced))
    return ValidationSet(remixes, song_tensors)


def song_patches(
    pairs: list[tuple[np.ndarray, np.ndarray]], length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Cut songs ``(vocals, accompaniment)`` into consecutive ``length``-sample patches as
    recorded: ``(mixture, targets, voiced)``. Patches with a silent accompaniment (a song's silent
    start or end) are left out: nothing in them is worth scoring."""
    mixes, targets, voiced = [], [], []
    for vocal, acc in pairs:
        for start in range(0, min(vocal.shape[-1], acc.shape[-1]) - length + 1, length):
            v, a = vocal[:, start : start + length], acc[:, start : start + length]
            if _rms(a) <= MIN_ACTIVE_RMS:
                continue
            mixes.append(v + a)
            targets.append(np.stack([v, a]))
            voiced.append(_rms(v) >= _rms(v + a) * 10 ** (SONG_VOICED_DB / 20))
    if not mixes:
        return None
    return (np.stack(mixes).astype(np.float32), np.stack(targets).astype(np.float32), np.array(voiced))
