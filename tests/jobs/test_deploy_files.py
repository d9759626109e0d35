"""Docker does not run here, so the compose file, Dockerfile and .env.example are checked by
reading them: the services, volumes, environment and GPU reservation the deployment relies on."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from jobs import Settings
from testbed.workers import REPO

# Variables the code reads that are not settings an operator sets.
INTERNAL_VARS = {"RQ_WORKER_ID"}


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def test_compose_services_volumes_and_gpu() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"redis", "worker", "telegram", "web", "dashboard", "discord"} <= set(services)
    assert {"redis-data", "storage"} <= set(compose["volumes"])

    redis = services["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync always" in command
    assert "redis-data:/data" in redis["volumes"] and redis["healthcheck"]

    worker = services["worker"]
    assert worker["command"] == ["python", "worker.py"]
    (gpu,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"] and gpu["count"] == 1
    assert worker["build"]["target"] == "app"

    for name, command in [
        ("worker", ["python", "worker.py"]),
        ("telegram", ["python", "-m", "bots.telegram"]),
        ("web", ["python", "-m", "web.server"]),
        ("discord", ["python", "-m", "bots.discord"]),
    ]:
        service = services[name]
        assert service["command"] == command
        assert "storage:/data/storage" in service["volumes"], name  # one shared store
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["environment"]["STORAGE_DIR"] == "/data/storage"
        assert service["env_file"] == ".env" and service["restart"] == "unless-stopped"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    web = services["web"]  # pages, downloads, uploads; the Stripe webhook where configured
    assert web["environment"]["WEBHOOK_HOST"] == "0.0.0.0" and "8080:8080" in web["ports"]
    assert web["environment"]["DOWNLOAD_SECRET"].startswith("${DOWNLOAD_SECRET:?")
    assert services["discord"]["profiles"] == ["discord"]

    dashboard = services["dashboard"]
    assert dashboard["build"]["target"] == "dashboard"
    assert dashboard["ports"] == ["127.0.0.1:9181:9181"]  # operators only


def test_dockerfile_stages_match_compose() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.M))
    targets = {s["build"]["target"] for s in _compose()["services"].values() if "build" in s}
    assert targets <= stages
    assert "ffmpeg" in dockerfile and "rq-dashboard" in dockerfile
    assert re.search(r'"torch==2\.13\.0"', dockerfile)
    # Every package the project installs is copied into the image before `pip install .`.
    include = re.search(r"include = \[(.*?)\]", (REPO / "pyproject.toml").read_text()).group(1)
    for package in re.findall(r'"(\w+)\*"', include):
        assert f"COPY {package} ./{package}" in dockerfile, package
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".venv" in ignored and ".git" in ignored


def test_env_example_documents_every_variable_the_code_reads() -> None:
    documented = set(_env_example())
    read = set()
    pattern = re.compile(
        r"(?:environ(?:\.get)?[\[(]|env(?:\.get)?\(|env_field\(\s*|_[a-z_]+\(\s*env,\s*)"
        r'"([A-Z][A-Z0-9_]+)"'
    )
    for folder in OWN_PACKAGES:
        for path in (REPO / folder).rglob("*.py"):
            read |= set(pattern.findall(path.read_text()))
    read |= set(pattern.findall((REPO / "worker.py").read_text()))
    assert read - INTERNAL_VARS <= documented, sorted(read - INTERNAL_VARS - documented)
    for name in (
        "REDIS_URL",
        "DATABASE_URL",
        "STORAGE_DIR",
        "S3_ENDPOINT_URL",
        "S3_BUCKET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MODEL_PATH",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE_URL",
        "TELEGRAM_FILE_BASE_URL",
        "DISCORD_BOT_TOKEN",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "ADMIN_IDS",
        "PUBLIC_BASE_URL",
    ):
        assert name in documented, name
    # No secret is filled in.
    example = _env_example()
    for secret in (
        "TELEGRAM_BOT_TOKEN",
        "DISCORD_BOT_TOKEN",
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "DOWNLOAD_SECRET",
    ):
        assert example[secret] == ""


def test_env_example_values_parse_as_settings() -> None:
    settings = Settings.from_env(_env_example())
    assert settings == Settings()  # the documented values are the defaults
    assert Path(settings.model_path) == Path("models/vocals-unet.pt")


def test_settings_from_env_and_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://r:6379/1",
            "S3_BUCKET": "b",
            "AWS_SECRET_ACCESS_KEY": "hush",
            "RETENTION_HOURS": "2",
            "MAX_JOBS_PER_USER": "5",
            "RETRY_BACKOFF_S": "1, 2,3",
        }
    )
    assert settings.uses_s3 and settings.retention_s == 7200 and settings.max_jobs_per_user == 5
    assert settings.retry_backoff_s == (1, 2, 3) and settings.redis_url == "redis://r:6379/1"
    assert "hush" not in repr(settings)


# The packages of this repository: imports between them are followed; the rest are libraries.
OWN_PACKAGES = ("service", "metrics", "engine", "jobs", "db", "people", "payments", "web", "bots")
# The rooms over the payments database: reaching any of them opens it.
STORE_PACKAGES = ("db", "people", "payments", "web")


def _module_file(module: str) -> Path | None:
    path = REPO.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _reaches_the_store(entry: Path) -> bool:
    """Whether ``entry`` imports, directly or through our other modules, anything of the
    payments database's rooms (``STORE_PACKAGES``; read with ``ast``: nothing is imported, so
    this runs without torch)."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the file's package
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] not in OWN_PACKAGES:
                    continue
                if name.split(".")[0] in STORE_PACKAGES:
                    return True
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # the module and its parent packages run
                    found = _module_file(".".join(parts[:i]))
                    if found is not None:
                        todo.append(found)
    return False


