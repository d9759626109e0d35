"""One way to read configuration: a typed, frozen settings dataclass per owner, built by :func:`load`.

It lives in ``service``, the bottom package every part (the engine included) may import; it
imports nothing from the project.

Each package owns its settings (``engine.settings.EngineSettings``, ``jobs.Settings``,
``payments.Settings``, ``bots.telegram.config.TelegramConfig``, ``bots.discord.config.DiscordConfig``)
and declares each field with :func:`env_field`: the variable's name, a parser and the default.
``.env.example`` is the one list of the variables (a test checks every name read is there).

Invariants, and why:

* **Read at start-up, never at import.** ``load`` reads the process environment over a ``.env``
  file in the working directory (the environment wins, as with ``scripts/run.sh`` and compose);
  nothing reads it when a module is imported, so tests and tools build settings from a mapping.
* **Every bad value named, in one error.** ``load`` parses every field before it gives up and
  raises one :class:`SettingsError` listing each problem (``NAME: why, got 'value'``); a
  process's ``main`` loads all its owners' settings with :func:`load_all` so one start-up
  error names everything wrong. Secret values are never echoed.
* **Unset and empty are the same** and keep the default, so ``.env.example``'s empty lines are
  valid as they are. A field without a default is required.

Cross-field rules (e.g. a Telegram provider token needs a Stripe key) live in the owner's
``__post_init__`` and raise :class:`SettingsError`, which ``load`` adds to the list.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar


class DataclassInstance(Protocol):
    """A settings class as :func:`load` reads it: a dataclass (typeshed's protocol of the same
    name, restated here so this module needs nothing but the standard library)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


T = TypeVar("T", bound=DataclassInstance)
ENV_FILE = Path(".env")
_META = "envconfig"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """One or more settings are missing or malformed; raised at start-up, never mid-request.

    ``problems`` holds one line per bad variable; ``str()`` joins them."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class _Var:
    name: str
    parse: Callable[[str], Any]
    secret: bool


def env_field(
    name: str, parse: Callable[[str], Any] = str, *, default: Any = MISSING, secret: bool = False
) -> Any:
    """A settings field read from variable ``name`` by ``parse`` (which raises ``ValueError``
    saying what is wrong). ``secret``: kept out of ``repr`` and out of error messages."""
    return field(default=default, repr=not secret, metadata={_META: _Var(name, parse, secret)})


# ----------------------------------------------------------------------------- parsers


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("must be an integer") from None
        _check_range(value, minimum, maximum)
        return value

    return parse


def number(minimum: float | None = None, scale: float = 1.0) -> Callable[[str], float]:
    """A float, times ``scale`` (e.g. hours given, seconds held: ``scale=3600``)."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
        _check_range(value, minimum, None)
        return value * scale

    return parse


def _check_range(value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"must be {minimum}..{maximum}")
    if minimum is not None and value < minimum:
        raise ValueError(f"must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"must be <= {maximum}")


def integers(raw: str) -> tuple[int, ...]:
    """Comma-separated integers, e.g. ``10,60``."""
    try:
        return tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError("must be comma-separated integers") from None


def boolean(raw: str) -> bool:
    word = raw.lower()
    if word not in _TRUE + _FALSE:
        raise ValueError("must be true or false")
    return word in _TRUE


# ----------------------------------------------------------------------------- loading


def secret_values(settings: object) -> list[str]:
    """The set values of ``settings``' secret fields (``env_field(..., secret=True)``): what a
    log line must never show (:mod:`service.logs` redacts them)."""
    found: list[str] = []
    for spec in fields(settings):  # type: ignore[arg-type]
        var = spec.metadata.get(_META)
        value = getattr(settings, spec.name, None)
        if var is not None and var.secret and isinstance(value, str) and value:
            found.append(value)
    return found


def parse_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a ``.env`` file (comments and blank lines skipped; values are
    written without quotes, see ``.env.example``). A missing file is empty."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def read_environment(env_file: Path = ENV_FILE) -> dict[str, str]:
    """The ``.env`` file's values under the process environment's (the environment wins)."""
    return {**parse_env_file(env_file), **os.environ}


def _load(cls: type[T], env: Mapping[str, str]) -> tuple[T | None, list[str]]:
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in fields(cls):
        var = spec.metadata.get(_META)
        if var is None:
            continue
        raw = env.get(var.name, "").strip()
        if not raw:
            if spec.default is MISSING and spec.default_factory is MISSING:
                problems.append(f"{var.name} is not set")
            continue
        try:
            values[spec.name] = var.parse(raw)
        except ValueError as exc:
            problems.append(f"{var.name} {exc}" + ("" if var.secret else f", got {raw!r}"))
    if problems:
        return None, problems
    try:
        return cls(**values), []
    except SettingsError as exc:
        return None, exc.problems


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from ``environ`` (default: :func:`read_environment`), or raise one
    :class:`SettingsError` naming every bad variable."""
    settings, problems = _load(cls, read_environment() if environ is None else environ)
    if settings is None:
        raise SettingsError(*problems)
    return settings


def load_all(
    classes: Iterable[type[DataclassInstance]], environ: Mapping[str, str] | None = None
) -> list[Any]:
    """Several owners' settings at once (a process's ``main``): one error naming every bad
    variable of all of them."""
    env = read_environment() if environ is None else environ
    built: list[Any] = []
    problems: list[str] = []
    for cls in classes:
        settings, wrong = _load(cls, env)
        built.append(settings)
        problems += wrong
    if problems:
        raise SettingsError(*problems)
    return built


def load_or_exit(program: str, classes: Iterable[type[DataclassInstance]]) -> list[Any]:
    """:func:`load_all` for a process's ``main``: bad settings end it with one message naming
    each (exit status 1), not a traceback."""
    try:
        return load_all(classes)
    except SettingsError as err:
        raise SystemExit(f"{program}: bad settings (see .env.example): {err}") from None
