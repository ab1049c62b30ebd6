"""`coea replay` -> Kafka -> `coea worker` (subprocesses, real broker) against a reference
computed straight from the MovieLens files, without coea.state or coea.data."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from coea.schemas import DeadLetter, TrainingWindow
from coea.state import StateParams
from coea.topics import EVENTS, EVENTS_DLQ, TRAINING_WINDOWS
from stream_app.testing import (
    ML_ENV,
    Worker,
    delete_topics,
    events_consumed,
    read_topic,
    start_replay,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TAU, K, LONG_CAP, NEG_CAP, CLICK = 5, 10, 200, 50, 4.0


# --- the independent reference -----------------------------------------------------------------


def read_ratings(root: Path, limit: int | None = None):
    """(ts_ms, user, item, rating) in replay order, and item -> first genre."""
    genres = [
        ln.split("|")[0]
        for ln in (root / "u.genre").read_text("latin-1").splitlines()
        if ln.strip()
    ]
    first_genre = {}
    for line in (root / "u.item").read_text("latin-1").splitlines():
        parts = line.split("|")
        if len(parts) > 5:
            names = [g for g, flag in zip(genres, parts[5:], strict=False) if flag == "1"]
            first_genre[parts[0]] = names[0] if names else "unknown"
    rows = []
    for line in (root / "u.data").read_text("latin-1").splitlines():
        user, item, rating, ts = line.split("\t")
        rows.append((int(ts) * 1000, user, item, float(rating)))
    rows.sort(key=lambda r: (r[0], int(r[1]), r[2]))
    return rows[:limit], first_genre


def reference(root: Path, limit: int | None = None) -> dict[str, dict]:
    """Per user: I'_long (category-count filter), C_short, C'_short, negatives, features."""
    rows, genre = read_ratings(root, limit)
    features = {}
    for line in (root / "u.user").read_text("latin-1").splitlines():
        uid, age, gender, occupation, _ = line.split("|")
        features[uid] = {"age": int(age), "gender": gender, "occupation": occupation}
    per_user = defaultdict(list)
    for _, user, item, rating in rows:
        per_user[user].append((item, rating))
    out = {}
    for user, history in per_user.items():
        clicks = [item for item, r in history if r >= CLICK]
        short, older = clicks[-K:], clicks[: max(len(clicks) - K, 0)]
        per_cat = Counter(genre[i] for i in clicks)
        long_items = [i for i in dict.fromkeys(older) if per_cat[genre[i]] >= TAU][-LONG_CAP:]
        negatives = []
        for item, r in history:
            if genre[item] in negatives:
                negatives.remove(genre[item])
            if r < CLICK:
                negatives = (negatives + [genre[item]])[-NEG_CAP:]
        short_cats = [genre[i] for i in short]
        out[user] = {
            "long_items": long_items,
            "long_categories": [genre[i] for i in long_items],
            "short_categories": short_cats,
            "short_set": [c for n, c in enumerate(short_cats) if c not in short_cats[n + 1 :]],
            "negatives": negatives,
            "features": features[user],
            "clicks": [genre[i] for i in clicks],
        }
    return out


FIELDS = ("long_items", "long_categories", "short_categories", "short_set", "negatives", "features")


def assert_states_match(states, expected, params):
    assert set(states) == set(expected)
    wrong = {u: f for u in expected for f in FIELDS if states[u].view(params)[f] != expected[u][f]}
    assert not wrong, f"{len(wrong)} users differ, e.g. {list(wrong.items())[:3]}"


PARAMS = StateParams(filter_unit="category", window_cap=1000)


# --- the shared uninterrupted run --------------------------------------------------------------


def test_ml100k_replay_state_equals_reference(ml100k_run, ml100k):
    run = ml100k_run
    assert "sent 100000 events, rejected 0" in run.replay_output
    assert run.exit_code == 0 and run.crashes == []
    assert run.dead_letters == []
    expected = reference(ml100k)
    assert_states_match(run.states, expected, PARAMS)
    assert sum(s.events for s in run.states.values()) == 100_000
    shown = json.loads(run.cli_state)
    assert {f: shown[f] for f in FIELDS} == {f: expected["1"][f] for f in FIELDS}
    assert json.loads(run.store_state) == shown  # read-only RocksDB open, worker stopped


def test_training_windows_carry_every_click_once(ml100k_run, ml100k):
    expected = reference(ml100k)
    by_user = defaultdict(list)
    for w in ml100k_run.windows:
        by_user[w.user_id].append(w)
    assert set(by_user) == set(expected)
    day = 86_400_000
    for user, windows in by_user.items():
        ids = [w.window_id for w in windows]
        assert ids == sorted(set(ids)), f"user {user}: windows repeat or go back: {ids}"
        assert [c for w in windows for c in w.positives] == expected[user]["clicks"]
        assert all(
            (w.ts_start, w.ts_end) == (w.window_id * day, (w.window_id + 1) * day) for w in windows
        )
        last = windows[-1]  # closed by the replay's end marker: the final state
        assert last.short_categories == expected[user]["short_categories"]
        assert last.long_items == expected[user]["long_items"]
        assert all(not set(w.negatives) & set(w.positives) for w in windows)


# --- dead letters ---------------------------------------------------------------------------------


N_BAD, N_HUGE = 10_000, 3


def malformed_records(valid):
    """N_BAD bad records of fourteen kinds, keyed like real traffic, plus N_HUGE events of
    900 KB (under the broker's 2 MB limit, over the worker's payload limit);
    (key, value, headers, expected reason)."""
    users = [e.user_id for e in valid]
    good = json.loads(valid[0].to_bytes())
    out = []
    for n in range(N_BAD):
        user = users[(n * 37) % len(users)]
        kind = n % 14
        obj = {**good, "user_id": user, "event_id": f"bad-{n}"}
        headers = []
        if kind == 0:
            raw, why = json.dumps(obj).encode()[:-7], "bad JSON"
        elif kind == 1:
            raw, why = json.dumps({**obj, "ts": "yesterday"}).encode(), "ts:"
        elif kind == 2:
            raw, why = json.dumps({**obj, "kind": "like"}).encode(), "unknown event kind"
        elif kind == 3:
            raw, why = (
                json.dumps({k: v for k, v in obj.items() if k != "user_id"}).encode(),
                "user_id",
            )
        elif kind == 4:
            raw, why = json.dumps({**obj, "features": {"blob": "x" * 20_000}}).encode(), "oversized"
        elif kind == 5:
            raw, why = b"[1, 2, 3]", "expected an object"
        elif kind == 6:
            raw, why = (
                json.dumps({**obj, "category": None, "item_id": f"ghost-{n}"}).encode(),
                "unknown item",
            )
        elif kind == 7:
            raw, why = json.dumps(obj).encode(), "key:"
            user = "not-" + user
        elif kind == 8:  # NaN and Infinity are what Python's json writes for them
            raw, why = json.dumps({**obj, "features": {"x": float("nan")}}).encode(), "features.x"
        elif kind == 9:
            raw, why = json.dumps({**obj, "value": float("inf")}).encode(), "value:"
        elif kind == 10:
            raw, why = (
                json.dumps({**obj, "ts": 1}).encode().replace(b'"ts": 1', b'"ts": 1e400'),
                "ts:",
            )
        elif kind == 11:
            raw, why = json.dumps({**obj, "ts": 10**20}).encode(), "ahead of the worker's clock"
        elif kind == 12:
            raw, why = b"[" * 5_000, "nested too deeply"
        else:
            raw, why = json.dumps(obj).encode(), "unknown control"
            headers = [("coea-control", b"rewind")]
        out.append((user.encode(), raw, headers, why))
    for n in range(N_HUGE):
        user = users[n]
        raw = json.dumps({**good, "user_id": user, "features": {"blob": "y" * 900_000}}).encode()
        out.append((user.encode(), raw, [], "oversized"))
    return out


def test_malformed_records_go_to_the_dlq_and_the_stream_keeps_flowing(kafka_env, ml100k, tmp_path):
    from kafka import KafkaProducer

    from coea.data.events_io import Publisher, ml_events
    from coea.data.movielens import load_ml_100k
    from stream_app.store import iter_users

    settings = kafka_env.settings.model_copy(update={"filter_unit": "category"})
    env = {**kafka_env.env, **ML_ENV}
    n_valid = 20_000
    valid = list(ml_events(load_ml_100k(ml100k)))[:n_valid]
    bad = malformed_records(valid)
    worker = Worker.start(env, tmp_path / "worker.log")
    pid = worker.proc.pid
    try:
        producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, linger_ms=20, max_request_size=2_000_000
        )
        topic = EVENTS.name(settings)
        every = n_valid // len(bad)  # valid events between two bad ones
        for n, event in enumerate(valid):
            producer.send(topic, key=event.user_id.encode(), value=event.to_bytes())
            if n % every == every - 1 and n // every < len(bad):
                key, raw, headers, _ = bad[n // every]
                producer.send(topic, key=key, value=raw, headers=headers)
        producer.flush()
        producer.close()
        publisher = Publisher(settings)
        publisher.send_flush_markers()
        publisher.close()
        wait_for(lambda: events_consumed(settings), 240, "the worker to consume everything", 1.0)
        letters = [
            DeadLetter.model_validate_json(v)
            for _, v in read_topic(settings, EVENTS_DLQ.name(settings), expect=len(bad))
        ]
        assert worker.alive() and worker.proc.pid == pid  # no restart
        assert worker.crashes() == []
        assert worker.stop() == 0
        assert len(letters) == len(bad) == N_BAD + N_HUGE

        def digest(letter: DeadLetter) -> str:
            return letter.original_sha256 or hashlib.sha256(letter.original()).hexdigest()

        assert sum(d.truncated for d in letters) == N_HUGE
        sent = [(hashlib.sha256(raw).hexdigest(), reason) for _, raw, _, reason in bad]
        assert sorted(digest(d) for d in letters) == sorted(h for h, _ in sent)  # as multisets
        why = dict(sent)  # equal records carry the same reason
        wrong = [(d.reason, why[digest(d)]) for d in letters if why[digest(d)] not in d.reason]
        assert not wrong, wrong[:5]
        assert all(d.source_topic == topic and d.offset is not None for d in letters)
        expected = reference(ml100k, limit=n_valid)
        assert_states_match({s.user_id: s for s in iter_users(settings)}, expected, PARAMS)
    finally:
        if worker.alive():
            worker.kill()
        delete_topics(settings)


# --- crash recovery ---------------------------------------------------------------------------


def _wait_for_count(worker: Worker, field: str, n: int) -> None:
    """Until the worker's /stats/ counter `field` ("applied" or "records") reaches n."""
    wait_for(
        lambda: (worker.stats() or {}).get(field, 0) >= n,
        240,
        f"{n:,} {field} on the worker",
        detail=worker.diagnosis,
    )


