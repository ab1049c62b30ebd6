"""The learner on the real broker: cycles, complete versions, crash recovery (SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from table_topic import latest_values  # tests/support

from coea.table import TableView
from coea.table_io import read_table
from coea.topics import ITEMS, NOVEL_CATEGORIES, TRAINING_WINDOWS, USER_GROUPS
from learners import cycle_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNTIL = 3


@pytest.fixture(scope="module")
def windows(ml100k):
    from windows_fixture import ml100k_windows  # tests/support is on pytest's pythonpath

    return ml100k_windows(ml100k, n_users=150, n_windows=UNTIL)


def _produce(env, items, windows) -> None:
    s = env.settings
    producer = KafkaProducer(bootstrap_servers=s.bootstrap_servers, acks="all")
    for it in items:
        producer.send(ITEMS.name(s), it.to_bytes(), key=it.item_id.encode())
    for tw in windows:
        producer.send(TRAINING_WINDOWS.name(s), tw.to_bytes(), key=tw.user_id.encode())
    producer.flush()
    producer.close()


def _learner_env(env) -> dict:
    return env.env | {
        "COEA_LEARNER_CYCLE_WINDOWS": "1",
        "COEA_LEARNER_IDLE_SECONDS": "4",
        "COEA_LEARNER_PROFILE": "small",
        "COEA_LEARNER_DRIFT": "false",
    }


def _start(coea_bin, env, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:  # Popen keeps its own copy of the descriptor
        return subprocess.Popen(
            [coea_bin, "learner", "--until-cycle", str(UNTIL), "--exit-idle", "120"],
            env=_learner_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class TableWatcher(threading.Thread):
    """A reader that follows the table topic live and records every marker it sees."""

    def __init__(self, settings):
        super().__init__(daemon=True)
        self.settings, self.view, self.markers, self.stop = settings, TableView(), [], False
        self.partial = []

    def run(self) -> None:
        tp = TopicPartition(NOVEL_CATEGORIES.name(self.settings), 0)
        c = KafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, group_id=None)
        c.assign([tp])
        c.seek_to_beginning(tp)
        while not self.stop:
            for msgs in c.poll(timeout_ms=300).values():
                for m in msgs:
                    key = m.key.decode()
                    before = self.view.version
                    switched = self.view.apply(key, m.value)
                    if key == "__version__" and m.value is not None:
                        self.markers.append((before, self.view.version, switched))
                        if not switched and self.view.version < before + 1 and before == 0:
                            self.partial.append(m.offset)
                    versions = {r.version for r in self.view.rows.values()}
                    if len(versions) > 1:
                        self.partial.append(m.offset)
        c.close()


def _latest_values(settings) -> dict[str, bytes | None]:
    return latest_values(settings.bootstrap_servers, NOVEL_CATEGORIES.name(settings))


def _wait(proc: subprocess.Popen, log: Path, timeout: float) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"learner did not finish in {timeout}s:\n{log.read_text()[-3000:]}")
    text = log.read_text()
    assert proc.returncode == 0, text[-3000:]
    return text


def _wait_for_line(proc: subprocess.Popen, log: Path, text: str, timeout: float = 600) -> None:
    """Until the learner's log holds `text`; the learner must stay alive meanwhile."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.2)


def test_learner_cycles_and_recovers_from_sigkill(
    windows, kafka_env, kafka_env_factory, tmp_path, coea_bin
):
    items, records = windows
    other = kafka_env_factory(tmp_path / "b")
    _produce(kafka_env, items, records)
    _produce(other, items, records)

    # Uninterrupted run.
    log_a = tmp_path / "a.log"
    text_a = _wait(_start(coea_bin, kafka_env, log_a), log_a, 600)
    assert f"learner: cycle {UNTIL} published" in text_a
    table_a = read_table(kafka_env.settings)
    assert table_a.version == UNTIL and table_a.rows

    # Killed mid-cycle, restarted.
    watcher = TableWatcher(other.settings)
    watcher.start()
    log_b = tmp_path / "b.log"
    proc = _start(coea_bin, other, log_b)
    _wait_for_line(proc, log_b, "learner: cycle 2 (")
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    text_b = _wait(_start(coea_bin, other, log_b), log_b, 600)
    assert "learner: resumed after cycle 1" in text_b
    time.sleep(2)
    watcher.stop = True
    watcher.join(10)

    table_b = read_table(other.settings)
    assert table_b.version == table_a.version == UNTIL
    assert set(table_b.rows) == set(table_a.rows)
    assert watcher.partial == [], "a reader saw rows of more than one version"
    assert [m for m in watcher.markers if not m[2]] == [], "a marker arrived with rows missing"
    assert watcher.view.version == UNTIL

    # After tombstones, the live (latest per key) rows are exactly one complete version.
    live = {k: v for k, v in _latest_values(other.settings).items() if v is not None}
    rows = [k for k in live if k != "__version__"]
    assert len(rows) == len(table_b.rows)
    assert all(k.startswith(f"{UNTIL % 2}/") for k in rows)

    # Every user got a group on the user-groups topic.
    c = KafkaConsumer(
        USER_GROUPS.name(other.settings),
        bootstrap_servers=other.settings.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        group_id=None,
    )
    users = {m.key.decode() for m in c}
    c.close()
    assert users == {tw.user_id for tw in records}


def test_sigterm_during_a_cycle_stops_the_learner_within_30_s(
    windows, kafka_env_factory, tmp_path, coea_bin
):
    """SIGTERM while cycle 1's models train: the learner abandons the cycle and exits 0 within
    30 s, with nothing of the cycle on the table topic or in its artifacts."""
    items, records = windows
    env = kafka_env_factory(tmp_path / "t")
    _produce(env, items, records)
    log = tmp_path / "t.log"
    proc = _start(coea_bin, env, log)
    _wait_for_line(proc, log, "learner: cycle 1 (")
    time.sleep(2.0)  # into the training (cycle 1 trains DSIE and the two LMs: minutes)
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"learner still running 30 s after SIGTERM:\n{log.read_text()[-3000:]}")
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert "SIGTERM during cycle 1's training" in text
    assert "cycle 1 published" not in text
    assert read_table(env.settings).version == 0
    assert cycle_store.complete_cycles(env.settings.artifacts_dir / "learner") == []
