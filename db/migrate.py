"""``python -m db.migrate``: bring the payments database (``DATABASE_URL``) to the newest
schema, then exit. Compose runs it once, before any service that touches payments starts; each of
those still checks the schema at start-up (a no-op at head, serialised by an advisory lock on
PostgreSQL), so running a service on its own stays safe."""

from __future__ import annotations

from db.database import open_database
from db.settings import DatabaseSettings
from service import logs
from service.envconfig import load_or_exit


def main() -> None:
    settings, log_settings = load_or_exit("db.migrate", [DatabaseSettings, logs.LogSettings])
    logs.setup(log_settings, "migrate", secrets=logs.secrets_of(settings))
    db = open_database(settings.database_url, migrate=True)
    db.dispose()


if __name__ == "__main__":
    main()