def _clean_up(replay, workers: list[Worker], settings) -> None:
    """Kill what still runs and remove the test's topics."""
    replay.kill()
    for w in workers:
        if w.alive():
            w.kill()
    delete_topics(settings)


def _catch_up_and_stop(worker: Worker, settings, what: str) -> None:
    """Wait until `worker` has committed every events partition to its end, then stop it:
    no crash in its log, exit 0 on SIGTERM."""
    wait_for(lambda: events_consumed(settings), 300, what, 1.0, detail=worker.diagnosis)
    assert worker.crashes() == []
    assert worker.stop() == 0


def _assert_states_equal_the_run(settings, ml100k_run) -> None:
    """Every user's final state in the RocksDB under `settings.data_dir` equals the
    uninterrupted single-worker run's, field by field."""
    from stream_app.store import iter_users

    states = {s.user_id: s for s in iter_users(settings)}
    assert sorted(states) == sorted(ml100k_run.states)
    differ = [u for u, s in states.items() if s.to_dict() != ml100k_run.states[u].to_dict()]
    assert not differ, f"{len(differ)} users differ from the uninterrupted run: {differ[:5]}"


def test_sigkill_mid_replay_recovers_to_the_uninterrupted_state(
    kafka_env, ml100k, ml100k_run, tmp_path
):
    """Kill -9 twice mid-replay: restart on the same RocksDB, then on an empty data dir (all
    from changelogs). The final states equal the uninterrupted run's, field by field."""
    from stream_app.config import datadir

    settings = kafka_env.settings
    env = {**kafka_env.env, **ML_ENV}
    replay_log = tmp_path / "replay.log"
    replay = start_replay(env, ml100k, replay_log)
    workers = []
    try:
        workers.append(Worker.start(env, tmp_path / "worker1.log"))
        _wait_for_count(workers[0], "applied", 25_000)
        workers[0].kill()
        workers.append(Worker.start(env, tmp_path / "worker2.log"))
        _wait_for_count(workers[1], "records", 30_000)
        workers[1].kill()
        shutil.rmtree(datadir(settings))
        workers.append(Worker.start(env, tmp_path / "worker3.log"))
        assert replay.wait(timeout=300) == 0, replay_log.read_text()
        _catch_up_and_stop(workers[2], settings, "the third worker to catch up")
        _assert_states_equal_the_run(settings, ml100k_run)
        windows = {
            TrainingWindow.model_validate_json(v).model_dump_json()
            for _, v in read_topic(settings, TRAINING_WINDOWS.name(settings))
        }
        assert windows == {w.model_dump_json() for w in ml100k_run.windows}
    finally:
        _clean_up(replay, workers, settings)


