"""Versioned PCO artifacts: resume, roll back, prune.

Layout under a root folder::

    base/            built-in base weights (novelty/, relevance/), tokenizer/, manifest.json
    cycle-0000/      after SFT + reward training: novelty/ and relevance/ adapters,
    cycle-0001/      tokenizer/, manifest.json (cycle, parent, data window, metrics, config)
    .rolled-back/    cycles moved aside by `rollback`

A folder is complete only when its manifest.json exists: it is written LAST, through a
temporary file and an atomic rename. A crash leaves a folder without a manifest, which every
reader ignores and the next save of that cycle replaces. Adapters are saved with
``selected_adapters=["default"]`` so DPO's frozen ``ref`` copy is not written (stack-notes).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

FORMAT = "coea-pco/1"
MANIFEST = "manifest.json"
BASE = "base"


def cycle_dir(root: str | Path, cycle: int) -> Path:
    return Path(root) / f"cycle-{cycle:04d}"


def write_manifest(folder: Path, manifest: dict) -> Path:
    """Write manifest.json atomically (temp file + rename): the folder's completion mark."""
    body = {"format": FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(body | manifest, indent=1, default=str))
    os.replace(tmp, folder / MANIFEST)
    return folder / MANIFEST


def read_manifest(folder: str | Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a complete PCO artifact (no {MANIFEST})")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown format {manifest.get('format')!r}")
    return manifest


def _fresh(folder: Path) -> Path:
    if folder.exists():
        if (folder / MANIFEST).is_file():
            raise FileExistsError(f"{folder} is already a complete artifact; roll back first")
        shutil.rmtree(folder)  # leftover of an interrupted save
    folder.mkdir(parents=True)
    return folder


def save_base(root: str | Path, novelty, relevance, tokenizer, info: dict) -> Path:
    """Save built-in base models (None for a checkpoint: the path is in `info`) + tokenizer."""
    folder = Path(root) / BASE
    if (folder / MANIFEST).is_file():
        shutil.rmtree(folder)
    _fresh(folder)
    if novelty is not None:
        novelty.save_pretrained(folder / "novelty")
    if relevance is not None:
        relevance.save_pretrained(folder / "relevance")
    tokenizer.save_pretrained(folder / "tokenizer")
    write_manifest(folder, info)
    return folder


def save_cycle(root: str | Path, cycle: int, novelty, relevance, tokenizer, manifest: dict) -> Path:
    """Save one cycle's adapters, tokenizer and manifest (last)."""
    folder = _fresh(cycle_dir(root, cycle))
    novelty.save_pretrained(folder / "novelty", selected_adapters=["default"])
    relevance.save_pretrained(folder / "relevance", selected_adapters=["default"])
    tokenizer.save_pretrained(folder / "tokenizer")
    write_manifest(folder, {"cycle": cycle} | manifest)
    return folder


def complete_cycles(root: str | Path) -> list[int]:
    """Cycle numbers whose folder holds a manifest, ascending."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for p in root.glob("cycle-*"):
        if p.is_dir() and (p / MANIFEST).is_file() and p.name[6:].isdigit():
            out.append(int(p.name[6:]))
    return sorted(out)


def latest_cycle(root: str | Path) -> int | None:
    cycles = complete_cycles(root)
    return cycles[-1] if cycles else None


def rollback(root: str | Path, cycle: int) -> list[int]:
    """Make `cycle` the latest: later cycles move to .rolled-back/ (nothing is deleted)."""
    if cycle not in complete_cycles(root):
        raise FileNotFoundError(f"cycle {cycle} is not a complete cycle under {root}")
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    moved = []
    for k in complete_cycles(root):
        if k > cycle:
            dest = Path(root) / ".rolled-back" / stamp / cycle_dir(root, k).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(cycle_dir(root, k)), str(dest))
            moved.append(k)
    return moved


def prune(root: str | Path, keep: int) -> list[int]:
    """Delete the oldest complete cycles so at most `keep` (>= 1) remain."""
    if keep < 1:
        raise ValueError("keep_cycles must be >= 1")
    cycles = complete_cycles(root)
    doomed = cycles[: max(0, len(cycles) - keep)]
    for k in doomed:
        shutil.rmtree(cycle_dir(root, k))
    return doomed
