"""/metrics against the real service: the bot (its own endpoint, in this process), a worker and
the web server (each a real process, logging JSON), after one preview and one paid job.

Every figure is read back through HTTP and prometheus_client's parser, as Prometheus would,
and must have moved by exactly what happened: one first answer, one preview delivered, one
Stars payment granted, one delivery, one 👍, one preview and one full job separated, no
failure. The paid-but-undelivered gauge, exported by the web server alone, rises to 1 while the
paid job waits (the workers are suspended with RQ's own ``rq suspend`` so the moment can be
seen) and returns to 0 once the stems are delivered. No log line of the worker or the web
server names the person's file, and every worker line about the job names it and its platform.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rq import Worker
from rq.suspension import resume, suspend
from rq.worker import WorkerStatus

import jobs
import payments
from metrics import serve_on
from payments import OrderState
from testbed.metrics import Scrape, WebServerProcess, metrics_base_for, scrape
from testbed.workers import Workers
from tests.bots.conftest import Harness

SONG_TITLE = "Blue Song"  # the file is "Blue Song.mp3": neither may reach a log line


@pytest.fixture(scope="module")
def bot_metrics_url() -> str:
    """This process's registry (the bot's figures) on its own endpoint, once per module."""
    return f"http://127.0.0.1:{serve_on('127.0.0.1', 0)}/metrics"


def _moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_metrics_move_by_exactly_one_preview_and_one_paid_job(
    bot: Harness,
    jobs_settings: jobs.Settings,
    payments_settings: payments.Settings,
    media: dict[str, Path],
    tmp_path: Path,
    bot_metrics_url: str,
    wait_until,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base, port = metrics_base_for("worker")
    workers = Workers(jobs_settings, tmp_path)
    (worker,) = workers.start(1, METRICS_PORT=str(base), LOG_FORMAT="json")
    web = WebServerProcess.start(
        jobs_settings, payments_settings.database_url, tmp_path / "web.log", LOG_FORMAT="json"
    )
    worker_url = f"http://127.0.0.1:{port}/metrics"
    try:
        deployment = await wait_until(
            lambda: (s := web.scrape()).value("vr_workers_alive") == 1 and s, what="web gauges"
        )
        assert deployment.value("vr_orders_paid_undelivered") == 0
        bot_before = scrape(bot_metrics_url)
        api, user = bot.api, bot.user(301, "Mo")

        api.send_media(user, media["song"], "audio", title=SONG_TITLE, performer="The Testers")
        *_, photo = await bot.preview(user)
        invoice = await bot.buy(user, photo)

        # Workers suspended: the paid job waits in line, and the gauges show it.
        connection = bot.queue.connection
        suspend(connection)
        await wait_until(
            lambda: Worker.all(connection=connection)[0].get_state() == WorkerStatus.SUSPENDED,
            what="worker suspended",
        )
        assert await bot.pay_invoice(user, invoice, charge_id="stars-metrics-1")
        (order,) = bot.pay.ledger.user_orders(bot.pay.users.get("telegram", user.id).id)
        await wait_until(lambda: bot.pay.ledger.get_order(order.id).state is OrderState.PAID, what="paid")
        waiting = await wait_until(
            lambda: (s := web.scrape()).value("vr_queue_depth", queue="full") == 1 and s,
            what="the paid job in line",
        )
        assert waiting.value("vr_orders_paid_undelivered") == 1
        assert waiting.value("vr_queue_oldest_wait_seconds", queue="full") >= 0
        assert waiting.value("vr_workers_alive") == 1
        # Admission's figure, from the preview the worker measured: a song sent now would wait.
        estimate = bot.queue.expected_wait()
        assert estimate.measured
        assert waiting.value("vr_preview_worker_seconds") == pytest.approx(estimate.preview_s)
        assert waiting.value("vr_preview_expected_wait_seconds") == pytest.approx(estimate.seconds)
        resume(connection)

        stems = await api.wait_for_call(user.id, "sendAudio", count=4, timeout=90)
        await wait_until(
            lambda: bot.pay.ledger.get_order(order.id).state is OrderState.DELIVERED, what="delivered"
        )
        api.react(user, stems[2].result["message_id"], "👍")
        await wait_until(lambda: bot.pay.stats().feedback_total == 1, what="feedback row")
        full_job = bot.queue.get(bot.pay.ledger.get_order(order.id).fulfil_job_id)
        assert full_job is not None

        after = scrape(bot_metrics_url)
        one = {"platform": "telegram"}
        assert _moved(bot_before, after, "vr_first_answer_seconds_count", **one) == 1
        assert _moved(bot_before, after, "vr_upload_to_preview_seconds_count", **one) == 1
        assert _moved(bot_before, after, "vr_payment_to_delivery_seconds_count", **one) == 1
        assert _moved(bot_before, after, "vr_payments_total", provider="stars", outcome="granted") == 1
        assert _moved(bot_before, after, "vr_payments_total") == 1
        assert _moved(bot_before, after, "vr_refunds_total") == 0
        assert _moved(bot_before, after, "vr_busy_refusals_total") == 0
        version = full_job.model_version
        assert _moved(bot_before, after, "vr_feedback_total", model_version=version, rating="up", **one) == 1
        # The wait since payment includes the suspension: more than nothing, in its histogram.
        assert _moved(bot_before, after, "vr_payment_to_delivery_seconds_sum", **one) > 0

        done = await wait_until(
            lambda: (s := scrape(worker_url)).value("vr_job_duration_seconds_count", queue="full") == 1 and s,
            what="the worker's figures",
        )
        assert done.value("vr_job_duration_seconds_count", queue="preview") == 1
        assert done.value("vr_separation_speed_ratio_count", kind="preview") == 1
        assert done.value("vr_separation_speed_ratio_count", kind="full") == 1
        assert done.value("vr_separation_speed_ratio_sum", kind="full") > 0
        assert done.value("vr_job_failures_total") == 0 and done.value("vr_job_retries_total") == 0

        settled = await wait_until(
            lambda: (s := web.scrape()).value("vr_orders_paid_undelivered") == 0 and s, what="gauge back to 0"
        )
        assert settled.value("vr_queue_depth", queue="full") == 0
        assert settled.value("vr_orders_paid_undelivered_oldest_seconds") == 0
    finally:
        resume(bot.queue.connection)
        web.stop()
        workers.stop_all()

    # Logs: one JSON object a line; the job's lines name it and its platform; no file name.
    for output in (worker.output(), web.output(), caplog.text):
        assert SONG_TITLE not in output and "Blue_Song" not in output
    lines = [json.loads(line) for line in worker.output().splitlines() if line.strip()]
    about_job = [
        line for line in lines if full_job.id in line["message"] or line.get("job_id") == full_job.id
    ]
    assert about_job and all(
        line.get("job_id") == full_job.id or "from telegram" in line["message"] for line in about_job
    )
    assert any(line.get("platform") == "telegram" for line in about_job)
    assert all(json.loads(line) for line in web.output().splitlines() if line.strip())