def test_sigterm_mid_replay_stops_within_30_s_and_a_restart_completes_the_state(
    kafka_env, ml100k, ml100k_run, tmp_path
):
    """SIGTERM to a worker that is still consuming: it exits 0 within 30 s; a worker started
    again on the same data dir takes over and ends with the uninterrupted run's states."""
    settings = kafka_env.settings
    env = {**kafka_env.env, **ML_ENV}
    replay = start_replay(env, ml100k, tmp_path / "replay.log")
    workers = []
    try:
        workers.append(Worker.start(env, tmp_path / "worker1.log"))
        _wait_for_count(workers[0], "applied", 20_000)
        assert not events_consumed(settings)  # still consuming when stopped
        assert workers[0].stop(timeout_s=30) == 0
        assert workers[0].crashes() == []
        workers.append(Worker.start(env, tmp_path / "worker2.log"))
        assert replay.wait(timeout=300) == 0
        _catch_up_and_stop(workers[1], settings, "the second worker to catch up")
        _assert_states_equal_the_run(settings, ml100k_run)
    finally:
        _clean_up(replay, workers, settings)


def _training_set(windows: list[str]) -> dict:
    """The learner's D_k (learners.dataset.WindowStore) after the given window records, less
    its count of skipped duplicates."""
    from learners.dataset import WindowStore

    store = WindowStore()
    for w in windows:
        store.add(TrainingWindow.model_validate_json(w))
    return {k: v for k, v in store.to_json().items() if k != "duplicates"}


