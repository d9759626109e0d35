"""Where the store is: ``DATABASE_URL``, read the one way (:mod:`service.envconfig`).

The database room reads only this, so ``python -m db.migrate`` and the Alembic environment need
nothing above them; ``payments.Settings`` declares the same variable with the same default, so
every process that opens the store opens the same one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.envconfig import env_field, load

DEFAULT_DB_PATH = Path("var") / "payments.sqlite3"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DB_PATH}"


@dataclass(frozen=True)
class DatabaseSettings:
    database_url: str = env_field("DATABASE_URL", default=DEFAULT_DATABASE_URL)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DatabaseSettings:
        return load(cls, env)
