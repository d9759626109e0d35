"""Database engine, transactions and migrations.

SQLite is the default (one file under ./var, WAL so readers never block the writer); PostgreSQL is
selected by ``DATABASE_URL`` when several bot/worker hosts share one store. The same code runs on
both: correctness comes from unique constraints and single-statement conditional updates, which
both backends honour under concurrency.

SQLite detail: every write transaction starts with ``BEGIN IMMEDIATE``. A deferred transaction
that first reads and then writes can fail at once with "database is locked" (no busy wait) when
another writer committed in between; taking the write lock up front makes writers queue on the
busy timeout instead, which is what a money path needs. Read-only work (``Database.read``) uses a
second engine with plain deferred transactions, so readers never wait for writers (WAL).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, CursorResult, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql.dml import UpdateBase

log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 15.0
WAL_RETRY_FIRST_S = 0.01
WAL_RETRY_MAX_S = 0.5
# A transaction that lost a race on a unique key is re-run this often; the re-run sees the winner.
RACE_RETRIES = 3
# Arbitrary constant: PostgreSQL advisory lock that serialises concurrent migrators at start-up.
MIGRATION_LOCK_KEY = 0x70A7_3E47


def _sqlite_engine(url: str, *, immediate: bool = True) -> Engine:
    parsed = make_url(url)
    database = parsed.database or ":memory:"  # no name is SQLite's in-memory database too
    in_memory = database == ":memory:"
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        # One shared connection for :memory: (otherwise every connection sees an empty DB).
        poolclass=StaticPool if in_memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" hook below own transaction control.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if not in_memory:
            set_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode at commit
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def set_wal(cursor: Any, timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> None:
    """Switch the database file to WAL, retrying while another process holds it.

    Processes starting together on a fresh file race to change its journal mode, and SQLite can
    answer "database is locked" at once, without its busy handler (seen in the concurrent
    start-up test), so the busy timeout alone does not cover it: retry with a short backoff
    until ``timeout_s``. Once one process has switched the file, the rest see WAL and return.
    """
    deadline = time.monotonic() + timeout_s
    delay = WAL_RETRY_FIRST_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, WAL_RETRY_MAX_S)


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _is_memory(url: str) -> bool:
    return make_url(url).database in (None, "", ":memory:")


def create_db_engine(url: str, *, for_reads: bool = False) -> Engine:
    """An engine configured for our consistency rules on SQLite or PostgreSQL."""
    if _is_sqlite(url):
        return _sqlite_engine(url, immediate=not for_reads)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """One engine plus a transaction helper; every store method is one short transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        separate_reads = _is_sqlite(url) and not _is_memory(url)
        self._read_engine = create_db_engine(url, for_reads=True) if separate_reads else self.engine
        self._reads = sessionmaker(self._read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception (including IntegrityError)."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (a consistent snapshot); never blocks or blocks writers."""
        with self._reads.begin() as session:
            yield session

    def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction, re-running it if it lost a unique-key race.

        Two writers inserting the same key both pass their "does it exist?" read; the loser's
        insert fails with IntegrityError. Re-running the whole unit makes the loser read the
        winner's committed row and take the "already there" branch, so callers never see the race.
        """
        for attempt in range(1, RACE_RETRIES + 1):
            try:
                with self.transaction() as session:
                    return work(session)
            except IntegrityError:
                if attempt == RACE_RETRIES:
                    raise
                log.info("transaction lost a unique-key race; re-running (attempt %d)", attempt)
        raise AssertionError("unreachable")

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision; safe to run from several processes."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        log.info("payments schema is at head (%s)", self.dialect)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not self.engine:
            self._read_engine.dispose()


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open the store and (by default) migrate it: what every process does at start-up."""
    db = Database(url)
    if migrate:
        db.migrate()
    return db


def rowcount(session: Session, statement: UpdateBase) -> int:
    """The rows an UPDATE or DELETE matched (how a conditional write learns whether it won).

    ``Session.execute`` is typed to return a ``Result``; for DML it is a ``CursorResult``, which
    alone has ``rowcount``, so the check below narrows it and can only fail on a new SQLAlchemy."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(statement).__name__} returned {type(result).__name__}")
    return result.rowcount
