"""Labels stay bounded and nothing personal reaches a figure."""

from __future__ import annotations

import pytest

from metrics import families
from metrics.settings import MetricsSettings
from payments.payment_metrics import reason_label
from service.envconfig import SettingsError, load


def test_unknown_label_values_count_as_other() -> None:
    assert families.bounded("telegram", families.PLATFORMS) == "telegram"
    assert families.bounded("user-4242", families.PLATFORMS) == families.OTHER
    assert families.bounded("corrupt_audio", families.ERROR_CODES) == "corrupt_audio"
    assert families.bounded("Traceback (most recent call last)", families.ERROR_CODES) == "other"
    assert families.model_version("x" * 500) == "x" * families.MODEL_VERSION_CHARS
    assert families.model_version("") == "unknown"


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("failed: job_timeout", "job_failed"),
        ("cancelled: cancelled", "job_cancelled"),
        ("could not deliver: Forbidden", "undeliverable"),
        ("stems over the upload limit", "too_large"),
        ("not delivered after 5 attempts", "not_delivered"),
        ("cannot fulfil: song expired", "cannot_fulfil"),
        ("fulfilment could not be started", "cannot_fulfil"),
        ("refunded by an admin", "admin"),
        ("payment duplicate", "payment_duplicate"),
        ("stripe payment mismatch", "payment_mismatch"),
        ("stripe payment unknown_order", "payment_unknown_order"),
        ("because Ann asked nicely", "other"),
    ],
)
def test_every_refund_reason_the_code_gives_has_its_label(reason: str, label: str) -> None:
    assert reason_label(reason) == label
    assert label in families.REFUND_REASONS | {families.OTHER}


def test_each_process_kind_has_its_own_port() -> None:
    settings = load(MetricsSettings, {"METRICS_PORT": "9400", "WORKER_INDEX": "2"})
    ports = [settings.port_of(kind) for kind in ("web", "telegram", "discord", "worker")]
    assert ports == [9400, 9401, 9402, 9412]
    assert load(MetricsSettings, {}).port_of("worker") is None  # empty: no /metrics at all
    with pytest.raises(SettingsError, match="WORKER_INDEX"):
        load(MetricsSettings, {"METRICS_PORT": "9400", "WORKER_INDEX": "-1"})


def test_exported_names_cover_each_family_and_the_deployment_gauges() -> None:
    names = families.exported_names()
    assert {"vr_job_failures_total", "vr_upload_to_preview_seconds_bucket", "vr_queue_depth"} <= names
    assert "vr_orders_paid_undelivered" in names and "vr_job_failures" not in names
