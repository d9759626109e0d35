"""The test tiers hold (tests/support/tiers.py): fixtures mark their tests, and a fast test can
reach neither the service and apt programs nor the services' default ports."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from tests.support.tiers import GUARDED_PORTS, HIDDEN_PROGRAMS

pytest_plugins = ["pytester"]


def test_a_fast_test_cannot_run_the_service_and_apt_programs() -> None:
    assert {name: shutil.which(name) for name in HIDDEN_PROGRAMS} == dict.fromkeys(HIDDEN_PROGRAMS)
    with pytest.raises(FileNotFoundError):
        subprocess.run(["ffmpeg", "-version"], check=False)
    # ... nor can a process it starts; the programs every test may use are still there.
    child = subprocess.run(
        ["bash", "-c", "command -v redis-server; command -v git"], capture_output=True, text=True, check=False
    )
    assert child.stdout.strip().endswith("/git") and "redis-server" not in child.stdout


@pytest.mark.parametrize("port", sorted(GUARDED_PORTS))
def test_a_fast_test_cannot_connect_to_a_default_service_port(port: int) -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="fast tier"):
        sock.connect(("127.0.0.1", port))


@pytest.mark.apt
def test_a_marked_test_gets_the_programs_back() -> None:
    assert shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


CONFTEST = """
import pytest
from tests.support.tiers import mark_by_needs

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    mark_by_needs(items)

@pytest.fixture
def redis_server():
    return "not started: the test only collects"

@pytest.fixture
def settings(redis_server):
    return redis_server

@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    return request.param
"""

TESTS = """
import pytest

def test_plain(): pass
def test_on_redis(settings): pass
def test_store(db_url): pass
@pytest.mark.apt
def test_calls_ffmpeg(): pass
"""


def test_fixtures_and_markers_put_each_test_in_its_tier(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\naddopts = --strict-markers\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    slow: s\n    services: s\n    apt: a\n    browser: b\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_tiered=TESTS)

    def collected(selection: str) -> list[str]:
        run = pytester.runpytest_inprocess("-m", selection, "--collect-only", "-q", "-p", "no:cacheprovider")
        return sorted(line for line in run.outlines if "::" in line)

    assert collected("not slow") == [
        "test_tiered.py::test_plain",
        "test_tiered.py::test_store[sqlite]",
    ]
    assert collected("services") == [
        "test_tiered.py::test_on_redis",
        "test_tiered.py::test_store[postgresql]",
    ]
    assert collected("slow") == [
        "test_tiered.py::test_calls_ffmpeg",
        "test_tiered.py::test_on_redis",
        "test_tiered.py::test_store[postgresql]",
    ]
