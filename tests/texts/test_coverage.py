"""Every word a person reads is in the catalogue (``texts``), and every error code has words.

* every :class:`service.errors.UserFacingError` subclass (found by importing every module of
  the service's packages) has a code of :class:`service.errors.ErrorCode` with words in
  ``texts.errors.TEXTS``, whose placeholders are among the error's parameters;
* every code has words, and no code is written as a bare literal where an error is raised or a
  record ended (``code = "…"``, ``error_code="…"``);
* no module outside ``texts`` holds a sentence for a person (an ``ast`` scan: string literals of
  four words or more that start with a capital and end a sentence), and inside ``texts`` every
  text is a literal inside a gettext marker, as ``pybabel extract`` needs it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.errors import ErrorCode, UserFacingError
from texts.errors import TEXTS, entry_parameters, error_text

REPO = Path(__file__).resolve().parents[2]
# The packages whose code a person's words could hide in (those of this checkout that exist).
PACKAGES = [
    name
    for name in ("service", "texts", "metrics", "engine", "jobs", "db", "people", "payments", "web", "bots")
    if (REPO / name / "__init__.py").exists()
]
SCANNED_FILES = [REPO / "worker.py"]
# Modules that cannot be imported on their own: alembic's environment runs a migration.
NOT_IMPORTED = re.compile(r"(\.__main__$|\.migrations\.)")
MARKERS = {"_", "N_", "ngettext", "gettext", "pgettext"}
# Call targets whose string arguments are for operators and developers, not for people.
LOG_CALLS = {
    "debug",
    "info",
    "warning",
    "error",
    "exception",
    "critical",
    "log",
    "print",
    "add_argument",
    "ArgumentParser",
    "add_parser",
    "exit",
    "fail",
    # A Prometheus family's help: read by operators on /metrics and in Grafana.
    "Counter",
    "Histogram",
    "GaugeMetricFamily",
}
# A sentence for a person: a capital, four words or more, a full stop, "!" or "?" at the end.
SENTENCE = re.compile(r"^[\W\d]*[A-Z][^\n]*\s\S+\s\S+\s\S+.*[.!?…]\W*$", re.S)
# Sentences outside the catalogue that are not for people (each with its reason).
ALLOWED: dict[str, str] = {}
# Calls inside texts/ whose words are the same in every language: a language's own name for
# itself ("Bahasa Indonesia"), as /language lists it.
UNTRANSLATED_CALLS = {"Language"}
# Constants inside texts/ named ``*_PATTERN`` are CLDR date or number patterns ("d MMM y"),
# read by Babel, not words.
PATTERN_SUFFIX = "_PATTERN"


def _is_pattern(parents: list[ast.AST]) -> bool:
    return any(
        isinstance(p, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id.endswith(PATTERN_SUFFIX) for t in p.targets)
        for p in parents
    )


def _modules() -> Iterator[str]:
    for package in PACKAGES:
        yield package
        found = pkgutil.walk_packages([str(REPO / package)], prefix=f"{package}.")
        for info in found:
            if not NOT_IMPORTED.search(info.name):
                yield info.name


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _sample(annotation: Any) -> Any:
    """A value for a parameter of this annotation (annotations are strings here)."""
    text = str(annotation)
    if "bool" in text:
        return False
    if "float" in text:
        return 1261.5
    if "int" in text:
        return 3
    return "detail"


def _instance(cls: type[UserFacingError]) -> UserFacingError:
    """The error as it is raised: every parameter its constructor needs, given."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    kwargs = {
        p.name: _sample(p.annotation)
        for p in params
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    return cls(**kwargs)


@pytest.fixture(scope="module")
def error_classes() -> list[type[UserFacingError]]:
    for name in _modules():
        importlib.import_module(name)
    found = [UserFacingError, *_subclasses(UserFacingError)]
    return [cls for cls in found if not cls.__module__.startswith("tests")]


def test_every_package_module_is_imported_and_the_errors_are_found(error_classes: list) -> None:
    codes = {cls.code for cls in error_classes}
    assert {ErrorCode.TOO_LONG, ErrorCode.USER_LIMIT, ErrorCode.BAD_KARAOKE_SETTINGS} <= codes


def test_every_error_raised_has_words_that_name_only_its_parameters(error_classes: list) -> None:
    for cls in error_classes:
        error = _instance(cls)
        assert isinstance(cls.code, ErrorCode), f"{cls.__qualname__}.code is not an ErrorCode"
        assert cls.code in TEXTS, f"{cls.__qualname__} ({cls.code}) has no text in texts.errors"
        needed, _taken = entry_parameters(TEXTS[cls.code])
        assert needed <= error.params.keys(), (
            f"the words of {cls.code} name {sorted(needed - error.params.keys())}, "
            f"which {cls.__qualname__} does not carry"
        )
        words = error_text(error.code, **error.params)
        assert words and "{" not in words and "Traceback" not in words, cls


