"""The novel-category table's wire protocol (topic ``novel-categories``): keys, versions, readers.

Key of a row: ``{group}:{short_hash}`` where ``short_hash = stable_hash(C'_short)``: the first
16 hex digits of SHA-256 over the UTF-8 bytes of the categories joined by U+001F (unit
separator), in C'_short's order. It is the same in every process and Python version (no
``hash()``, no salt).

Publishing version v (one partition, so order is kept):
  1. every row of v, on record key ``{slot}/{key}`` with ``slot = v % 2`` (double buffering:
     an interrupted publish of v never overwrites the rows of the visible version v-1, even
     after log compaction);
  2. the marker (record key ``__version__``) naming v, its slot and its row count;
  3. tombstones (null values) for every row key of the other slot (version v-1's rows), so
     after compaction the topic holds exactly one complete version.
Readers switch to version v only when its marker arrives and all its rows are there; until
then they keep serving v-1. Re-publishing the same version after a crash is idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from coea.schemas import (
    TABLE_ADAPTER,
    CategoryScore,
    NovelCategoryRow,
    UserGroup,
    VersionMarker,
)
from coea.state import UserState, ordered_set_last

MARKER_KEY = "__version__"
SEPARATOR = "\x1f"


def stable_hash(short_set: Sequence[str]) -> str:
    """Process- and version-independent hash of an ordered category set C'_short."""
    data = SEPARATOR.join(short_set).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:16]


def key_short_set(short_categories: Sequence[str]) -> tuple[str, ...]:
    """The C'_short a table key is made of, from a user's C_short (oldest first): the ordered
    set keeping last occurrences, with every category as the stream saw it. The learner keys
    its rows with it and serving looks them up with it, so a category the models do not know
    (it arrived after they were built) still gives both sides the same key."""
    return tuple(ordered_set_last(short_categories))


def table_key(group: int, short_set: Sequence[str]) -> str:
    """The table key CSID-group (+) hash(C'_short)."""
    return f"g{group}:{stable_hash(short_set)}"


def slot_of(version: int) -> int:
    return version % 2


def record_key(version: int, key: str) -> str:
    return f"{slot_of(version)}/{key}"


@dataclass(frozen=True)
class TableRow:
    """One row before publishing: a group, the C'_short it was generated for, scored categories."""

    group: int
    short_set: tuple[str, ...]
    categories: tuple[tuple[str, float], ...]

    @property
    def key(self) -> str:
        return table_key(self.group, self.short_set)


def version_records(
    rows: Iterable[TableRow],
    version: int,
    cycle: int,
    model_version: str,
    ts: int,
    previous_keys: Iterable[str] = (),
    default_group: int | None = None,
    exclude_history: bool = False,
    fill_to: int = 0,
) -> list[tuple[str, bytes | None]]:
    """All (record key, value) pairs that publish one version, in publishing order.

    ``previous_keys`` are the table keys of the version before (their rows get tombstones);
    ``exclude_history`` goes into the marker: serving then drops every category the user has
    clicked, not only C'_short; ``fill_to`` too: serving completes shorter rows from the
    fallback rows up to that many categories.
    """
    out: list[tuple[str, bytes | None]] = []
    keys = set()
    for row in sorted(rows, key=lambda r: r.key):
        keys.add(row.key)
        rec = NovelCategoryRow(
            key=row.key,
            group=row.group,
            short_hash=stable_hash(row.short_set),
            categories=[CategoryScore(category=c, score=s) for c, s in row.categories],
            version=version,
            cycle=cycle,
            model_version=model_version,
            ts=ts,
        )
        out.append((record_key(version, row.key), rec.to_bytes()))
    marker = VersionMarker(
        version=version,
        cycle=cycle,
        rows=len(keys),
        ts=ts,
        default_group=default_group,
        exclude_history=exclude_history,
        fill_to=fill_to,
    )
    out.append((MARKER_KEY, marker.to_bytes()))
    out += [(f"{slot_of(version - 1)}/{k}", None) for k in sorted(set(previous_keys))]
    return out


