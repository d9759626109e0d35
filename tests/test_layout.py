"""The import directions of the layout (README, "Where things live"), read from the source.

Every module of the repository is parsed with ``ast`` (nothing is imported, so this needs no torch
and no services) and each import of one of our packages is checked against the rooms beneath its
own. The rooms, lowest first::

    service   limits, envconfig, pseudonyms, error codes: the standard library only
    texts     every word a person reads (the catalogue): service
    metrics   the figures every process exports (prometheus_client): service
    engine    the separation engine: texts, service
    jobs      the job pipeline: engine, metrics, texts, service
    db        the database (engine, tables, migrations): service
    people    users, bans, quotas, feedback, /forget: db, metrics, texts, service
    payments  money: people, db, metrics, texts, service
    web       the HTTP server, signed links, results page: payments, people, db, jobs, engine,
              metrics, texts, service
    bots      the chat front-ends: everything

Imports inside functions and under ``TYPE_CHECKING`` count as well: a lazy import still ties the
rooms together. A package's ``__init__`` belongs to its room, so a re-export can never pull a
higher room into a lower one. Nothing outside ``tests/`` imports ``tests``: what the benchmarks
share with the tests lives in ``testbed/``, which no room imports.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", ".git", "var", "runs", "node_modules", "__pycache__", ".ruff_cache"}

# What each room may import of ours (besides itself); anything of ours not named is refused.
ALLOWED: dict[str, set[str]] = {
    "service": set(),
    "texts": {"service"},
    "metrics": {"service"},
    "engine": {"texts", "service"},
    "jobs": {"engine", "metrics", "texts", "service"},
    "db": {"service"},
    "people": {"db", "metrics", "texts", "service"},
    "payments": {"people", "db", "metrics", "texts", "service"},
    "web": {"payments", "people", "db", "jobs", "engine", "metrics", "texts", "service"},
    "bots": {"web", "payments", "people", "db", "jobs", "engine", "metrics", "texts", "service"},
}
# Free to import the rooms (no entry above): the tests, the benchmarks, the tools, the worker's
# entry point and ``testbed`` (the servers, processes and platform fakes tests and benchmarks
# run the product in), which no room may import.
OURS = set(ALLOWED) | {"tests", "testbed", "bench", "scripts", "worker"}

# Known exceptions, each named with why; (importing module, imported module).
EXCEPTIONS = {
    # A buy link orders what the person's Buy button would: the bots keep their choices (format,
    # karaoke version) in Redis, and the bridge reads them with the bots' own reader.
    ("web.jobs_bridge", "bots.core.state"),
}


def _python_files(root: Path = REPO) -> list[Path]:
    return [
        path
        for path in sorted(root.rglob("*.py"))
        if not SKIP_DIRS.intersection(path.relative_to(root).parts)
    ]


def _module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = REPO) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved; for
    ``from a import b`` both ``a`` and ``a.b`` (``b`` may be a module)."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _exception(importer: str, imported: str) -> bool:
    """Whether the import is an allowed exception: the named module or a name in it."""
    return any(
        importer == who and (imported == what or imported.startswith(f"{what}.")) for who, what in EXCEPTIONS
    )


def layout_violations(root: Path = REPO) -> list[str]:
    """One line per import statement that breaks the rooms (``path:line: what, why``)."""
    wrong: dict[tuple[Path, int], str] = {}
    for path in _python_files(root):
        importer = _module_name(path, root)
        room = importer.split(".")[0]
        for line, imported in imports_of(path, root):
            target = imported.split(".")[0]
            if target not in OURS or target == room or _exception(importer, imported):
                continue
            where = f"{path.relative_to(root)}:{line}: {importer} imports {imported}"
            if target == "tests" and room != "tests":
                wrong.setdefault((path, line), f"{where} (nothing outside tests/ imports tests)")
            elif room in ALLOWED and target not in ALLOWED[room]:
                allowed = ", ".join(sorted(ALLOWED[room])) or "the standard library"
                wrong.setdefault((path, line), f"{where} ({room} may import only {allowed})")
    return list(wrong.values())


def test_every_import_follows_the_rooms() -> None:
    assert layout_violations() == []


def test_service_imports_only_the_standard_library() -> None:
    outside = [
        f"{path.relative_to(REPO)}:{line}: {name}"
        for path in sorted((REPO / "service").rglob("*.py"))
        for line, name in imports_of(path)
        if name.split(".")[0] not in sys.stdlib_module_names | {"__future__", "service"}
    ]
    assert outside == []


def test_every_exception_is_still_needed() -> None:
    """An allow-list entry whose import is gone is removed, so the list stays the truth."""
    seen = {(_module_name(path), name) for path in _python_files() for _, name in imports_of(path)}
    assert {pair for pair in EXCEPTIONS if pair not in seen} == set()


def test_a_wrong_import_is_caught(tmp_path: Path) -> None:
    """The checker itself, on a tree of its own: an engine module importing the jobs, a people
    module importing payments (lazily), a lower room's ``__init__`` re-exporting a higher room,
    a tool or the testbed importing the tests and a room importing the testbed are each refused;
    imports within the rooms, and a benchmark's of the testbed, are not."""
    for rel, source in [
        ("engine/bad.py", "from jobs import JobQueue\n"),
        ("people/bad.py", "def f():\n    from payments.ledger import Ledger\n"),
        ("db/__init__.py", "from people import Users\n"),
        ("scripts/bad.py", "import tests.support.stripe_stub\n"),
        ("bots/bad.py", "from testbed.fake_bot_api import FakeBotApi\n"),
        ("testbed/bad.py", "from tests.conftest import make_song\n"),
        ("bench/good.py", "from testbed.redis_server import RedisServer\nfrom jobs import JobQueue\n"),
        ("engine/good.py", "from service.limits import MAX_FILE_BYTES\nfrom . import audio\n"),
        ("web/good.py", "from payments import Payments\nfrom people.users import Users\n"),
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(source)
    found = layout_violations(tmp_path)
    assert [line.split(":")[0] for line in found] == [
        "bots/bad.py",
        "db/__init__.py",
        "engine/bad.py",
        "people/bad.py",
        "scripts/bad.py",
        "testbed/bad.py",
    ], found
