"""D_k: what the learner knows at the start of cycle k, accumulated from training windows.

Pure and JSON-serialisable, so a cycle's snapshot can be written with its artifacts and a
restarted learner resumes from it. Each TrainingWindow replaces the user's sequences (they are
the stream's current state) and adds the window's positives and negatives to bounded per-user
histories (the rules `coea.state.bounded_merge` and `coea.state.merge_window_negatives`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from coea.schemas import TrainingWindow
from coea.state import bounded_merge, merge_window_negatives


@dataclass
class UserRecord:
    """The latest state of one user as the stream reported it, plus window feedback."""

    user_id: str
    long_items: list[str]
    long_categories: list[str]
    short_categories: list[str]
    short_set: list[str]
    negatives: list[str]
    positives: list[str]
    features: dict
    last_window: int
    windows: int = 1
    clicked_categories: list[str] = field(default_factory=list)  # every category clicked


@dataclass
class WindowStore:
    """Per-user records and counters of D_k (the paper's stored behaviour data)."""

    users: dict[str, UserRecord] = field(default_factory=dict)
    records: int = 0  # |D_k|: training-window records seen so far
    window_ids: set[int] = field(default_factory=set)
    cap: int = 50
    duplicates: int = 0  # re-sent window records skipped

    def add(self, tw: TrainingWindow) -> bool:
        """Add one window record; returns True when its window id is new.

        The stream emits windows at least once (a crash can re-send one) and a user's windows
        in increasing order, so a record for a window the user already has is a duplicate and
        is skipped.
        """
        prev = self.users.get(tw.user_id)
        if self.is_duplicate(tw):
            self.duplicates += 1
            return False
        self.records += 1
        negatives = merge_window_negatives(
            prev.negatives if prev else [], tw.negatives, tw.positives, self.cap
        )
        positives = bounded_merge(prev.positives if prev else [], tw.positives, self.cap)
        self.users[tw.user_id] = UserRecord(
            user_id=tw.user_id,
            long_items=list(tw.long_items),
            long_categories=list(tw.long_categories),
            short_categories=list(tw.short_categories),
            short_set=list(tw.short_set),
            negatives=negatives,
            positives=positives,
            features=dict(tw.features),
            last_window=tw.window_id,
            windows=(prev.windows + 1) if prev else 1,
            clicked_categories=list(tw.clicked_categories),
        )
        new = tw.window_id not in self.window_ids
        self.window_ids.add(tw.window_id)
        return new

    def is_duplicate(self, tw: TrainingWindow) -> bool:
        prev = self.users.get(tw.user_id)
        return prev is not None and tw.window_id <= prev.last_window

    def evict_idle(self, horizon: int) -> int:
        """Forget users whose last window is more than `horizon` windows before the newest
        window seen (0: keep everyone); returns how many were dropped. Bounds D_k's memory
        by the users active within the horizon."""
        if horizon <= 0 or not self.window_ids:
            return 0
        oldest = max(self.window_ids) - horizon
        idle = [u for u, rec in self.users.items() if rec.last_window < oldest]
        for u in idle:
            del self.users[u]
        return len(idle)

    def active_since(self, window_id: int) -> list[UserRecord]:
        """Users with a window at or after window_id, in user-id order."""
        return [u for _, u in sorted(self.users.items()) if u.last_window >= window_id]

    def to_json(self) -> dict:
        return {
            "records": self.records,
            "window_ids": sorted(self.window_ids),
            "cap": self.cap,
            "duplicates": self.duplicates,
            "users": [asdict(u) for _, u in sorted(self.users.items())],
        }

    @classmethod
    def from_json(cls, d: dict) -> WindowStore:
        store = cls(
            records=d["records"],
            window_ids=set(d["window_ids"]),
            cap=d["cap"],
            duplicates=d.get("duplicates", 0),
        )
        store.users = {u["user_id"]: UserRecord(**u) for u in d["users"]}
        return store
