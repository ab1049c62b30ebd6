"""`coea demo` end to end on a small synthetic run (the README's main job, scaled down)."""

from __future__ import annotations

import json
import subprocess

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_runs_and_reports(tmp_path, broker, coea_bin):
    out = tmp_path / "run"
    proc = subprocess.run(
        [coea_bin, "demo", "--users", "150", "--days", "14", "--cycles", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "=== coea demo report ===" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert [c["cycle"] for c in report["cycles"]] == [1, 2]
    assert report["events_processed"] > 0 and report["dead_letters"] == 0
    assert report["users_served"] > 0 and report["examples"]
    for e in report["examples"]:
        assert e["novel"] and not set(e["novel"]) & set(e["recent"])
    assert (out / "cycles.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the demo stops what it started: no process is left with the run's data dir
    assert _processes_using(out) == []


def _processes_using(folder) -> list[int]:
    from pathlib import Path

    needle = f"COEA_DATA_DIR={folder}/data".encode()
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in env.read_bytes():
                found.append(int(env.parent.name))
        except OSError:
            continue
    return found
