"""The store's database: engine and transactions, the tables, the migrations that own the schema.

* :mod:`db.database` — ``Database`` (SQLite or PostgreSQL; write transactions, reads, retries on
  lost races), ``open_database`` (opens and migrates) and ``rowcount`` (rows a write matched);
* :mod:`db.tables` — the SQLAlchemy tables and their enums (users, orders, payments, ledger,
  entitlements, feedback, usage, abuse marks), one metadata for the migrations;
* :mod:`db.audit` — ``append_entry``, the append-only ledger line every room writes with its change;
* :mod:`db.settings` — ``DATABASE_URL``;
* :mod:`db.migrate` (``python -m db.migrate``) and ``db/migrations/`` (Alembic; shipped as package
  data).

Named ``db`` for what it holds: the one database that ``people`` (users, bans, feedback) and
``payments`` (orders, money) share. Direction: ``db`` imports only ``service`` (and SQLAlchemy,
Alembic); ``people``, ``payments`` and ``web`` import it, never the other way
(``tests/test_layout.py``). No re-exports here: import the module that holds a name.
"""
