"""Run and watch `coea worker` subprocesses (integration tests, bench/ingest.py): start and
stop workers, wait with deadlines (poll until a condition holds), read topics, clean up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coea.security import auth_headers, kafka_python_options
from coea.settings import Settings
from coea.subprocess_env import free_port, settings_from_env
from coea.topic_io import read_to_end
from coea.topics import EVENTS
from stream_app.config import app_id

COEA = str(Path(sys.executable).with_name("coea"))
#: MovieLens rates each item once: the worker counts clicks per category (docs/stream.md);
#: a large window cap keeps every positive of a busy day.
ML_ENV = {"COEA_FILTER_UNIT": "category", "COEA_WINDOW_CAP": "1000"}
CRASH_MARKERS = ("Crashed reason", "Restarting dead", "Traceback (most recent call last)")


def wait_for(
    condition: Callable[[], object],
    timeout_s: float,
    what: str,
    every_s: float = 0.5,
    detail: Callable[[], str] | None = None,
):
    """Poll ``condition`` until it returns something truthy; fail with ``what`` (and
    ``detail()``, for diagnosis) at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{extra}")
        time.sleep(every_s)


@dataclass
class Worker:
    """One `coea worker` subprocess with its own log file and web port."""

    proc: subprocess.Popen
    port: int
    log: Path
    headers: dict[str, str] = field(default_factory=dict)  # the bearer token, when one is set

    @classmethod
    def start(cls, env: dict[str, str], log: Path) -> Worker:
        port = free_port()
        env = {**env, "COEA_WORKER_WEB_PORT": str(port)}
        out = open(log, "ab")  # noqa: SIM115 (the child holds it)
        proc = subprocess.Popen(
            [COEA, "worker", "--loglevel", "info"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = cls(proc, port, log, auth_headers(settings_from_env(env)))
        wait_for(lambda: worker.stats() is not None or not worker.alive(), 90, "worker web view")
        assert worker.alive(), f"worker exited at start:\n{worker.log_text()[-3000:]}"
        return worker

    def _request(self, path: str) -> urllib.request.Request:
        return urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=self.headers)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stats(self) -> dict | None:
        try:
            with urllib.request.urlopen(self._request("/stats/"), timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def ready(self) -> bool:
        """GET /readyz answers 200: partitions assigned, their tables recovered, no rebalance."""
        try:
            with urllib.request.urlopen(self._request("/readyz"), timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def state(self, user_id: str) -> dict | None:
        try:
            with urllib.request.urlopen(self._request(f"/state/{user_id}/"), timeout=5) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def diagnosis(self) -> str:
        """Stats, commit bookkeeping and the last log lines (for a failing wait's message)."""
        try:
            with urllib.request.urlopen(self._request("/debug/commits/"), timeout=5) as r:
                commits = r.read().decode()
        except OSError as exc:
            commits = repr(exc)
        return f"stats: {self.stats()}\ncommits: {commits}\nlog tail:\n{self.log_text()[-3000:]}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def crashes(self) -> list[str]:
        return [ln for ln in self.log_text().splitlines() if any(m in ln for m in CRASH_MARKERS)]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit, no flush."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            raise AssertionError(f"worker did not stop on SIGTERM within {timeout_s}s") from None


def start_replay(env: dict[str, str], ml100k: Path, log: Path) -> subprocess.Popen:
    """`coea replay --ml-100k` in the background, its output in `log`."""
    out = open(log, "wb")  # noqa: SIM115 (the child holds it)
    return subprocess.Popen(
        [COEA, "replay", "--ml-100k", str(ml100k)], env=env, stdout=out, stderr=subprocess.STDOUT
    )


def run_cli(env: dict[str, str], *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([COEA, *args], env=env, capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, f"coea {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def events_end(settings: Settings) -> int:
    """Records on the events topic so far (the sum of its partitions' end offsets)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, **kafka_python_options(settings)
    )
    try:
        topic = EVENTS.name(settings)
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def events_consumed(settings: Settings) -> bool:
    """True when the worker's committed offsets reach the end of every events partition."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    topic = EVENTS.name(settings)
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, **kafka_python_options(settings)
    )
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, **kafka_python_options(settings)
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        ends = consumer.end_offsets(tps)
        group = app_id(settings)
        committed = admin.list_group_offsets({group: tps}).get(group, {})
        done = [committed.get(tp) is not None and committed[tp].offset >= ends[tp] for tp in tps]
        return all(done)
    finally:
        consumer.close()
        admin.close()


def read_topic(
    settings: Settings, topic: str, expect: int | None = None, timeout_s: float = 60
) -> list[tuple[bytes, bytes]]:
    """Every (key, value) on a topic, read to its end (`coea.topic_io.read_to_end`); with
    ``expect``, read again until that many records are there or ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = max(deadline - time.monotonic(), 1.0)
        out = [(m.key, m.value) for m in read_to_end(settings, topic, left)]
        if expect is None or len(out) >= expect or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def delete_topics(settings: Settings) -> None:
    """Remove the topics of a test prefix (ours and the worker's changelogs)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, **kafka_python_options(settings)
    )
    try:
        prefix = settings.topic_prefix
        mine = [t for t in admin.list_topics() if t.startswith((f"{prefix}.", f"{prefix}-"))]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()
