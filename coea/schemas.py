"""Wire records of coea-stream (pydantic v2). Every topic's value is one of these, as JSON.

`docs/events.md` documents them with examples; `coea schemas export DIR` writes their JSON
Schemas. Validation errors name the offending field (pydantic's `loc`), see `describe_error`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

Id = Annotated[str, Field(min_length=1, max_length=128)]
FeatureValue = Union[str, int, float, bool]


#: Original bytes kept in a dead letter: a larger original is cut to this many bytes (its size
#: and SHA-256 digest recorded), so the letter (base64, 4/3 larger) stays under the producers'
#: 1 MB request limit.
DEAD_LETTER_ORIGINAL_MAX = 256 * 1024
#: Characters of a dead letter's reason kept (a record with thousands of bad fields).
DEAD_LETTER_REASON_MAX = 4096


class _Record(BaseModel):
    # NaN, Infinity and numbers beyond the float range (1e400 reads as Infinity) are refused in
    # every record: JSON cannot carry them, so they would reach the learner as null.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class _EventBase(_Record):
    event_id: Id = Field(description="Unique id; redelivered events with the same id count once.")
    user_id: Id
    item_id: Id
    category: str | None = Field(None, description="Item category, if the producer knows it.")
    categories: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        max_length=64,
        description="Every category of an item that has several (`category` is the one its "
        "sequences use); a click counts for each in the user's clicked categories.",
    )
    ts: int = Field(ge=0, description="Event time in milliseconds since the Unix epoch.")
    value: float | None = Field(None, description="Rating, dwell time or order amount.")
    features: dict[str, FeatureValue] | None = Field(
        None, description="Sparse user features (age, gender, ...); the latest ones win."
    )


class ClickEvent(_EventBase):
    kind: Literal["click"] = "click"


class ExposureEvent(_EventBase):
    """An item shown to the user and not clicked (the reward model's negatives)."""

    kind: Literal["exposure"] = "exposure"


class OrderEvent(_EventBase):
    kind: Literal["order"] = "order"


Event = Annotated[Union[ClickEvent, ExposureEvent, OrderEvent], Field(discriminator="kind")]
EVENT_KINDS = ("click", "exposure", "order")
EVENT_ADAPTER: TypeAdapter[ClickEvent | ExposureEvent | OrderEvent] = TypeAdapter(Event)


class ItemRecord(_Record):
    """Item catalogue entry (topic ``items``, compacted, keyed by item_id)."""

    item_id: Id
    category: str = Field(min_length=1, description="The item's category c(item).")
    categories: list[str] = Field(default_factory=list, description="All categories, if several.")
    title: str | None = None

    def all_categories(self) -> tuple[str, ...]:
        """`category` first, then the item's other categories, each once."""
        return tuple(dict.fromkeys([self.category, *self.categories]))

    def table_value(self) -> bytes:
        """The worker's item-table value: `all_categories()` as a JSON array."""
        return json.dumps(self.all_categories()).encode()


def item_table_categories(raw: bytes) -> tuple[str, ...]:
    """An item-table value back as (c(item), other categories...); a value written as the
    bare category (tables from before the array) reads as that one category."""
    if raw[:1] == b"[":
        with contextlib.suppress(ValueError):
            cats = json.loads(raw)
            if isinstance(cats, list) and cats and all(isinstance(c, str) for c in cats):
                return tuple(cats)
    return (raw.decode(),)


class DeadLetter(_Record):
    """An event that failed validation, with its original bytes (base64) and why.

    An original over DEAD_LETTER_ORIGINAL_MAX bytes is kept cut to that size; then
    `original_bytes` and `original_sha256` describe the whole of it.
    """

    reason: str
    original_b64: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    ts: int
    original_bytes: int | None = Field(
        None, description="Size of the original when original_b64 holds only its beginning."
    )
    original_sha256: str | None = Field(
        None, description="SHA-256 (hex) of the whole original, when it was cut."
    )

    @classmethod
    def of(
        cls, raw: bytes, reason: str, source_topic: str, ts: int, **kw: int | None
    ) -> DeadLetter:
        cut = len(raw) > DEAD_LETTER_ORIGINAL_MAX
        if len(reason) > DEAD_LETTER_REASON_MAX:
            more = len(reason) - DEAD_LETTER_REASON_MAX
            reason = f"{reason[:DEAD_LETTER_REASON_MAX]}... ({more} more characters)"
        return cls(
            reason=reason,
            original_b64=base64.b64encode(raw[:DEAD_LETTER_ORIGINAL_MAX]).decode(),
            source_topic=source_topic,
            ts=ts,
            original_bytes=len(raw) if cut else None,
            original_sha256=hashlib.sha256(raw).hexdigest() if cut else None,
            **kw,
        )

    @property
    def truncated(self) -> bool:
        """Whether `original()` is only the beginning of the record."""
        return self.original_bytes is not None

    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)