def test_second_worker_joins_then_first_is_killed_state_equals_one_worker(
    kafka_env, ml100k, ml100k_run, tmp_path
):
    """Two `coea worker` processes in one group, each with its own data dir and web port: the
    second joins mid-replay (a rebalance splits the four partitions), the first is SIGKILLed
    later (the second takes every partition, restoring the first's from the changelogs). The
    final states equal the single-worker run's field by field; the training windows equal its
    windows as a set, and any window sent twice (events after the killed worker's last commit
    are processed again: at-least-once) is an exact copy."""
    from coea.settings import Settings

    settings = kafka_env.settings
    env = {**kafka_env.env, **ML_ENV}
    replay_log = tmp_path / "replay.log"
    replay = start_replay(env, ml100k, replay_log)
    workers: list[Worker] = []

    def worker_env(name: str) -> dict[str, str]:
        return {**env, "COEA_DATA_DIR": str(tmp_path / name)}

    def owned(w: Worker) -> set[str]:
        return set((w.stats() or {}).get("offsets") or {})

    try:
        workers.append(Worker.start(worker_env("w1"), tmp_path / "worker1.log"))
        _wait_for_count(workers[0], "applied", 20_000)
        workers.append(Worker.start(worker_env("w2"), tmp_path / "worker2.log"))
        # the join rebalances: the second worker processes records of partitions it now owns
        _wait_for_count(workers[1], "records", 5_000)
        assert workers[0].alive() and workers[0].crashes() == []
        assert owned(workers[1]) and owned(workers[1]) <= {"0", "1", "2", "3"}
        # the first worker forgot what it no longer owns: no partition is reported by both
        wait_for(
            lambda: not owned(workers[0]) & owned(workers[1]),
            60,
            "each events partition reported by one worker only",
            detail=lambda: f"{owned(workers[0])} {owned(workers[1])}",
        )
        # any worker answers any user, the other one's users through request forwarding (a
        # user's first event can still be on its way: the replay runs in time order)
        users = [str(u) for u in range(1, 31)]

        def answered(w: Worker) -> list[str]:
            return [u for u in users if ((w.state(u) or {}).get("user_id")) == u]

        wait_for(
            lambda: answered(workers[0]) == users and answered(workers[1]) == users,
            60,
            "both workers to answer users 1-30",
            detail=lambda: f"first: {answered(workers[0])}\nsecond: {answered(workers[1])}",
        )
        forgot = "forgot process state of events partitions"
        rebalances_before = workers[1].log_text().count(forgot)
        workers[0].kill()

        def took_over() -> bool:
            """The survivor went through a rebalance after the kill (it forgot the partitions
            it held) and recovered the tables of the partitions it now owns."""
            log = workers[1].log_text()
            last = log.rfind(forgot)
            return log.count(forgot) > rebalances_before and "Worker ready" in log[last:]

        assert replay.wait(timeout=300) == 0, replay_log.read_text()
        wait_for(took_over, 180, "the remaining worker to take every partition", 1.0)
        _catch_up_and_stop(workers[1], settings, "the remaining worker to catch up")
        survivor = Settings(**{**settings.model_dump(), "data_dir": tmp_path / "w2"})
        _assert_states_equal_the_run(survivor, ml100k_run)
        sent = [
            TrainingWindow.model_validate_json(v).model_dump_json()
            for _, v in read_topic(settings, TRAINING_WINDOWS.name(settings))
        ]
        assert set(sent) == {w.model_dump_json() for w in ml100k_run.windows}
        by_key = Counter((json.loads(w)["window_id"], json.loads(w)["user_id"]) for w in set(sent))
        assert max(by_key.values()) == 1  # a window sent twice is the same window, never a variant
        # what the learner trains on (D_k, which skips a window it already has) is the same
        assert _training_set(sent) == _training_set(
            [w.model_dump_json() for w in ml100k_run.windows]
        )
    finally:
        _clean_up(replay, workers, settings)


