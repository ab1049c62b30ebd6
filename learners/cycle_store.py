"""The learner's own durable record of each cycle (under <artifacts>/learner/cycles/).

cycle-000k/ holds store.json (D_k after the cycle), table.json (the rows published as
version k), assignments.json, and manifest.json, written last (atomically), which makes the
cycle complete. `published` is written once version k and the user groups are on the broker
and the consumer offsets are committed. A restarted learner resumes from the newest complete
cycle: it re-publishes the same table.json if `published` is missing (never a different one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from coea.table import TableRow
from learners.dataset import WindowStore

MANIFEST = "manifest.json"
PUBLISHED = "published"


def cycle_folder(root: Path, cycle: int) -> Path:
    return Path(root) / "cycles" / f"cycle-{cycle:04d}"


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rows_to_json(rows: list[TableRow]) -> list[dict]:
    return [
        {
            "group": r.group,
            "short_set": list(r.short_set),
            "categories": [list(c) for c in r.categories],
        }
        for r in rows
    ]


def rows_from_json(data: list[dict]) -> list[TableRow]:
    return [
        TableRow(
            d["group"], tuple(d["short_set"]), tuple((c, float(s)) for c, s in d["categories"])
        )
        for d in data
    ]


@dataclass
class CycleRecord:
    cycle: int
    manifest: dict
    store: WindowStore
    rows: list[TableRow]
    assignments: list[dict]
    published: bool
    folder: Path


def write_cycle(root: Path, cycle: int, store: WindowStore, rows, assignments, manifest) -> Path:
    folder = cycle_folder(root, cycle)
    if folder.exists():
        for leftover in folder.iterdir():  # an interrupted earlier attempt at this cycle
            leftover.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "store.json", store.to_json())
    _write_json(folder / "table.json", rows_to_json(rows))
    _write_json(folder / "assignments.json", assignments)
    _write_json(folder / MANIFEST, {"cycle": cycle} | manifest)
    return folder


def mark_published(folder: Path) -> None:
    _write_json(folder / PUBLISHED, {"published": True})


def complete_cycles(root: Path) -> list[int]:
    base = Path(root) / "cycles"
    if not base.is_dir():
        return []
    return sorted(int(p.name[6:]) for p in base.glob("cycle-*") if (p / MANIFEST).is_file())


def load_cycle(root: Path, cycle: int) -> CycleRecord:
    folder = cycle_folder(root, cycle)
    read = lambda name: json.loads((folder / name).read_text())  # noqa: E731
    return CycleRecord(
        cycle=cycle,
        manifest=read(MANIFEST),
        store=WindowStore.from_json(read("store.json")),
        rows=rows_from_json(read("table.json")),
        assignments=read("assignments.json"),
        published=(folder / PUBLISHED).is_file(),
        folder=folder,
    )


def latest_cycle(root: Path) -> CycleRecord | None:
    done = complete_cycles(root)
    return load_cycle(root, done[-1]) if done else None
