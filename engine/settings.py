"""The engine's own settings: which ffmpeg to run and which model the command line loads.

Read on first use (:func:`engine_settings`), never at import: ``engine.audio`` asks for the
binaries when it first runs one, so importing the engine reads no environment and a test can
build :class:`EngineSettings` from a mapping.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.envconfig import env_field, load

# The shipped model, wherever the engine is run from.
BUNDLED_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "vocals-unet.pt"


@dataclass(frozen=True)
class EngineSettings:
    ffmpeg_binary: str = env_field("FFMPEG_BINARY", default="ffmpeg")
    ffprobe_binary: str = env_field("FFPROBE_BINARY", default="ffprobe")
    # The model ``python -m engine`` loads without ``--model`` (the worker's is jobs.Settings').
    model_path: Path = env_field("MODEL_PATH", Path, default=BUNDLED_MODEL_PATH)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EngineSettings:
        return load(cls, env)


@functools.cache
def engine_settings() -> EngineSettings:
    """This process's engine settings, read once, on first use."""
    return EngineSettings.from_env()