def _entry(command: list[str]) -> Path:
    if command[:2] == ["python", "-m"]:
        found = _module_file(command[2])
        package_main = REPO.joinpath(*command[2].split(".")) / "__main__.py"
        entry = package_main if package_main.is_file() else found
    else:
        entry = REPO / command[1]
    assert entry is not None and entry.is_file(), command
    return entry


def test_every_service_that_touches_payments_shares_one_postgres_database() -> None:
    """An empty DATABASE_URL is a SQLite file per container: the bot's orders would be invisible
    to the web server. Every service whose program reaches ``payments`` gets the same PostgreSQL
    URL, starts after the database is healthy and the one migration run succeeded."""
    compose = _compose()
    services = compose["services"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "postgres-data" in compose["volumes"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert postgres["restart"] == "unless-stopped"
    env = postgres["environment"]
    user, db, password = env["POSTGRES_USER"], env["POSTGRES_DB"], env["POSTGRES_PASSWORD"]
    assert password.startswith("${POSTGRES_PASSWORD:?")  # never a default password
    url = f"postgresql+psycopg2://{user}:{password}@postgres:5432/{db}"

    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "db.migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"

    touching = {
        name
        for name, service in services.items()
        if "command" in service
        and service.get("build", {}).get("target") == "app"
        and _reaches_the_store(_entry(service["command"]))
    }
    assert {"telegram", "web", "discord", "migrate"} <= touching
    assert "worker" not in touching  # the GPU worker never opens the payments database
    for name in touching:
        service = services[name]
        assert service["environment"]["DATABASE_URL"] == url, name
        if name != "migrate":
            depends = service["depends_on"]
            assert depends["postgres"]["condition"] == "service_healthy", name
            assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert "POSTGRES_PASSWORD" in _env_example() and _env_example()["POSTGRES_PASSWORD"] == ""
    readme = (REPO / "README.md").read_text()
    assert "pg_dump" in readme and "postgres-data" in readme  # how to back it up
