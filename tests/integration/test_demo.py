"""`coea demo` end to end on a small synthetic run (the README's main job, scaled down)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

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
    assert report["events_replayed"] == report["events_processed"]  # the same stream
    served = report["users_served"]
    assert 0 < served <= report["users_asked"] and report["examples"]
    for e in report["examples"]:
        assert e["novel"] and len(e["novel"]) <= 5 and not set(e["novel"]) & set(e["recent"])
        assert len(e["hidden_truth"]) > 0 and len(e["unseen_popular"]) == 5
    # is it personal, and against which baseline: counts consistent, rates are rates
    assert 1 <= report["distinct_categories_served"] <= served * 5
    assert 0 < report["same_top5_share"] <= 1
    hit = report["hidden_hit_at_5"]
    assert hit["users"] == served
    assert 0 <= hit["system"] <= 1 and 0 <= hit["unseen_popular"] <= 1
    assert hit["system"] <= report["hidden_hit_rate"]  # the first five are part of the answer
    base = report["unseen_popular"]
    assert base["users"] == served and 1 <= base["distinct_categories"] <= served * 5
    per_cycle = report["per_cycle"]
    assert [c["cycle"] for c in per_cycle] == [1, 2]
    for c in per_cycle:
        assert c["users"] + c["answers_of_another_version"] + c["serving_errors"] == served
        if c["users"]:
            assert 1 <= c["distinct_categories"] <= c["users"] * 5
            assert 0 <= c["hidden_hit_at_5"] <= 1
            assert 0 <= c["unseen_popular_hidden_hit_at_5"] <= 1
    assert per_cycle[-1]["users"] == served  # the last snapshot is the served one
    assert per_cycle[0]["clicks_up_to_cycle"] <= per_cycle[-1]["clicks_up_to_cycle"]
    for png in (out / "cycles.png", out / "served.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(report["served_plot"]).resolve() == (out / "served.png").resolve()
    for line in ("distinct categories served", "hidden-hit@5", "unseen-popular", "served.png"):
        assert line in proc.stdout
    # the demo stops what it started: no process is left with the run's data dir
    assert _processes_using(out) == []


def _processes_using(folder) -> list[int]:
    needle = f"COEA_DATA_DIR={folder}/data".encode()
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in env.read_bytes():
                found.append(int(env.parent.name))
        except OSError:
            continue
    return found


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose command line or environment holds `text` (the demo's run folder is in
    the worker's --logfile and in both processes' COEA_DATA_DIR / COEA_ARTIFACTS_DIR)."""
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
            except OSError:
                continue
            if text.encode() in seen:
                out.append(int(proc.name))
    return out


def test_sigterm_to_the_demo_stops_the_worker_and_learner_it_started(tmp_path, broker, coea_bin):
    import signal
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [coea_bin, "demo", "--users", "100", "--days", "60", "--cycles", "5", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in proc.stdout:  # the worker runs and the learner has been started
        lines.append(line)
        if "replaying" in line:
            break
    children = [p for p in _processes_mentioning(str(out)) if p != proc.pid]
    assert len(children) >= 2, "".join(lines)  # the worker and the learner
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, "".join(lines) + rest
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(out)) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _processes_mentioning(str(out))
    assert not left, f"still running after SIGTERM to coea demo: {left}\n{rest[-2000:]}"
