"""The ledger's append-only audit lines, written inside the transaction of the change they record.

Every room writes them: ``payments`` for each order, payment and refund transition, ``people``
for bans, level changes and ``/forget``. A line commits with its change or not at all, so the
ledger never says something happened that did not (or misses what did). Lines name people as
``user:<internal id>``, never by platform id or name, so ``/forget`` leaves them as they are.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from db.tables import LedgerEntryRow


def append_entry(
    session: Session,
    *,
    actor: str,
    action: str,
    order_id: str | None = None,
    payment_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
    ref: str | None = None,
    detail: dict[str, Any] | str | None = None,
) -> None:
    """Append one ledger line inside the caller's transaction (so it commits with the change)."""
    if isinstance(detail, dict):
        detail = json.dumps(detail, sort_keys=True)
    session.add(
        LedgerEntryRow(
            order_id=order_id,
            payment_id=payment_id,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state,
            amount=amount,
            currency=currency,
            ref=ref,
            detail=detail,
        )
    )
