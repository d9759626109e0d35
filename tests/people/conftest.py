"""Fixtures for the people tests: the store on SQLite and on PostgreSQL, as the payments tests
have it (one definition, in ``tests/payments/conftest.py``)."""

from tests.payments.conftest import db_url, pay, settings, sqlite_url, user

__all__ = ["db_url", "pay", "settings", "sqlite_url", "user"]