def test_every_code_has_words() -> None:
    missing = [code.value for code in ErrorCode if code not in TEXTS]
    assert not missing, f"codes with no text in texts.errors: {missing}"
    for code, entry in TEXTS.items():
        needed, _taken = entry_parameters(entry)
        words = error_text(code, **{name: 2 for name in needed})
        assert words and "{" not in words, code


def _source_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((REPO / package).rglob("*.py"))
    yield from (path for path in SCANNED_FILES if path.exists())


def _parsed() -> Iterator[tuple[Path, ast.Module]]:
    for path in _source_files():
        yield path, ast.parse(path.read_text(), filename=str(path))


def test_no_error_code_is_a_bare_literal() -> None:
    """Codes come from ErrorCode: a literal ``code = "…"`` in an error class, or
    ``error_code="…"`` where a job ends, would be a code the coverage above cannot see."""
    found = []
    for path, tree in _parsed():
        if path.name == "errors.py" and path.parent.name == "service":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in ("error_code", "code"):
                value = node.value
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("code", "error_code") for t in node.targets
            ):
                value = node.value
            else:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {value.value!r}")
    assert not found, "bare error-code literals (use service.errors.ErrorCode):\n" + "\n".join(found)


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of every docstring node (module, class, function)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _strings(tree: ast.Module) -> Iterator[tuple[ast.AST, str, list[ast.AST]]]:
    """Every string literal that is not a docstring (f-strings as their literal parts joined),
    with the chain of nodes above it."""
    skip = _docstrings(tree)

    def visit(node: ast.AST, parents: list[ast.AST]) -> Iterator[tuple[ast.AST, str, list[ast.AST]]]:
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            yield node, text, parents
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node, node.value, parents
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, [*parents, node])

    yield from visit(tree, [])


def _for_operators(parents: list[ast.AST]) -> bool:
    """Inside a ``raise``, an ``assert`` or a log/print/argparse call: words for operators."""
    for node in parents:
        if isinstance(node, ast.Raise | ast.Assert):
            return True
        if isinstance(node, ast.Call) and _call_name(node) in LOG_CALLS:
            return True
    return False


def test_no_sentence_for_a_person_outside_the_catalogue() -> None:
    found = []
    for path, tree in _parsed():
        relative = str(path.relative_to(REPO))
        if relative.startswith("texts/"):
            continue
        for node, text, parents in _strings(tree):
            if not SENTENCE.match(text.strip()) or _for_operators(parents):
                continue
            if text in ALLOWED:
                continue
            found.append(f"{relative}:{getattr(node, 'lineno', '?')}: {text[:70]!r}")
    assert not found, "sentences outside the catalogue (move them to texts/):\n" + "\n".join(found)


def test_every_text_in_the_catalogue_is_a_literal_in_a_gettext_marker() -> None:
    """What ``pybabel extract`` needs: the markers' first arguments are plain literals (no
    f-string, no ``%``), named placeholders only; and no words outside a marker."""
    found = []
    for path in sorted((REPO / "texts").rglob("*.py")):
        tree = ast.parse(path.read_text())
        relative = path.relative_to(REPO)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in MARKERS and node.args:
                literals = node.args[:2] if _call_name(node) in ("ngettext", "pgettext") else node.args[:1]
                for arg in literals:
                    if isinstance(arg, ast.JoinedStr):
                        found.append(f"{relative}:{node.lineno}: an f-string inside a marker")
                    elif isinstance(arg, ast.Constant) and re.search(r"\{\d*\}|%[sd]", arg.value):
                        found.append(f"{relative}:{node.lineno}: a positional placeholder")
        for node, text, parents in _strings(tree):
            words = [w for w in re.sub(r"\{[^}]*\}", "", text).split() if re.search("[A-Za-z]", w)]
            if len(words) < 2 or _for_operators(parents):
                continue
            if any(isinstance(p, ast.Call) and _call_name(p) in UNTRANSLATED_CALLS for p in parents):
                continue
            if _is_pattern(parents):
                continue
            if not any(isinstance(p, ast.Call) and _call_name(p) in MARKERS for p in parents):
                found.append(f"{relative}:{getattr(node, 'lineno', '?')}: {text[:60]!r} unmarked")
    assert not found, "\n".join(found)
