"""jobs.replies: redis-py's broad reply types narrowed to what our RESP2, bytes connections give."""

from __future__ import annotations

import pytest

from jobs import replies


def test_text_decodes_bytes_and_keeps_text() -> None:
    assert replies.text(b"caf\xc3\xa9") == "café"
    assert replies.text("plain") == "plain"


def test_scored_reads_withscores_pairs() -> None:
    assert replies.scored([(b"a", 1.5), [b"b", 2]]) == {"a": 1.5, "b": 2.0}


def test_scored_refuses_members_without_scores() -> None:
    with pytest.raises(TypeError, match="WITHSCORES"):
        replies.scored([b"a"])


def test_stream_read_takes_resp2_lists_and_timeouts() -> None:
    reply = [[b"vr:events:telegram", [(b"1-0", {b"data": b"{}"})]]]
    assert replies.stream_read(reply) is reply
    assert replies.stream_read(None) == []


def test_stream_read_refuses_a_resp3_map() -> None:
    with pytest.raises(TypeError, match="RESP2"):
        replies.stream_read({b"vr:events:telegram": []})


def test_fields_is_the_same_mapping() -> None:
    mapping = {"id": "j1"}
    assert replies.fields(mapping) is mapping
