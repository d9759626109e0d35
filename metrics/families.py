"""Every figure a process exports, defined once: names, help, labels and buckets.

Each process increments the families of what happens in it (a worker: its jobs; a bot: its
answers, refusals and deliveries; whichever process records a payment: that payment), so a
figure is counted once, where it happened, and Prometheus sums the processes. What is about
the whole deployment (queue depths, the oldest waiting job, workers alive, paid orders not yet
delivered) is not here: it is read from Redis and the store at scrape time by one process only
(:data:`DEPLOYMENT_FAMILIES`; ``jobs.gauges`` and ``payments.gauges``, served by the web server).

Labels are bounded and never personal: no person, chat, job, order or song ever names a label
value. Each value goes through :func:`bounded` against the closed set its label allows (a
platform, a queue, an error code, a provider, an outcome, a refund reason), anything else
counts as ``"other"``; a model version, the one open label, is cut to
:data:`MODEL_VERSION_CHARS` (versions are few: one per shipped checkpoint).

Why no multiprocess mode: every process that records here runs its work in itself. The worker
is RQ's non-forking ``SimpleWorker`` (``jobs.worker``: torch and CUDA do not survive a fork), so
a job's counters are incremented in the very process that serves ``/metrics``; the one child RQ
forks, its scheduler, only moves jobs between registries and records nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from prometheus_client import Counter, Histogram, disable_created_metrics

from service.errors import ErrorCode

# Each counter's and histogram's ``_created`` series (when it was first used) doubles the page
# for nothing a query here reads.
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated

PREFIX = "vr"
OTHER = "other"
MODEL_VERSION_CHARS = 40

PLATFORMS = frozenset({"telegram", "discord", "web"})
QUEUES = frozenset({"preview", "analysis", "full", "karaoke"})
JOB_KINDS = frozenset({"preview", "full"})
ERROR_CODES = frozenset(code.value for code in ErrorCode)
PROVIDERS = frozenset({"stripe", "stars", "telegram_card"})
PAID_OUTCOMES = frozenset({"granted", "replay", "already_recorded", "duplicate", "mismatch", "unknown_order"})
REFUND_REASONS = frozenset(
    {
        "job_failed",  # the paid job failed (its error code is on vr_job_failures_total)
        "job_cancelled",
        "undeliverable",  # the stems were made but could not be sent
        "too_large",  # the stems are over the platform's upload limit and no links are set
        "not_delivered",  # recovery gave up after its attempts
        "cannot_fulfil",  # the paid job could not be started
        "payment_duplicate",  # money for an order already paid
        "payment_mismatch",  # the wrong amount or currency
        "payment_unknown_order",  # money naming no order
        "admin",  # an admin's /refund
    }
)
RATINGS = frozenset({"up", "down"})

# Seconds a person waits: a first answer takes well under a second; a preview seconds to a
# minute or two under load; paid stems minutes.
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PREVIEW_BUCKETS = (2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0)
DELIVERY_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
JOB_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)
# × real time: about 10 on the 2-core CPU, hundreds on a GPU (docs/BENCHMARKS.md).
SPEED_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)


def bounded(value: object, allowed: Collection[str]) -> str:
    """``value`` as a label value if ``allowed`` holds it, else ``"other"``."""
    text = str(value)
    return text if text in allowed else OTHER


def model_version(value: object) -> str:
    return str(value or "unknown")[:MODEL_VERSION_CHARS]


# ---------------------------------------------------------------- what a person waits for (bots)
FIRST_ANSWER = Histogram(
    f"{PREFIX}_first_answer_seconds",
    "From a song arriving at a bot to the bot's first answer (checking, or why not).",
    ["platform"],
    buckets=ANSWER_BUCKETS,
)
UPLOAD_TO_PREVIEW = Histogram(
    f"{PREFIX}_upload_to_preview_seconds",
    "From a song arriving at a bot to its preview sent (download, line, separation, sending).",
    ["platform"],
    buckets=PREVIEW_BUCKETS,
)
PAYMENT_TO_DELIVERY = Histogram(
    f"{PREFIX}_payment_to_delivery_seconds",
    "From an order paid to its full stems delivered.",
    ["platform"],
    buckets=DELIVERY_BUCKETS,
)
BUSY_REFUSALS = Counter(
    f"{PREFIX}_busy_refusals",
    "Songs or karaoke renders refused because the workers are busy (back-pressure).",
    ["platform", "kind"],
)
RATE_LIMITED = Counter(
    f"{PREFIX}_rate_limited",
    "Requests refused by a person's rate limit (too many too fast).",
    ["platform"],
)
CACHE_HITS = Counter(
    f"{PREFIX}_cache_hits",
    "Songs answered from the cache: separated before, no job ran.",
    ["kind"],
)

# ---------------------------------------------------------------- the work (workers)
JOB_DURATION = Histogram(
    f"{PREFIX}_job_duration_seconds",
    "Wall time of one job attempt on a worker, by queue.",
    ["queue"],
    buckets=JOB_BUCKETS,
)
SEPARATION_SPEED = Histogram(
    f"{PREFIX}_separation_speed_ratio",
    "Seconds of audio separated per second of separation (x real time), by job kind.",
    ["kind"],
    buckets=SPEED_BUCKETS,
)
JOB_FAILURES = Counter(
    f"{PREFIX}_job_failures",
    "Jobs that ended failed, by queue and error code (once per job, retries spent).",
    ["queue", "code"],
)
JOB_RETRIES = Counter(
    f"{PREFIX}_job_retries",
    "Failed job attempts put back in line for another try.",
    ["queue"],
)
JOB_TIMEOUTS = Counter(
    f"{PREFIX}_job_timeouts",
    "Job attempts killed by their time limit.",
    ["queue"],
)

# ---------------------------------------------------------------- money (where it is recorded)
PAYMENTS = Counter(
    f"{PREFIX}_payments",
    "Payment notifications recorded, by provider and outcome.",
    ["provider", "outcome"],
)
UNMATCHED_PAYMENTS = Counter(
    f"{PREFIX}_unmatched_payments",
    "Payments naming no order we have (each is refunded).",
    ["provider"],
)
REFUNDS = Counter(
    f"{PREFIX}_refunds",
    "Refunds started (once per payment), by reason.",
    ["reason"],
)

# ---------------------------------------------------------------- quality (bots, results page)
FEEDBACK = Counter(
    f"{PREFIX}_feedback",
    "Ratings given (new or changed), by model version, platform and rating.",
    ["model_version", "platform", "rating"],
)

PROCESS_FAMILIES = (
    FIRST_ANSWER,
    UPLOAD_TO_PREVIEW,
    PAYMENT_TO_DELIVERY,
    BUSY_REFUSALS,
    RATE_LIMITED,
    CACHE_HITS,
    JOB_DURATION,
    SEPARATION_SPEED,
    JOB_FAILURES,
    JOB_RETRIES,
    JOB_TIMEOUTS,
    PAYMENTS,
    UNMATCHED_PAYMENTS,
    REFUNDS,
    FEEDBACK,
)

# The deployment-wide gauges, computed at scrape time by one process (see the module's doc).
QUEUE_DEPTH = f"{PREFIX}_queue_depth"
QUEUE_OLDEST_WAIT = f"{PREFIX}_queue_oldest_wait_seconds"
JOBS_RUNNING = f"{PREFIX}_jobs_running"
WORKERS_ALIVE = f"{PREFIX}_workers_alive"
PREVIEW_EXPECTED_WAIT = f"{PREFIX}_preview_expected_wait_seconds"
PREVIEW_WORKER_SECONDS = f"{PREFIX}_preview_worker_seconds"
ORDERS_PAID_UNDELIVERED = f"{PREFIX}_orders_paid_undelivered"
ORDERS_PAID_UNDELIVERED_OLDEST = f"{PREFIX}_orders_paid_undelivered_oldest_seconds"
DEPLOYMENT_FAMILIES = (
    QUEUE_DEPTH,
    QUEUE_OLDEST_WAIT,
    JOBS_RUNNING,
    WORKERS_ALIVE,
    PREVIEW_EXPECTED_WAIT,
    PREVIEW_WORKER_SECONDS,
    ORDERS_PAID_UNDELIVERED,
    ORDERS_PAID_UNDELIVERED_OLDEST,
)


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def exported_names() -> set[str]:
    """Every series name a scrape can show (a counter's ``_total``, a histogram's ``_bucket``,
    ``_sum`` and ``_count``, each deployment gauge): what the dashboard and the alert rules may
    name."""
    names = set(DEPLOYMENT_FAMILIES)
    for family in PROCESS_FAMILIES:
        for metric in family.describe():
            names.update(metric.name + suffix for suffix in SUFFIXES[metric.type])
    return names
