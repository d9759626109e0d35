"""Checkpoints: what a training run saves, what a separation loads.

A training checkpoint holds everything needed to resume (weights, averaged weights, optimizer,
step, random state) and to know where it came from (configs, data manifest, git commit, time).
An exported model keeps only the averaged weights in float16 plus the provenance, so the shipped
file stays a few MB. The model version, which the cache and the feedback statistics key on, is a
digest of the exported weights: retraining changes it, copying the file does not.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import torch

FORMAT = 1


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    """Write to a temporary file and rename, so a run killed mid-save never leaves a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load(path: Path | str) -> dict[str, Any]:
    return torch.load(str(path), map_location="cpu", weights_only=False)


def averaged_weights(payload: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights to run or fine-tune from, as float32: a training checkpoint's averaged (EMA)
    weights — what we ship — or an exported model's."""
    state = payload["ema_state"] if "ema_state" in payload else payload["state_dict"]
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def weights_digest(state: dict[str, torch.Tensor], calibration: dict[str, float] | None = None) -> str:
    """Digest of what decides a model's output: its weights and, where set, its calibration."""
    buf = io.BytesIO()
    for name in sorted(state):
        buf.write(name.encode())
        buf.write(state[name].detach().cpu().numpy().tobytes())
    if calibration:
        buf.write(json.dumps(calibration, sort_keys=True).encode())
    return hashlib.sha256(buf.getvalue()).hexdigest()[:10]


def model_version(payload: dict[str, Any]) -> str:
    """The version of an exported model: layout, width and digest (see the module docstring);
    ``unet-w8-…`` masks each channel alone, ``unet-st8-…`` the stereo pair (engine.model)."""
    digest = weights_digest(payload["state_dict"], payload.get("calibration"))
    layout = "st" if payload["unet"].get("stereo") else "w"
    return f"unet-{layout}{payload['unet']['width']}-{digest}"


def export(checkpoint: dict[str, Any], path: Path, extra: dict[str, Any] | None = None) -> str:
    """Save the averaged weights of a training checkpoint as a shippable model; return its version."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in checkpoint["ema_state"].items()}
    payload = {
        "format": FORMAT,
        "kind": "model",
        "unet": checkpoint["unet"],
        "stft": checkpoint["stft"],
        "state_dict": state,
        "step": checkpoint["step"],
        "train_seconds": checkpoint.get("train_seconds"),
        "manifest": checkpoint.get("manifest"),
        "git_commit": checkpoint.get("git_commit"),
        "history": checkpoint.get("history", [])[-50:],
        **(extra or {}),
    }
    payload["version"] = version = model_version(payload)
    save_atomic(payload, path)
    return version