@dataclass
class TableView:
    """A reader's materialised table: feed it every record of the topic in order.

    ``rows`` holds only the last complete version (key -> NovelCategoryRow); ``version`` is
    that version (0 before any).
    """

    version: int = 0
    highest: int = 0  # the highest version any record carried, complete or not
    cycle: int = -1
    default_group: int | None = None
    exclude_history: bool = False
    fill_to: int = 0
    rows: dict[str, NovelCategoryRow] = field(default_factory=dict)
    _slots: dict[int, dict[str, NovelCategoryRow]] = field(default_factory=lambda: {0: {}, 1: {}})

    def apply(self, key: str, value: bytes | None) -> bool:
        """Apply one record; True when a new version became visible."""
        if key == MARKER_KEY:
            if value is None:
                return False
            marker = TABLE_ADAPTER.validate_json(value)
            assert isinstance(marker, VersionMarker)
            self.highest = max(self.highest, marker.version)
            return self._switch(marker)
        slot_s, _, table_k = key.partition("/")
        slot = int(slot_s)
        if value is None:
            self._slots[slot].pop(table_k, None)
            return False
        row = TABLE_ADAPTER.validate_json(value)
        assert isinstance(row, NovelCategoryRow)
        self.highest = max(self.highest, row.version)
        self._slots[slot][table_k] = row
        return False

    def _switch(self, marker: VersionMarker) -> bool:
        if marker.version <= self.version:
            return False
        rows = {
            k: r
            for k, r in self._slots[slot_of(marker.version)].items()
            if r.version == marker.version
        }
        if len(rows) != marker.rows:
            return False  # rows missing: keep serving the previous complete version
        self.version, self.cycle, self.rows = marker.version, marker.cycle, rows
        self.default_group = marker.default_group
        self.exclude_history = marker.exclude_history
        self.fill_to = marker.fill_to
        return True

    def lookup(self, group: int, short_set: Sequence[str]) -> NovelCategoryRow | None:
        return self.rows.get(table_key(group, short_set))

    def serve(
        self, group: int | None, short_set: Sequence[str], clicked: Iterable[str] = ()
    ) -> tuple[list, str]:
        """Categories for a user and the rule that gave them (see `resolve`); `clicked` (every
        category the user has clicked) is dropped when the version says so."""
        return resolve(
            self.lookup,
            group,
            self.default_group,
            short_set,
            clicked,
            self.exclude_history,
            self.fill_to,
        )


def resolve(
    lookup: Callable[[int, Sequence[str]], NovelCategoryRow | None],
    group: int | None,
    default_group: int | None,
    short_set: Sequence[str],
    clicked: Iterable[str] = (),
    exclude_history: bool = False,
    fill_to: int = 0,
) -> tuple[list[CategoryScore], str]:
    """The serving rule: novel categories for a user, outside their C'_short and, when the
    served version's marker says `exclude_history`, outside every category in `clicked`.

    In order: the row of (group, C'_short) ("key"); the group's fallback row, i.e. its
    most-accepted categories on the key of the empty C'_short ("group"); the default group's
    fallback ("default"). A user with no group yet uses the default group (cold start).

    With `fill_to` = 0 the first row with a category left answers alone; with `fill_to` = n
    the rows after it complete the answer (each category once, in row order) until it holds
    at least n categories or the rows run out. The rule named is the first row's. Returns
    ([], "none") when no row applies.
    """
    cold = group is None
    if cold:
        group = default_group
    drop = set(short_set) | (set(clicked) if exclude_history else set())
    tries = (("key", group, short_set), ("group", group, ()), ("default", default_group, ()))
    out: list[CategoryScore] = []
    first: str | None = None
    for rule, g, s in tries:
        if rule == "key" and not s:
            continue  # the empty C'_short key is the group's fallback row
        row = lookup(g, s) if g is not None else None
        for c in row.categories if row else []:
            if c.category not in drop:
                drop.add(c.category)
                out.append(c)
                first = first or rule
        if out and len(out) >= fill_to:
            break
    if not out:
        return [], "none"
    return out, "default" if cold else first


def marker_of(raw: bytes | None) -> VersionMarker | None:
    """Parse a stored version marker (None when there is none)."""
    if raw is None:
        return None
    rec = TABLE_ADAPTER.validate_json(raw)
    return rec if isinstance(rec, VersionMarker) else None


def stored_lookup(
    get: Callable[[str], bytes | None], marker: VersionMarker | None
) -> Callable[[int, Sequence[str]], NovelCategoryRow | None]:
    """A `resolve` lookup over a key-value store of raw topic records (record key -> value).

    Only rows of the marker's version count, so a store that also holds a half-written next
    version (other slot) still serves the complete one.
    """

    def lookup(group: int, short_set: Sequence[str]) -> NovelCategoryRow | None:
        if marker is None:
            return None
        raw = get(record_key(marker.version, table_key(group, short_set)))
        if raw is None:
            return None
        row = TABLE_ADAPTER.validate_json(raw)
        return row if isinstance(row, NovelCategoryRow) and row.version == marker.version else None

    return lookup


def serving_answer(
    user_id: str,
    raw_state: bytes | None,
    raw_group: bytes | None,
    get: Callable[[str], bytes | None],
) -> dict:
    """The serving endpoint's answer for one user (pure): their stream state and group
    record (raw stored values, None when absent) and `get` over the table topic's records by
    record key. The key is `key_short_set` of the state's C_short, the rule `resolve`'s."""
    state = UserState.from_json(raw_state) if raw_state is not None else None
    short_set = list(key_short_set(state.short_categories())) if state is not None else []
    clicked = list(state.category_clicks) if state is not None else []
    group = UserGroup.model_validate_json(raw_group) if raw_group is not None else None
    marker = marker_of(get(MARKER_KEY))
    default = marker.default_group if marker else None
    cats, rule = resolve(
        stored_lookup(get, marker),
        group.group if group else None,
        default,
        short_set,
        clicked,
        marker is not None and marker.exclude_history,
        marker.fill_to if marker else 0,
    )
    return {
        "user_id": user_id,
        "group": group.group if group else default,
        "csid": group.csid if group else None,
        "cold_start": group is None,
        "short_set": short_set,
        "categories": [c.model_dump() for c in cats],
        "rule": rule,
        "version": marker.version if marker else None,
        "cycle": marker.cycle if marker else None,
        "known_user": raw_state is not None,
    }
