"""``python -m db.migrate``: bring the payments database (``DATABASE_URL``) to the newest
schema, then exit. Compose runs it once, before any service that touches payments starts; each of
those still checks the schema at start-up (a no-op at head, serialised by an advisory lock on
PostgreSQL), so running a service on its own stays safe."""

from __future__ import annotations

import logging

from db.database import open_database
from db.settings import DatabaseSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = open_database(DatabaseSettings.from_env().database_url, migrate=True)
    db.dispose()


if __name__ == "__main__":
    main()
