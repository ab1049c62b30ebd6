"""evaluation.live_system: what a LiveSystem sets up before it starts anything, and how it
waits on the learner's log (no broker, no subprocess of the project)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evaluation.live_system import LiveError, LiveSystem, stop_process


def test_a_live_system_runs_under_its_own_prefix_and_folders(tmp_path):
    system = LiveSystem(tmp_path / "run", "demo1", {"COEA_SHORT_K": "7"}, ["--cycles", "2"])
    assert system.settings.topic_prefix == "demo1" and system.settings.short_k == 7
    assert system.env["COEA_DATA_DIR"] == str(tmp_path / "run" / "data")
    assert system.base_url == f"http://127.0.0.1:{system.port}"
    assert system.learner_args == ["--cycles", "2"] and system.learner_lines() == []


def test_wait_learner_echoes_learner_lines_until_done_and_times_out(tmp_path):
    system = LiveSystem(tmp_path, "demo2", {})
    system.learner_log.write_text("learner: cycle 0 published: v1\nother\n")
    seen: list[str] = []
    system.wait_cycle(0, timeout=5, on_line=seen.append)
    assert seen == ["learner: cycle 0 published: v1"]
    with pytest.raises(LiveError, match="cycle 1"):
        system.wait_cycle(1, timeout=0.1)


def test_stop_process_terminates_a_running_child():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_process(proc, "sleeper", print)
    assert proc.returncode is not None
    stop_process(None, "nothing", print)  # nothing started: nothing to do