def test_the_idle_timer_alone_closes_an_open_window(kafka_env, ml100k, tmp_path):
    """Events and no end marker: once a partition's open window has seen nothing for
    `window_idle_flush_s`, the worker's timer sends a flush marker and the window closes,
    so every user with events gets a training window."""
    from kafka import KafkaProducer

    from coea.data.events_io import ml_events
    from coea.data.movielens import load_ml_100k

    settings = kafka_env.settings
    env = {**kafka_env.env, **ML_ENV, "COEA_WINDOW_IDLE_FLUSH_S": "2"}
    events = list(ml_events(load_ml_100k(ml100k)))[:300]
    worker = Worker.start(env, tmp_path / "worker.log")
    try:
        producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
        for event in events:
            producer.send(EVENTS.name(settings), key=event.user_id.encode(), value=event.to_bytes())
        producer.flush()
        producer.close()
        users = {e.user_id for e in events}
        wait_for(
            lambda: (
                {
                    TrainingWindow.model_validate_json(v).user_id
                    for _, v in read_topic(settings, TRAINING_WINDOWS.name(settings))
                }
                >= users
            ),
            60,
            "a training window for every user, closed by the idle timer",
            detail=worker.diagnosis,
        )
        stats = worker.stats()
        assert stats["flushes"] >= 1 and stats["applied"] == len(events)
        assert worker.crashes() == []
        assert worker.stop() == 0
    finally:
        if worker.alive():
            worker.kill()
        delete_topics(settings)
