"""The closed loop on the real broker: ML-100K replay -> worker -> learner -> table -> HTTP.

Checks the serving endpoint for sampled users, that the table topic's live rows are exactly
one complete version, and that an independent consumer written with kafka-python alone (no
project code) rebuilds the table the endpoint serves.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import urllib.request

import pytest
from table_topic import latest_values  # tests/support

from stream_app.testing import COEA, ML_ENV, Worker, run_cli, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def independent_table(bootstrap: str, topic: str) -> dict:
    """The documented protocol (docs/learner.md), with kafka-python only.

    Rows on '<slot>/<key>', the marker on '__version__', tombstones = None; the visible
    version is the marker's, served from its slot.
    """
    latest = latest_values(bootstrap, topic)
    marker = json.loads(latest["__version__"])
    slot = f"{marker['version'] % 2}/"
    rows = {}
    for k, v in latest.items():
        if k.startswith(slot) and v is not None:
            row = json.loads(v)
            if row["version"] == marker["version"]:
                rows[k[len(slot) :]] = [c["category"] for c in row["categories"]]
    return {"marker": marker, "rows": rows, "live": latest}


def key_of(group: int, short_set: list[str]) -> str:
    digest = hashlib.sha256("\x1f".join(short_set).encode("utf-8")).hexdigest()[:16]
    return f"g{group}:{digest}"


def expected(table: dict, group: int, short_set: list[str], clicked: list[str]) -> list[str]:
    recent = set(short_set) | (set(clicked) if table["marker"].get("exclude_history") else set())
    tries = [(group, short_set)] if short_set else []
    tries += [(group, []), (table["marker"]["default_group"], [])]
    out: list[str] = []
    for g, s in tries:  # the first row with a category left, completed up to fill_to
        for c in table["rows"].get(key_of(g, s), []):
            if c not in recent:
                recent.add(c)
                out.append(c)
        if out and len(out) >= table["marker"].get("fill_to", 0):
            break
    return out


def test_replay_learn_publish_serve(kafka_env, ml100k, tmp_path):
    env = (
        kafka_env.env
        | ML_ENV
        | {
            "COEA_WINDOW_SECONDS": str(30 * 86400),
            "COEA_WINDOW_IDLE_FLUSH_S": "3",
            "COEA_LEARNER_PROFILE": "small",
            "COEA_LEARNER_CYCLE_WINDOWS": "2",
            "COEA_LEARNER_IDLE_SECONDS": "5",
            "COEA_LEARNER_DRIFT": "false",
        }
    )
    worker = Worker.start(env, tmp_path / "worker.log")
    try:
        with open(tmp_path / "learner.log", "ab") as out:
            learner = subprocess.Popen(
                [COEA, "learner", "--until-cycle", "2", "--exit-idle", "300"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        run_cli(env, "replay", "--ml-100k", str(ml100k))
        learner.wait(timeout=900)
        log = (tmp_path / "learner.log").read_text()
        assert learner.returncode == 0, log[-3000:]
        assert "learner: cycle 2 published" in log, log[-3000:]

        s = kafka_env.settings
        table = independent_table(s.bootstrap_servers, f"{s.topic_prefix}.novel-categories")
        assert table["marker"]["version"] == 2
        live_rows = [k for k, v in table["live"].items() if v is not None and k != "__version__"]
        assert len(live_rows) == table["marker"]["rows"] == len(table["rows"])
        assert all(k.startswith("0/") for k in live_rows)  # version 2 -> slot 0, slot 1 tombstoned

        from coea.data.movielens import load_ml_100k

        ml = load_ml_100k(ml100k)
        catalogue = set(ml.categories("genre").values())
        genres = ml.members("genre")
        clicked_genres: dict[str, set[str]] = {}  # every genre of every clicked movie
        for r in ml.ratings:
            if r.is_click(4.0):
                clicked_genres.setdefault(r.user_id, set()).update(genres[r.item_id])
        wait_for(
            lambda: _get(worker.port, "/v1/novel-categories/1")[1].get("version") == 2,
            120,
            "the worker to serve version 2",
            detail=worker.diagnosis,
        )
        users = random.Random(0).sample([str(u) for u in range(1, 944)], 40)
        answered = 0
        assert table["marker"]["exclude_history"] is True  # the learner's default rule
        for uid in users:
            status, ans = _get(worker.port, f"/v1/novel-categories/{uid}")
            assert status == 200, ans
            state = worker.state(uid)
            assert state is not None
            cats = [c["category"] for c in ans["categories"]]
            answered += bool(cats)
            assert set(cats) <= catalogue
            clicked = state["clicked_categories"]
            assert set(clicked) == clicked_genres.get(uid, set()), uid
            assert not set(cats) & (set(state["short_set"]) | set(clicked)), (uid, cats)
            assert ans["short_set"] == state["short_set"]
            assert cats == expected(table, ans["group"], ans["short_set"], clicked), uid
        # 19 genres: a heavy user may have clicked every one the table holds for them
        assert answered >= 30, f"only {answered} of 40 users got a novel category"
        assert worker.crashes() == []
    finally:
        worker.stop()
