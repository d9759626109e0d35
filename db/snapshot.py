"""Frozen copies of rows: what the rooms above hand out instead of ORM rows.

A row outlives its session badly (lazy loads, stale state); a frozen dataclass copied from its
columns does not. ``people.records`` and ``payments.records`` build theirs with :func:`snapshot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def snapshot(cls: type[T], row: object, **convert: Callable[[Any], Any]) -> T:
    """A frozen copy of the row's columns that ``cls`` names; ``convert`` types some of them."""
    values = {f.name: getattr(row, f.name) for f in fields(cls)}
    for name, to_type in convert.items():
        values[name] = to_type(values[name])
    return cls(**values)
