"""The typed edge between our Redis connections and redis-py's annotations.

Our connections speak RESP2 without ``decode_responses``: every reply is bytes. redis-py 8
annotates each command for every protocol and decoding at once (``bytes | str``, scored members
as tuples or lists, stream reads as lists or RESP3 dicts), so a reply must be narrowed to what
these connections give before it is used, and the field mappings we write widened to the key
type its hash and stream commands declare. Both live here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from redis.typing import EncodableT, FieldT


def text(value: bytes | str) -> str:
    """A reply (a key, a member, a field) as text: bytes from our connections are UTF-8."""
    return value.decode() if isinstance(value, bytes) else value


def scored(rows: Iterable[object]) -> dict[str, float]:
    """``ZRANGEBYSCORE … WITHSCORES`` as ``{member: score}``: RESP2 gives ``(member, score)``
    pairs, the score already a float (redis-py's default ``score_cast_func``)."""
    result: dict[str, float] = {}
    for row in rows:
        if not isinstance(row, tuple | list):
            raise TypeError("expected (member, score) pairs: read the range WITHSCORES")
        member, score = row
        result[text(member)] = float(score)
    return result


def stream_read(reply: object) -> list[list[Any]]:
    """An ``XREAD``/``XREADGROUP`` reply as RESP2 gives it, ``[[stream, [(id, fields), …]], …]``
    (``[]`` when the read timed out). A RESP3 dict means a connection this code never makes."""
    if reply is None:
        return []
    if not isinstance(reply, list):
        raise TypeError(f"expected a RESP2 stream reply (a list), got {type(reply).__name__}")
    return reply


def fields(mapping: dict[str, str]) -> dict[FieldT, EncodableT]:
    """``mapping`` typed as redis-py's ``hset(mapping=…)`` and ``xadd`` take it.

    redis-py declares those as ``Mapping[FieldT, EncodableT]`` / ``Dict[…]``, which are invariant
    in the key: no ``dict[str, str]`` matches, although every ``str`` is a ``FieldT``. That is a
    defect of its annotations, so the cast only restates the same object's type."""
    return cast("dict[FieldT, EncodableT]", mapping)
