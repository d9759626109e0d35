"""Training: random remixes in, two soft masks out, L1 loss on masked magnitudes, Adam.

The loss is the paper's ``||mask(X) ⊙ X − Y||₁`` summed over the two sources (vocals and
instrumental). The weights that get exported are an exponential moving average of the trained
weights: on this little data the raw weights swing by about 1 dB SDR between checkpoints, and the
average is the cheap cure. The best checkpoint is the one with the highest calibrated validation
score on a split held out by singer and by song (see ``engine.data`` and :func:`validate`), never
on the evaluation clips. ``--loss magnitude+wave`` adds an L1 on the output waveforms
(:func:`masked_wave_l1`).

Runs resume: ``last.pt`` in the run folder holds weights, averaged weights, optimizer, step, time
spent and the random state, and is rewritten atomically at every validation.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from engine import checkpoint
from engine import songs as song_judge
from engine.calibrate import (
    Scores,
    best_power,
    export_calibrated,
    score_by_power,
)
from engine.constants import CALIBRATION_EXAMPLES, LOSSES, SAMPLE_RATE
from engine.data import (
    PATCH_FRAMES,
    STEREO_PAIR_SHARE,
    Remixer,
    ValidationSet,
    load_pools,
    manifest,
    validation_set,
)
from engine.evaluate import Track
from engine.loader import Batch, RemixWorkers
from engine.model import MaskNetwork, UNet, UNetConfig, parameter_count, stereo_from_mono
from engine.predict import Separator
from engine.songs import PowerScores
from engine.transforms import STFTConfig, extend_mask, istft, stft

EMA_DECAY = 0.998
# The calibration remixes (64 were too few once a produced song joined the MIR-1K ones): a run's
# calibrated validation SDR is then the score `engine calibrate` gives its exported checkpoint.
VALIDATION_EXAMPLES = CALIBRATION_EXAMPLES
FINAL_LR_SHARE = 0.1  # cosine decay ends at this share of the starting learning rate
PREFETCH_BATCHES = 4
# Weight of the waveform term in the "magnitude+wave" loss. On 16 validation remixes the shipped
# model scores 0.32 on magnitudes and 0.0195 on waveforms (torch's STFT is unnormalised, so a
# magnitude is a sum over a 4096-sample window): at 100 the waveform term is about six times the
# magnitude term, which stays as a guide where the waveform gives little gradient (quiet bins).
# The measured run used this weight (docs/BENCHMARKS.md, "Model quality III").
WAVE_WEIGHT = 100.0


@dataclass
class TrainConfig:
    data: list[Path]
    run_dir: Path
    steps: int = 4000
    max_minutes: float | None = None
    batch: int = 8
    lr: float = 1e-3
    width: int = 8
    stereo: bool = False  # see engine.model: one pass over the stereo pair, a mask per channel
    validate_every: int = 200
    validation_examples: int = VALIDATION_EXAMPLES
    seed: int = 0
    device: str | None = None
    export: Path | None = None
    augment: bool = True
    production: bool = False  # engine.production: vocal effects and bus compression on remixes
    stereo_pair_share: float = STEREO_PAIR_SHARE  # engine.data: produced songs among true pairs
    levels: str = "remix"  # engine.data.LEVELS: the voice's level as remixes or as real songs have it
    loss: str = "magnitude"  # one of LOSSES; see masked_loss
    loaders: int = 0  # remix worker processes (engine.loader); 0: one background thread
    init: Path | None = None
    # Also export the averaged weights at every validation to run_dir/snapshots/step-NNNNNN.pt
    # (float16, a few MB each), so that a later, better validation can re-choose among them.
    keep_snapshots: bool = False
    # Real songs with their true stems (``../shared/data/valid``): the judge (engine.songs). When
    # set, ``best.pt`` and the export's calibration are chosen on them, and the remixes are only
    # logged as an early signal.
    songs: Path | None = None
    stft: STFTConfig = field(default_factory=STFTConfig)

    def __post_init__(self) -> None:
        if isinstance(self.data, str | Path):
            self.data = [Path(self.data)]
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")


def masked_l1(
    net: MaskNetwork,
    mix: torch.Tensor,
    targets: torch.Tensor,
    cfg: STFTConfig,
    band_hz: torch.Tensor | None = None,
    phase: bool = False,
) -> torch.Tensor:
    """``||mask(X) ⊙ X − Y||₁`` for waveforms ``mix (b, 2, n)`` and ``targets (b, sources, 2, n)``.

    On magnitudes (the paper's loss) by default. With ``phase`` on the complex spectrograms: the
    masked mixture keeps the mixture's phase, as the separated output does, so a bin where the
    source's phase differs from the mixture's costs what it costs the output (the phase-sensitive
    objective of Erdogan et al. 2015; the mask that minimises it is smaller there).

    With ``band_hz (b,)`` the loss ignores bins above each example's true band-width: a 16 kHz
    vocal over a full-band instrumental says nothing about who owns 8-16 kHz in a real song, and
    scoring those bins would teach that voice has no sibilants.
    """
    bins = cfg.bins
    spec = stft(mix, cfg)[..., :bins, :]  # (b, 2, bins, frames)
    target = stft(targets, cfg)[..., :bins, :].transpose(1, 2)  # (b, 2, sources, bins, frames)
    masks = net.masks_for(spec)  # (b, 2, sources, bins, frames)
    if phase:
        error = (masks * spec[:, :, None] - target).abs()
    else:
        error = (masks * spec.abs()[:, :, None] - target.abs()).abs()
    if band_hz is None:
        return error.mean()
    freqs = torch.arange(bins, device=mix.device) * (SAMPLE_RATE / cfg.n_fft)
    valid = (freqs[None, :] < band_hz[:, None].to(mix.device)).to(error.dtype)
    weight = valid[:, None, None, :, None]  # (b, 1, 1, bins, 1)
    per_bin = error.shape[1] * error.shape[2] * error.shape[4]  # channels · sources · frames
    return (error * weight).sum() / (weight.sum() * per_bin)


def masked_wave_l1(
    net: MaskNetwork,
    mix: torch.Tensor,
    targets: torch.Tensor,
    cfg: STFTConfig,
    band_hz: torch.Tensor | None = None,
) -> torch.Tensor:
    """L1 between the waveforms the model would output — its masks (extended above the modelled
    band as in separation) on the mixture's complex spectrogram, inverted — and the true stems.

    This is what SDR scores and the magnitude loss cannot see: the mixture's phase under the mask,
    and the overlap-add of neighbouring frames. With ``band_hz`` both sides are cut to each
    example's true band-width first (the reason is the same as in :func:`masked_l1`). The STFT is
    linear, so the difference is inverted once.
    """
    spec = stft(mix, cfg)  # (b, 2, freq, frames)
    masks = extend_mask(net.masks_for(spec), cfg)  # (b, 2, sources, freq, frames)
    error = masks * spec[:, :, None] - stft(targets, cfg).transpose(1, 2)
    if band_hz is not None:
        freqs = torch.arange(error.shape[-2], device=mix.device) * (SAMPLE_RATE / cfg.n_fft)
        keep = (freqs[None, :] < band_hz[:, None].to(mix.device)).to(masks.dtype)
        error = error * keep[:, None, None, :, None]
    return istft(error, cfg, mix.shape[-1]).abs().mean()


def masked_loss(
    loss: str,
    net: MaskNetwork,
    mix: torch.Tensor,
    targets: torch.Tensor,
    cfg: STFTConfig,
    band_hz: torch.Tensor | None = None,
) -> torch.Tensor:
    """The training objective named ``loss`` (one of ``LOSSES``): the paper's magnitude L1, that
    plus ``WAVE_WEIGHT`` × the waveform L1 of :func:`masked_wave_l1`, or the complex-spectrogram
    L1 (``phase``, see :func:`masked_l1`). On the 2-core CPU a step with the waveform term takes
    about three times as long (two more transforms over all 2049 bins and their gradients); the
    phase-sensitive one costs what the magnitude loss does."""
    if loss == "phase":
        return masked_l1(net, mix, targets, cfg, band_hz, phase=True)
    value = masked_l1(net, mix, targets, cfg, band_hz)
    if loss == "magnitude+wave":
        value = value + WAVE_WEIGHT * masked_wave_l1(net, mix, targets, cfg, band_hz)
    return value


def _lr_at(cfg: TrainConfig, step: int, seconds: float) -> float:
    progress = step / cfg.steps
    if cfg.max_minutes:
        progress = max(progress, seconds / (cfg.max_minutes * 60))
    progress = min(progress, 1.0)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.lr * (FINAL_LR_SHARE + (1 - FINAL_LR_SHARE) * cosine)


def _init_from(
    path: Path, net: torch.nn.Module, ema: torch.nn.Module, unet_cfg: UNetConfig, stft_cfg: STFTConfig
) -> None:
    """Start a new run from a model's (averaged) weights: fine-tuning on new data, or a new
    learning-rate schedule from where an earlier run stopped. The optimizer starts afresh.
    A stereo run may start from a mono model of the same width (``model.stereo_from_mono``)."""
    payload = checkpoint.load(path)
    source_cfg = UNetConfig(**payload["unet"])
    mono_to_stereo = unet_cfg.stereo and not source_cfg.stereo
    if mono_to_stereo:
        source_cfg = replace(source_cfg, stereo=True)
    if source_cfg != unet_cfg or payload["stft"] != stft_cfg.to_dict():
        raise ValueError(f"{path} has another model shape: {payload['unet']} {payload['stft']}")
    state = checkpoint.averaged_weights(payload)
    if mono_to_stereo:
        state = stereo_from_mono(state)
    net.load_state_dict(state)
    ema.load_state_dict(state)


def _batches(remixer: Remixer, cfg: TrainConfig, seed: int, stop: threading.Event) -> queue.Queue[Batch]:
    """Remix batches on a background thread so numpy work overlaps the network's."""
    out: queue.Queue[Batch] = queue.Queue(maxsize=PREFETCH_BATCHES)
    length = (PATCH_FRAMES - 1) * cfg.stft.hop

    def work() -> None:
        rng = np.random.default_rng(seed)
        while not stop.is_set():
            mix, vocals, acc, band = remixer.batch(cfg.batch, length, rng)
            item = (
                torch.from_numpy(mix),
                torch.from_numpy(np.stack([vocals, acc], axis=1)),
                torch.from_numpy(band),
            )
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue

    threading.Thread(target=work, daemon=True, name="remix").start()
    return out


@dataclass(frozen=True)
class Validation:
    """One validation of a run: the magnitude L1 on the validation remixes, the scores with the raw
    mask (power 1) and at ``power``, the best over :data:`engine.calibrate.MASK_POWERS` — what the
    exported model scores once calibrated; and, where the run has validation songs, their scores
    at their best power ``songs_power`` (:mod:`engine.songs`)."""

    loss: float
    raw: Scores
    calibrated: Scores
    power: float
    songs: PowerScores | None = None
    songs_power: float | None = None

    @property
    def score(self) -> float:
        """What ``best.pt`` is chosen on: the songs' overall score where there are songs (the
        judge), else the calibrated overall score of the remixes."""
        return self.calibrated.overall if self.songs is None else self.songs.overall

    def record(self) -> dict[str, Any]:
        """The history entry's validation fields: ``val_sdr`` the raw mask's remix vocals, the
        calibrated scores as ``val_<part>`` (``val_overall``: what ``best.pt`` is chosen on)."""
        record: dict[str, Any] = {
            "val": self.loss,
            "val_sdr": round(self.raw.remix_vocals, 3),
            **{f"val_{k}": v for k, v in self.calibrated.to_dict().items()},
            "val_power": self.power,
        }
        if self.songs is not None:
            record.update(
                {
                    "songs_vocals": round(self.songs.vocals, 3),
                    "songs_instrumental": round(self.songs.instrumental, 3),
                    "songs_overall": round(self.songs.overall, 3),
                    "songs_power": self.songs_power,
                }
            )
        return record

    def describe(self) -> str:
        line = (
            f"val {self.loss:.4f}, raw remix vocals {self.raw.remix_vocals:.2f} dB; at power "
            f"{self.power}: {self.calibrated.describe()}"
        )
        if self.songs is not None:
            line += f"; songs at power {self.songs_power}: {self.songs.describe()}"
        return line


@torch.no_grad()
def validate(
    net: UNet, val: ValidationSet, cfg: TrainConfig, device: torch.device, songs: list[Track] | None = None
) -> Validation:
    """Magnitude L1 on the validation remixes and the scores of :mod:`engine.calibrate`.

    Checkpoints are chosen on the *calibrated overall* score (:class:`engine.calibrate.Scores`),
    not on the loss nor the raw-mask SDR: the loss kept falling while the SDR peaked, and raw-SDR
    gains were mostly a more open mask, which calibration gives any checkpoint (docs/BENCHMARKS.md,
    "Model quality III"); and not on the remixes alone, whose gains stopped reaching produced songs
    ("Model quality IV"). It is the same whatever loss a run trains with, so runs with different
    objectives compare.
    """
    net.eval()
    mix_all, targets_all, band_all = val.remixes
    losses = [
        float(
            masked_l1(
                net,
                mix_all[i : i + cfg.batch].to(device),
                targets_all[i : i + cfg.batch].to(device),
                cfg.stft,
                band_all[i : i + cfg.batch],
            )
        )
        for i in range(0, mix_all.shape[0], cfg.batch)
    ]
    scores = score_by_power(
        lambda spec: extend_mask(net.masks_for(spec)[:, :, 0], cfg.stft), val, cfg.stft, device, cfg.batch
    )
    song_scores, song_power = None, None
    if songs:
        by_power = song_judge.score_by_power(Separator(net, cfg.stft, "validation", device), songs)
        song_power = song_judge.best_power(by_power)
        song_scores = by_power[song_power]
    net.train()
    power = best_power(scores)
    return Validation(float(np.mean(losses)), scores[1.0], scores[power], power, song_scores, song_power)


def snapshot_path(run_dir: Path, step: int) -> Path:
    """Where ``keep_snapshots`` puts the model exported at ``step``."""
    return run_dir / "snapshots" / f"step-{step:06d}.pt"


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train (or resume) a run in ``cfg.run_dir``; return the final checkpoint dict."""
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(cfg.seed)
    unet_cfg = UNetConfig(width=cfg.width, bins=cfg.stft.bins, stereo=cfg.stereo)
    net = UNet(unet_cfg).to(device)
    ema = UNet(unet_cfg).to(device).eval()
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    last_path, best_path = cfg.run_dir / "last.pt", cfg.run_dir / "best.pt"
    # "best": the highest validation score so far (Validation.score: the songs where given)
    # "best_judge": what "best" was measured on; a run resumed under another judge (songs added)
    # starts its best afresh, since a remix score and a song score are not on one scale.
    judge = "songs" if cfg.songs else "remixes"
    state: dict[str, Any] = {
        "step": 0,
        "train_seconds": 0.0,
        "history": [],
        "best": -math.inf,
        "best_judge": judge,
    }
    if last_path.exists():
        ckpt = checkpoint.load(last_path)
        net.load_state_dict(ckpt["state_dict"])
        ema.load_state_dict(ckpt["ema_state"])
        opt.load_state_dict(ckpt["optimizer"])
        state = {k: ckpt.get(k, "remixes" if k == "best_judge" else None) for k in state}
        if state["best_judge"] != judge:
            state["best"], state["best_judge"] = -math.inf, judge
        tqdm.write(f"resuming {last_path} at step {state['step']}")
    elif cfg.init:
        _init_from(cfg.init, net, ema, unet_cfg, cfg.stft)
        tqdm.write(f"new run starting from the weights of {cfg.init}")

    tqdm.write("loading training data ...")
    pools = load_pools(cfg.data, "train")
    val = validation_set(cfg.data, cfg.validation_examples, cfg.stft)
    songs = song_judge.load_songs(cfg.songs) if cfg.songs else None
    data_manifest = {split: [manifest(root, split) for root in cfg.data] for split in ("train", "validation")}
    tqdm.write(f"data: {pools.seconds()} | model: {parameter_count(net) / 1e6:.2f} M params on {device}")
    stop = threading.Event()
    remixer = Remixer(
        pools,
        augment=cfg.augment,
        production=cfg.production,
        stereo_pair_share=cfg.stereo_pair_share,
        levels=cfg.levels,
    )
    batches: queue.Queue[Batch] | RemixWorkers
    if cfg.loaders:  # a GPU machine: one remixing thread would starve it (engine/loader.py)
        batches = RemixWorkers(
            remixer,
            cfg.batch,
            (PATCH_FRAMES - 1) * cfg.stft.hop,
            cfg.seed + state["step"],
            cfg.loaders,
            device.type == "cuda",
        )
    else:
        batches = _batches(remixer, cfg, cfg.seed + state["step"], stop)

    def snapshot() -> dict[str, Any]:
        return {
            "format": checkpoint.FORMAT,
            "kind": "training",
            "unet": unet_cfg.to_dict(),
            "stft": cfg.stft.to_dict(),
            "state_dict": net.state_dict(),
            "ema_state": ema.state_dict(),
            "optimizer": opt.state_dict(),
            "manifest": data_manifest,
            "git_commit": checkpoint.git_commit(),
            "train_config": {k: str(v) for k, v in cfg.__dict__.items()},
            **state,
        }

    bar = tqdm(total=cfg.steps, initial=state["step"], desc="train", unit="step")
    started = time.monotonic() - state["train_seconds"]
    running = None
    try:
        while state["step"] < cfg.steps:
            state["train_seconds"] = time.monotonic() - started
            if cfg.max_minutes and state["train_seconds"] > cfg.max_minutes * 60:
                break
            for group in opt.param_groups:
                group["lr"] = _lr_at(cfg, state["step"], state["train_seconds"])
            mix, targets, band = batches.get()
            loss = masked_loss(cfg.loss, net, mix.to(device), targets.to(device), cfg.stft, band)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for e, p in zip(ema.state_dict().values(), net.state_dict().values(), strict=True):
                    if e.is_floating_point():
                        e.mul_(EMA_DECAY).add_(p, alpha=1 - EMA_DECAY)
                    else:
                        e.copy_(p)
            state["step"] += 1
            value = loss.item()
            running = value if running is None else 0.98 * running + 0.02 * value
            bar.update(1)
            bar.set_postfix(loss=f"{running:.4f}", lr=f"{opt.param_groups[0]['lr']:.1e}")
            if state["step"] % cfg.validate_every == 0:
                v = validate(ema, val, cfg, device, songs)
                state["history"].append(
                    {
                        "step": state["step"],
                        "train": running,
                        **v.record(),
                        "seconds": round(time.monotonic() - started, 1),
                    }
                )
                tqdm.write(f"step {state['step']}: train {running:.4f} {v.describe()}")
                state["train_seconds"] = time.monotonic() - started
                if v.score > state["best"]:
                    state["best"] = v.score
                    checkpoint.save_atomic(snapshot(), best_path)
                checkpoint.save_atomic(snapshot(), last_path)
                if cfg.keep_snapshots:
                    checkpoint.export(snapshot(), snapshot_path(cfg.run_dir, state["step"]))
    finally:
        stop.set()
        if isinstance(batches, RemixWorkers):
            batches.close()
        bar.close()
    state["train_seconds"] = time.monotonic() - started
    final = snapshot()
    checkpoint.save_atomic(final, last_path)
    if not best_path.exists():
        checkpoint.save_atomic(final, best_path)
    if cfg.export:
        power, version, _scores = export_calibrated(
            best_path, cfg.export, cfg.data, cfg.songs, cfg.validation_examples
        )
        tqdm.write(f"exported {best_path} as {cfg.export} (version {version}, vocal mask power {power})")
    return final