class TrainingWindow(_Record):
    """All a learner needs about one user active in one window (topic ``training-windows``)."""

    window_id: int = Field(ge=0)
    user_id: Id
    long_items: list[str] = Field(
        description="Filtered long-term items I'_long (eq. 3), oldest first."
    )
    long_categories: list[str] = Field(default_factory=list, description="c(i) for long_items.")
    clicked_categories: list[str] = Field(
        default_factory=list,
        description="Every category the user has clicked so far (bounded by click_counts_cap).",
    )
    short_categories: list[str] = Field(description="C_short: categories of the last K clicks.")
    short_set: list[str] = Field(description="C'_short: ordered set of short_categories.")
    positives: list[str] = Field(description="Categories clicked in this window, in order.")
    negatives: list[str] = Field(description="Categories exposed but not clicked in this window.")
    features: dict[str, FeatureValue] = Field(default_factory=dict)
    ts_start: int
    ts_end: int


class UserGroup(_Record):
    """user -> CSID assignment (topic ``user-groups``, compacted)."""

    user_id: Id
    csid: list[int] = Field(min_length=1, description="RQ-VAE code indices, one per level.")
    group: int = Field(ge=0, description="The group id of the CSID after mapping to M_N groups.")
    model_version: str
    ts: int


class CategoryScore(_Record):
    category: str
    score: float = Field(ge=0.0, le=1.0)


class NovelCategoryRow(_Record):
    """One row of the novel-category table: key = CSID (+) hash(C'_short)."""

    type: Literal["row"] = "row"
    key: str
    group: int
    short_hash: str
    categories: list[CategoryScore]
    version: int = Field(ge=1)
    cycle: int = Field(ge=0)
    model_version: str
    ts: int


class VersionMarker(_Record):
    """Published after all rows of a version: readers switch to a version only on its marker."""

    type: Literal["marker"] = "marker"
    version: int = Field(ge=1)
    cycle: int = Field(ge=0)
    rows: int = Field(ge=0)
    ts: int
    default_group: int | None = Field(None, description="Group of users with no CSID yet.")
    exclude_history: bool = Field(
        False,
        description="Serving drops every category the user has clicked, not only C'_short "
        "(the learner's candidate rule).",
    )
    fill_to: int = Field(
        0,
        ge=0,
        description="Serving completes a key row shorter than this with the group's fallback "
        "row, then the default group's (0: the first row that applies, alone).",
    )


TableRecord = Annotated[Union[NovelCategoryRow, VersionMarker], Field(discriminator="type")]
TABLE_ADAPTER: TypeAdapter[NovelCategoryRow | VersionMarker] = TypeAdapter(TableRecord)

#: Every wire record, by the name used in docs and JSON Schema files.
RECORDS: dict[str, type[BaseModel] | TypeAdapter] = {
    "event": EVENT_ADAPTER,
    "item": ItemRecord,
    "dead-letter": DeadLetter,
    "training-window": TrainingWindow,
    "user-group": UserGroup,
    "novel-category-table": TABLE_ADAPTER,
}


class RecordError(ValueError):
    """A record that cannot be decoded or validated; the message names what is wrong."""


def describe_error(err: ValidationError, tags: tuple[str, ...] = ()) -> str:
    """One line per problem: ``field.path: message (got value)``.

    ``tags`` are discriminator values that pydantic puts first in a union member's error path
    (``click.ts``); they are dropped so the message names the field itself (``ts``).
    """
    parts = []
    for e in err.errors():
        loc_parts = list(e["loc"])
        if loc_parts and loc_parts[0] in tags:
            loc_parts = loc_parts[1:]
        loc = ".".join(str(p) for p in loc_parts) or "<record>"
        got = e.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"[:80]
        parts.append(f"{loc}: {e['msg']}{got_s}")
    return "; ".join(parts)


def decode_event(raw: bytes, max_bytes: int = 16_384) -> ClickEvent | ExposureEvent | OrderEvent:
    """Decode and validate one event; raise RecordError with a reason naming the field."""
    if raw is None:
        raise RecordError("empty record (null value)")
    if len(raw) > max_bytes:
        raise RecordError(f"oversized payload: {len(raw)} bytes > {max_bytes}")
    try:
        obj = json.loads(raw)
    except RecursionError:
        raise RecordError("bad JSON: nested too deeply") from None
    except ValueError as exc:  # not JSON, not UTF-8, or an integer of over 4300 digits
        raise RecordError(f"bad JSON: {exc}"[:200]) from None
    if not isinstance(obj, dict):
        raise RecordError(f"bad JSON: expected an object, got {type(obj).__name__}")
    if "kind" not in obj:
        raise RecordError("kind: field required (one of click, exposure, order)")
    if obj["kind"] not in EVENT_KINDS:
        raise RecordError(f"kind: unknown event kind {obj['kind']!r} (click, exposure, order)")
    try:
        return EVENT_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        raise RecordError(describe_error(exc, tags=EVENT_KINDS)) from None


def json_schemas() -> dict[str, dict]:
    """JSON Schema of every wire record, by record name."""
    out = {}
    for name, rec in RECORDS.items():
        out[name] = rec.json_schema() if isinstance(rec, TypeAdapter) else rec.model_json_schema()
    return out
