"""Docker does not run here, so the compose file, Dockerfile and .env.example are checked by
reading them: the services, volumes, environment and GPU reservation the deployment relies on."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jobs import Settings
from tests.support.workers import REPO

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
    assert {"redis", "worker", "telegram", "webhook", "dashboard", "discord"} <= set(services)
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

    for name, command in [("worker", ["python", "worker.py"]),
                          ("telegram", ["python", "-m", "bots.telegram"]),
                          ("webhook", ["python", "-m", "payments.webhook"]),
                          ("discord", ["python", "-m", "bots.discord"])]:
        service = services[name]
        assert service["command"] == command
        assert "storage:/data/storage" in service["volumes"], name  # one shared store
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["environment"]["STORAGE_DIR"] == "/data/storage"
        assert service["env_file"] == ".env" and service["restart"] == "unless-stopped"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["webhook"]["environment"]["WEBHOOK_HOST"] == "0.0.0.0"
    assert "8080:8080" in services["webhook"]["ports"]
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
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".venv" in ignored and ".git" in ignored


def test_env_example_documents_every_variable_the_code_reads() -> None:
    documented = set(_env_example())
    read = set()
    pattern = re.compile(
        r'(?:environ(?:\.get)?[\[(]|env(?:\.get)?\(|_[a-z_]+\(\s*env,\s*)"([A-Z][A-Z0-9_]+)"'
    )
    for folder in ("engine", "jobs", "bots", "payments"):
        for path in (REPO / folder).rglob("*.py"):
            read |= set(pattern.findall(path.read_text()))
    read |= set(pattern.findall((REPO / "worker.py").read_text()))
    assert read - INTERNAL_VARS <= documented, sorted(read - INTERNAL_VARS - documented)
    for name in ("REDIS_URL", "DATABASE_URL", "STORAGE_DIR", "S3_ENDPOINT_URL", "S3_BUCKET",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MODEL_PATH", "TELEGRAM_BOT_TOKEN",
                 "TELEGRAM_API_BASE_URL", "TELEGRAM_FILE_BASE_URL", "DISCORD_BOT_TOKEN",
                 "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "ADMIN_IDS",
                 "PUBLIC_BASE_URL"):
        assert name in documented, name
    # No secret is filled in.
    example = _env_example()
    for secret in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN", "STRIPE_API_KEY",
                   "STRIPE_WEBHOOK_SECRET", "AWS_SECRET_ACCESS_KEY", "DOWNLOAD_SECRET"):
        assert example[secret] == ""


def test_env_example_values_parse_as_settings() -> None:
    settings = Settings.from_env(_env_example())
    assert settings == Settings()  # the documented values are the defaults
    assert Path(settings.model_path) == Path("models/vocals-unet.pt")


def test_settings_from_env_and_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env({
        "REDIS_URL": "redis://r:6379/1", "S3_BUCKET": "b", "AWS_SECRET_ACCESS_KEY": "hush",
        "RETENTION_HOURS": "2", "MAX_JOBS_PER_USER": "5", "RETRY_BACKOFF_S": "1, 2,3",
    })
    assert settings.uses_s3 and settings.retention_s == 7200 and settings.max_jobs_per_user == 5
    assert settings.retry_backoff_s == (1, 2, 3) and settings.redis_url == "redis://r:6379/1"
    assert "hush" not in repr(settings)
