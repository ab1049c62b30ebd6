"""Wire schemas: valid examples pass, invalid records fail with a message naming the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coea.examples import EXAMPLES
from coea.schemas import (
    EVENT_ADAPTER,
    TABLE_ADAPTER,
    ClickEvent,
    DeadLetter,
    RecordError,
    decode_event,
    json_schemas,
)


def _event(**over):
    base = {"kind": "click", "event_id": "e1", "user_id": "u1", "item_id": "i1", "ts": 5}
    base.update(over)
    return json.dumps(base).encode()


def test_valid_event_decodes_to_its_kind():
    ev = decode_event(_event(kind="exposure", value=3.0, features={"age": 20}))
    assert ev.kind == "exposure" and ev.value == 3.0 and ev.features == {"age": 20}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json", "bad JSON"),
        (b"[1, 2]", "expected an object"),
        (_event(kind="like"), "unknown event kind 'like'"),
        (json.dumps({"event_id": "e", "user_id": "u", "item_id": "i", "ts": 1}).encode(), "kind"),
        (_event(ts="yesterday"), "ts:"),
        (_event(ts=-1), "ts:"),
        (_event(user_id=""), "user_id:"),
        (_event(user_id=None), "user_id:"),
        (_event(surprise=1), "surprise:"),
        (_event(features={"a": [1, 2]}), "features.a"),
        (_event(categories=["Drama", ""]), "categories.1"),
        (_event(categories="Drama"), "categories:"),
        (_event(item_id="x" * 20_000), "oversized payload"),
    ],
)
def test_invalid_event_names_what_is_wrong(raw, needle):
    with pytest.raises(RecordError) as info:
        decode_event(raw)
    assert needle in str(info.value)


def test_missing_user_is_named():
    raw = json.dumps({"kind": "click", "event_id": "e", "item_id": "i", "ts": 1}).encode()
    with pytest.raises(RecordError, match=r"user_id: Field required"):
        decode_event(raw)


@given(
    user=st.text(min_size=1, max_size=20),
    ts=st.integers(min_value=0, max_value=2**53),
    value=st.none() | st.floats(allow_nan=False, allow_infinity=False),
)
def test_event_bytes_round_trip(user, ts, value):
    ev = ClickEvent(event_id="e", user_id=user, item_id="i", ts=ts, value=value)
    assert decode_event(ev.to_bytes()) == ev


def test_every_example_round_trips_through_json():
    for _spec, _key, record in EXAMPLES:
        again = type(record).model_validate_json(record.to_bytes())
        assert again == record


def test_table_records_are_discriminated():
    for _spec, _key, record in EXAMPLES:
        if record.__class__.__name__ in ("NovelCategoryRow", "VersionMarker"):
            assert TABLE_ADAPTER.validate_json(record.to_bytes()) == record


def test_item_table_value_round_trips_with_c_item_first():
    from coea.schemas import ItemRecord, item_table_categories

    item = ItemRecord(item_id="i", category="War", categories=["Drama", "War"])
    assert item.all_categories() == ("War", "Drama")
    assert item_table_categories(item.table_value()) == ("War", "Drama")
    assert item_table_categories(b"Drama") == ("Drama",)  # a bare category
    assert item_table_categories(b"[not json") == ("[not json",)


def test_dead_letter_keeps_original_bytes():
    raw = b"\xff\x00 not utf8"
    dl = DeadLetter.of(raw, "bad JSON", "coea.events", 1)
    assert DeadLetter.model_validate_json(dl.to_bytes()).original() == raw


def test_dead_letter_of_a_large_record_is_cut_with_size_and_digest():
    import hashlib

    from coea.schemas import DEAD_LETTER_ORIGINAL_MAX

    raw = b"x" * 900_000  # base64 of the whole would pass the producers' 1 MB request limit
    dl = DeadLetter.model_validate_json(
        DeadLetter.of(raw, "r" * 10_000, "coea.events", 1).to_bytes()
    )
    assert len(dl.to_bytes()) < 1_000_000
    assert dl.truncated and dl.original_bytes == len(raw)
    assert dl.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert dl.original() == raw[:DEAD_LETTER_ORIGINAL_MAX]
    assert dl.reason.startswith("r" * 100) and dl.reason.endswith("more characters)")
    small = DeadLetter.of(b"{}", "why", "coea.events", 1)
    assert not small.truncated and small.original_sha256 is None


@pytest.mark.parametrize(
    ("field", "text"),
    [("value", "NaN"), ("value", "Infinity"), ("value", "1e400"), ("features", '{"a": -Infinity}')],
)
def test_non_finite_numbers_are_refused_naming_the_field(field, text):
    body = (
        '{"kind": "click", "event_id": "e", "user_id": "u", "item_id": "i", "ts": 1, '
        f'"{field}": {text}}}'
    )
    with pytest.raises(RecordError, match=rf"^{field}\b.*finite number"):
        decode_event(body.encode())


@pytest.mark.parametrize("raw", [b"[" * 5_000, b"1" * 5_000])
def test_pathological_json_is_a_record_error(raw):
    with pytest.raises(RecordError, match="bad JSON"):
        decode_event(raw, max_bytes=10_000)


def test_json_schemas_cover_every_record():
    schemas = json_schemas()
    assert set(schemas) == {
        "event",
        "item",
        "dead-letter",
        "training-window",
        "user-group",
        "novel-category-table",
    }
    assert "oneOf" in json.dumps(schemas["event"]) or "anyOf" in json.dumps(schemas["event"])
    assert schemas["item"]["required"] == ["item_id", "category"]
    assert EVENT_ADAPTER.json_schema()["discriminator"]["propertyName"] == "kind"
