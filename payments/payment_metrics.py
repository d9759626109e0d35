"""What the money side counts (``metrics.families``): payments by provider and outcome, payments
naming no order, refunds by reason.

Counted by the process that records each (a bot for Telegram payments, the web server for
Stripe's), after the transaction committed — a transaction re-run after a race counts once —
and only for what happened now: a refund is counted when it is started, which the ledger does
exactly once per payment. A refund's reason is free text for the ledger (an error code, an
admin's note); its label is one of the closed set :data:`metrics.families.REFUND_REASONS`.
"""

from __future__ import annotations

from metrics import families
from payments.records import PaidOutcome, PaidResult

# The ledger's refund reasons (their start, lowercased) and the label each counts under.
_REASON_PREFIXES = (
    ("failed", "job_failed"),
    ("cancelled", "job_cancelled"),
    ("could not deliver", "undeliverable"),
    ("stems over the upload limit", "too_large"),
    ("not delivered", "not_delivered"),
    ("cannot fulfil", "cannot_fulfil"),
    ("fulfilment could not be started", "cannot_fulfil"),
    ("refunded by an admin", "admin"),
)


def reason_label(reason: str) -> str:
    """The bounded label of a refund's free-text ``reason``."""
    text = reason.strip().lower()
    for outcome in (PaidOutcome.DUPLICATE, PaidOutcome.MISMATCH, PaidOutcome.UNKNOWN_ORDER):
        if text.endswith(f"payment {outcome.value}"):  # "payment duplicate", "stripe payment …"
            return f"payment_{outcome.value}"
    for prefix, label in _REASON_PREFIXES:
        if text.startswith(prefix):
            return label
    return families.OTHER


def payment_recorded(provider: str, result: PaidResult) -> None:
    provider_label = families.bounded(provider, families.PROVIDERS)
    families.PAYMENTS.labels(
        provider_label, families.bounded(result.outcome.value, families.PAID_OUTCOMES)
    ).inc()
    if result.outcome is PaidOutcome.UNKNOWN_ORDER:
        families.UNMATCHED_PAYMENTS.labels(provider_label).inc()


def refund_started(reason: str) -> None:
    families.REFUNDS.labels(families.bounded(reason_label(reason), families.REFUND_REASONS)).inc()
