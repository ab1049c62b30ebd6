"""Readers for MovieLens-100K (``u.data``, ``u.item``, ``u.user``) and MovieLens-1M
(``ratings.dat``, ``movies.dat``, ``users.dat``; '::'-separated, Latin-1).

Both return a `RatingLog`. A malformed line is reported (file, line number, reason) in
`RatingLog.problems` and skipped; reading goes on. MovieLens is research-only: read it from
``../shared/data``, never copy it into the project.

Categories: a movie has one or more genres. ``ItemInfo.category(mode)`` gives its single
category c(item): ``genre`` = its first genre in the dataset's genre order, ``genre-combo`` =
all its genres joined with ``|`` (216 distinct values on ML-100K).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CATEGORY_MODES = ("genre", "genre-combo")


@dataclass(frozen=True)
class ItemInfo:
    item_id: str
    title: str
    genres: tuple[str, ...]

    def category(self, mode: str = "genre") -> str:
        if mode == "genre":
            return self.genres[0]
        if mode == "genre-combo":
            return "|".join(self.genres)
        raise ValueError(f"unknown category mode {mode!r}; expected one of {CATEGORY_MODES}")

    def members(self, mode: str = "genre") -> tuple[str, ...]:
        """Every category the item counts for: all its genres in genre mode (c(item), its
        first genre, first), its genre combination in genre-combo mode."""
        return self.genres if mode == "genre" else (self.category(mode),)


@dataclass(frozen=True)
class Rating:
    user_id: str
    item_id: str
    rating: float
    ts: int  # milliseconds since the epoch

    def is_click(self, threshold: float) -> bool:
        """A rating at or above ``threshold`` is a click (engaged); a lower one an exposure
        (shown, not clicked)."""
        return self.rating >= threshold


@dataclass(frozen=True)
class ReadProblem:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class RatingLog:
    """Ratings sorted by (ts, user, item), with the item catalogue and user features."""

    name: str
    ratings: list[Rating]
    items: dict[str, ItemInfo]
    users: dict[str, dict[str, str | int]] = field(default_factory=dict)
    problems: list[ReadProblem] = field(default_factory=list)

    def categories(self, mode: str = "genre") -> dict[str, str]:
        """item_id -> c(item) under the given category mode."""
        return {i: info.category(mode) for i, info in self.items.items()}

    def members(self, mode: str = "genre") -> dict[str, tuple[str, ...]]:
        """item_id -> every category the item counts for (`ItemInfo.members`)."""
        return {i: info.members(mode) for i, info in self.items.items()}

    def by_user(self) -> dict[str, list[Rating]]:
        """Each user's ratings in time order."""
        out: dict[str, list[Rating]] = {}
        for r in self.ratings:
            out.setdefault(r.user_id, []).append(r)
        return out


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (expected a MovieLens file there)")
    with open(path, encoding=encoding, errors="replace") as f:
        for n, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield n, line


def _sorted(ratings: list[Rating]) -> list[Rating]:
    return sorted(
        ratings,
        key=lambda r: (r.ts, int(r.user_id) if r.user_id.isdigit() else 0, r.user_id, r.item_id),
    )


def _parse_rating(
    parts: list[str], path: Path, n: int, problems: list[ReadProblem]
) -> Rating | None:
    if len(parts) != 4:
        problems.append(ReadProblem(str(path), n, f"expected 4 fields, got {len(parts)}"))
        return None
    user, item, rating, ts = parts
    try:
        value, secs = float(rating), int(ts)
    except ValueError:
        problems.append(
            ReadProblem(str(path), n, f"rating/timestamp not numeric: {rating!r}, {ts!r}")
        )
        return None
    if not user.strip() or not item.strip():
        problems.append(ReadProblem(str(path), n, "empty user or item id"))
        return None
    return Rating(user.strip(), item.strip(), value, secs * 1000)


def load_ml_100k(root: str | Path) -> RatingLog:
    """Read MovieLens-100K from the folder holding u.data, u.item, u.user and u.genre."""
    root = Path(root)
    problems: list[ReadProblem] = []
    genre_names = [line.split("|")[0] for _, line in _lines(root / "u.genre", "latin-1")]
    items: dict[str, ItemInfo] = {}
    for n, line in _lines(root / "u.item", "latin-1"):
        parts = line.split("|")
        flags = parts[5:]
        if len(flags) != len(genre_names) or any(f not in ("0", "1") for f in flags):
            problems.append(ReadProblem(str(root / "u.item"), n, "genre flags malformed"))
            continue
        genres = tuple(g for g, f in zip(genre_names, flags, strict=True) if f == "1") or (
            "unknown",
        )
        items[parts[0]] = ItemInfo(parts[0], parts[1], genres)
    users: dict[str, dict[str, str | int]] = {}
    for n, line in _lines(root / "u.user", "latin-1"):
        parts = line.split("|")
        if len(parts) != 5 or not parts[1].isdigit():
            problems.append(
                ReadProblem(str(root / "u.user"), n, "expected id|age|gender|occupation|zip")
            )
            continue
        users[parts[0]] = {"age": int(parts[1]), "gender": parts[2], "occupation": parts[3]}
    ratings = []
    for n, line in _lines(root / "u.data", "latin-1"):
        r = _parse_rating(line.split("\t"), root / "u.data", n, problems)
        if r is not None:
            ratings.append(r)
    return RatingLog("ml-100k", _sorted(ratings), items, users, problems)


def load_ml_1m(root: str | Path) -> RatingLog:
    """Read MovieLens-1M from the folder holding ratings.dat, movies.dat and users.dat."""
    root = Path(root)
    problems: list[ReadProblem] = []
    items: dict[str, ItemInfo] = {}
    for n, line in _lines(root / "movies.dat", "latin-1"):
        parts = line.split("::")
        if len(parts) != 3:
            problems.append(
                ReadProblem(str(root / "movies.dat"), n, "expected MovieID::Title::Genres")
            )
            continue
        genres = tuple(g for g in parts[2].split("|") if g) or ("unknown",)
        items[parts[0]] = ItemInfo(parts[0], parts[1], genres)
    users: dict[str, dict[str, str | int]] = {}
    for n, line in _lines(root / "users.dat", "latin-1"):
        parts = line.split("::")
        if len(parts) != 5 or not parts[2].isdigit():
            problems.append(
                ReadProblem(
                    str(root / "users.dat"), n, "expected UserID::Gender::Age::Occupation::Zip"
                )
            )
            continue
        users[parts[0]] = {"gender": parts[1], "age": int(parts[2]), "occupation": parts[3]}
    ratings = []
    for n, line in _lines(root / "ratings.dat", "latin-1"):
        r = _parse_rating(line.split("::"), root / "ratings.dat", n, problems)
        if r is not None:
            ratings.append(r)
    return RatingLog("ml-1m", _sorted(ratings), items, users, problems)


MOVIELENS = ("ml-100k", "ml-1m")


def load_movielens(name: str, root: str | Path) -> RatingLog:
    """The MovieLens set called `name` (one of MOVIELENS) from its folder: the one place that
    maps a dataset name to its reader."""
    readers = {"ml-100k": load_ml_100k, "ml-1m": load_ml_1m}
    if name not in readers:
        raise ValueError(f"unknown MovieLens set {name!r}; expected one of {MOVIELENS}")
    return readers[name](root)
