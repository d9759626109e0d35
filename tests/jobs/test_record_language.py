"""A job record carries the language its answers are in, and so does every event about it: a
bot that hears of the job later (stems, a refund, after a restart) speaks it without asking."""

from __future__ import annotations

from jobs import lifecycle
from jobs.events import EventType, JobEvent
from jobs.records import JobKind, JobRecord


def test_the_language_goes_from_the_record_to_its_events() -> None:
    record = JobRecord(
        id="j1",
        user_id="7",
        platform="telegram",
        chat_id="7",
        kind=JobKind.FULL,
        output_format="mp3",
        input_key="inputs/j1/song.mp3",
        language="ru",
    )
    assert JobRecord.from_mapping(record.to_mapping()).language == "ru"
    event = lifecycle.event_for(record, EventType.DONE)
    assert event.language == "ru"
    assert JobEvent.from_fields("1-0", event.to_fields()).language == "ru"


def test_records_and_events_from_before_languages_read_as_english() -> None:
    raw = {
        "id": "j0",
        "user_id": "7",
        "platform": "telegram",
        "chat_id": "7",
        "kind": "preview",
        "output_format": "mp3",
        "input_key": "k",
    }
    assert JobRecord.from_mapping(raw).language == ""
    old = (
        '{"type": "done", "job_id": "j0", "platform": "telegram", "user_id": "7", '
        '"chat_id": "7", "kind": "preview"}'
    )
    assert JobEvent.from_fields("1-0", {"data": old}).language == ""
