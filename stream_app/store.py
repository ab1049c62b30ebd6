"""Read the worker's RocksDB tables from another process (read-only; no Faust import).

RocksDB allows one writer per database; a read-only open sees what the worker had flushed to
its write-ahead log when the open happened, which is fine for inspection and tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from coea.settings import Settings
from coea.state import UserState
from stream_app.config import USERS_TABLE, datadir

_FAUST_KEYS = b"__faust"  # Faust keeps its changelog offset under this key prefix


def partition_dbs(settings: Settings, table: str = USERS_TABLE) -> list[Path]:
    """The table's partition folders present on disk, in partition order."""
    folder = datadir(settings) / "tables"
    paths = folder.glob(f"{table}-*.db")
    return sorted(paths, key=lambda p: int(p.name[len(table) + 1 : -3]))


@contextmanager
def _open(path: Path) -> Iterator[object]:
    from rocksdict import AccessType, Options, Rdict

    db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
    try:
        yield db
    finally:
        db.close()


def read_user(settings: Settings, user_id: str) -> UserState | None:
    """One user's state from the local tables, or None."""
    for path in partition_dbs(settings):
        with _open(path) as db:
            raw = db.get(user_id.encode())
        if raw is not None:
            return UserState.from_json(raw)
    return None


def iter_users(settings: Settings) -> Iterator[UserState]:
    """Every user's state in the local tables."""
    for path in partition_dbs(settings):
        with _open(path) as db:
            for key, value in db.items():
                if not key.startswith(_FAUST_KEYS):
                    yield UserState.from_json(value)
