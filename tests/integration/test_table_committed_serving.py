"""The worker serves committed table records only: an aborted transaction, even one holding a
whole version with its marker, never reaches the serving table."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from coea.table import TableRow, record_key, version_records
from coea.table_io import open_publisher, publish_version, send_all
from coea.topics import NOVEL_CATEGORIES
from stream_app.testing import Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # starts a worker


def _answer(worker: Worker) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{worker.port}/v1/novel-categories/u1", headers=worker.headers
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def _fallback(category: str) -> list[TableRow]:
    return [TableRow(group=0, short_set=(), categories=((category, 0.9),))]


def test_the_worker_never_serves_an_aborted_version(kafka_env, tmp_path):
    s = kafka_env.settings
    topic = NOVEL_CATEGORIES.name(s)
    worker = Worker.start(kafka_env.env, tmp_path / "worker.log")
    try:
        publish_version(version_records(_fallback("c1"), 1, 1, "m1", 1, default_group=0), s)
        wait_for(lambda: _answer(worker).get("version") == 1, 60, "version 1 served")

        v1_keys = [r.key for r in _fallback("c1")]
        aborted = version_records(
            _fallback("c2"), 2, 2, "m2", 2, previous_keys=v1_keys, default_group=0
        )
        producer = open_publisher(s)
        try:
            producer.begin_transaction()
            send_all(producer, topic, [(k.encode(), v) for k, v in aborted], partition=0)
            producer.abort_transaction()
            # a committed record after the aborted ones, to see when the worker is past them:
            # version 1's row again, with another category (a probe, not a protocol step)
            (row,) = [
                (k.encode(), v)
                for k, v in version_records(_fallback("c9"), 1, 1, "m1", 3, default_group=0)
                if k == record_key(1, v1_keys[0])
            ]
            producer.begin_transaction()
            send_all(producer, topic, [row], partition=0)
            producer.commit_transaction()
        finally:
            producer.close(timeout=5)

        def past_the_aborted() -> dict | None:
            ans = _answer(worker)
            cats = [c["category"] for c in ans.get("categories", [])]
            return ans if ans.get("version") == 2 or "c9" in cats else None

        ans = wait_for(past_the_aborted, 60, "the worker past the aborted transaction")
        assert ans["version"] == 1 and [c["category"] for c in ans["categories"]] == ["c9"]
    finally:
        assert worker.stop() == 0
